"""2-D toy data for GANs: the ring of 8 Gaussians and the 5x5 grid of 25.

The two benchmarks of the mode-collapse literature. Every mode is a small
isotropic Gaussian, far from the others, so a sample can be assigned to its
nearest mode without ambiguity and "how many modes did the generator find"
becomes a count (see ``tinygen.utils.metrics.mode_coverage``).

* The **ring**: 8 modes evenly spaced on a circle of radius 2, std 0.02,
  the mixture of Metz et al. 2017 ("Unrolled generative adversarial
  networks", section 3.1) and of VEEGAN (Srivastava et al. 2017). PacGAN's
  code (Lin et al. 2018) uses the same ring at half the scale (radius 1,
  std 0.01): the same picture, since radius/std = 100 in both.
* The **grid**: 25 modes at {-4, -2, 0, 2, 4}², std 0.05, as in PacGAN
  (Lin et al. 2018, section 5) and VEEGAN.

Both return float32 points and draw from a NumPy ``Generator`` that the
caller seeds, so a dataset is reproduced exactly by its seed.

The second half is lesson 10's workbench: its flags, the coverage tracker
that ``fit`` calls back and checkpoints, the per-run summary, and the
figures it draws more than once (samples over the data, coverage curves, the
GIF). The lesson keeps its models, losses and training step in view.
"""
import os

import numpy as np

from ..creation import tensor
from .gan import GAN_QUICK, add_gan_flags, generate
from .metrics import mode_coverage
from .run import flag_error, lesson_parser, positive_float, positive_int
from . import viz

__all__ = ["ring_of_gaussians", "grid_of_gaussians", "ring_centers", "grid_centers", "toy_datasets",
           "toy_gan_parser", "TOY_GAN_QUICK", "select_runs", "fixed_noise", "grad_norm", "describe_saturation",
           "CoverageTracker", "summarize_run", "describe_run", "draw_points", "plot_final_samples", "plot_coverage",
           "save_coverage_gif"]


def ring_centers(n_modes=8, radius=2.0):
    """The ring's modes: float32 (n_modes, 2), mode i at angle 2πi/n_modes, i = 0 at (radius, 0)."""
    if n_modes < 1:
        raise ValueError(f"n_modes: expected an int >= 1, got {n_modes}")
    angle = 2 * np.pi * np.arange(n_modes) / n_modes
    return (radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)).astype(np.float32)


def grid_centers(side=5, spacing=2.0):
    """The grid's modes: float32 (side², 2), centred on 0, row-major in x then y
    (side 5, spacing 2: {-4, -2, 0, 2, 4}²)."""
    if side < 1:
        raise ValueError(f"side: expected an int >= 1, got {side}")
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    xx, yy = np.meshgrid(ticks, ticks, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)


def _mixture(n, centers, std, rng):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n: expected an int >= 0, got {n!r}")
    if not std > 0:
        raise ValueError(f"std: expected a float > 0, got {std}")
    rng = np.random.default_rng(rng)
    modes = rng.integers(0, len(centers), n)                 # equal weights
    points = centers[modes] + std * rng.standard_normal((n, 2))
    return points.astype(np.float32), centers, float(std)


def ring_of_gaussians(n, n_modes=8, radius=2.0, std=0.02, rng=None):
    """n points from an equal mixture of ``n_modes`` Gaussians on a circle.

    Source: Metz et al. 2017, section 3.1 (8 modes, radius 2, std 0.02);
    PacGAN's 2D-ring is the same at half the scale.

    Args:
        n: int >= 0, the number of points.
        n_modes: int >= 1. radius: the circle's radius. std: float > 0, the
            standard deviation of each mode, in both coordinates.
        rng: a ``numpy.random.Generator``, or a seed for ``default_rng``.

    Returns:
        ``(points, centers, std)``: float32 (n, 2), float32 (n_modes, 2) as
        :func:`ring_centers` gives them, and the std as a float.

    Raises:
        ValueError: n < 0 or not an int, n_modes < 1, std <= 0.
    """
    return _mixture(n, ring_centers(n_modes, radius), std, rng)


def grid_of_gaussians(n, side=5, spacing=2.0, std=0.05, rng=None):
    """n points from an equal mixture of side² Gaussians on a square grid.

    Source: Lin et al. 2018 (PacGAN), section 5: 25 modes at
    {-4, -2, 0, 2, 4}², std 0.05 (variance 0.0025).

    Args:
        n: int >= 0, the number of points.
        side: int >= 1, modes per row. spacing: the distance between
            neighbouring modes. std: float > 0, per coordinate.
        rng: a ``numpy.random.Generator``, or a seed for ``default_rng``.

    Returns:
        ``(points, centers, std)``: float32 (n, 2), float32 (side², 2) as
        :func:`grid_centers` gives them, and the std as a float.

    Raises:
        ValueError: n < 0 or not an int, side < 1, std <= 0.
    """
    return _mixture(n, grid_centers(side, spacing), std, rng)


def toy_datasets(n, seed):
    """Lesson 10's two training sets, drawn from one seeded stream: the ring first, then the grid.

    Args:
        n: int >= 0, points per dataset (PacGAN's training sets have 100,000).
        seed: int >= 0, seeds one ``numpy.random.default_rng`` for both.

    Returns:
        dict ``{"ring": d, "grid": d}``, each ``d = {"points": float32 (n, 2),
        "centers": float32 (K, 2), "std": float}`` as :func:`ring_of_gaussians`
        (K = 8) and :func:`grid_of_gaussians` (K = 25) return them.

    Raises:
        ValueError: n < 0 or not an int.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for key, sampler in (("ring", ring_of_gaussians), ("grid", grid_of_gaussians)):
        points, centers, std = sampler(n, rng=rng)
        out[key] = {"points": points, "centers": centers, "std": std}
    return out


# ---------------------------------------------------------------- lesson 10's flags
def toy_gan_parser():
    """Lesson 10's ``lesson_parser``: the GAN flags plus its own, each checked by its ``type=``.

    Defaults: 3000 generator steps of batch 256, a GIF frame and a coverage
    count every 150 steps, 2-D z, 2,500 evaluation samples (PacGAN, Lin et
    al. 2018, counts modes on 2,500), Adam at 1e-3, MLPs of 3 x 128. Its own
    flags: --lr, --hidden, --layers, --k-strong, --weak-every, --t-d,
    --max-d-steps, --collapse-lr, --probe-steps and --runs (a comma-separated
    subset, checked by :func:`select_runs`).

    Returns:
        ``argparse.ArgumentParser``; a value out of range ends in argparse's
        one-line error (exit status 2).
    """
    parser = lesson_parser("A GAN on 2-D toy data: minimax vs non-saturating loss, k, mode collapse "
                           "(Goodfellow et al. 2014; Lin et al. 2018)", steps=3000, batch_size=256,
                           out=os.path.join("runs", "10_toy_gan"))
    add_gan_flags(parser, sample_every=150, checkpoint_every=500, z_dim=2)
    parser.set_defaults(eval_samples=2500)  # PacGAN counts modes on 2,500 samples
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="Adam's learning rate, G and D")
    parser.add_argument("--hidden", type=positive_int, default=128, help="units per hidden layer of G and D")
    parser.add_argument("--layers", type=positive_int, default=3, help="hidden layers of G and D")
    parser.add_argument("--k-strong", type=positive_int, default=5, help="D steps per G step of the strong-D run")
    parser.add_argument("--weak-every", type=positive_int, default=4, help="the weak-D run steps D once per this many G steps")
    parser.add_argument("--t-d", type=positive_float, default=1.2,
                        help="adaptive run: train D while its loss is above this (2 log 2 = 1.386 is chance)")
    parser.add_argument("--max-d-steps", type=positive_int, default=10, help="adaptive run: at most this many D steps per G step")
    parser.add_argument("--collapse-lr", type=positive_float, default=1e-2, help="learning rate of the run that collapses")
    parser.add_argument("--probe-steps", type=positive_int, default=500, help="D steps against a fixed, untrained G (section 4)")
    parser.add_argument("--runs", default="all", help="comma-separated subset of the runs to train (default all)")
    return parser


TOY_GAN_QUICK = {**GAN_QUICK, "steps": 12, "batch_size": 64, "sample_every": 4, "checkpoint_every": 6,
                 "eval_samples": 500, "probe_steps": 40, "hidden": 32}
"""Lesson 10's ``--quick`` values, for ``parse_args(parser, quick=TOY_GAN_QUICK)``."""


def select_runs(parser, args, runs, main):
    """The runs that ``--runs`` names, checked against ``runs`` before anything is written.

    Args:
        parser: the lesson's parser (for the error). args: the parsed flags
            (``runs``: "all" or comma-separated names; ``export_samples``).
        runs: dict run name -> config, in training order.
        main: the run whose generator ``--export-samples`` samples.

    Returns:
        list of run names: all of ``runs`` in order for "all", else the given
        names in the given order (spaces around commas ignored).

    Raises:
        SystemExit: (command line, status 2) an unknown name, or
            ``--export-samples`` without ``main``; ValueError in a notebook.
    """
    selected = list(runs) if args.runs == "all" else [r.strip() for r in args.runs.split(",")]
    unknown = [r for r in selected if r not in runs]
    if unknown:
        flag_error(parser, "--runs", f"unknown run(s) {unknown}; choose from {list(runs)}")
    if args.export_samples and main not in selected:
        flag_error(parser, "--export-samples", f"the samples come from {main}, which --runs leaves out")
    return selected


def fixed_noise(seed, n, z_dim, device="cpu"):
    """A fixed batch of z, drawn by NumPy so that it does not touch tinygen's RNG (``tg.manual_seed``).

    Args:
        seed: an int or a list of ints (e.g. ``[args.seed, 1]``) for
            ``numpy.random.default_rng``. n: rows, int >= 0. z_dim: columns.
        device: "cpu" or "cuda".

    Returns:
        float32 Tensor (n, z_dim) of standard normals, the same for the same seed.

    Raises:
        ValueError: n or z_dim negative (NumPy's error).
    """
    return tensor(np.random.default_rng(seed).standard_normal((n, z_dim)), dtype="float32", device=device)


def grad_norm(module):
    """The global L2 norm of ``module``'s parameter gradients, summed in float64.

    Args:
        module: a Module whose parameters all have a ``.grad`` (after ``backward()``).

    Returns:
        float: sqrt(sum over parameters of sum(grad²)).

    Raises:
        AttributeError: a parameter has no gradient (``grad`` is None).
    """
    return float(np.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in module.parameters())))


def describe_saturation(sat, probe_steps, sgd_lr):
    """Two lines on lesson 10's saturation probe (section 4): D's outputs, each loss's gradient norm, one SGD step.

    Args:
        sat: dict with ``d_real_mean``, ``d_fake_mean``, ``grad_norm_minimax``,
            ``grad_norm_ns``, ``d_fake_after_sgd_step_minimax`` and
            ``d_fake_after_sgd_step_ns`` (floats).
        probe_steps: D's training steps against the untrained G. sgd_lr: the SGD step's learning rate.

    Returns:
        str, two lines; the ratio of the two gradient norms is shown as
        ``(Nx)``, with the minimax norm floored at 1e-30.

    Raises:
        KeyError: a key above is missing.
    """
    return (f"D trained {probe_steps} steps against the untrained G: mean D(x) = {sat['d_real_mean']:.4f} on data, "
            f"mean D(G(z)) = {sat['d_fake_mean']:.4f}; ||grad_G|| minimax {sat['grad_norm_minimax']:.3e}, "
            f"non-saturating {sat['grad_norm_ns']:.3e} "
            f"({sat['grad_norm_ns'] / max(sat['grad_norm_minimax'], 1e-30):.0f}x)\n"
            f"one SGD step (lr {sgd_lr}) of G moves mean D(G(z)) from {sat['d_fake_mean']:.4f} to "
            f"{sat['d_fake_after_sgd_step_minimax']:.4f} (minimax) or {sat['d_fake_after_sgd_step_ns']:.4f} "
            f"(non-saturating)")


# ---------------------------------------------------------------- coverage over training
class CoverageTracker:
    """``fit``'s callback: at each listed step, G's samples on a fixed z, their mode coverage and a kept subset.

    Coverage is PacGAN's (Lin et al. 2018, section 5.1), by
    :func:`tinygen.utils.metrics.mode_coverage`; a G whose samples are not all
    finite covers nothing (0 modes, 0.0 high quality). ``fit`` checkpoints the
    tracker through ``state_dict``/``load_state_dict``, so its records and
    snapshots come back on ``--resume``.

    Args:
        G: the generator, (N, z_dim) -> (N, 2). z: Tensor (E, z_dim), fixed.
        centers: float (K, 2), the modes. std: float > 0, the modes' std.
        keep: how many of the E samples each snapshot keeps.

    Attributes:
        records: list of (step, modes covered, high-quality fraction) tuples.
        snapshots: list of float32 (min(E, keep), 2) arrays, one per record.
    """

    def __init__(self, G, z, centers, std, keep=1000):
        self.G, self.z, self.centers, self.std, self.keep = G, z, centers, std, keep
        self.records, self.snapshots = [], []

    def __call__(self, step):
        """Sample G on the fixed z, count its coverage, keep the first ``keep`` samples."""
        points = generate(self.G, self.z)
        if np.isfinite(points).all():
            cov = mode_coverage(points, self.centers, self.std)
            self.records.append((step, cov["modes_covered"], cov["high_quality"]))
        else:                                      # a diverged G covers nothing
            self.records.append((step, 0, 0.0))
        self.snapshots.append(points[:self.keep])

    def state_dict(self):
        """{} before any record, else ``records`` float64 (R, 3) and ``snapshots`` float32 (R, keep, 2)."""
        if not self.records:
            return {}
        return {"records": np.array(self.records, dtype=np.float64), "snapshots": np.stack(self.snapshots)}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned (an empty dict restores no records)."""
        self.records = [tuple(r) for r in np.asarray(state.get("records", np.zeros((0, 3)))).tolist()]
        self.snapshots = list(np.asarray(state.get("snapshots", np.zeros((0, self.keep, 2), np.float32))))


def summarize_run(config, tracker, history, steps, lr):
    """One run's entry of lesson 10's ``metrics.json``.

    Args:
        config: the run's dict (``data``, ``loss``, ``k``, optional ``lr``).
        tracker: its :class:`CoverageTracker`, with at least one record.
        history: ``fit``'s History (records with ``d_steps``; ``seconds``).
        steps: the generator steps trained. lr: the learning rate when
            ``config`` has none.

    Returns:
        dict: ``data``, ``loss``, ``k``, ``lr``, ``n_modes``, ``modes`` and
        ``high_quality`` (at the last record), ``modes_max`` (over all),
        ``modes_mean_last_half`` (records after steps / 2, less noisy),
        ``d_steps_per_g_step`` (mean over the log), ``seconds`` and
        ``coverage_curve`` (lists ``step``, ``modes``, ``high_quality``
        rounded to 4 places).

    Raises:
        IndexError: the tracker has no record.
    """
    rec = np.array(tracker.records)
    return {"data": config["data"], "loss": config["loss"], "k": config["k"], "lr": config.get("lr", lr),
            "n_modes": len(tracker.centers), "modes": int(rec[-1, 1]), "high_quality": rec[-1, 2],
            "modes_max": int(rec[:, 1].max()),
            "modes_mean_last_half": float(rec[rec[:, 0] > steps / 2, 1].mean()),
            "d_steps_per_g_step": float(np.mean([r["d_steps"] for r in history])),
            "seconds": history.seconds,    # training seconds, over every --resume
            "coverage_curve": {"step": rec[:, 0].astype(int).tolist(), "modes": rec[:, 1].astype(int).tolist(),
                               "high_quality": rec[:, 2].round(4).tolist()}}


def describe_run(name, result, history):
    """Two lines on a finished run: its coverage, then D(G(z)) and L_D over training and the last 1,000 steps.

    Args:
        name: the run's name. result: its :func:`summarize_run` dict.
        history: its log (records with ``d_fake``; ``loss_D`` where D stepped).

    Returns:
        str, two lines.

    Raises:
        KeyError: a record lacks ``d_fake`` or a key of ``result``.
    """
    last = history[-1000:]
    return (f"{name}: {result['modes']}/{result['n_modes']} modes, {100 * result['high_quality']:.1f}% high "
            f"quality (best over training {result['modes_max']}), {result['d_steps_per_g_step']:.2f} D steps/G step\n"
            f"{'':>{len(name)}}  D(G(z)) mean {np.mean([r['d_fake'] for r in history]):.2f}, under 0.1 on "
            f"{np.mean([r['d_fake'] < 0.1 for r in history]):.0%} of steps; last 1,000 steps: D(G(z)) "
            f"{np.mean([r['d_fake'] for r in last]):.2f}, "
            f"L_D {np.mean([r['loss_D'] for r in last if 'loss_D' in r]):.2f}")


# ---------------------------------------------------------------- figures
def _lim(dataset):
    return 1.3 * float(np.abs(dataset["centers"]).max())     # ring 2.6, grid 5.2


def draw_points(ax, points, dataset, title=None):
    """Scatter 2-D samples (red) over the first 2,000 data points (grey) on one matplotlib axis.

    Both axes span ±1.3 x the largest centre coordinate (ring: ±2.6, grid:
    ±5.2), equal aspect, no ticks.

    Args:
        ax: a matplotlib Axes. points: array (N, 2).
        dataset: a :func:`toy_datasets` entry (``points``, ``centers``).
        title: optional, in 9-point type.
    """
    ax.scatter(*dataset["points"][:2000].T, s=2, c="0.75", linewidths=0)
    ax.scatter(*np.asarray(points).T, s=2, c="tab:red", linewidths=0)
    lim = _lim(dataset)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xticks=[], yticks=[])
    ax.set_title(title or "", fontsize=9)


def plot_final_samples(path, results, trackers, datasets, steps):
    """``samples.png``: every run's last snapshot over its data, titled with its coverage, 4 to a row.

    Args:
        path: the PNG to write (atomically). results: run name ->
            :func:`summarize_run` dict. trackers: run name -> its
            :class:`CoverageTracker`. datasets: :func:`toy_datasets`'s dict.
        steps: the generator steps trained (for the title).

    Returns:
        ``pathlib.Path`` of the written file.

    Raises:
        ValueError: ``results`` is empty.
    """
    if not results:
        raise ValueError("results: expected at least one run, got none")
    import matplotlib.pyplot as plt
    cols = min(4, len(results))
    rows = -(-len(results) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3.1 * rows), squeeze=False)
    for ax in axes.flat[len(results):]:
        ax.axis("off")
    for ax, (name, r) in zip(axes.flat, results.items()):
        draw_points(ax, trackers[name].snapshots[-1], datasets[r["data"]],
                    f"{name}: {r['modes']}/{r['n_modes']} modes, {100 * r['high_quality']:.0f}% HQ")
    fig.suptitle(f"final samples after {steps} generator steps (red) over the data (grey)")
    return viz.save_figure(fig, path, dpi=80)


def plot_coverage(path, results, datasets, reference):
    """``coverage.png``: modes covered over training, one panel per dataset, against a published line.

    Args:
        path: the PNG to write (atomically). results: run name ->
            :func:`summarize_run` dict (``data``, ``coverage_curve``).
        datasets: :func:`toy_datasets`'s dict (for the number of modes).
        reference: dataset key -> ``{"modes": float}``, e.g. PacGAN's plain
            GAN (Lin et al. 2018, Table 1: ring 6.3, grid 17.3), drawn dashed.

    Returns:
        ``pathlib.Path`` of the written file.
    """
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 3.8), squeeze=False)
    for ax, (key, data) in zip(axes[0], datasets.items()):
        for name, r in results.items():
            if r["data"] == key:
                ax.plot(r["coverage_curve"]["step"], r["coverage_curve"]["modes"], label=name, linewidth=1.2)
        ax.axhline(reference[key]["modes"], color="k", linestyle="--", linewidth=1,
                   label=f"PacGAN's GAN ({reference[key]['modes']})")
        ax.set(ylim=(0, len(data["centers"]) + 0.5), xlabel="generator step",
               ylabel=f"modes covered (of {len(data['centers'])})", title=key)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    return viz.save_figure(fig, path, dpi=80)


def save_coverage_gif(path, tracker, dataset, duration=0.2):
    """A GIF of a tracker's snapshots over the data, one 256x256 frame per record, titled with its coverage.

    Args:
        path: the ``.gif`` to write. tracker: a :class:`CoverageTracker`.
        dataset: its :func:`toy_datasets` entry. duration: seconds per frame.

    Returns:
        ``pathlib.Path`` of the written file.

    Raises:
        ValueError: the tracker has no snapshot.
    """
    if not tracker.snapshots:
        raise ValueError("tracker: expected at least one snapshot, got none")
    lim = _lim(dataset)
    frames = [viz.scatter_frame(s, dataset["points"][:2000], lim=(-lim, lim),
                                title=f"step {int(r[0])}: {int(r[1])}/{len(dataset['centers'])} modes")
              for s, r in zip(tracker.snapshots, tracker.records)]
    return viz.save_gif(frames, path, duration=duration)

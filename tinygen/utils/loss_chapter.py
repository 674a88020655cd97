"""The plumbing of the loss chapter's last lessons (17 EBGAN, 18 BEGAN, 19 the loss study).

Each lesson keeps its networks, its losses and its training step in view;
this module holds what is around them: lesson 17's energy figure (the
side-by-side sample figures of 17 and 18 are ``viz.compare_runs``), BEGAN's k_t as a resumable object (lesson 18), and the
loss study's bookkeeping (lesson 19): its per-run results, summary, table,
rank correlation and pictures.

Training logs are the lists of dicts that :func:`tinygen.utils.train.fit`
returns (one record per step, with ``"step"``); images are NumPy float32
(N, 1, 28, 28) in [-1, 1]; a class histogram is 10 fractions summing to 1.
"""
import json
import os

import numpy as np

from ..gan_losses import began_update_k
from . import viz
from .fileio import atomic_open, atomic_write_bytes
from .metrics import spearman
from .run import RunDir


# ---------------------------------------------------------------- lesson 17: the energy figure
def plot_energies(runs, margin, path):
    """Lesson 17's ``energies.png``: D(x) and D(G(z)) of each run over training, against the margin m.

    Each curve is drawn faintly with a trailing average on top (window 1/40 of
    the log), on a log scale; the first run solid, the next dashed (Zhao et
    al. 2017, eq. 1: D pushes generated energies up to m, real ones down).

    Args:
        runs: dict label -> training log whose records hold ``"step"``,
            ``"E_real"`` and ``"E_fake"`` (floats > 0); at most two runs.
        margin: float, the hinge's m, drawn as a dotted line.
        path: the ``.png`` to write.

    Returns:
        ``pathlib.Path`` of the file.

    Raises:
        ValueError: more than two runs, or an empty log.
        KeyError: a record without one of the three keys.
    """
    import matplotlib.pyplot as plt
    if len(runs) > 2:
        raise ValueError(f"runs: expected one or two runs, got {len(runs)}")
    fig, ax = plt.subplots(figsize=(8, 4))
    for (label, history), ls in zip(runs.items(), ("-", "--")):
        if not history:
            raise ValueError(f"runs: the log of {label!r} is empty")
        steps = np.array([r["step"] for r in history])
        for key, color, what in (("E_real", "tab:blue", "D(x), real"), ("E_fake", "tab:red", "D(G(z)), generated")):
            y = np.array([r[key] for r in history])
            viz.plot_smoothed(ax, steps, y, max(1, len(y) // 40), color=color, ls=ls, label=f"{what} ({label})")
    ax.axhline(margin, color="k", lw=1, ls=":", label=f"margin m = {margin:g}")
    ax.set_xlabel("step")
    ax.set_ylabel("energy: mean squared reconstruction error")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("EBGAN's hinge: D pushes generated energies up to m, real ones down")
    return viz.save_figure(fig, path)


# ---------------------------------------------------------------- lesson 18: k_t, resumable
class Equilibrium:
    """BEGAN's k_t and its proportional control (Berthelot et al. 2017, section 3.4), resumable.

    ``k`` is a float in [0, 1]; :meth:`update` applies
    k ← clip(k + λ_k (γ L(x) − L(G(z))), 0, 1) from the batch means (floats),
    through :func:`tinygen.gan_losses.began_update_k`. With ``state_dict`` and
    ``load_state_dict`` it goes in ``fit_gan``'s ``state``, so a resumed run
    continues with the very same k.

    Args:
        gamma: the diversity ratio γ in (0, 1].
        lambda_k: the gain λ_k >= 0 (the paper's 0.001).
        k: the initial k_0 (the paper's 0).
    """

    def __init__(self, gamma, lambda_k=0.001, k=0.0):
        self.gamma, self.lambda_k, self.k = gamma, lambda_k, k

    def update(self, loss_real, loss_fake):
        """k_{t+1} from this step's mean L(x) and L(G(z)) (floats); returns it (a float in [0, 1])."""
        self.k = began_update_k(self.k, loss_real, loss_fake, self.gamma, self.lambda_k)
        return self.k

    def state_dict(self):
        """``{"k": float}``, JSON-ready (a Python float round-trips exactly)."""
        return {"k": self.k}

    def load_state_dict(self, state):
        """Restore k from :meth:`state_dict`'s dict (a float or a 0-d array, as a checkpoint gives it back)."""
        self.k = float(state["k"])


# ---------------------------------------------------------------- lesson 19: the study's bookkeeping
def finished_result(run):
    """The ``result.json`` of a finished study run (a dict), or None while the run has none.

    A run writes it (:func:`save_result`) only once it has been scored, so a
    ``--resume`` skips exactly the finished runs. ``run``: a
    :class:`tinygen.utils.run.RunDir`, or the run's folder as a path (lesson
    10b's). Raises ``json.JSONDecodeError`` for a file that is not JSON (it is
    written atomically, so only by hand).
    """
    path = run.file("result.json") if isinstance(run, RunDir) else os.path.join(run, "result.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def save_result(run, result, samples):
    """Write a scored study run: ``grid.npy`` (its first 16 samples, the study's ``samples.png`` row),
    ``samples.png`` (its first 64) and, last, ``result.json``; each atomically.

    Args:
        run: a :class:`tinygen.utils.run.RunDir`.
        result: the run's JSON-ready dict (loss, seed, scores, seconds).
        samples: NumPy float32 (N, 1, 28, 28) in [-1, 1], N >= 1.

    Returns:
        ``result``.

    Raises:
        TypeError: ``result`` is not JSON-serialisable.
    """
    text = json.dumps(result, indent=2) + "\n"          # before any file: a bad result writes nothing
    with atomic_open(run.file("grid.npy")) as f:
        np.save(f, samples[:16])
    viz.save_grid(samples[:64], run.file("samples.png"))
    atomic_write_bytes(run.file("result.json"), text.encode())
    return result


def summarise(results, losses):
    """Per loss: FID and IS as mean and spread over its runs (seeds), the best FID, the rarest class, the time.

    Args:
        results: list of the runs' result dicts, each with ``"loss"``,
            ``"seed"``, ``"fid"``, ``"inception_score"``, ``"class_histogram"``
            and ``"train_seconds"``.
        losses: the loss names to summarise, in the order wanted.

    Returns:
        dict loss -> {"seeds", "fid_mean", "fid_std", "fid_best", "is_mean",
        "is_std", "rarest_class_mean", "train_seconds_mean"}: floats (the std
        with ddof 1, 0 for a single run; the best FID is the lowest), seeds a list.

    Raises:
        ValueError: a loss without any run in ``results``.
    """
    def spread(v):
        return float(np.std(v, ddof=1)) if len(v) > 1 else 0.0

    out = {}
    for loss in losses:
        rs = [r for r in results if r["loss"] == loss]
        if not rs:
            raise ValueError(f"results: expected at least one run of {loss!r}, got none")
        fid, is_ = [r["fid"] for r in rs], [r["inception_score"] for r in rs]
        out[loss] = {"seeds": [r["seed"] for r in rs], "fid_mean": float(np.mean(fid)), "fid_std": spread(fid),
                     "fid_best": float(min(fid)), "is_mean": float(np.mean(is_)), "is_std": spread(is_),
                     "rarest_class_mean": float(np.mean([min(r["class_histogram"]) for r in rs])),
                     "train_seconds_mean": float(np.mean([r["train_seconds"] for r in rs]))}
    return out


def study_table(summary, reference):
    """The study as a Markdown table, one row per loss of ``summary`` (:func:`summarise`'s dict).

    Columns: FID mean ± std, best FID (2 decimals), IS mean ± std, the rarest
    class in percent (1 decimal), train time (whole seconds) and the
    reference's best FID for that loss (``reference``: dict loss -> float,
    e.g. Lucic et al. 2018's; "-" where it has none). Returns a str ending
    in a newline.
    """
    rows = ["| loss | FID (mean ± std) | best FID | IS (mean ± std) | rarest class | train time | "
            "Lucic et al. best FID |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for loss, s in summary.items():
        rows.append(f"| {loss} | {s['fid_mean']:.2f} ± {s['fid_std']:.2f} | {s['fid_best']:.2f} | "
                    f"{s['is_mean']:.2f} ± {s['is_std']:.2f} | {100 * s['rarest_class_mean']:.1f} % | "
                    f"{s['train_seconds_mean']:.0f} s | {reference.get(loss, '-')} |")
    return "\n".join(rows) + "\n"


def rank_against(summary, reference):
    """Our order of the losses against a reference's, by Spearman's ρ (Lucic et al. 2018's comparison).

    Args:
        summary: :func:`summarise`'s dict (its order is the losses' order).
        reference: dict loss -> the reference's best FID (lower is better).

    Returns:
        {} when fewer than two losses are in both; else {"losses": the shared
        losses, "lucic_order", "our_order_mean_fid", "our_order_best_fid":
        each a list sorted best first, "spearman_mean_fid",
        "spearman_best_fid": floats in [-1, 1]}
        (:func:`tinygen.utils.metrics.spearman`).
    """
    common = [loss for loss in summary if loss in reference]
    if len(common) < 2:
        return {}
    theirs = [reference[loss] for loss in common]
    return {"losses": common, "lucic_order": sorted(common, key=reference.get),
            "our_order_mean_fid": sorted(common, key=lambda k: summary[k]["fid_mean"]),
            "our_order_best_fid": sorted(common, key=lambda k: summary[k]["fid_best"]),
            "spearman_mean_fid": spearman([summary[k]["fid_mean"] for k in common], theirs),
            "spearman_best_fid": spearman([summary[k]["fid_best"] for k in common], theirs)}


def save_study_figures(out, results, summary, seeds, steps):
    """Lesson 19's four pictures in the folder ``out``, from its runs' folders ``<out>/<loss>_s<seed>/``.

    ``study.png``: FID and IS per loss, every run a grey point and the mean ±
    std in colour; ``losses.png``: each loss's ``loss_D`` and ``loss_G`` over
    training (first seed), a panel per loss; ``samples.png``: each loss's 16
    samples of the first seed (its ``grid.npy``), a labelled row each;
    ``training.gif``: the first row of each loss's 8x8 ``training.gif``
    (rows of 2 + 28 + 2 pixels), stacked in the table's order, frame by frame.

    Args:
        out: the study's folder. results: the runs' result dicts.
        summary: :func:`summarise`'s dict (its keys are the losses, in order).
        seeds: list of ints, the first is pictured. steps: generator updates per run (for the titles).

    Returns:
        list of the four ``pathlib.Path`` written.

    Raises:
        FileNotFoundError: a run of the first seed lacks its ``train.jsonl``,
            ``grid.npy`` or ``training.gif``.
        ValueError: the runs' GIFs differ in their number of frames.
    """
    import imageio.v3 as iio
    import matplotlib.pyplot as plt
    losses, run = list(summary), RunDir(out)
    folders = [os.path.join(out, f"{loss}_s{seeds[0]}") for loss in losses]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, key, name in ((axes[0], "fid", "FID (lower is better)"), (axes[1], "is", "IS")):
        for i, loss in enumerate(losses):
            vals = [r["fid" if key == "fid" else "inception_score"] for r in results if r["loss"] == loss]
            ax.plot([i] * len(vals), vals, "o", color="0.6", ms=4)
            ax.errorbar([i + 0.15], [summary[loss][f"{key}_mean"]], yerr=[summary[loss][f"{key}_std"]], fmt="s",
                        color="C0", capsize=4)
        ax.set_xticks(range(len(losses)))
        ax.set_xticklabels(losses)
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{steps} generator updates per loss, seeds {seeds}: each seed (grey), mean ± std (blue)")
    paths = [viz.save_figure(fig, run.file("study.png"))]

    fig, axes = plt.subplots(1, len(losses), figsize=(3.2 * len(losses), 3), squeeze=False)
    for ax, loss, folder in zip(axes[0], losses, folders):
        hist = viz.read_jsonl(os.path.join(folder, "train.jsonl"))
        for k in ("loss_D", "loss_G"):
            ax.plot([r["step"] for r in hist], [r[k] for r in hist], lw=0.8, label=k)
        ax.set_title(loss)
        ax.set_xlabel("generator update")
        ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    paths.append(viz.save_figure(fig, run.file("losses.png")))

    rows = [np.load(os.path.join(folder, "grid.npy")) for folder in folders]
    paths.append(viz.save_image_rows(rows, run.file("samples.png"), labels=[n.rjust(10) for n in losses],
                                     value_range=(-1, 1),   # rjust: room for "WGAN-GP"
                                     title=f"16 samples per loss after {steps} generator updates (seed {seeds[0]})"))
    strips = [iio.imread(os.path.join(folder, "training.gif"), index=None)[:, :32, :, :3] for folder in folders]
    if len({len(s) for s in strips}) != 1:
        raise ValueError(f"training.gif: expected one number of frames in every run, got {[len(s) for s in strips]}")
    paths.append(viz.save_gif(list(np.concatenate(strips, axis=1)), run.file("training.gif"), duration=0.25))
    return paths


# ---------------------------------------------------------------- lesson 24: the architecture x loss grid
def summarise_grid(results, archs, losses):
    """Per cell (architecture, loss) of lesson 24's grid, :func:`summarise`'s numbers plus the FID range.

    Gulrajani et al. 2017, Figure 2 lays the runs out as rows of
    architectures and columns of losses; each cell here is summarised over
    its runs (seeds) as :func:`summarise` does for a loss, plus ``"fids"``
    (the runs' FIDs, in the order of ``results``) and ``"fid_max"`` (the
    worst; ``"fid_best"`` is the lowest).

    Args:
        results: list of the runs' result dicts, each with ``"arch"`` and the
            keys :func:`summarise` reads (``"loss"``, ``"seed"``, ``"fid"``,
            ``"inception_score"``, ``"class_histogram"``, ``"train_seconds"``).
        archs, losses: the rows and columns wanted, in order.

    Returns:
        dict arch -> dict loss -> the cell's dict (floats; ``"seeds"`` and
        ``"fids"`` lists), JSON-ready.

    Raises:
        ValueError: a cell without any run in ``results``; the message names
            the architecture and the loss.
    """
    out = {}
    for arch in archs:
        rs = [r for r in results if r["arch"] == arch]
        missing = [loss for loss in losses if not any(r["loss"] == loss for r in rs)]
        if missing:
            raise ValueError(f"results: expected at least one run of every cell, got none of "
                             f"{', '.join(f'({arch!r}, {loss!r})' for loss in missing)}")
        out[arch] = summarise(rs, losses)
        for loss in losses:
            fids = [float(r["fid"]) for r in rs if r["loss"] == loss]
            out[arch][loss].update(fids=fids, fid_max=max(fids))
    return out


def grid_table(summary, archs, losses):
    """Lesson 24's ``table.md``: FID per cell, a row per architecture and a column per loss.

    A cell of one run shows its FID (2 decimals); a cell of several shows
    the mean and the range, ``"39.50 (38.61-40.80)"``.

    Args:
        summary: :func:`summarise_grid`'s dict. archs, losses: rows and columns, in order.

    Returns:
        str, the Markdown table ending in a newline.

    Raises:
        KeyError: an architecture or loss that ``summary`` lacks.
    """
    rows = ["| architecture | " + " | ".join(losses) + " |", "| --- " * (len(losses) + 1) + "|"]
    for arch in archs:
        cells = []
        for loss in losses:
            s = summary[arch][loss]
            cells.append(f"{s['fid_mean']:.2f}" if len(s["fids"]) == 1 else
                         f"{s['fid_mean']:.2f} ({s['fid_best']:.2f}-{s['fid_max']:.2f})")
        rows.append(f"| {arch} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def save_sample_grid(out, summary, archs, losses, seed, path, title=None):
    """Lesson 24's ``grid.png``, laid out as Gulrajani et al. 2017, Figure 2: a row per architecture, a column
    per loss, each cell the 16 samples (4x4) of its run ``<out>/<arch>_<loss>_s<seed>/grid.npy`` (written by
    :func:`save_result`) above that run's FID.

    Args:
        out: the study's folder. summary: :func:`summarise_grid`'s dict (only
            cells of runs of ``seed`` are drawn; FID from their ``result.json``).
        archs, losses: rows and columns, in order. seed: the seed pictured.
        path: the ``.png`` to write. title: optional figure title.

    Returns:
        ``pathlib.Path`` of the file.

    Raises:
        FileNotFoundError: a cell's run folder lacks ``grid.npy`` or ``result.json``.
        KeyError: an architecture or loss that ``summary`` lacks.
    """
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(archs), len(losses), figsize=(1.9 * len(losses) + 0.6, 2.05 * len(archs) + 0.4),
                             squeeze=False)
    for i, arch in enumerate(archs):
        for j, loss in enumerate(losses):
            summary[arch][loss]                           # a cell the summary lacks is an error, as in grid_table
            folder = os.path.join(out, f"{arch}_{loss}_s{seed}")
            with open(os.path.join(folder, "result.json")) as f:
                fid = json.load(f)["fid"]
            ax = axes[i, j]
            ax.imshow(viz.make_grid(np.load(os.path.join(folder, "grid.npy"))[:16], nrow=4), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(f"FID {fid:.1f}", fontsize=9, labelpad=2)
            if i == 0:
                ax.set_title(loss, fontsize=11)
            if j == 0:
                ax.set_ylabel(arch, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=10)
    return viz.save_figure(fig, path)

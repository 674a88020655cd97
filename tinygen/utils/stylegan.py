"""The plumbing of the StyleGAN lesson (22): its flags, the perceptual path
length, the noise statistics and the figures (style mixing, stochastic
variation, a side-by-side of finished runs).

The lesson keeps the networks, the losses, style mixing, the truncation
trick and the walks in Z and W in its own cells; this module measures and
draws what they produce. The figures follow Karras, Laine & Aila 2019, "A
Style-Based Generator Architecture for Generative Adversarial Networks":
figure 3 (style mixing), figure 4 (stochastic variation) and section 4.1
(perceptual path length).
"""
import argparse
import json
import os

import numpy as np

from ..autograd import no_grad
from ..creation import rand, randn, tensor
from . import viz
from .run import flag_error, nonnegative_float, positive_float, positive_int, probability


# ---------------------------------------------------------------- flags
def finished_samples_run(path):
    """argparse ``type=`` for ``--compare``: a run folder with ``samples.npy`` (from ``--export-samples``)
    and a ``metrics.json`` holding ``fid``. Returns the path; raises ``argparse.ArgumentTypeError``
    (argparse's one-line error) naming what is missing, so a typo fails before training."""
    for name in ("samples.npy", "metrics.json"):
        if not os.path.exists(os.path.join(path, name)):
            raise argparse.ArgumentTypeError(f"expected a finished run folder with {name} "
                                             f"(run it with --export-samples N), got {path!r}")
    with open(os.path.join(path, "metrics.json")) as f:
        if "fid" not in json.load(f):
            raise argparse.ArgumentTypeError(f"expected a run folder whose metrics.json has a fid, got {path!r}")
    shape = np.load(os.path.join(path, "samples.npy"), mmap_mode="r").shape
    if len(shape) != 4 or shape[0] < 1:
        raise argparse.ArgumentTypeError(f"expected samples.npy of shape (N, C, H, W) with N >= 1 in {path!r}, "
                                         f"got shape {shape}")
    return path


def check_stylegan_args(parser, args):
    """Returns args; ``--compare`` needs ψ = 1 among ``--psi`` (the comparison shows the model's own
    samples and FID), else :func:`tinygen.utils.run.flag_error` (exit status 2, one line)."""
    if args.compare and 1.0 not in args.psi:
        flag_error(parser, "--psi", f"--compare shows the samples at ψ = 1: expected 1 among the values, "
                                    f"got {' '.join(f'{p:g}' for p in args.psi)}")
    return args


def add_stylegan_flags(parser):
    """Lesson 22's flags; returns the parser. Each value is checked by its argparse ``type=``
    (a one-line error naming the flag):

    --w-dim (128), --width (64: channels at the coarsest resolution, halved per
    resolution, at least 8), --mapping-layers (8), all ints >= 1; --lr (2e-3)
    > 0; --r1-gamma (10) >= 0, 0 switches R1 off; --r1-every (16) >= 1, the
    lazy R1 interval; --mixing-prob (0.9) in [0, 1], 0 switches mixing off;
    --no-mapping, --no-noise (ablations); --psi (1 0.7 0.5 0), the truncation
    values scored, each >= 0; --export-psi (1) >= 0, the ψ of the samples
    ``--export-samples`` writes (lesson 25 scores the truncation's trade of
    variety for quality); --ppl-samples (2,000 pairs) >= 1; --compare RUN...
    (see :func:`finished_samples_run`).
    """
    parser.add_argument("--w-dim", type=positive_int, default=128, help="dimension of W")
    parser.add_argument("--width", type=positive_int, default=64,
                        help="channels at the coarsest resolution, halved per resolution")
    parser.add_argument("--mapping-layers", type=positive_int, default=8, help="layers of the mapping network")
    parser.add_argument("--lr", type=positive_float, default=2e-3, help="Adam's learning rate, G and D")
    parser.add_argument("--r1-gamma", type=nonnegative_float, default=10.0, help="R1 weight γ (0: no R1)")
    parser.add_argument("--r1-every", type=positive_int, default=16, help="lazy R1: every k-th D step, with γ·k")
    parser.add_argument("--mixing-prob", type=probability, default=0.9, help="style-mixing probability (0: none)")
    parser.add_argument("--no-mapping", action="store_true", help="ablation: w = normalised z, no mapping network")
    parser.add_argument("--no-noise", action="store_true", help="ablation: no per-pixel noise")
    parser.add_argument("--psi", type=nonnegative_float, nargs="+", default=[1.0, 0.7, 0.5, 0.0],
                        help="truncation ψ values scored with FID, IS and the class histogram")
    parser.add_argument("--export-psi", type=nonnegative_float, default=1.0,
                        help="truncation ψ of the samples --export-samples writes")
    parser.add_argument("--ppl-samples", type=positive_int, default=2000, help="pairs per perceptual path length")
    parser.add_argument("--compare", nargs="+", default=[], type=finished_samples_run, metavar="RUN",
                        help="finished runs (with samples.npy) whose samples and FID to draw beside this run's")
    return parser


# ---------------------------------------------------------------- layers
def layer_groups(sizes):
    """The style layers split into coarse, middle and fine, two layers per resolution.

    Args:
        sizes: the synthesis network's resolutions, coarsest first (e.g. [7, 14, 28]).

    Returns:
        dict name -> set of layer indices, three entries in order (e.g.
        {"coarse (7x7)": {0, 1}, "middle (14x14)": {2, 3}, "fine (28x28)": {4, 5}});
        with more resolutions each group spans several (np.array_split), with
        fewer than 3 the missing groups are left out.

    Raises:
        ValueError: sizes is empty.
    """
    if len(sizes) == 0:
        raise ValueError("sizes: expected at least one resolution, got none")
    groups = {}
    for name, res in zip(("coarse", "middle", "fine"), np.array_split(np.arange(len(sizes)), 3)):
        if len(res):
            span = f"{sizes[res[0]]}x{sizes[res[0]]}" + (f"-{sizes[res[-1]]}x{sizes[res[-1]]}" if len(res) > 1 else "")
            groups[f"{name} ({span})"] = {i for r in res for i in (2 * r, 2 * r + 1)}
    return groups


# ---------------------------------------------------------------- perceptual path length
def slerp_rows(a, b, t):
    """Row-wise spherical interpolation of the *directions* of a and b, as the StyleGAN authors' PPL code.

    Args:
        a, b: float arrays (N, D), no zero rows. t: (N,) or (N, 1) fractions.

    Returns:
        float64 (N, D) unit vectors: a/|a| rotated toward b/|b| by the fraction t of the angle between them.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    t = np.asarray(t, np.float64).reshape(-1, 1)
    d = np.clip(np.sum(a * b, axis=1, keepdims=True), -1.0, 1.0)
    p = t * np.arccos(d)
    c = b - d * a
    c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    out = a * np.cos(p) + c * np.sin(p)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def path_length(G, sizes, z_dim, space, n, eps=1e-4, batch_size=250, device="cpu", classifier=None):
    """The perceptual path length of StyleGAN (Karras et al. 2019, section 4.1, eqs. 2 and 3):
    E[d(g(l(t)), g(l(t + ε))) / ε²], t ~ U(0, 1), over ``n`` random pairs of latents.

    In Z, l is :func:`slerp_rows` between two z ~ N(0, I), mapped to w; in W, a
    lerp between the two w = f(z). g is ``G.synthesis`` with that w at every
    layer, its images clipped to [-1, 1]; both ends of a piece share one noise
    draw. d is the squared Euclidean distance between lesson 09's classifier
    features (:func:`tinygen.utils.metrics.features`, the ones FID uses), in
    place of the paper's VGG-based LPIPS. As in the paper, values below the 1st
    and above the 99th percentile are dropped before the mean.

    Args:
        G: a StyleGAN generator with ``mapping(z)`` (N, z_dim) -> (N, w_dim) and
            ``synthesis(ws, noise)``, ws a list of 2·len(sizes) tensors (N, w_dim),
            noise a list of tensors (N, 1, s, s), two per resolution.
        sizes: the resolutions, coarsest first. z_dim: int.
        space: "z" or "w". n: pairs, int >= 1. eps: the step ε > 0 (1e-4 as the paper).
        batch_size, device, classifier: as for :func:`~tinygen.utils.metrics.features`.

    Returns:
        float, in squared feature units per ε² (not comparable to the paper's values).
        Draws from tinygen's global generator.

    Raises:
        ValueError: space not "z" or "w", n < 1 or eps <= 0; images not 1x28x28
            (the classifier's input).
    """
    from .metrics import features
    if space not in ("z", "w"):
        raise ValueError(f"space: expected 'z' or 'w', got {space!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected an int >= 1, got {n!r}")
    if not eps > 0:
        raise ValueError(f"eps: expected a number > 0, got {eps!r}")
    dist = []
    with no_grad():
        for start in range(0, n, batch_size):
            m = min(batch_size, n - start)
            z = randn(2 * m, z_dim, device=device).numpy()
            t = rand(m, 1).numpy().astype(np.float64)
            if space == "z":
                ends = [tensor(slerp_rows(z[:m], z[m:], t + e).astype(np.float32), device=device) for e in (0, eps)]
                ws = [G.mapping(x) for x in ends]
            else:
                w = G.mapping(tensor(z, device=device)).numpy().astype(np.float64)
                ws = [tensor((w[:m] + (t + e) * (w[m:] - w[:m])).astype(np.float32), device=device) for e in (0, eps)]
            noise = [randn(m, 1, s, s, device=device) for s in sizes for _ in (0, 1)]
            imgs = [G.synthesis([w] * (2 * len(sizes)), noise).clamp(-1, 1).numpy() for w in ws]
            fa, fb = (features(x, classifier, device, batch_size) for x in imgs)
            dist.append(np.sum((fa - fb) ** 2, axis=1) / eps ** 2)
    dist = np.concatenate(dist)
    lo, hi = np.percentile(dist, [1, 99])
    return float(dist[(dist >= lo) & (dist <= hi)].mean())


# ---------------------------------------------------------------- noise
def noise_statistics(draws, across_w):
    """How much the noise changes an image, against how much the style does (figure 4's claim, measured).

    Args:
        draws: (K, M, C, H, W), M noise draws for each of K fixed w.
        across_w: (M', C, H, W), M' different w with one shared noise draw.

    Returns:
        dict of floats: ``noise_std``, the per-pixel std over the draws averaged
        over pixels and the K w's; ``style_std``, the per-pixel std over w,
        averaged over pixels; ``noise_edge_corr``, the Pearson correlation of the
        noise's std map with the gradient magnitude of the mean image (its edges),
        averaged over the K w's (0 when either map is constant, up to float32
        round-off: a std of at most 1e-6 times the largest |pixel|).

    Raises:
        ValueError: draws not 5-D or across_w not 4-D with draws' image shape.
    """
    draws, across_w = np.asarray(draws, np.float64), np.asarray(across_w, np.float64)
    if draws.ndim != 5 or across_w.ndim != 4 or draws.shape[2:] != across_w.shape[1:]:
        raise ValueError(f"draws, across_w: expected (K, M, C, H, W) and (M', C, H, W), "
                         f"got {draws.shape} and {across_w.shape}")
    std = draws.std(axis=1)                                   # (K, C, H, W)
    mean = draws.mean(axis=1)
    gy, gx = np.gradient(mean, axis=(2, 3))
    edges = np.sqrt(gx ** 2 + gy ** 2)
    corrs, tol = [], 1e-6 * max(1.0, float(np.abs(draws).max()))   # float32 round-off is not a map
    for s, e in zip(std.reshape(len(std), -1), edges.reshape(len(edges), -1)):
        corrs.append(0.0 if s.std() <= tol or e.std() <= tol else float(np.corrcoef(s, e)[0, 1]))
    return {"noise_std": float(std.mean()), "style_std": float(across_w.std(axis=0).mean()),
            "noise_edge_corr": float(np.mean(corrs))}


# ---------------------------------------------------------------- figures
def _std_image(std):
    """A std map (C, H, W) >= 0 as an image in [-1, 1], its maximum white."""
    top = std.max()
    return std / top * 2 - 1 if top > 0 else np.full_like(std, -1.0)


def save_noise_figure(path, draws, shown=6):
    """Figure 4: per row one w, ``shown`` of its noise draws, then the per-pixel std over all draws.

    Args:
        path: output ``.png``. draws: (K, M, C, H, W) in [-1, 1], M >= shown.

    Returns:
        the written path.
    """
    draws = np.asarray(draws)
    rows = [np.concatenate([d[:shown], _std_image(d.std(axis=0))[None]]) for d in draws]
    labels = [f"w{k + 1}" for k in range(len(rows))]
    return viz.save_image_rows(rows, path, labels=labels, value_range=(-1, 1),
                               title=f"{shown} noise draws per w; last: std over {draws.shape[1]} draws")


def save_mixing_grid(path, sources_a, sources_b, mixes):
    """Figure 3: per group of layers one panel; top row the B sources, left column the A sources,
    and in row i, column j the image with A_i's styles except B_j's in that group.

    Args:
        path: output ``.png``. sources_a: (nA, C, H, W); sources_b: (nB, C, H, W), in [-1, 1].
        mixes: dict group name -> (nA, nB, C, H, W).

    Returns:
        the written path.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    a, b = np.asarray(sources_a), np.asarray(sources_b)
    fig, axes = plt.subplots(1, len(mixes), figsize=(3.4 * len(mixes), 3.2))
    for ax, (name, mix) in zip(np.atleast_1d(axes), mixes.items()):
        blank = np.ones_like(a[:1])
        rows = [np.concatenate([blank, b])] + [np.concatenate([a[i:i + 1], np.asarray(mix[i])]) for i in range(len(a))]
        ax.imshow(viz.make_grid(np.concatenate(rows), nrow=len(b) + 1), interpolation="nearest")
        ax.set_title(f"B's {name} styles", fontsize=9)
        ax.axis("off")
    fig.suptitle("rows: source A; columns: source B", fontsize=10)
    return viz.save_figure(fig, path)


def save_comparison(path, runs, shown=10):
    """Samples of several runs side by side, one row each, labelled with the run and its FID.

    Args:
        path: output ``.png``.
        runs: list of (label, images (N, C, H, W) in [-1, 1], fid) or of run folders
            (see :func:`finished_samples_run`; the label is the folder's name).
        shown: samples per row (fewer when a run has fewer).

    Returns:
        the written path.
    """
    rows, labels = [], []
    for r in runs:
        if isinstance(r, (str, os.PathLike)):
            with open(os.path.join(r, "metrics.json")) as f:
                fid = json.load(f)["fid"]
            r = (os.path.basename(os.path.normpath(r)), np.load(os.path.join(r, "samples.npy")), fid)
        label, images, fid = r
        rows.append(np.asarray(images))
        labels.append(f"{label}: FID {fid:.1f}")
    shown = min([shown] + [len(r) for r in rows])          # rows of one length, as save_image_rows needs
    return viz.save_image_rows([r[:shown] for r in rows], path, labels=labels, value_range=(-1, 1))

"""The plumbing of the ProGAN lesson (21): FID over wall-clock time, and its figure.

The slide that introduces progressive growing compares it with training at
full resolution from the start by *wall-clock time* (Karras et al. 2018,
figure 4). :class:`FidCurve` records that curve for one run: at chosen steps
it scores 2,000 samples and notes the training seconds so far, leaving out
the seconds its own scoring takes. :func:`plot_fid_curves` draws the curves
of several runs in one panel.
"""
import json
import os
from time import perf_counter

import numpy as np

from .. import functional as F
from ..nn import Module
from . import viz
from .gan import generate
from .run import flag_error, positive_int


def resolutions(size):
    """The resolutions a growing (ProGAN) or style-based (StyleGAN) network passes through, coarsest first:
    ``size`` halved while it is even and above 4, e.g. 28 -> [7, 14, 28], 64 -> [4, 8, 16, 32, 64].

    Raises:
        ValueError: size not an int >= 1.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size: expected an int >= 1, got {size!r}")
    sizes = [int(size)]
    while sizes[0] % 2 == 0 and sizes[0] > 4:
        sizes.insert(0, sizes[0] // 2)
    return sizes


class FullSize(Module):
    """A growing generator's images at the final size: clipped to [-1, 1], then upsampled (nearest).

    ProGAN's generator ends in a linear layer, and the official code clips
    its output to the image range when it saves images; and at a coarse
    stage it draws 7x7 images. Wrapped, every stage is shown and scored as
    28x28 images in [-1, 1], as the GIF and FID need.

    Args:
        G: the generator, z (N, z_dim) -> (N, C, S, S) with S dividing ``size``.
        size: int, the final side length H = W.

    forward(z): (N, z_dim) -> (N, C, size, size), dtype of G's output.
    """

    def __init__(self, G, size):
        super().__init__()
        self.G, self.size = G, size

    def forward(self, z):
        x = self.G(z).clamp(-1, 1)
        return x if x.shape[-1] == self.size else F.interpolate(x, size=(self.size, self.size), mode="nearest")


class FidCurve:
    """A ``fit_gan`` callback: the GIF's frame, and FID against the training seconds at every ``every``-th step.

    Put it in ``fit_gan(..., callback=curve, extra_steps=range(0, steps + 1,
    every))``: the call at step 0 starts the clock, before the first step,
    and every scored step is a call. Each later call adds
    the seconds since the previous call ended (training, checkpoints and the
    GIF's frames: what a run spends without this curve) and, at every
    multiple of ``every`` and at ``last``, scores ``n`` samples of
    ``G(z)`` with :func:`tinygen.utils.metrics.frechet_distance` (Heusel et
    al. 2017; against the 10,000 test images). Its own scoring is not
    counted. Checkpointed with the run (``state_dict``), so a resumed run's
    curve continues, with the seconds from before the interruption.

    Args:
        gif: a :class:`tinygen.utils.gan.SampleGif`, or None; called at the
            multiples of ``gif_every`` and at ``last`` (``fit_gan`` checkpoints
            it, not this curve).
        G: the generator to score, a Module: z (n, z_dim) -> (n, 1, 28, 28) in [-1, 1].
        z: Tensor (n, z_dim), the fixed latents scored each time (n >= 2).
        every: int >= 1, steps between scores.
        last: the run's final step (always scored).
        score: images (n, 1, 28, 28) -> FID, e.g. ``metrics.frechet_distance``;
            None keeps only the clock (images the classifier cannot score).
        gif_every: int >= 1, steps between the GIF's frames (``--sample-every``).

    Attributes:
        points: list of (step, seconds, fid) tuples, oldest first.

    Raises:
        ValueError: every < 1 or fewer than 2 latents.
    """

    def __init__(self, gif, G, z, every, last, score, gif_every=1):
        for name, value in (("every", every), ("gif_every", gif_every)):
            if value < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {value}")
        if z.shape[0] < 2:
            raise ValueError(f"z: expected at least 2 latents (FID needs a covariance), got {z.shape[0]}")
        self.gif, self.G, self.z, self.every, self.last, self.score = gif, G, z, every, last, score
        self.gif_every = gif_every
        self.points, self.seconds, self._since = [], 0.0, None

    def __call__(self, step):
        """Record step ``step`` (0 starts the clock); called by ``fit``."""
        now = perf_counter()
        if self._since is not None:
            self.seconds += now - self._since
        if self.gif is not None and step > 0 and (step % self.gif_every == 0 or step == self.last):
            self.gif(step)
        if self.score is not None and (step == 0 or step % self.every == 0 or step == self.last):
            self.points.append((int(step), float(self.seconds), float(self.score(generate(self.G, self.z)))))
        self._since = perf_counter()

    def curve(self, label):
        """(label, seconds (P,), fid (P,)): this run's curve, as :func:`read_curve` returns a finished run's."""
        points = np.array(self.points, dtype=np.float64).reshape(-1, 3)
        return label, points[:, 1], points[:, 2]

    def state_dict(self):
        """``{"points": float64 (P, 3), "seconds": float}``; the clock restarts on load (the GIF is fit_gan's)."""
        return {"points": np.array(self.points, dtype=np.float64).reshape(-1, 3), "seconds": self.seconds}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` saved; the clock restarts at the next call."""
        self.points = [(int(s), float(t), float(f)) for s, t, f in np.asarray(state["points"]).reshape(-1, 3)]
        self.seconds = float(state["seconds"])
        self._since = perf_counter()


ABLATIONS = ("growing", "mbstd", "eqlr", "pixelnorm", "ema")
"""The parts lesson 21 can switch off, each with a ``--no-<part>`` flag."""


def add_progan_flags(parser):
    """Lesson 21's plumbing flags: --fid-every N (steps between FID points, an int >= 1, default 250),
    --compare RUN [RUN ...] (finished runs whose FID curves to draw beside this one's; see
    :func:`finished_run`) and the ablations ``--no-<part>`` for each part in :data:`ABLATIONS`.
    Returns the parser."""
    parser.add_argument("--fid-every", type=positive_int, default=250, help="steps between FID points (2,000 samples)")
    parser.add_argument("--compare", nargs="+", default=[], type=finished_run, metavar="RUN",
                        help="finished runs whose FID curves to draw beside this one's")
    for part in ABLATIONS:
        parser.add_argument(f"--no-{part}", action="store_true", help=f"switch {part} off (an ablation)")
    return parser


def check_batch_size(parser, args):
    """Returns args; with the minibatch std on, --batch-size must be a multiple of its group of 4
    (or below 4: one group), else :func:`tinygen.utils.run.flag_error` (exit status 2, one line)."""
    if not args.no_mbstd and args.batch_size % min(4, args.batch_size):
        flag_error(parser, "--batch-size",
                   f"expected a multiple of 4, the minibatch std's group, got {args.batch_size}")
    return args


def finished_run(path):
    """argparse ``type=`` for ``--compare``: a folder whose ``metrics.json`` has a ``fid_curve``.

    Returns the path; raises ``argparse.ArgumentTypeError`` (argparse's one-line
    error) naming what was expected and what was found, so that a typo fails
    before training rather than after it.
    """
    import argparse
    try:
        read_curve(path)
    except (FileNotFoundError, KeyError, ValueError) as e:
        raise argparse.ArgumentTypeError(f"expected a finished lesson-21 run folder, got {path!r}: "
                                         + str(e).replace("--compare: ", "")) from None
    return path


def read_curve(run_dir):
    """The FID curve a run wrote to its ``metrics.json``: (label, seconds (P,), fid (P,)).

    The label is ``metrics["label"]``. Raises FileNotFoundError (no
    ``metrics.json``) or KeyError (no ``fid_curve`` in it) naming the folder.
    """
    path = os.path.join(run_dir, "metrics.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"--compare: {run_dir} has no metrics.json (has the run finished?)")
    with open(path) as f:
        metrics = json.load(f)
    if "fid_curve" not in metrics:
        raise KeyError(f"--compare: {path} has no fid_curve (not a lesson-21 run on 28x28 images?)")
    curve = np.asarray(metrics["fid_curve"], dtype=np.float64).reshape(-1, 3)
    return metrics.get("label", run_dir), curve[:, 1], curve[:, 2]


def plot_fid_curves(path, curves, title=None):
    """FID against training minutes for several runs, one colour per label (seeds share a colour).

    Args:
        path: output ``.png``, written atomically.
        curves: list of (label, seconds (P,), fid (P,)) as :func:`read_curve` returns.
        title: optional figure title.

    Returns:
        path.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4))
    colors = {}
    for label, seconds, fid in curves:
        first = label not in colors
        color = colors.setdefault(label, f"C{len(colors)}")
        ax.plot(np.asarray(seconds) / 60, fid, "o-", color=color, ms=3, alpha=0.8, label=label if first else None)
    ax.set_xlabel("training time (minutes)")
    ax.set_ylabel("FID (2,000 samples)")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return viz.save_figure(fig, path)

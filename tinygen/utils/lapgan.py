"""Lesson 20's plumbing (LAPGAN, Denton et al. 2015): its flags, and the figures that draw a pyramid level by level.

The lesson keeps its pyramid, its six networks, the chain sampler and the
training step in view. This module holds its flags and lays images of
several sizes (a 7x7 level, a 14x14 one, a 28x28 one) and signed band-pass
residuals out as labelled rows of one picture, which the lesson draws twice:
for a real image's pyramid (``pyramid.png``) and for the generated chain
(``chain.png``).
"""
import os

import numpy as np

from . import viz
from .run import positive_float, positive_int

MODELS = ("lapgan", "single")


def add_lapgan_flags(parser, argv=None):
    """Add lesson 20's flags to a ``lesson_parser``; returns the parser.

    --model (``lapgan``: the pyramid's three GANs; ``single``: one 28x28 GAN),
    --lr, --width (the 14x14 and 28x28 levels' channels), --coarse-width (the
    7x7 level's hidden units), --single-width (the single-scale DCGAN's
    width), each checked by its type. --out defaults to ``runs/20_lapgan``,
    or ``runs/20_lapgan_single`` with ``--model single``, so that the two
    runs do not overwrite each other; ``argv`` (None: ``sys.argv``) is
    where --model is looked up for that.
    """
    parser.add_argument("--model", default="lapgan", choices=list(MODELS),
                        help="lapgan: three GANs, 7 -> 14 -> 28; single: one 28x28 DCGAN of about as many parameters")
    parser.add_argument("--lr", type=positive_float, default=2e-4, help="Adam's learning rate, every network")
    parser.add_argument("--width", type=positive_int, default=32, help="channels of the 14x14 and 28x28 levels' G and D")
    parser.add_argument("--coarse-width", type=positive_int, default=256, help="hidden units of the 7x7 level's MLPs")
    parser.add_argument("--single-width", type=positive_int, default=30, help="the single-scale DCGAN's width")
    if parser.parse_known_args(argv)[0].model == "single":
        parser.set_defaults(out=os.path.join("runs", "20_lapgan_single"))
    return parser


def _as_array(x):
    return viz._to_numpy(x.numpy() if hasattr(x, "numpy") else x)


def save_level_rows(rows, path, labels, gains=None, size=None, title=None):
    """Rows of images of different sizes, each drawn at ``size`` pixels, as one labelled PNG.

    A coarse level is enlarged by repeating pixels (nearest neighbour), so
    each of its pixels shows as a block: the picture shows what the level
    holds, not a smoothed guess. A band-pass residual h, which is small and
    signed, is drawn times its row's gain (clipped to [-1, 1]) so that grey
    is 0, white positive and black negative.

    Args:
        rows: list of arrays or Tensors (n, C, s, s) in [-1, 1], one per row,
            all with the same n and C; each s must divide ``size``.
        path: the ``.png`` to write (atomically).
        labels: list of row names, one per row (say the gain in the name of a
            scaled row, e.g. ``"h_0 (x4)"``).
        gains: optional list of floats, one per row, that multiply the row
            before drawing (default 1 for every row).
        size: the side every row is drawn at (default: the largest s).
        title: optional title above the rows.

    Returns:
        ``pathlib.Path`` of the written file.

    Raises:
        ValueError: rows with other n or C, a side that does not divide
            ``size``, or labels or gains that are not one per row.
    """
    rows = [_as_array(r).astype(np.float32) for r in rows]
    gains = [1.0] * len(rows) if gains is None else list(gains)
    if len(labels) != len(rows) or len(gains) != len(rows):
        raise ValueError(f"labels, gains: expected one per row ({len(rows)}), got {len(labels)} and {len(gains)}")
    if len({r.shape[:2] for r in rows}) != 1:
        raise ValueError(f"rows: expected the same (n, C) in every row, got {[r.shape for r in rows]}")
    size = size or max(r.shape[-1] for r in rows)
    drawn = []
    for r, gain in zip(rows, gains):
        if size % r.shape[-1] or r.shape[-1] != r.shape[-2]:
            raise ValueError(f"rows: expected square images whose side divides {size}, got {r.shape}")
        k = size // r.shape[-1]
        drawn.append(np.clip(gain * r.repeat(k, axis=2).repeat(k, axis=3), -1, 1))
    return viz.save_image_rows(drawn, path, labels=labels, value_range=(-1, 1), title=title)


def save_pyramid(gauss, bands, reconstruction, path, gain=2.0):
    """``pyramid.png``: real images' Gaussian levels I_0, I_1, I_2, band-pass levels h_0, h_1 and reconstruction.

    Args:
        gauss: [I_0, I_1, I_2], Tensors or arrays (n, C, 28, 28), (n, C, 14, 14), (n, C, 7, 7).
        bands: [h_0, h_1], (n, C, 28, 28) and (n, C, 14, 14), drawn times ``gain``.
        reconstruction: (n, C, 28, 28), u(u(I_2) + h_1) + h_0.
        path: the ``.png``.

    Returns:
        ``pathlib.Path`` of the written file (see :func:`save_level_rows`).
    """
    return save_level_rows([*gauss, *bands, reconstruction], path,
                           ["I_0 (28x28)", "I_1 = d(I_0) (14x14)", "I_2 = d(I_1) (7x7)", f"h_0 = I_0 - u(I_1) (x{gain:g})",
                            f"h_1 = I_1 - u(I_2) (x{gain:g})", "u(u(I_2) + h_1) + h_0"],
                           gains=[1, 1, 1, gain, gain, 1], title="the Laplacian pyramid of real images")


def save_chain(chain, inputs, path, gain=2.0):
    """``chain.png``: samples followed down a LAPGAN chain, level by level.

    Args:
        chain: a Module with ``levels(z_2, z_1, z_0) -> ([Ĩ_2, Ĩ_1, Ĩ_0], [h̃_1, h̃_0])``
            (lesson 20's ``LaplacianChain``); it runs in eval mode, without a
            graph, and goes back to the mode it was in.
        inputs: the tuple (z_2, z_1, z_0) of Tensors, one row per sample.
        path: the ``.png``. gain: the residual rows are drawn times ``gain``.

    Returns:
        ``pathlib.Path`` of the written file (see :func:`save_level_rows`).
    """
    from ..autograd import no_grad
    was_training = chain.training
    chain.eval()
    with no_grad():
        (i2, i1, i0), (h1, h0) = chain.levels(*inputs)
    chain.train(was_training)
    return save_level_rows([i2, h1, i1, h0, i0], path,
                           ["Ĩ_2 = G_2(z_2)", f"h̃_1 = G_1(z_1, u(Ĩ_2)) (x{gain:g})", "Ĩ_1 = u(Ĩ_2) + h̃_1",
                            f"h̃_0 = G_0(z_0, u(Ĩ_1)) (x{gain:g})", "Ĩ_0 = u(Ĩ_1) + h̃_0"],
                           gains=[1, gain, 1, gain, 1], title="the chain, coarse to fine")

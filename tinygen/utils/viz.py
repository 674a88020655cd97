"""Pictures of training: sample grids, GIFs of progress, loss curves, and the loss log.

* ``make_grid`` / ``save_grid``: a batch of images (N, C, H, W) -> one uint8 RGB tile
  image (like torchvision's ``make_grid``) -> PNG.
* ``GifWriter`` / ``save_gif``: a GIF of the sample grid over training.
* ``plot_losses``: D/G loss curves (and e.g. the Wasserstein estimate) -> PNG;
  ``plot_smoothed``: one noisy curve with its moving average, for a lesson's own panel.
* ``compare_runs``: two or more runs side by side (samples, curves, one shared panel) -> PNG.
* ``append_jsonl`` / ``read_jsonl``: the JSON-lines loss log those plots are drawn from.

Every file is written atomically (temp file in the same folder, then ``os.replace``),
so an interrupted run never leaves a half-written PNG, GIF or plot behind.

matplotlib is switched to its non-interactive Agg backend on import: the lessons run
on headless machines and only ever write files.
"""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path

import imageio.v3 as iio
import matplotlib
import numpy as np

from .fileio import atomic_write_bytes

matplotlib.use("Agg")  # headless: must come before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

__all__ = [
    "make_grid",
    "save_grid",
    "GifWriter",
    "save_gif",
    "plot_losses",
    "save_image_rows",
    "plot_codes",
    "save_figure",
    "plot_smoothed",
    "compare_runs",
    "read_jsonl",
    "append_jsonl",
]


def _to_numpy(x):
    """NumPy view of ``x``; CuPy arrays (anything with ``.get()``) are copied to the host."""
    if not isinstance(x, np.ndarray) and hasattr(x, "get"):
        x = x.get()
    return np.asarray(x)


def make_grid(images, nrow=8, padding=2, value_range=(-1, 1), pad_value=255):
    """Tile a batch of images into one RGB image, like torchvision's ``make_grid``.

    The grid has ``min(nrow, N)`` columns and ``ceil(N / ncols)`` rows, with
    ``padding`` pixels of ``pad_value`` between tiles and around the border, so its
    size is ``rows*H + (rows+1)*padding`` by ``cols*W + (cols+1)*padding``
    (e.g. 64 images of 28x28 with nrow=8, padding=2 -> 242 x 242).

    Float values are clipped to ``value_range`` and mapped linearly to 0..255
    (NaN -> the low end). uint8 input is taken as already 0..255 and
    ``value_range`` is ignored.

    Args:
        images: array (N, C, H, W) with C = 1 (grayscale) or 3 (RGB), or a list of
            such arrays and/or single images (C, H, W), all of the same C, H, W.
            NumPy or CuPy (converted with ``.get()``).
        nrow: int >= 1, images per grid row.
        padding: int >= 0, pixels between tiles.
        value_range: ``(low, high)`` of the float images, default (-1, 1) for tanh outputs.
        pad_value: int 0..255, colour of the padding (default white, which separates
            tiles with dark backgrounds such as Fashion-MNIST).

    Returns:
        uint8 array (H', W', 3).

    Raises:
        ValueError: ``images`` is empty, not (N, C, H, W) with C in {1, 3}, or list
            items differ in shape; bad ``nrow``, ``padding`` or ``value_range``.
    """
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("images: expected at least one image, got an empty list")
        parts = [_to_numpy(a) for a in images]
        parts = [a[None] if a.ndim == 3 else a for a in parts]
        shapes = {a.shape[1:] for a in parts}
        if any(a.ndim != 4 for a in parts) or len(shapes) != 1:
            raise ValueError(
                f"images: expected a list of (N, C, H, W) or (C, H, W) arrays of one shape, "
                f"got shapes {[a.shape for a in parts]}"
            )
        x = np.concatenate(parts, axis=0)
    else:
        x = _to_numpy(images)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images: expected shape (N, C, H, W) with C 1 or 3, got {x.shape}")
    n, c, h, w = x.shape
    if n == 0:
        raise ValueError(f"images: expected at least one image, got shape {x.shape}")
    if int(nrow) < 1 or int(padding) < 0:
        raise ValueError(f"need nrow >= 1 and padding >= 0, got nrow={nrow}, padding={padding}")
    nrow, padding = int(nrow), int(padding)

    if x.dtype == np.uint8:
        u8 = x
    else:
        lo, hi = (float(v) for v in value_range)
        if not hi > lo:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range}")
        xf = np.nan_to_num(x.astype(np.float32), nan=lo, posinf=hi, neginf=lo)
        xf = (np.clip(xf, lo, hi) - lo) * (255.0 / (hi - lo))
        u8 = np.rint(xf).astype(np.uint8)
    if c == 1:
        u8 = np.repeat(u8, 3, axis=1)

    ncols = min(nrow, n)
    nrows = math.ceil(n / ncols)
    grid = np.full(
        (nrows * h + (nrows + 1) * padding, ncols * w + (ncols + 1) * padding, 3),
        pad_value, dtype=np.uint8,
    )
    for i in range(n):
        r, col = divmod(i, ncols)
        y0, x0 = padding + r * (h + padding), padding + col * (w + padding)
        grid[y0:y0 + h, x0:x0 + w] = u8[i].transpose(1, 2, 0)
    return grid


def save_grid(images, path, nrow=8, value_range=(-1, 1), scale=None, padding=2):
    """Write ``make_grid(images, ...)`` as a PNG, optionally enlarged.

    Args:
        images: as for ``make_grid``.
        path: output ``.png`` path; parent folders are created; written atomically.
        nrow, value_range, padding: as for ``make_grid``.
        scale: int >= 1, each pixel becomes a ``scale`` x ``scale`` block (nearest
            neighbour, so no blur). ``None`` (default) picks 2 when the images are
            smaller than 64 pixels high (e.g. 28x28 MNIST) and 1 otherwise.

    Returns:
        ``pathlib.Path`` of the written file.

    Raises:
        ValueError: as for ``make_grid``, or ``scale`` < 1.
    """
    grid = make_grid(images, nrow=nrow, padding=padding, value_range=value_range)
    if scale is None:
        first = images[0] if isinstance(images, (list, tuple)) else images
        scale = 2 if first.shape[-2] < 64 else 1
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be an int >= 1, got {scale}")
    if scale > 1:
        grid = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
    return atomic_write_bytes(path, iio.imwrite("<bytes>", grid, extension=".png"))


def _check_frame(frame):
    frame = _to_numpy(frame)
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(
            f"frame: expected a uint8 (H, W, 3) image such as make_grid returns, "
            f"got {frame.dtype} {frame.shape}"
        )
    return frame


def save_gif(frames, path, duration=0.2):
    """Write uint8 frames as an endlessly looping GIF, atomically.

    Args:
        frames: non-empty sequence of uint8 (H, W, 3) (or (H, W)) images, all the same size.
        path: output ``.gif`` path; parent folders are created.
        duration: seconds each frame is shown.

    Returns:
        ``pathlib.Path`` of the written file.

    Raises:
        ValueError: no frames, a frame that is not uint8 (H, W, 3), or frames of
            different sizes.

    Note: GIF has a 256-colour palette per frame, and Pillow merges consecutive
    identical frames into one longer frame.
    """
    frames = [_check_frame(f) for f in frames]
    if not frames:
        raise ValueError("frames: expected at least one frame, got none")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"frames: all frames must have the same shape, got {sorted(shapes)}")
    # imageio v3's Pillow plugin takes the frame duration in milliseconds.
    data = iio.imwrite(
        "<bytes>", np.stack(frames), extension=".gif",
        duration=int(round(duration * 1000)), loop=0,
    )
    return atomic_write_bytes(path, data)


class GifWriter:
    """Collect sample grids during training and write them as one looping GIF.

    Frames are kept in memory (``frames``, a list of uint8 (H, W, 3) arrays); call
    ``save()`` whenever you want the file on disk, e.g. at every checkpoint: it
    rewrites the whole GIF atomically. To continue after a restart, put the saved
    ``frames`` back (e.g. ``writer.frames = list(checkpoint["gif_frames"])``).

    Args:
        path: output ``.gif`` path.
        duration: seconds per frame.
    """

    def __init__(self, path, duration=0.2):
        self.path = Path(path)
        self.duration = float(duration)
        self.frames = []

    def append(self, grid):
        """Add one frame: a uint8 (H, W, 3) image such as ``make_grid`` returns.

        Raises:
            ValueError: not uint8 (H, W, 3), or a different size from earlier frames.
        """
        grid = _check_frame(grid)
        if self.frames and grid.shape != self.frames[0].shape:
            raise ValueError(
                f"grid: expected shape {self.frames[0].shape} like the earlier frames, got {grid.shape}"
            )
        self.frames.append(grid.copy())

    def __len__(self):
        return len(self.frames)

    def save(self):
        """Write all frames collected so far to ``path`` (atomic; loops forever).

        Returns:
            ``pathlib.Path`` of the written file.

        Raises:
            ValueError: no frames yet.
        """
        return save_gif(self.frames, self.path, self.duration)


def _moving_average(y, window):
    """Trailing moving average of ``y`` (length ``len(y) - window + 1``)."""
    c = np.cumsum(np.insert(y, 0, 0.0))
    return (c[window:] - c[:-window]) / window


def plot_smoothed(ax, x, y, window, label=None, color=None, **style):
    """Draw a noisy curve faintly and its trailing moving average on top, on a matplotlib Axes.

    For a lesson's own panel of a training log (``plot_losses`` does the same
    for the loss keys): the raw ``y`` against ``x`` thin and faint, then the
    mean of each ``window`` consecutive points, drawn at the last of them.

    Args:
        ax: a ``matplotlib.axes.Axes``.
        x, y: equal-length 1-D sequences of floats (e.g. steps and a logged value).
        window: points per average, int >= 1 (clipped to ``len(y)``).
        label: the average's legend label. color: both lines' colour (default:
            the next of the axes' cycle). style: further keywords of the
            average's ``ax.plot`` (e.g. ``ls="--"``).

    Returns:
        the average's ``Line2D``.

    Raises:
        ValueError: ``x`` and ``y`` differ in length or are empty, or ``window`` < 1.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or y.ndim != 1 or not len(y):
        raise ValueError(f"x, y: expected two non-empty 1-D sequences of one length, got shapes {x.shape}, {y.shape}")
    if not window >= 1:
        raise ValueError(f"window: expected an int >= 1, got {window!r}")
    window = min(int(window), len(y))
    (raw,) = ax.plot(x, y, color=color, alpha=0.25, linewidth=0.6)
    (avg,) = ax.plot(x[window - 1:], _moving_average(y, window), color=raw.get_color(), linewidth=1.5,
                     label=label, **style)
    return avg


def _plot_series(ax, x, y, label):
    """Plot one curve; if it is long and noisy, plot it faintly plus a moving average."""
    window = max(2, len(y) // 25)
    if len(y) >= 20 and np.all(np.isfinite(y)):
        smooth = _moving_average(y, window)
        resid = y[window - 1:] - smooth
        spread = np.ptp(y) or 1.0
        # "Noisy": wiggles around the moving average are >5% of the curve's range.
        if np.std(resid) > 0.05 * spread:
            plot_smoothed(ax, x, y, window, label=f"{label} (avg of {window})")
            return
    ax.plot(x, y, linewidth=1.2, label=label)


def _series(history, key):
    """(steps, values) of ``key`` over the records that have a numeric value for it."""
    xs, ys = [], []
    for i, rec in enumerate(history):
        v = rec.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            xs.append(rec.get("step", i))
            ys.append(float(v))
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


def plot_losses(history, path, keys=None, title=None):
    """Plot training curves from a loss log to a PNG.

    Top panel: every key starting with ``loss`` (e.g. ``loss_D``, ``loss_G``) against
    ``step``. A long curve that wiggles a lot is drawn faint, with a trailing moving
    average on top. Bottom panel (only if any of them occurs): the extra keys,
    ``keys`` if given, else ``["wasserstein"]`` (the critic's estimate of the
    Wasserstein distance in a WGAN).

    Args:
        history: list of dict records such as
            ``{"step": 100, "loss_D": -1.2, "loss_G": 0.5, "wasserstein": 1.3}``
            (as ``read_jsonl`` returns). Records missing a key are skipped for that
            curve; records without ``step`` use their index. Or a dict
            run name -> such a list, to compare runs: key ``loss`` of run
            ``k=2`` is drawn as ``loss (k=2)``.
        path: output ``.png`` path; parent folders are created; written atomically.
        keys: optional list of extra key names for the bottom panel.
        title: optional figure title.

    Returns:
        ``pathlib.Path`` of the written file.

    Raises:
        ValueError: ``history`` is empty or contains none of the keys to plot.
    """
    if isinstance(history, dict):
        history = [{k if k == "step" else f"{k} ({run})": v for k, v in rec.items()}
                   for run, records in history.items() for rec in records]
    if not history:
        raise ValueError("history: expected at least one record, got none")
    names = sorted({k for rec in history for k in rec})
    loss_keys = [k for k in names if k.startswith("loss")]
    extra = list(keys) if keys is not None else ["wasserstein"]
    extra = [k for k in extra if k in names and k not in loss_keys]
    if not loss_keys and not extra:
        raise ValueError(
            f"history: no keys starting with 'loss' and none of {keys or ['wasserstein']}; "
            f"keys found: {names}"
        )

    panels = [p for p in (loss_keys, extra) if p]
    fig, axes = plt.subplots(
        len(panels), 1, sharex=True, squeeze=False, figsize=(8, 3.2 * len(panels) + 0.6)
    )
    try:
        for ax, panel in zip(axes[:, 0], panels):
            for k in panel:
                x, y = _series(history, k)
                if len(y):
                    _plot_series(ax, x, y, k)
            ax.set_ylabel("loss" if panel is loss_keys else ", ".join(panel))
            ax.grid(True, alpha=0.3)
            ax.legend(loc="best", fontsize=8)
        axes[-1, 0].set_xlabel("step")
        if title:
            fig.suptitle(title)
    except BaseException:
        plt.close(fig)
        raise
    return save_figure(fig, path)


def _draw_series(ax, series, first_color):
    """Draw ``series`` (label -> (x, y)) on ``ax``; label the y axis with the labels. Long ones smoothed."""
    for i, (label, (x, y, *fmt)) in enumerate(series.items()):
        color = f"C{first_color + i}"
        if fmt or len(y) <= 40:
            ax.plot(x, y, *(fmt or ["o-"]), color=color, label=label, markersize=None if fmt else 3)
        else:
            plot_smoothed(ax, x, y, len(y) // 40, label=label, color=color)
    ax.set_ylabel(", ".join(series), color=f"C{first_color}" if len(series) == 1 else "k", fontsize=9)


def compare_runs(path, runs, shared=None, shared_ylabel=None, xlabel="generator step", xticklabels=None,
                 bars=False, suptitle=None, dpi=100, hline=None):
    """Runs side by side, one column each: its samples, its curves, and one panel across all runs below.

    The comparison figure of the GAN lessons that train a method two ways
    (clipping against the penalty, two label codings, with and without a
    term). Row 1 (if any run has a ``grid``): each run's sample grid under
    its title. Row 2 (if any run has ``curves``): each run's curves; a series
    of more than 40 points is drawn faint with a trailing moving average of
    ``len // 40`` points (:func:`plot_smoothed`), a shorter one as joined
    dots, one with a format as that; ``twins`` go on a second y axis (e.g.
    FID beside a loss). Without grids the same row is a row of plain panels
    side by side, one per title (e.g. four functions of one variable). Row 3
    (with ``shared``): one panel across the figure, e.g. every run's FID
    curve, or grouped bars such as the class histograms.

    Args:
        path: output ``.png``; written atomically.
        runs: list of R >= 1 dicts, one per run, with
            ``"title"``: str, above its grid (above its curve panel if it has no grid);
            ``"grid"``: uint8 (H, W, 3) as :func:`make_grid` returns, or images
            (N, C, H, W) in [-1, 1] (tiled 8 per row);
            ``"curves"``, ``"twins"``: dicts label -> (x, y) or (x, y, fmt): two
            equal-length 1-D sequences and optionally a matplotlib format such
            as ``"o"`` or ``"x"``; each y axis is labelled with its series' labels;
            ``"panel_title"``: str above its curve panel. All keys but the title optional.
        shared: optional dict label -> (x, y) for the bottom panel.
        shared_ylabel, xlabel: axis labels (``xlabel`` under rows 2 and 3).
        xticklabels: optional names of the shared panel's x positions 0, 1, ... (e.g. class names).
        bars: True draws ``shared`` as grouped bars at its x's instead of lines.
        suptitle: optional figure title. dpi: pixels per inch.
        hline: optional ``(y, label)``: a dotted black reference line across the shared
            panel, in its legend (e.g. ``(0.1, "uniform (real data)")`` under class histograms).

    Returns:
        ``pathlib.Path`` of the written file.

    Raises:
        ValueError: no runs, a run without a title, nothing to draw, a grid
            neither (H, W, 3) nor (N, C, H, W), or a series whose x and y differ in length.
    """
    if not runs or any("title" not in r for r in runs):
        raise ValueError(f"runs: expected one or more dicts with a 'title', got {runs!r:.200}")
    rows = [k for k in ("grid", "curves") if any(k in r for r in runs)] + (["shared"] if shared else [])
    if not rows:
        raise ValueError("runs, shared: nothing to draw (no grid, no curves, no shared panel)")
    images = {}
    for i, r in enumerate(runs):
        if "grid" in r:
            g = _to_numpy(r["grid"])
            g = make_grid(g) if g.ndim == 4 else g
            if g.ndim != 3 or g.shape[2] != 3:
                raise ValueError(f"runs[{i}]['grid']: expected a (H, W, 3) grid or (N, C, H, W) images, "
                                 f"got shape {g.shape}")
            images[i] = g
        for label, (x, y, *_) in [*r.get("curves", {}).items(), *r.get("twins", {}).items()]:
            if len(x) != len(y):
                raise ValueError(f"runs[{i}], {label!r}: x and y differ in length ({len(x)} and {len(y)})")
    for label, (x, y) in (shared or {}).items():
        if len(x) != len(y):
            raise ValueError(f"shared, {label!r}: x and y differ in length ({len(x)} and {len(y)})")
    heights = {"grid": 1.4, "curves": 1.0, "shared": 1.0}
    fig = plt.figure(figsize=(max(5.2 * len(runs), 8), 3.7 * sum(heights[k] for k in rows)))
    spec = fig.add_gridspec(len(rows), len(runs), height_ratios=[heights[k] for k in rows])
    try:
        for col, r in enumerate(runs):
            if col in images:
                ax = fig.add_subplot(spec[rows.index("grid"), col])
                ax.imshow(images[col], interpolation="nearest")
                ax.set_title(r["title"], fontsize=9)
                ax.axis("off")
            if "curves" in r:
                ax = fig.add_subplot(spec[rows.index("curves"), col])
                _draw_series(ax, r["curves"], 0)
                if len(r["curves"]) > 1:
                    ax.legend(fontsize=8)
                if r.get("twins"):
                    _draw_series(ax.twinx(), r["twins"], 3)
                title = r.get("panel_title", None if col in images else r["title"])
                if title:
                    ax.set_title(title, fontsize=9)
                ax.set_xlabel(xlabel)
                ax.grid(True, alpha=0.3)
        if shared:
            ax = fig.add_subplot(spec[rows.index("shared"), :])
            width = 0.8 / len(shared)
            for i, (label, (x, y)) in enumerate(shared.items()):
                if bars:
                    ax.bar(np.asarray(x, dtype=np.float64) + (i - (len(shared) - 1) / 2) * width, y, width, label=label)
                else:
                    ax.plot(x, y, "o-", label=label, markersize=4)
            if hline is not None:
                ax.axhline(hline[0], color="k", lw=1, ls=":", label=hline[1])
            if xticklabels is not None:
                ax.set_xticks(np.arange(len(xticklabels)), xticklabels, fontsize=8)
            ax.set_xlabel("" if xticklabels is not None else xlabel)
            ax.set_ylabel(shared_ylabel or "")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=9)
        if suptitle:
            fig.suptitle(suptitle, fontsize=10)
    except BaseException:
        plt.close(fig)
        raise
    return save_figure(fig, path, dpi=dpi)


def save_figure(fig, path, dpi=100, tight=True):
    """Write a matplotlib figure as a PNG, atomically, and close it.

    For a lesson's own one-off plot (e.g. a histogram). Args: fig, a
    ``matplotlib.figure.Figure``; path, the ``.png``; dpi, pixels per inch;
    tight, apply ``tight_layout`` first. Returns ``pathlib.Path`` of the file.
    """
    try:
        if tight:
            fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def save_image_rows(rows, path, labels=None, value_range=(0, 1), title=None):
    """Rows of images, one labelled row per kind: e.g. test images, noisy
    inputs, reconstructions (the layout of Lab 14's "test samples" and
    "reconstructed samples").

    Args:
        rows: list of arrays (n, C, H, W), all of one shape; each becomes a row.
        path: output ``.png``; written atomically.
        labels: optional list of row names, drawn left of each row.
        value_range: the pixel range to map to black..white ((0, 1) default).
        title: optional figure title.

    Returns:
        ``pathlib.Path`` of the written file.

    Raises:
        ValueError: no rows, rows of different shapes, or a wrong number of labels.
    """
    rows = [_to_numpy(r) for r in rows]
    if not rows or len({r.shape for r in rows}) != 1:
        raise ValueError(f"rows: expected one or more arrays of one shape, got {[r.shape for r in rows]}")
    if labels is not None and len(labels) != len(rows):
        raise ValueError(f"labels: expected {len(rows)} labels (one per row), got {len(labels)}")
    n = rows[0].shape[0]
    grids = [make_grid(r, nrow=n, value_range=value_range) for r in rows]
    h, w = grids[0].shape[:2]
    # Exact layout, in inches at 100 dpi with each image pixel drawn 2.5 times:
    # a label column, then the rows, no free space to the right.
    scale, gap = 2.5 / 100, 0.08
    label_w = 0.1 + (0.075 * max(len(label) for label in labels) if labels else 0.0)
    title_h = 0.35 if title else 0.05
    fig_w, row_h = label_w + w * scale + 0.1, h * scale
    fig_h = title_h + len(rows) * (row_h + gap)
    fig = plt.figure(figsize=(fig_w, fig_h))
    for i, grid in enumerate(grids):
        bottom = fig_h - title_h - (i + 1) * (row_h + gap) + gap / 2
        ax = fig.add_axes([label_w / fig_w, bottom / fig_h, w * scale / fig_w, row_h / fig_h])
        ax.imshow(grid, interpolation="nearest")
        ax.axis("off")
        if labels and labels[i]:
            fig.text((label_w - 0.08) / fig_w, (bottom + row_h / 2) / fig_h, labels[i],
                     ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.05 / fig_h, va="top")
    return save_figure(fig, path, tight=False)


def plot_codes(panels, labels, path, class_names=None, title=None, max_points=5000):
    """Scatter plots of 2-D codes coloured by class, one panel per method.

    Args:
        panels: dict title -> codes array (N, 2) (e.g. {"linear AE": ..., "PCA": ...}).
        labels: int array (N,) of classes, the colours.
        path: output ``.png``; written atomically.
        class_names: optional names for the legend, by label.
        max_points: plot at most this many (the first ones) per panel.

    Returns:
        ``pathlib.Path`` of the written file.

    Raises:
        ValueError: a codes array is not (N, 2) with N = len(labels).
    """
    labels = np.asarray(_to_numpy(labels))
    for key, codes in panels.items():
        if _to_numpy(codes).shape != (len(labels), 2):
            raise ValueError(f"panels[{key!r}]: expected codes of shape ({len(labels)}, 2), "
                             f"got {_to_numpy(codes).shape}")
    fig, axes = plt.subplots(1, len(panels), squeeze=False, figsize=(5 * len(panels) + 1.5, 5))
    k = min(max_points, len(labels))
    classes = np.unique(labels[:k])
    cmap = plt.get_cmap("tab10")
    for ax, (key, codes) in zip(axes[0], panels.items()):
        codes = _to_numpy(codes)[:k]
        for c in classes:
            m = labels[:k] == c
            name = class_names[c] if class_names is not None else str(c)
            ax.scatter(codes[m, 0], codes[m, 1], s=3, alpha=0.6, color=cmap(int(c) % 10), label=name)
        ax.set_title(key)
        ax.set_xlabel("code 1")
        ax.set_ylabel("code 2")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=4, fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def _json_default(obj):
    """Make NumPy scalars and arrays JSON-serialisable."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def append_jsonl(path, record):
    """Append one dict as a JSON line to ``path`` and flush.

    Parent folders are created. If the file ends in a partial line (a run killed in
    the middle of a write), that partial line is removed first, so the log stays
    one valid record per line. NumPy scalars/arrays are converted to plain numbers/lists.

    Args:
        path: the ``.jsonl`` log.
        record: a JSON-serialisable dict (non-finite floats are written as NaN/Infinity,
            which Python's json module reads back).

    Raises:
        TypeError: ``record`` contains something that cannot be serialised.
    """
    path = Path(path)
    line = json.dumps(record, default=_json_default) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab+") as f:
        end = f.seek(0, os.SEEK_END)
        if end > 0:
            f.seek(end - 1)
            if f.read(1) != b"\n":
                f.seek(0)
                keep = f.read().rfind(b"\n") + 1  # 0 if there is no complete line
                f.truncate(keep)
        f.write(line.encode())
        f.flush()


def read_jsonl(path):
    """Read a JSON-lines log written by ``append_jsonl``.

    Blank lines are skipped, and so is a last line that has no newline and does not
    parse (left behind by an interrupted run).

    Args:
        path: the ``.jsonl`` file.

    Returns:
        list of the decoded records (dicts), in file order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a complete line is not valid JSON (names the file and line number).
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    records = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if lineno == len(lines):  # trailing partial line: no newline after it
                break
            raise ValueError(f"{path}: line {lineno} is not valid JSON: {exc}") from exc
    return records


def scatter_frame(points, data=None, lim=None, size=3.2, dpi=80, title=None, point_size=2.0):
    """Render 2-D points, drawn over faint data points, as one uint8 RGB image (a GIF frame).

    Args:
        points: array (N, 2), e.g. a 2-D GAN's samples (drawn in red).
        data: optional array (M, 2), the real points, drawn first in grey.
        lim: optional ``(low, high)``, the same range for both axes; default
            the range of ``data`` (else ``points``) with a 10% margin, so
            every frame of a GIF keeps one frame of reference.
        size: figure side in inches; dpi: pixels per inch (3.2 x 80 -> 256 x 256).
        title: optional text in the top-left corner.
        point_size: marker area in points².

    Returns:
        uint8 array (round(size·dpi), round(size·dpi), 3).

    Raises:
        ValueError: points or data is not (N, 2).
    """
    points = _to_numpy(points)
    for name, a in (("points", points), ("data", data)):
        if a is not None and (np.ndim(a) != 2 or np.shape(a)[1] != 2):
            raise ValueError(f"{name}: expected shape (N, 2), got {np.shape(a)}")
    if lim is None:
        ref = _to_numpy(data) if data is not None else points
        lo, hi = float(np.min(ref)), float(np.max(ref))
        pad = 0.1 * (hi - lo or 1.0)
        lim = (lo - pad, hi + pad)
    fig = plt.figure(figsize=(size, size), dpi=dpi)
    try:
        ax = fig.add_axes([0, 0, 1, 1])
        if data is not None:
            ax.scatter(*_to_numpy(data).T, s=point_size, c="0.75", linewidths=0)
        ax.scatter(*points.T, s=point_size, c="tab:red", linewidths=0)
        ax.set_xlim(lim)
        ax.set_ylim(lim)
        ax.set_xticks([])
        ax.set_yticks([])
        if title:
            ax.text(0.03, 0.97, title, transform=ax.transAxes, va="top", fontsize=8)
        fig.canvas.draw()
        frame = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    finally:
        plt.close(fig)
    return frame

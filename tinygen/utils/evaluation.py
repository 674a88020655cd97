"""Workbench of lesson 25 (evaluating GANs): the ``--runs`` flag, sample folders, the real-data
constructions, the classifier's outputs kept on disk, the results table and the figures.

The metrics themselves live in :mod:`tinygen.utils.metrics` (KID, precision and recall, density
and coverage, FID∞, nearest neighbours, the data-copying test); the lesson calls them in view.

* :data:`DEFAULT_RUNS`, :func:`parse_runs`, :func:`resolve_runs`, :func:`load_samples`: which
  GAN sample folders to score (``samples.npy`` written by a lesson's ``--export-samples``).
* :func:`classifier_outputs`: the classifier's softmax and features of a set, computed once and
  kept in a ``.npz`` (the lesson's ``--resume``, and a disk cache for the 60,000 training images).
* :func:`one_per_class`, :func:`closest_to_class_mean`, :func:`add_noise`, :func:`keep_classes`:
  real-data sets built to fool one metric or to trade quality for variety.
* :func:`format_table`, :func:`plot_fid_vs_n`, :func:`plot_neighbours`,
  :func:`plot_class_histograms`: the table and the figures.
"""
import argparse
import hashlib
import os
import re
import warnings
from pathlib import Path

import numpy as np

from . import viz
from .data import default_cache_dir
from .fileio import atomic_open
from .metrics import CLASSES, NUM_CLASSES, WEIGHTS_PATH, check_images, probs_and_features
from .run import flag_error

plt = viz.plt

DEFAULT_RUNS = {
    "vanilla": os.path.join("runs", "11_vanilla_gan"),
    "dcgan": os.path.join("runs", "12_dcgan"),
    "wgan-clip": os.path.join("runs", "13_wgan_clip"),
    "cgan": os.path.join("runs", "14_conditional_gan"),
    "lsgan": os.path.join("runs", "15_lsgan"),
    "wgan-gp": os.path.join("runs", "16_wgan_gp"),
    "ebgan": os.path.join("runs", "17_ebgan"),
    "began": os.path.join("runs", "18_began"),
    "lapgan": os.path.join("runs", "20_lapgan"),
    "progan": os.path.join("runs", "21_progan"),
    "stylegan": os.path.join("runs", "22_stylegan"),
}
"""The GAN lessons' default ``--out`` folders: without ``--runs`` lesson 25 scores those of them
that hold a ``samples.npy`` (written by ``--export-samples 10000``)."""

_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


# ---------------------------------------------------------------- which runs
def parse_runs(text):
    """The text of ``--runs``: ``"dcgan=runs/12_dcgan,wgan=runs/16_wgan_gp"`` -> [(name, folder), ...].

    Raises:
        argparse.ArgumentTypeError: an item without ``=``, an empty name or folder, a name with
            characters other than letters, digits and ``_ . + -``, or a name given twice; the
            message says what was expected and what was given.
    """
    runs, seen = [], set()
    for item in text.split(","):
        name, sep, folder = item.partition("=")
        name, folder = name.strip(), folder.strip()
        if not sep or not name or not folder:
            raise argparse.ArgumentTypeError(f"expected NAME=FOLDER items separated by commas, got {item!r} "
                                             f"in {text!r}")
        if not _NAME.match(name):
            raise argparse.ArgumentTypeError(f"expected a name of letters, digits and _ . + -, got {name!r}")
        if name in seen:
            raise argparse.ArgumentTypeError(f"expected each name once, got {name!r} twice in {text!r}")
        seen.add(name)
        runs.append((name, folder))
    return runs


def resolve_runs(parser, text, defaults=None):
    """The (name, folder) pairs to score: those of ``--runs`` ``text`` (parsed by
    :func:`parse_runs`; each folder must hold a ``samples.npy`` of float images (N, 1, 28, 28)),
    or, when ``text`` is None, those of ``defaults`` (:data:`DEFAULT_RUNS`) whose folder has one.

    Raises:
        SystemExit: (command line, via ``flag_error``) ``--runs`` is not NAME=FOLDER,... (see
            :func:`parse_runs`), or a folder is missing, has no ``samples.npy``, or holds one
            that is not float images (N, 1, 28, 28); exit status 2, the message names
            ``--runs``, the run and the folder.
        ValueError, FileNotFoundError: (notebook) the same message.
    """
    if text is None:
        defaults = DEFAULT_RUNS if defaults is None else defaults
        return [(n, f) for n, f in defaults.items() if os.path.isfile(os.path.join(f, "samples.npy"))]
    try:
        runs = parse_runs(text)
    except argparse.ArgumentTypeError as e:
        flag_error(parser, "--runs", str(e))
    for name, folder in runs:
        if not os.path.isdir(folder):
            flag_error(parser, "--runs", f"{name}: expected a folder holding samples.npy, got {folder!r}, "
                       f"which does not exist", FileNotFoundError)
        path = os.path.join(folder, "samples.npy")
        if not os.path.isfile(path):
            flag_error(parser, "--runs", f"{name}: expected {path} (written by a GAN "
                       f"lesson's --export-samples 10000), got a folder without it", FileNotFoundError)
        x = np.load(path, mmap_mode="r", allow_pickle=False)
        if x.ndim != 4 or x.shape[1:] != (1, 28, 28) or x.dtype.kind != "f" or len(x) < 2:
            flag_error(parser, "--runs", f"{name}: expected {path} to hold at least 2 float images (N, 1, 28, 28) "
                       f"in [-1, 1], got {x.dtype} {x.shape}")
    return runs


def load_samples(folder, n, name="samples"):
    """The first ``n`` images of ``<folder>/samples.npy``: float32 (min(n, N), 1, 28, 28) in [-1, 1].

    Raises:
        FileNotFoundError: no samples.npy. TypeError, ValueError: not (N, 1, 28, 28) floats in
            [-1, 1] (as :func:`tinygen.utils.metrics.check_images`, naming ``name``), or fewer than 2 images.
    """
    x = np.load(os.path.join(folder, "samples.npy"), allow_pickle=False)
    x = check_images(x, f"{name} ({os.path.join(folder, 'samples.npy')})", min_count=2)
    if len(x) < n:
        warnings.warn(f"{name}: {len(x)} samples in {folder}, fewer than the {n} asked for; "
                      f"its FID is not comparable with the others' (FID falls with N)", stacklevel=2)
    return x[:n]


# ---------------------------------------------------------------- the classifier's outputs, kept
def classifier_outputs(images, path=None, cache=False):
    """The shipped classifier's softmax (N, 10) and features (N, 128), float64, kept in a ``.npz``.

    Args:
        images: (N, 1, 28, 28) floats in [-1, 1].
        path: where to keep them; an existing file is read back when it was written for these
            very images (a hash of the images and of the weights is stored with them).
        cache: True: the file is ``fashion_outputs_<hash>.npz`` in the cache folder
            (``$TINYGEN_CACHE``, else ``~/.cache/tinygen``) and ``path`` is ignored.

    Returns:
        (probs, feats), as :func:`tinygen.utils.metrics.probs_and_features`.

    Raises:
        TypeError, ValueError: as for :func:`tinygen.utils.metrics.check_images`.
    """
    images = check_images(images, min_count=2)
    h = hashlib.sha256(WEIGHTS_PATH.read_bytes() if WEIGHTS_PATH.is_file() else b"")
    h.update(str(images.shape).encode())
    h.update(images.tobytes())
    key = h.hexdigest()[:16]
    if cache:
        path = Path(default_cache_dir()) / f"fashion_outputs_{key}.npz"
    if path is not None and os.path.isfile(path):
        with np.load(path) as f:
            if str(f["key"]) == key:
                return f["probs"], f["feats"]
    probs, feats = probs_and_features(images, min_count=2)
    if path is not None:
        try:
            os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
            with atomic_open(path) as f:
                np.savez(f, probs=probs, feats=feats, key=key)
        except OSError as e:
            warnings.warn(f"could not keep the classifier outputs in {path}: {e}")
    return probs, feats


# ---------------------------------------------------------------- real-data constructions
def one_per_class(labels, probs, n):
    """Indices of one image per class, each repeated: the "one perfect image per class" set.

    For each class c present in ``labels``, the image of that class the classifier is surest of
    (the largest p(c|x)); the result cycles through the chosen images until it has ``n`` entries,
    so each class gets about n / (number of classes). Such a set scores an Inception Score near
    the maximum (confident and balanced) with no variety inside a class at all.

    Args:
        labels: int (N,) true classes. probs: float (N, 10) softmax. n: int >= 1.

    Returns:
        (indices int64 (n,), chosen int64 (K,): the K distinct images, by class).

    Raises:
        ValueError: labels and probs do not match, or n < 1.
    """
    labels, probs = np.asarray(labels), np.asarray(probs)
    if labels.ndim != 1 or probs.shape != (len(labels), NUM_CLASSES) or n < 1:
        raise ValueError(f"labels, probs, n: expected (N,), (N, {NUM_CLASSES}) and n >= 1, got "
                         f"{labels.shape}, {probs.shape} and {n}")
    chosen = np.array([np.flatnonzero(labels == c)[np.argmax(probs[labels == c, c])]
                       for c in range(NUM_CLASSES) if (labels == c).any()])
    return chosen[np.arange(n) % len(chosen)], chosen


def closest_to_class_mean(labels, feats, n):
    """Indices of the ``n`` images nearest their class's mean feature, n / 10 per class: a
    truncation-like set (typical, clean examples, little variety).

    Like the truncation trick (Brock et al. 2019, BigGAN, sec. 3.1), which trades variety for
    quality by drawing z near the mode: here the real images nearest the centre of their class
    in the classifier's feature space (Euclidean).

    Args:
        labels: int (N,). feats: float (N, d). n: int, 1 <= n <= N.

    Returns:
        int64 indices (<= n,): for each class the round(n / K) nearest its mean (or all it has),
        K the number of classes present.

    Raises:
        ValueError: shapes do not match or n is out of range.
    """
    labels, feats = np.asarray(labels), np.asarray(feats)
    if labels.ndim != 1 or feats.ndim != 2 or len(feats) != len(labels) or not 1 <= n <= len(labels):
        raise ValueError(f"labels, feats, n: expected (N,), (N, d) and 1 <= n <= N, got {labels.shape}, "
                         f"{feats.shape} and {n}")
    classes = [c for c in range(NUM_CLASSES) if (labels == c).any()]
    per = max(1, round(n / len(classes)))
    out = []
    for c in classes:
        idx = np.flatnonzero(labels == c)
        dist = ((feats[idx] - feats[idx].mean(axis=0)) ** 2).sum(axis=1)
        out.append(idx[np.argsort(dist, kind="stable")[:per]])
    return np.concatenate(out)[:n]


def add_noise(images, sigma, seed=0):
    """``images`` + N(0, sigma²) per pixel, clipped to [-1, 1]: float32, same shape (lower quality)."""
    rng = np.random.default_rng(seed)
    return np.clip(images + sigma * rng.standard_normal(images.shape), -1, 1).astype(np.float32)


def keep_classes(labels, classes, n, seed=0):
    """Indices of ``n`` images drawn (without replacement where possible) from the given classes
    only: a set with dropped modes, as a mode-collapsed GAN's.

    Raises:
        ValueError: no image has one of ``classes``.
    """
    pool = np.flatnonzero(np.isin(labels, classes))
    if not len(pool):
        raise ValueError(f"classes: expected classes present in labels, got {list(classes)}")
    rng = np.random.default_rng(seed)
    return rng.choice(pool, n, replace=n > len(pool))


# ---------------------------------------------------------------- table and figures
def format_table(rows, columns):
    """A Markdown table: ``rows`` a dict name -> dict of values, ``columns`` a list of
    (key, header, format) with format a ``str.format`` spec such as ``"{:.2f}"``, or a function
    of the row returning the cell text. Missing values print as "–"."""
    lines = ["| set | " + " | ".join(h for _, h, _ in columns) + " |",
             "| --- |" + " --- |" * len(columns)]
    for name, row in rows.items():
        cells = []
        for key, _, fmt in columns:
            if callable(fmt):
                cells.append(fmt(row))
            elif row.get(key) is None or (isinstance(row.get(key), float) and np.isnan(row[key])):
                cells.append("–")
            else:
                cells.append(fmt.format(row[key]))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_fid_vs_n(curves, path):
    """FID_N against 1/N with the fitted line to 1/N = 0 (FID∞), one colour per set.

    Args:
        curves: dict name -> the dict of :func:`tinygen.utils.metrics.extrapolate_fid`.
        path: the ``.png``. Returns its ``pathlib.Path``.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (name, c) in enumerate(curves.items()):
        inv = 1 / np.array(c["n"], float)
        line = np.linspace(0, inv.max(), 50)
        ax.plot(inv, c["fid"], "o", color=f"C{i}", label=f"{name}: FID∞ {c['fid_inf']:.2f}")
        ax.plot(line, c["fid_inf"] + c["slope"] * line, "-", color=f"C{i}", alpha=0.6)
    ax.set_xlabel("1 / N")
    ax.set_ylabel("FID at N samples")
    ax.set_xlim(left=0)
    ax.set_title("FID falls with N; the line in 1/N extrapolates to N = ∞ (Chong & Forsyth 2020)", fontsize=9)
    ax.legend(fontsize=8)
    return viz.save_figure(fig, path)


def plot_neighbours(samples, train, pixel_idx, feature_idx, path, title=None):
    """Each sample beside its nearest training images in pixels and in the classifier's features.

    Args:
        samples: (S, 1, 28, 28) in [-1, 1]. train: (L, 1, 28, 28).
        pixel_idx, feature_idx: int (S, k) indices into ``train`` (from
            :func:`tinygen.utils.metrics.nearest_neighbours`).
        path: the ``.png``. Returns its ``pathlib.Path``.
    """
    k = pixel_idx.shape[1]
    rows, labels = [], []
    for i in range(len(samples)):
        rows.append(np.concatenate([samples[i:i + 1], train[pixel_idx[i]], train[feature_idx[i]]]))
        labels.append(f"sample {i}")
    fig = viz.save_image_rows(rows, path, labels=labels, value_range=(-1, 1),
                              title=title or f"sample | {k} nearest training images in pixels | {k} in features")
    return fig


def plot_class_histograms(hists, path):
    """The predicted-class histogram of each set as bars (a class near 0 is a dropped mode).

    Args:
        hists: dict name -> 10 fractions. path: the ``.png``. Returns its ``pathlib.Path``.
    """
    fig, axes = plt.subplots(len(hists), 1, figsize=(7, 1.25 * len(hists) + 0.6), sharex=True, squeeze=False)
    for ax, (name, h) in zip(axes[:, 0], hists.items()):
        ax.bar(range(NUM_CLASSES), h, color=["C3" if v < 0.01 else "C0" for v in h])
        ax.axhline(0.1, color="k", lw=0.7, ls="--")
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_ylim(0, max(0.3, max(h) * 1.1))
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xticks(range(NUM_CLASSES))
    axes[-1, 0].set_xticklabels(CLASSES, rotation=30, fontsize=7)
    axes[0, 0].set_title("predicted classes (dashed: 10 % each, red: under 1 %)", fontsize=9)
    return viz.save_figure(fig, path)


def plot_by_class(images, probs, path, per_class=8, title=None):
    """Samples sorted into rows by predicted class, each row labelled with its share: mode
    collapse seen on the samples themselves (an empty grey row is a class no sample falls in).

    Args:
        images: (N, 1, 28, 28) in [-1, 1]. probs: (N, 10) their softmax.
        path: the ``.png``. per_class: images per row (empty slots grey). title: optional.

    Returns:
        ``pathlib.Path`` of the file.
    """
    pred = np.asarray(probs).argmax(axis=1)
    rows, labels = [], []
    for c in range(NUM_CLASSES):
        row = np.zeros((per_class, 1, 28, 28), np.float32)             # grey where there is no sample
        mine = images[pred == c][:per_class]
        row[:len(mine)] = mine
        rows.append(row)
        labels.append(f"{CLASSES[c]} {np.mean(pred == c):.1%}")
    return viz.save_image_rows(rows, path, labels=labels, value_range=(-1, 1), title=title)

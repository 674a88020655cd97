"""Datasets and minibatches for tinygen: everything that turns files into arrays.

What lives here
---------------
* ``read_idx``: a reader for the IDX format used by MNIST and Fashion-MNIST
  (format described on Yann LeCun's MNIST page, http://yann.lecun.com/exdb/mnist/).
* ``fashion_mnist`` / ``mnist``: find the four IDX files on disk and load one split
  as ``(images uint8 (N, 28, 28), labels int64 (N,))``. Nothing is downloaded: the
  error message says exactly where the files were looked for and how to get them.
* ``to_float_images``: uint8 pixels -> float32 in ``[-1, 1]`` (what a tanh generator
  produces) with a channel axis, i.e. the layout ``(N, C, H, W)`` the models use.
* ``ImageFolder``: a folder of JPEG/PNG photos (e.g. CelebA) -> centre-cropped,
  resized uint8 array ``(N, 3, S, S)``, cached as ``.npy`` after the first decode.
* ``Batches``: a seeded, resumable, shuffling minibatch iterator.
* ``subset``: the first ``n`` items of aligned arrays (for ``--quick`` runs).

Everything returns plain NumPy arrays; moving them to a GPU is the caller's job.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import warnings
import zlib
from pathlib import Path

import numpy as np

from .fileio import atomic_open

__all__ = [
    "read_idx",
    "fashion_mnist",
    "mnist",
    "to_float_images",
    "ImageFolder",
    "Batches",
    "subset",
    "load_images",
    "load_train_test",
    "FASHION_MNIST_CLASSES",
    "SYSTEM_DATA_DIRS",
    "IMAGE_EXTENSIONS",
]

# System-wide dataset folders searched last; a module constant so tests can replace it.
# The Debian package ``dataset-fashion-mnist`` installs /usr/share/datasets/fashion-mnist/*.gz.
SYSTEM_DATA_DIRS = ["/usr/share/datasets"]

# File extensions ImageFolder accepts (compared case-insensitively).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

# ---------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------

# IDX type code -> big-endian NumPy dtype (LeCun's MNIST page, "THE IDX FILE FORMAT").
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path):
    """Read an IDX file (the MNIST / Fashion-MNIST container format) into an array.

    Format (Yann LeCun's MNIST page, http://yann.lecun.com/exdb/mnist/): a 4-byte
    magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32
    dimension sizes, then the values in C (row-major) order, big-endian. Type codes:
    0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.

    The file may be raw or gzip-compressed; gzip is recognised by its magic bytes
    ``1f 8b``, not by the file name.

    Args:
        path: str or path-like, the file to read.

    Returns:
        np.ndarray with shape ``dims`` (1 to 4 axes) and the native-endian dtype
        matching the type code (e.g. uint8 for MNIST images and labels).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a valid IDX file: corrupt gzip stream, bad magic,
            unknown type code, ndim outside 1..4, header shorter than announced,
            truncated payload or trailing bytes. The message names the file, what
            was expected and what was found.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()

    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise ValueError(
                f"{path}: corrupt gzip stream ({type(exc).__name__}: {exc}); "
                f"delete the file and fetch it again"
            ) from exc

    if len(raw) < 4:
        raise ValueError(f"{path}: expected at least a 4-byte IDX header, found {len(raw)} bytes")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{path}: bad IDX magic number: expected first two bytes 00 00, "
            f"found {raw[0]:02x} {raw[1]:02x} (not an IDX file?)"
        )
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX type code 0x{type_code:02X}; expected one of {known}")
    if not 1 <= ndim <= 4:
        raise ValueError(f"{path}: IDX ndim must be between 1 and 4, found {ndim}")

    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(
            f"{path}: truncated IDX header: expected {header_len} bytes for {ndim} dims, "
            f"got {len(raw)} bytes"
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = math.prod(dims) * dtype.itemsize
    got = len(raw) - header_len
    if got < expected:
        raise ValueError(
            f"{path}: truncated IDX payload: dims {dims} of {dtype.name} need "
            f"{expected} bytes, got {got} bytes"
        )
    if got > expected:
        raise ValueError(
            f"{path}: {got - expected} trailing bytes after the IDX payload: dims {dims} "
            f"of {dtype.name} need {expected} bytes, got {got} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=header_len)
    # astype to native byte order also copies, so the result is writable.
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


# ---------------------------------------------------------------------------
# MNIST-style datasets
# ---------------------------------------------------------------------------

_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def _idx_file(folder, stem):
    """Return the path of ``stem`` or ``stem.gz`` in ``folder`` (raw preferred), else None."""
    for candidate in (folder / stem, folder / (stem + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _search_dirs(name, root):
    """Folders searched for dataset ``name``, in order (see ``fashion_mnist``)."""
    if root is not None:
        return [Path(root)]
    dirs = []
    env = os.environ.get("TINYGEN_DATA")
    if env:
        dirs += [Path(env) / name, Path(env)]
    dirs.append(Path("data") / name)
    dirs += [Path(d) / name for d in SYSTEM_DATA_DIRS]
    return dirs


def _load_mnist_like(name, pretty, split, root, how_to_get):
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = _SPLIT_PREFIX[split]
    img_stem, lbl_stem = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    searched = _search_dirs(name, root)
    for folder in searched:
        img_path, lbl_path = _idx_file(folder, img_stem), _idx_file(folder, lbl_stem)
        if img_path is not None and lbl_path is not None:
            break
    else:
        listing = "\n".join(f"  {d.resolve() if not d.is_absolute() else d}" for d in searched)
        raise FileNotFoundError(
            f"{pretty} {split} split not found: need {img_stem}[.gz] and {lbl_stem}[.gz] "
            f"in one folder. Searched:\n{listing}\n{how_to_get}"
        )

    images, labels = read_idx(img_path), read_idx(lbl_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{img_path}: expected uint8 images of shape (N, 28, 28), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{lbl_path}: expected labels of shape ({images.shape[0]},) to match "
            f"{img_path.name}, got {labels.shape}"
        )
    return images, labels.astype(np.int64)


def fashion_mnist(split="train", root=None):
    """Load one split of Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from local IDX files.

    Folders searched, in order; the first one holding both the images and the labels
    file of the split wins:

    1. ``root`` if given (and then only that folder);
    2. ``$TINYGEN_DATA/fashion-mnist``, then ``$TINYGEN_DATA`` (if the variable is set);
    3. ``./data/fashion-mnist`` (relative to the current directory);
    4. ``<d>/fashion-mnist`` for each ``d`` in ``SYSTEM_DATA_DIRS``
       (``/usr/share/datasets/fashion-mnist``, where the Debian package
       ``dataset-fashion-mnist`` installs the ``.gz`` files).

    File names: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte`` (train),
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (test), each raw or with
    ``.gz`` (raw preferred when both exist).

    Args:
        split: ``"train"`` (60000 images) or ``"test"`` (10000 images).
        root: optional folder holding the files.

    Returns:
        ``(images, labels)``: images uint8 (N, 28, 28), pixel values 0..255 with 0 the
        background; labels int64 (N,), class ids 0..9.

    Raises:
        ValueError: bad ``split``; files not valid IDX; images not (N, 28, 28) uint8
            or labels not (N,) with the same N.
        FileNotFoundError: no folder holds the files; the message lists every folder
            searched and how to get the data.
    """
    how = (
        "To get Fashion-MNIST, either:\n"
        "  * apt-get update && apt-get install -y dataset-fashion-mnist\n"
        "    (installs /usr/share/datasets/fashion-mnist/*.gz), or\n"
        "  * put the four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,\n"
        "    t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, .gz or raw) in\n"
        "    ./data/fashion-mnist/, or in a folder named by the TINYGEN_DATA\n"
        "    environment variable ($TINYGEN_DATA/fashion-mnist/ or $TINYGEN_DATA/), or\n"
        "  * pass root=<folder holding them>."
    )
    return _load_mnist_like("fashion-mnist", "Fashion-MNIST", split, root, how)


def mnist(split="train", root=None):
    """Load one split of MNIST (LeCun et al. 1998) from local IDX files.

    Same search order, file names, return values and errors as ``fashion_mnist``,
    with ``mnist`` as the folder name (``$TINYGEN_DATA/mnist``, ``./data/mnist``,
    ``/usr/share/datasets/mnist``).

    Args:
        split: ``"train"`` (60000 images) or ``"test"`` (10000 images).
        root: optional folder holding the files.

    Returns:
        ``(images uint8 (N, 28, 28), labels int64 (N,))``, labels 0..9.

    Raises:
        ValueError, FileNotFoundError: as for ``fashion_mnist``.
    """
    how = (
        "To get MNIST, download the four IDX files (train-images-idx3-ubyte.gz,\n"
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)\n"
        "from the MNIST site (http://yann.lecun.com/exdb/mnist/) and put them in\n"
        "./data/mnist/ or $TINYGEN_DATA/mnist/ (or pass root=<folder holding them>)."
    )
    return _load_mnist_like("mnist", "MNIST", split, root, how)


def to_float_images(images, low=-1.0, high=1.0):
    """Convert uint8 pixels to float32 images in ``[low, high]`` with a channel axis.

    The map is linear: 0 -> ``low``, 255 -> ``high``. The default ``[-1, 1]`` matches
    a generator whose last layer is tanh (DCGAN, Radford, Metz & Chintala 2015).

    Args:
        images: uint8 array, (N, H, W) (grayscale, a channel axis of 1 is added) or
            (N, C, H, W).
        low, high: floats, the values 0 and 255 map to; ``low < high``.

    Returns:
        float32 array (N, 1, H, W) or (N, C, H, W).

    Raises:
        ValueError: ``images`` is not uint8 with 3 or 4 axes, or ``low >= high``.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(
            f"images: expected uint8 (N, H, W) or (N, C, H, W), "
            f"got {images.dtype} {images.shape}"
        )
    if not low < high:
        raise ValueError(f"low must be < high, got low={low}, high={high}")
    if images.ndim == 3:
        images = images[:, None]
    scale = np.float32((high - low) / 255.0)
    return images.astype(np.float32) * scale + np.float32(low)


# ---------------------------------------------------------------------------
# Folders of photos
# ---------------------------------------------------------------------------


def default_cache_dir():
    """Where tinygen caches decoded images and FID reference statistics: ``$TINYGEN_CACHE``, else ``~/.cache/tinygen`` (a ``Path``)."""
    env = os.environ.get("TINYGEN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tinygen"


def _atomic_save_npy(path, array):
    with atomic_open(path) as f:
        np.save(f, array, allow_pickle=False)


def _to_rgb_uint8(arr, read_again):
    """Turn a decoded image (as the Pillow plugin returns it) into uint8 (H, W, 3)."""
    if arr.ndim == 3 and arr.shape[2] == 4:
        # RGBA or CMYK: indistinguishable from the array alone, so let Pillow convert.
        return read_again("RGB")
    if arr.dtype != np.uint8:
        if arr.ndim == 2 and arr.dtype.kind in "iu":
            # 16-bit grayscale PNG (mode I;16 / I): Pillow's own RGB conversion clips at 255.
            arr = np.round(np.clip(arr, 0, 65535) / 257.0).astype(np.uint8)
        else:
            return read_again("RGB")
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim == 3 and arr.shape[2] == 3:
        return arr
    if arr.ndim == 3 and arr.shape[2] in (1, 2):
        # Grayscale, or grayscale + alpha: keep the gray channel.
        return np.repeat(arr[:, :, :1], 3, axis=2)
    raise ValueError(f"unsupported decoded image shape {arr.shape}")


class ImageFolder:
    """All JPEG/PNG images under a folder as one uint8 array ``(N, 3, S, S)``.

    Files with extensions ``.jpg``, ``.jpeg``, ``.png`` (any case) are found
    recursively and sorted by relative path, so the order is deterministic. Each one
    is decoded with ``imageio.v3.imread`` (Pillow plugin), converted to RGB
    (grayscale copied to 3 channels, alpha dropped), centre-cropped to a square of
    side ``min(H, W)`` and resized to ``image_size`` x ``image_size`` with Pillow's
    bicubic filter (Pillow antialiases when shrinking).

    Decoding 200k CelebA photos takes minutes, so the result is cached as a ``.npy``
    file in ``cache_dir`` (default ``$TINYGEN_CACHE``, else ``~/.cache/tinygen``).
    The cache key hashes the absolute root, ``image_size`` and every file's
    (relative path, size, mtime), so adding, removing or editing an image rebuilds
    it. The cache is written atomically (temp file + ``os.replace``); a cache file
    that cannot be loaded or has the wrong shape is ignored and rebuilt. Failing to
    write the cache only warns.

    While decoding, one progress line is printed every 1000 images; nothing is
    printed for smaller folders or when the cache is used.

    Attributes:
        images: uint8 array (N, 3, S, S), RGB, 0..255.
        files: list of ``pathlib.Path``, the source file of each image, same order.
        root: ``pathlib.Path``, the absolute root folder.
        image_size: int S.
        cache_path: ``pathlib.Path`` of the cache file.
        from_cache: bool, True when ``images`` was loaded from the cache.

    Raises:
        FileNotFoundError: ``root`` does not exist.
        NotADirectoryError: ``root`` is not a folder.
        ValueError: ``image_size`` is not an int >= 1; no image files under
            ``root`` (the message lists the accepted extensions); an image cannot be
            decoded (the message names the file and the underlying error).
    """

    def __init__(self, root, image_size=64, cache_dir=None):
        if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1:
            raise ValueError(f"image_size must be an int >= 1, got {image_size!r}")
        self.image_size = int(image_size)
        root = Path(root).expanduser()
        if not root.exists():
            raise FileNotFoundError(f"ImageFolder root does not exist: {root}")
        if not root.is_dir():
            raise NotADirectoryError(f"ImageFolder root is not a folder: {root}")
        self.root = root.resolve()

        files = [
            p for p in self.root.rglob("*")
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
        ]
        self.files = sorted(files, key=lambda p: p.relative_to(self.root).as_posix())
        if not self.files:
            raise ValueError(
                f"no images found under {self.root}: looked recursively for files ending in "
                f"{', '.join(IMAGE_EXTENSIONS)} (any case)"
            )

        cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.cache_path = cache_dir / f"imagefolder-{self._cache_key()}-{self.image_size}px.npy"
        self.images = self._load_cache()
        self.from_cache = self.images is not None
        if self.images is None:
            self.images = self._decode_all()
            try:
                _atomic_save_npy(self.cache_path, self.images)
            except OSError as exc:
                warnings.warn(f"ImageFolder: could not write cache {self.cache_path}: {exc}")

    def __len__(self):
        return len(self.images)

    def __repr__(self):
        return f"ImageFolder({str(self.root)!r}, image_size={self.image_size}, n={len(self)})"

    def _cache_key(self):
        entries = []
        for p in self.files:
            st = p.stat()
            entries.append([p.relative_to(self.root).as_posix(), st.st_size, st.st_mtime_ns])
        # "v1" versions the preprocessing: bump it if the crop/resize ever changes.
        blob = json.dumps(["v1", str(self.root), self.image_size, entries])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def _load_cache(self):
        if not self.cache_path.is_file():
            return None
        s = self.image_size
        try:
            arr = np.load(self.cache_path, allow_pickle=False)
        except Exception:  # any unreadable cache is just rebuilt
            return None
        if arr.dtype != np.uint8 or arr.shape != (len(self.files), 3, s, s):
            return None
        return arr

    def _decode_all(self):
        # Imported here so that importing tinygen.data does not require Pillow.
        import imageio.v3 as iio
        from PIL import Image

        s, n = self.image_size, len(self.files)
        out = np.empty((n, 3, s, s), dtype=np.uint8)
        for i, path in enumerate(self.files):
            try:
                arr = iio.imread(path, index=0, plugin="pillow")
                rgb = _to_rgb_uint8(
                    arr, lambda mode: iio.imread(path, index=0, plugin="pillow", mode=mode)
                )
            except Exception as exc:
                raise ValueError(
                    f"could not decode image {path}: {type(exc).__name__}: {exc}"
                ) from exc
            h, w = rgb.shape[:2]
            side = min(h, w)
            top, left = (h - side) // 2, (w - side) // 2
            crop = rgb[top:top + side, left:left + side]
            if side != s:
                crop = np.asarray(Image.fromarray(crop).resize((s, s), Image.Resampling.BICUBIC))
            out[i] = crop.transpose(2, 0, 1)
            if n >= 1000 and ((i + 1) % 1000 == 0 or i + 1 == n):
                print(f"ImageFolder: decoded {i + 1}/{n} images from {self.root}", flush=True)
        return out


# ---------------------------------------------------------------------------
# Minibatches
# ---------------------------------------------------------------------------


class Batches:
    """Seeded, resumable, shuffling minibatches over one or more aligned arrays.

    ``Batches(x, y, batch_size=64)`` yields ``(x[idx], y[idx])`` for consecutive
    slices ``idx`` of a per-epoch permutation; with a single array it yields the
    array slice itself. The permutation of epoch ``e`` is
    ``np.random.default_rng([seed, e]).permutation(N)``: it depends only on
    ``(seed, e)``, so ``state_dict()`` / ``load_state_dict()`` let a resumed run see
    exactly the batches the interrupted run would have seen.

    Two ways to iterate:

    * ``next_batch()``: endless; when an epoch is used up, the next call starts the
      next epoch (new permutation). Good for step-based GAN training loops.
    * ``for batch in batches:``: runs to the end of the current epoch (a full epoch
      on a fresh object, or the rest of an epoch after ``load_state_dict``); if the
      current epoch is finished it first moves on to the next one. So
      ``for e in range(E): for batch in batches: ...`` sees E different epochs.

    Slicing uses fancy indexing, so each array keeps its dtype and type (NumPy;
    CuPy arrays also work if indexed with a NumPy index array).

    Args:
        *arrays: one or more arrays with the same first dimension N.
        batch_size: int >= 1 (keyword-only); with ``drop_last`` at most N.
        shuffle: if False, every epoch uses the order 0..N-1.
        seed: int >= 0.
        drop_last: if True (default), the last incomplete batch of each epoch is
            skipped, so every batch has exactly ``batch_size`` items (what
            BatchNorm and fixed-shape buffers want); otherwise it is yielded shorter.

    Raises:
        ValueError: no arrays; first dimensions differ (the message lists the
            shapes); N == 0; ``batch_size`` < 1 or, with ``drop_last``, > N;
            ``seed`` not an int >= 0.
    """

    def __init__(self, *arrays, batch_size, shuffle=True, seed=0, drop_last=True):
        if not arrays:
            raise ValueError("Batches needs at least one array")
        arrays = tuple(a if hasattr(a, "shape") else np.asarray(a) for a in arrays)
        if any(len(a.shape) == 0 for a in arrays):
            raise ValueError(f"arrays must have a first (item) axis, got shapes {[a.shape for a in arrays]}")
        ns = [a.shape[0] for a in arrays]
        if len(set(ns)) != 1:
            raise ValueError(
                f"all arrays must have the same first dimension, got shapes "
                f"{[tuple(a.shape) for a in arrays]}"
            )
        n = ns[0]
        if n == 0:
            raise ValueError("arrays are empty (first dimension 0)")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if drop_last and batch_size > n:
            raise ValueError(
                f"batch_size {batch_size} is larger than the dataset ({n} items) with "
                f"drop_last=True, so an epoch would have no batches"
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        self.arrays = arrays
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self._epoch = 0
        self._pos = 0  # index of the next batch within the current epoch
        self._perm = self._permutation(0)

    def __len__(self):
        """Number of batches per epoch."""
        if self.drop_last:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)

    @property
    def epoch(self):
        """Current epoch number (0-based): the epoch of the last batch returned, 0 at start."""
        return self._epoch

    def _permutation(self, epoch):
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def _start_epoch(self, epoch):
        self._epoch, self._pos = epoch, 0
        self._perm = self._permutation(epoch)

    def next_batch(self):
        """Return the next batch, starting a new epoch when the current one is used up.

        Returns:
            A tuple of array slices (one per input array), or the slice itself when
            the object was built from a single array.
        """
        if self._pos >= len(self):
            self._start_epoch(self._epoch + 1)
        b = self.batch_size
        idx = self._perm[self._pos * b:(self._pos + 1) * b]
        self._pos += 1
        out = tuple(a[idx] for a in self.arrays)
        return out[0] if len(out) == 1 else out

    def __iter__(self):
        """Yield the remaining batches of the current epoch (a new epoch if it is finished)."""
        if self._pos >= len(self):
            self._start_epoch(self._epoch + 1)
        while self._pos < len(self):
            yield self.next_batch()

    def state_dict(self):
        """Return ``{"epoch": e, "pos": i}`` (plain ints, JSON-safe): the next batch is
        batch ``i`` of epoch ``e``'s permutation (``i == len(self)`` means that epoch
        is finished)."""
        return {"epoch": int(self._epoch), "pos": int(self._pos)}

    def load_state_dict(self, state):
        """Restore a position saved by ``state_dict``; the object must have been built
        with the same arrays, ``batch_size``, ``shuffle``, ``seed`` and ``drop_last``.

        Raises:
            ValueError: missing keys, or ``epoch`` < 0 or ``pos`` outside 0..len(self).
        """
        try:
            epoch, pos = int(state["epoch"]), int(state["pos"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"state must be {{'epoch': int, 'pos': int}}, got {state!r}") from exc
        if epoch < 0 or not 0 <= pos <= len(self):
            raise ValueError(
                f"invalid Batches state {state!r}: need epoch >= 0 and 0 <= pos <= {len(self)}"
            )
        self._start_epoch(epoch)
        self._pos = pos

    def __repr__(self):
        return (
            f"Batches(n={self.n}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"seed={self.seed}, drop_last={self.drop_last}, epoch={self._epoch}, pos={self._pos})"
        )


def subset(n, *arrays):
    """Return the first ``n`` items of each array (for ``--quick`` runs).

    Args:
        n: int >= 0; if larger than an array's length, the whole array is returned.
        *arrays: arrays sliced along their first axis (views, no copy).

    Returns:
        A tuple of slices ``a[:n]``, or the slice itself if one array was given.

    Raises:
        ValueError: ``n`` is not an int >= 0, or no arrays were given.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if not arrays:
        raise ValueError("subset needs at least one array")
    out = tuple(a[:n] for a in arrays)
    return out[0] if len(out) == 1 else out


DATASETS = ("fashion-mnist", "mnist", "folder")


def load_images(dataset="fashion-mnist", data_dir=None, image_size=None, split="train", limit=None,
                value_range=(-1.0, 1.0)):
    """Load a training set as float32 images in ``value_range``, shape (N, C, H, W).

    Args:
        dataset: "fashion-mnist" (default; 28x28, C=1), "mnist" (28x28, C=1)
            or "folder" (JPEG/PNG photos such as CelebA, C=3).
        data_dir: where the files are: optional for the IDX sets (see
            :func:`fashion_mnist` for the search order), required for "folder".
        image_size: side length for "folder" (centre-crop + resize, default 64);
            must be None or 28 for the IDX sets.
        split: "train" or "test" (IDX sets only).
        limit: keep only the first ``limit`` images (for ``--quick`` runs).
        value_range: (low, high) the pixels are mapped to: (-1, 1) for a tanh
            generator (default), (0, 1) for a sigmoid decoder and BCE.

    Returns:
        (images float32 (N, C, S, S) in value_range, labels int64 (N,) or None for "folder").

    Raises:
        ValueError: unknown dataset, a missing ``data_dir`` for "folder", or an
            image_size the IDX sets do not have. FileNotFoundError: no data found
            (the message says how to get it).
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset: expected one of {DATASETS}, got {dataset!r}")
    if dataset == "folder":
        if data_dir is None:
            raise ValueError("data_dir: required with dataset='folder' (a folder of JPEG/PNG images)")
        images, labels = ImageFolder(data_dir, image_size=image_size or 64).images, None
    else:
        if image_size not in (None, 28):
            raise ValueError(f"image_size: {dataset} images are 28x28, got image_size={image_size}")
        images, labels = (fashion_mnist if dataset == "fashion-mnist" else mnist)(split, root=data_dir)
    if limit is not None:
        images = images[:limit]
        labels = labels[:limit] if labels is not None else None
    return to_float_images(images, *value_range), labels


FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
"""Fashion-MNIST's class names, by label (Xiao, Rasul & Vollgraf 2017, table 1)."""


def load_train_test(dataset="fashion-mnist", data_dir=None, value_range=(0.0, 1.0), limit=None):
    """Both splits of an IDX dataset, for the lessons that measure test error.

    Args:
        dataset: "fashion-mnist" or "mnist". data_dir: as for :func:`load_images`.
        value_range: pixel range, (0, 1) by default (sigmoid decoders, BCE).
        limit: keep the first ``limit`` training images and ``limit // 5`` test
            images (``--quick`` runs); None keeps all (60,000 and 10,000).

    Returns:
        (x_train, y_train, x_test, y_test): float32 (N, 1, 28, 28) images and
        int64 (N,) labels.

    Raises:
        ValueError: ``dataset`` is "folder" (it has no labels or test split).
        FileNotFoundError: as for :func:`load_images`.
    """
    if dataset not in ("fashion-mnist", "mnist"):
        raise ValueError(f"dataset: expected 'fashion-mnist' or 'mnist' (labelled, with a test split), "
                         f"got {dataset!r}")
    x_train, y_train = load_images(dataset, data_dir, split="train", limit=limit, value_range=value_range)
    x_test, y_test = load_images(dataset, data_dir, split="test",
                                 limit=None if limit is None else max(limit // 5, 1), value_range=value_range)
    return x_train, y_train, x_test, y_test

"""The yardstick for generative models: a Fashion-MNIST classifier and the scores built on it.

The Inception Score and the Fréchet Inception Distance were defined on the
Inception network trained on ImageNet. Its weights cannot be fetched here and
it knows nothing about 28x28 garments, so this module ships its own network:
a small CNN trained on Fashion-MNIST by ``lessons/09_classifier.py`` (its
weights are ``weights/fashion_mnist_classifier.npz``, next to this file).
The scores are computed the same way, on its softmax and its penultimate
features; the numbers are therefore comparable within this project, not with
published Inception-based figures.

* :func:`load_classifier`: the shipped network, in eval mode, cached per device.
* :func:`inception_score`: exp E_x KL(p(y|x) ‖ p(y)) (Salimans et al. 2016).
* :func:`frechet_distance`: the Fréchet distance between Gaussians fitted to
  the classifier's features of the samples and of the 10,000 test images
  (Heusel et al. 2017); :func:`reference_statistics` holds the latter.
* :func:`class_histogram`: the fraction of samples per predicted class (a class
  near 0 is a dropped mode).
* :func:`mode_coverage`: modes covered and the high-quality fraction, for the
  2-D toy mixtures (Lin et al. 2018, PacGAN).
* :func:`spearman`, :func:`correlations`: how well one curve follows another
  (rank and linear correlation).
* :func:`evaluate_samples`: all of it in one call, what a GAN lesson writes to
  its ``metrics.json``.

Images are NumPy arrays (N, 1, 28, 28), floating point, in [-1, 1] (the range
of a tanh generator and of ``load_images``' default); a :class:`tinygen.Tensor`
or a CuPy array is also accepted. FID depends on N (its estimate is biased,
more so for small N), so every figure the project reports uses N = 10,000.
"""
import hashlib
import warnings
from pathlib import Path

import numpy as np

from .. import functional as F, nn
from ..autograd import Tensor, no_grad
from ..backend import as_device, get_rng_state, set_rng_state
from ..creation import tensor
from ..ops.activation import maximum
from .data import FASHION_MNIST_CLASSES, default_cache_dir, load_images
from .fileio import atomic_open

NUM_CLASSES = 10
CLASSES = FASHION_MNIST_CLASSES
WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "fashion_mnist_classifier.npz"
"""The shipped weights, written by ``lessons/09_classifier.py --install``."""
FEATURE_DIM = 128
"""Width of the penultimate layer: the features the Fréchet distance compares."""


# ---------------------------------------------------------------------------
# The classifier
# ---------------------------------------------------------------------------

class MaxPool2x2(nn.Module):
    """2x2 max pooling, stride 2: (N, C, H, W) -> (N, C, ceil(H/2), ceil(W/2)).

    Even sizes take the maximum of the four strided sub-images (four slices,
    three ``maximum``s), several times faster on a CPU than the general
    window gather of ``F.max_pool2d``, which handles odd sizes (one padded
    row and column, which never wins).
    """

    def forward(self, x):
        if x.shape[2] % 2 or x.shape[3] % 2:
            return F.max_pool2d(x, 2, padding=(x.shape[2] % 2, x.shape[3] % 2))
        top = maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2])
        bottom = maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2])
        return maximum(top, bottom)


def _block(c_in, c_out):
    # Pool before BN and ReLU: with BN's scale > 0 both are increasing maps per
    # channel, which commute with the max, so this is the usual conv-BN-ReLU-pool
    # with BN and ReLU done on a quarter of the pixels.
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), MaxPool2x2(), nn.BatchNorm2d(c_out), nn.ReLU())


class FashionMNISTClassifier(nn.Module):
    """A small CNN for Fashion-MNIST: the yardstick of the GAN lessons.

    Three blocks of 3x3 conv, 2x2 max-pool, BatchNorm and ReLU
    (1 -> 32 -> 64 -> 64 channels; 28 -> 14 -> 7 -> 4 pixels), then dropout, a
    1024 -> 128 linear layer with BatchNorm and ReLU (the penultimate
    features), dropout, and a 128 -> 10 linear layer (the logits).

    Input: float32 images (N, 1, 28, 28) in [-1, 1] (0 -> -1, 255 -> 1).
    ``forward`` returns logits (N, 10); :attr:`features` maps images to the
    (N, 128) penultimate activations (non-negative, after the ReLU); ``head``
    maps those to the logits.

    Args:
        width: the penultimate width (128 for the shipped weights).
        dropout: the dropout probability before each linear layer (train mode only).
    """

    def __init__(self, width=FEATURE_DIM, dropout=0.25):
        super().__init__()
        self.features = nn.Sequential(
            _block(1, 32), _block(32, 64), _block(64, 64),              # 64 x 4 x 4
            nn.Flatten(), nn.Dropout(dropout),
            nn.Linear(64 * 4 * 4, width), nn.BatchNorm1d(width), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, NUM_CLASSES))

    def forward(self, x):
        return self.head(self.features(x))


_CLASSIFIERS = {}


def save_classifier(model, path):
    """Write ``model.state_dict()`` to ``path`` as a compressed ``.npz``, atomically; returns ``path``."""
    with atomic_open(path) as f:
        np.savez_compressed(f, **model.state_dict())
    return path


def load_classifier(device="cpu", path=None):
    """The shipped Fashion-MNIST classifier, in eval mode, on ``device``.

    Built by :class:`FashionMNISTClassifier` and loaded from ``path`` (default
    :data:`WEIGHTS_PATH`). Cached per (device, path): every call with the same
    arguments returns the same Module, so do not train it. The global RNG
    (``tg.manual_seed``) is left as it was: building the network draws its
    random init, which the weights then replace, and a run that scores
    samples while it trains must draw the same numbers whether or not it
    built the classifier earlier in the process (a resumed run builds it later).

    Raises:
        FileNotFoundError: no weights at ``path`` (``lessons/09_classifier.py
            --install`` writes them).
        KeyError, ValueError: the file does not match the architecture.
    """
    path = Path(path) if path is not None else WEIGHTS_PATH
    key = (device, str(path.resolve()))
    if key not in _CLASSIFIERS:
        if not path.is_file():
            raise FileNotFoundError(f"classifier weights not found at {path}; "
                                    f"`python lessons/09_classifier.py --install` trains and writes them")
        rng = get_rng_state()            # the random init is overwritten below: leave the global RNG as it was,
        model = FashionMNISTClassifier()  # so that scoring in the middle of a run does not change the run
        set_rng_state(rng)
        with np.load(path) as state:
            model.load_state_dict({k: state[k] for k in state.files})
        _CLASSIFIERS[key] = model.to(device).eval()
    return _CLASSIFIERS[key]


# ---------------------------------------------------------------------------
# Checking inputs
# ---------------------------------------------------------------------------

def check_images(images, name="images", min_count=1):
    """Validate and return ``images`` as a NumPy array (N, 1, 28, 28) in [-1, 1].

    Accepts a NumPy array, a :class:`tinygen.Tensor` or a CuPy array, of any
    floating dtype (float32 is kept, other floats become float32).

    Raises:
        TypeError: not an array, or not floating point (uint8 pixels: convert
            with ``tinygen.utils.data.to_float_images``).
        ValueError: not (N, 1, 28, 28), fewer than ``min_count`` images,
            non-finite values, or values outside [-1, 1] (a tolerance of 1e-3
            allows for rounding). The message names ``name``, what was
            expected and what was given.
    """
    if isinstance(images, Tensor):
        images = images.numpy()
    elif hasattr(images, "__cuda_array_interface__"):
        images = as_device(images, "cpu")
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{name}: expected a NumPy array (N, 1, 28, 28) of floats in [-1, 1], "
                        f"got {type(images).__name__}")
    if images.dtype.kind != "f":
        hint = " (uint8 pixels: convert with tinygen.utils.data.to_float_images)" if images.dtype == np.uint8 else ""
        raise TypeError(f"{name}: expected a floating-point array in [-1, 1], got dtype {images.dtype}{hint}")
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
        raise ValueError(f"{name}: expected shape (N, 1, 28, 28), got {images.shape}")
    if len(images) < min_count:
        raise ValueError(f"{name}: expected at least {min_count} images, got {len(images)}")
    if not np.isfinite(images).all():
        raise ValueError(f"{name}: expected finite values, got {int((~np.isfinite(images)).sum())} NaN/inf")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1 - 1e-3 or hi > 1 + 1e-3:
        raise ValueError(f"{name}: expected values in [-1, 1], got values from {lo:.4g} to {hi:.4g}")
    if lo >= 0 and len(images) >= 100:
        warnings.warn(f"{name}: no value below 0; the classifier expects [-1, 1] "
                      f"(background -1), and these look like [0, 1] images (map them with 2 x - 1)",
                      stacklevel=3)
    return images.astype(np.float32, copy=False)


def _check_labels(labels, n):
    labels = np.asarray(labels)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels: expected integers of shape ({n},), got {labels.dtype} {labels.shape}")
    if n and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"labels: expected class ids in [0, {NUM_CLASSES}), "
                         f"got values from {labels.min()} to {labels.max()}")
    return labels.astype(np.int64)


def _check_probs(probs):
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) < 1:
        raise ValueError(f"probs: expected shape (N, K) with N >= 1, got {probs.shape}")
    if (probs < 0).any() or not np.allclose(probs.sum(axis=1), 1, atol=1e-4):
        raise ValueError("probs: expected rows of non-negative numbers summing to 1 (a softmax)")
    return probs


def _check_covariance(sigma, d, name):
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.shape != (d, d):
        raise ValueError(f"{name}: expected a covariance of shape ({d}, {d}), got {sigma.shape}")
    if not np.allclose(sigma, sigma.T, rtol=1e-6, atol=1e-10):
        raise ValueError(f"{name}: expected a symmetric matrix")
    return (sigma + sigma.T) / 2


# ---------------------------------------------------------------------------
# The classifier's outputs
# ---------------------------------------------------------------------------

def probs_and_features(images, classifier=None, device="cpu", batch_size=500, name="images", min_count=1):
    """The classifier's softmax p(y|x) (N, 10) and penultimate features (N, 128), float64,
    in one batched forward pass without a graph (about 1 s per 1,000 images on 2 CPU cores).

    Args:
        images: (N, 1, 28, 28) floats in [-1, 1] (see :func:`check_images`).
        classifier: a :class:`FashionMNISTClassifier` in eval mode; None uses
            :func:`load_classifier` (the shipped weights).
        device: where the forward pass runs. batch_size: images per forward.
        name, min_count: the argument's name in error messages, the least N.

    Returns:
        (probs, features): rows of probs sum to 1; features are >= 0 (after a ReLU).

    Raises:
        TypeError, ValueError: as for :func:`check_images`; the classifier is
            in train mode.
    """
    images = check_images(images, name, min_count)
    model = classifier if classifier is not None else load_classifier(device)
    if model.training:
        raise ValueError("classifier: expected a model in eval mode (call .eval()); "
                         "train mode would use batch statistics and dropout")
    probs, feats = [], []
    with no_grad():
        for i in range(0, len(images), batch_size):
            h = model.features(tensor(images[i:i + batch_size], device=device))
            logits = model.head(h).numpy().astype(np.float64)
            logits -= logits.max(axis=1, keepdims=True)       # a stable softmax
            p = np.exp(logits)
            probs.append(p / p.sum(axis=1, keepdims=True))
            feats.append(h.numpy().astype(np.float64))
    return np.concatenate(probs), np.concatenate(feats)


def predict_proba(images, classifier=None, device="cpu", batch_size=500):
    """The classifier's softmax p(y|x): float64 (N, 10), rows summing to 1.

    Arguments and errors as for :func:`probs_and_features`.
    """
    return probs_and_features(images, classifier, device, batch_size)[0]


def features(images, classifier=None, device="cpu", batch_size=500):
    """The classifier's penultimate activations: float64 (N, 128), non-negative.

    Arguments and errors as for :func:`predict_proba`.
    """
    return probs_and_features(images, classifier, device, batch_size)[1]


# ---------------------------------------------------------------------------
# Inception Score
# ---------------------------------------------------------------------------

def inception_score_from_probs(probs, splits=10):
    """IS = exp E_x[KL(p(y|x) ‖ p(y))] from predicted class probabilities.

    Salimans et al. 2016, "Improved Techniques for Training GANs", sec. 4,
    computed as their code does: the N rows are cut into ``splits`` equal
    parts; in each part p(y) is the mean of its rows and the score is exp of
    the mean KL(p(y|x) ‖ p(y)) (natural log). The rows are first put in a
    fixed pseudo-random order, so that samples sorted by class (a conditional
    GAN's, say) do not give each split a single class. Since
    E KL = H(y) - E H(y|x), the score is high when each prediction is
    confident (low H(y|x): saliency) and the classes are balanced (high H(y):
    diversity); it lies in [1, K].

    Args:
        probs: (N, K) rows of a softmax (each non-negative, summing to 1).
        splits: int in [1, N].

    Returns:
        (mean, std) over the splits, floats (std with ddof 0, as in the paper's code).

    Raises:
        ValueError: probs not (N, K) probability rows, or splits not in [1, N].
    """
    probs = _check_probs(probs)
    if not isinstance(splits, (int, np.integer)) or not 1 <= splits <= len(probs):
        raise ValueError(f"splits: expected an int in [1, N={len(probs)}], got {splits!r}")
    probs = probs[np.random.default_rng(0).permutation(len(probs))]
    # xlogx with 0 log 0 = 0: clip only inside the log.
    log_p = np.log(np.maximum(probs, 1e-300))
    scores = []
    for part, log_part in zip(np.array_split(probs, splits), np.array_split(log_p, splits)):
        p_y = part.mean(axis=0)
        kl = (part * (log_part - np.log(np.maximum(p_y, 1e-300)))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def inception_score(images, splits=10, classifier=None, device="cpu", batch_size=500):
    """The Inception Score of ``images``, with the Fashion-MNIST classifier's softmax.

    Salimans et al. 2016, sec. 4: IS = exp E_x[KL(p(y|x) ‖ p(y))]; see
    :func:`inception_score_from_probs`. 1 means one class (or no confident
    prediction); 10 means confident predictions spread evenly over the 10
    classes. It never looks at real data, so it cannot tell whether the
    samples look like Fashion-MNIST, and a generator that emits one perfect
    image per class scores 10 (no intra-class diversity is measured).

    Args:
        images: (N, 1, 28, 28) floats in [-1, 1], N >= splits.
        splits, classifier, device, batch_size: as in :func:`inception_score_from_probs`
            and :func:`predict_proba`.

    Returns:
        (mean, std) over the splits.

    Raises:
        TypeError, ValueError: as for :func:`check_images` and :func:`inception_score_from_probs`.
    """
    return inception_score_from_probs(predict_proba(images, classifier, device, batch_size), splits)


# ---------------------------------------------------------------------------
# Fréchet distance
# ---------------------------------------------------------------------------

def _sqrt_psd(sigma):
    """The symmetric square root of a symmetric positive semi-definite matrix, by eigh."""
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def trace_sqrt_product(sigma1, sigma2):
    """Tr((Σ1 Σ2)^½) for symmetric PSD Σ1, Σ2, in float64, without a general sqrtm.

    Σ1 Σ2 is not symmetric, but it is similar to Σ1^½ Σ2 Σ1^½ (conjugate by
    Σ1^½), which is symmetric PSD, so both have the same non-negative
    eigenvalues λ and Tr((Σ1Σ2)^½) = Σ √λ. Two symmetric eigendecompositions
    (``eigh``) do it; eigenvalues that rounding makes slightly negative are
    clipped to 0. (The Σ1^½ Σ2 Σ1^½ form is what Dowson & Landau 1982 write.)
    """
    s1 = _sqrt_psd(sigma1)
    m = s1 @ sigma2 @ s1
    lam = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(np.clip(lam, 0, None)).sum())


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2):
    """The squared Fréchet (Wasserstein-2) distance between N(μ1, Σ1) and N(μ2, Σ2).

        d² = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)

    Dowson & Landau 1982; used for FID by Heusel et al. 2017, "GANs Trained by
    a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", eq. (6).
    Everything in float64; the matrix square root through
    :func:`trace_sqrt_product`.

    Args:
        mu1, mu2: means (D,). sigma1, sigma2: symmetric PSD covariances (D, D).

    Returns:
        float >= 0 (tiny negative rounding is clipped to 0).

    Raises:
        ValueError: shapes do not match or a covariance is not symmetric.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    if mu1.ndim != 1 or mu1.shape != mu2.shape:
        raise ValueError(f"mu1, mu2: expected two means of the same shape (D,), got {mu1.shape} and {mu2.shape}")
    d = len(mu1)
    sigma1, sigma2 = _check_covariance(sigma1, d, "sigma1"), _check_covariance(sigma2, d, "sigma2")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2)
    return max(float(value), 0.0)


def gaussian_statistics(x):
    """Mean (D,) and covariance (D, D) (unbiased, N − 1) of rows x (N, D), float64.

    Raises:
        ValueError: x is not 2-D with N >= 2.
    """
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"x: expected (N, D) with N >= 2, got {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def statistics(images, classifier=None, device="cpu", batch_size=500):
    """μ (128,) and Σ (128, 128), float64, of the classifier's features of ``images`` (N >= 2).

    Errors as for :func:`check_images`.
    """
    return gaussian_statistics(probs_and_features(images, classifier, device, batch_size, min_count=2)[1])


_REFERENCE = {}


def reference_statistics(device="cpu", data_dir=None, cache_dir=None, disk_cache=True):
    """μ and Σ of the shipped classifier's features of the 10,000 Fashion-MNIST test images.

    Computed once per process (about 10 s on a 2-core CPU) and kept in memory;
    with ``disk_cache`` also stored in ``cache_dir`` (default
    ``$TINYGEN_CACHE``, else ``~/.cache/tinygen``) under a name that hashes
    the weights file and the test images, so new weights or other data never
    read a stale file. A cache that cannot be written only warns.

    Args:
        device: where the forward pass runs. data_dir: where Fashion-MNIST is
            (see ``tinygen.utils.data.fashion_mnist`` for the search order).

    Returns:
        (mu float64 (128,), sigma float64 (128, 128)).

    Raises:
        FileNotFoundError: no Fashion-MNIST test split, or no shipped weights.
    """
    images, _ = load_images("fashion-mnist", data_dir, split="test", value_range=(-1.0, 1.0))
    h = hashlib.sha256(WEIGHTS_PATH.read_bytes() if WEIGHTS_PATH.is_file() else b"")
    h.update(images.tobytes())
    key = h.hexdigest()[:16]
    if key in _REFERENCE:
        return _REFERENCE[key]
    path = Path(cache_dir or default_cache_dir()) / f"fid_reference_{key}.npz"
    if disk_cache and path.is_file():
        with np.load(path) as f:
            stats = f["mu"], f["sigma"]
    else:
        stats = statistics(images, device=device)
        if disk_cache:
            try:
                with atomic_open(path) as f:
                    np.savez(f, mu=stats[0], sigma=stats[1])
            except OSError as e:
                warnings.warn(f"could not write the FID reference cache {path}: {e}")
    _REFERENCE[key] = stats
    return stats


def frechet_distance(images, reference=None, classifier=None, device="cpu", batch_size=500):
    """FID of ``images``: the Fréchet distance between Gaussians fitted to classifier features.

    Heusel et al. 2017, eq. (6), with the Fashion-MNIST classifier's 128
    penultimate features in place of Inception's pool3:
    ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2(Σ1Σ2)^½) (:func:`frechet_distance_from_statistics`).
    0 means the same mean and covariance. The estimate is biased upwards, more
    for small N, so compare only numbers taken at the same N (10,000 here).

    Args:
        images: (N, 1, 28, 28) floats in [-1, 1], N >= 2.
        reference: None (the 10,000 test images, :func:`reference_statistics`;
            only with the shipped classifier), another image array, or a
            precomputed (mu, sigma) pair.
        classifier, device, batch_size: as for :func:`predict_proba`.

    Returns:
        float >= 0.

    Raises:
        TypeError, ValueError: as for :func:`check_images` (for either argument);
            ``reference=None`` with a custom classifier.
    """
    mu1, sigma1 = statistics(images, classifier, device, batch_size)
    mu2, sigma2 = _reference(reference, classifier, device, batch_size)
    return frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2)


def _reference(reference, classifier, device, batch_size):
    if reference is None:
        if classifier is not None:
            raise ValueError("reference: with a custom classifier pass the reference images "
                             "or their (mu, sigma) from statistics(); None means the shipped classifier's")
        return reference_statistics(device)
    if isinstance(reference, tuple) and len(reference) == 2:
        return reference
    return gaussian_statistics(probs_and_features(reference, classifier, device, batch_size, "reference", 2)[1])


# ---------------------------------------------------------------------------
# Modes
# ---------------------------------------------------------------------------

def class_histogram(images, classifier=None, device="cpu", batch_size=500):
    """The fraction of ``images`` the classifier puts in each class: float64 (10,), summing to 1.

    A class near 0 is a mode the generator dropped (mode collapse); real
    Fashion-MNIST gives 0.1 each. Arguments and errors as for :func:`predict_proba`.
    """
    return _histogram(predict_proba(images, classifier, device, batch_size))


def _histogram(probs):
    return np.bincount(probs.argmax(axis=1), minlength=NUM_CLASSES) / len(probs)


def class_entropy(histogram):
    """The entropy of a class histogram as a fraction of its maximum: H / log K, a float in [0, 1].

    H = −Σ_c p_c log p_c over the K classes (0 log 0 = 0), so 1 is a uniform
    histogram (real Fashion-MNIST scores 1.00) and 0 a single class: one
    number for the variety that :func:`class_histogram` shows, e.g. to compare
    how much mode collapse two GAN runs have.

    Args:
        histogram: K >= 2 non-negative fractions summing to 1 (a sequence or
            NumPy array), e.g. ``class_histogram(...)`` with K = 10.

    Raises:
        ValueError: not a 1-D histogram of K >= 2 non-negative entries summing to 1.
    """
    p = np.asarray(histogram, dtype=np.float64)
    if p.ndim != 1 or len(p) < 2 or not np.all(p >= 0) or abs(p.sum() - 1) > 1e-6:
        raise ValueError(f"histogram: expected K >= 2 non-negative fractions summing to 1, got shape "
                         f"{p.shape} with sum {p.sum() if p.size else 0:.6g}")
    p = p[p > 0]
    return float(max(0.0, -(p * np.log(p)).sum() / np.log(len(histogram))))


def _ranks(v):
    """0-based ranks of a 1-D float64 array, ties given the mean of the ranks they span."""
    _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts
    return (first + (counts - 1) / 2)[inverse]


def spearman(x, y):
    """Spearman's rank correlation ρ: Pearson's r of the ranks of ``x`` and of ``y``.

    Whether one score rises with another whatever the scale of either, e.g. a
    loss curve against FID over training, or one ranking of GAN losses
    against a paper's. Ties get the mean of the ranks they span; without
    ties ρ = 1 − 6 Σ d² / (n(n² − 1)) (Spearman 1904).

    Args:
        x, y: equal-length 1-D sequences of n >= 2 finite floats.

    Returns:
        float in [-1, 1], or None when either sequence is constant (ρ undefined).

    Raises:
        ValueError: not two 1-D sequences of the same length n >= 2.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"x, y: expected two 1-D sequences of the same length >= 2, got shapes "
                         f"{x.shape} and {y.shape}")
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def correlations(x, y):
    """Pearson's r and Spearman's ρ between two sequences, e.g. a loss curve and FID at the same steps.

    Args:
        x, y: equal-length 1-D sequences of finite floats.

    Returns:
        dict "pearson", "spearman" -> float in [-1, 1], both None when undefined
        or meaningless: fewer than 3 points, or a constant sequence.

    Raises:
        ValueError: x and y are not 1-D sequences of one length.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x, y: expected two 1-D sequences of one length, got shapes {x.shape} and {y.shape}")
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return {"pearson": None, "spearman": None}
    return {"pearson": float(np.corrcoef(x, y)[0, 1]), "spearman": spearman(x, y)}


def mode_coverage(points, centers, std, threshold=3.0):
    """Modes covered and the fraction of high-quality samples, for a mixture of Gaussians.

    As defined for the 2-D ring and grid toys by Lin et al. 2018, "PacGAN",
    sec. 5.1 (after Srivastava et al. 2017, VEEGAN): a sample is *high
    quality* when it lies within ``threshold`` (3) standard deviations of its
    nearest mode's centre, and a mode is *covered* when at least one
    high-quality sample is nearest to it.

    Args:
        points: samples (N, D), e.g. D = 2. centers: the modes' centres (K, D).
        std: the modes' standard deviation, a float > 0 (the same for all).
        threshold: the radius in standard deviations.

    Returns:
        dict: ``modes_covered`` (int), ``num_modes`` (K), ``high_quality``
        (float in [0, 1]), ``per_mode`` (list of K ints: high-quality samples per mode).

    Raises:
        ValueError: shapes are not (N, D) and (K, D) with N, K >= 1, values
            are not finite, or std / threshold not > 0.
    """
    points, centers = np.asarray(points, np.float64), np.asarray(centers, np.float64)
    if points.ndim != 2 or centers.ndim != 2 or points.shape[1] != centers.shape[1] \
            or not len(points) or not len(centers):
        raise ValueError(f"points, centers: expected (N, D) and (K, D) with N, K >= 1, "
                         f"got {points.shape} and {centers.shape}")
    if not (np.isfinite(points).all() and np.isfinite(centers).all()):
        raise ValueError("points, centers: expected finite values")
    if not std > 0 or not threshold > 0:
        raise ValueError(f"std, threshold: expected numbers > 0, got {std} and {threshold}")
    d2 = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)   # (N, K)
    nearest = d2.argmin(axis=1)
    good = np.sqrt(d2[np.arange(len(points)), nearest]) <= threshold * std
    per_mode = np.bincount(nearest[good], minlength=len(centers))
    return {"modes_covered": int((per_mode > 0).sum()), "num_modes": len(centers),
            "high_quality": float(good.mean()), "per_mode": per_mode.tolist()}


# ---------------------------------------------------------------------------
# All of it
# ---------------------------------------------------------------------------

def evaluate_samples(images, labels=None, splits=10, reference=None, classifier=None, device="cpu",
                     batch_size=500):
    """FID, IS and the class histogram of ``images``, in one pass of the classifier.

    What every GAN lesson writes to ``metrics.json``, on N = 10,000 samples
    (about 10 s on a 2-core CPU, plus 10 s once per process for the test-set
    reference unless it is cached on disk).

    Args:
        images: (N, 1, 28, 28) floats in [-1, 1], N >= max(2, splits).
        labels: optional int (N,) classes the samples were asked to be (a
            conditional GAN); adds the accuracy the classifier finds.
        splits: for the Inception Score. reference, classifier, device,
            batch_size: as for :func:`frechet_distance`.

    Returns:
        dict of JSON-ready values: ``fid``, ``inception_score``,
        ``inception_score_std``, ``class_histogram`` (10 floats), ``n``; with
        labels also ``class_accuracy`` (float) and ``class_accuracy_per_class``
        (10 floats, None for a class with no sample).

    Raises:
        TypeError, ValueError: as for :func:`check_images`,
            :func:`inception_score_from_probs`, :func:`frechet_distance`;
            labels not (N,) integers in [0, 10).
    """
    probs, feats = probs_and_features(images, classifier, device, batch_size, min_count=2)
    if labels is not None:
        labels = _check_labels(labels, len(probs))
    mu, sigma = gaussian_statistics(feats)
    is_mean, is_std = inception_score_from_probs(probs, splits)
    out = {"fid": frechet_distance_from_statistics(mu, sigma, *_reference(reference, classifier, device, batch_size)),
           "inception_score": is_mean, "inception_score_std": is_std,
           "class_histogram": _histogram(probs).tolist(), "n": len(probs)}
    if labels is not None:
        hit = probs.argmax(axis=1) == labels
        out["class_accuracy"] = float(hit.mean())
        out["class_accuracy_per_class"] = [float(hit[labels == c].mean()) if (labels == c).any() else None
                                           for c in range(NUM_CLASSES)]
    return out

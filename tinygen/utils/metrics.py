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


def check_points_and_centers(points, centers):
    """``points`` (N, D) and mode ``centers`` (K, D) as float64 arrays, checked
    by the same rules as every feature set of this module (``_check_points``).

    Raises:
        TypeError: a non-numeric array.
        ValueError: ``points`` not (N, D) with N >= 1, ``centers`` not (K, D)
            with K >= 1 and the same D, or a value not finite; the message
            names the argument.
    """
    points = _check_points(points, "points")
    centers = _check_points(centers, "centers", dim=points.shape[1])
    return points.astype(np.float64, copy=False), centers.astype(np.float64, copy=False)


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
    points, centers = check_points_and_centers(points, centers)
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


# ---------------------------------------------------------------------------
# Beyond FID and IS (lesson 25): KID, precision and recall, density and
# coverage, FID∞, nearest training images and data-copying tests.
#
# Everything here works on feature arrays (N, d), floating point: the
# classifier's 128-d penultimate features (:func:`features`), flattened
# pixels, or points placed by hand. Distances are Euclidean. Pairwise
# distances are computed block by block (``max_bytes`` per block), so
# 10,000 queries against 60,000 training images fit in memory.
# ---------------------------------------------------------------------------

_BLOCK_BYTES = 2 ** 27          # 128 MiB of float64 distances per block


def _check_points(x, name, min_count=1, dim=None):
    """``x`` as a 2-D float array (N, d): float32 kept, other real dtypes as float64."""
    if isinstance(x, Tensor):
        x = x.numpy()
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected a numeric array (N, d) of features, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (N, d) of features, got shape {x.shape}")
    if len(x) < min_count:
        raise ValueError(f"{name}: expected at least {min_count} rows, got {len(x)}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name}: expected {dim} columns (the other set's d), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: expected finite values, got {int((~np.isfinite(x)).sum())} NaN/inf")
    return x if x.dtype == np.float32 else x.astype(np.float64, copy=False)


def _check_k(k, name="k"):
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {k!r}")
    return int(k)


def _row_blocks(n_rows, n_cols, max_bytes):
    step = max(1, int(max_bytes // (8 * max(n_cols, 1))))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _sq_distances(a, bt, a_sq, b_sq):
    """Squared distances (len(a), len(b)) by ‖a‖² + ‖b‖² − 2 a·b, with ``bt`` = b.T; rounding-level
    values set to 0.

    The expansion leaves an error of order eps (‖a‖² + ‖b‖²), so a duplicate
    would come out at a tiny positive or negative distance; below
    64 eps (‖a‖² + max ‖b‖²) a squared distance is taken as exactly 0. The
    callers pass b.T as its own C-ordered copy (:func:`_transposed`), so the
    product is always a general matrix product: NumPy would compute a @ a.T
    by a symmetric routine whose rounding differs, and a k-NN radius and the
    distance it is compared with must round alike. Computed in place, a few
    passes over the block.
    """
    d2 = a @ bt
    d2 *= -2
    d2 += a_sq[:, None]
    d2 += b_sq[None, :]
    tol = 64 * np.finfo(d2.dtype).eps * (a_sq + (b_sq.max() if len(b_sq) else 0))
    d2[d2 <= tol[:, None]] = 0
    return d2


def _ranking(a, bt, b_sq):
    """‖b‖² − 2 a·b for blocks of a against b: each row ranks b by distance to that row of a
    (‖a‖², the same along the row, is left out); two passes over the block."""
    r = a @ bt
    r *= -2
    r += b_sq[None, :]
    return r


def _transposed(b):
    return np.array(b.T, order="C")


def kth_neighbour_distances(x, k, max_bytes=_BLOCK_BYTES):
    """The distance from each row of ``x`` to its k-th nearest *other* row: the k-NN radius.

    The row itself is left out by its index, so an exact duplicate counts as
    a neighbour at distance 0 (as in the official code of Kynkäänniemi et
    al. 2019 and of Naeem et al. 2020, which take the (k+1)-th smallest
    distance, the row's own 0 included).

    Args:
        x: float array (N, d), N >= k + 1. k: int >= 1.
        max_bytes: memory for one block of pairwise distances.

    Returns:
        float64 (N,), non-negative.

    Raises:
        TypeError, ValueError: x not a finite numeric (N, d) array with N >= k + 1; k not an int >= 1.
    """
    k = _check_k(k)
    return np.sqrt(_kth_sq(_check_points(x, "x", min_count=k + 1), k, max_bytes))


def _kth_sq(x, k, max_bytes):
    # Squared radii, computed row block by row block exactly as _ball_counts computes the
    # distances from these centres, so that a point on a ball's boundary compares as equal.
    sq, xt = np.einsum("ij,ij->i", x, x), _transposed(x)
    out = np.empty(len(x))
    for s in _row_blocks(len(x), len(x), max_bytes):
        d2 = _sq_distances(x[s], xt, sq[s], sq)
        d2[np.arange(s.stop - s.start), np.arange(s.start, s.stop)] = np.inf       # not its own neighbour
        out[s] = np.partition(d2, k - 1, axis=1)[:, k - 1]
    return out


def _ball_counts(centres, r2, points, max_bytes, strict):
    """For balls B(centres[i], sqrt(r2[i])) and ``points``: how many balls hold each point (M,),
    and whether each ball holds a point (N,). ``strict``: ‖p − c‖ < r, else ≤ r."""
    c_sq, p_sq = np.einsum("ij,ij->i", centres, centres), np.einsum("ij,ij->i", points, points)
    counts = np.zeros(len(points), np.int64)
    hit = np.zeros(len(centres), bool)
    pt = _transposed(points)
    for s in _row_blocks(len(centres), len(points), max_bytes):
        d2 = _sq_distances(centres[s], pt, c_sq[s], p_sq)
        inside = d2 < r2[s, None] if strict else d2 <= r2[s, None]
        counts += inside.sum(axis=0)
        hit[s] = inside.any(axis=1)
    return counts, hit


def _two_sets(real, fake, min_count):
    real = _check_points(real, "real", min_count)
    fake = _check_points(fake, "fake", min_count, dim=real.shape[1])
    if real.dtype != fake.dtype:
        real, fake = real.astype(np.float64), fake.astype(np.float64)
    return real, fake


def precision_recall(real, fake, k=3, max_bytes=_BLOCK_BYTES):
    """Improved precision and recall: the quality and the variety of ``fake``, as two numbers.

    Kynkäänniemi, Karras, Laine, Lehtinen & Aila 2019, "Improved Precision
    and Recall Metric for Assessing Generative Models", sec. 2, eqs. (1)-(3).
    Each set's manifold is estimated by the union of balls around its points,
    each ball's radius the distance to the point's k-th nearest neighbour in
    its own set (:func:`kth_neighbour_distances`). With

        f(φ, Φ) = 1 if ‖φ − φ'‖ ≤ ‖φ' − NN_k(φ')‖ for at least one φ' ∈ Φ, else 0,

    precision = (1/|Φ_g|) Σ_{φ_g} f(φ_g, Φ_r): the fraction of samples inside
    the real manifold (quality); recall = (1/|Φ_r|) Σ_{φ_r} f(φ_r, Φ_g): the
    fraction of real points inside the samples' manifold (variety). Both lie
    in [0, 1]; identical sets score 1 and 1, far-apart sets 0 and 0. Recall
    is fragile: one outlier sample makes a big ball that covers many real
    points (Naeem et al. 2020, sec. 3, hence :func:`density_coverage`).

    Args:
        real, fake: float arrays (N, d) and (M, d), N, M >= k + 1 (e.g. the
            classifier's features of the test images and of the samples).
        k: the neighbour that sets the radius (the paper's 3).
        max_bytes: memory for one block of pairwise distances.

    Returns:
        dict: ``precision``, ``recall`` (floats in [0, 1]).

    Raises:
        TypeError, ValueError: not finite numeric 2-D arrays with the same d
            and at least k + 1 rows; k not an int >= 1.
    """
    k = _check_k(k)
    real, fake = _two_sets(real, fake, k + 1)
    in_real = _ball_counts(real, _kth_sq(real, k, max_bytes), fake, max_bytes, strict=False)[0] > 0
    in_fake = _ball_counts(fake, _kth_sq(fake, k, max_bytes), real, max_bytes, strict=False)[0] > 0
    return {"precision": float(in_real.mean()), "recall": float(in_fake.mean())}


def density_coverage(real, fake, k=5, max_bytes=_BLOCK_BYTES):
    """Density and coverage: quality and variety measured around the *real* points only.

    Naeem, Oh, Uh, Choi & Yoo 2020, "Reliable Fidelity and Diversity Metrics
    for Generative Models", sec. 3 (the definitions of density and coverage),
    with the comparison of their official code (``prdc``): a point is in the
    ball B(X_i, NND_k(X_i)) when its distance to X_i is *strictly* less than
    X_i's k-NN radius among the real points (:func:`kth_neighbour_distances`).
    With N real points X and M samples Y,

        density  = (1 / kM) Σ_j Σ_i 1[Y_j ∈ B(X_i, NND_k(X_i))],
        coverage = (1 / N)  Σ_i 1[∃ j: Y_j ∈ B(X_i, NND_k(X_i))].

    Density counts how many real balls hold each sample: 1 on average for
    samples from the real distribution (their Lemma 1), above 1 when samples
    crowd the dense regions, and it is not bounded by 1. Coverage is the
    fraction of real points with a sample nearby, in [0, 1]. Only real balls
    are used, so one far outlier sample cannot inflate either (as it can
    inflate recall). Identical sets (no duplicates) score density exactly 1
    and coverage 1; far-apart sets score 0 and 0.

    Args:
        real, fake: float arrays (N, d) and (M, d), N >= k + 1, M >= 1.
        k: the neighbour that sets the radius (the paper's 5).
        max_bytes: memory for one block of pairwise distances.

    Returns:
        dict: ``density`` (float >= 0), ``coverage`` (float in [0, 1]).

    Raises:
        TypeError, ValueError: not finite numeric 2-D arrays with the same d,
            real with fewer than k + 1 rows; k not an int >= 1.
    """
    k = _check_k(k)
    real, fake = _two_sets(real, fake, 1)
    if len(real) < k + 1:
        raise ValueError(f"real: expected at least k + 1 = {k + 1} rows, got {len(real)}")
    counts, covered = _ball_counts(real, _kth_sq(real, k, max_bytes), fake, max_bytes, strict=True)
    return {"density": float(counts.sum() / (k * len(fake))), "coverage": float(covered.mean())}


def polynomial_kernel(x, y, degree=3, coef0=1.0):
    """k(x, y) = (xᵀy / d + coef0)^degree for all pairs of rows: float64 (N, M).

    The kernel of KID (Bińkowski et al. 2018, sec. 4): degree 3, coef0 1,
    the dot product scaled by the dimension d so that it suits any feature
    width. x (N, d) and y (M, d) float arrays.

    Raises:
        TypeError, ValueError: not finite numeric 2-D arrays with the same d.
    """
    x = _check_points(x, "x").astype(np.float64, copy=False)
    y = _check_points(y, "y", dim=x.shape[1]).astype(np.float64, copy=False)
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x, y, kernel=polynomial_kernel):
    """The unbiased estimate of the squared MMD between the distributions of ``x`` and ``y``.

    Gretton, Borgwardt, Rasch, Schölkopf & Smola 2012, "A Kernel Two-Sample
    Test", Lemma 6 (eq. 3), with m = len(x), n = len(y):

        MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n−1)) Σ_{i≠j} k(y_i, y_j)
                 − 2/(mn) Σ_{i,j} k(x_i, y_j).

    Its expectation is the true MMD², 0 when the distributions are equal, so
    on two samples of one distribution it is negative about half the time.

    Args:
        x, y: float arrays (m, d) and (n, d), m, n >= 2.
        kernel: a function (a, b) -> the (len(a), len(b)) kernel matrix.

    Returns:
        float (may be slightly negative).

    Raises:
        TypeError, ValueError: not finite numeric 2-D arrays with the same d and at least 2 rows each.
    """
    x = _check_points(x, "x", 2)
    y = _check_points(y, "y", 2, dim=x.shape[1])
    m, n = len(x), len(y)
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kernel_inception_distance(real, fake, subsets=100, subset_size=1000, seed=0):
    """KID: the unbiased squared MMD with a cubic polynomial kernel, averaged over random subsets.

    Bińkowski, Sutherland, Arbel & Gretton 2018, "Demystifying MMD GANs",
    sec. 4 (KID): MMD²_u (:func:`mmd2_unbiased`) between the features of real
    and generated images with k(x, y) = (xᵀy / d + 1)³
    (:func:`polynomial_kernel`), computed as their reference code does: for
    each of ``subsets`` subsets, ``subset_size`` rows of each set drawn
    without replacement, and the mean and standard deviation over subsets.
    Unlike FID, the estimate is unbiased, so it does not depend on N and
    numbers at different N can be compared; the price is that on two samples
    of the *same* distribution it is near 0 and can be slightly negative.

    Args:
        real, fake: float arrays (N, d) and (M, d), N, M >= 2.
        subsets: int >= 1 (the reference's 100).
        subset_size: int >= 2 (the reference's 1,000); capped at min(N, M).
        seed: the seed of the subset draws (a fixed seed gives a fixed answer).

    Returns:
        (mean, std) over the subsets, floats (std with ddof 0); 0.0 std for one subset.

    Raises:
        TypeError, ValueError: not finite numeric 2-D arrays with the same d
            and at least 2 rows; subsets or subset_size not ints >= 1 and >= 2.
    """
    real, fake = _two_sets(real, fake, 2)
    subsets = _check_k(subsets, "subsets")
    if not isinstance(subset_size, (int, np.integer)) or subset_size < 2:
        raise ValueError(f"subset_size: expected an int >= 2, got {subset_size!r}")
    m = min(int(subset_size), len(real), len(fake))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        f = fake[rng.choice(len(fake), m, replace=False)]
        r = real[rng.choice(len(real), m, replace=False)]
        values.append(mmd2_unbiased(f, r))
    return float(np.mean(values)), float(np.std(values))


def extrapolate_fid(ns, fids):
    """Fit FID_N = FID∞ + slope / N by least squares and return the intercept at 1/N = 0.

    Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and
    where to find them", sec. 3: the bias of FID_N is, to first order,
    linear in 1/N, so FID at several N lies on a line in 1/N whose value at
    1/N = 0 is the FID of infinitely many samples, FID∞.

    Args:
        ns: sample sizes, at least 2 distinct positive numbers. fids: the FID at each.

    Returns:
        dict: ``fid_inf`` (the intercept, float), ``slope`` (float, FID units × N),
        ``n`` and ``fid`` (the points, lists).

    Raises:
        ValueError: not two 1-D sequences of one length with at least 2
            distinct positive N and finite FIDs.
    """
    ns, fids = np.asarray(ns, np.float64), np.asarray(fids, np.float64)
    if ns.ndim != 1 or ns.shape != fids.shape or len(np.unique(ns)) < 2:
        raise ValueError(f"ns, fids: expected two 1-D sequences of one length with at least 2 distinct N, "
                         f"got shapes {ns.shape} and {fids.shape}")
    if not (np.isfinite(ns).all() and np.isfinite(fids).all() and (ns > 0).all()):
        raise ValueError("ns, fids: expected positive finite N and finite FIDs")
    slope, intercept = np.polyfit(1.0 / ns, fids, 1)
    return {"fid_inf": float(intercept), "slope": float(slope), "n": ns.astype(int).tolist(), "fid": fids.tolist()}


def fid_infinity(fake, reference, ns=None, seed=0):
    """FID∞: the FID of ``fake`` at several N, extrapolated linearly in 1/N to 1/N = 0.

    Chong & Forsyth 2020, sec. 3 (FID∞): for each N a random subset of N
    rows (without replacement) is scored against the fixed ``reference``
    statistics (:func:`frechet_distance_from_statistics`), and
    :func:`extrapolate_fid` fits the line. Their code uses 15 values of N
    from 5,000 to 50,000; with 10,000 samples the default here is 9 values
    from N/5 to N. FID_N falls as N grows (the bias), and FID∞ is below every
    measured FID_N when the model is good.

    Args:
        fake: float array (M, d), e.g. the classifier's features of M samples.
        reference: (mu (d,), sigma (d, d)), e.g. :func:`reference_statistics`.
        ns: sample sizes in [2, M], at least 2 distinct; None: 9 evenly spaced from M // 5 to M.
        seed: the seed of the subsets.

    Returns:
        dict as :func:`extrapolate_fid`.

    Raises:
        TypeError, ValueError: fake not a finite (M, d) array with M >= 10;
            N outside [2, M]; reference shapes do not match d.
    """
    fake = _check_points(fake, "fake", 10).astype(np.float64, copy=False)
    mu, sigma = reference
    if ns is None:
        ns = np.linspace(len(fake) // 5, len(fake), 9).astype(int)
    ns = np.asarray(ns)
    if ns.ndim != 1 or ns.dtype.kind not in "iu" or (ns < 2).any() or (ns > len(fake)).any():
        raise ValueError(f"ns: expected integers in [2, {len(fake)}], got {ns.tolist()}")
    rng = np.random.default_rng(seed)
    fids = [frechet_distance_from_statistics(*gaussian_statistics(fake[rng.permutation(len(fake))[:n]]), mu, sigma)
            for n in ns]
    return extrapolate_fid(ns, fids)


def nearest_neighbours(queries, pool, k=1, max_bytes=_BLOCK_BYTES):
    """The k nearest rows of ``pool`` to each query (Euclidean), e.g. each sample's nearest training images.

    Vectorised and done block by block: the candidates are ranked by
    ‖p‖² − 2 q·p (the squared distance less ‖q‖², the same along a row; in
    float32 when both arrays are float32, e.g. pixels, else float64),
    ``max_bytes`` of them at a time, so 10,000
    samples against the 60,000 training images (784 pixels or 128 features)
    fit in memory; the k distances returned are then recomputed exactly in
    float64 from the differences and sorted.

    Args:
        queries: (N, ...) numeric, e.g. samples (N, 1, 28, 28) or features (N, 128);
            trailing dimensions are flattened.
        pool: (P, ...) with the same trailing shape, P >= k.
        k: int >= 1. max_bytes: memory for one block of distances.

    Returns:
        (distances float64 (N, k), ascending; indices int64 (N, k) into ``pool``).

    Raises:
        TypeError, ValueError: not finite numeric arrays of the same trailing
            shape; P < k; k not an int >= 1.
    """
    k = _check_k(k)
    q, p = np.asarray(queries.numpy() if isinstance(queries, Tensor) else queries), np.asarray(pool)
    if q.ndim < 2 or p.ndim < 2 or q.shape[1:] != p.shape[1:]:
        raise ValueError(f"queries, pool: expected arrays (N, ...) and (P, ...) with the same trailing shape, "
                         f"got {q.shape} and {p.shape}")
    q = _check_points(q.reshape(len(q), -1), "queries")
    p = _check_points(p.reshape(len(p), -1), "pool", min_count=k)
    if q.dtype != p.dtype:
        q, p = q.astype(np.float64), p.astype(np.float64)
    p_sq, pt = np.einsum("ij,ij->i", p, p), p.T
    dist, idx = np.empty((len(q), k)), np.empty((len(q), k), np.int64)
    for s in _row_blocks(len(q), len(p), max_bytes):
        r = _ranking(q[s], pt, p_sq)
        if k == 1:
            cand = r.argmin(axis=1)[:, None]
        elif k < len(p):
            cand = np.argpartition(r, k - 1, axis=1)[:, :k]
        else:
            cand = np.tile(np.arange(len(p)), (len(r), 1))
        exact = np.sqrt(((q[s, None, :].astype(np.float64) - p[cand].astype(np.float64)) ** 2).sum(axis=2))
        order = np.lexsort((cand, exact), axis=1)          # by distance, ties by index
        dist[s], idx[s] = np.take_along_axis(exact, order, 1), np.take_along_axis(cand, order, 1)
    return dist, idx


def kmeans(x, k, iterations=50, seed=0):
    """Lloyd's k-means with k-means++ seeding: a partition of the space into k cells.

    Arthur & Vassilvitskii 2007 (k-means++: each new centre drawn with
    probability proportional to the squared distance to the nearest centre
    so far), then at most ``iterations`` rounds of: assign each row to its
    nearest centre, move each centre to the mean of its rows (a centre left
    with no row stays where it is). Used by :func:`data_copying_test` to cut
    the space into cells, as Meehan et al. 2020 do (sec. 4).

    Args:
        x: float array (N, d), N >= k. k: int >= 1. iterations: int >= 1. seed: the seed.

    Returns:
        (centres float64 (k, d), labels int64 (N,) in [0, k)).

    Raises:
        TypeError, ValueError: x not a finite (N, d) array with N >= k; k not an int >= 1.
    """
    k = _check_k(k)
    x = _check_points(x, "x", k).astype(np.float64, copy=False)
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    d2 = ((x - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        c = x[rng.choice(len(x), p=d2 / d2.sum())] if d2.sum() > 0 else x[rng.integers(len(x))]
        centres.append(c)
        d2 = np.minimum(d2, ((x - c) ** 2).sum(axis=1))
    centres = np.array(centres)
    labels = None
    for _ in range(iterations):
        new = nearest_neighbours(x, centres, 1)[1][:, 0]
        if labels is not None and (new == labels).all():
            break
        labels = new
        for c in range(k):
            if (labels == c).any():
                centres[c] = x[labels == c].mean(axis=0)
    return centres, nearest_neighbours(x, centres, 1)[1][:, 0]


def mann_whitney_z(a, b):
    """The Mann-Whitney U of ``b`` against ``a``, z-scored under the null hypothesis.

    U = Σ_{i,j} (1[b_j > a_i] + ½ 1[b_j = a_i]), with mean mn/2 and variance
    mn(m + n + 1)/12 when a and b come from one continuous distribution
    (Mann & Whitney 1947), n = len(a), m = len(b):
    Z_U = (U − mn/2) / sqrt(mn(m + n + 1)/12). Z_U ≪ 0: the b are smaller.
    (No continuity correction, as in Meehan et al. 2020, sec. 3.)

    Args:
        a, b: 1-D sequences of n >= 1 and m >= 1 floats.

    Returns:
        float.

    Raises:
        ValueError: not two non-empty 1-D sequences.
    """
    a, b = np.sort(np.asarray(a, np.float64)), np.asarray(b, np.float64)
    if a.ndim != 1 or b.ndim != 1 or not len(a) or not len(b):
        raise ValueError(f"a, b: expected two non-empty 1-D sequences, got shapes {a.shape} and {b.shape}")
    n, m = len(a), len(b)
    below = np.searchsorted(a, b, side="left")             # a_i < b_j
    ties = np.searchsorted(a, b, side="right") - below       # a_i = b_j
    u = below.sum() + 0.5 * ties.sum()
    return float((u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12))


def data_copying_test(train, test, generated, cells=20, min_samples=20, seed=0, max_bytes=_BLOCK_BYTES):
    """The C_T statistic of Meehan, Chaudhuri & Dasgupta 2020: are samples closer to the training set than real data?

    "A Non-Parametric Test to Detect Data-Copying in Generative Models",
    sec. 3 (the three-sample test) and sec. 4. With T the training set,
    P_n a held-out sample of n real points and Q_m m generated samples, and
    d(x) = min_{t ∈ T} ‖x − t‖ each point's distance to its nearest training
    point (:func:`nearest_neighbours`):

    * the space is cut into cells Π by k-means on T (:func:`kmeans`);
    * in each cell π, Z_U(π) is the z-scored Mann-Whitney U of the samples'
      distances {d(y): y ∈ Q_m ∩ π} against the held-out distances
      {d(x): x ∈ P_n ∩ π} (:func:`mann_whitney_z`; U counts the pairs where
      the sample is the farther one);
    * C_T = Σ_{π ∈ Π_τ} P_n(π) Z_U(π) / Σ_{π ∈ Π_τ} P_n(π), the average of
      the cells' Z_U weighted by the fraction of held-out points in each,
      over the cells Π_τ with at least ``min_samples`` samples (the paper's
      Q_m(π) ≥ τ, with τ = min_samples / m) and at least one held-out point.

    C_T ≪ 0 (e.g. below −3): the samples sit closer to training points than
    fresh real data does, i.e. data-copying; C_T ≫ 0: they are farther
    (underfitting, as for most GANs); about 0 for samples as new as held-out
    data. Copying is a local matter (one copied region can hide among
    underfit ones), so the per-cell Z_U are returned too. The authors' code
    measures d(x) to the training points of x's own cell; here to all of T
    (the paper's d), which differs only for points near a cell boundary.

    Args:
        train: (L, d) float array, L >= cells; test: (n, d); generated: (m, d),
            e.g. the classifier's features of the three sets.
        cells: the number of k-means cells (an int >= 1), or the cells' centres, a float
            array (k, d) (e.g. ``kmeans(train, 20)[0]``, computed once to test several
            generated sets against one partition). min_samples: int >= 1.
        seed: for k-means. max_bytes: memory for one block of distances.

    Returns:
        dict: ``c_t`` (float, NaN when no cell qualifies), ``z`` (per cell,
        NaN for a cell left out), ``test_fraction`` and ``generated_fraction``
        (per cell), ``cells_used`` (int).

    Raises:
        TypeError, ValueError: not finite 2-D arrays with one d; fewer
            training points than cells; cells neither an int >= 1 nor centres (k, d);
            min_samples not an int >= 1.
    """
    min_samples = _check_k(min_samples, "min_samples")
    if isinstance(cells, (int, np.integer)) and not isinstance(cells, bool):
        train = _check_points(train, "train", _check_k(cells, "cells"))
        centres, _ = kmeans(train, cells, seed=seed)
    else:
        train = _check_points(train, "train")
        centres = _check_points(cells, "cells", 1, dim=train.shape[1])
        cells = len(centres)
    test = _check_points(test, "test", 1, dim=train.shape[1])
    generated = _check_points(generated, "generated", 1, dim=train.shape[1])
    cell_p = nearest_neighbours(test, centres, 1)[1][:, 0]
    cell_q = nearest_neighbours(generated, centres, 1)[1][:, 0]
    d_p = nearest_neighbours(test, train, 1, max_bytes)[0][:, 0]
    d_q = nearest_neighbours(generated, train, 1, max_bytes)[0][:, 0]
    p_frac = np.bincount(cell_p, minlength=cells) / len(test)
    q_count = np.bincount(cell_q, minlength=cells)
    z = np.full(cells, np.nan)
    for c in range(cells):
        if q_count[c] >= min_samples and p_frac[c] > 0:
            z[c] = mann_whitney_z(d_p[cell_p == c], d_q[cell_q == c])
    used = ~np.isnan(z)
    c_t = float((p_frac[used] * z[used]).sum() / p_frac[used].sum()) if used.any() else float("nan")
    return {"c_t": c_t, "z": z.tolist(), "test_fraction": p_frac.tolist(),
            "generated_fraction": (q_count / len(generated)).tolist(), "cells_used": int(used.sum())}


def one_nn_accuracy(real, fake, max_bytes=_BLOCK_BYTES):
    """The leave-one-out accuracy of the 1-nearest-neighbour classifier telling ``real`` from ``fake``.

    The classifier two-sample test of Lopez-Paz & Oquab 2017, "Revisiting
    Classifier Two-Sample Tests", sec. 2, with a 1-NN classifier as Xu et al.
    2018 ("An empirical study on evaluation metrics of generative adversarial
    networks") use it for GANs: pool the two sets, label each point
    by its set, predict each point's label by its nearest *other* point, and
    count the correct predictions. 0.5 (with sets of equal size): the sets
    cannot be told apart; 1: they are entirely separate. Against the
    *training* set, accuracy well below 0.5 means memorisation: each copy's
    nearest neighbour is its original, of the other label (as Xu et al. 2018
    point out; ``tests/test_eval_metrics.py`` checks it). Ties go to the lower
    index, i.e. to ``real``: a sample identical to a real point is predicted real.

    Args:
        real, fake: float arrays (N, d) and (M, d), N, M >= 1, N + M >= 2.
        max_bytes: memory for one block of distances.

    Returns:
        dict: ``accuracy`` (over all N + M points), ``accuracy_real``, ``accuracy_fake`` (floats in [0, 1]).

    Raises:
        TypeError, ValueError: not finite numeric 2-D arrays with the same d.
    """
    real, fake = _two_sets(real, fake, 1)
    z = np.concatenate([real, fake])
    is_real = np.arange(len(z)) < len(real)
    sq, zt = np.einsum("ij,ij->i", z, z), _transposed(z)
    nearest = np.empty(len(z), np.int64)
    for s in _row_blocks(len(z), len(z), max_bytes):
        r = _ranking(z[s], zt, sq)
        r[np.arange(s.stop - s.start), np.arange(s.start, s.stop)] = np.inf
        nearest[s] = r.argmin(axis=1)
    right = is_real[nearest] == is_real
    return {"accuracy": float(right.mean()), "accuracy_real": float(right[is_real].mean()),
            "accuracy_fake": float(right[~is_real].mean())}

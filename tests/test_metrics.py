"""tinygen.utils.metrics: known answers for FID, IS and mode coverage; the shipped classifier; lesson 09.

The Fréchet and Inception tests work on statistics and probabilities whose
answers are known in closed form, so they need no data. The shipped-weights
test classifies the real Fashion-MNIST test set where it is installed, and
skips otherwise.
"""
import hashlib
import json
import os

import numpy as np
import pytest

from conftest import run  # noqa: E402  (data_env is a conftest fixture)
from tinygen.utils import metrics
from tinygen.utils.data import fashion_mnist, to_float_images

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "09_classifier.py")
REAL_DATA = "/usr/share/datasets/fashion-mnist"


def random_covariance(d, rng, rank=None):
    a = rng.standard_normal((d, rank or d))
    return a @ a.T / (rank or d)


def fake_images(n, seed=0):
    """Images in [-1, 1] with a black background and a bright blob: classifiable, not Fashion-MNIST."""
    rng = np.random.default_rng(seed)
    x = -np.ones((n, 1, 28, 28), np.float32)
    x[:, :, 6:22, 8:20] = rng.uniform(-1, 1, (n, 1, 16, 12))
    return x


# ------------------------------------------------ Fréchet distance
def test_fid_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((500, 16)) @ rng.standard_normal((16, 16))
    mu, sigma = metrics.gaussian_statistics(feats)
    assert metrics.frechet_distance_from_statistics(mu, sigma, mu, sigma) < 1e-9 * np.trace(sigma)


def test_fid_of_diagonal_covariances_is_the_closed_form():
    """Diagonal Σ commute: d² = Σ (μ1 − μ2)² + Σ (σ1 − σ2)², σ the standard deviations."""
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.standard_normal(8), rng.standard_normal(8)
    s1, s2 = rng.uniform(0.1, 3, 8), rng.uniform(0.1, 3, 8)
    expected = ((mu1 - mu2) ** 2).sum() + ((s1 - s2) ** 2).sum()
    got = metrics.frechet_distance_from_statistics(mu1, np.diag(s1 ** 2), mu2, np.diag(s2 ** 2))
    assert got == pytest.approx(expected, rel=1e-10)


def test_fid_of_full_covariances_matches_the_eigenvalues_of_the_product():
    """An independent route to Tr((Σ1Σ2)^½): the eigenvalues of the non-symmetric product."""
    rng = np.random.default_rng(2)
    s1, s2 = random_covariance(10, rng), random_covariance(10, rng)
    lam = np.linalg.eigvals(s1 @ s2)
    assert np.abs(lam.imag).max() < 1e-8 and lam.real.min() > 0
    assert metrics.trace_sqrt_product(s1, s2) == pytest.approx(np.sqrt(lam.real).sum(), rel=1e-10)
    mu1, mu2 = rng.standard_normal(10), rng.standard_normal(10)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2) - 2 * np.sqrt(lam.real).sum()
    assert metrics.frechet_distance_from_statistics(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)


def test_fid_of_two_gaussian_sample_sets_matches_the_closed_form():
    """Samples of N(μ1, Σ1) and N(μ2, Σ2) score the distance of the true Gaussians, up to sampling error."""
    rng = np.random.default_rng(3)
    d = 4
    mu1, mu2 = np.zeros(d), np.full(d, 0.5)
    s1, s2 = random_covariance(d, rng), random_covariance(d, rng)
    x1 = rng.multivariate_normal(mu1, s1, 200_000)
    x2 = rng.multivariate_normal(mu2, s2, 200_000)
    exact = metrics.frechet_distance_from_statistics(mu1, s1, mu2, s2)
    estimate = metrics.frechet_distance_from_statistics(*metrics.gaussian_statistics(x1),
                                                        *metrics.gaussian_statistics(x2))
    assert estimate == pytest.approx(exact, rel=0.02)
    # One dimension by hand: (μ1 − μ2)² + (σ1 − σ2)² = 1 + 1 = 2.
    assert metrics.frechet_distance_from_statistics([0.0], [[1.0]], [1.0], [[4.0]]) == pytest.approx(2.0)


def test_fid_is_symmetric_and_stable_on_singular_covariances():
    rng = np.random.default_rng(4)
    s1, s2 = random_covariance(12, rng, rank=3), random_covariance(12, rng, rank=5)  # rank-deficient
    mu1, mu2 = rng.standard_normal(12), rng.standard_normal(12)
    a = metrics.frechet_distance_from_statistics(mu1, s1, mu2, s2)
    b = metrics.frechet_distance_from_statistics(mu2, s2, mu1, s1)
    assert np.isfinite(a) and a >= 0
    assert a == pytest.approx(b, rel=1e-8)
    assert metrics.frechet_distance_from_statistics(mu1, s1, mu1, s1) < 1e-8


def test_fid_argument_errors():
    with pytest.raises(ValueError, match="mu1, mu2"):
        metrics.frechet_distance_from_statistics(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match=r"sigma2: expected a covariance of shape \(3, 3\)"):
        metrics.frechet_distance_from_statistics(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))
    with pytest.raises(ValueError, match="sigma1: expected a symmetric"):
        metrics.frechet_distance_from_statistics(np.zeros(2), [[1.0, 0.5], [0.0, 1.0]], np.zeros(2), np.eye(2))


# ------------------------------------------------ Inception Score
def test_inception_score_of_one_class_is_one():
    probs = np.tile([0.9] + [0.1 / 9] * 9, (1000, 1))  # every sample the same, confident prediction
    mean, std = metrics.inception_score_from_probs(probs)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_of_balanced_confident_predictions_is_ten():
    probs = np.eye(10)[np.arange(10_000) % 10]  # one-hot, 1000 per class
    mean, std = metrics.inception_score_from_probs(probs, splits=1)
    assert mean == pytest.approx(10.0) and std == 0.0
    # 10 splits of 1000: each split's p(y) is only nearly uniform, IS = 10 exp(-KL(p(y) ‖ uniform)).
    mean, std = metrics.inception_score_from_probs(probs, splits=10)
    assert 9.9 < mean <= 10.0 and std < 0.05
    soft = 0.99 * probs + 0.01 / 10  # nearly confident: below 10
    assert 9.0 < metrics.inception_score_from_probs(soft)[0] < 10.0


def test_inception_score_does_not_depend_on_the_order_of_samples():
    """Samples sorted by class (a conditional GAN's) must not give each split one class."""
    probs = np.eye(10)[np.repeat(np.arange(10), 1000)]
    assert metrics.inception_score_from_probs(probs, splits=10)[0] > 9.9


def test_inception_score_lies_between_one_and_ten():
    rng = np.random.default_rng(5)
    for temperature in (0.1, 1.0, 10.0):
        logits = rng.standard_normal((2000, 10)) / temperature
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        mean, std = metrics.inception_score_from_probs(p / p.sum(axis=1, keepdims=True), splits=10)
        assert 1.0 <= mean <= 10.0 and std >= 0
    uniform = np.full((100, 10), 0.1)  # no confident prediction: 1
    assert metrics.inception_score_from_probs(uniform)[0] == pytest.approx(1.0)


def test_inception_score_errors():
    with pytest.raises(ValueError, match="splits"):
        metrics.inception_score_from_probs(np.full((5, 10), 0.1), splits=10)
    with pytest.raises(ValueError, match="probs"):
        metrics.inception_score_from_probs(np.ones((5, 10)))


# ------------------------------------------------ mode coverage
def test_mode_coverage_on_points_placed_by_hand():
    angles = np.arange(8) * 2 * np.pi / 8
    centers = 2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # the 8-Gaussian ring
    std = 0.02
    points = np.array([
        centers[0] + [0.01, 0.0],       # mode 0, 0.5 std
        centers[0] + [0.0, -0.05],      # mode 0, 2.5 std
        centers[0] + [0.059, 0.0],      # mode 0, 2.95 std
        centers[3] + [0.0, 0.03],       # mode 3, 1.5 std
        centers[5] + [0.061, 0.0],      # nearest mode 5 but 3.05 std away: low quality
        [0.0, 0.0],                     # the centre of the ring: low quality
    ])
    r = metrics.mode_coverage(points, centers, std)
    assert r["modes_covered"] == 2 and r["num_modes"] == 8
    assert r["high_quality"] == pytest.approx(4 / 6)
    assert r["per_mode"] == [3, 0, 0, 1, 0, 0, 0, 0]
    assert metrics.mode_coverage(centers, centers, std)["modes_covered"] == 8
    with pytest.raises(ValueError, match="points, centers"):
        metrics.mode_coverage(points[:, :1], centers, std)
    with pytest.raises(ValueError, match="std"):
        metrics.mode_coverage(points, centers, 0.0)


# ------------------------------------------------ input checks
@pytest.mark.parametrize("images, error, message", [
    (np.zeros((4, 28, 28), np.float32), ValueError, r"images: expected shape \(N, 1, 28, 28\), got \(4, 28, 28\)"),
    (np.zeros((4, 3, 28, 28), np.float32), ValueError, r"got \(4, 3, 28, 28\)"),
    (np.zeros((4, 1, 28, 28), np.uint8), TypeError, "images: expected a floating-point.*uint8.*to_float_images"),
    (np.full((4, 1, 28, 28), 2.0, np.float32), ValueError, "images: expected values in \\[-1, 1\\], got values from 2"),
    (np.full((4, 1, 28, 28), np.nan, np.float32), ValueError, "images: expected finite values"),
    ([[0.0]], TypeError, "images: expected a NumPy array"),
    (np.zeros((0, 1, 28, 28), np.float32), ValueError, "at least 1 images, got 0"),
])
def test_image_checks_name_the_argument(images, error, message):
    with pytest.raises(error, match=message):
        metrics.check_images(images)


def test_check_images_warns_about_unit_range_and_accepts_tensors():
    import tinygen as tg
    x = fake_images(100)
    with pytest.warns(UserWarning, match="look like \\[0, 1\\]"):
        metrics.check_images((x + 1) / 2)
    got = metrics.check_images(tg.tensor(x.astype(np.float64)))
    assert got.dtype == np.float32 and got.shape == x.shape


def test_reference_and_labels_are_checked():
    x = fake_images(20)
    with pytest.raises(ValueError, match="reference: expected shape"):
        metrics.frechet_distance(x, reference=np.zeros((20, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"labels: expected integers of shape \(20,\)"):
        metrics.evaluate_samples(x, labels=np.zeros(19, int), reference=x)
    with pytest.raises(ValueError, match="labels: expected class ids"):
        metrics.evaluate_samples(x, labels=np.full(20, 10), reference=x)
    with pytest.raises(ValueError, match="custom classifier"):
        metrics.frechet_distance(x, classifier=metrics.load_classifier())


# ------------------------------------------------ the shipped classifier
def test_shipped_weights_are_small_and_load():
    assert metrics.WEIGHTS_PATH.is_file()
    assert metrics.WEIGHTS_PATH.stat().st_size < 2_000_000
    model = metrics.load_classifier()
    assert not model.training and metrics.load_classifier() is model  # cached
    x = fake_images(30)
    probs, feats = metrics.probs_and_features(x)
    assert probs.shape == (30, 10) and feats.shape == (30, metrics.FEATURE_DIM)
    assert np.allclose(probs.sum(axis=1), 1) and (feats >= 0).all()


@pytest.mark.skipif(not os.path.isdir(REAL_DATA), reason="needs the Debian package dataset-fashion-mnist")
def test_shipped_classifier_classifies_real_test_images():
    images, labels = fashion_mnist("test", root=REAL_DATA)
    x = to_float_images(images[:1000])
    accuracy = (metrics.predict_proba(x).argmax(axis=1) == labels[:1000]).mean()
    assert accuracy >= 0.90
    hist = metrics.class_histogram(x)
    assert hist.sum() == pytest.approx(1.0) and hist.min() > 0.05  # every class predicted


def test_image_metrics_end_to_end_with_the_shipped_classifier():
    x, y = fake_images(200, seed=1), fake_images(200, seed=2)
    assert metrics.frechet_distance(x, reference=x) < 1e-6
    assert metrics.frechet_distance(x, reference=y) == pytest.approx(metrics.frechet_distance(y, reference=x),
                                                                      rel=1e-6)
    mean, std = metrics.inception_score(x, splits=5)
    assert 1.0 <= mean <= 10.0
    labels = metrics.predict_proba(x).argmax(axis=1)
    r = metrics.evaluate_samples(x, labels=labels, reference=metrics.statistics(y))
    assert r["fid"] == pytest.approx(metrics.frechet_distance(x, reference=y), rel=1e-9)
    assert r["inception_score"] == pytest.approx(metrics.inception_score(x)[0])
    assert r["class_accuracy"] == 1.0 and r["n"] == 200
    assert len(r["class_histogram"]) == 10 and sum(r["class_histogram"]) == pytest.approx(1.0)
    assert r["class_histogram"] == pytest.approx(metrics.class_histogram(x).tolist())
    json.dumps(r)  # JSON-ready (None, not NaN, for classes with no sample)


def test_reference_statistics_are_cached_on_disk(data_env, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGEN_DATA", data_env["TINYGEN_DATA"])
    monkeypatch.setattr(metrics, "_REFERENCE", {})
    mu, sigma = metrics.reference_statistics(cache_dir=tmp_path)
    assert mu.shape == (metrics.FEATURE_DIM,) and sigma.shape == (metrics.FEATURE_DIM,) * 2
    assert len(list(tmp_path.glob("fid_reference_*.npz"))) == 1
    monkeypatch.setattr(metrics, "_REFERENCE", {})
    mu2, sigma2 = metrics.reference_statistics(cache_dir=tmp_path)  # from the file
    assert np.array_equal(mu, mu2) and np.array_equal(sigma, sigma2)


# ------------------------------------------------ lesson 09
def test_lesson_quick_keeps_the_shipped_weights(data_env, tmp_path):
    before = hashlib.sha256(metrics.WEIGHTS_PATH.read_bytes()).hexdigest()
    out = tmp_path / "out"
    r = run([LESSON, "--quick", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout
    assert hashlib.sha256(metrics.WEIGHTS_PATH.read_bytes()).hexdigest() == before
    m = json.load(open(out / "metrics.json"))
    assert 0 <= m["test_accuracy"] <= 1 and not m["installed"]
    assert {"training set", "uniform noise"} <= set(m["calibration"])
    assert all(v["fid"] >= 0 and 1 <= v["inception_score"] <= 10 for v in m["calibration"].values())
    assert (out / "classifier.npz").stat().st_size > 0

    r = run([LESSON, "--quick", "--install", "--out", str(out)], data_env, tmp_path)
    assert r.returncode != 0 and "--install" in r.stderr
    assert hashlib.sha256(metrics.WEIGHTS_PATH.read_bytes()).hexdigest() == before


def test_class_entropy_values_and_errors():
    assert metrics.class_entropy([0.1] * 10) == pytest.approx(1.0)
    assert metrics.class_entropy([1.0] + [0.0] * 9) == 0.0
    # two equally likely classes of ten: log 2 / log 10
    assert metrics.class_entropy([0.5, 0.5] + [0.0] * 8) == pytest.approx(np.log(2) / np.log(10))
    # 0.9 / 0.1 of two classes: -(0.9 log 0.9 + 0.1 log 0.1) / log 2 = 0.4690
    assert metrics.class_entropy([0.9, 0.1]) == pytest.approx(0.46899559, abs=1e-8)
    for bad in ([0.5, 0.6], [1.0], [[0.5, 0.5]], [1.5, -0.5]):
        with pytest.raises(ValueError, match="histogram"):
            metrics.class_entropy(bad)


def test_spearman_values_ties_and_errors():
    assert metrics.spearman([1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]) == pytest.approx(1.0)
    assert metrics.spearman([1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert metrics.spearman([1.0, 2.0, 3.0], [1.0, 3.0, 2.0]) == pytest.approx(0.5)
    x = np.linspace(0, 3, 20)
    assert metrics.spearman(x, np.exp(x)) == pytest.approx(1.0)          # any monotone map: the ranks agree
    # ties take mean ranks: x ranks (0, 1.5, 1.5, 3) against (0, 1, 2, 3): r = 2.25 / sqrt(4.5 * 5) = 0.9487
    assert metrics.spearman([1.0, 2.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]) == pytest.approx(0.9486833, abs=1e-6)
    assert metrics.spearman([5.0, 5.0, 5.0], [1.0, 2.0, 3.0]) is None
    for x, y in (([1.0], [2.0]), ([1.0, 2.0], [1.0, 2.0, 3.0]), ([[1.0, 2.0]], [[1.0, 2.0]])):
        with pytest.raises(ValueError, match="x, y"):
            metrics.spearman(x, y)

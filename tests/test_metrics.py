"""tinygen.utils.metrics: known answers for FID, IS and mode coverage; the shipped classifier; lesson 09.

The Fréchet and Inception tests work on statistics and probabilities whose
answers are known in closed form, so they need no data; the image-level
scores run through a stub classifier (``StubClassifier``) whose features and
predictions are known by hand. The shipped classifier is checked on 20 real
Fashion-MNIST test images stored in ``tests/data/fashion_mnist_t10k_sample.npz``
(the first two images of each class of the t10k split; ``indices`` holds their
positions), so it runs without the dataset; where the dataset is installed a
further test classifies 1,000 test images and checks the stored 20 against it.
"""
import hashlib
import json
import os

import numpy as np
import pytest

import tinygen as tg
from conftest import lesson_definitions, run  # noqa: E402  (data_env is a conftest fixture)
from tinygen import nn
from tinygen.utils import metrics
from tinygen.utils.data import fashion_mnist, load_images, load_train_test, to_float_images

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "09_classifier.py")
REAL_DATA = "/usr/share/datasets/fashion-mnist"
SAMPLE = os.path.join(ROOT, "tests", "data", "fashion_mnist_t10k_sample.npz")


def real_sample():
    """20 real test images (uint8 (20, 28, 28)), their labels and t10k indices: 2 per class."""
    with np.load(SAMPLE) as f:
        return f["images"], f["labels"].astype(np.int64), f["indices"]


class StubClassifier(nn.Module):
    """A classifier whose answers are known by hand, with the shipped one's interface.

    features(x) = (mean of the top 14 rows, mean of the bottom 14 rows): (N, 2);
    head: logits 10·top for class 2, 10·bottom for class 5, 0 for the others.
    An image with top t = 1 and bottom b = 0 is class 2, t = 0 and b = 1 class 5.
    """

    def __init__(self):
        super().__init__()
        w = np.zeros((2, 784), np.float32)
        w[0, :392], w[1, 392:] = 1 / 392, 1 / 392
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(784, 2))
        self.features[1].weight.data, self.features[1].bias.data = w, np.zeros(2, np.float32)
        h = np.zeros((10, 2), np.float32)
        h[2, 0], h[5, 1] = 10.0, 10.0
        self.head = nn.Linear(2, 10)
        self.head.weight.data, self.head.bias.data = h, np.zeros(10, np.float32)
        self.eval()


def halves(pairs):
    """Images (N, 1, 28, 28) whose top half is t and bottom half b, for each (t, b)."""
    x = np.empty((len(pairs), 1, 28, 28), np.float32)
    for i, (t, b) in enumerate(pairs):
        x[i, :, :14], x[i, :, 14:] = t, b
    return x


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
    assert a == pytest.approx(b, rel=1e-8)
    assert metrics.frechet_distance_from_statistics(mu1, s1, mu1, s1) < 1e-8
    # Singular covariances with a shared eigenbasis Q commute: d² = ‖μ1 − μ2‖² + Σ (√λ1 − √λ2)².
    q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    lam1 = np.r_[rng.uniform(0.5, 2, 4), np.zeros(8)]                       # rank 4
    lam2 = np.r_[np.zeros(6), rng.uniform(0.5, 2, 3), np.zeros(3)]         # rank 3
    c1, c2 = (q * lam1) @ q.T, (q * lam2) @ q.T
    want = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(lam1) - np.sqrt(lam2)) ** 2).sum()
    assert metrics.frechet_distance_from_statistics(mu1, c1, mu2, c2) == pytest.approx(want, rel=1e-8)


def test_covariance_is_the_unbiased_one():
    """Σ divides by N − 1 (Heusel et al. 2017's code, np.cov): on 3 points by hand, and in FID."""
    x = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 3.0]])
    mu, sigma = metrics.gaussian_statistics(x)
    np.testing.assert_allclose(mu, [1.0, 1.0])
    # deviations (-1, -1), (1, -1), (0, 2): sums of products 2, 0, 6 over N - 1 = 2
    np.testing.assert_allclose(sigma, [[1.0, 0.0], [0.0, 3.0]], rtol=1e-12)


def test_fid_of_images_with_a_stub_classifier_is_the_hand_value():
    """Features known by hand (the two half-image means), 4 images a side: Σ over N − 1 shows.

    A: (±1, 0), (0, ±1): μ = 0, Σ = diag(2/3, 2/3). B: (0.2 ± 0.5, ±0.5) in all four sign pairs:
    μ = (0.2, 0), Σ = diag(1/3, 1/3). d² = 0.04 + 2 (√(2/3) − √(1/3))² (with N: 0.04 + 2 (√½ − ½)²).
    """
    stub = StubClassifier()
    a = halves([(1, 0), (-1, 0), (0, 1), (0, -1)])
    b = halves([(0.7, 0.5), (-0.3, -0.5), (0.7, -0.5), (-0.3, 0.5)])
    want = 0.04 + 2 * (np.sqrt(2 / 3) - np.sqrt(1 / 3)) ** 2
    mu, sigma = metrics.statistics(a, classifier=stub)
    np.testing.assert_allclose(mu, [0, 0], atol=1e-7)
    np.testing.assert_allclose(sigma, np.diag([2 / 3, 2 / 3]), atol=1e-6)
    assert metrics.frechet_distance(a, reference=b, classifier=stub) == pytest.approx(want, rel=1e-5)
    assert metrics.evaluate_samples(a, splits=2, reference=b, classifier=stub)["fid"] == pytest.approx(want, rel=1e-5)
    assert metrics.frechet_distance(a, reference=metrics.statistics(b, classifier=stub),
                                    classifier=stub) == pytest.approx(want, rel=1e-5)


def test_class_histogram_of_a_collapsed_set_keeps_every_class():
    """Only classes 2 and 5 predicted: still 10 entries, zeros where absent; accuracy None where unasked."""
    stub = StubClassifier()
    x = halves([(1, 0), (1, 0), (1, 0), (0, 1)])          # classes 2, 2, 2, 5
    want = [0, 0, 0.75, 0, 0, 0.25, 0, 0, 0, 0]
    assert metrics.class_histogram(x, classifier=stub).tolist() == want
    r = metrics.evaluate_samples(x, labels=np.array([2, 2, 5, 5]), splits=2, reference=x, classifier=stub)
    assert r["class_histogram"] == want
    assert r["class_accuracy"] == 0.75
    assert r["class_accuracy_per_class"] == [None, None, 1.0, None, None, 0.5, None, None, None, None]
    assert metrics.class_entropy(want) == pytest.approx(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)) / np.log(10))


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


def entropy(p, axis=-1):
    return -(p * np.log(np.where(p > 0, p, 1))).sum(axis=axis)


def test_inception_score_is_exp_of_the_entropy_gap():
    """One split: E KL(p(y|x) ‖ p(y)) = H(p(y)) − E H(p(y|x)), an independent route to the score."""
    rng = np.random.default_rng(5)
    for temperature in (0.1, 1.0, 10.0):
        logits = rng.standard_normal((2000, 10)) / temperature
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        want = np.exp(entropy(p.mean(axis=0)) - entropy(p).mean())
        assert metrics.inception_score_from_probs(p, splits=1) == (pytest.approx(want, rel=1e-10), 0.0)
    uniform = np.full((100, 10), 0.1)  # no confident prediction: 1
    assert metrics.inception_score_from_probs(uniform)[0] == pytest.approx(1.0)


def test_inception_score_takes_the_marginal_within_each_split():
    """p(y) is each split's own mean (Salimans et al.'s code): 10 one-hot rows of 10 classes score
    10 in one split, 2 in five splits of 2 distinct classes, 1 in ten splits of one row each,
    whatever order the rows are put in."""
    probs = np.eye(10)
    assert metrics.inception_score_from_probs(probs, splits=1) == (pytest.approx(10.0), 0.0)
    assert metrics.inception_score_from_probs(probs, splits=5) == (pytest.approx(2.0), pytest.approx(0.0, abs=1e-12))
    assert metrics.inception_score_from_probs(probs, splits=10) == (pytest.approx(1.0), pytest.approx(0.0, abs=1e-12))


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
    with pytest.raises(ValueError, match=r"centers: expected 1 columns \(the other set's d\), got shape \(8, 2\)"):
        metrics.mode_coverage(points[:, :1], centers, std)
    with pytest.raises(ValueError, match=r"points: expected finite values, got 1 NaN/inf"):
        metrics.mode_coverage(np.vstack([points, [[np.nan, 0.0]]]), centers, std)
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
    x = fake_images(100)
    with pytest.warns(UserWarning, match="look like \\[0, 1\\]"):
        metrics.check_images((x + 1) / 2)
    got = metrics.check_images(tg.tensor(x.astype(np.float64)))
    assert got.dtype == np.float32 and np.array_equal(got, x)


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
    probs, feats = metrics.probs_and_features(x, batch_size=7)             # batches of 7: rows stay in order
    with tg.no_grad():
        h = model.features(tg.tensor(x))
        logits = model.head(h).numpy().astype(np.float64)
    want = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probs, want / want.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(feats, h.numpy(), rtol=1e-5, atol=1e-5)
    assert feats.shape == (30, metrics.FEATURE_DIM)


def test_shipped_classifier_on_stored_real_test_images():
    """20 real test images (2 per class, ``tests/data``): right on at least 18, in [-1, 1] only.

    The same images fed in [0, 1] (background 0 instead of -1) lose most of the answers, and
    raw [0, 255] pixels are refused, so a classifier or a check that assumed another range fails.
    """
    images, labels, _ = real_sample()
    x = (images.astype(np.float32) / 127.5 - 1)[:, None]                    # 0 -> -1, 255 -> 1, by hand
    np.testing.assert_allclose(to_float_images(images), x, atol=1e-6)
    right = metrics.predict_proba(x).argmax(axis=1) == labels
    assert right.sum() >= 18, right
    assert (metrics.predict_proba((x + 1) / 2).argmax(axis=1) == labels).sum() <= 12
    with pytest.raises(ValueError, match="expected values in"):
        metrics.predict_proba(images[:, None].astype(np.float32))
    with tg.no_grad():                                                      # the network itself, unchecked
        raw = metrics.load_classifier()(tg.tensor(images[:, None].astype(np.float32))).numpy()
    assert (raw.argmax(axis=1) == labels).sum() <= 12
    # A collapsed set: only trousers (class 1) and bags (class 8); the histogram keeps all 10 classes.
    pick = np.flatnonzero(np.isin(labels, [1, 8]) & right)
    hist = metrics.class_histogram(x[pick])
    assert hist.tolist() == [0, 0.5, 0, 0, 0, 0, 0, 0, 0.5, 0]


@pytest.mark.skipif(not os.path.isdir(REAL_DATA), reason="needs the Debian package dataset-fashion-mnist")
def test_shipped_classifier_classifies_real_test_images():
    images, labels = fashion_mnist("test", root=REAL_DATA)
    stored, stored_labels, indices = real_sample()
    assert np.array_equal(images[indices], stored) and np.array_equal(labels[indices], stored_labels)
    x = to_float_images(images[:1000])
    pred = metrics.predict_proba(x).argmax(axis=1)
    assert (pred == labels[:1000]).mean() >= 0.90
    hist = metrics.class_histogram(x)
    assert hist.tolist() == (np.bincount(pred, minlength=10) / 1000).tolist()
    assert hist.min() > 0.05  # every class predicted


def test_image_metrics_end_to_end_with_the_shipped_classifier():
    x, y = fake_images(200, seed=1), fake_images(200, seed=2)
    assert metrics.frechet_distance(x, reference=x) < 1e-6
    assert metrics.frechet_distance(x, reference=y) == pytest.approx(metrics.frechet_distance(y, reference=x),
                                                                      rel=1e-6)
    p = metrics.predict_proba(x)
    assert metrics.inception_score(x, splits=1)[0] == pytest.approx(
        np.exp(entropy(p.mean(axis=0)) - entropy(p).mean()), rel=1e-9)
    labels = p.argmax(axis=1)
    r = metrics.evaluate_samples(x, labels=labels, reference=metrics.statistics(y))
    assert r["fid"] == pytest.approx(metrics.frechet_distance(x, reference=y), rel=1e-9)
    assert r["inception_score"] == pytest.approx(metrics.inception_score(x)[0])
    assert r["class_accuracy"] == 1.0 and r["n"] == 200
    assert r["class_histogram"] == (np.bincount(labels, minlength=10) / 200).tolist()
    assert r["class_histogram"] == pytest.approx(metrics.class_histogram(x).tolist())
    json.dumps(r)  # JSON-ready (None, not NaN, for classes with no sample)


def test_reference_statistics_are_cached_on_disk(data_env, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGEN_DATA", data_env["TINYGEN_DATA"])
    monkeypatch.setattr(metrics, "_REFERENCE", {})
    mu, sigma = metrics.reference_statistics(cache_dir=tmp_path)
    test_images, _ = load_images("fashion-mnist", split="test", value_range=(-1.0, 1.0))   # the 50 fake ones
    want_mu, want_sigma = metrics.statistics(test_images)
    np.testing.assert_allclose(mu, want_mu, rtol=1e-12)
    np.testing.assert_allclose(sigma, want_sigma, rtol=1e-12, atol=1e-15)
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
    assert not m["installed"]
    assert {"training set", "uniform noise"} <= set(m["calibration"])
    # Recomputed from the weights the lesson wrote and the (fake) data it read: its test accuracy,
    # and two calibration rows that draw no random numbers (the seed-0 training subset, the blurred test set).
    model = metrics.load_classifier(path=out / "classifier.npz")
    x_train, _, x_test, y_test = load_train_test(data_dir=os.path.join(data_env["TINYGEN_DATA"], "fashion-mnist"),
                                                 value_range=(-1.0, 1.0), limit=300)
    probs, feats = metrics.probs_and_features(x_test, classifier=model)
    assert m["test_accuracy"] == pytest.approx((probs.argmax(axis=1) == y_test).mean(), abs=1e-12)
    reference = metrics.gaussian_statistics(feats)
    blur = lesson_definitions(LESSON, "gaussian_blur").gaussian_blur
    n = len(x_train)
    for name, images in (("training set", x_train[np.random.default_rng(0).choice(n, n, replace=False)]),
                         ("test set blurred (σ = 1 px)", blur(x_test[:n], 1.0))):
        want = metrics.evaluate_samples(images, reference=reference, classifier=model)
        got = m["calibration"][name]
        assert got["fid"] == pytest.approx(want["fid"], rel=1e-6), name
        assert got["inception_score"] == pytest.approx(want["inception_score"], rel=1e-6), name
        assert got["class_histogram"] == want["class_histogram"], name

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


def test_loading_the_classifier_leaves_the_global_rng_alone(monkeypatch):
    """A run that scores samples mid-training (lesson 21's FID curve) must draw the same numbers
    whether the classifier was built before (a fresh run) or after (a resumed run) a checkpoint."""
    import tinygen as tg
    from tinygen.utils import metrics
    monkeypatch.setattr(metrics, "_CLASSIFIERS", {})        # force a fresh build
    tg.manual_seed(5)
    expected = tg.randn(3).numpy()
    tg.manual_seed(5)
    metrics.load_classifier()
    np.testing.assert_array_equal(tg.randn(3).numpy(), expected)

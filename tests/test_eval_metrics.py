"""tinygen.utils.metrics, lesson 25's section: KID, precision/recall, density/coverage, FID∞,
nearest neighbours, the data-copying test C_T and the 1-NN two-sample test.

Known answers: identical sets, far-apart sets, 1-D points whose k-NN radii are read off by hand,
MMD² by a direct double loop, (N, FID) points on a line, a copying set against an independent
one. One test uses real Fashion-MNIST (skipped where it is not installed): KID of two halves of
the test set is near 0, and far from 0 for a noisy half.
"""
import os

import numpy as np
import pytest

from tinygen.utils import metrics
from tinygen.utils.data import fashion_mnist, to_float_images

REAL_DATA = "/usr/share/datasets/fashion-mnist"


def gaussian(n, d=8, seed=0, shift=0.0):
    return np.random.default_rng(seed).standard_normal((n, d)) + shift


# 1-D points placed by hand (radii worked out in the docstrings below).
REAL_1D = np.array([[-5.0], [0.0], [1.0], [3.0]])
FAKE_1D = np.array([[0.5], [2.5], [5.0], [6.0], [10.0]])


# ------------------------------------------------ k-NN radii
def test_kth_neighbour_distances_by_hand_and_with_duplicates():
    """From -5: 5, 6, 8; from 0: 1, 3, 5; from 1: 1, 2, 6; from 3: 2, 3, 8 (the row itself left out)."""
    np.testing.assert_allclose(metrics.kth_neighbour_distances(REAL_1D, 1), [5, 1, 1, 2])
    np.testing.assert_allclose(metrics.kth_neighbour_distances(REAL_1D, 2), [6, 3, 2, 3])
    np.testing.assert_allclose(metrics.kth_neighbour_distances(REAL_1D, 3), [8, 5, 6, 8])
    # A duplicate is a neighbour at distance 0; the row itself is not.
    dup = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(metrics.kth_neighbour_distances(dup, 1), [0, 0, 5])
    np.testing.assert_allclose(metrics.kth_neighbour_distances(dup, 2), [5, 5, 5])
    # Blocks of a few rows give the same answer as one block.
    x = gaussian(300, seed=3)
    np.testing.assert_allclose(metrics.kth_neighbour_distances(x, 4, max_bytes=8 * 300 * 7),
                               metrics.kth_neighbour_distances(x, 4), rtol=1e-12)


# ------------------------------------------------ precision and recall
def test_precision_recall_of_identical_and_far_apart_sets():
    x = gaussian(500)
    assert metrics.precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}
    assert metrics.precision_recall(x, gaussian(400, seed=1, shift=50.0)) == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_on_points_placed_by_hand():
    """k = 1: real balls [-10, 0], [-1, 1], [0, 2], [1, 5]; fake radii 2, 2, 1, 1, 4, balls
    [-1.5, 2.5], [0.5, 4.5], [4, 6], [5, 7], [6, 14].
    Precision: 0.5, 2.5 and 5 (on the boundary of [1, 5]: ≤ counts) are inside, 6 and 10 are not: 3/5.
    Recall: 0, 1 and 3 are inside, -5 is not: 3/4.
    k = 2: real radii 6, 3, 2, 3, balls [-11, 1], [-3, 3], [-1, 3], [0, 6]: only 10 is outside: 4/5;
    fake radii 4.5, 2.5, 2.5, 3.5, 5, balls [-4, 5], [0, 5], [2.5, 7.5], [2.5, 9.5], [5, 15]: 3/4."""
    assert metrics.precision_recall(REAL_1D, FAKE_1D, k=1) == {"precision": 0.6, "recall": 0.75}
    assert metrics.precision_recall(REAL_1D, FAKE_1D, k=2) == {"precision": 0.8, "recall": 0.75}
    # Swapping the sets swaps the roles: precision of the real set in the fake manifold = recall.
    swapped = metrics.precision_recall(FAKE_1D, REAL_1D, k=1)
    assert swapped == {"precision": 0.75, "recall": 0.6}


def test_precision_recall_of_a_narrow_set_is_precise_but_not_varied():
    """Samples from the centre of the real distribution only: all inside (precision 1), but they
    cover little of it (recall well below the full set's 1)."""
    real = gaussian(1000, d=2, seed=4)
    narrow = gaussian(1000, d=2, seed=5) * 0.2
    r = metrics.precision_recall(real, narrow)
    assert r["precision"] > 0.95 and r["recall"] < 0.35


# ------------------------------------------------ density and coverage
def test_density_coverage_of_identical_and_far_apart_sets():
    """Identical sets: each ball holds its centre and the k - 1 nearer neighbours (strict <), so
    density is exactly k N / (k N) = 1."""
    x = gaussian(500)
    assert metrics.density_coverage(x, x) == {"density": 1.0, "coverage": 1.0}
    assert metrics.density_coverage(x, x, k=3) == {"density": 1.0, "coverage": 1.0}
    assert metrics.density_coverage(x, gaussian(400, seed=1, shift=50.0)) == {"density": 0.0, "coverage": 0.0}


def test_density_coverage_on_points_placed_by_hand():
    """k = 1: open real balls (-10, 0), (-1, 1), (0, 2), (1, 5). 0.5 is in two balls, 2.5 in one,
    5 is on the boundary of (1, 5) (strict: not in), 6 and 10 in none: density 3 / (1·5) = 0.6;
    the balls of 0, 1 and 3 hold a sample, that of -5 does not: coverage 3/4.
    k = 2: balls (-11, 1), (-3, 3), (-1, 3), (0, 6): 0.5 in 4, 2.5 in 3, 5 in 1, 6 (boundary) and
    10 in none: density 8 / (2·5) = 0.8; every ball holds a sample: coverage 1."""
    assert metrics.density_coverage(REAL_1D, FAKE_1D, k=1) == {"density": 0.6, "coverage": 0.75}
    assert metrics.density_coverage(REAL_1D, FAKE_1D, k=2) == {"density": 0.8, "coverage": 1.0}


def test_density_and_coverage_of_one_repeated_point_and_of_an_outlier():
    """Every sample a copy of one real point c, held by B balls (counted here by brute force):
    density = 200 B / (5 · 200) = B / 5, coverage = B / 1000 (mode collapse: tiny). One far
    outlier among good samples barely moves density or coverage."""
    real = gaussian(1000, d=2, seed=6)
    c = real[np.argmin((real ** 2).sum(axis=1))]
    d = np.sqrt(((real[:, None] - real[None]) ** 2).sum(-1))
    radius = np.sort(d, axis=1)[:, 5]                                       # column 0 is the point itself
    balls = int((np.sqrt(((real - c) ** 2).sum(-1)) < radius).sum())
    r = metrics.density_coverage(real, np.tile(c, (200, 1)))
    assert balls >= 2 and r == {"density": pytest.approx(balls / 5), "coverage": pytest.approx(balls / 1000)}
    fake = gaussian(1000, d=2, seed=7)
    with_outlier = np.vstack([fake[:-1], [[1e3, 1e3]]])
    a, b = metrics.density_coverage(real, fake), metrics.density_coverage(real, with_outlier)
    assert abs(a["density"] - b["density"]) < 0.01 and abs(a["coverage"] - b["coverage"]) < 0.01


# ------------------------------------------------ KID
def loop_mmd2(x, y):
    """MMD²_u by a plain double loop over pairs, k(a, b) = (a·b / d + 1)³."""
    d = x.shape[1]

    def k(a, b):
        return (sum(a[i] * b[i] for i in range(d)) / d + 1) ** 3
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_and_kid_match_a_direct_loop():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)) + 0.5
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(loop_mmd2(x, y), rel=1e-12)
    np.testing.assert_allclose(metrics.polynomial_kernel(x, y)[1, 2], (x[1] @ y[2] / 3 + 1) ** 3, rtol=1e-12)
    # Subsets as large as both sets: each subset is a reordering of the sets, so every subset gives
    # the loop's value and the std is 0.
    y4 = y[:4]
    mean, std = metrics.kernel_inception_distance(x, y4, subsets=3, subset_size=10)
    assert mean == pytest.approx(loop_mmd2(y4, x), rel=1e-12) and std == pytest.approx(0, abs=1e-12)


def test_kid_of_identical_and_shifted_sets():
    """Same distribution: about 0 and negative for some subsets (the estimator is unbiased);
    a shift by 1 in each of 8 coordinates: about 2 ⟨μ-shift⟩ terms of order 1, far from 0."""
    x = gaussian(2000, seed=9)
    same, same_std = metrics.kernel_inception_distance(x, gaussian(2000, seed=10), subsets=20, subset_size=500)
    shifted, _ = metrics.kernel_inception_distance(x, gaussian(2000, seed=10, shift=1.0), subsets=20,
                                                   subset_size=500)
    assert abs(same) < 0.02 and shifted > 1.0
    assert abs(metrics.kernel_inception_distance(x, x, subsets=5, subset_size=500)[0]) < 0.02
    # Two samples of one distribution: MMD²_u is below 0 for some of the subsets.
    values = [metrics.kernel_inception_distance(x, gaussian(2000, seed=10), subsets=1, subset_size=200,
                                                seed=s)[0] for s in range(10)]
    assert min(values) < 0 < max(values)
    # KID is unbiased: the same value at 200 and at 1,000 rows (FID would fall with N).
    far = gaussian(2000, seed=11, shift=0.3)
    small = metrics.kernel_inception_distance(x, far, subsets=50, subset_size=200)[0]
    large = metrics.kernel_inception_distance(x, far, subsets=10, subset_size=1000)[0]
    assert small == pytest.approx(large, rel=0.15)


@pytest.mark.skipif(not os.path.isdir(REAL_DATA), reason="needs the Debian package dataset-fashion-mnist")
def test_kid_of_two_halves_of_the_test_set_is_near_zero():
    images, _ = fashion_mnist("test", root=REAL_DATA)
    x = to_float_images(images[:2000])
    f = metrics.features(x)
    mean, std = metrics.kernel_inception_distance(f[:1000], f[1000:], subsets=20, subset_size=1000)
    rng = np.random.default_rng(0)
    noisy = np.clip(x[1000:] + 0.3 * rng.standard_normal(x[1000:].shape).astype(np.float32), -1, 1)
    noisy_mean, _ = metrics.kernel_inception_distance(f[:1000], metrics.features(noisy), subsets=20,
                                                      subset_size=1000)
    assert abs(mean) < 0.05 and noisy_mean > 20 * max(abs(mean), 0.01), (mean, std, noisy_mean)


# ------------------------------------------------ FID∞
def test_extrapolate_fid_recovers_a_line_in_one_over_n():
    ns = [1000, 2000, 5000, 10000]
    fids = [3.0 + 4000.0 / n for n in ns]
    r = metrics.extrapolate_fid(ns, fids)
    assert r["fid_inf"] == pytest.approx(3.0, abs=1e-9) and r["slope"] == pytest.approx(4000.0, rel=1e-9)
    assert r["n"] == ns and r["fid"] == fids
    # A line in N (not 1/N) is not what the fit models: the intercept is not FID at N = 0.
    r = metrics.extrapolate_fid([2, 4], [1.0, 2.0])
    assert r["fid_inf"] == pytest.approx(3.0) and r["slope"] == pytest.approx(-4.0)


def test_fid_infinity_removes_the_bias_of_small_n():
    """Samples of the very Gaussian the reference describes: true FID 0; FID_N is biased upwards,
    about Tr(Σ)/N from the mean alone, while the extrapolation lands near 0."""
    d = 16
    fake = gaussian(10000, d=d, seed=12)
    ref = (np.zeros(d), np.eye(d))
    r = metrics.fid_infinity(fake, ref)
    assert r["n"] == [2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]
    assert r["fid"][-1] == pytest.approx(metrics.frechet_distance_from_statistics(
        *metrics.gaussian_statistics(fake), *ref), rel=1e-12)             # N = M: every sample, no draw
    assert r["fid"][0] > 4 * d / 2000 * 0.5 and abs(r["fid_inf"]) < 0.1 * r["fid"][0]
    r2 = metrics.fid_infinity(fake, ref, ns=[500, 10000])
    assert r2["n"] == [500, 10000] and r2["fid"][0] > r2["fid"][1]


# ------------------------------------------------ nearest neighbours
def test_nearest_neighbours_match_brute_force_in_blocks():
    rng = np.random.default_rng(13)
    pool = rng.uniform(-1, 1, (300, 1, 4, 4)).astype(np.float32)
    queries = rng.uniform(-1, 1, (50, 1, 4, 4)).astype(np.float32)
    queries[7] = pool[123]                                                  # an exact copy
    d, i = metrics.nearest_neighbours(queries, pool, k=3, max_bytes=8 * 300 * 4)   # blocks of 4 queries
    full = np.sqrt(((queries.reshape(50, 1, -1).astype(np.float64) - pool.reshape(1, 300, -1)) ** 2).sum(-1))
    np.testing.assert_array_equal(i, np.argsort(full, axis=1, kind="stable")[:, :3])
    np.testing.assert_allclose(d, np.sort(full, axis=1)[:, :3], rtol=1e-12)
    assert i[7, 0] == 123 and d[7, 0] == 0.0
    assert d.dtype == np.float64 and i.dtype == np.int64
    d1, i1 = metrics.nearest_neighbours(queries.reshape(50, -1).astype(np.float64), pool.reshape(300, -1), k=300)
    np.testing.assert_array_equal(i1, np.argsort(full, axis=1, kind="stable"))


# ------------------------------------------------ data copying
def test_mann_whitney_z_by_hand():
    """a = (1, 2, 3), b = (0, 2.5, 4): U = 0 + 2 + 3 = 5 pairs with b above, mean 9/2, variance
    9·7/12: Z = 0.5 / sqrt(5.25). A tie counts a half: b = (2,) gives U = 1 + ½ = 1.5 = mean: Z = 0."""
    assert metrics.mann_whitney_z([1, 2, 3], [0, 2.5, 4]) == pytest.approx(0.5 / np.sqrt(5.25), rel=1e-12)
    assert metrics.mann_whitney_z([3, 1, 2], [2]) == pytest.approx(0.0, abs=1e-12)
    assert metrics.mann_whitney_z([1, 2, 3], [0, 0]) == pytest.approx(-3 / np.sqrt(6 * 6 / 12), rel=1e-12)


def test_kmeans_finds_separated_clusters():
    rng = np.random.default_rng(14)
    x = np.vstack([rng.standard_normal((100, 2)), rng.standard_normal((60, 2)) + [50, 0]])
    centres, labels = metrics.kmeans(x, 2)
    assert len(set(labels[:100])) == 1 and len(set(labels[100:])) == 1 and labels[0] != labels[-1]
    np.testing.assert_allclose(centres[labels[0]], x[:100].mean(axis=0), rtol=1e-12)


def test_data_copying_test_weights_cells_by_the_held_out_points():
    """Two far-apart cells. C_T = Σ P_n(π) Z_U(π) / Σ P_n(π) with P_n(π) = 3/4 and 1/4 (the held-out
    points' shares, not the samples' 1/2 and 1/2), Z_U from the distances to the nearest training point."""
    rng = np.random.default_rng(15)
    train = np.vstack([rng.standard_normal((40, 2)), rng.standard_normal((40, 2)) + [100, 0]])
    test = np.vstack([rng.standard_normal((30, 2)), rng.standard_normal((10, 2)) + [100, 0]])
    gen = np.vstack([rng.standard_normal((25, 2)) * 0.5, rng.standard_normal((25, 2)) * 2 + [100, 0]])
    r = metrics.data_copying_test(train, test, gen, cells=2, min_samples=5)

    def dist(points):
        return np.sqrt(((points[:, None] - train[None]) ** 2).sum(-1)).min(axis=1)
    z = [metrics.mann_whitney_z(dist(test[:30]), dist(gen[:25])), metrics.mann_whitney_z(dist(test[30:]), dist(gen[25:]))]
    first = int(np.argmax(r["test_fraction"]))                             # the cell at the origin
    assert r["test_fraction"][first] == 0.75 and r["generated_fraction"][first] == 0.5
    assert r["z"][first] == pytest.approx(z[0]) and r["z"][1 - first] == pytest.approx(z[1])
    assert r["c_t"] == pytest.approx(0.75 * z[0] + 0.25 * z[1], rel=1e-12) and r["cells_used"] == 2
    # A cell with too few samples is left out, and C_T is the other cell's Z_U.
    r = metrics.data_copying_test(train, test, gen[:30], cells=2, min_samples=20)
    assert r["cells_used"] == 1 and r["c_t"] == pytest.approx(z[0], rel=1e-12)


def test_data_copying_flags_a_copying_set_and_not_an_independent_one():
    train, test = gaussian(5000, seed=16), gaussian(2000, seed=17)
    independent = gaussian(2000, seed=18)
    copies = train[:2000] + 0.01 * np.random.default_rng(19).standard_normal((2000, 8))
    underfit = gaussian(2000, seed=20) * 1.5                                # farther from training points
    c_ind = metrics.data_copying_test(train, test, independent, cells=10)["c_t"]
    c_copy = metrics.data_copying_test(train, test, copies, cells=10)["c_t"]
    c_under = metrics.data_copying_test(train, test, underfit, cells=10)["c_t"]
    assert abs(c_ind) < 3 and c_copy < -10 and c_under > 3, (c_ind, c_copy, c_under)


def test_one_nn_accuracy_copying_independent_and_disjoint():
    train = gaussian(1000, seed=21)
    copies = train + 1e-6
    r = metrics.one_nn_accuracy(train, copies)                             # each point's NN is its twin
    assert r == {"accuracy": 0.0, "accuracy_real": 0.0, "accuracy_fake": 0.0}
    r = metrics.one_nn_accuracy(train, gaussian(1000, seed=22))
    assert 0.44 < r["accuracy"] < 0.56
    assert metrics.one_nn_accuracy(train, gaussian(500, seed=23, shift=50.0)) == {
        "accuracy": 1.0, "accuracy_real": 1.0, "accuracy_fake": 1.0}
    # By hand: real 0, 1; fake 1.1, 5. NN: 0 -> 1 (real, right), 1 -> 1.1 (fake, wrong),
    # 1.1 -> 1 (real, wrong), 5 -> 1.1 (fake, right).
    r = metrics.one_nn_accuracy([[0.0], [1.0]], [[1.1], [5.0]])
    assert r == {"accuracy": 0.5, "accuracy_real": 0.5, "accuracy_fake": 0.5}


# ------------------------------------------------ errors
@pytest.mark.parametrize("call, error, message", [
    (lambda: metrics.precision_recall(np.zeros((5, 2)), np.zeros((5, 3))), ValueError, r"fake: expected 2 columns"),
    (lambda: metrics.precision_recall(np.zeros((3, 2)), np.zeros((5, 2))), ValueError, r"real: expected at least 4"),
    (lambda: metrics.precision_recall(np.zeros(5), np.zeros((5, 1))), ValueError, r"real: expected a 2-D array"),
    (lambda: metrics.density_coverage(np.zeros((9, 2)), np.zeros((5, 2)), k=0), ValueError, r"k: expected an int"),
    (lambda: metrics.density_coverage(np.full((9, 2), np.nan), np.zeros((5, 2))), ValueError, r"real: expected finite"),
    (lambda: metrics.kernel_inception_distance(np.zeros((9, 2)), np.zeros((9, 2)), subset_size=1), ValueError,
     r"subset_size"),
    (lambda: metrics.kernel_inception_distance(np.array([["a", "b"]] * 3), np.zeros((3, 2))), TypeError,
     r"real: expected a numeric"),
    (lambda: metrics.extrapolate_fid([100, 100], [1.0, 2.0]), ValueError, r"at least 2 distinct N"),
    (lambda: metrics.fid_infinity(np.zeros((20, 2)), (np.zeros(2), np.eye(2)), ns=[10, 30]), ValueError,
     r"ns: expected integers in \[2, 20\]"),
    (lambda: metrics.nearest_neighbours(np.zeros((3, 4)), np.zeros((5, 3))), ValueError, r"same trailing shape"),
    (lambda: metrics.nearest_neighbours(np.zeros((3, 4)), np.zeros((2, 4)), k=3), ValueError,
     r"pool: expected at least 3"),
    (lambda: metrics.data_copying_test(np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 2)), cells=10), ValueError,
     r"train: expected at least 10"),
    (lambda: metrics.mann_whitney_z([], [1.0]), ValueError, r"a, b: expected two non-empty"),
])
def test_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_data_copying_test_takes_precomputed_cells():
    """Centres from kmeans(train, k) give the same answer as k itself (the same seed), and
    centres of the wrong width are refused."""
    train, test, gen = gaussian(600, d=3, seed=24), gaussian(200, d=3, seed=25), gaussian(200, d=3, seed=26)
    centres = metrics.kmeans(train, 4, seed=0)[0]
    assert metrics.data_copying_test(train, test, gen, cells=centres, min_samples=5) == \
        metrics.data_copying_test(train, test, gen, cells=4, min_samples=5)
    with pytest.raises(ValueError, match=r"cells: expected 3 columns"):
        metrics.data_copying_test(train, test, gen, cells=np.zeros((4, 2)))


def test_duplicates_are_at_distance_exactly_zero():
    """‖a‖² + ‖b‖² − 2 a·b rounds to tiny non-zero (or negative) values for b = a; those are set
    to 0, so a repeated point has k-NN radius exactly 0 (not NaN, not 1e-8) and lies in its own ball."""
    rng = np.random.default_rng(27)
    x = rng.standard_normal((40, 128)) * rng.uniform(0.1, 10, (40, 1))
    dup = np.repeat(x, 2, axis=0)
    assert (metrics.kth_neighbour_distances(dup, 1) == 0).all()
    assert metrics.precision_recall(x, dup, k=1) == {"precision": 1.0, "recall": 1.0}

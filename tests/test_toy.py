"""tinygen.utils.toy: the ring and grid mixtures (shapes, dtypes, seeding, the published settings)."""
import numpy as np
import pytest

from tinygen.utils.metrics import mode_coverage
from tinygen.utils.toy import grid_centers, grid_of_gaussians, ring_centers, ring_of_gaussians


def test_ring_is_metz_et_al():
    points, centers, std = ring_of_gaussians(4000, rng=0)
    assert points.shape == (4000, 2) and points.dtype == np.float32
    assert centers.shape == (8, 2) and centers.dtype == np.float32 and std == 0.02
    assert np.allclose(np.linalg.norm(centers, axis=1), 2.0)          # radius 2
    angles = np.sort(np.mod(np.arctan2(centers[:, 1], centers[:, 0]), 2 * np.pi))
    assert np.allclose(np.diff(angles), 2 * np.pi / 8, atol=1e-6)     # evenly spaced
    nearest = np.linalg.norm(points[:, None] - centers[None], axis=2).argmin(axis=1)
    offsets = points - centers[nearest]
    assert abs(offsets.std() - 0.02) < 0.002                          # per-coordinate std
    assert np.bincount(nearest, minlength=8).min() > 400              # equal weights (500 expected)


def test_grid_is_pacgan():
    points, centers, std = grid_of_gaussians(5000, rng=1)
    assert points.shape == (5000, 2) and points.dtype == np.float32 and std == 0.05
    assert sorted({tuple(c) for c in centers.tolist()}) == sorted(
        (float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4))
    nearest = np.linalg.norm(points[:, None] - centers[None], axis=2).argmin(axis=1)
    assert abs((points - centers[nearest]).std() - 0.05) < 0.005


def test_data_covers_every_mode_with_high_quality():
    """The real data passes PacGAN's test: every mode covered, and 98.9% of the points high
    quality (a disc of radius 3 std holds 1 - exp(-9/2) of an isotropic 2-D Gaussian)."""
    for sampler, k in ((ring_of_gaussians, 8), (grid_of_gaussians, 25)):
        points, centers, std = sampler(2500, rng=2)
        cov = mode_coverage(points, centers, std)
        assert cov["modes_covered"] == k
        assert abs(cov["high_quality"] - (1 - np.exp(-4.5))) < 0.01


def test_seeding():
    a, _, _ = ring_of_gaussians(10, rng=np.random.default_rng(5))
    b, _, _ = ring_of_gaussians(10, rng=5)
    c, _, _ = ring_of_gaussians(10, rng=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert ring_of_gaussians(0, rng=0)[0].shape == (0, 2)


def test_options_and_errors():
    assert np.allclose(ring_centers(4, radius=1.0), [[1, 0], [0, 1], [-1, 0], [0, -1]], atol=1e-6)
    assert grid_centers(3, spacing=1.0).min() == -1 and grid_centers(3, spacing=1.0).shape == (9, 2)
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="n"):
            ring_of_gaussians(bad)
    with pytest.raises(ValueError, match="std"):
        grid_of_gaussians(5, std=0)
    with pytest.raises(ValueError, match="n_modes"):
        ring_of_gaussians(5, n_modes=0)
    with pytest.raises(ValueError, match="side"):
        grid_of_gaussians(5, side=0)


def test_scatter_frame_renders_points_over_data():
    from tinygen.utils.viz import scatter_frame
    data, _, _ = ring_of_gaussians(200, rng=0)
    frame = scatter_frame(data[:50] * 0, data, size=2, dpi=50, title="step 0")
    assert frame.shape == (100, 100, 3) and frame.dtype == np.uint8
    red = (frame[..., 0] > 200) & (frame[..., 1] < 100)
    ys, xs = np.nonzero(red)
    assert red.any() and abs(xs.mean() - 50) < 5 and abs(ys.mean() - 50) < 5   # the points at 0, centred
    with pytest.raises(ValueError, match="points"):
        scatter_frame(np.zeros((3, 3)))

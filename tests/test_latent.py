"""tinygen.latent: lerp, slerp, interpolate, gaussian_grid."""
from statistics import NormalDist

import numpy as np
import pytest

from tinygen.utils.latent import gaussian_grid, interpolate, lerp, slerp


def test_lerp_endpoints_and_midpoint():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(5), rng.standard_normal(5)
    path = lerp(a, b, [0.0, 0.25, 1.0])
    assert path.shape == (3, 5)
    np.testing.assert_allclose(path[0], a)
    np.testing.assert_allclose(path[1], 0.75 * a + 0.25 * b)
    np.testing.assert_allclose(path[2], b)


def test_slerp_follows_the_great_circle():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(16)
    b = rng.standard_normal(16)
    b *= np.linalg.norm(a) / np.linalg.norm(b)  # equal norms: slerp keeps the norm
    t = np.linspace(0, 1, 7)
    path = slerp(a, b, t)
    np.testing.assert_allclose(path[0], a, atol=1e-12)
    np.testing.assert_allclose(path[-1], b, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a), rtol=1e-12)
    # equal angular steps
    cos = [p @ q / (np.linalg.norm(p) * np.linalg.norm(q)) for p, q in zip(path, path[1:])]
    np.testing.assert_allclose(cos, cos[0], rtol=1e-10)
    # the straight line dips inside the sphere
    assert np.linalg.norm(lerp(a, b, [0.5])[0]) < np.linalg.norm(path[3]) - 1e-3


def test_slerp_batched_and_parallel_fallback():
    a = np.array([[1.0, 0.0], [2.0, 2.0]])
    b = np.array([[0.0, 1.0], [4.0, 4.0]])  # second pair is parallel: falls back to lerp
    path = slerp(a, b, [0.5])
    np.testing.assert_allclose(path[0, 0], [np.sqrt(0.5), np.sqrt(0.5)])
    np.testing.assert_allclose(path[0, 1], [3.0, 3.0])


def test_interpolate_and_errors():
    assert interpolate(np.zeros(3), np.ones(3), steps=4).shape == (4, 3)
    np.testing.assert_allclose(interpolate([1.0, 0.0], [0.0, 1.0], 3, "slerp")[1], [np.sqrt(0.5)] * 2)
    with pytest.raises(ValueError, match="steps: expected an int >= 2, got 1"):
        interpolate(np.zeros(3), np.ones(3), steps=1)
    with pytest.raises(ValueError, match="method: expected 'lerp' or 'slerp', got 'cubic'"):
        interpolate(np.zeros(3), np.ones(3), method="cubic")
    with pytest.raises(ValueError, match=r"z1: expected shape \(3,\)"):
        lerp(np.zeros(3), np.zeros(4), [0.5])


def test_gaussian_grid():
    g = gaussian_grid(3, 0.1, 0.9)
    q = NormalDist().inv_cdf(0.9)
    assert g.shape == (9, 2)
    np.testing.assert_allclose(g[0], [-q, q], atol=1e-12)     # top left: z2 high
    np.testing.assert_allclose(g[8], [q, -q], atol=1e-12)     # bottom right
    np.testing.assert_allclose(g[4], [0, 0], atol=1e-12)
    with pytest.raises(ValueError, match="n: expected an int >= 2"):
        gaussian_grid(1)
    with pytest.raises(ValueError, match="low, high"):
        gaussian_grid(3, 0.0, 0.9)

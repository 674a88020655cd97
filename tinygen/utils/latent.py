"""Walking a latent space: straight and great-circle interpolation, a grid of codes.

The decoder of an autoencoder or a GAN's generator maps codes to images, so
a path between two codes decodes to a morph between two images (slide 001,
"Decoder as generative model"). Works on NumPy arrays; wrap the result with
``tinygen.tensor`` to decode it.
"""
from statistics import NormalDist

import numpy as np


def _check_pair(z0, z1):
    z0, z1 = np.asarray(z0, dtype=np.float64), np.asarray(z1, dtype=np.float64)
    if z0.shape != z1.shape:
        raise ValueError(f"z1: expected shape {z0.shape} (z0's), got {z1.shape}")
    return z0, z1


def lerp(z0, z1, t):
    """Straight line (1 - t) z0 + t z1 for each t.

    Args:
        z0, z1: codes of equal shape (D,) (or (N, D) for N pairs).
        t: 1-D array of fractions in [0, 1], length T.

    Returns:
        float64 array (T, *z0.shape).

    Raises:
        ValueError: z0 and z1 differ in shape.
    """
    z0, z1 = _check_pair(z0, z1)
    t = np.asarray(t, dtype=np.float64).reshape((-1,) + (1,) * z0.ndim)
    return (1 - t) * z0 + t * z1


def slerp(z0, z1, t):
    """Great-circle path from z0 to z1 (Shoemake 1985; White 2016, "Sampling
    generative networks", the slerp of slide 001's GAN hacks).

        slerp(z0, z1; t) = sin((1-t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1,
        cos Ω = <z0, z1> / (|z0| |z1|)

    A Gaussian code in many dimensions lies near a sphere of radius sqrt(D);
    the straight line between two such codes cuts through the low-norm inside,
    where the prior puts almost no mass. slerp follows the arc instead (for
    codes of equal norm it keeps the norm). Falls back to
    :func:`lerp` for (anti)parallel codes, where the circle is not defined.

    Args and Returns: as for :func:`lerp`; the last axis is the code axis.
    """
    z0, z1 = _check_pair(z0, z1)
    t = np.asarray(t, dtype=np.float64).reshape((-1,) + (1,) * z0.ndim)
    n0 = np.linalg.norm(z0, axis=-1, keepdims=True)
    n1 = np.linalg.norm(z1, axis=-1, keepdims=True)
    cos = np.clip(np.sum(z0 * z1, axis=-1, keepdims=True) / np.maximum(n0 * n1, 1e-12), -1, 1)
    omega = np.arccos(cos)
    so = np.sin(omega)
    safe = so > 1e-6
    so = np.where(safe, so, 1.0)
    circle = (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / so
    return np.where(safe, circle, lerp(z0, z1, t.reshape(-1)))


def interpolate(z0, z1, steps=10, method="lerp"):
    """``steps`` codes from z0 to z1 inclusive, by "lerp" or "slerp".

    Raises:
        ValueError: steps < 2, or an unknown method.
    """
    if steps < 2:
        raise ValueError(f"steps: expected an int >= 2, got {steps}")
    paths = {"lerp": lerp, "slerp": slerp}
    if method not in paths:
        raise ValueError(f"method: expected 'lerp' or 'slerp', got {method!r}")
    return paths[method](z0, z1, np.linspace(0.0, 1.0, steps))


def gaussian_grid(n, low=0.05, high=0.95):
    """An n x n grid of 2-D codes at equally spaced N(0, 1) quantiles.

    Spacing by quantiles, not by value, gives each cell the same prior mass:
    the layout of Kingma & Welling 2014, figure 4 (the learned 2-D manifold).

    Args:
        n: cells per side (>= 2). low, high: the outer quantiles, 0 < low < high < 1.

    Returns:
        float64 array (n*n, 2); row r, column c is code ``r*n + c`` with
        z = (q_c, q_{n-1-r}) so that z_2 grows upwards in the picture.

    Raises:
        ValueError: n < 2 or quantiles outside (0, 1).
    """
    if n < 2:
        raise ValueError(f"n: expected an int >= 2, got {n}")
    if not 0 < low < high < 1:
        raise ValueError(f"low, high: expected 0 < low < high < 1, got {low}, {high}")
    q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(low, high, n)])
    zx, zy = np.meshgrid(q, q[::-1])
    return np.stack([zx.ravel(), zy.ravel()], axis=1)

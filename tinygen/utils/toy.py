"""2-D toy data for GANs: the ring of 8 Gaussians and the 5x5 grid of 25.

The two benchmarks of the mode-collapse literature. Every mode is a small
isotropic Gaussian, far from the others, so a sample can be assigned to its
nearest mode without ambiguity and "how many modes did the generator find"
becomes a count (see ``tinygen.utils.metrics.mode_coverage``).

* The **ring**: 8 modes evenly spaced on a circle of radius 2, std 0.02,
  the mixture of Metz et al. 2017 ("Unrolled generative adversarial
  networks", section 3.1) and of VEEGAN (Srivastava et al. 2017). PacGAN's
  code (Lin et al. 2018) uses the same ring at half the scale (radius 1,
  std 0.01): the same picture, since radius/std = 100 in both.
* The **grid**: 25 modes at {-4, -2, 0, 2, 4}², std 0.05, as in PacGAN
  (Lin et al. 2018, section 5) and VEEGAN.

Both return float32 points and draw from a NumPy ``Generator`` that the
caller seeds, so a dataset is reproduced exactly by its seed.
"""
import numpy as np

__all__ = ["ring_of_gaussians", "grid_of_gaussians", "ring_centers", "grid_centers"]


def ring_centers(n_modes=8, radius=2.0):
    """The ring's modes: float32 (n_modes, 2), mode i at angle 2πi/n_modes, i = 0 at (radius, 0)."""
    if n_modes < 1:
        raise ValueError(f"n_modes: expected an int >= 1, got {n_modes}")
    angle = 2 * np.pi * np.arange(n_modes) / n_modes
    return (radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)).astype(np.float32)


def grid_centers(side=5, spacing=2.0):
    """The grid's modes: float32 (side², 2), centred on 0, row-major in x then y
    (side 5, spacing 2: {-4, -2, 0, 2, 4}²)."""
    if side < 1:
        raise ValueError(f"side: expected an int >= 1, got {side}")
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    xx, yy = np.meshgrid(ticks, ticks, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)


def _mixture(n, centers, std, rng):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n: expected an int >= 0, got {n!r}")
    if not std > 0:
        raise ValueError(f"std: expected a float > 0, got {std}")
    rng = np.random.default_rng(rng)
    modes = rng.integers(0, len(centers), n)                 # equal weights
    points = centers[modes] + std * rng.standard_normal((n, 2))
    return points.astype(np.float32), centers, float(std)


def ring_of_gaussians(n, n_modes=8, radius=2.0, std=0.02, rng=None):
    """n points from an equal mixture of ``n_modes`` Gaussians on a circle.

    Source: Metz et al. 2017, section 3.1 (8 modes, radius 2, std 0.02);
    PacGAN's 2D-ring is the same at half the scale.

    Args:
        n: int >= 0, the number of points.
        n_modes: int >= 1. radius: the circle's radius. std: float > 0, the
            standard deviation of each mode, in both coordinates.
        rng: a ``numpy.random.Generator``, or a seed for ``default_rng``.

    Returns:
        ``(points, centers, std)``: float32 (n, 2), float32 (n_modes, 2) as
        :func:`ring_centers` gives them, and the std as a float.

    Raises:
        ValueError: n < 0 or not an int, n_modes < 1, std <= 0.
    """
    return _mixture(n, ring_centers(n_modes, radius), std, rng)


def grid_of_gaussians(n, side=5, spacing=2.0, std=0.05, rng=None):
    """n points from an equal mixture of side² Gaussians on a square grid.

    Source: Lin et al. 2018 (PacGAN), section 5: 25 modes at
    {-4, -2, 0, 2, 4}², std 0.05 (variance 0.0025).

    Args:
        n: int >= 0, the number of points.
        side: int >= 1, modes per row. spacing: the distance between
            neighbouring modes. std: float > 0, per coordinate.
        rng: a ``numpy.random.Generator``, or a seed for ``default_rng``.

    Returns:
        ``(points, centers, std)``: float32 (n, 2), float32 (side², 2) as
        :func:`grid_centers` gives them, and the std as a float.

    Raises:
        ValueError: n < 0 or not an int, side < 1, std <= 0.
    """
    return _mixture(n, grid_centers(side, spacing), std, rng)

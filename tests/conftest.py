"""Shared test fixtures: the backend parametrisation and float64 random inputs.

Every gradient test takes the ``device`` fixture, so it runs on NumPy and,
where CuPy sees a GPU, on CuPy; without one the CuPy cases skip cleanly.
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tinygen as tg  # noqa: E402
from tinygen.backend import cuda_available  # noqa: E402

BACKENDS = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not cuda_available(), reason="needs CuPy and a CUDA GPU"))]


@pytest.fixture(params=BACKENDS)
def device(request):
    """"cpu", and "cuda" where a GPU is present."""
    return request.param


def rand64(*shape, device="cpu", seed=0, low=None, high=None, away_from=None, requires_grad=True):
    """A float64 tensor of random values for gradient checks.

    Normal by default; uniform on [low, high) if given. ``away_from`` (a float)
    pushes values at least 0.1 away from that point (kinks such as ReLU at 0).
    """
    rng = np.random.default_rng(seed)
    if low is not None:
        data = rng.uniform(low, high, shape)
    else:
        data = rng.standard_normal(shape)
    if away_from is not None:
        d = data - away_from
        data = away_from + np.where(d >= 0, 1, -1) * (np.abs(d) + 0.1)
    return tg.tensor(data, dtype="float64", device=device, requires_grad=requires_grad)

"""Weight initialisers. Each writes into ``tensor.data`` in place and returns the tensor."""
import math

import numpy as np

from ..backend import as_device, default_generator


def _fill(tensor, values):
    tensor.data = as_device(values.astype(tensor.dtype), tensor.device)
    return tensor


def _fan_in(shape):
    # Linear (out, in); Conv2d (out, in, kH, kW); ConvTranspose2d (in, out, kH, kW)
    # also uses dim 1, as PyTorch does.
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive


def uniform_(tensor, low=0.0, high=1.0):
    """Fill with U(low, high) from the global generator."""
    return _fill(tensor, default_generator().uniform(low, high, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2) from the global generator."""
    return _fill(tensor, default_generator().normal(mean, std, tensor.shape))


def zeros_(tensor):
    """Fill with 0."""
    return _fill(tensor, np.zeros(tensor.shape))


def ones_(tensor):
    """Fill with 1."""
    return _fill(tensor, np.ones(tensor.shape))


def default_uniform_(weight, bias=None):
    """PyTorch's default for Linear and conv layers: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    This is kaiming_uniform with a = sqrt(5) (He et al. 2015), which reduces
    to that bound; the bias uses the same bound.
    """
    bound = 1.0 / math.sqrt(_fan_in(weight.shape))
    uniform_(weight, -bound, bound)
    if bias is not None:
        uniform_(bias, -bound, bound)
    return weight

"""Weight initialisers, as ``torch.nn.init``: same names, arguments and formulas.

Each writes into ``tensor.data`` in place (keeping the tensor's dtype and
device) and returns the tensor. Random values come from tinygen's global
generator (``tinygen.manual_seed``), or from ``generator`` (a
``numpy.random.Generator``) when one is passed; they are drawn in float64
on the CPU and then cast, so a seed gives the same weights on NumPy and CuPy.
"""
import math

import numpy as np

from ..autograd import Tensor
from ..backend import as_device, default_generator


def _check_tensor(tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor: expected a Tensor (e.g. a Parameter), got {type(tensor).__name__}")


def _fill(tensor, values):
    tensor.data = as_device(np.asarray(values).astype(tensor.dtype), tensor.device)
    return tensor


def _rng(generator):
    return default_generator() if generator is None else generator


_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    ================== =====================
    linear, conv*, sigmoid  1
    tanh               5/3
    relu               sqrt(2)
    leaky_relu         sqrt(2 / (1 + slope^2)), slope = ``param`` (default 0.01)
    selu               3/4
    ================== =====================

    The factor that keeps the variance of activations constant through a layer
    followed by that nonlinearity (He et al. 2015, "Delving Deep into
    Rectifiers", eq. 10 and sec. 2.2 for the rectifiers; PyTorch's table for the others).

    Raises:
        ValueError: an unknown ``nonlinearity``, or a ``param`` that is not a number.
    """
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"param: expected a number (the negative slope), got {param!r}")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"nonlinearity: expected one of {list(_LINEAR) + ['tanh', 'relu', 'leaky_relu', 'selu']}, "
                     f"got {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight, as PyTorch: dim 1 times the receptive field
    (the product of dims 2...) and dim 0 times it. Linear (out, in), Conv2d
    (out, in, kH, kW); ConvTranspose2d's (in, out, kH, kW) also uses dim 1.

    Raises:
        ValueError: the tensor has fewer than 2 dims.
    """
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"tensor: fan in and fan out need at least 2 dims, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: expected 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill ``tensor`` with U(a, b) samples, as ``torch.nn.init.uniform_``.

    Raises:
        TypeError: ``tensor`` is not a Tensor.
    """
    _check_tensor(tensor)
    return _fill(tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill ``tensor`` with N(mean, std^2) samples, as ``torch.nn.init.normal_``.

    Raises:
        TypeError: ``tensor`` is not a Tensor.
    """
    _check_tensor(tensor)
    return _fill(tensor, _rng(generator).normal(mean, std, tensor.shape))


def constant_(tensor, val):
    """Fill ``tensor`` with the value ``val``, as ``torch.nn.init.constant_``."""
    _check_tensor(tensor)
    return _fill(tensor, np.full(tensor.shape, val))


def zeros_(tensor):
    """Fill ``tensor`` with 0, as ``torch.nn.init.zeros_``."""
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill ``tensor`` with 1, as ``torch.nn.init.ones_``."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Fill ``tensor`` (at least 2-D) with U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)).

    Glorot & Bengio 2010, "Understanding the difficulty of training deep
    feedforward neural networks", eq. 16 (the "normalized initialization");
    as ``torch.nn.init.xavier_uniform_``.

    Raises:
        ValueError: fewer than 2 dims.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Fill ``tensor`` (at least 2-D) with N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)).

    The normal variant of Glorot & Bengio 2010, eq. 16 (same variance), as
    ``torch.nn.init.xavier_normal_``.

    Raises:
        ValueError: fewer than 2 dims.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Fill ``tensor`` (at least 2-D) with U(-bound, bound), bound = gain sqrt(3 / fan),
    gain = ``calculate_gain(nonlinearity, a)``, fan = fan_in or fan_out (``mode``).

    He et al. 2015, "Delving Deep into Rectifiers", eq. 10 (fan_in, forward
    pass) and eq. 14 (fan_out, backward pass), for a uniform distribution of
    that variance; as ``torch.nn.init.kaiming_uniform_``, whose arithmetic
    (std = gain / sqrt(fan), bound = sqrt(3) std) this repeats exactly.

    Args:
        a: the negative slope of the leaky ReLU after this layer (used when
            ``nonlinearity="leaky_relu"``; 0 means ReLU).
        mode: "fan_in" (default) or "fan_out".
        nonlinearity: a name :func:`calculate_gain` knows.

    Raises:
        ValueError: a bad ``mode`` or ``nonlinearity``, or fewer than 2 dims.
    """
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Fill ``tensor`` (at least 2-D) with N(0, std^2), std = gain / sqrt(fan).

    He et al. 2015, "Delving Deep into Rectifiers", eq. 10 (fan_in) and eq. 14
    (fan_out); as ``torch.nn.init.kaiming_normal_``. Arguments and errors as
    :func:`kaiming_uniform_`.
    """
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(fan), generator)


def default_init_(weight, bias=None):
    """PyTorch's default initialisation of Linear and convolution layers
    (``reset_parameters`` of ``torch.nn.Linear`` / ``_ConvNd``), in place:

        kaiming_uniform_(weight, a=sqrt(5))   ->  U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))

    With a = sqrt(5) the leaky-ReLU gain is sqrt(1/3), so kaiming's bound
    sqrt(3) gain / sqrt(fan_in) is 1/sqrt(fan_in) (He et al. 2015, eq. 10;
    the choice of a is PyTorch's). Returns ``weight``.
    """
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
    return weight

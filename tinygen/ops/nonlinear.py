"""Softmax, log-softmax and the smooth activations of ``torch.nn.functional``
(logsigmoid, softplus with beta and threshold, ELU, SELU, SiLU, GELU), and ``normalize``.

All are composites of differentiable ops, plus two elementwise Functions,
``Expm1`` (e^x - 1) and ``Erf``, whose backwards are written in tinygen ops
(e^x and 2/sqrt(pi) e^{-x^2}), so every derivative of every order is exact.
Where a function has pieces (softplus's linear region, ELU's two branches)
the piece is chosen by a constant mask (``where``), which is exact at every
order away from the switching point, as in PyTorch.

Argument checks live here (each raises ``ValueError`` naming the argument);
``tinygen.functional`` re-exports the functions under PyTorch's names.
"""
import math
import warnings

import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module
from . import arith
from .activation import sigmoid, softplus as _softplus, tanh, where
from .reduce import amax, sum as _sum


class Expm1(Function):
    """y = e^x - 1, accurate for small x (``expm1``); dy/dx = y + 1 = e^x."""

    def forward(self, x):
        return get_array_module(x).expm1(x)

    def backward(self, gy):
        return gy * (self.output() + 1)


def _erf_array(x):
    """The error function of an array: CuPy's or SciPy's ufunc, else ``math.erf`` per element."""
    xp = get_array_module(x)
    if xp is not np:
        from cupyx.scipy.special import erf
        return erf(x)
    try:
        from scipy.special import erf
        return erf(x).astype(x.dtype, copy=False)
    except ImportError:  # NumPy has no erf; math.erf is correctly rounded to double
        return np.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)


class Erf(Function):
    """y = erf x = 2/sqrt(pi) int_0^x e^{-t^2} dt; dy/dx = 2/sqrt(pi) e^{-x^2}."""

    def forward(self, x):
        return _erf_array(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * (2.0 / math.sqrt(math.pi)) * arith.exp(-(x * x))


def expm1(input):
    """e^input - 1, elementwise (``torch.expm1``), accurate near 0. Any shape; floats."""
    return Expm1()(input)


def erf(input):
    """The error function, elementwise (``torch.erf``). Any shape; floats.

    On NumPy it uses SciPy's ``erf`` where installed, else ``math.erf`` element
    by element (slow for large tensors, but exact to double precision).
    """
    return Erf()(input)


# ---------------------------------------------------------------- softmax
def _softmax_dim(input, dim, name):
    """``dim`` checked and made non-negative; None picks PyTorch's deprecated implicit dim."""
    ndim = max(input.ndim, 1)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                      "Change the call to include dim=X as an argument.", stacklevel=3)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or not -ndim <= dim < ndim:
        raise ValueError(f"dim: expected an int in [{-ndim}, {ndim}) for a {input.ndim}-d input, got {dim!r}")
    return int(dim) % ndim


def _prepare(input, dim, dtype, name):
    if dtype is not None:
        input = input.to(dtype)
    dim = _softmax_dim(input, dim, name)
    return input, dim


def _shift(input, dim):
    """The max along ``dim`` (keepdim) as a constant: subtracting it changes no
    softmax and no gradient, so it needs no gradient of its own."""
    return Tensor(input.data.max(axis=dim, keepdims=True))


def log_softmax(input, dim=None, *, dtype=None):
    """log softmax(input) = input - log sum_j exp(input_j) along ``dim``, computed stably.

    Args:
        input: any shape, float32/float64.
        dim: the dim to normalise over (an int; negative counts from the end).
            None picks PyTorch's deprecated implicit dim (0 for 0-, 1- and 3-d
            input, else 1) with a warning.
        dtype: cast ``input`` to this dtype first (as PyTorch's ``dtype=``).

    Returns:
        The shape and dtype of ``input``; exp of it sums to 1 along ``dim``.

    Raises:
        ValueError: ``dim`` is not an int inside [-ndim, ndim).

    The max m along ``dim`` is subtracted first and added back; it is held
    constant, which is exact at every order since the result does not depend
    on it. Source: ``torch.nn.functional.log_softmax``.
    """
    input, dim = _prepare(input, dim, dtype, "log_softmax")
    if input.ndim == 0:
        return input - input  # a single element: log 1 = 0, gradient 0
    m = _shift(input, dim)
    return input - (arith.log(_sum(arith.exp(input - m), dim, True)) + m)


def softmax(input, dim=None, *, dtype=None):
    """softmax(input)_i = exp(input_i) / sum_j exp(input_j) along ``dim``, computed stably.

    Args, returns and errors as :func:`log_softmax`: any shape, float32/float64,
    the result in (0, 1] summing to 1 along ``dim``. Source:
    ``torch.nn.functional.softmax`` (Bridle 1990, "Probabilistic interpretation
    of feedforward classification network outputs").
    """
    input, dim = _prepare(input, dim, dtype, "softmax")
    if input.ndim == 0:
        return input - input + 1.0
    e = arith.exp(input - _shift(input, dim))
    return e / _sum(e, dim, True)


# ---------------------------------------------------------------- activations
def logsigmoid(input):
    """log sigmoid(input) = -softplus(-input), stable for any input. Any shape; floats.

    Source: ``torch.nn.functional.logsigmoid``.
    """
    return -_softplus(-input)


def _number(value, name, low=None):
    """``value`` as a float; ValueError naming ``name`` unless it is a number (> low if given)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if low is not None and value <= low:
        raise ValueError(f"{name}: expected a number > {low}, got {value!r}")
    return float(value)


def softplus(input, beta=1.0, threshold=20.0):
    """softplus(x) = 1/beta log(1 + e^{beta x}), and x itself where beta x > threshold.

    Args:
        input: any shape, float32/float64.
        beta: a non-zero number, the sharpness (default 1).
        threshold: above it (in beta x) the function is linear, as in PyTorch
            (e^{-20} is below float32's resolution there anyway).

    Returns:
        input's shape and dtype. The gradient is sigmoid(beta x) below the
        threshold and exactly 1 above it (second derivative 0), as PyTorch's.

    Raises:
        ValueError: beta is 0 or not a number, or threshold not a number.

    Source: ``torch.nn.functional.softplus`` (Dugas et al. 2001).
    """
    beta = _number(beta, "beta")
    if beta == 0:
        raise ValueError("beta: expected a non-zero number, got 0")
    threshold = _number(threshold, "threshold")
    z = input if beta == 1 else input * beta
    linear = z.data > threshold
    y = _softplus(z) if beta == 1 else _softplus(z) / beta
    if not linear.any():
        return y
    return where(linear, input, y)


def elu(input, alpha=1.0, inplace=False):
    """ELU: x for x > 0, else alpha (e^x - 1) (Clevert et al. 2016, eq. 15).

    Args:
        input: any shape, float32/float64. alpha: the negative saturation value.
        inplace: accepted for PyTorch's signature; tinygen always returns a new
            tensor and leaves ``input`` unchanged.

    Returns:
        input's shape and dtype. The exponential branch is evaluated only on
        x <= 0 (no overflow in its gradient). Source: ``torch.nn.functional.elu``.
    """
    alpha = _number(alpha, "alpha")
    positive = input.data > 0
    return where(positive, input, expm1(where(positive, 0.0, input)) * alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """SELU: scale * elu(x, alpha) with PyTorch's constants alpha = 1.6733, scale = 1.0507
    (Klambauer et al. 2017, eq. 2). Shapes and ``inplace`` as :func:`elu`."""
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def silu(input, inplace=False):
    """SiLU (swish): x sigmoid(x) (Elfwing et al. 2018; Ramachandran et al. 2017).
    Any shape; floats. ``inplace`` as :func:`elu`. Source: ``torch.nn.functional.silu``."""
    return input * sigmoid(input)


def gelu(input, approximate="none"):
    """GELU: x Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel 2016, section 2).

    Args:
        input: any shape, float32/float64.
        approximate: "none" (default): x/2 (1 + erf(x / sqrt 2)), exactly;
            "tanh": x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as PyTorch.

    Raises:
        ValueError: ``approximate`` is neither "none" nor "tanh".

    Source: ``torch.nn.functional.gelu``.
    """
    if approximate == "none":
        return input * 0.5 * (erf(input * (1.0 / math.sqrt(2.0))) + 1.0)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (tanh(inner) + 1.0)
    raise ValueError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")


# ---------------------------------------------------------------- normalize
def normalize(input, p=2.0, dim=1, eps=1e-12):
    """input / max(||input||_p, eps), the norm taken along ``dim`` (PyTorch's ``F.normalize``).

    Args:
        input: any shape with the dim(s) ``dim``, float32/float64.
        p: the norm's exponent, a number > 0 or ``inf`` (max |x|). Default 2.
        dim: an int or a tuple of ints (default 1: each row of an (N, D) input).
        eps: the smallest denominator, > 0.

    Returns:
        input's shape and dtype; each slice along ``dim`` has norm 1 (or is
        input / eps where its norm is below eps).

    Raises:
        ValueError: p not > 0, eps not > 0, or ``dim`` out of range.

    The gradient is the exact one of the formula: where the norm is below
    eps, the denominator is the constant eps (as ``clamp_min`` in PyTorch),
    and no 0/0 from the norm's own gradient at 0 enters the graph.
    """
    p = _number(p, "p", 0)
    eps = _number(eps, "eps", 0)
    if p == math.inf:
        norm = amax(arith.abs(input), dim, True)
        inside = norm.data >= eps
        return input / where(inside, norm, eps)
    if p == 2:
        s = _sum(input * input, dim, True)
        inside = get_array_module(s.data).sqrt(s.data) >= eps
        root = arith.sqrt(where(inside, s, 1.0))
    else:
        a = arith.abs(input)
        s = _sum(a if p == 1 else a ** p, dim, True)
        inside = s.data ** (1.0 / p) >= eps
        root = where(inside, s, 1.0)
        root = root if p == 1 else root ** (1.0 / p)
    return input / where(inside, root, eps)

"""Activations, ``where`` and ``maximum``.

ReLU and LeakyReLU are piecewise linear: their backward is ``gy * mask`` with
the mask a constant array. That is exact at every order (the second
derivative is zero almost everywhere) and it keeps the gradient penalty cheap:
its double backward through a LeakyReLU critic is one more masked multiply
per layer (tests/test_gradient_penalty.py checks that penalty end to end).
"""
import numpy as np

from ..autograd import Function, Tensor
from ..backend import as_device, default_generator, get_array_module
from ..kernels.threads import elementwise
from . import arith, reduce
from .shape import reshape


def _times_mask(x, mask):
    """x * mask; same-shape NumPy arrays on both cores (``kernels.threads``), into x's layout."""
    if type(x) is np.ndarray and type(mask) is np.ndarray and x.shape == mask.shape:
        return elementwise(np.multiply, x, mask, out=np.empty_like(x, dtype=np.result_type(x, mask)))
    return x * mask


class MaskedLinear(Function):
    """y = x * mask for a constant mask array: ReLU, LeakyReLU, where, dropout."""

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return _times_mask(x, self.mask)

    def backward(self, gy):
        return _times_mask(gy, self.mask)


class Clamp(Function):
    """y = clip(x, lo, hi); dy/dx = 1 inside [lo, hi], 0 outside (a constant mask)."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        xp = get_array_module(x)
        self.inside = ((x >= self.lo) & (x <= self.hi)).astype(x.dtype)
        return xp.clip(x, self.lo, self.hi)

    def backward(self, gy):
        return gy * self.inside


class Where(Function):
    """y = where(c, a, b); dy/da = c, dy/db = 1 - c (c a constant mask)."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        return get_array_module(a).where(self.cond, a, b)

    def backward(self, gy):
        a, b = self.inputs
        mask = self.cond.astype(gy.dtype)
        ga = reduce.sum_to(gy * mask, a.shape) if self.needs_grad[0] else None
        gb = reduce.sum_to(gy * (1 - mask), b.shape) if self.needs_grad[1] else None
        return ga, gb


class Sigmoid(Function):
    """y = 1 / (1 + e^-x); dy/dx = y (1 - y)."""

    def forward(self, x):
        # e^{-|x|} never overflows; x >= 0: 1/(1+e^{-x}), x < 0: e^{x}/(1+e^{x}).
        # Accurate in both tails (0.5*(tanh(x/2)+1) loses the negative tail).
        xp = get_array_module(x)
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1, e) / (1 + e)

    def backward(self, gy):
        y = self.output()
        return gy * y * (1 - y)


class Tanh(Function):
    """y = tanh x; dy/dx = 1 - y^2."""

    def forward(self, x):
        return get_array_module(x).tanh(x)

    def backward(self, gy):
        y = self.output()
        return gy * (1 - y * y)


class Softplus(Function):
    """y = log(1 + e^x); dy/dx = sigmoid(x)."""

    def forward(self, x):
        return get_array_module(x).logaddexp(0, x)  # log(1 + e^x) without overflow

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


def relu(x):
    """max(x, 0). Shape and dtype of x."""
    return MaskedLinear(_step_mask(x.data, 0.0))(x)


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, else negative_slope * x (Maas et al. 2013). DCGAN's D uses 0.2."""
    return MaskedLinear(_step_mask(x.data, negative_slope))(x)


def _step_mask(x, low):
    """The mask 1 where x > 0, else ``low`` (0 for ReLU), in x's dtype and layout; on both cores for NumPy.
    (np.where with scalar branches is ~15x slower than these three in-place passes.)"""
    def fill(xs, out):
        get_array_module(xs).greater(xs, 0, out=out)
        if low:
            out *= 1.0 - low
            out += low
        return out
    xp = get_array_module(x)
    mask = xp.empty_like(x)
    return elementwise(fill, x, out=mask) if xp is np else fill(x, mask)


def sigmoid(x):
    """1 / (1 + e^-x)."""
    return Sigmoid()(x)


def tanh(x):
    """Hyperbolic tangent."""
    return Tanh()(x)


def softplus(x):
    """log(1 + e^x), computed stably."""
    return Softplus()(x)


def clamp(input, min=None, max=None):
    """Clip ``input`` into [min, max] (either bound may be None), as ``torch.clamp``.
    The gradient is 1 inside the bounds and 0 outside.

    Raises:
        ValueError: both bounds are None.
    """
    if min is None and max is None:
        raise ValueError("clamp: expected at least one of min and max, got neither")
    lo = -float("inf") if min is None else min
    hi = float("inf") if max is None else max
    return Clamp(lo, hi)(input)


def check_probability(p):
    """Return ``p`` if it is a dropout probability in [0, 1); else raise ValueError naming ``p``."""
    if not 0 <= p < 1:
        raise ValueError(f"p: expected a probability in [0, 1), got {p}")
    return p


def dropout(x, p=0.5, training=True):
    """Inverted dropout (Srivastava et al. 2014): zero each element with
    probability p and scale the rest by 1/(1-p), so the expectation is
    unchanged; identity when not training. The mask comes from the global
    generator (``manual_seed``) and is a constant, so the op is linear in x.

    Raises:
        ValueError: p is outside [0, 1).
    """
    check_probability(p)
    if not training or p == 0:
        return x
    keep = default_generator().random(x.shape) >= p
    mask = as_device((keep / (1 - p)).astype(x.dtype), x.device)
    return MaskedLinear(mask)(x)


def where(condition, input, other):
    """Elementwise ``input if condition else other``, broadcasting all three, as ``torch.where``.

    ``condition`` is a constant (bool array or Tensor); gradients flow to
    ``input`` and ``other`` through constant 0/1 masks, exact at every order.
    Either branch may be a Python number.
    """
    from ._util import as_tensor
    cond = condition.data if isinstance(condition, Tensor) else condition
    like = input if isinstance(input, Tensor) else other
    return Where(cond)(as_tensor(input, like), as_tensor(other, like))


def maximum(input, other):
    """Elementwise max (broadcasting), as ``torch.maximum``; on ties the gradient goes to ``input``."""
    from ._util import as_tensor
    like = input if isinstance(input, Tensor) else other
    a, b = as_tensor(input, like), as_tensor(other, like)
    return where(a.data >= b.data, a, b)


def minimum(input, other):
    """Elementwise min (broadcasting), as ``torch.minimum``; on ties the gradient goes to ``input``."""
    from ._util import as_tensor
    like = input if isinstance(input, Tensor) else other
    a, b = as_tensor(input, like), as_tensor(other, like)
    return where(a.data <= b.data, a, b)


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(input))) over ``dim`` (an int or a tuple), stable, as ``torch.logsumexp``.

    The max m is subtracted first and added back. m is detached: the result
    does not depend on m, so its gradient through m is zero and dropping it is
    exact at every order.
    """
    m = reduce.amax(input, dim, keepdim=True).detach()
    y = arith.log(reduce.sum(arith.exp(input - m), dim, keepdim=True)) + m
    if keepdim:
        return y
    from ._util import normalize_axis
    dims = normalize_axis(dim, input.ndim)
    return reshape(y, [s for i, s in enumerate(input.shape) if i not in dims])

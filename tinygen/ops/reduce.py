"""Reductions and their adjoint, broadcasting.

``sum`` and ``broadcast_to`` are each other's backward, so gradients of any
order stay inside this pair. ``mean`` and ``var`` are composites of them.
"""
import builtins

from ..autograd import Function
from ..backend import get_array_module
from ._util import normalize_axis


class Sum(Function):
    """y = sum of x over axes; dy/dx = 1, so gy is broadcast back."""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim)
        self.x_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        # d sum / dx = 1 everywhere: put the reduced axes back and broadcast.
        return broadcast_to(_keepdims(gy, self.x_shape, self.axes, self.keepdims), self.x_shape)


class BroadcastTo(Function):
    """Repeat x along broadcast axes; the backward sums the copies (sum_to)."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        xp = get_array_module(x)
        return xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        # Every copy of an element contributed: sum them back.
        return sum_to(gy, self.x_shape)


class SumTo(Function):
    """Sum ``x`` down to ``shape`` under NumPy broadcasting rules (the adjoint of BroadcastTo)."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(self.shape) if s == 1 and x.shape[lead + i] != 1)
        y = x.sum(axis=axes, keepdims=True)
        return y.reshape(self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.x_shape)


class Max(Function):
    """y = max of x over axes; the gradient goes to the maximal entries."""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim)
        y = x.max(axis=self.axes, keepdims=True)
        # Ties share the gradient evenly, like torch.amax. The mask is a
        # constant, so the backward is linear in gy and exact at any order.
        mask = (x == y).astype(x.dtype)
        self.mask = mask / mask.sum(axis=self.axes, keepdims=True)
        return y if self.keepdims else y.reshape([s for i, s in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        x_shape = self.mask.shape
        return broadcast_to(_keepdims(gy, x_shape, self.axes, self.keepdims), x_shape) * self.mask


def _keepdims(gy, x_shape, axes, keepdims):
    if keepdims:
        return gy
    return gy.reshape([1 if i in axes else s for i, s in enumerate(x_shape)])


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (None = all, int or tuple); keeps reduced axes as 1 if ``keepdims``."""
    return Sum(axis, keepdims)(x)


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (NumPy rules). Backward: sum back to x's shape."""
    if x.shape == tuple(shape):
        return x
    return BroadcastTo(shape)(x)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``, the inverse of broadcasting ``shape`` to ``x.shape``."""
    if x.shape == tuple(shape):
        return x
    return SumTo(shape)(x)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``. The gradient goes to the maximal entries (split evenly on ties)."""
    return Max(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``: ``sum(x) / n``."""
    axes = normalize_axis(axis, x.ndim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    return sum(x, axes, keepdims) * (1.0 / n)


def var(x, axis=None, keepdims=False, correction=1):
    """Variance over ``axis``: ``sum((x - mean)^2) / (n - correction)``.

    ``correction=1`` (the default, as in PyTorch) is the unbiased estimate;
    normalisation layers use ``correction=0``. Written as a composite so its
    derivatives of every order are right by construction.
    """
    axes = normalize_axis(axis, x.ndim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    d = x - mean(x, axes, keepdims=True)
    return sum(d * d, axes, keepdims) * (1.0 / builtins.max(n - correction, 1))


"""Reductions and their adjoint, broadcasting.

``sum`` and ``broadcast_to`` are each other's backward, so gradients of any
order stay inside this pair. ``mean``, ``var`` and ``std`` are composites of
them. (``max``/``min`` along a dim, which pick entries by indexing, are in ``select.py``.)

PyTorch's spelling: ``dim`` (an int or a tuple) and ``keepdim``.
"""
import builtins

from ..autograd import Function, Tensor
from ..backend import get_array_module
from ._util import normalize_axis


class Sum(Function):
    """y = sum of x over dims; dy/dx = 1, so gy is broadcast back."""

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        self.axes = normalize_axis(self.dim, x.ndim)
        self.x_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        # d sum / dx = 1 everywhere: put the reduced axes back and broadcast.
        return broadcast_to(_keepdims(gy, self.x_shape, self.axes, self.keepdim), self.x_shape)


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
    """y = max of x over dims (``amax``); the gradient goes to the maximal entries."""

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        self.axes = normalize_axis(self.dim, x.ndim)
        y = x.max(axis=self.axes, keepdims=True)
        # Ties share the gradient evenly, like torch.amax. The mask is a
        # constant, so the backward is linear in gy and exact at any order.
        mask = (x == y).astype(x.dtype)
        self.mask = mask / mask.sum(axis=self.axes, keepdims=True)
        return y if self.keepdim else y.reshape([s for i, s in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        x_shape = self.mask.shape
        return broadcast_to(_keepdims(gy, x_shape, self.axes, self.keepdim), x_shape) * self.mask


def _keepdims(gy, x_shape, axes, keepdims):
    if keepdims:
        return gy
    return gy.reshape([1 if i in axes else s for i, s in enumerate(x_shape)])


def _count(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def sum(input, dim=None, keepdim=False):
    """Sum over ``dim`` (None = all dims, an int or a tuple of ints; negative counts
    from the end). ``keepdim`` keeps each reduced dim with size 1.

    Shapes: ``input`` any; the result drops (or keeps as 1) the reduced dims.
    Raises ValueError for a dim out of range.
    """
    return Sum(dim, keepdim)(input)


def broadcast_to(input, shape):
    """Broadcast ``input`` to ``shape`` (NumPy's rules, as ``torch.broadcast_to``).
    Backward: sum back to input's shape."""
    if input.shape == tuple(shape):
        return input
    return BroadcastTo(shape)(input)


def sum_to(input, shape):
    """Sum ``input`` down to ``shape``, the inverse of broadcasting ``shape`` to ``input.shape``
    (tinygen's own: the backward of every broadcasting op)."""
    if input.shape == tuple(shape):
        return input
    return SumTo(shape)(input)


def amax(input, dim=None, keepdim=False):
    """Maximum over ``dim`` (None = all dims, an int or a tuple), as ``torch.amax``.

    The gradient goes to the maximal entries, split evenly between ties (a
    constant mask, so exact at every order).
    """
    return Max(dim, keepdim)(input)


def amin(input, dim=None, keepdim=False):
    """Minimum over ``dim``, as ``torch.amin``: ``-amax(-input)``, ties split evenly."""
    return -amax(-input, dim, keepdim)


def mean(input, dim=None, keepdim=False):
    """Arithmetic mean over ``dim`` (None = all, int or tuple): ``sum(input) / n``."""
    dims = normalize_axis(dim, input.ndim)
    return sum(input, dims, keepdim) * (1.0 / _count(input.shape, dims))


def var(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """Variance over ``dim``: ``sum((x - mean)^2) / (n - correction)``, as ``torch.var``.

    ``correction`` 1 (``unbiased=True``, the default) is Bessel's unbiased
    estimate; 0 (``unbiased=False``) the biased one that normalisation layers
    use. Written as a composite, so its derivatives of every order are right by
    construction. A correction of n or more divides by 1 (PyTorch gives inf or nan).
    """
    correction = (1 if unbiased else 0) if correction is None else correction
    dims = normalize_axis(dim, input.ndim)
    n = _count(input.shape, dims)
    d = input - mean(input, dims, keepdim=True)
    return sum(d * d, dims, keepdim) * (1.0 / builtins.max(n - correction, 1))


def std(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """Standard deviation over ``dim``: ``sqrt(var(...))``, as ``torch.std``; arguments as :func:`var`."""
    return var(input, dim, unbiased, keepdim, correction=correction) ** 0.5


def _index_tensor(indices):
    return Tensor(indices.astype("int64"))


def argmax(input, dim=None, keepdim=False):
    """Indices of the maxima along ``dim`` (the first on a tie), an int64 tensor
    without gradient. ``dim=None`` gives the index into the flattened input."""
    if dim is None:
        return _index_tensor(input.data.argmax())
    i = input.data.argmax(axis=normalize_axis(dim, input.ndim)[0])
    return _index_tensor(_expand_index(i, dim, input.ndim) if keepdim else i)


def argmin(input, dim=None, keepdim=False):
    """Indices of the minima along ``dim`` (the first on a tie); see :func:`argmax`."""
    if dim is None:
        return _index_tensor(input.data.argmin())
    i = input.data.argmin(axis=normalize_axis(dim, input.ndim)[0])
    return _index_tensor(_expand_index(i, dim, input.ndim) if keepdim else i)


def _expand_index(i, dim, ndim):
    return get_array_module(i).expand_dims(i, normalize_axis(dim, ndim)[0])

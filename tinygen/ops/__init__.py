"""All differentiable ops, and the Tensor operators and methods that call them."""
from ..autograd import Tensor
from . import activation, arith, conv, loss, pool, reduce, shape  # noqa: F401
from .arith import add, div, mul, sub


def _swap_last(x):
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return shape.transpose(x, axes)


def _reshape(x, *dims):
    """``x`` with a new shape, given as ints or one tuple (one entry may be -1). See :func:`shape.reshape`."""
    return shape.reshape(x, dims)


def _transpose(x, *axes):
    """Reverse the axes (no arguments) or permute them (``x.transpose(1, 0, 2)``). See :func:`shape.transpose`."""
    return shape.permute(x, *axes) if axes else shape.transpose(x)


def _T(x):
    """All axes reversed (the transpose of a matrix), as ``numpy.ndarray.T``."""
    return shape.transpose(x)


def _mT(x):
    """The last two axes swapped (a batch of matrices transposed), as ``torch.Tensor.mT``."""
    return _swap_last(x)


def _compare(op):
    # Comparisons give constant bool tensors (no gradient), e.g. for where().
    return lambda a, b: Tensor(op(a.data, b.data if isinstance(b, Tensor) else b))


_methods = {
    "__add__": add, "__radd__": lambda a, b: add(b, a),
    "__sub__": sub, "__rsub__": lambda a, b: sub(b, a),
    "__mul__": mul, "__rmul__": lambda a, b: mul(b, a),
    "__truediv__": div, "__rtruediv__": lambda a, b: div(b, a),
    "__neg__": arith.neg, "__pow__": arith.pow,
    "__matmul__": arith.matmul, "__rmatmul__": lambda a, b: arith.matmul(b, a),
    "__getitem__": shape.getitem,
    "__gt__": _compare(lambda a, b: a > b), "__lt__": _compare(lambda a, b: a < b),
    "__ge__": _compare(lambda a, b: a >= b), "__le__": _compare(lambda a, b: a <= b),
    "exp": arith.exp, "log": arith.log, "sqrt": arith.sqrt, "abs": arith.abs, "pow": arith.pow,
    "sum": reduce.sum, "mean": reduce.mean, "var": reduce.var, "max": reduce.max,
    "sum_to": reduce.sum_to, "broadcast_to": reduce.broadcast_to,
    "reshape": _reshape, "transpose": _transpose,
    "permute": shape.permute, "flatten": shape.flatten, "to": shape.to, "astype": shape.astype,
    "relu": activation.relu, "sigmoid": activation.sigmoid, "tanh": activation.tanh,
    "T": property(_T), "mT": property(_mT),
}
for _name, _fn in _methods.items():
    setattr(Tensor, _name, _fn)

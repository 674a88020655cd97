"""All differentiable ops, and the Tensor operators and methods that call them.

The methods carry PyTorch's names and arguments (``x.sum(dim=1, keepdim=True)``,
``x.transpose(0, 1)``, ``x.view(n, -1)``), so a PyTorch user's code runs unchanged.
Each is a thin call into one op file, where the op's backward sits beside its forward.
"""
from ..autograd import Tensor, is_grad_enabled
from ..backend import get_array_module
from . import activation, arith, conv, loss, pool, reduce, select, shape  # noqa: F401
from .arith import add, div, mul, sub


def _mT(x):
    """The last two dims swapped (a batch of matrices transposed), as ``torch.Tensor.mT``."""
    return shape.transpose(x, -2, -1)


def _T(x):
    """All dims reversed (the transpose of a matrix), as ``torch.Tensor.T``."""
    return shape.permute(x, tuple(reversed(range(x.ndim))))


def _compare(op):
    # Comparisons and logical ops give constant bool tensors (no gradient), e.g. for where().
    return lambda a, b: Tensor(op(a.data, b.data if isinstance(b, Tensor) else b))


def _t(x):
    """A matrix transposed (a 0-d or 1-D tensor as it is), as ``torch.Tensor.t``.

    Raises:
        ValueError: more than 2 dims (use ``transpose(d0, d1)``).
    """
    if x.ndim > 2:
        raise ValueError(f"t: expected a tensor with at most 2 dims, got shape {x.shape}; use transpose(d0, d1)")
    return shape.transpose(x, 0, 1) if x.ndim == 2 else x


def _invert(x):
    return Tensor(~x.data)


def _view_as(x, other):
    """``x`` in ``other``'s shape, as ``torch.Tensor.view_as``."""
    return shape.reshape(x, other.shape)


def _expand_as(x, other):
    """``x`` broadcast to ``other``'s shape, as ``torch.Tensor.expand_as``."""
    return shape.expand(x, other.shape)


def _cast(dtype):
    def method(x):
        return shape.to(x, dtype)
    method.__doc__ = f"``x.to({dtype})``: a differentiable cast, as ``torch.Tensor.{_CAST_NAMES[dtype]}()``."
    return method


_CAST_NAMES = {"float32": "float", "float64": "double", "int64": "long", "int32": "int", "bool": "bool"}


def _softmax(x, dim):
    """``F.softmax(x, dim)``."""
    from ..functional import softmax
    return softmax(x, dim)


def _log_softmax(x, dim):
    """``F.log_softmax(x, dim)``."""
    from ..functional import log_softmax
    return log_softmax(x, dim)


def _norm(x, p=2, dim=None, keepdim=False):
    """The p-norm over ``dim`` (all elements by default), (sum |x|^p)^(1/p), as
    ``torch.Tensor.norm`` for a number p >= 1. Its gradient is undefined at 0."""
    if p == 2:
        return reduce.sum(x * x, dim, keepdim) ** 0.5
    return reduce.sum(arith.abs(x) ** p, dim, keepdim) ** (1.0 / p)


def _masked_fill(x, mask, value):
    """``value`` where ``mask`` is True, ``x`` elsewhere, as ``torch.Tensor.masked_fill``."""
    return activation.where(mask, value, x)


def _lerp(x, end, weight):
    """``x + weight (end - x)``, as ``torch.lerp``: differentiable in x, end and a Tensor weight."""
    return x + weight * (end - x)


def _new(factory):
    def method(x, *size, dtype=None, device=None, requires_grad=False):
        from .. import creation
        return getattr(creation, factory)(*size, dtype=x.dtype if dtype is None else dtype,
                                          device=x.device if device is None else device,
                                          requires_grad=requires_grad)
    method.__doc__ = f"``tg.{factory}(*size)`` with this tensor's dtype and device, as ``torch.Tensor.new_{factory}``."
    return method


def _square(x):
    """``x * x``, as ``torch.Tensor.square``."""
    return arith.mul(x, x)


def _where(x, condition, other):
    """``x`` where ``condition`` holds, else ``other``, as ``torch.Tensor.where``."""
    return activation.where(condition, x, other)


def _any(x, dim=None, keepdim=False):
    """True where any element along ``dim`` (all elements by default) is nonzero; a bool tensor."""
    return Tensor(get_array_module(x.data).asarray(x.data.any(axis=dim, keepdims=keepdim)))


def _all(x, dim=None, keepdim=False):
    """True where every element along ``dim`` (all elements by default) is nonzero; a bool tensor."""
    return Tensor(get_array_module(x.data).asarray(x.data.all(axis=dim, keepdims=keepdim)))


def _contiguous(x):
    """``x`` itself: tinygen's arrays need no re-layout before a reshape (``view`` always works)."""
    return x


def _cpu(x):
    """``x.to("cpu")``."""
    return shape.to(x, "cpu")


def _cuda(x):
    """``x.to("cuda")``."""
    return shape.to(x, "cuda")


# ---------------------------------------------------------------- in place
def _inplace(name, fn):
    """An in-place method: ``fn(array, *args)`` overwrites ``self.data``.

    As in PyTorch, allowed only where no graph is recorded through the tensor:
    on a tensor that does not require grad, or under ``no_grad()`` (the way
    optimizers and initialisers change Parameters).
    """
    def method(self, *args, **kwargs):
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{name}: an in-place op on a tensor that requires grad would hide it from "
                               "autograd; wrap it in tg.no_grad() (as for an update) or use the "
                               f"out-of-place {name.rstrip('_')}")
        args = [a.data if isinstance(a, Tensor) else a for a in args]
        fn(self.data, *args, **kwargs)
        return self
    method.__name__ = name
    method.__doc__ = (f"In place: {fn.__doc__} Returns self. Raises RuntimeError on a tensor that "
                      "requires grad outside ``no_grad()``.")
    return method


def _zero(a):
    """set every element to 0."""
    a[...] = 0


def _fill(a, value):
    """set every element to ``value``."""
    a[...] = value


def _copy(a, src):
    """copy ``src``'s values (broadcast to this shape, cast to this dtype)."""
    a[...] = src


def _add(a, other, alpha=1):
    """add ``alpha * other``."""
    a += alpha * other if alpha != 1 else other


def _sub(a, other, alpha=1):
    """subtract ``alpha * other``."""
    a -= alpha * other if alpha != 1 else other


def _mul(a, other):
    """multiply by ``other``."""
    a *= other


def _div(a, other):
    """divide by ``other``."""
    a /= other


def _clamp(a, min=None, max=None):
    """clip into [min, max]."""
    get_array_module(a).clip(a, min, max, out=a)


def _assign(a, index, value):
    """assign ``value`` to ``self[index]`` (``x[index] = value``)."""
    a[shape.unwrap_index(index)] = value


def _lerp_(a, end, weight):
    """move toward ``end`` by ``weight``: a += weight (end - a) (an exponential moving average step)."""
    a += weight * (end - a)


_methods = {
    "__add__": add, "__radd__": lambda a, b: add(b, a),
    "__sub__": sub, "__rsub__": lambda a, b: sub(b, a),
    "__mul__": mul, "__rmul__": lambda a, b: mul(b, a),
    "__truediv__": div, "__rtruediv__": lambda a, b: div(b, a),
    "__neg__": arith.neg, "__pow__": arith.pow, "__rpow__": lambda a, b: arith.pow(b, a),
    "__abs__": arith.abs,
    "__matmul__": arith.matmul, "__rmatmul__": lambda a, b: arith.matmul(b, a),
    "__getitem__": shape.getitem, "__setitem__": _inplace("setitem", _assign),
    "__and__": _compare(lambda a, b: a & b), "__or__": _compare(lambda a, b: a | b),
    "__xor__": _compare(lambda a, b: a ^ b), "__invert__": _invert,
    "__gt__": _compare(lambda a, b: a > b), "__lt__": _compare(lambda a, b: a < b),
    "__ge__": _compare(lambda a, b: a >= b), "__le__": _compare(lambda a, b: a <= b),
    "__eq__": _compare(lambda a, b: a == b), "__ne__": _compare(lambda a, b: a != b),
    # elementwise
    "exp": arith.exp, "log": arith.log, "sqrt": arith.sqrt, "abs": arith.abs, "pow": arith.pow,
    "neg": arith.neg, "square": _square, "matmul": arith.matmul, "mm": arith.matmul,
    "bmm": arith.bmm, "t": _t,
    "relu": activation.relu, "sigmoid": activation.sigmoid, "tanh": activation.tanh,
    "clamp": activation.clamp, "clip": activation.clamp,
    "maximum": activation.maximum, "minimum": activation.minimum,
    "where": _where,
    "masked_fill": _masked_fill, "lerp": _lerp,
    "softmax": _softmax, "log_softmax": _log_softmax,
    # reductions
    "sum": reduce.sum, "mean": reduce.mean, "var": reduce.var, "std": reduce.std,
    "max": select.max, "min": select.min, "amax": reduce.amax, "amin": reduce.amin,
    "argmax": reduce.argmax, "argmin": reduce.argmin, "logsumexp": activation.logsumexp,
    "norm": _norm, "broadcast_to": reduce.broadcast_to, "sum_to": reduce.sum_to,
    "any": _any, "all": _all,
    # shapes
    "reshape": shape.reshape, "view": shape.reshape, "view_as": _view_as, "reshape_as": _view_as,
    "transpose": shape.transpose, "permute": shape.permute, "flatten": shape.flatten,
    "unflatten": shape.unflatten, "unsqueeze": shape.unsqueeze, "squeeze": shape.squeeze,
    "expand": shape.expand, "expand_as": _expand_as, "repeat": shape.repeat,
    "chunk": shape.chunk, "split": shape.split, "clone": shape.clone,
    "contiguous": _contiguous,
    "T": property(_T), "mT": property(_mT),
    # devices and dtypes
    "to": shape.to, "cpu": _cpu, "cuda": _cuda,
    "float": _cast("float32"), "double": _cast("float64"), "long": _cast("int64"),
    "int": _cast("int32"), "bool": _cast("bool"),
    "new_zeros": _new("zeros"), "new_ones": _new("ones"),
    # in place (outside the graph only)
    "zero_": _inplace("zero_", _zero), "fill_": _inplace("fill_", _fill), "copy_": _inplace("copy_", _copy),
    "add_": _inplace("add_", _add), "sub_": _inplace("sub_", _sub), "mul_": _inplace("mul_", _mul),
    "div_": _inplace("div_", _div), "clamp_": _inplace("clamp_", _clamp), "lerp_": _inplace("lerp_", _lerp_),
}
for _name, _fn in _methods.items():
    setattr(Tensor, _name, _fn)

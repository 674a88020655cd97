"""Small helpers shared by the op files."""
from ..autograd import Tensor
from ..backend import get_array_module


def as_tensor(value, like):
    """Wrap a Python scalar or array as a constant Tensor of ``like``'s dtype and device.

    Holding constants in the tensor's own dtype matters: under NumPy 2's
    promotion rules (NEP 50) a 0-d float64 array silently upcasts a float32
    one (tests/test_ops.py::test_float32_preserved checks every op).
    """
    if isinstance(value, Tensor):
        return value
    xp = get_array_module(like.data)
    return Tensor(xp.asarray(value, dtype=like.dtype))


def normalize_axis(dim, ndim):
    """``dim`` (None = all, an int or a tuple of ints) as a sorted tuple of non-negative ints.

    Raises:
        ValueError: a dim outside [-ndim, ndim).
    """
    if dim is None:
        return tuple(range(ndim))
    axes = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"dim: expected values in [{-ndim}, {ndim}) for a {ndim}-d tensor, got {dim}")
        out.append(a % ndim)
    return tuple(sorted(out))

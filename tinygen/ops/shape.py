"""Shape ops: they move elements around, so each backward moves gradients back."""
import numpy as np

from ..autograd import Function, Tensor
from ..backend import as_device, get_array_module
from ._util import normalize_axis


class Reshape(Function):
    """Same elements, new shape; the backward reshapes gy back."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.x_shape)


class Transpose(Function):
    """Permute axes; the backward applies the inverse permutation."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        return transpose(gy, tuple(np.argsort(self.axes)))


class GetItem(Function):
    """y = x[index]; the backward scatters gy into zeros (GetItemGrad)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.x_shape = x.shape
        return x[self.index]

    def backward(self, gy):
        return GetItemGrad(self.index, self.x_shape)(gy)


class GetItemGrad(Function):
    """Scatter ``gy`` into zeros of the input's shape: the adjoint of GetItem."""

    def __init__(self, index, x_shape):
        self.index, self.x_shape = index, x_shape

    def forward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy
        else:  # integer-array indexing may repeat an element: accumulate
            xp.add.at(gx, self.index, gy)
        return gx

    def backward(self, ggx):
        return GetItem(self.index)(ggx)


def _is_basic(index):
    index = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in index)


class Concatenate(Function):
    """Join along an axis; the backward slices gy back into pieces."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return get_array_module(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        out, start = [], 0
        for n in self.sizes:
            index = [slice(None)] * gy.ndim
            index[self.axis] = slice(start, start + n)
            out.append(gy[tuple(index)])
            start += n
        return tuple(out)


class ToDevice(Function):
    """Copy between CPU and GPU; the backward copies gy back."""

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.src = "cuda" if get_array_module(x) is not np else "cpu"
        return as_device(x, self.device)

    def backward(self, gy):
        return ToDevice(self.src)(gy)


class Cast(Function):
    """Change dtype; the backward casts gy back."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return Cast(self.src)(gy)


def reshape(x, shape):
    """View ``x`` with a new shape (one entry may be -1). Raises ValueError if sizes differ."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)
    if shape == x.shape:
        return x
    return Reshape(shape)(x)


def transpose(x, axes=None):
    """Permute the axes (reverse them if ``axes`` is None), like ``numpy.transpose``."""
    if axes is not None and (len(axes) != x.ndim or any(not -x.ndim <= a < x.ndim for a in axes)):
        raise ValueError(f"axes: expected a permutation of 0..{x.ndim - 1}, got {tuple(axes)}")
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(a % x.ndim for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"axes: expected a permutation of 0..{x.ndim - 1}, got {axes}")
    return Transpose(axes)(x)


def permute(x, *dims):
    """PyTorch's name for :func:`transpose` with an explicit permutation."""
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    return transpose(x, dims)


def flatten(x, start_dim=1, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W) by default."""
    start, end = normalize_axis(start_dim, x.ndim)[0], normalize_axis(end_dim, x.ndim)[0]
    if start > end:
        raise ValueError(f"start_dim: expected start_dim <= end_dim, got {start_dim} and {end_dim}")
    merged = 1
    for s in x.shape[start:end + 1]:
        merged *= s
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def getitem(x, index):
    """``x[index]``: basic slicing (ints, slices, None, ...) or integer-array indexing.

    ``index`` may be a Tensor of indices (its data is used; it gets no
    gradient), a NumPy or CuPy array or scalar, or a tuple of these. The
    result has NumPy's shape for ``x.data[index]``; the gradient adds up
    over repeated indices.
    """
    # Only a Tensor is unwrapped. Testing for a ``.data`` attribute is not
    # enough: CuPy arrays (a memory pointer) and NumPy scalars have one too.
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem(index)(x)


def concatenate(xs, axis=0):
    """Join tensors along an existing ``axis``. All other dims must match (ValueError otherwise)."""
    xs = list(xs)
    ref = xs[0].shape
    axis = normalize_axis(axis, len(ref))[0]
    for i, x in enumerate(xs):
        if x.ndim != len(ref) or any(a != b for d, (a, b) in enumerate(zip(x.shape, ref)) if d != axis):
            raise ValueError(f"xs[{i}]: expected shape matching {ref} except on axis {axis}, got {x.shape}")
    return Concatenate(axis)(*xs)


def stack(xs, axis=0):
    """Join same-shape tensors along a new ``axis``."""
    xs = list(xs)
    axis = normalize_axis(axis, xs[0].ndim + 1)[0]
    return concatenate([reshape(x, x.shape[:axis] + (1,) + x.shape[axis:]) for x in xs], axis)


def to(x, device):
    """``x`` copied to ``device`` (``"cpu"`` or ``"cuda"``); ``x`` itself if it is there already.

    Differentiable: the gradient flows back to the original device.
    Attached as ``Tensor.to``.
    """
    if device == x.device:
        return x
    return ToDevice(device)(x)


def astype(x, dtype):
    """A differentiable cast of ``x`` to ``dtype`` (e.g. ``"float64"``); ``x`` itself if it has it.

    Attached as ``Tensor.astype``.
    """
    if np.dtype(dtype) == x.dtype:
        return x
    return Cast(dtype)(x)

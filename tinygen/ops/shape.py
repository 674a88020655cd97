"""Shape ops: they move elements around, so each backward moves gradients back."""
import builtins

import numpy as np

from ..autograd import Function, Tensor
from ..backend import as_device, get_array_module
from ._util import normalize_axis
from .reduce import broadcast_to


class Reshape(Function):
    """Same elements, new shape; the backward reshapes gy back."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.x_shape)


class Permute(Function):
    """Reorder the dims; the backward applies the inverse permutation."""

    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, gy):
        return permute(gy, tuple(int(d) for d in np.argsort(self.dims)))


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


class Cat(Function):
    """Join along a dim; the backward slices gy back into pieces."""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        self.sizes = [x.shape[self.dim] for x in xs]
        return get_array_module(xs[0]).concatenate(xs, axis=self.dim)

    def backward(self, gy):
        out, start = [], 0
        for n in self.sizes:
            index = [slice(None)] * gy.ndim
            index[self.dim] = slice(start, start + n)
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


class Clone(Function):
    """A copy of x with its own memory; the backward passes gy through."""

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


class Cast(Function):
    """Change dtype; the backward casts gy back."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return Cast(self.src)(gy)


def _dims(dims):
    """Sizes or dims given as ints or as one tuple/list: ``f(2, 3)`` or ``f((2, 3))``."""
    return tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else tuple(dims)


def reshape(input, *shape):
    """The same elements in a new shape (one entry may be -1), as ``torch.reshape``.

    ``shape`` as ints or one tuple. Also Tensor's ``view`` (tinygen never shares
    storage between tensors, so ``view`` works on any layout).

    Raises:
        ValueError: the number of elements differs.
    """
    shape = _dims(shape)
    if shape == input.shape:
        return input
    return Reshape(shape)(input)


def permute(input, *dims):
    """Reorder the dims: ``permute(x, 0, 2, 3, 1)`` turns NCHW into NHWC, as ``torch.permute``.

    Raises:
        ValueError: ``dims`` is not a permutation of 0..ndim-1 (negative dims count from the end).
    """
    dims = _dims(dims)
    if len(dims) != input.ndim or any(not -input.ndim <= d < input.ndim for d in dims) \
            or sorted(d % input.ndim for d in dims) != list(range(input.ndim)):
        raise ValueError(f"dims: expected a permutation of 0..{input.ndim - 1}, got {dims}")
    return Permute(tuple(d % input.ndim for d in dims))(input)


def transpose(input, dim0, dim1):
    """Swap two dims, as ``torch.transpose``: ``transpose(x, 0, 1)`` of a matrix is its transpose.

    Raises:
        ValueError: a dim out of range.
    """
    d0, d1 = normalize_axis(dim0, input.ndim)[0], normalize_axis(dim1, input.ndim)[0]
    dims = list(range(input.ndim))
    dims[d0], dims[d1] = d1, d0
    return permute(input, dims)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one, as ``torch.flatten``: all of them by
    default, so (N, C, H, W) -> (N*C*H*W,); ``nn.Flatten`` starts at 1 instead.

    Raises:
        ValueError: ``start_dim`` after ``end_dim``, or a dim out of range.
    """
    if input.ndim == 0:
        return reshape(input, 1)
    start, end = normalize_axis(start_dim, input.ndim)[0], normalize_axis(end_dim, input.ndim)[0]
    if start > end:
        raise ValueError(f"start_dim: expected start_dim <= end_dim, got {start_dim} and {end_dim}")
    merged = 1
    for s in input.shape[start:end + 1]:
        merged *= s
    return reshape(input, input.shape[:start] + (merged,) + input.shape[end + 1:])


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one may be -1), as ``torch.unflatten``.

    Raises:
        ValueError: the product of ``sizes`` differs from that dim's size.
    """
    d = normalize_axis(dim, input.ndim)[0]
    sizes = tuple(sizes)
    known = 1
    for s in sizes:
        known *= s if s != -1 else 1
    if -1 not in sizes and known != input.shape[d] or -1 in sizes and input.shape[d] % known:
        raise ValueError(f"sizes: expected sizes whose product is {input.shape[d]} (dim {d} of shape "
                         f"{input.shape}), got {sizes}")
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1:])


def unsqueeze(input, dim):
    """A new dim of size 1 at position ``dim`` (in [-ndim-1, ndim]), as ``torch.unsqueeze``."""
    d = normalize_axis(dim, input.ndim + 1)[0]
    return reshape(input, input.shape[:d] + (1,) + input.shape[d:])


def squeeze(input, dim=None):
    """Drop dims of size 1: all of them, or only ``dim`` (an int or a tuple) if it has size 1,
    as ``torch.squeeze``."""
    dims = normalize_axis(dim, input.ndim) if input.ndim else ()
    return reshape(input, tuple(s for i, s in enumerate(input.shape) if not (i in dims and s == 1)))


def expand(input, *sizes):
    """Broadcast size-1 dims to ``sizes`` (-1 keeps a dim; new dims go in front), as
    ``torch.Tensor.expand``. The backward sums the copies.

    Raises:
        ValueError: a dim that is not 1 asked to change size.
    """
    sizes = _dims(sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise ValueError(f"sizes: expected at least {input.ndim} sizes for shape {input.shape}, got {sizes}")
    shape = tuple(input.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    for i, s in enumerate(input.shape):
        if s != 1 and s != shape[lead + i]:
            raise ValueError(f"sizes: dim {lead + i} has size {s}, which can only expand from 1; "
                             f"got sizes {sizes} for shape {input.shape}")
    return broadcast_to(input, shape)


def repeat(input, *repeats):
    """Tile the tensor ``repeats[i]`` times along dim i, as ``torch.Tensor.repeat``
    (extra leading repeats add dims). A reshape, a broadcast and a reshape, so
    exact at every order.

    Raises:
        ValueError: fewer repeats than dims.
    """
    repeats = _dims(repeats)
    if len(repeats) < input.ndim:
        raise ValueError(f"repeats: expected at least {input.ndim} values for shape {input.shape}, got {repeats}")
    shape = (1,) * (len(repeats) - input.ndim) + input.shape
    spread = [v for s in shape for v in (1, s)]               # (1, s0, 1, s1, ...)
    target = [v for r, s in zip(repeats, shape) for v in (r, s)]  # (r0, s0, r1, s1, ...)
    y = broadcast_to(reshape(input, spread), target)
    return reshape(y, tuple(r * s for r, s in zip(repeats, shape)))


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` pieces of ceil(n / chunks) along ``dim`` (the last may be
    smaller, and there may be fewer), as ``torch.chunk``. A tuple of views."""
    if chunks < 1:
        raise ValueError(f"chunks: expected an int >= 1, got {chunks}")
    n = input.shape[normalize_axis(dim, input.ndim)[0]]
    return split(input, -(-n // chunks) if n else 1, dim)


def split(input, split_size_or_sections, dim=0):
    """Split along ``dim`` into pieces of ``split_size_or_sections`` (an int; the last
    may be smaller) or of the listed sizes, as ``torch.split``. Returns a tuple.

    Raises:
        ValueError: listed sizes that do not add up to the dim's size.
    """
    d = normalize_axis(dim, input.ndim)[0]
    n = input.shape[d]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections < 1:
            raise ValueError(f"split_size_or_sections: expected an int >= 1, got {split_size_or_sections}")
        sizes = [min(split_size_or_sections, n - s) for s in range(0, n, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split_size_or_sections: expected sizes adding up to {n} (dim {d}), got {sizes}")
    out, start = [], 0
    for s in sizes:
        index = [slice(None)] * input.ndim
        index[d] = slice(start, start + s)
        out.append(getitem(input, tuple(index)))
        start += s
    return tuple(out)


def clone(input):
    """A differentiable copy of ``input`` with its own memory, as ``torch.clone``."""
    return Clone()(input)


def getitem(x, index):
    """``x[index]``: basic slicing (ints, slices, None, ...) or integer-array indexing.

    ``index`` may be a Tensor of indices (its data is used; it gets no
    gradient), a NumPy or CuPy array or scalar, or a tuple of these. The
    result has NumPy's shape for ``x.data[index]``; the gradient adds up
    over repeated indices.
    """
    return GetItem(unwrap_index(index))(x)


def unwrap_index(index):
    """``index`` with every Tensor in it replaced by its array (for ``x[index]`` and ``x[index] = v``).

    Only a Tensor is unwrapped. Testing for a ``.data`` attribute is not
    enough: CuPy arrays (a memory pointer) and NumPy scalars have one too.
    """
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def cat(tensors, dim=0):
    """Join tensors along an existing ``dim``, as ``torch.cat`` (also ``concat``/``concatenate``).

    Raises:
        ValueError: an empty list, or shapes that differ outside ``dim``.
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("tensors: expected at least one tensor, got an empty sequence")
    ref = tensors[0].shape
    dim = normalize_axis(dim, len(ref))[0]
    for i, x in enumerate(tensors):
        if x.ndim != len(ref) or any(a != b for d, (a, b) in enumerate(zip(x.shape, ref)) if d != dim):
            raise ValueError(f"tensors[{i}]: expected shape matching {ref} except on dim {dim}, got {x.shape}")
    return Cat(dim)(*tensors)


def stack(tensors, dim=0):
    """Join same-shape tensors along a new ``dim``, as ``torch.stack``.

    Raises:
        ValueError: an empty list, or tensors of different shapes.
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("tensors: expected at least one tensor, got an empty sequence")
    for i, x in enumerate(tensors):
        if x.shape != tensors[0].shape:
            raise ValueError(f"tensors[{i}]: expected shape {tensors[0].shape} (tensors[0]'s), got {x.shape}")
    dim = normalize_axis(dim, tensors[0].ndim + 1)[0]
    return cat([unsqueeze(x, dim) for x in tensors], dim)


def parse_to(*args, device=None, dtype=None):
    """``(device, dtype)`` from the arguments of ``Tensor.to`` and ``Module.to``:
    ``to("cuda")``, ``to(tg.float64)``, ``to("cpu", tg.float32)``, ``to(other)``
    (other's device and dtype), or the keywords; either may come back None.
    The device is ``"cpu"`` or ``"cuda"`` (``"cuda:0"`` means ``"cuda"``), the
    dtype a ``numpy.dtype``.

    Raises:
        ValueError: an argument that is neither a device, a dtype nor a Tensor.
    """
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda"):
            device = arg
        elif arg is not None:
            dtype = arg
    if device is not None:
        device = str(device).split(":")[0]
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise ValueError(f"to: expected a device ('cpu', 'cuda'), a dtype or a Tensor, got {dtype!r}") from None
    return device, dtype


def to(input, *args, device=None, dtype=None):
    """``input`` on another device and/or with another dtype, as ``torch.Tensor.to``:
    ``x.to("cuda")``, ``x.to(tg.float64)``, ``x.to("cpu", tg.float32)``, ``x.to(other)``
    (other's device and dtype). Returns ``input`` itself when nothing changes.

    Differentiable: the gradient flows back to the original device and dtype.

    Raises:
        ValueError: an argument that is neither a device (``"cpu"``, ``"cuda"``)
            nor a dtype (see :func:`parse_to`).
    """
    device, dtype = parse_to(*args, device=device, dtype=dtype)
    y = input
    if dtype is not None and dtype != y.dtype:
        y = Cast(dtype)(y)
    if device is not None:
        if device != y.device:
            y = ToDevice(device)(y)
    return y

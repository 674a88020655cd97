"""Resampling for ``F.interpolate`` and the adaptive pools, one spatial dim at a time.

Every mode is separable: the output along each spatial dim is a fixed
function of that dim alone. Nearest modes gather (``getitem`` with an integer
array: each output element copies one input element). The linear modes
(linear/bilinear/trilinear, bicubic) and area averaging are linear maps
with a constant matrix A (out, in) per dim, applied with ``matmul``; a
constant linear map is exact at every order of differentiation.

The source coordinates are PyTorch's (``aten/src/ATen/native/UpSample.h``):
nearest reads floor(dst * scale), with scale = 1 / scale_factor when a
scale factor was given and in / out otherwise, in float32 arithmetic;
linear modes with align_corners=False read src = (dst + 0.5) scale - 0.5
(clamped at 0 except for cubic), with align_corners=True src = dst (in - 1) / (out - 1).
"""
import math

import numpy as np

from ..backend import get_array_module
from .arith import matmul
from .shape import getitem, reshape


def nearest_index(n_in, n_out, scale_factor, exact=False):
    """The input index each output index reads, as a NumPy int64 array of length n_out.

    ``scale_factor`` is the user's (or None: then scale = n_in / n_out).
    ``exact`` selects "nearest-exact" (pixel centres: floor((dst + 0.5) scale)).
    """
    if scale_factor is not None and scale_factor > 0:
        scale = np.float32(1.0 / scale_factor)
    else:
        scale = np.float32(n_in) / np.float32(n_out)
    dst = np.arange(n_out, dtype=np.float32)
    if exact:
        src = np.floor((dst + np.float32(0.5)) * scale)
    elif n_out == n_in:
        return np.arange(n_out)
    elif n_out == 2 * n_in:
        return np.arange(n_out) >> 1
    else:
        src = np.floor(dst * scale)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_scale(n_in, n_out, scale_factor, align_corners, ftype):
    if align_corners:
        return ftype(n_in - 1) / ftype(n_out - 1) if n_out > 1 else ftype(0)
    if scale_factor is not None and scale_factor > 0:
        return ftype(1.0 / scale_factor)
    return ftype(n_in) / ftype(n_out)


def _source_coord(n_in, n_out, scale_factor, align_corners, ftype, cubic):
    scale = _linear_scale(n_in, n_out, scale_factor, align_corners, ftype)
    dst = np.arange(n_out, dtype=ftype)
    if align_corners:
        return scale * dst
    src = scale * (dst + ftype(0.5)) - ftype(0.5)
    return src if cubic else np.maximum(src, ftype(0))


def linear_matrix(n_in, n_out, scale_factor, align_corners, dtype):
    """A (n_out, n_in): output j = (1 - l) x[i0] + l x[i1], PyTorch's linear interpolation weights."""
    ftype = np.dtype(dtype).type
    src = _source_coord(n_in, n_out, scale_factor, align_corners, ftype, cubic=False)
    i0 = src.astype(np.int64)                           # (int) src: src >= 0
    step = (i0 < n_in - 1).astype(np.int64)
    lam1 = (src - i0.astype(ftype)).astype(ftype)
    lam0 = (ftype(1) - lam1).astype(ftype)
    A = np.zeros((n_out, n_in), dtype=ftype)
    rows = np.arange(n_out)
    np.add.at(A, (rows, i0), lam0)
    np.add.at(A, (rows, i0 + step), lam1)
    return A


def cubic_matrix(n_in, n_out, scale_factor, align_corners, dtype, a=-0.75):
    """A (n_out, n_in) of PyTorch's bicubic weights (Keys' cubic convolution, a = -0.75;
    taps outside the input read the border element)."""
    ftype = np.dtype(dtype).type
    src = _source_coord(n_in, n_out, scale_factor, align_corners, ftype, cubic=True)
    i0 = np.floor(src).astype(np.int64)
    t = (src - i0.astype(ftype)).astype(ftype)
    a = ftype(a)

    def near(x):   # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):    # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    A = np.zeros((n_out, n_in), dtype=ftype)
    rows = np.arange(n_out)
    for k, w in enumerate(weights):
        np.add.at(A, (rows, np.clip(i0 - 1 + k, 0, n_in - 1)), w.astype(ftype))
    return A


def area_matrix(n_in, n_out, dtype):
    """A (n_out, n_in): output i averages input [floor(i n_in / n_out), ceil((i + 1) n_in / n_out)),
    the windows of PyTorch's adaptive average pooling."""
    A = np.zeros((n_out, n_in), dtype=dtype)
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        A[i, start:end] = 1.0 / (end - start)
    return A


def gather(x, dim, index):
    """x with dim ``dim`` replaced by x[..., index, ...] (an integer-array ``getitem``)."""
    xp = get_array_module(x.data)
    return getitem(x, (slice(None),) * dim + (xp.asarray(index),))


def apply_matrix(x, dim, A):
    """x with dim ``dim`` (size n) mapped by the constant matrix A (m, n): y = A x along that dim."""
    from ..autograd import Tensor
    xp = get_array_module(x.data)
    if dim == x.ndim - 1:
        return matmul(x, Tensor(xp.asarray(A.T, dtype=x.dtype)))
    A = Tensor(xp.asarray(A, dtype=x.dtype))
    lead, n, trail = math.prod(x.shape[:dim]), x.shape[dim], math.prod(x.shape[dim + 1:])
    y = matmul(A, reshape(x, (lead, n, trail)))
    return reshape(y, x.shape[:dim] + (A.shape[0],) + x.shape[dim + 1:])

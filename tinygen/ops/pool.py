"""Pooling and nearest-neighbour upsampling.

Average and max pooling are the same linear map with different weights:
each output is a weighted sum over its kH x kW window,

    y[n, c, ho, wo] = sum_{i,j} m[c, i, j, ho, wo, n] * xpad[n, c, ho*s + i, wo*s + j],

with m = 1/(kH kW) for average pooling, and for max pooling m = 1 at the
window's (first) maximum and 0 elsewhere. Holding m constant, the gather
(``WindowGather``) and its adjoint, spreading each gradient back over its
window (``WindowScatter``), are each other's backward, so derivatives of any
order stay in this pair. For max pooling that is exact away from ties, where
the argmax does not move under a small perturbation.

Windows that reach past the padding (``ceil_mode``) read an explicit zero
pad on the bottom and right (``ConstantPad``, differentiable) before the gather.

Upsampling is a composite of reshape and broadcast.
"""
import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module
from ..kernels import col2im, im2col
from . import reduce
from .shape import reshape


class WindowGather(Function):
    """y = sum over each window of mask * x (see the module docstring); backward: WindowScatter."""

    def __init__(self, mask, kernel_size, stride, padding):
        self.mask, self.kernel_size, self.stride, self.padding = mask, kernel_size, stride, padding

    def forward(self, x):
        self.x_hw = x.shape[2:]
        col = im2col(x, *self.kernel_size, *self.stride, *self.padding)  # (C, kh, kw, Ho, Wo, N)
        return (col * self.mask).sum(axis=(1, 2)).transpose(3, 0, 1, 2)

    def backward(self, gy):
        return WindowScatter(self.mask, self.kernel_size, self.stride, self.padding, self.x_hw)(gy)


class WindowScatter(Function):
    """The adjoint of WindowGather: spread gy over each window, weighted by mask (col2im)."""

    def __init__(self, mask, kernel_size, stride, padding, x_hw):
        self.mask, self.kernel_size, self.stride, self.padding, self.x_hw = \
            mask, kernel_size, stride, padding, x_hw

    def forward(self, gy):
        col = gy.transpose(1, 2, 3, 0)[:, None, None] * self.mask  # (C, kh, kw, Ho, Wo, N)
        return col2im(col, *self.x_hw, *self.stride, *self.padding)

    def backward(self, ggx):
        return WindowGather(self.mask, self.kernel_size, self.stride, self.padding)(ggx)


def pooled_size(n, k, s, p, ceil_mode):
    """PyTorch's pooling output size along one dim: floor (or ceil) of (n + 2p - k) / s, plus 1.

    With ``ceil_mode`` a last, partial window is kept only if it starts
    inside the input or the left padding (so no window is all padding).
    """
    out = (n + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _extra(n, k, s, p, out):
    """How far the last window reaches past the padded input (ceil_mode), >= 0."""
    return max(0, (out - 1) * s + k - (n + 2 * p))


def _pad_bottom_right(x, eh, ew):
    if not (eh or ew):
        return x
    from .pad import ConstantPad
    return ConstantPad(((0, 0), (0, 0), (0, eh), (0, ew)), 0)(x)


def _divisors(n, k, s, p, out, count_include_pad):
    """Each window's element count along one dim, as PyTorch's avg_pool2d divides by."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def avg_pool2d(x, kernel_size, stride, padding, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling; arguments already validated as pairs by the caller.

    The divisor is PyTorch's: kH kW by default; with ``count_include_pad=False``
    only the window's elements inside the input; with ``ceil_mode`` a last
    window that reaches past the padding divides by its part inside it;
    ``divisor_override`` replaces it.
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    N, C, H, W = x.shape
    Ho, Wo = pooled_size(H, kh, sh, ph, ceil_mode), pooled_size(W, kw, sw, pw, ceil_mode)
    eh, ew = _extra(H, kh, sh, ph, Ho), _extra(W, kw, sw, pw, Wo)
    xp = get_array_module(x.data)
    if not (eh or ew) and divisor_override is None and (count_include_pad or (ph, pw) == (0, 0)):
        if (kh, kw) == (sh, sw) and (ph, pw) == (0, 0) and H % kh == 0 and W % kw == 0:
            # Non-overlapping windows: a reshape and a mean, no im2col needed.
            return reduce.mean(reshape(x, (N, C, H // kh, kh, W // kw, kw)), (3, 5))
        # Padding counts as zeros in the average (PyTorch's count_include_pad=True).
        mask = xp.full((1, kh, kw, 1, 1, 1), 1.0 / (kh * kw), dtype=x.dtype)
        return WindowGather(mask, kernel_size, stride, padding)(x)
    if divisor_override is not None:
        div = np.full((Ho, Wo), float(divisor_override))
    else:
        div = np.outer(_divisors(H, kh, sh, ph, Ho, count_include_pad),
                       _divisors(W, kw, sw, pw, Wo, count_include_pad))
    mask = np.broadcast_to((1.0 / div).reshape(1, 1, 1, Ho, Wo, 1), (1, kh, kw, Ho, Wo, 1))
    mask = xp.asarray(np.ascontiguousarray(mask), dtype=x.dtype)
    return WindowGather(mask, kernel_size, stride, padding)(_pad_bottom_right(x, eh, ew))


def max_pool2d(x, kernel_size, stride, padding, ceil_mode=False, return_indices=False):
    """Max pooling; arguments already validated as pairs by the caller.

    Padding never wins: it is -inf, as in PyTorch. With ``return_indices``
    also returns, as PyTorch, each maximum's index into its input plane
    (row * W + column), an int64 Tensor of the output's shape.
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    xp = get_array_module(x.data)
    N, C, H, W = x.shape
    Ho, Wo = pooled_size(H, kh, sh, ph, ceil_mode), pooled_size(W, kw, sw, pw, ceil_mode)
    eh, ew = _extra(H, kh, sh, ph, Ho), _extra(W, kw, sw, pw, Wo)
    if (kh, kw) == (sh, sw) and (ph, pw) == (0, 0) and H % kh == 0 and W % kw == 0:
        # Non-overlapping windows: a reshape, a constant one-hot mask and a sum, no im2col.
        windows = x.data.reshape(N, C, Ho, kh, Wo, kw)
        first_max = windows.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, Ho, Wo, kh * kw).argmax(axis=-1)
        mask = (xp.arange(kh * kw) == first_max[..., None]).astype(x.dtype)
        mask = mask.reshape(N, C, Ho, Wo, kh, kw).transpose(0, 1, 2, 4, 3, 5)
        y = reduce.sum(reshape(x, (N, C, Ho, kh, Wo, kw)) * Tensor(mask), (3, 5))
        return (y, _indices(first_max, kw, sh, sw, ph, pw, W)) if return_indices else y
    data = x.data
    if ph or pw or eh or ew:
        data = xp.pad(data, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), constant_values=-np.inf)
    col = im2col(data, kh, kw, sh, sw, 0, 0)
    C, _, _, Ho, Wo, N = col.shape
    first_max = col.reshape(C, kh * kw, Ho, Wo, N).argmax(axis=1)  # ties: the first, like PyTorch
    mask = (xp.arange(kh * kw).reshape(1, -1, 1, 1, 1) == first_max[:, None]).astype(x.dtype)
    y = WindowGather(mask.reshape(C, kh, kw, Ho, Wo, N), kernel_size, stride, padding)(
        _pad_bottom_right(x, eh, ew))
    if not return_indices:
        return y
    return y, _indices(first_max.transpose(3, 0, 1, 2), kw, sh, sw, ph, pw, W)


def _indices(first_max, kw, sh, sw, ph, pw, W):
    """(N, C, Ho, Wo) window-local argmax (i * kW + j) -> index row * W + column into the input plane."""
    xp = get_array_module(first_max)
    Ho, Wo = first_max.shape[2:]
    row = xp.arange(Ho).reshape(-1, 1) * sh - ph + first_max // kw
    column = xp.arange(Wo).reshape(1, -1) * sw - pw + first_max % kw
    return Tensor((row * W + column).astype(np.int64))


def upsample_nearest(x, scale):
    """(N, C, H, W) -> (N, C, H*sh, W*sw), each pixel repeated into an sh x sw block."""
    (sh, sw) = scale
    N, C, H, W = x.shape
    y = reduce.broadcast_to(reshape(x, (N, C, H, 1, W, 1)), (N, C, H, sh, W, sw))
    return reshape(y, (N, C, H * sh, W * sw))

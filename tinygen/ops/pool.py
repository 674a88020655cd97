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


def avg_pool2d(x, kernel_size, stride, padding):
    """Average pooling; arguments already validated as pairs by the caller."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    N, C, H, W = x.shape
    if (kh, kw) == (sh, sw) and (ph, pw) == (0, 0) and H % kh == 0 and W % kw == 0:
        # Non-overlapping windows: a reshape and a mean, no im2col needed.
        return reduce.mean(reshape(x, (N, C, H // kh, kh, W // kw, kw)), axis=(3, 5))
    # Padding counts as zeros in the average (PyTorch's count_include_pad=True).
    mask = get_array_module(x.data).full((1, kh, kw, 1, 1, 1), 1.0 / (kh * kw), dtype=x.dtype)
    return WindowGather(mask, kernel_size, stride, padding)(x)


def max_pool2d(x, kernel_size, stride, padding):
    """Max pooling; arguments already validated as pairs by the caller.

    Padding never wins: it is -inf, as in PyTorch.
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    xp = get_array_module(x.data)
    N, C, H, W = x.shape
    if (kh, kw) == (sh, sw) and (ph, pw) == (0, 0) and H % kh == 0 and W % kw == 0:
        # Non-overlapping windows: a reshape, a constant one-hot mask and a sum, no im2col.
        Ho, Wo = H // kh, W // kw
        windows = x.data.reshape(N, C, Ho, kh, Wo, kw)
        first_max = windows.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, Ho, Wo, kh * kw).argmax(axis=-1)
        mask = (xp.arange(kh * kw) == first_max[..., None]).astype(x.dtype)
        mask = mask.reshape(N, C, Ho, Wo, kh, kw).transpose(0, 1, 2, 4, 3, 5)
        return reduce.sum(reshape(x, (N, C, Ho, kh, Wo, kw)) * Tensor(mask), axis=(3, 5))
    data = x.data
    if ph or pw:
        data = xp.pad(data, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    col = im2col(data, kh, kw, sh, sw, 0, 0)
    C, _, _, Ho, Wo, N = col.shape
    first_max = col.reshape(C, kh * kw, Ho, Wo, N).argmax(axis=1)  # ties: the first, like PyTorch
    mask = (xp.arange(kh * kw).reshape(1, -1, 1, 1, 1) == first_max[:, None]).astype(x.dtype)
    return WindowGather(mask.reshape(C, kh, kw, Ho, Wo, N), kernel_size, stride, padding)(x)


def upsample_nearest(x, scale):
    """(N, C, H, W) -> (N, C, H*sh, W*sw), each pixel repeated into an sh x sw block."""
    (sh, sw) = scale
    N, C, H, W = x.shape
    y = reduce.broadcast_to(reshape(x, (N, C, H, 1, W, 1)), (N, C, H, sh, W, sw))
    return reshape(y, (N, C, H * sh, W * sw))

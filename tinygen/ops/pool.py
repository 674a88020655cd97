"""Average pooling and nearest-neighbour upsampling.

Both are linear maps. Average pooling and its adjoint (spreading each gradient
evenly over its window) are each other's backward, so derivatives of any
order stay in this pair. Upsampling is a composite of reshape and broadcast.
"""
from ..autograd import Function
from ..kernels import col2im, im2col
from . import reduce
from .shape import reshape


class AvgPool2d(Function):
    """Mean over each kH x kW window; its backward spreads gy evenly (the adjoint)."""

    def __init__(self, kernel_size, stride, padding):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        self.x_hw = x.shape[2:]
        col = im2col(x, *self.kernel_size, *self.stride, *self.padding)
        # Padding counts as zeros in the average (PyTorch's count_include_pad=True).
        return col.mean(axis=(1, 2)).transpose(3, 0, 1, 2)

    def backward(self, gy):
        return AvgPool2dAdjoint(self.kernel_size, self.stride, self.padding, self.x_hw)(gy)


class AvgPool2dAdjoint(Function):
    """Spread each gradient evenly over its window (col2im of gy / (kH kW)); backward: AvgPool2d."""

    def __init__(self, kernel_size, stride, padding, x_hw):
        self.kernel_size, self.stride, self.padding, self.x_hw = kernel_size, stride, padding, x_hw

    def forward(self, gy):
        kh, kw = self.kernel_size
        N, C, Ho, Wo = gy.shape
        g = gy.transpose(1, 2, 3, 0)[:, None, None] * (1.0 / (kh * kw))
        col = g.repeat(kh, axis=1).repeat(kw, axis=2)  # (C, kh, kw, Ho, Wo, N)
        return col2im(col, *self.x_hw, *self.stride, *self.padding)

    def backward(self, ggx):
        return AvgPool2d(self.kernel_size, self.stride, self.padding)(ggx)


def avg_pool2d(x, kernel_size, stride, padding):
    """Average pooling; arguments already validated as pairs by the caller."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    N, C, H, W = x.shape
    if (kh, kw) == (sh, sw) and (ph, pw) == (0, 0) and H % kh == 0 and W % kw == 0:
        # Non-overlapping windows: a reshape and a mean, no im2col needed.
        return reduce.mean(reshape(x, (N, C, H // kh, kh, W // kw, kw)), axis=(3, 5))
    return AvgPool2d(kernel_size, stride, padding)(x)


def upsample_nearest(x, scale):
    """(N, C, H, W) -> (N, C, H*sh, W*sw), each pixel repeated into an sh x sw block."""
    (sh, sw) = scale
    N, C, H, W = x.shape
    y = reduce.broadcast_to(reshape(x, (N, C, H, 1, W, 1)), (N, C, H, sh, W, sw))
    return reshape(y, (N, C, H * sh, W * sw))

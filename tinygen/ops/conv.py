"""2-D convolution and transposed convolution by im2col + one GEMM.

Three Functions form a set that is closed under differentiation, so
gradients of any order never leave it (tests/test_conv.py checks them up to the third):

    Conv2dFunction(x, W)           dx = ConvTranspose2dFunction(gy, W)    dW = Conv2dWeightFunction(x, gy)
    ConvTranspose2dFunction(x, W)  dx = Conv2dFunction(gy, W)             dW = Conv2dWeightFunction(gy, x)
    Conv2dWeightFunction(x, gy)    dx = ConvTranspose2dFunction(gy, ggW)  dgy = Conv2dFunction(x, ggW)

(The ``Function`` suffix keeps them apart from the modules ``nn.Conv2d`` and
``nn.ConvTranspose2d``; call them through ``functional.conv2d`` and friends,
which check the arguments.)

Where two of them unfold the same tensor, the column matrix im2col(x) is
computed once and handed to both as the constructor argument ``col``.

Shapes follow PyTorch: conv2d weight (C_out, C_in, kH, kW); conv_transpose2d
weight (C_in, C_out, kH, kW); arrays are NCHW.
"""
from ..autograd import Function
from ..kernels import col2im, im2col


class Conv2dFunction(Function):
    """y[n, o] = sum_c W[o, c] (*) x[n, c]: a GEMM of W (C_out, C_in*kH*kW) with im2col(x).

    ``col``, if given, is im2col(x) for this stride and padding, already
    computed by the caller (then the forward does not unfold x again).
    """

    def __init__(self, stride, padding, col=None):
        self.stride, self.padding, self.col = stride, padding, col

    def forward(self, x, W):
        N = x.shape[0]
        C_out, C_in, kh, kw = W.shape
        if self.col is None:
            self.col = im2col(x, kh, kw, *self.stride, *self.padding)  # (C_in, kh, kw, Ho, Wo, N)
        col = self.col  # kept: the weight gradient in backward reads it too
        Ho, Wo = col.shape[3:5]
        y = W.reshape(C_out, -1) @ col.reshape(C_in * kh * kw, -1)
        # (C_out, Ho, Wo, N) memory, seen as NCHW: the layout the next im2col reads fastest.
        return y.reshape(C_out, Ho, Wo, N).transpose(3, 0, 1, 2)

    def backward(self, gy):
        x, W = self.inputs
        gx = gW = None
        if self.needs_grad[0]:
            gx = ConvTranspose2dFunction(self.stride, self.padding, x.shape[2:])(gy, W)
        if self.needs_grad[1]:
            gW = Conv2dWeightFunction(W.shape[2:], self.stride, self.padding, col=self.col)(x, gy)
        return gx, gW


class ConvTranspose2dFunction(Function):
    """The adjoint of Conv2dFunction in x: a GEMM Wᵀ x, then col2im scatters the columns.

    No zeros are inserted between pixels, so no multiply is wasted.
    ``output_size`` (Ho, Wo) fixes the output, which a stride makes ambiguous.
    """

    def __init__(self, stride, padding, output_size):
        self.stride, self.padding, self.output_size = stride, padding, tuple(output_size)

    def forward(self, x, W):
        N, C_in, H, Wd = x.shape
        _, C_out, kh, kw = W.shape
        x_mat = x.transpose(1, 2, 3, 0).reshape(C_in, H * Wd * N)
        col = W.reshape(C_in, -1).T @ x_mat  # (C_out*kH*kW, H*W*N)
        col = col.reshape(C_out, kh, kw, H, Wd, N)
        return col2im(col, *self.output_size, *self.stride, *self.padding)

    def backward(self, gy):
        x, W = self.inputs
        kh, kw = W.shape[2:]
        # Both gradients unfold gy: one im2col, passed to both Functions.
        col_gy = im2col(gy.data, kh, kw, *self.stride, *self.padding)
        gx = Conv2dFunction(self.stride, self.padding, col=col_gy)(gy, W) if self.needs_grad[0] else None
        gW = Conv2dWeightFunction((kh, kw), self.stride, self.padding, col=col_gy)(gy, x) \
            if self.needs_grad[1] else None
        return gx, gW


class Conv2dWeightFunction(Function):
    """The weight gradient of conv2d: gW[o, c, i, j] = sum_{n,y,x} gy[n, o, y, x] xpad[n, c, y*s+i, x*s+j].

    As a GEMM: gy (C_out, Ho*Wo*N) @ im2col(x)ᵀ. Inputs x (N, C_in, H, W) and
    gy (N, C_out, Ho, Wo); output (C_out, C_in, kH, kW). ``col``, if given, is
    im2col(x), already computed by the caller (the forward conv).
    """

    def __init__(self, kernel_size, stride, padding, col=None):
        self.kernel_size, self.stride, self.padding, self.col = tuple(kernel_size), stride, padding, col

    def forward(self, x, gy):
        kh, kw = self.kernel_size
        col = self.col if self.col is not None else im2col(x, kh, kw, *self.stride, *self.padding)
        self.col = None  # only needed once
        C_out = gy.shape[1]
        gy_mat = gy.transpose(1, 2, 3, 0).reshape(C_out, -1)
        gW = gy_mat @ col.reshape(-1, gy_mat.shape[1]).T
        return gW.reshape(C_out, x.shape[1], kh, kw)

    def backward(self, ggW):
        x, gy = self.inputs
        gx = ConvTranspose2dFunction(self.stride, self.padding, x.shape[2:])(gy, ggW) \
            if self.needs_grad[0] else None
        ggy = Conv2dFunction(self.stride, self.padding)(x, ggW) if self.needs_grad[1] else None
        return gx, ggy

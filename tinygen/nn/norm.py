"""Normalisation layers, written as composites of differentiable ops.

Both normalise with :class:`Normalize`, a fused Function. A fused BatchNorm
backward that treats the batch mean and inverse std as constants gets the
*second* derivative wrong; here the backward is itself a Function
(:class:`NormalizeBackward`) whose backward is the exact derivative, written
in differentiable ops, so every order is right.
"""
import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from ..ops.reduce import mean
from .module import Module, Parameter


class Normalize(Function):
    """x_hat = (x - M x) * s with s = (M (x - M x)^2 + eps)^-1/2, M the mean over ``axes``.

    The biased variance, as Ioffe & Szegedy 2015, Alg. 1 (BatchNorm: axes are
    all but the channel axis) and Ba et al. 2016, eq. 4 (LayerNorm: the last
    axes). Input x of any float dtype and shape; x_hat has x's shape, dtype and
    memory layout. After the forward, ``mean`` and ``var`` hold the batch
    statistics (arrays, reduced axes kept as 1) for running averages.

    Fused: the forward makes one output array and two small ones, and the
    backward is the closed form of :class:`NormalizeBackward`. The composite
    of means and products it replaces made about ten full-size temporaries in
    each direction. The backward is not a shortcut that holds M x and s
    constant (that is wrong to second order): it is itself a Function whose
    backward differentiates it exactly (tests/test_norm.py checks three orders).
    """

    def __init__(self, axes, eps):
        self.axes, self.eps = tuple(axes), eps

    def forward(self, x):
        xp = get_array_module(x)
        self.mean = x.mean(axis=self.axes, keepdims=True)
        xh = x - self.mean                              # d = x - M x (x's layout)
        sq = xp.square(xh)
        self.var = sq.mean(axis=self.axes, keepdims=True)
        del sq
        self.s = (self.var + self.eps) ** -0.5         # eps a Python float: dtype kept
        xh *= self.s
        self.xh = xh
        return xh

    def backward(self, gy):
        return NormalizeBackward(self.axes, self.eps, self.s, self.xh)(self.inputs[0], gy)


class NormalizeBackward(Function):
    """gx = s (gy - M gy - x_hat M(gy x_hat)): the VJP of :class:`Normalize` at x.

    Inputs x (the forward's input) and gy (x's shape). ``s`` and ``xh`` may pass
    in the forward's s and x_hat, computed from the same x, to save recomputing.

    Its own backward, for a cotangent u of gx, with a = gy - M gy - x_hat M(gy x_hat)
    (so gx = s a) and Q(z) = z - M z - x_hat M(x_hat z):
        d/dgy: s Q(u)   (gx is linear in gy and Q is symmetric: this Function again)
        d/dx:  -s^2 (M(u a) x_hat + M(gy x_hat) Q(u) + M(u x_hat) a)
    from d x_hat = s Q(dx) and ds = -s^2 M(x_hat dx). d/dx is written in
    differentiable ops on x, so every further order is exact too.
    """

    def __init__(self, axes, eps, s=None, xh=None):
        self.axes, self.eps, self.s, self.xh = axes, eps, s, xh

    def forward(self, x, gy):
        if self.xh is None:
            f = Normalize(self.axes, self.eps)
            self.xh, self.s = f.forward(x), f.s
        xp = get_array_module(x)
        xh, axes = self.xh, self.axes
        c1 = gy.mean(axis=axes, keepdims=True)
        t = gy * xh
        c2 = t.mean(axis=axes, keepdims=True)
        xp.multiply(xh, c2, out=t)                      # reuse t: x_hat M(gy x_hat)
        t += c1
        xp.subtract(gy, t, out=t)                       # a
        t *= self.s
        return t

    def backward(self, u):
        x, gy = self.inputs
        axes = self.axes
        ggy = NormalizeBackward(axes, self.eps, self.s, self.xh)(x, u) if self.needs_grad[1] else None
        gx = None
        if self.needs_grad[0]:
            def M(z):
                return mean(z, axes, keepdims=True)
            # x_hat and s as functions of x, so this term differentiates again.
            d = x - M(x)
            s = (M(d * d) + self.eps) ** -0.5
            xh = d * s
            c2 = M(gy * xh)
            a = gy - M(gy) - xh * c2
            qu = u - M(u) - xh * M(xh * u)
            gx = -(s * s) * (M(u * a) * xh + c2 * qu + M(u * xh) * a)
        return gx, ggy


class _BatchNorm(Module):
    _ndims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_features, np.float32)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, np.float32))
        self.register_buffer("running_var", np.ones(num_features, np.float32))

    def forward(self, x):
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise ValueError(f"x: expected {self._layout} with C = {self.num_features}, got shape {x.shape}")
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if self.training:
            norm = Normalize(axes, self.eps)
            y = norm(x)
            # Running statistics from the batch statistics just computed (plain arrays, no graph).
            n, m = x.size // self.num_features, self.momentum
            batch_var = norm.var.reshape(-1) * (n / max(n - 1, 1))  # unbiased, as PyTorch stores
            self.running_mean = ((1 - m) * self.running_mean + m * norm.mean.reshape(-1)).astype(x.dtype)
            self.running_var = ((1 - m) * self.running_var + m * batch_var).astype(x.dtype)
        else:
            xp = get_array_module(x.data)
            rm = self.running_mean.reshape(shape).astype(x.dtype)
            rs = (1.0 / xp.sqrt(self.running_var.reshape(shape) + self.eps)).astype(x.dtype)
            y = (x - rm) * rs
        if self.weight is not None:
            y = y * self.weight.reshape(*shape) + self.bias.reshape(*shape)
        return y

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) inputs, per channel C.

    Train mode normalises with the batch statistics (biased variance) and
    updates running_mean / running_var (unbiased) with ``momentum``; eval
    mode uses the running statistics. Source: Ioffe & Szegedy 2015, Algorithm 1.

    Raises:
        ValueError: x is not 2-D/3-D or its C differs from ``num_features``.
    """
    _ndims, _layout = (2, 3), "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W), per channel; see :class:`BatchNorm1d`.

    Raises:
        ValueError: x is not 4-D or its C differs from ``num_features``.
    """
    _ndims, _layout = (4,), "(N, C, H, W)"


class LayerNorm(Module):
    """Layer normalisation over the last dims ``normalized_shape``, per sample.

    No batch statistics, so it does not couple samples: the right choice for a
    WGAN-GP critic, whose penalty is per sample (Gulrajani et al. 2017, sec. 4).
    weight and bias have shape ``normalized_shape``. Source: Ba et al. 2016, eq. 4.

    Raises:
        ValueError: x's trailing dims differ from ``normalized_shape``.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.weight = Parameter(np.ones(shape, np.float32)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, np.float32)) if elementwise_affine else None

    def forward(self, x):
        k = len(self.normalized_shape)
        if x.shape[-k:] != self.normalized_shape:
            raise ValueError(f"x: expected trailing dims {self.normalized_shape}, got shape {x.shape}")
        y = Normalize(tuple(range(x.ndim - k, x.ndim)), self.eps)(x)
        if self.weight is not None:
            y = y * self.weight + self.bias
        return y

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"

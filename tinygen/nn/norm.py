"""Normalisation layers, written as composites of differentiable ops.

A fused BatchNorm backward that treats the batch mean and inverse std as
constants gets the *second* derivative wrong (one reference engine was off by
0.5 on values near 0.95; shared/NOTES.md). Built from means, a power and
products, the graph differentiates itself correctly to any order.
"""
import numpy as np

from ..backend import get_array_module
from ..ops.reduce import mean
from .module import Module, Parameter


def _normalize(x, axes, eps):
    """(x - E[x]) / sqrt(Var[x] + eps) with the biased variance (Ioffe & Szegedy 2015, Alg. 1).

    Returns x_hat and the batch mean and variance (Tensors, reduced axes kept as 1).
    Multiplying by the small (Var + eps)^-1/2 keeps the backward cheaper than a division.
    """
    mu = mean(x, axes, keepdims=True)
    d = x - mu
    v = mean(d * d, axes, keepdims=True)
    return d * (v + eps) ** -0.5, mu, v


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
            y, mu, v = _normalize(x, axes, self.eps)
            # Running statistics from the batch statistics just computed (plain arrays, no graph).
            n, m = x.size // self.num_features, self.momentum
            batch_var = v.data.reshape(-1) * (n / max(n - 1, 1))  # unbiased, as PyTorch stores
            self.running_mean = ((1 - m) * self.running_mean + m * mu.data.reshape(-1)).astype(x.dtype)
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
        y, _, _ = _normalize(x, tuple(range(x.ndim - k, x.ndim)), self.eps)
        if self.weight is not None:
            y = y * self.weight + self.bias
        return y

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"

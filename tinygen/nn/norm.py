"""Normalisation layers, written as composites of differentiable ops.

BatchNorm, LayerNorm and InstanceNorm normalise with :class:`Normalize`, a fused Function. A fused BatchNorm
backward that treats the batch mean and inverse std as constants gets the
*second* derivative wrong; here the backward is itself a Function
(:class:`NormalizeBackward`) whose backward is the exact derivative, written
in differentiable ops, so every order is right.

BatchNorm's affine scale and shift are fused too (:class:`NormalizeAffine`):
its backward reuses the two sums the normalisation's backward needs anyway,
sum(gy) and sum(gy x_hat), which are the bias's and the weight's gradients.

:func:`normalize_composite` is the plain composite both Functions replace,
kept as the reference tests/test_norm.py holds them to (values, first and
second derivatives).
"""
import numpy as np

from .. import functional as F
from ..autograd import Function, Tensor, _describe
from ..backend import get_array_module
from ..ops.reduce import mean, sum as tsum
from .layers import _float_dtype, _placed, _positive_int
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
        gx = _normalize_backward_dx(x, gy, u, axes, self.eps) if self.needs_grad[0] else None
        return gx, ggy


def _normalize_backward_dx(x, gy, u, axes, eps):
    """d/dx of <u, NormalizeBackward(x, gy)>, in differentiable tinygen ops (Tensors in and out):
        -s^2 (M(u a) x_hat + M(gy x_hat) Q(u) + M(u x_hat) a)
    with a and Q as in :class:`NormalizeBackward`. x_hat and s are rebuilt as
    functions of x, so this term differentiates again."""
    def M(z):
        return mean(z, axes, True)
    d = x - M(x)
    s = (M(d * d) + eps) ** -0.5
    xh = d * s
    c2 = M(gy * xh)
    a = gy - M(gy) - xh * c2
    qu = u - M(u) - xh * M(xh * u)
    return -(s * s) * (M(u * a) * xh + c2 * qu + M(u * xh) * a)


def _count(shape, axes):
    """The number of elements one statistic averages: the product of ``shape`` over ``axes``."""
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class NormalizeAffine(Function):
    """y = x_hat w + b, x_hat = Normalize(axes)(x), with w and b constant along ``axes``.

    BatchNorm's training forward with its affine scale and shift (Ioffe &
    Szegedy 2015, Alg. 1): x (N, C, ...) of any float dtype and layout; w, b of
    x's dtype and shape (1, C, 1, ...), i.e. size 1 on every axis in ``axes``
    (LayerNorm's per-element weight varies along its axes: it does not fit).
    y has x's shape, dtype and memory layout. ``mean`` and ``var`` hold the
    batch statistics after the forward, as in :class:`Normalize`.

    With d = x - M x and s = (M d^2 + eps)^-1/2, y = d (s w) + b: two full passes
    after the statistics, and d and s are kept for the backward, which
    (:class:`NormalizeAffineBackward`) is a Function with an exact backward of
    its own (tests/test_norm.py checks three orders against the composite).
    """

    def __init__(self, axes, eps):
        self.axes, self.eps = tuple(axes), eps

    def forward(self, x, w, b):
        xp = get_array_module(x)
        self.mean = x.mean(axis=self.axes, keepdims=True)
        d = x - self.mean                               # x's layout
        y = xp.multiply(d, d)                           # scratch for d^2, then the output
        self.var = y.mean(axis=self.axes, keepdims=True)
        self.s = (self.var + self.eps) ** -0.5          # eps a Python float: dtype kept
        xp.multiply(d, self.s * w, out=y)
        y += b
        self.d = d
        return y

    def backward(self, gy):
        x, w, _ = self.inputs
        gx, gw, gb = NormalizeAffineBackward(self.axes, self.eps, self.d, self.s)(x, w, gy)
        return gx, gw, gb


class NormalizeAffineBackward(Function):
    """The VJP of :class:`NormalizeAffine`: inputs x, w, gy; outputs (gx, gw, gb).

        gb = sum gy,  gw = sum gy x_hat  (sums over ``axes``; w's shape)
        gx = w N(x, gy) = w s (gy - M gy - x_hat M(gy x_hat))
    with N = :class:`NormalizeBackward` (w factors out of N because it is
    constant along ``axes``). Both sums are the ones N needs, so the forward
    makes two reductions and one output: with M(gy x_hat) = s M(gy d),
        gx = (w s) gy - (w s) M gy - (w s^3 M(gy d)) d.
    ``d`` and ``s`` may pass in the forward's x - M x and inverse std.

    Its own backward, for cotangents (u, u_w, u_b) of (gx, gw, gb):
        d/dgy: N(x, w u) + u_w x_hat + u_b   (N is linear in gy and symmetric)
        d/dw:  sum u N(x, gy)
        d/dx:  d/dx <w u, N(x, gy)> + N(x, u_w gy)   (the second: the VJP of x_hat)
    all in differentiable ops and Functions, so every further order is exact.
    """

    def __init__(self, axes, eps, d=None, s=None):
        self.axes, self.eps, self.d, self.s = axes, eps, d, s

    def forward(self, x, w, gy):
        xp, axes = get_array_module(x), self.axes
        if self.d is None:
            self.d = x - x.mean(axis=axes, keepdims=True)
            self.s = (xp.square(self.d).mean(axis=axes, keepdims=True) + self.eps) ** -0.5
        d, s = self.d, self.s
        self.d = None  # only needed once; the backward recomputes from x
        n = _count(x.shape, axes)
        gb = gy.sum(axis=axes, keepdims=True)
        t = xp.multiply(gy, d)
        sgd = t.sum(axis=axes, keepdims=True)           # sum gy d
        gw = s * sgd                                    # sum gy x_hat
        k = w * s
        gx = xp.multiply(gy, k)
        gx -= k * (gb * (1.0 / n))                      # (w s) M gy
        xp.multiply(d, k * (s * s) * (sgd * (1.0 / n)), out=t)
        gx -= t                                         # (w s^3 M(gy d)) d
        return gx, gw, gb

    def backward(self, u, uw, ub):
        x, w, gy = self.inputs
        axes, eps = self.axes, self.eps
        gx = gw = ggy = None
        if self.needs_grad[0]:
            gx = _normalize_backward_dx(x, gy, w * u, axes, eps) + NormalizeBackward(axes, eps)(x, uw * gy)
        if self.needs_grad[1]:
            gw = tsum(u * NormalizeBackward(axes, eps)(x, gy), axes, True)
        if self.needs_grad[2]:
            ggy = NormalizeBackward(axes, eps)(x, w * u) + uw * Normalize(axes, eps)(x) + ub
        return gx, gw, ggy


def normalize_composite(x, axes, eps=1e-5, weight=None, bias=None):
    """The plain composite that :class:`Normalize` and :class:`NormalizeAffine` fuse,
    kept as the reference they are tested against (tests/test_norm.py):

        mean = M x,  var = M (x - mean)^2   (M the mean over ``axes``; correction 0)
        x_hat = (x - mean) / sqrt(var + eps)
        y = weight x_hat + bias             (if given)

    written in differentiable tinygen ops only (means, products, a power), so its
    derivatives of every order come from the ops' own backwards. About ten
    full-size temporaries each way: the reason the fused Functions exist.

    Args:
        x: Tensor of any float dtype and shape.
        axes: tuple of the dims to normalise over: (0, 2, 3) for BatchNorm2d on
            (N, C, H, W), (0,) for BatchNorm1d on (N, C), the trailing dims for LayerNorm.
        eps: float added to the variance.
        weight, bias: Tensors broadcastable to x's shape (e.g. (1, C, 1, 1) or
            LayerNorm's ``normalized_shape``), or None.

    Returns:
        A Tensor of x's shape and dtype.

    Source: Ioffe & Szegedy 2015, Algorithm 1 (BatchNorm's biased batch
    variance and affine transform); Ba et al. 2016, eq. 4 (LayerNorm).
    """
    axes = tuple(axes)
    d = x - mean(x, axes, True)
    y = d * (mean(d * d, axes, True) + eps) ** -0.5
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _check_eps_momentum(eps, momentum):
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps < 0:
        raise ValueError(f"eps: expected a number >= 0, got {eps!r}")
    if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, (int, float))
                                 or not 0 <= momentum <= 1):
        raise ValueError(f"momentum: expected a number in [0, 1] or None (cumulative average), got {momentum!r}")


class _BatchNorm(Module):
    _ndims, _layout = (), ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None):
        super().__init__()
        _check_eps_momentum(eps, momentum)
        dt = _float_dtype(dtype)
        self.num_features = _positive_int(num_features, "num_features")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        if affine:
            self.weight = Parameter(np.ones(num_features, dt))
            self.bias = Parameter(np.zeros(num_features, dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dt)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        _placed(self, device)

    def _optional_state_keys(self):
        # A state dict without num_batches_tracked (PyTorch < 0.4.1, or tinygen's
        # shipped classifier weights) still loads; the counter keeps its value.
        return ("num_batches_tracked",)

    def reset_running_stats(self):
        """running_mean = 0, running_var = 1, num_batches_tracked = 0, in place."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        """Reset the running statistics, and weight = 1, bias = 0 (PyTorch's init)."""
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            self.bias.data[...] = 0

    def forward(self, input):
        x = input
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise ValueError(f"input: expected {self._layout} with C = {self.num_features}, got shape {x.shape}")
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        # As PyTorch: batch statistics in training mode, and also in eval mode
        # when no running statistics are kept.
        if self.training or self.running_mean is None:
            if self.weight is not None:  # one fused Function for normalise, scale and shift
                norm = NormalizeAffine(axes, self.eps)
                y = norm(x, self.weight.reshape(shape), self.bias.reshape(shape))
            else:
                norm = Normalize(axes, self.eps)
                y = norm(x)
            if self.training and self.track_running_stats:
                self._update_running_stats(norm, x)
        else:
            xp = get_array_module(x.data)
            rm = self.running_mean.data.reshape(shape).astype(x.dtype)
            rs = (1.0 / xp.sqrt(self.running_var.data.reshape(shape) + self.eps)).astype(x.dtype)
            y = (x - rm) * rs
            if self.weight is not None:
                y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

    def _update_running_stats(self, norm, x):
        """Running averages from the batch statistics just computed (plain arrays, no graph):
        r = (1 - m) r + m s, with the unbiased variance as PyTorch stores, and
        m = momentum, or 1 / num_batches_tracked (a cumulative average) for momentum=None."""
        self.num_batches_tracked.data += 1
        m = self.momentum
        if m is None:
            m = 1.0 / float(self.num_batches_tracked.data)
        n = x.data.size // self.num_features
        batch_var = norm.var.reshape(-1) * (n / max(n - 1, 1))
        rm, rv = self.running_mean, self.running_var
        rm.data = ((1 - m) * rm.data + m * norm.mean.reshape(-1)).astype(rm.dtype)
        rv.data = ((1 - m) * rv.data + m * batch_var).astype(rv.dtype)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) inputs, per channel C, as ``torch.nn.BatchNorm1d``.

    Train mode normalises with the batch statistics (biased variance) and, with
    ``track_running_stats``, updates the buffers running_mean / running_var
    (unbiased variance) as r = (1 - momentum) r + momentum s, counting batches
    in ``num_batches_tracked`` (int64); ``momentum=None`` makes that a cumulative
    average (momentum 1 / num_batches_tracked). Eval mode uses the running
    statistics (the batch's if none are tracked). weight (C,) = 1, bias (C,) = 0
    when ``affine``. Source: Ioffe & Szegedy 2015, Algorithm 1; PyTorch's buffers.

    Raises:
        ValueError: (constructor) a bad num_features, eps or momentum; (forward) the
            input is not 2-D/3-D or its C differs from ``num_features``.
    """
    _ndims, _layout = (2, 3), "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W), per channel, as ``torch.nn.BatchNorm2d``;
    see :class:`BatchNorm1d`.

    Raises:
        ValueError: (constructor) a bad num_features, eps or momentum; (forward) the
            input is not 4-D or its C differs from ``num_features``.
    """
    _ndims, _layout = (4,), "(N, C, H, W)"


class LayerNorm(Module):
    """Layer normalisation over the last dims ``normalized_shape``, per sample, as
    ``torch.nn.LayerNorm``.

    No batch statistics, so it does not couple samples: the right choice for a
    WGAN-GP critic, whose penalty is per sample (Gulrajani et al. 2017, sec. 4).
    weight (= 1) and bias (= 0) have shape ``normalized_shape``
    (``elementwise_affine``; ``bias=False`` drops the bias). Source: Ba et al. 2016, eq. 4.

    Raises:
        ValueError: (constructor) a bad eps; (forward) the input's trailing dims
            differ from ``normalized_shape``.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        _check_eps_momentum(eps, None)
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        dt = _float_dtype(dtype)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, bool(elementwise_affine)
        if elementwise_affine:
            self.weight = Parameter(np.ones(shape, dt))
            if bias:
                self.bias = Parameter(np.zeros(shape, dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        _placed(self, device)

    def forward(self, input):
        x = input
        k = len(self.normalized_shape)
        if tuple(x.shape[-k:]) != self.normalized_shape:
            raise ValueError(f"input: expected trailing dims {self.normalized_shape}, got shape {x.shape}")
        y = Normalize(tuple(range(x.ndim - k, x.ndim)), self.eps)(x)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


def _fused_normalize(x, axes, eps):
    """(x_hat, mean, var) by the fused :class:`Normalize`: the step ``F.instance_norm``'s
    implementation takes, so that :class:`InstanceNorm2d` runs the fused Function."""
    norm = Normalize(axes, eps)
    return norm(x), norm.mean, norm.var


class InstanceNorm2d(_BatchNorm):
    """Instance normalisation of (N, C, H, W) or unbatched (C, H, W), per sample and
    channel over (H, W), as ``torch.nn.InstanceNorm2d``; see ``F.instance_norm``.

    y_nc = (x_nc - mean(x_nc)) / sqrt(var(x_nc) + eps) * weight_c + bias_c with the
    biased variance over the H x W pixels of sample n, channel c (Ulyanov et al.
    2016, "Instance Normalization"). No statistic mixes samples. StyleGAN's AdaIN is this
    normalisation with a per-sample scale and shift (``nn.adaptive_instance_norm``).

    PyTorch's defaults: ``affine=False`` (with True: weight (C,) = 1 and bias (C,) = 0)
    and ``track_running_stats=False``. With True the buffers running_mean,
    running_var (C,) and num_batches_tracked (int64, kept for PyTorch's state
    dicts; as in PyTorch it stays 0) are registered: training mode still
    normalises with each sample's statistics and updates the running ones as
    ``F.instance_norm`` does; eval mode normalises with the running ones.
    ``momentum=None`` passes momentum 0.0, as PyTorch does: the running
    statistics then never move. Runs the fused :class:`Normalize` Function
    (exact to every order, as the composite ``F.instance_norm``).

    Raises:
        ValueError: (constructor) a bad num_features, eps, momentum or dtype; (forward)
            the input is not 3-D/4-D, its C differs from ``num_features`` (PyTorch only
            warns when affine=False), or as ``F.instance_norm`` (e.g. a 1 x 1 input
            normalised with its own statistics).
    """
    _ndims, _layout = (3, 4), "(N, C, H, W) or unbatched (C, H, W)"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input):
        x = input
        if not isinstance(x, Tensor) or x.ndim not in self._ndims or x.shape[-3] != self.num_features:
            raise ValueError(f"input: expected {self._layout} with C = {self.num_features}, got "
                             f"{_describe(x)}")
        unbatched = x.ndim == 3
        if unbatched:
            x = x.reshape((1,) + x.shape)
        y = F._instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             self.training or not self.track_running_stats,
                             0.0 if self.momentum is None else self.momentum, self.eps, _fused_normalize)
        return y.reshape(y.shape[1:]) if unbatched else y

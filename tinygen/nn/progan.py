"""ProGAN's layers: the minibatch standard deviation, pixelwise feature
normalisation and the equalised learning rate.

Karras, Aila, Laine & Lehtinen 2018, "Progressive Growing of GANs for
Improved Quality, Stability, and Variation" (ICLR), sections 3, 4.1 and 4.2;
the details (group size, epsilons, where the constants go) follow the
authors' code (``networks.py`` of tkarras/progressive_growing_of_gans).
:class:`EqualizedLinear`'s ``lr_multiplier`` is StyleGAN's (Karras, Laine &
Aila 2019, "A Style-Based Generator Architecture for GANs", appendix C: 0.01
for the mapping network).

Everything here is a composite of tinygen's differentiable ops (means,
products, a square root, reshape, repeat, cat, linear, conv2d), so it is
differentiable to every order: the WGAN-GP penalty of ProGAN's critic
differentiates through :func:`minibatch_std`.
"""
import math

import numpy as np

from .. import functional as F
from ..autograd import Tensor, _describe
from ..ops.shape import cat
from .init import normal_, zeros_
from .layers import _pair, _param, _placed, _positive_int
from .module import Module

__all__ = ["minibatch_std", "pixel_norm", "MinibatchStdDev", "PixelNorm", "EqualizedLinear", "EqualizedConv2d"]


# ---------------------------------------------------------------- argument checks
def _number(value, name, minimum=None, above=None):
    """``value`` as a float, checked to be a finite number (>= minimum or > above)."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) and \
        math.isfinite(value)
    if ok and minimum is not None:
        ok = value >= minimum
    if ok and above is not None:
        ok = value > above
    if not ok:
        bound = f" >= {minimum}" if minimum is not None else f" > {above}" if above is not None else ""
        raise ValueError(f"{name}: expected a finite number{bound}, got {value!r}")
    return float(value)


# ---------------------------------------------------------------- functions
def minibatch_std(x, group_size=4, eps=1e-8):
    """Append the minibatch standard deviation as one more feature map (ProGAN, section 3).

    The batch is split into groups of G = min(group_size, N) samples, as the
    authors' code does: ``x.reshape(G, M, C, H, W)`` with M = N // G, so
    sample n belongs to group n % M (groups are strided, not consecutive
    samples). Per group, the standard deviation over its G samples of every
    feature at every pixel, sqrt(mean((x - mean x)^2) + eps) (the biased
    variance), is averaged over (C, H, W) into one number; that number is
    tiled into an (H, W) map for each sample of the group and concatenated
    after the C input channels. A discriminator that sees it can tell a batch
    without variety (mode collapse) from a real one.

    Args:
        x: (N, C, H, W), float32 or float64.
        group_size: int >= 1; the group size G is min(group_size, N) and must divide N.
        eps: number >= 0 added to the variance before the square root (1e-8 as
            the authors' code), so that the square root has a finite derivative
            at zero variance.

    Returns:
        (N, C + 1, H, W), x's dtype: x, then channel C holding sample n's group
        value s[n % M] at every pixel.

    Raises:
        ValueError: x is not a 4-D Tensor, ``group_size`` is not an int >= 1 or
            G does not divide N, or ``eps`` is not a number >= 0.

    Source: Karras et al. 2018, section 3 ("Increasing variation using
    minibatch standard deviation") and ``minibatch_stddev_layer`` of the
    authors' ``networks.py``.
    """
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"x: expected a 4-D tensor (N, C, H, W), got "
                         f"{_describe(x)}")
    group_size = _positive_int(group_size, "group_size")
    eps = _number(eps, "eps", minimum=0)
    N, C, H, W = x.shape
    G = min(group_size, N)
    if N % G:
        raise ValueError(f"group_size: expected a group size dividing the batch of {N}, got {group_size}")
    M = N // G
    y = x.reshape(G, M, C, H, W)                          # sample n = g M + m is in group m
    y = y - y.mean(dim=0, keepdim=True)                   # deviation from the group mean
    var = (y * y).mean(dim=0)                             # (M, C, H, W), biased
    s = (var + eps).sqrt().mean(dim=(1, 2, 3))            # (M,): one number per group
    s = s.reshape(M, 1, 1, 1).repeat(G, 1, H, W)          # (N, 1, H, W): sample n gets s[n % M]
    return cat([x, s], dim=1)


def pixel_norm(x, eps=1e-8):
    """Pixelwise feature vector normalisation (ProGAN, section 4.2, eq. 3).

    b = a / sqrt(mean over the channels of a^2 + eps): at every pixel of every
    sample the feature vector is scaled to a mean square of 1 (up to eps), so
    the generator's signal magnitudes cannot escalate.

    Args:
        x: (N, C) or (N, C, H, W) (any (N, C, ...)), float32 or float64.
        eps: number >= 0 (1e-8, as the paper).

    Returns:
        x's shape and dtype.

    Raises:
        ValueError: x is not a Tensor of at least 2 dims, or ``eps`` is not a number >= 0.

    Source: Karras et al. 2018, section 4.2, eq. 3, and ``pixel_norm`` of the
    authors' ``networks.py``.
    """
    if not isinstance(x, Tensor) or x.ndim < 2:
        raise ValueError(f"x: expected a tensor (N, C) or (N, C, H, W), got "
                         f"{_describe(x)}")
    eps = _number(eps, "eps", minimum=0)
    return x / ((x * x).mean(dim=1, keepdim=True) + eps).sqrt()


# ---------------------------------------------------------------- modules without parameters
class MinibatchStdDev(Module):
    """:func:`minibatch_std` as a layer: (N, C, H, W) -> (N, C + 1, H, W).

    Placed before the last convolutions of ProGAN's discriminator (its
    4x4 block). No parameters.

    Raises:
        ValueError: (constructor) ``group_size`` not an int >= 1, ``eps`` not a
            number >= 0; (forward) as :func:`minibatch_std`.

    Source: Karras et al. 2018, section 3.
    """

    def __init__(self, group_size=4, eps=1e-8):
        super().__init__()
        self.group_size = _positive_int(group_size, "group_size")
        self.eps = _number(eps, "eps", minimum=0)

    def forward(self, input):
        return minibatch_std(input, self.group_size, self.eps)

    def extra_repr(self):
        return f"group_size={self.group_size}"


class PixelNorm(Module):
    """:func:`pixel_norm` as a layer: (N, C) or (N, C, H, W), shape unchanged.

    ProGAN's generator applies it after every 3x3 convolution (and to the
    latent input). No parameters.

    Raises:
        ValueError: (constructor) ``eps`` not a number >= 0; (forward) as :func:`pixel_norm`.

    Source: Karras et al. 2018, section 4.2.
    """

    def __init__(self, eps=1e-8):
        super().__init__()
        self.eps = _number(eps, "eps", minimum=0)

    def forward(self, input):
        return pixel_norm(input, self.eps)

    def extra_repr(self):
        return f"eps={self.eps}"


# ---------------------------------------------------------------- the equalised learning rate
def _gain(gain):
    return _number(gain, "gain", above=0)


class EqualizedLinear(Module):
    """A linear layer with the equalised learning rate (ProGAN, section 4.1):
    x: (..., in_features) -> (..., out_features).

    The weight is stored as drawn, N(0, 1), and scaled at run time by the
    He constant c = gain / sqrt(in_features): y = x (c W)ᵀ + b. Then every
    weight has the same dynamic range, and an optimiser that normalises its
    step by the gradient's scale (Adam, RMSprop) moves every layer's effective
    weights c W at the same relative speed, whatever its fan-in.

    ``lr_multiplier`` (StyleGAN's, Karras et al. 2019, appendix C) slows this
    layer down by that factor: the weight is drawn N(0, 1) / lr_multiplier and
    used as W (c lr_multiplier), and the bias as b lr_multiplier, so the
    effective weights start as with lr_multiplier = 1 while an optimiser step
    changes them lr_multiplier times as much (0.01 in StyleGAN's mapping network).

    Parameters: ``weight`` (out_features, in_features), ``bias``
    (out_features,) zeros, or None with ``bias=False``. Attribute ``scale``:
    the constant c lr_multiplier the weight is multiplied by. ``device``,
    ``dtype``: as :class:`Linear` (default "cpu", float32). The draw uses
    tinygen's global generator (``tinygen.manual_seed``).

    Raises:
        ValueError: a size that is not a positive int, ``gain`` or
            ``lr_multiplier`` not a finite number > 0, or a non-floating dtype.

    Source: Karras et al. 2018, section 4.1, and ``get_weight``/``dense`` of the
    authors' ``networks.py``; ``lr_multiplier``: StyleGAN's ``dense`` (``lrmul``).
    """

    def __init__(self, in_features, out_features, bias=True, gain=math.sqrt(2), lr_multiplier=1.0,
                 device=None, dtype=None):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        self.gain = _gain(gain)
        self.lr_multiplier = _number(lr_multiplier, "lr_multiplier", above=0)
        self.scale = self.gain / math.sqrt(self.in_features) * self.lr_multiplier
        self.weight = _param((self.out_features, self.in_features), dtype)
        normal_(self.weight, 0.0, 1.0 / self.lr_multiplier)
        if bias:
            self.bias = zeros_(_param((self.out_features,), dtype))
        else:
            self.register_parameter("bias", None)
        _placed(self, device)

    def forward(self, input):
        bias = self.bias
        if bias is not None and self.lr_multiplier != 1:
            bias = bias * self.lr_multiplier
        return F.linear(input, self.weight * self.scale, bias)

    def extra_repr(self):
        s = (f"in_features={self.in_features}, out_features={self.out_features}, "
             f"bias={self.bias is not None}, gain={self.gain:.4g}")
        return s + (f", lr_multiplier={self.lr_multiplier}" if self.lr_multiplier != 1 else "")


class EqualizedConv2d(Module):
    """A 2-D convolution with the equalised learning rate (ProGAN, section 4.1):
    (N, C_in, H, W) -> (N, C_out, Ho, Wo), Ho = floor((H + 2 pH - kH) / sH) + 1 (likewise Wo).

    The weight is stored as drawn, N(0, 1), and scaled at run time by
    ``scale`` = gain / sqrt(in_channels kH kW) (He et al. 2015's constant, from
    the fan-in): y = conv2d(x, scale W, b, stride, padding). See
    :class:`EqualizedLinear` for why.

    Parameters: ``weight`` (out_channels, in_channels, kH, kW), ``bias``
    (out_channels,) zeros, or None with ``bias=False``. ``kernel_size``,
    ``stride`` and ``padding`` (ints or pairs) are stored as pairs, as
    :class:`Conv2d`. ``device``, ``dtype``: as :class:`Conv2d`. The draw uses
    tinygen's global generator.

    Raises:
        ValueError: a channel count or kernel size that is not a positive int,
            a stride < 1, a padding < 0, ``gain`` not a finite number > 0, or a
            non-floating dtype; (forward) what ``functional.conv2d`` refuses.

    Source: Karras et al. 2018, section 4.1, and ``get_weight``/``conv2d`` of the
    authors' ``networks.py``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 gain=math.sqrt(2), device=None, dtype=None):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        self.gain = _gain(gain)
        kh, kw = self.kernel_size
        self.scale = self.gain / math.sqrt(self.in_channels * kh * kw)
        self.weight = _param((self.out_channels, self.in_channels, kh, kw), dtype)
        normal_(self.weight)
        if bias:
            self.bias = zeros_(_param((self.out_channels,), dtype))
        else:
            self.register_parameter("bias", None)
        _placed(self, device)

    def forward(self, input):
        return F.conv2d(input, self.weight * self.scale, self.bias, self.stride, self.padding)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s + f", gain={self.gain:.4g}"

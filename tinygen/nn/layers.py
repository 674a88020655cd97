"""Layers with parameters, activations, losses and containers, as ``torch.nn``:
PyTorch's class names, constructor arguments and defaults.

Where tinygen lacks a PyTorch option (dilated max pooling, ...) the
constructor accepts the argument at its default and raises a
``ValueError`` naming it for any other value, so that nothing is silently
computed differently.
"""
import inspect
import warnings
from collections import OrderedDict

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..backend import as_device, get_array_module
from ..ops.activation import check_probability
from .init import default_init_, normal_
from .module import Module, Parameter


# ---------------------------------------------------------------- helpers
def _float_dtype(dtype):
    """np.dtype for a layer's ``dtype=`` argument (float32 when None)."""
    if dtype is None:
        return np.dtype(np.float32)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype: expected a floating dtype such as tinygen.float32, got {dtype!r}") from None
    if dt.kind != "f":
        raise ValueError(f"dtype: expected a floating dtype such as tinygen.float32, got {dt}")
    return dt


def _param(shape, dtype=None):
    return Parameter(np.empty(shape, dtype=_float_dtype(dtype)))


def _placed(module, device):
    """``module`` moved to ``device`` (the ``device=`` constructor argument), if one was given."""
    return module if device is None else module.to(device)


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
    return int(value)


def _pair(v, name="kernel_size", minimum=0):
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) and p >= minimum for p in pair):
        raise ValueError(f"{name}: expected an int >= {minimum} or a pair of them, got {v!r}")
    return tuple(int(p) for p in pair)


def _unsupported(name, value, default, what=None):
    """Raise ValueError naming ``name`` unless ``value`` is PyTorch's default, which tinygen supports."""
    same = value == default if not isinstance(value, (tuple, list)) else tuple(value) == default
    if not same:
        raise ValueError(f"{name}: tinygen supports only {name}={default!r}{what or ''}, got {value!r}")


def _weight_and_bias(module, weight_shape, out_features, bias, dtype):
    """Give ``module`` a weight and an optional bias, with PyTorch's default init."""
    module.weight = _param(weight_shape, dtype)
    if bias:
        module.bias = _param((out_features,), dtype)
    else:
        module.register_parameter("bias", None)
    default_init_(module.weight, module.bias)


# ---------------------------------------------------------------- parameterised layers
class Linear(Module):
    """y = x Wᵀ + b, as ``torch.nn.Linear``. x: (..., in_features) -> (..., out_features).

    weight: (out_features, in_features); bias: (out_features,) or None. Default
    init: PyTorch's (``nn.init.default_init_``: kaiming_uniform_ with a = sqrt(5),
    He et al. 2015). ``device``/``dtype``: where and in which float type the
    parameters live (default "cpu", float32).

    Raises:
        ValueError: a size that is not a positive int, or a non-floating dtype.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        _weight_and_bias(self, (out_features, in_features), out_features, bias, dtype)
        _placed(self, device)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _groups(groups, in_channels, out_channels):
    """``groups`` as an int >= 1 that divides both channel counts (ValueError naming the argument)."""
    groups = _positive_int(groups, "groups")
    for name, c in (("in_channels", in_channels), ("out_channels", out_channels)):
        if c % groups:
            raise ValueError(f"{name}: expected a multiple of groups = {groups}, got {c}")
    return groups


def _conv_padding(padding, kernel_size, stride, dilation):
    """PyTorch's ``padding`` (int, pair, "valid" or "same") as (pad for F.conv2d, pad for F.pad).

    The first is a pair of ints or "same" (F.conv2d pads an odd total with the
    extra row/column at the bottom/right); the second is PyTorch's
    ``_reversed_padding_repeated_twice`` (left, right, top, bottom), what a
    ``padding_mode`` other than "zeros" pads with before a conv with padding 0.
    """
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"padding: 'same' needs stride 1 (as in PyTorch), got stride {stride}")
        total = [d * (k - 1) for d, k in zip(dilation, kernel_size)]  # the dilated kernel, less one
        (th, tw) = total
        return "same", (tw // 2, tw - tw // 2, th // 2, th - th // 2)
    pair = (0, 0) if padding == "valid" else _pair(padding, "padding", 0)
    return pair, (pair[1], pair[1], pair[0], pair[0])


def _conv_repr(m, output_padding=(0, 0)):
    """PyTorch's ``_ConvNd.extra_repr``: the options that differ from their defaults."""
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    if m.padding != (0, 0):
        s += f", padding={m.padding}"
    if m.dilation != (1, 1):
        s += f", dilation={m.dilation}"
    if output_padding != (0, 0):
        s += f", output_padding={output_padding}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if m.bias is None:
        s += ", bias=False"
    if m.padding_mode != "zeros":
        s += f", padding_mode={m.padding_mode}"
    return s


class Conv2d(Module):
    """2-D convolution, (N, C_in, H, W) or unbatched (C_in, H, W) -> (N, C_out, Ho, Wo),
    as ``torch.nn.Conv2d``; see ``functional.conv2d``.
    Ho = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1 (likewise Wo).

    weight: (out_channels, in_channels // groups, kH, kW); bias: (out_channels,)
    or None; PyTorch's default init, from that fan-in ((in_channels // groups) kH kW).
    ``kernel_size``, ``stride``, ``dilation`` (and an int ``padding``) are
    stored as pairs, as PyTorch.

    ``padding``: int, pair, "valid" or "same" (stride 1; an odd total puts the
    extra row/column at the bottom/right, as PyTorch). ``dilation``: taps
    dilation apart. ``groups``: in_channels and out_channels split into this
    many independent groups. ``padding_mode``: "zeros" (default), or
    "reflect", "replicate", "circular": the input is padded with
    ``F.pad(input, (pW, pW, pH, pH), padding_mode)`` first and then convolved
    with padding 0, as PyTorch does.

    Raises:
        ValueError: a bad size; ``groups`` not dividing in_channels or out_channels
            (naming that argument); an unknown ``padding_mode``; "same" with a stride.

    Source: ``torch.nn.Conv2d`` (its ``_conv_forward`` and ``extra_repr``).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.groups = _groups(groups, self.in_channels, self.out_channels)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode: expected one of {_PADDING_MODES}, got {padding_mode!r}")
        self.padding_mode = padding_mode
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.dilation = _pair(dilation, "dilation", 1)
        self._padding, self._reversed_padding_repeated_twice = _conv_padding(
            padding, self.kernel_size, self.stride, self.dilation)
        self.padding = padding if isinstance(padding, str) else self._padding
        _weight_and_bias(self, (self.out_channels, self.in_channels // self.groups, *self.kernel_size),
                         self.out_channels, bias, dtype)
        _placed(self, device)

    def forward(self, input):
        if self.padding_mode != "zeros":
            return F.conv2d(F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode),
                            self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv2d(input, self.weight, self.bias, self.stride, self._padding, self.dilation, self.groups)

    def extra_repr(self):
        return _conv_repr(self)


class ConvTranspose2d(Module):
    """Transposed convolution, (N, C_in, H, W) or unbatched (C_in, H, W) -> (N, C_out, Ho, Wo),
    as ``torch.nn.ConvTranspose2d``; see ``functional.conv_transpose2d``.
    Ho = (H - 1) sH - 2 pH + dH (kH - 1) + output_padding + 1 (likewise Wo).

    weight: (in_channels, out_channels // groups, kH, kW) (PyTorch's layout);
    bias: (out_channels,) or None; PyTorch's default init, from that weight's
    fan-in ((out_channels // groups) kH kW, as PyTorch computes it).
    ``groups`` and ``dilation`` as in :class:`Conv2d`.

    Raises:
        ValueError: a bad size; ``groups`` not dividing in_channels or out_channels
            (naming that argument); ``padding_mode`` other than "zeros" (PyTorch
            supports only "zeros" for transposed convolutions too).

    Source: ``torch.nn.ConvTranspose2d``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        _unsupported("padding_mode", padding_mode, "zeros")
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.groups = _groups(groups, self.in_channels, self.out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        self.output_padding = _pair(output_padding, "output_padding", 0)
        self.dilation = _pair(dilation, "dilation", 1)
        self.padding_mode = padding_mode
        _weight_and_bias(self, (self.in_channels, self.out_channels // self.groups, *self.kernel_size),
                         self.out_channels, bias, dtype)
        _placed(self, device)

    def forward(self, input):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)

    def extra_repr(self):
        return _conv_repr(self, self.output_padding)


class UpsampleConv2d(Module):
    """Nearest x2 upsampling then a 3x3 conv (padding 1): (N, C_in, H, W) -> (N, C_out, 2H, 2W).

    Not in PyTorch: the same function, parameters and initialisation as
    ``Sequential(Upsample(scale_factor=2), Conv2d(in_channels, out_channels, 3, padding=1))``,
    computed at the cost of one transposed conv; see ``functional.upsample_conv2d``.
    weight: (out_channels, in_channels, 3, 3); bias: (out_channels,) or None.
    """

    def __init__(self, in_channels, out_channels, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        _weight_and_bias(self, (out_channels, in_channels, 3, 3), out_channels, bias, dtype)
        _placed(self, device)

    def forward(self, input):
        return F.upsample_conv2d(input, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}" + ("" if self.bias is not None else ", bias=False")


class Embedding(Module):
    """A lookup table: integer ids (any shape) -> vectors (..., embedding_dim), as ``torch.nn.Embedding``.

    weight: (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch.
    The gradient adds up over repeated ids. ``padding_idx``: that row starts at
    zero and gets no gradient (its output is zero), as PyTorch. Conditional GANs
    embed their class labels this way (Mirza & Osindero 2014).

    Raises:
        ValueError: (constructor) a bad size or ``padding_idx``, or ``max_norm``,
            ``scale_grad_by_freq`` or ``sparse`` other than the defaults;
            (forward) an id outside [0, num_embeddings).
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        _unsupported("max_norm", max_norm, None)
        _unsupported("scale_grad_by_freq", scale_grad_by_freq, False)
        _unsupported("sparse", sparse, False, " (tinygen's gradients are dense)")
        self.num_embeddings = _positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = _positive_int(embedding_dim, "embedding_dim")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx: expected an index in [{-num_embeddings}, {num_embeddings}), "
                                 f"got {padding_idx}")
            padding_idx %= num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = _param((num_embeddings, embedding_dim), dtype)
            normal_(self.weight)
            if padding_idx is not None:
                self.weight.data[padding_idx] = 0
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"_weight: expected shape {(num_embeddings, embedding_dim)}, "
                                 f"got {tuple(_weight.shape)}")
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        _placed(self, device)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is ``embeddings`` (a 2-D Tensor, shared, not copied),
        frozen (``requires_grad=False``) unless ``freeze=False``, as PyTorch.

        Raises:
            ValueError: ``embeddings`` is not 2-D.
        """
        if len(embeddings.shape) != 2:
            raise ValueError(f"embeddings: expected a 2-D tensor, got shape {tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, input):
        ids = input.data if isinstance(input, Tensor) else input
        ids = as_device(get_array_module(ids).asarray(ids), self.weight.device)
        if ids.dtype.kind not in "iu":
            raise ValueError(f"input: expected integer ids, got dtype {ids.dtype}")
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.num_embeddings):
            raise ValueError(f"input: expected integers in [0, {self.num_embeddings}), "
                             f"got values from {int(ids.min())} to {int(ids.max())}")
        out = self.weight[ids.astype(np.int64)]
        if self.padding_idx is not None:  # no gradient into the padding row
            keep = (ids != self.padding_idx).astype(self.weight.dtype)[..., None]
            out = out * Tensor(keep)
        return out

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            "" if self.padding_idx is None else f", padding_idx={self.padding_idx}")


# ---------------------------------------------------------------- activations
class Identity(Module):
    """Returns its input unchanged, any shape, as ``torch.nn.Identity`` (the
    constructor's arguments are ignored, as PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class ReLU(Module):
    """max(x, 0), any shape, as ``torch.nn.ReLU``. ``inplace`` is accepted and has
    no effect: tinygen never modifies its input."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x, any shape, as ``torch.nn.LeakyReLU``
    (Maas et al. 2013). ``inplace`` has no effect (tinygen never modifies its input)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x if x > 0 else alpha (e^x - 1), any shape, as ``torch.nn.ELU`` (Clevert et al.
    2016, eq. 15); see ``functional.elu``. ``inplace`` has no effect."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Tanh(Module):
    """tanh(x), any shape, as ``torch.nn.Tanh``; the DCGAN generator's output layer."""

    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    """1 / (1 + e^-x), any shape, as ``torch.nn.Sigmoid``."""

    def forward(self, input):
        return F.sigmoid(input)


class Softplus(Module):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold, as
    ``torch.nn.Softplus`` (Dugas et al. 2001); see ``functional.softplus``. Any
    shape; differentiable to every order, with gradient exactly 1 above the threshold.

    Raises:
        ValueError: beta is 0 or not a number.
    """

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta == 0:
            raise ValueError(f"beta: expected a non-zero number, got {beta!r}")
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``dim``, any shape, as ``torch.nn.Softmax``;
    see ``functional.softmax``. dim=None picks PyTorch's legacy default (0 for
    1-D and 3-D inputs, else 1) with a warning."""

    _function = staticmethod(F.softmax)

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return self._function(input, self.dim)  # dim=None: F's legacy rule, with its warning

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """x - logsumexp(x) along ``dim``, computed stably, any shape, as ``torch.nn.LogSoftmax``;
    see ``functional.log_softmax``. dim=None as :class:`Softmax`."""

    _function = staticmethod(F.log_softmax)


# ---------------------------------------------------------------- shape, pooling, dropout
class Flatten(Module):
    """Merge dims start_dim..end_dim, as ``torch.nn.Flatten``: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``, as ``torch.nn.Unflatten``:
    e.g. (N, 256*7*7) -> (N, 256, 7, 7).

    Raises:
        ValueError: the product of ``unflattened_size`` differs from that dim.
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        d = self.dim % input.ndim
        sizes = self.unflattened_size
        if int(np.prod(sizes)) != input.shape[d]:
            raise ValueError(f"input: expected dim {d} of size {int(np.prod(sizes))} "
                             f"(= prod{sizes}), got shape {input.shape}")
        return input.reshape(tuple(input.shape[:d]) + sizes + tuple(input.shape[d + 1:]))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class PixelShuffle(Module):
    """(*, C r², H, W) -> (*, C, H r, W r), as ``torch.nn.PixelShuffle``; see
    ``functional.pixel_shuffle`` (Shi et al. 2016, the sub-pixel convolution).

    Raises:
        ValueError: ``upscale_factor`` not an int >= 1; (forward) what
            ``functional.pixel_shuffle`` refuses.
    """

    def __init__(self, upscale_factor):
        super().__init__()
        if not isinstance(upscale_factor, (int, np.integer)) or isinstance(upscale_factor, bool) \
                or upscale_factor < 1:
            raise ValueError(f"upscale_factor: expected an int >= 1, got {upscale_factor!r}")
        self.upscale_factor = int(upscale_factor)

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r², H, W), as ``torch.nn.PixelUnshuffle``; see
    ``functional.pixel_unshuffle``.

    Raises:
        ValueError: ``downscale_factor`` not an int >= 1; (forward) what
            ``functional.pixel_unshuffle`` refuses.
    """

    def __init__(self, downscale_factor):
        super().__init__()
        if not isinstance(downscale_factor, (int, np.integer)) or isinstance(downscale_factor, bool) \
                or downscale_factor < 1:
            raise ValueError(f"downscale_factor: expected an int >= 1, got {downscale_factor!r}")
        self.downscale_factor = int(downscale_factor)

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


_UPSAMPLE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")


def _whole(scale):
    """True for an int scale factor, or a pair of them (today's fast nearest path)."""
    parts = scale if isinstance(scale, (tuple, list)) else (scale,)
    return all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in parts)


class Upsample(Module):
    """Upsampling, as ``torch.nn.Upsample``: to ``size`` or by ``scale_factor``, with
    ``mode`` "nearest" (default), "nearest-exact", "linear", "bilinear", "bicubic",
    "trilinear" or "area"; see ``functional.interpolate``. Nearest output pixel
    (i, j) of (N, C, H, W) copies input pixel (floor(i H / H_out), floor(j W / W_out)).
    A whole-number ``scale_factor`` in "nearest" mode on (N, C, H, W) runs
    ``functional.upsample`` (each pixel repeated into an s x s block).

    Raises:
        ValueError: both or neither of ``size`` and ``scale_factor``; an unknown
            mode; ``align_corners`` set for a mode that does not interpolate
            linearly (as PyTorch); (forward) what ``functional.interpolate`` refuses.
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        if (size is None) == (scale_factor is None):
            raise ValueError(f"size, scale_factor: expected exactly one of them, got size={size!r} "
                             f"and scale_factor={scale_factor!r}")
        if mode not in _UPSAMPLE_MODES:
            raise ValueError(f"mode: expected one of {list(_UPSAMPLE_MODES)}, got {mode!r}")
        if align_corners is not None and mode not in ("linear", "bilinear", "bicubic", "trilinear"):
            raise ValueError(f"align_corners: only for the interpolating modes, not {mode!r}; "
                             f"got {align_corners!r}")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        if self.mode == "nearest" and self.size is None and input.ndim == 4 and _whole(self.scale_factor):
            return F.upsample(input, self.scale_factor, self.mode)
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode='{self.mode}'"


def _bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


class _Pool2d(Module):
    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_Pool2d):
    """Average pooling, as ``torch.nn.AvgPool2d``; see ``functional.avg_pool2d``.

    (N, C, H, W) or unbatched (C, H, W) -> (N, C, Ho, Wo), Ho = floor((H + 2 pH - kH) / sH) + 1
    (ceil with ``ceil_mode``; a last window must start inside the input or its
    left padding). ``count_include_pad``: divide by the whole window, padding
    included (default), or only by its elements inside the input.
    ``divisor_override``: an int >= 1 to divide every window's sum by instead.
    ``extra_repr`` shows kernel_size, stride and padding only, as PyTorch's.

    Raises:
        ValueError: ``ceil_mode``/``count_include_pad`` not a bool, or
            ``divisor_override`` neither None nor an int >= 1 (here, at
            construction); bad sizes (in forward, from ``functional.avg_pool2d``).

    Source: ``torch.nn.AvgPool2d``.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        if divisor_override is not None and (isinstance(divisor_override, bool) or
                                             not isinstance(divisor_override, (int, np.integer)) or
                                             divisor_override < 1):
            raise ValueError(f"divisor_override: expected None or an int >= 1, got {divisor_override!r}")
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode = _bool(ceil_mode, "ceil_mode")
        self.count_include_pad = _bool(count_include_pad, "count_include_pad")
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class MaxPool2d(_Pool2d):
    """Max pooling, as ``torch.nn.MaxPool2d``; see ``functional.max_pool2d``.

    (N, C, H, W) or unbatched (C, H, W) -> (N, C, Ho, Wo), sizes as :class:`AvgPool2d`
    (``ceil_mode`` likewise). ``return_indices``: forward returns (output,
    indices), each maximum's flat index row * W + column into its input plane
    (int64), as PyTorch's. ``extra_repr`` as PyTorch's: kernel_size, stride,
    padding, dilation and ceil_mode.

    Raises:
        ValueError: ``dilation`` other than 1 (tinygen has no dilated pooling);
            ``return_indices``/``ceil_mode`` not a bool; bad sizes (in forward).

    Source: ``torch.nn.MaxPool2d``.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        _unsupported("dilation", _pair(dilation, "dilation", 1), (1, 1))
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.dilation = dilation
        self.return_indices = _bool(return_indices, "return_indices")
        self.ceil_mode = _bool(ceil_mode, "ceil_mode")

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return super().extra_repr() + f", dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class Dropout(Module):
    """Inverted dropout (Srivastava et al. 2014) with probability p in train mode,
    identity in eval mode; any shape; as ``torch.nn.Dropout``. ``inplace`` has no effect.

    Raises:
        ValueError: p outside [0, 1).
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p, self.inplace = check_probability(p), inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


# ---------------------------------------------------------------- losses
def _legacy_reduction(size_average, reduce, reduction):
    """PyTorch's mapping of the deprecated ``size_average``/``reduce`` onto ``reduction``."""
    if size_average is None and reduce is None:
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction: expected 'mean', 'sum' or 'none', got {reduction!r}")
        return reduction
    warnings.warn("size_average and reduce are deprecated in PyTorch; use reduction", UserWarning, stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


class _Loss(Module):
    """A loss module: ``forward(input, target)`` calls ``functional.<_fn>`` with ``reduction``
    and with every extra option that differs from PyTorch's default."""
    _fn = None

    def __init__(self, size_average=None, reduce=None, reduction="mean", **options):
        super().__init__()
        self.reduction = _legacy_reduction(size_average, reduce, reduction)
        fn = getattr(F, self._fn, None)
        if fn is None:
            raise NotImplementedError(f"{type(self).__name__}: this tinygen has no functional.{self._fn}")
        accepted = inspect.signature(fn).parameters
        self._options = {}
        for name, (value, default) in options.items():
            if name in ("weight", "pos_weight"):  # buffers, as PyTorch's weighted losses
                self.register_buffer(name, value)
            else:
                setattr(self, name, value)
            if value is None and default is None or (value is not None and default is not None and value == default):
                continue
            if name not in accepted:
                raise ValueError(f"{name}: tinygen's functional.{self._fn} supports only {name}={default!r}, "
                                 f"got {value!r}")
            self._options[name] = value

    def forward(self, input, target):
        return getattr(F, self._fn)(input, target, reduction=self.reduction, **self._options)

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction='{self.reduction}'"


class MSELoss(_Loss):
    """Mean squared error (input - target)^2, reduced by ``reduction`` ("mean", "sum",
    "none"), as ``torch.nn.MSELoss``; see ``functional.mse_loss``. input and target alike.

    Raises:
        ValueError: an unknown ``reduction``; (forward) shapes differ.
    """
    _fn = "mse_loss"

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)


class L1Loss(_Loss):
    """Mean absolute error |input - target|, as ``torch.nn.L1Loss``; see ``functional.l1_loss``.

    Raises:
        ValueError: an unknown ``reduction``; (forward) shapes differ.
    """
    _fn = "l1_loss"

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities, -[t log p + (1-t) log(1-p)] (each log
    clamped at -100), as ``torch.nn.BCELoss``; see ``functional.binary_cross_entropy``.
    input: probabilities in [0, 1]; target: same shape.

    Raises:
        ValueError: an unknown ``reduction``, or a ``weight`` the functional does not take.
    """
    _fn = "binary_cross_entropy"

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, weight=(weight, None))


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, softplus(x) - t x (numerically stable), as
    ``torch.nn.BCEWithLogitsLoss``; see ``functional.binary_cross_entropy_with_logits``.

    Raises:
        ValueError: an unknown ``reduction``, or a ``weight``/``pos_weight`` the functional does not take.
    """
    _fn = "binary_cross_entropy_with_logits"

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction, weight=(weight, None), pos_weight=(pos_weight, None))


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy -log softmax(input)[target] from logits (N, C) and class
    indices (N,), as ``torch.nn.CrossEntropyLoss``; see ``functional.cross_entropy``.

    Raises:
        ValueError: an unknown ``reduction``, or ``weight``/``ignore_index``/``label_smoothing``
            away from PyTorch's defaults where the functional does not take them.
    """
    _fn = "cross_entropy"

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(size_average, reduce, reduction, weight=(weight, None), ignore_index=(ignore_index, -100),
                         label_smoothing=(label_smoothing, 0.0))


class NLLLoss(_Loss):
    """Negative log likelihood -input[n, target[n]] of log-probabilities (N, C) and class
    indices (N,), as ``torch.nn.NLLLoss``; see ``functional.nll_loss``.

    Raises:
        ValueError: an unknown ``reduction``, or ``weight``/``ignore_index`` away from
            PyTorch's defaults where the functional does not take them.
    """
    _fn = "nll_loss"

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, weight=(weight, None), ignore_index=(ignore_index, -100))


# ---------------------------------------------------------------- containers
def _container_index(idx, n, name):
    if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)):
        raise TypeError(f"{name}: expected an int or a slice as index, got {type(idx).__name__}")
    if not -n <= idx < n:
        raise IndexError(f"{name}: index {idx} is out of range for {n} modules")
    return int(idx) % n


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: children named "0", "1", ... in order,
    list-like access, and renumbering after an insertion or deletion (as PyTorch)."""

    def _set_modules(self, mods):
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._slice(idx)
        return list(self._modules.values())[_container_index(idx, len(self), "idx")]

    def __setitem__(self, idx, module):
        self.add_module(list(self._modules)[_container_index(idx, len(self), "idx")], module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_container_index(idx, len(mods), "idx")]
        self._set_modules(mods)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules.values()))

    def append(self, module):
        """Add ``module`` at the end (named ``str(len(self))``); returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append every module of an iterable; returns self.

        Raises:
            TypeError: ``modules`` is a single Module rather than an iterable of them.
        """
        if isinstance(modules, Module) and not isinstance(modules, _ModuleSequence):
            raise TypeError(f"modules: expected an iterable of Modules, got a {type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index``, as ``list.insert`` (children
        renumbered "0", "1", ...); returns self.

        Raises:
            TypeError: ``module`` is not a Module.
        """
        if not isinstance(module, Module):
            raise TypeError(f"module: expected a Module, got {type(module).__name__}")
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._set_modules(mods)
        return self

    def pop(self, key=-1):
        """Remove and return the module at position ``key`` (the last by default)."""
        m = self[key]
        del self[key]
        return m


class Sequential(_ModuleSequence):
    """Run modules in order, as ``torch.nn.Sequential``: ``Sequential(m0, m1, ...)``
    (children named "0", "1", ...) or ``Sequential(OrderedDict(name=module, ...))``.

    Indexing gives a module (``seq[-1]``), slicing a Sequential of the same modules
    (with their names); also ``len``, iteration, ``append``, ``extend``,
    ``insert``, ``pop``, item assignment and deletion.

    Raises:
        TypeError: an argument is not a Module.
        IndexError: an index out of range.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def _slice(self, idx):
        return Sequential(OrderedDict(list(self._modules.items())[idx]))

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input


class ModuleList(_ModuleSequence):
    """A list of modules, registered as children "0", "1", ..., as ``torch.nn.ModuleList``:
    their parameters appear in the parent's ``parameters()`` and ``state_dict()``.

    Supports ``append``, ``extend``, ``insert``, ``pop``, indexing (negative too),
    slicing (a new ModuleList), item assignment and deletion (renumbering),
    ``len``, iteration and ``+=``. It has no ``forward``: iterate over it.

    Raises:
        TypeError: an element is not a Module.
        IndexError: an index out of range.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _slice(self, idx):
        return ModuleList(list(self._modules.values())[idx])

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def forward(self, *args, **kwargs):
        """ModuleList has no forward (as PyTorch): iterate over it.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError("ModuleList has no forward; iterate over its modules")


class ModuleDict(Module):
    """An ordered dict of name -> module, registered as children, as ``torch.nn.ModuleDict``.

    ``md[name]``, ``md[name] = module``, ``del md[name]``, ``name in md``, ``len``,
    iteration over the names, ``keys()``, ``values()``, ``items()``, ``update()``,
    ``pop()``, ``clear()``.

    Raises:
        TypeError: a value is not a Module, or a name is not a str.
        KeyError: a missing name, or one containing ".".
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(module, Module):
            raise TypeError(f"module: expected a Module for key {key!r}, got {type(module).__name__}")
        self.add_module(key, module)

    def __delitem__(self, key):
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules))

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        """The names, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """(name, module) pairs, in insertion order."""
        return self._modules.items()

    def update(self, modules):
        """Add or replace modules from a mapping or an iterable of (name, module) pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for k, m in pairs:
            self[k] = m

    def pop(self, key):
        """Remove and return the module named ``key``."""
        m = self[key]
        del self[key]
        return m

    def clear(self):
        """Remove every module."""
        for k in list(self._modules):
            delattr(self, k)

    def forward(self, *args, **kwargs):
        """ModuleDict has no forward (as PyTorch): index it.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError("ModuleDict has no forward; index it by name")


__all__ = ["Linear", "Conv2d", "ConvTranspose2d", "UpsampleConv2d", "Embedding", "Identity", "ReLU", "LeakyReLU",
           "ELU", "Tanh", "Sigmoid", "Softplus", "Softmax", "LogSoftmax", "Flatten", "Unflatten", "Upsample",
           "AvgPool2d", "MaxPool2d", "Dropout", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
           "CrossEntropyLoss", "NLLLoss", "Sequential", "ModuleList", "ModuleDict"]

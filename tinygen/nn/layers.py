"""Layers with parameters, activations, losses and containers, as ``torch.nn``:
PyTorch's class names, constructor arguments and defaults.

Where tinygen lacks a PyTorch option (dilated or grouped convolutions, ...)
the constructor accepts the argument at its default and raises a
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


def _conv_padding(padding, kernel_size, stride):
    """PyTorch's ``padding`` (int, pair, "valid" or "same") as a pair of ints.
    "same" is supported for stride 1 and odd kernels (symmetric padding)."""
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"padding: 'same' needs stride 1, got stride {stride}")
        if any(k % 2 == 0 for k in kernel_size):
            raise ValueError(f"padding: tinygen supports 'same' only for odd kernels, got kernel_size {kernel_size}")
        return (kernel_size[0] // 2, kernel_size[1] // 2)
    return _pair(padding, "padding", 0)


class Conv2d(Module):
    """2-D convolution, (N, C_in, H, W) -> (N, C_out, Ho, Wo), as ``torch.nn.Conv2d``;
    see ``functional.conv2d``. Ho = floor((H + 2 pH - kH) / sH) + 1.

    weight: (out_channels, in_channels, kH, kW); bias: (out_channels,) or None.
    ``kernel_size``, ``stride``, ``padding`` are stored as pairs, as PyTorch.

    Raises:
        ValueError: a bad size, or ``dilation``/``groups``/``padding_mode`` other than
            PyTorch's defaults (tinygen has no dilated or grouped convolutions).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        _unsupported("dilation", _pair(dilation, "dilation", 1), (1, 1))
        _unsupported("groups", groups, 1)
        _unsupported("padding_mode", padding_mode, "zeros")
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self._padding = _conv_padding(padding, self.kernel_size, self.stride)
        self.padding = padding if isinstance(padding, str) else self._padding
        self.dilation, self.groups, self.padding_mode = (1, 1), 1, padding_mode
        _weight_and_bias(self, (out_channels, in_channels, *self.kernel_size), out_channels, bias, dtype)
        _placed(self, device)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self._padding)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self._padding != (0, 0):
            s += f", padding={self.padding}"
        return s + ("" if self.bias is not None else ", bias=False")


class ConvTranspose2d(Module):
    """Transposed convolution, (N, C_in, H, W) -> (N, C_out, Ho, Wo), as
    ``torch.nn.ConvTranspose2d``; see ``functional.conv_transpose2d``.
    Ho = (H - 1) sH - 2 pH + kH + output_padding.

    weight: (in_channels, out_channels, kH, kW) (PyTorch's layout); bias: (out_channels,) or None.

    Raises:
        ValueError: a bad size, or ``groups``/``dilation``/``padding_mode`` other than
            PyTorch's defaults.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        _unsupported("groups", groups, 1)
        _unsupported("dilation", _pair(dilation, "dilation", 1), (1, 1))
        _unsupported("padding_mode", padding_mode, "zeros")
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        self.output_padding = _pair(output_padding, "output_padding", 0)
        self.dilation, self.groups, self.padding_mode = (1, 1), 1, padding_mode
        _weight_and_bias(self, (in_channels, out_channels, *self.kernel_size), out_channels, bias, dtype)
        _placed(self, device)

    def forward(self, input):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        return s + ("" if self.bias is not None else ", bias=False")


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


def _softmax_dim(dim, ndim, name):
    if dim is not None:
        return dim
    warnings.warn(f"{name}: implicit dimension choice is deprecated in PyTorch; pass dim", UserWarning,
                  stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``dim``, any shape, as ``torch.nn.Softmax``;
    see ``functional.softmax``. dim=None picks PyTorch's legacy default (0 for
    1-D and 3-D inputs, else 1) with a warning."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, _softmax_dim(self.dim, input.ndim, "Softmax"))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x - logsumexp(x) along ``dim``, computed stably, any shape, as ``torch.nn.LogSoftmax``;
    see ``functional.log_softmax``. dim=None as :class:`Softmax`."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, _softmax_dim(self.dim, input.ndim, "LogSoftmax"))

    def extra_repr(self):
        return f"dim={self.dim}"


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


class _Pool2d(Module):
    _pool = None  # the functional op, set by each subclass

    def forward(self, input):
        return type(self)._pool(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_Pool2d):
    """Average pooling, as ``torch.nn.AvgPool2d``; see ``functional.avg_pool2d``
    (padding counts as zeros: PyTorch's count_include_pad=True).

    Raises:
        ValueError: ``ceil_mode``, ``count_include_pad`` or ``divisor_override``
            other than PyTorch's defaults.
    """
    _pool = staticmethod(F.avg_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        _unsupported("ceil_mode", ceil_mode, False)
        _unsupported("count_include_pad", count_include_pad, True)
        _unsupported("divisor_override", divisor_override, None)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override


class MaxPool2d(_Pool2d):
    """Max pooling, as ``torch.nn.MaxPool2d``; see ``functional.max_pool2d``.

    Raises:
        ValueError: ``dilation``, ``return_indices`` or ``ceil_mode`` other than
            PyTorch's defaults.
    """
    _pool = staticmethod(F.max_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        _unsupported("dilation", _pair(dilation, "dilation", 1), (1, 1))
        _unsupported("return_indices", return_indices, False)
        _unsupported("ceil_mode", ceil_mode, False)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode


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


class Sequential(Module):
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

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_container_index(idx, len(self), "idx")]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_container_index(idx, len(self), "idx")]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else [keys[_container_index(idx, len(keys), "idx")]]):
            delattr(self, key)
        self._renumber()  # as PyTorch: the children are "0", "1", ... again


    def _renumber(self, mods=None):
        mods = list(self._modules.values()) if mods is None else mods
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules.values()))

    def append(self, module):
        """Add ``module`` at the end (named ``str(len(self))``); returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, sequential):
        """Append every module of an iterable; returns self."""
        for m in sequential:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (children renumbered "0", "1", ...); returns self.

        Raises:
            TypeError: ``module`` is not a Module. IndexError: ``index`` out of range.
        """
        if not isinstance(module, Module):
            raise TypeError(f"module: expected a Module, got {type(module).__name__}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"index: expected a position in [{-n}, {n}], got {index}")
        mods = list(self._modules.values())
        mods.insert(index + n if index < 0 else index, module)
        self._renumber(mods)
        return self

    def pop(self, key):
        """Remove and return the module at position ``key``."""
        m = self[key]
        del self[key]
        return m

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input


class ModuleList(Module):
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

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(_container_index(idx, len(self), "idx"))]

    def __setitem__(self, idx, module):
        self.add_module(str(_container_index(idx, len(self), "idx")), module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_container_index(idx, len(mods), "idx")]
        self._reset(mods)

    def _reset(self, mods):
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules.values()))

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append every module of an iterable; returns self.

        Raises:
            TypeError: ``modules`` is not iterable (e.g. a single Module).
        """
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError(f"modules: expected an iterable of Modules, got a {type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (as ``list.insert``)."""
        if not isinstance(module, Module):
            raise TypeError(f"module: expected a Module, got {type(module).__name__}")
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._reset(mods)

    def pop(self, key=-1):
        """Remove and return the module at position ``key`` (the last by default)."""
        m = self[key]
        del self[key]
        return m

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

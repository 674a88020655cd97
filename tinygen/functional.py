"""The functional API with ``torch.nn.functional``'s names, arguments and defaults:
``import tinygen.functional as F`` (or ``import tinygen.nn.functional as F``).

Everything here is differentiable to any order (every backward is written in
tinygen ops). Every function checks its arguments and raises ``ValueError``
naming the argument, what was expected and what was given; options that
tinygen does not implement raise too, rather than being ignored. An
``inplace=True`` is accepted for PyTorch's signature, but tinygen always
returns a new tensor and leaves the input unchanged.

tinygen's own extras (not in PyTorch): :func:`upsample_conv2d`,
:func:`conv2d_weight`, :func:`kl_divergence`, and :func:`upsample` with its
own signature.
"""
import builtins
import math

import numpy as np

from .autograd import Tensor, _describe
from .backend import get_array_module
from .ops import activation as _act, pad as _padding, pool as _pool, resample as _resample
from .ops.conv import Conv2dFunction, Conv2dWeightFunction, ConvTranspose2dFunction
from .ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,  # noqa: F401
                       kl_divergence, l1_loss, mse_loss, nll_loss)
from .ops.nonlinear import (elu, gelu, log_softmax, logsigmoid, normalize, selu, silu,  # noqa: F401
                            softmax, softplus)
from .ops.shape import GetItemGrad, cat as _cat, getitem as _getitem

from .ops.arith import matmul as _matmul
from .ops.reduce import mean as _mean
from .ops.shape import permute as _permute, reshape as _reshape

__all__ = [
    # activations
    "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "sigmoid", "tanh", "softplus", "logsigmoid",
    "softmax", "log_softmax", "dropout",
    # layers
    "linear", "conv2d", "conv_transpose2d", "avg_pool2d", "max_pool2d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "interpolate", "pad", "normalize", "one_hot", "instance_norm", "pixel_shuffle",
    "pixel_unshuffle",
    # losses
    "mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "nll_loss",
    # tinygen's own
    "kl_divergence", "upsample", "upsample_conv2d", "conv2d_weight",
]


# ---------------------------------------------------------------- argument checks
def _pair(value, name, minimum):
    pair = (value, value) if isinstance(value, (int, np.integer)) else \
        tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum
                                 for v in pair):
        raise ValueError(f"{name}: expected an int >= {minimum} or a pair of them, got {value!r}")
    return tuple(int(v) for v in pair)


def _as_batch(input, name="input"):
    """A 4-D view of ``input``: (N, C, H, W) as is, unbatched (C, H, W) as (1, C, H, W).

    Returns (tensor, unbatched). Raises ValueError for any other shape.
    """
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ValueError(f"{name}: expected a 4-D tensor (N, C, H, W) or a 3-D one (C, H, W), got {_describe(input)}")
    if input.ndim == 3:
        return _reshape(input, (1,) + input.shape), True
    return input, False


def _unbatch(y, unbatched):
    if not unbatched:
        return y
    if isinstance(y, tuple):
        return tuple(_unbatch(t, True) for t in y)
    return _reshape(y, y.shape[1:])


def _check_input(x, name="input"):
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D tensor (N, C, H, W), got {_describe(x)}")


def _check_weight(x, weight, layout, groups=1):
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise ValueError(f"weight: expected a 4-D tensor {layout}, got {_describe(weight)}")
    transposed = "C_in, C_out" in layout
    c_in = weight.shape[0] if transposed else weight.shape[1] * groups
    if c_in != x.shape[1]:
        where_ = "weight.shape[0]" if transposed else ("weight.shape[1]" if groups == 1 else
                                                       f"weight.shape[1] * groups ({groups})")
        raise ValueError(f"weight: expected C_in = {x.shape[1]} (input.shape[1]) = {where_} in {layout}, "
                         f"got weight shape {weight.shape}")
    if weight.dtype != x.dtype:
        raise ValueError(f"weight: expected dtype {x.dtype} (input's), got {weight.dtype}")


def _check_groups(groups, c_in, c_out=None):
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups: expected an int >= 1, got {groups!r}")
    if c_in % groups or (c_out is not None and c_out % groups):
        both = f"C_in = {c_in}" + ("" if c_out is None else f" and C_out = {c_out}")
        raise ValueError(f"groups: expected a divisor of {both}, got {groups}")
    return int(groups)


def _add_bias(y, bias, channels):
    if bias is None:
        return y
    if not isinstance(bias, Tensor) or bias.shape != (channels,):
        raise ValueError(f"bias: expected shape ({channels},), got {getattr(bias, 'shape', bias)}")
    return y + bias.reshape(1, channels, 1, 1)


def _dilate(weight, dilation):
    """The kernel with dilation - 1 zeros between its taps: (O, I, d (k - 1) + 1, ...).

    A scatter into zeros (the adjoint of a strided slice), so its gradient is
    the slice back; a dilated conv is the plain conv with this kernel.
    """
    if dilation == (1, 1):
        return weight
    (dh, dw), (kh, kw) = dilation, weight.shape[2:]
    shape = weight.shape[:2] + (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    return GetItemGrad((slice(None), slice(None), slice(None, None, dh), slice(None, None, dw)), shape)(weight)


def _grouped(fn, x, weight, groups):
    """fn applied per channel group: x's channels and weight's dim 0 split in ``groups``,
    the outputs joined along the channel dim."""
    if groups == 1:
        return fn(x, weight)
    cx, cw = x.shape[1] // groups, weight.shape[0] // groups
    return _cat([fn(_getitem(x, (slice(None), slice(g * cx, (g + 1) * cx))),
                    _getitem(weight, (slice(g * cw, (g + 1) * cw),))) for g in range(groups)], 1)


# ---------------------------------------------------------------- activations
def relu(input, inplace=False):
    """max(input, 0), elementwise. Any shape; floats. Its gradient at 0 is 0, as PyTorch's.

    ``inplace`` is accepted for PyTorch's signature; the input is never modified.
    """
    return _act.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input where input > 0, else negative_slope * input (Maas et al. 2013). DCGAN's D uses 0.2.

    Any shape; floats. ``inplace`` as :func:`relu`.
    """
    return _act.leaky_relu(input, negative_slope)


def sigmoid(input):
    """1 / (1 + e^-input), elementwise, accurate in both tails. Any shape; floats."""
    return _act.sigmoid(input)


def tanh(input):
    """The hyperbolic tangent, elementwise. Any shape; floats."""
    return _act.tanh(input)


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout (Srivastava et al. 2014): zero each element with probability p
    and scale the rest by 1/(1-p); the identity when not training.

    The mask comes from the global generator (``tg.manual_seed``) and is a
    constant, so the op is linear in ``input``. ``inplace`` as :func:`relu`.

    Raises:
        ValueError: p is outside [0, 1) (PyTorch also allows p = 1: all zeros).
    """
    return _act.dropout(input, p, training)


# ---------------------------------------------------------------- linear and conv
def linear(input, weight, bias=None):
    """y = input Wᵀ + b. input: (..., in_features); weight: (out_features, in_features); bias: (out_features,).

    All three share one floating dtype: a float64 input is not silently mixed
    into a float32 layer (cast the input, or the layer with ``Module.astype``).

    Raises:
        ValueError: input's last dim differs from weight's in_features, bias has
            the wrong shape, or input or bias has a dtype other than weight's.
    """
    if input.shape[-1] != weight.shape[1]:
        raise ValueError(f"input: expected last dim {weight.shape[1]} (weight's in_features), got shape {input.shape}")
    if input.dtype != weight.dtype:
        raise ValueError(f"input: expected dtype {weight.dtype} (weight's), got {input.dtype}; "
                         f"cast the input with .to('{weight.dtype}') or the layer with .astype('{input.dtype}')")
    if bias is not None and (bias.shape != (weight.shape[0],) or bias.dtype != weight.dtype):
        raise ValueError(f"bias: expected shape ({weight.shape[0]},) and dtype {weight.dtype} (weight's), "
                         f"got shape {bias.shape} and dtype {bias.dtype}")
    y = _matmul(input, weight.T)
    return y if bias is None else y + bias


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation (what deep learning calls convolution), by im2col + GEMM.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W), float32 or float64.
        weight: (C_out, C_in / groups, kH, kW), same dtype.
        bias: (C_out,) or None.
        stride: int or (sH, sW), >= 1.
        padding: int or (pH, pW) >= 0 (zeros on both sides), or "valid" (0)
            or "same" (output size = input size; stride 1 only; an odd total
            puts the extra row/column at the bottom/right, as PyTorch).
        dilation: int or pair >= 1: the kernel's taps are dilation apart
            (computed as a conv with zeros inserted into the kernel).
        groups: C_in and C_out split into this many independent groups.

    Returns:
        (N, C_out, Ho, Wo) (unbatched: (C_out, Ho, Wo)) with
        Ho = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1 (likewise Wo).

    Raises:
        ValueError: wrong ndim, channel or dtype mismatch, bad stride/padding/
            dilation/groups, or a kernel larger than the padded input.

    Source: Dumoulin & Visin 2016, "A guide to convolution arithmetic",
    relationship 6 (dilation: section 5.1); ``torch.nn.functional.conv2d``.
    """
    x, unbatched = _as_batch(input)
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise ValueError(f"weight: expected a 4-D tensor (C_out, C_in / groups, kH, kW), "
                         f"got {_describe(weight)}")
    groups = _check_groups(groups, x.shape[1], weight.shape[0])
    _check_weight(x, weight, "(C_out, C_in / groups, kH, kW)" if groups > 1 else "(C_out, C_in, kH, kW)", groups)
    stride, dilation = _pair(stride, "stride", 1), _pair(dilation, "dilation", 1)
    k = tuple(d * (n - 1) + 1 for d, n in zip(dilation, weight.shape[2:]))  # the dilated kernel
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"padding: 'same' needs stride 1 (as in PyTorch), got stride {stride}")
            padding = tuple((n - 1) // 2 for n in k)
            odd = tuple((n - 1) % 2 for n in k)
            if any(odd):  # the extra row/column goes to the bottom/right
                x = _padding.pad(x, [(0, 0), (0, 0), (0, odd[0]), (0, odd[1])])
        else:
            raise ValueError(f"padding: expected an int, a pair, 'valid' or 'same', got {padding!r}")
    else:
        padding = _pair(padding, "padding", 0)
    H, W = x.shape[2:]
    if k[0] > H + 2 * padding[0] or k[1] > W + 2 * padding[1]:
        dilated = " (dilated)" if dilation != (1, 1) else ""
        raise ValueError(f"weight: kernel {k[0]}x{k[1]}{dilated} is larger than the padded input "
                         f"{H + 2 * padding[0]}x{W + 2 * padding[1]} (input is {input.shape}, padding {padding})")
    y = _grouped(lambda xi, wi: Conv2dFunction(stride, padding)(xi, wi), x, _dilate(weight, dilation), groups)
    return _unbatch(_add_bias(y, bias, weight.shape[0]), unbatched)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution: the adjoint of conv2d in its input, by GEMM + col2im.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W), float32 or float64.
        weight: (C_in, C_out / groups, kH, kW) (PyTorch's layout), same dtype.
        bias: (C_out,) or None.
        stride: int or pair, >= 1. padding: int or pair, >= 0.
        output_padding: int or pair, 0 <= output_padding < stride; extra rows
            and columns on the bottom/right that pick one of the output sizes
            a strided conv maps to the same input size.
        groups: as :func:`conv2d`. dilation: int or pair >= 1 (zeros inserted
            into the kernel, as in :func:`conv2d`).

    Returns:
        (N, C_out, Ho, Wo) with Ho = (H - 1) sH - 2 pH + dH (kH - 1) + opH + 1 (likewise Wo).

    Raises:
        ValueError: wrong ndim, channel or dtype mismatch, bad stride/padding/
            output_padding/groups/dilation, or an output size below 1.

    Source: Dumoulin & Visin 2016, section 4 (transposed convolution
    arithmetic); ``torch.nn.functional.conv_transpose2d``.
    """
    x, unbatched = _as_batch(input)
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise ValueError(f"weight: expected a 4-D tensor (C_in, C_out / groups, kH, kW), "
                         f"got {_describe(weight)}")
    groups = _check_groups(groups, weight.shape[0])
    _check_weight(x, weight, "(C_in, C_out / groups, kH, kW)" if groups > 1 else "(C_in, C_out, kH, kW)")
    stride, padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    output_padding, dilation = _pair(output_padding, "output_padding", 0), _pair(dilation, "dilation", 1)
    if any(op >= s for op, s in zip(output_padding, stride)):
        raise ValueError(f"output_padding: expected values smaller than stride {stride}, got {output_padding}")
    w = _dilate(weight, dilation)
    size = tuple((n - 1) * s - 2 * p + k + op for n, s, p, k, op
                 in zip(x.shape[2:], stride, padding, w.shape[2:], output_padding))
    if builtins.min(size) < 1:
        raise ValueError(f"input: output size {size} is below 1 for input {input.shape}, kernel "
                         f"{weight.shape[2:]}, stride {stride}, padding {padding}, dilation {dilation}")
    y = _grouped(lambda xi, wi: ConvTranspose2dFunction(stride, padding, size)(xi, wi), x, w, groups)
    return _unbatch(_add_bias(y, bias, weight.shape[1] * groups), unbatched)


def conv2d_weight(input, grad_output, kernel_size, stride=1, padding=0):
    """tinygen's own: the gradient of conv2d with respect to its weight, as an op of its own.

    (PyTorch's ``torch.nn.grad.conv2d_weight`` computes the same, with the
    signature (input, weight_size, grad_output, ...).)

    Args:
        input: (N, C_in, H, W). grad_output: (N, C_out, Ho, Wo), Ho and Wo as conv2d gives.
        kernel_size: int or (kH, kW). stride, padding: as :func:`conv2d` (ints or pairs).

    Returns:
        (C_out, C_in, kH, kW). Its own backward is again conv2d / conv_transpose2d.

    Raises:
        ValueError: input or grad_output not 4-D, or bad kernel_size/stride/padding.
    """
    _check_input(input)
    _check_input(grad_output, "grad_output")
    return Conv2dWeightFunction(_pair(kernel_size, "kernel_size", 1), _pair(stride, "stride", 1),
                                _pair(padding, "padding", 0))(input, grad_output)


# Row i of _FOLD says which 3x3 taps land on tap i of the 4x4 transposed kernel;
# kron(M, M) does it for both axes at once: (16, 9), applied to the 9 taps.
_FOLD = ((0, 0, 1), (0, 1, 1), (1, 1, 0), (1, 0, 0))
_FOLD_2D_T = np.kron(_FOLD, _FOLD).T  # (9, 16)


def upsample_conv2d(input, weight, bias=None):
    """tinygen's own: nearest x2 upsampling followed by a 3x3 conv (padding 1), computed
    as one transposed conv. Equal to ``conv2d(upsample(input, 2), weight, bias, padding=1)``.

    Both steps are linear, so together they are a stride-2 transposed conv
    (k4, p1) whose 4x4 kernel is M K Mᵀ, with M = _FOLD: in 1-D, output pixel
    2y reads w0 x[y-1] + (w1 + w2) x[y], and 2y+1 reads (w0 + w1) x[y] + w2 x[y+1].
    This does the work of a 7x7 -> 14x14 layer on the 7x7 grid (4x fewer
    columns), and keeps the resize-convolution's freedom from checkerboard
    artefacts (Odena et al. 2016), since every output phase sums the same taps.

    Args:
        input: (N, C_in, H, W), float32/float64.
        weight: (C_out, C_in, 3, 3), a conv2d weight. bias: (C_out,) or None.

    Returns:
        (N, C_out, 2H, 2W).

    Raises:
        ValueError: wrong ndim, a kernel other than 3x3, or a channel mismatch.
    """
    _check_input(input)
    _check_weight(input, weight, "(C_out, C_in, kH, kW)")
    if weight.shape[2:] != (3, 3):
        raise ValueError(f"weight: expected a 3x3 kernel (C_out, C_in, 3, 3), got shape {weight.shape}")
    # W'[i, j] = sum_pq M[i, p] K[p, q] M[j, q]: one GEMM of the 9 taps with kron(M, M)ᵀ.
    fold = Tensor(get_array_module(weight.data).asarray(_FOLD_2D_T, dtype=weight.dtype))
    C_out, C_in = weight.shape[:2]
    folded = _reshape(_reshape(weight, (C_out * C_in, 9)) @ fold, (C_out, C_in, 4, 4))
    return conv_transpose2d(input, _permute(folded, (1, 0, 2, 3)), bias, stride=2, padding=1)


# ---------------------------------------------------------------- pooling
def _pool_args(x, kernel_size, stride, padding):
    k = _pair(kernel_size, "kernel_size", 1)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _pair(stride, "stride", 1)
    p = _pair(padding, "padding", 0)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"padding: expected at most half the kernel {k}, got {p}")
    if any(ki > n + 2 * pi for ki, n, pi in zip(k, x.shape[2:], p)):
        raise ValueError(f"kernel_size: window {k} is larger than the padded input of input {x.shape}")
    return k, s, p


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling over kH x kW windows, as ``torch.nn.functional.avg_pool2d``.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W), floats.
        kernel_size: int or pair. stride: int or pair; None: kernel_size.
        padding: int or pair, at most half the kernel (zeros).
        ceil_mode: round the output size up (a last window may reach past the
            padding; it then averages over its part inside the padded input).
        count_include_pad: divide by the whole window, padding included
            (default), or only by its elements inside the input.
        divisor_override: an int > 0 to divide every window's sum by instead.

    Returns:
        (N, C, Ho, Wo), Ho = floor((H + 2 pH - kH) / sH) + 1 (ceil with ceil_mode).

    Raises:
        ValueError: wrong ndim, bad sizes, a window larger than the padded
            input, or a bad flag or divisor_override.
    """
    x, unbatched = _as_batch(input)
    k, s, p = _pool_args(x, kernel_size, stride, padding)
    ceil_mode, count_include_pad = _flag(ceil_mode, "ceil_mode"), _flag(count_include_pad, "count_include_pad")
    if divisor_override is not None and (isinstance(divisor_override, bool) or
                                         not isinstance(divisor_override, (int, np.integer)) or divisor_override < 1):
        raise ValueError(f"divisor_override: expected None or an int >= 1, got {divisor_override!r}")
    return _unbatch(_pool.avg_pool2d(x, k, s, p, ceil_mode, count_include_pad, divisor_override), unbatched)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over kH x kW windows (padding never wins), as ``torch.nn.functional.max_pool2d``.

    The gradient goes to each window's maximum (the first one on a tie).

    Args:
        input, kernel_size, stride, padding, ceil_mode: as :func:`avg_pool2d`.
        dilation: must be 1 (tinygen does not implement dilated pooling).
        return_indices: also return each maximum's flat index into its input
            plane (row * W + column), an int64 tensor of the output's shape.

    Returns:
        (N, C, Ho, Wo), or (output, indices) with ``return_indices``.

    Raises:
        ValueError: as :func:`avg_pool2d`, or dilation other than 1.

    Source: the conv-pool encoders of Hands-On ML ch. 14 and 17 (slide 003).
    """
    x, unbatched = _as_batch(input)
    if _pair(dilation, "dilation", 1) != (1, 1):
        raise ValueError(f"dilation: max_pool2d with dilation {dilation!r} is not supported by tinygen "
                         "(expected 1)")
    k, s, p = _pool_args(x, kernel_size, stride, padding)
    y = _pool.max_pool2d(x, k, s, p, _flag(ceil_mode, "ceil_mode"), _flag(return_indices, "return_indices"))
    return _unbatch(y, unbatched)


def _output_size(output_size, in_size, name="output_size"):
    """An int or a tuple of ints (None keeps that input dim) -> a tuple matching in_size."""
    k = len(in_size)
    sizes = (output_size,) * k if output_size is None or isinstance(output_size, (int, np.integer)) \
        else tuple(output_size)
    if len(sizes) != k:
        raise ValueError(f"{name}: expected an int or {k} of them, got {output_size!r}")
    sizes = tuple(n if o is None else o for o, n in zip(sizes, in_size))
    if not all(isinstance(o, (int, np.integer)) and not isinstance(o, bool) and o >= 1 for o in sizes):
        raise ValueError(f"{name}: expected ints >= 1 (or None), got {output_size!r}")
    return tuple(int(o) for o in sizes)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a given output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Output element i averages input [floor(i H / Ho), ceil((i + 1) H / Ho))
    (likewise along W), PyTorch's windows. When Ho divides H and Wo divides W
    this is avg_pool2d with kernel = stride = (H / Ho, W / Wo); otherwise two
    constant averaging matrices (one per dim), exact at every order.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W), floats.
        output_size: int or (Ho, Wo); None in the pair keeps that input size.

    Returns:
        (N, C, Ho, Wo).

    Raises:
        ValueError: wrong ndim, or output_size not ints >= 1.
    """
    x, unbatched = _as_batch(input)
    (H, W), (oh, ow) = x.shape[2:], _output_size(output_size, x.shape[2:])
    if H % oh == 0 and W % ow == 0:
        k = (H // oh, W // ow)
        y = _pool.avg_pool2d(x, k, k, (0, 0))
    else:
        y = _resample.apply_matrix(x, 2, _resample.area_matrix(H, oh, x.dtype)) if oh != H else x
        y = _resample.apply_matrix(y, 3, _resample.area_matrix(W, ow, x.dtype)) if ow != W else y
    return _unbatch(y, unbatched)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a given output size that divides the input's, as
    ``torch.nn.functional.adaptive_max_pool2d``: max_pool2d with kernel =
    stride = (H / Ho, W / Wo).

    Args:
        input: (N, C, H, W) or unbatched (C, H, W). output_size: int or (Ho, Wo)
            (None keeps that size). return_indices: as :func:`max_pool2d`.

    Raises:
        ValueError: wrong ndim, bad output_size, or one that does not divide
            the input size (windows of varying size are not supported by tinygen).
    """
    x, unbatched = _as_batch(input)
    (H, W), (oh, ow) = x.shape[2:], _output_size(output_size, x.shape[2:])
    if H % oh or W % ow:
        raise ValueError(f"output_size: adaptive_max_pool2d in tinygen needs an output size that divides "
                         f"the input's {(H, W)}, got {(oh, ow)}")
    k = (H // oh, W // ow)
    return _unbatch(_pool.max_pool2d(x, k, k, (0, 0), False, _flag(return_indices, "return_indices")), unbatched)


# ---------------------------------------------------------------- normalisation
def _composite_normalize(x, axes, eps):
    """(x_hat, mean, var) with x_hat = (x - mean) / sqrt(var + eps), the mean and the biased
    variance over ``axes`` (kept as size 1). x_hat is a composite of differentiable ops
    (exact at every order); mean and var are returned as arrays, for running statistics."""
    m = _mean(x, axes, True)
    d = x - m
    var = _mean(d * d, axes, True)
    return d * (var + eps) ** -0.5, m.data, var.data


def _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps,
                   normalize=_composite_normalize):
    """:func:`instance_norm`, with the normalisation step ``normalize(x, axes, eps) -> (x_hat,
    mean, var)`` passed in: ``nn.InstanceNorm2d`` passes the fused ``nn.norm.Normalize``
    (this module cannot import ``tinygen.nn``, which imports it)."""
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(f"input: expected a tensor (N, C, *spatial) with at least one spatial dim, e.g. "
                         f"(N, C, H, W), got {_describe(input)}")
    N, C = input.shape[:2]
    spatial = int(np.prod(input.shape[2:]))
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and (not isinstance(t, Tensor) or t.shape != (C,)):
            raise ValueError(f"{name}: expected None or a tensor of shape ({C},) (input's C), "
                             f"got {_describe(t)}")
        if t is not None and name in ("weight", "bias") and t.dtype != input.dtype:
            raise ValueError(f"{name}: expected dtype {input.dtype} (input's), got {t.dtype}")
    if (running_mean is None) != (running_var is None):
        missing = "running_var" if running_var is None else "running_mean"
        raise ValueError(f"{missing}: expected running_mean and running_var both or neither, got only one")
    use_input_stats = _flag(use_input_stats, "use_input_stats")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.integer, np.floating)) \
            or not 0 <= momentum <= 1:
        raise ValueError(f"momentum: expected a number in [0, 1], got {momentum!r}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)) \
            or not math.isfinite(eps) or eps < 0:
        raise ValueError(f"eps: expected a finite number >= 0, got {eps!r}")
    eps, momentum = float(eps), float(momentum)
    axes = tuple(range(2, input.ndim))
    shape = (1, C) + (1,) * (input.ndim - 2)
    if use_input_stats:
        if spatial == 1:
            raise ValueError(f"input: expected more than 1 spatial element per channel when normalising with "
                             f"the input's statistics (each would become 0), got shape {input.shape}")
        y, m, var = normalize(input, axes, eps)
        if running_mean is not None:
            # As PyTorch: each sample's statistics update its own copy of the running ones,
            # r_n = (1 - momentum) r + momentum s_n, and the copies are averaged over the batch;
            # the variance stored is the unbiased one (spatial / (spatial - 1) times the biased).
            batch_mean = m.reshape(N, C).mean(axis=0)
            batch_var = var.reshape(N, C).mean(axis=0) * (spatial / (spatial - 1))
            running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * batch_mean
            running_var.data[...] = (1 - momentum) * running_var.data + momentum * batch_var
    else:
        if running_mean is None:
            raise ValueError("running_mean: expected running statistics (running_mean and running_var) "
                             "when use_input_stats=False, got None")
        xp = get_array_module(input.data)
        rm = running_mean.data.reshape(shape).astype(input.dtype)
        rs = (1.0 / xp.sqrt(running_var.data.reshape(shape) + eps)).astype(input.dtype)
        y = (input - rm) * rs
    if weight is not None:
        y = y * _reshape(weight, shape)
    if bias is not None:
        y = y + _reshape(bias, shape)
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Instance normalisation, as ``torch.nn.functional.instance_norm``: every channel of
    every sample normalised over its spatial dims (Ulyanov et al. 2016, "Instance
    Normalization: The Missing Ingredient for Fast Stylization", section 3).

        mu_nc = mean over (H, W) of x_nc,  var_nc = mean over (H, W) of (x_nc - mu_nc)^2  (biased)
        y_nc = (x_nc - mu_nc) / sqrt(var_nc + eps) * weight_c + bias_c

    Unlike batch norm, no statistic mixes samples: the output of one sample does
    not depend on the others, in training and in evaluation alike. Written as a
    composite of differentiable ops (means, products, a power), so every order
    of derivative is exact.

    Args:
        input: (N, C, *spatial), at least one spatial dim, e.g. (N, C, H, W); float32 or float64.
        running_mean, running_var: None, or (C,) tensors (both or neither). With
            ``use_input_stats`` they are updated in place, as PyTorch does: r <-
            (1 - momentum) r + momentum s, with s the batch average of the
            per-sample means (running_mean) and of the per-sample unbiased
            variances (running_var). No graph is recorded for the update.
        weight, bias: None or (C,) tensors of input's dtype: the per-channel affine scale and shift.
        use_input_stats: True normalises with each sample's own statistics; False
            with running_mean and running_var (which are then required).
        momentum: number in [0, 1], the running averages' update weight.
        eps: number >= 0 added to the variance inside the square root.

    Returns:
        input's shape and dtype.

    Raises:
        ValueError: input not a Tensor with at least 3 dims; a weight, bias or
            running statistic not of shape (C,) (weight and bias: not of input's
            dtype); only one running statistic; use_input_stats not a bool;
            momentum outside [0, 1]; eps not a finite number >= 0; one spatial
            element per channel with use_input_stats (as PyTorch: the output
            would be all zeros); use_input_stats=False without running statistics.

    Source: Ulyanov, Vedaldi & Lempitsky 2016, "Instance Normalization: The Missing
    Ingredient for Fast Stylization"; ``torch.nn.functional.instance_norm``
    (the running statistics: ATen's ``instance_norm``, a batch norm of the (1, N C, ...) reshape).
    """
    return _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


# ---------------------------------------------------------------- resampling and padding
_INTERPOLATE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _spatial(value, k, name, kind):
    values = (value,) * k if isinstance(value, (int, float, np.number)) else tuple(value)
    if len(values) != k or not all(isinstance(v, kind) and not isinstance(v, bool) and v > 0 for v in values):
        raise ValueError(f"{name}: expected a positive number or {k} of them (one per spatial dim), got {value!r}")
    return values


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims, as ``torch.nn.functional.interpolate``.

    Args:
        input: (N, C, L), (N, C, H, W) or (N, C, D, H, W), floats.
        size: the output's spatial size, an int or one per spatial dim.
        scale_factor: or a multiplier (a number or one per dim): the output
            size is floor(in * scale_factor). Exactly one of size and
            scale_factor must be given.
        mode: "nearest" (PyTorch's legacy rule: floor(dst * in / out)),
            "nearest-exact" (pixel centres), "linear" (3-D input), "bilinear"
            (4-D), "bicubic" (4-D, Keys' a = -0.75), "trilinear" (5-D) or
            "area" (adaptive average pooling).
        align_corners: linear modes only: True maps the corner pixels' centres
            onto each other; False/None (the default) maps the pixel edges.
        recompute_scale_factor: True derives the sampling scale from the
            output size instead of scale_factor (PyTorch's option).
        antialias: must be False (not supported by tinygen).

    Returns:
        (N, C, *size). Linear in input with constant weights (gathers for the
        nearest modes, one matrix per dim for the others), hence exact at
        every order of differentiation. The weights follow PyTorch's source
        coordinates, so results agree with PyTorch's to rounding.

    Raises:
        ValueError: an unknown mode or one that does not fit input's ndim,
            both or neither of size and scale_factor, non-positive sizes or
            factors, align_corners with a non-linear mode, or antialias=True.

    Source: ``torch.nn.functional.interpolate`` and ATen's ``UpSample.h``.
    """
    if mode not in _INTERPOLATE_MODES:
        raise ValueError(f"mode: expected one of {_INTERPOLATE_MODES}, got {mode!r}")
    if not isinstance(input, Tensor) or input.ndim not in (3, 4, 5):
        raise ValueError(f"input: expected a 3-D (N, C, L), 4-D (N, C, H, W) or 5-D (N, C, D, H, W) tensor, "
                         f"got {_describe(input)}")
    k = input.ndim - 2
    if mode in _LINEAR_DIMS and _LINEAR_DIMS[mode] != k:
        raise ValueError(f"mode: {mode!r} expects a {_LINEAR_DIMS[mode] + 2}-D input, got shape {input.shape}")
    if align_corners is not None and mode not in _LINEAR_DIMS:
        raise ValueError(f"align_corners: only the modes linear, bilinear, bicubic and trilinear take it, "
                         f"got align_corners={align_corners!r} with mode {mode!r}")
    if antialias:
        raise ValueError("antialias: antialias=True is not supported by tinygen (expected False)")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"size, scale_factor: expected exactly one of them, got size={size!r} and "
                         f"scale_factor={scale_factor!r}")
    in_size = input.shape[2:]
    if size is not None:
        out_size = _spatial(size, k, "size", (int, np.integer))
        scales = (None,) * k
    else:
        factors = _spatial(scale_factor, k, "scale_factor", (int, float, np.number))
        out_size = tuple(math.floor(n * float(f)) for n, f in zip(in_size, factors))
        if builtins.min(out_size) < 1:
            raise ValueError(f"scale_factor: output size {out_size} is below 1 for input {input.shape}")
        scales = (None,) * k if recompute_scale_factor else tuple(float(f) for f in factors)
    out_size = tuple(int(n) for n in out_size)
    if mode == "area":
        if k == 2 and in_size[0] % out_size[0] == 0 and in_size[1] % out_size[1] == 0:
            return adaptive_avg_pool2d(input, out_size)
        y = input
        for d, (n, o) in enumerate(zip(in_size, out_size)):
            if n != o:
                y = _resample.apply_matrix(y, 2 + d, _resample.area_matrix(n, o, input.dtype))
        return y
    if mode in ("nearest", "nearest-exact"):
        index = [_resample.nearest_index(n, o, sc, exact=mode == "nearest-exact")
                 for n, o, sc in zip(in_size, out_size, scales)]
        if k == 2 and all(o % n == 0 and np.array_equal(i, np.arange(o) // (o // n))
                          for n, o, i in zip(in_size, out_size, index)):
            # Integer multiples: repeat each pixel (a reshape and a broadcast, no gather).
            return _pool.upsample_nearest(input, (out_size[0] // in_size[0], out_size[1] // in_size[1]))
        y = input
        for d, i in enumerate(index):
            if not np.array_equal(i, np.arange(in_size[d])):
                y = _resample.gather(y, 2 + d, i)
        return y
    matrix = _resample.cubic_matrix if mode == "bicubic" else _resample.linear_matrix
    y = input
    for d, (n, o, sc) in enumerate(zip(in_size, out_size, scales)):
        if n != o or (sc is not None and sc != 1.0 and not align_corners):
            y = _resample.apply_matrix(y, 2 + d, matrix(n, o, sc, bool(align_corners), input.dtype))
    return y


def upsample(input, scale_factor=2, mode="nearest"):
    """tinygen's own: :func:`interpolate` by ``scale_factor`` (default 2), nearest by default.

    Its second argument is the scale factor (PyTorch's deprecated
    ``F.upsample(input, size=None, scale_factor=None, ...)`` takes a size
    there): ``upsample(x, 2)`` doubles H and W, repeating each pixel in a
    2x2 block. Followed by a conv, it avoids the checkerboard artefacts of
    strided transposed convs (Odena et al. 2016, "Deconvolution and
    Checkerboard Artifacts").

    Args:
        input: (N, C, H, W). scale_factor: an int >= 1 or a pair (sH, sW) (for
            mode "nearest"; the linear modes also take positive floats).
        mode: as :func:`interpolate`.

    Returns:
        (N, C, H * sH, W * sW).

    Raises:
        ValueError: wrong ndim, a bad scale, or an unknown mode.
    """
    _check_input(input)
    if mode in ("nearest", "nearest-exact"):
        _pair(scale_factor, "scale_factor", 1)
    return interpolate(input, scale_factor=scale_factor, mode=mode)


def _shuffle_args(input, factor, name):
    if not isinstance(factor, (int, np.integer)) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {factor!r}")
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(f"input: expected a tensor (*, C, H, W) with at least 3 dims, "
                         f"got {_describe(input)}")
    return int(factor)


def pixel_shuffle(input, upscale_factor):
    """Rearrange channels into space, as ``torch.nn.functional.pixel_shuffle``:
    (*, C r², H, W) -> (*, C, H r, W r), with r = ``upscale_factor``.

    Output pixel (c, h r + i, w r + j) is input channel c r² + i r + j at (h, w):
    each group of r² channels becomes an r x r block. A conv with C r²
    output channels followed by this is the *sub-pixel convolution* of Shi
    et al. 2016 ("Real-Time Single Image and Video Super-Resolution Using an
    Efficient Sub-Pixel Convolutional Neural Network", section 2.2): a learned
    upsampling that, unlike a stride-2 transposed conv, gives every output
    phase its own r² of the conv's filters, computed at the low resolution.

    It only moves values (a reshape, a permute and a reshape), so its
    derivative is the inverse move, :func:`pixel_unshuffle`, at every order.

    Args:
        input: (*, C r², H, W), any dtype. upscale_factor: r, an int >= 1.

    Returns:
        (*, C, H r, W r), input's dtype.

    Raises:
        ValueError: input with fewer than 3 dims, channels not a multiple of
            r², or r not an int >= 1.
    """
    r = _shuffle_args(input, upscale_factor, "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"input: expected channels divisible by upscale_factor² = {r * r}, got shape {input.shape}")
    k = len(lead)
    x = _reshape(input, (*lead, c // (r * r), r, r, h, w))               # (*, C, i, j, H, W)
    x = _permute(x, (*range(k), k, k + 3, k + 1, k + 4, k + 2))           # (*, C, H, i, W, j)
    return _reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """The inverse of :func:`pixel_shuffle`, as ``torch.nn.functional.pixel_unshuffle``:
    (*, C, H r, W r) -> (*, C r², H, W), each r x r block into r² channels
    (a space-to-depth view; Shi et al. 2016, section 2.2, read backwards).

    Args:
        input: (*, C, H r, W r), any dtype. downscale_factor: r, an int >= 1.

    Returns:
        (*, C r², H, W), input's dtype.

    Raises:
        ValueError: input with fewer than 3 dims, H or W not a multiple of r,
            or r not an int >= 1.
    """
    r = _shuffle_args(input, downscale_factor, "downscale_factor")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise ValueError(f"input: expected H and W divisible by downscale_factor = {r}, got shape {input.shape}")
    k = len(lead)
    x = _reshape(input, (*lead, c, h // r, r, w // r, r))                # (*, C, H, i, W, j)
    x = _permute(x, (*range(k), k, k + 2, k + 4, k + 1, k + 3))           # (*, C, i, j, H, W)
    return _reshape(x, (*lead, c * r * r, h // r, w // r))


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative pads, crop) the last dims, as ``torch.nn.functional.pad``.

    Args:
        input: any shape.
        pad: 2k ints, last dim first: (left, right) pads the last dim,
            (left, right, top, bottom) the last two, and so on.
        mode: "constant" (fill with ``value``; negative pads crop),
            "reflect" (mirror without repeating the edge: pads < dim size),
            "replicate" (repeat the edge) or "circular" (wrap around: pads <= dim size).
        value: the fill of mode "constant" (None: 0).

    Returns:
        input's dtype, each padded dim grown by its two pads. Differentiable to
        any order (constant: a crop of the gradient; the others: a gather).

    Raises:
        ValueError: an odd number of pads or more pairs than dims, an unknown
            mode, value with a mode other than "constant", a negative pad
            outside "constant", or a reflect/circular pad too large for its dim.

    Source: ``torch.nn.functional.pad``.
    """
    if not isinstance(input, Tensor):
        raise ValueError(f"input: expected a Tensor, got {type(input).__name__}")
    pairs = _padding.check_pad(input, pad, mode, value)
    return _padding.pad(input, pairs, mode, value)


def one_hot(tensor, num_classes=-1):
    """One-hot encoding of integer class indices, as ``torch.nn.functional.one_hot``.

    Args:
        tensor: integer class values >= 0, any shape (a Tensor or an array).
        num_classes: the number of classes C; -1 (default) takes max + 1.

    Returns:
        An int64 Tensor of shape tensor.shape + (C,) with a 1 at each value's
        index (no gradient), on tensor's device.

    Raises:
        ValueError: a non-integer dtype, a negative value, a value >= num_classes,
            or num_classes -1 with an empty tensor.
    """
    data = tensor.data if isinstance(tensor, Tensor) else tensor
    xp = get_array_module(data)
    data = xp.asarray(data)
    if data.dtype.kind not in "iu":
        raise ValueError(f"tensor: expected integer class values, got dtype {data.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or (num_classes < 1 and num_classes != -1):
        raise ValueError(f"num_classes: expected an int >= 1, or -1 to infer it, got {num_classes!r}")
    if data.size == 0 and num_classes == -1:
        raise ValueError("num_classes: cannot infer the number of classes from an empty tensor; pass it")
    if data.size:
        lo, hi = int(data.min()), int(data.max())
        if lo < 0:
            raise ValueError(f"tensor: expected class values >= 0, got a minimum of {lo}")
        if num_classes != -1 and hi >= num_classes:
            raise ValueError(f"tensor: expected class values < num_classes = {num_classes}, got a maximum of {hi}")
        if num_classes == -1:
            num_classes = hi + 1
    return Tensor((data[..., None] == xp.arange(num_classes)).astype(np.int64))

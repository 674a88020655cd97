"""The functional API, PyTorch-shaped: ``import tinygen.functional as F``.

Everything here is differentiable to any order. The convolution and pooling
wrappers validate their arguments and raise ``ValueError`` naming the
argument, the expected shape and the given one.
"""
import numpy as np

from .autograd import Tensor
from .backend import get_array_module
from .ops import pool as _pool
from .ops.activation import (clamp, dropout, leaky_relu, logsumexp, maximum, relu, sigmoid,  # noqa: F401
                             softplus, tanh, where)
from .ops.arith import abs, exp, log, matmul, pow, sqrt  # noqa: F401
from .ops.conv import Conv2d, ConvTranspose2d, Conv2dWeight
from .ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,  # noqa: F401
                       kl_divergence, log_softmax, mse_loss)
from .ops.reduce import broadcast_to, max, mean, sum, sum_to, var  # noqa: F401
from .ops.shape import concatenate, flatten, permute, reshape, stack, transpose  # noqa: F401


def _pair(value, name, minimum):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= minimum for v in pair):
        raise ValueError(f"{name}: expected an int >= {minimum} or a pair of them, got {value!r}")
    return pair


def _check_input(x, name="x"):
    if not isinstance(x, Tensor) or x.ndim != 4:
        shape = getattr(x, "shape", type(x).__name__)
        raise ValueError(f"{name}: expected a 4-D tensor (N, C, H, W), got shape {shape}")


def _check_weight(x, weight, layout):
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise ValueError(f"weight: expected a 4-D tensor {layout}, got shape {getattr(weight, 'shape', None)}")
    if weight.shape[0 if "C_in, C_out" in layout else 1] != x.shape[1]:
        raise ValueError(f"weight: expected C_in = {x.shape[1]} (x.shape[1]) in {layout}, "
                         f"got weight shape {weight.shape}")
    if weight.dtype != x.dtype:
        raise ValueError(f"weight: expected dtype {x.dtype} (x's), got {weight.dtype}")


def _add_bias(y, bias, channels):
    if bias is None:
        return y
    if bias.shape != (channels,):
        raise ValueError(f"bias: expected shape ({channels},), got {bias.shape}")
    return y + bias.reshape(1, channels, 1, 1)


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation (what deep learning calls convolution), by im2col + GEMM.

    Args:
        x: (N, C_in, H, W), float32 or float64.
        weight: (C_out, C_in, kH, kW), same dtype.
        bias: (C_out,) or None.
        stride: int or (sH, sW), >= 1. padding: int or (pH, pW), >= 0 (zeros).

    Returns:
        (N, C_out, Ho, Wo) with Ho = floor((H + 2 pH - kH) / sH) + 1 (likewise Wo).

    Raises:
        ValueError: wrong ndim, channel or dtype mismatch, bad stride/padding,
            or a kernel larger than the padded input.

    Source: Dumoulin & Visin 2016, "A guide to convolution arithmetic", relationship 6.
    """
    _check_input(x)
    _check_weight(x, weight, "(C_out, C_in, kH, kW)")
    stride, padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    kh, kw = weight.shape[2:]
    H, W = x.shape[2:]
    if kh > H + 2 * padding[0] or kw > W + 2 * padding[1]:
        raise ValueError(f"weight: kernel {kh}x{kw} is larger than the padded input "
                         f"{H + 2 * padding[0]}x{W + 2 * padding[1]} (x is {x.shape}, padding {padding})")
    return _add_bias(Conv2d(stride, padding)(x, weight), bias, weight.shape[0])


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    """Transposed convolution: the adjoint of conv2d in its input, by GEMM + col2im.

    Args:
        x: (N, C_in, H, W), float32 or float64.
        weight: (C_in, C_out, kH, kW) (PyTorch's layout), same dtype.
        bias: (C_out,) or None.
        stride: int or pair, >= 1. padding: int or pair, >= 0.
        output_padding: int or pair, 0 <= output_padding < stride; extra rows
            and columns on the bottom/right that pick one of the output sizes
            a strided conv maps to the same input size.

    Returns:
        (N, C_out, Ho, Wo) with Ho = (H - 1) sH - 2 pH + kH + opH (likewise Wo).

    Raises:
        ValueError: wrong ndim, channel or dtype mismatch, bad stride/padding/
            output_padding, or an output size below 1.

    Source: Dumoulin & Visin 2016, section 4 (transposed convolution arithmetic).
    """
    _check_input(x)
    _check_weight(x, weight, "(C_in, C_out, kH, kW)")
    stride, padding = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    output_padding = _pair(output_padding, "output_padding", 0)
    if any(op >= s for op, s in zip(output_padding, stride)):
        raise ValueError(f"output_padding: expected values smaller than stride {stride}, got {output_padding}")
    size = tuple((n - 1) * s - 2 * p + k + op for n, s, p, k, op
                 in zip(x.shape[2:], stride, padding, weight.shape[2:], output_padding))
    if min(size) < 1:
        raise ValueError(f"x: output size {size} is below 1 for input {x.shape}, kernel "
                         f"{weight.shape[2:]}, stride {stride}, padding {padding}")
    return _add_bias(ConvTranspose2d(stride, padding, size)(x, weight), bias, weight.shape[1])


def conv2d_weight(x, grad_output, kernel_size, stride=1, padding=0):
    """The gradient of conv2d with respect to its weight, as an op of its own.

    Args:
        x: (N, C_in, H, W). grad_output: (N, C_out, Ho, Wo), Ho and Wo as conv2d gives.
        kernel_size: int or (kH, kW).

    Returns:
        (C_out, C_in, kH, kW). Its own backward is again conv2d / conv_transpose2d.
    """
    _check_input(x)
    _check_input(grad_output, "grad_output")
    return Conv2dWeight(_pair(kernel_size, "kernel_size", 1), _pair(stride, "stride", 1),
                        _pair(padding, "padding", 0))(x, grad_output)


def _pool_args(x, kernel_size, stride, padding):
    _check_input(x)
    k = _pair(kernel_size, "kernel_size", 1)
    s = _pair(stride if stride is not None else kernel_size, "stride", 1)
    p = _pair(padding, "padding", 0)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"padding: expected at most half the kernel {k}, got {p}")
    if any(ki > n + 2 * pi for ki, n, pi in zip(k, x.shape[2:], p)):
        raise ValueError(f"kernel_size: window {k} is larger than the padded input of x {x.shape}")
    return k, s, p


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling over kH x kW windows (padding counts as zeros, like PyTorch).

    Args:
        x: (N, C, H, W). kernel_size: int or pair. stride: defaults to kernel_size.
        padding: int or pair, at most half the kernel.

    Returns:
        (N, C, Ho, Wo), Ho = floor((H + 2 pH - kH) / sH) + 1.

    Raises:
        ValueError: wrong ndim, bad sizes, or a window larger than the padded input.
    """
    return _pool.avg_pool2d(x, *_pool_args(x, kernel_size, stride, padding))


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling over kH x kW windows (padding never wins, like PyTorch).

    The gradient goes to each window's maximum (the first one on a tie).
    Shapes, arguments and errors as for :func:`avg_pool2d`. Source: the
    conv-pool encoders of Hands-On ML ch. 14 and 17 (slide 003).
    """
    return _pool.max_pool2d(x, *_pool_args(x, kernel_size, stride, padding))


def upsample(x, scale_factor=2, mode="nearest"):
    """Nearest-neighbour upsampling: (N, C, H, W) -> (N, C, H*s, W*s).

    Followed by a conv, it avoids the checkerboard artefacts of strided
    transposed convs (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts").

    Raises:
        ValueError: wrong ndim, a non-integer scale, or a mode other than 'nearest'.
    """
    _check_input(x)
    if mode != "nearest":
        raise ValueError(f"mode: expected 'nearest', got {mode!r}")
    return _pool.upsample_nearest(x, _pair(scale_factor, "scale_factor", 1))


# Row i of _FOLD says which 3x3 taps land on tap i of the 4x4 transposed kernel;
# kron(M, M) does it for both axes at once: (16, 9), applied to the 9 taps.
_FOLD = ((0, 0, 1), (0, 1, 1), (1, 1, 0), (1, 0, 0))
_FOLD_2D_T = np.kron(_FOLD, _FOLD).T  # (9, 16)


def upsample_conv2d(x, weight, bias=None):
    """Nearest x2 upsampling followed by a 3x3 conv (padding 1), computed as one
    transposed conv. Equal to ``conv2d(upsample(x, 2), weight, bias, padding=1)``.

    Both steps are linear, so together they are a stride-2 transposed conv
    (k4, p1) whose 4x4 kernel is M K Mᵀ, with M = _FOLD: in 1-D, output pixel
    2y reads w0 x[y-1] + (w1 + w2) x[y], and 2y+1 reads (w0 + w1) x[y] + w2 x[y+1].
    This does the work of a 7x7 -> 14x14 layer on the 7x7 grid (4x fewer
    columns), and keeps the resize-convolution's freedom from checkerboard
    artefacts (Odena et al. 2016), since every output phase sums the same taps.

    Args:
        x: (N, C_in, H, W), float32/float64.
        weight: (C_out, C_in, 3, 3), a conv2d weight. bias: (C_out,) or None.

    Returns:
        (N, C_out, 2H, 2W).

    Raises:
        ValueError: wrong ndim, a kernel other than 3x3, or a channel mismatch.
    """
    _check_input(x)
    _check_weight(x, weight, "(C_out, C_in, kH, kW)")
    if weight.shape[2:] != (3, 3):
        raise ValueError(f"weight: expected a 3x3 kernel (C_out, C_in, 3, 3), got shape {weight.shape}")
    # W'[i, j] = sum_pq M[i, p] K[p, q] M[j, q]: one GEMM of the 9 taps with kron(M, M)ᵀ.
    fold = Tensor(get_array_module(weight.data).asarray(_FOLD_2D_T, dtype=weight.dtype))
    C_out, C_in = weight.shape[:2]
    folded = reshape(reshape(weight, (C_out * C_in, 9)) @ fold, (C_out, C_in, 4, 4))
    return conv_transpose2d(x, transpose(folded, (1, 0, 2, 3)), bias, stride=2, padding=1)


def linear(x, weight, bias=None):
    """y = x Wᵀ + b. x: (..., in_features); weight: (out_features, in_features); bias: (out_features,).

    All three share one floating dtype: a float64 x is not silently mixed
    into a float32 layer (cast x, or the layer with ``Module.astype``).

    Raises:
        ValueError: x's last dim differs from weight's in_features, bias has
            the wrong shape, or x or bias has a dtype other than weight's.
    """
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"x: expected last dim {weight.shape[1]} (weight's in_features), got shape {x.shape}")
    if x.dtype != weight.dtype:
        raise ValueError(f"x: expected dtype {weight.dtype} (weight's), got {x.dtype}; "
                         f"cast x with .astype('{weight.dtype}') or the layer with .astype('{x.dtype}')")
    if bias is not None and (bias.shape != (weight.shape[0],) or bias.dtype != weight.dtype):
        raise ValueError(f"bias: expected shape ({weight.shape[0]},) and dtype {weight.dtype} (weight's), "
                         f"got shape {bias.shape} and dtype {bias.dtype}")
    y = matmul(x, weight.T)
    return y if bias is None else y + bias

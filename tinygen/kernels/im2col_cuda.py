"""im2col / col2im on an NVIDIA GPU: hand-written CUDA kernels run by CuPy.

The CUDA twin of :mod:`tinygen.kernels.im2col_numpy`, with the same column
layout ``(C, kH, kW, Ho, Wo, N)`` (batch axis innermost), the same argument
order and the same results (up to floating-point summation order in col2im).

Memory order
------------
Both kernels work on images whose memory is **(C, H, W, N)**, batch
innermost like the columns, so that consecutive threads handle consecutive
``n`` and every global read *and* write is coalesced:

* :func:`im2col` takes any (N, C, H, W) array and reads it through
  ``cupy.ascontiguousarray(x.transpose(1, 2, 3, 0))``, which is free when
  ``x`` already has (C, H, W, N) memory (e.g. a col2im output).
* :func:`col2im` writes a contiguous (C, H, W, N) buffer and returns the
  view ``out.transpose(3, 0, 1, 2)``: shape (N, C, H, W), not C-contiguous,
  the same memory order as the NumPy version's result.

The kernels
-----------
Both kernels use **one thread per output element**:

* ``im2col``: thread ``idx`` owns ``col[c, i, j, y, x, n]``. It computes the
  padded-image position ``(y*sh + i - ph, x*sw + j - pw)`` and copies that
  pixel ``xt[c, h, w, n]`` of the (C, H, W, N) input or, if it falls in the
  padding, writes 0.

* ``col2im`` is written as a **gather**: thread ``idx`` owns the output pixel
  ``out[c, h, w, n]`` and *sums the column entries that map to it*. In padded
  coordinates ``hp = h + ph``, column row ``y`` and kernel row ``i`` reach it
  when ``y*sh + i == hp``, i.e. ``i = hp - y*sh``: ``i`` runs over
  ``hp % sh, hp % sh + sh, ...`` up to ``min(kh - 1, hp)``, keeping those
  with ``y < Ho`` (likewise for the columns). Each output is written by
  exactly one thread, so no ``atomicAdd`` is needed; the result is
  deterministic, and float64 works on every GPU (double ``atomicAdd`` needs
  sm_60+). The *scatter* alternative
  (one thread per column entry, ``atomicAdd`` into the image) does the same
  arithmetic but serialises on colliding writes and sums in a
  non-deterministic order.

Both use a **grid-stride loop** (a bounded grid walks any number of elements)
and a **64-bit flat index** (``long long``, and 64-bit arithmetic for every
offset into ``x``/``col``): ``C*kh*kw*Ho*Wo*N`` grows with the batch and
can pass 2**31 - 1, e.g. 512 channels x 4x4 kernel x batch 256 x 32x32
outputs is exactly 2**31 entries (8 GiB in float32), which would overflow
an ``int``. Single dimensions are passed as ``int``.

The sources are plain ``extern "C" __global__`` CUDA C, so the same text can
be compiled by ``cupy.RawKernel`` at run time or by ``nvcc -ptx`` offline
(the tests do the latter, which needs no GPU). The element type is filled in
by string substitution: :func:`cuda_source` returns the text of one kernel
for one dtype, named e.g. ``tinygen_im2col_float32``.

CuPy is imported lazily inside :func:`im2col` and :func:`col2im`, so this
module imports on machines without CuPy or a GPU.
"""
import numpy as np

KERNELS = ("im2col", "col2im")
DTYPES = ("float32", "float64")
_CTYPES = {"float32": "float", "float64": "double"}

# Template placeholders: ``{{T}}`` is the C element type, ``{{DTYPE}}`` the
# dtype name used in the kernel name. Neither is valid C, so a source that
# was not substituted fails to compile instead of silently misbehaving.

IM2COL_SOURCE = r'''
extern "C" __global__ void tinygen_im2col_{{DTYPE}}(
    const {{T}}* __restrict__ x,   /* (C, H, W, N), contiguous */
    {{T}}* __restrict__ col,       /* (C, kh, kw, Ho, Wo, N), contiguous */
    const long long total,         /* C*kh*kw*Ho*Wo*N */
    const int N, const int C, const int H, const int W,
    const int kh, const int kw, const int sh, const int sw,
    const int ph, const int pw, const int Ho, const int Wo)
{
    const long long stride = (long long)blockDim.x * gridDim.x;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
         idx < total; idx += stride) {
        /* Unravel idx over (C, kh, kw, Ho, Wo, N), last axis fastest, so
           consecutive threads take consecutive n: coalesced on both sides. */
        long long r = idx;
        const int n  = (int)(r % N);  r /= N;
        const int ox = (int)(r % Wo); r /= Wo;
        const int oy = (int)(r % Ho); r /= Ho;
        const int j  = (int)(r % kw); r /= kw;
        const int i  = (int)(r % kh); r /= kh;
        const int c  = (int)r;
        /* Position in the unpadded image; outside it is zero padding. */
        const int h = oy * sh + i - ph;
        const int w = ox * sw + j - pw;
        {{T}} v = ({{T}})0;
        if (h >= 0 && h < H && w >= 0 && w < W) {
            v = x[(((long long)c * H + h) * W + w) * N + n];
        }
        col[idx] = v;
    }
}
'''

COL2IM_SOURCE = r'''
extern "C" __global__ void tinygen_col2im_{{DTYPE}}(
    const {{T}}* __restrict__ col, /* (C, kh, kw, Ho, Wo, N), contiguous */
    {{T}}* __restrict__ img,       /* (C, H, W, N), contiguous */
    const long long total,         /* C*H*W*N */
    const int N, const int C, const int H, const int W,
    const int kh, const int kw, const int sh, const int sw,
    const int ph, const int pw, const int Ho, const int Wo)
{
    const long long stride = (long long)blockDim.x * gridDim.x;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
         idx < total; idx += stride) {
        /* Unravel idx over (C, H, W, N), last axis fastest, so consecutive
           threads take consecutive n: coalesced on both sides. */
        long long r = idx;
        const int n = (int)(r % N); r /= N;
        const int w = (int)(r % W); r /= W;
        const int h = (int)(r % H); r /= H;
        const int c = (int)r;
        /* Gather: column (oy, ox) with kernel offset (i, j) reaches padded
           pixel (hp, wp) iff oy*sh + i == hp and ox*sw + j == wp. So i runs
           over hp % sh, hp % sh + sh, ... (at most kh - 1 and at most hp)
           with oy = (hp - i) / sh in [0, Ho); likewise j and ox. */
        const int hp = h + ph;
        const int wp = w + pw;
        {{T}} acc = ({{T}})0;
        for (int i = hp % sh; i < kh && i <= hp; i += sh) {   /* oy >= 0 */
            const int oy = (hp - i) / sh;
            if (oy >= Ho) continue;   /* i too small: row beyond the columns */
            for (int j = wp % sw; j < kw && j <= wp; j += sw) {
                const int ox = (wp - j) / sw;
                if (ox >= Wo) continue;
                const long long k = ((long long)c * kh + i) * kw + j;
                acc += col[((k * Ho + oy) * Wo + ox) * N + n];
            }
        }
        img[idx] = acc;
    }
}
'''

_SOURCES = {"im2col": IM2COL_SOURCE, "col2im": COL2IM_SOURCE}

_THREADS = 256         # threads per block
_MAX_BLOCKS = 65535    # grid cap; the grid-stride loop covers the rest

_kernel_cache = {}     # (name, dtype) -> cupy.RawKernel


def kernel_name(name, dtype):
    """The ``extern "C"`` entry name, e.g. ``tinygen_im2col_float32``."""
    return f"tinygen_{name}_{dtype}"


def cuda_source(name, dtype):
    """CUDA C source of one kernel for one element type.

    Args:
        name: ``"im2col"`` or ``"col2im"`` (see :data:`KERNELS`).
        dtype: ``"float32"`` or ``"float64"`` (see :data:`DTYPES`); a NumPy
            dtype or type is accepted too.

    Returns:
        str: a self-contained ``extern "C" __global__`` kernel named
        ``tinygen_<name>_<dtype>``, compilable by ``cupy.RawKernel`` or
        ``nvcc -ptx``.

    Raises:
        ValueError: unknown ``name``.
        TypeError: ``dtype`` is not float32 or float64.
    """
    if name not in _SOURCES:
        raise ValueError(f"name: expected one of {KERNELS}, got {name!r}")
    dtype = _dtype_name(dtype, "dtype")
    return (_SOURCES[name]
            .replace("{{T}}", _CTYPES[dtype])
            .replace("{{DTYPE}}", dtype))


def _dtype_name(dtype, argname):
    try:
        key = np.dtype(dtype).name
    except TypeError:
        key = None
    if key not in _CTYPES:
        raise TypeError(f"{argname}: CUDA im2col/col2im support float32 and "
                        f"float64, got dtype {dtype!r}")
    return key


def _get_kernel(name, dtype):
    """Compile (once) and return the ``cupy.RawKernel`` for (name, dtype)."""
    key = (name, dtype)
    kernel = _kernel_cache.get(key)
    if kernel is None:
        import cupy
        kernel = cupy.RawKernel(cuda_source(name, dtype), kernel_name(name, dtype))
        _kernel_cache[key] = kernel
    return kernel


def _launch(kernel, total, args):
    blocks = min((total + _THREADS - 1) // _THREADS, _MAX_BLOCKS)
    kernel((blocks,), (_THREADS,), args)


def _int_args(*values):
    return tuple(np.int32(v) for v in values)


def _check_geometry(sh, sw, ph, pw):
    # The kernels index memory with these; bad values would read out of bounds
    # (col2im) or divide by zero, so refuse them up front.
    if sh < 1 or sw < 1:
        raise ValueError(f"stride: expected sh, sw >= 1, got ({sh}, {sw})")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding: expected ph, pw >= 0, got ({ph}, {pw})")


def im2col(x, kh, kw, sh, sw, ph, pw):
    """Unfold image patches into columns on the GPU.

    Same semantics as :func:`tinygen.kernels.im2col_numpy.im2col`.

    Args:
        x: ``cupy.ndarray`` (N, C, H, W), float32 or float64, any strides.
            The kernel reads it as a contiguous (C, H, W, N) array
            (``cupy.ascontiguousarray(x.transpose(1, 2, 3, 0))``), which
            costs no copy when its memory is already (C, H, W, N), as
            :func:`col2im` outputs are.
        kh, kw: kernel height and width (int >= 1).
        sh, sw: stride (int >= 1); ph, pw: zero padding on each side (int >= 0).

    Returns:
        col: contiguous ``cupy.ndarray`` (C, kh, kw, Ho, Wo, N), same dtype as
        ``x``, with ``col[c, i, j, y, x_, n] = xpad[n, c, y*sh + i, x_*sw + j]``
        and ``Ho = (H + 2*ph - kh) // sh + 1`` (likewise Wo).

    Raises:
        TypeError: ``x`` is not float32 or float64.
        ValueError: ``x`` is not 4-D; a stride < 1 or a padding < 0; or the
            kernel is so much larger than the padded image that Ho or Wo
            would be negative.
    """
    dtype = _dtype_name(x.dtype, "x")
    _check_geometry(sh, sw, ph, pw)
    import cupy
    N, C, H, W = x.shape
    xt = cupy.ascontiguousarray(x.transpose(1, 2, 3, 0))   # (C, H, W, N)
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    col = cupy.empty((C, kh, kw, Ho, Wo, N), dtype=x.dtype)
    total = col.size
    if total == 0:
        return col
    _launch(_get_kernel("im2col", dtype), total,
            (xt, col, np.int64(total))
            + _int_args(N, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo))
    return col


def col2im(col, H, W, sh, sw, ph, pw):
    """Fold columns back into an image on the GPU, summing overlapping patches.

    Same semantics as :func:`tinygen.kernels.im2col_numpy.col2im` (the adjoint
    of :func:`im2col`), computed as a gather without atomics.

    Args:
        col: ``cupy.ndarray`` (C, kh, kw, Ho, Wo, N), float32 or float64, any
            strides (made contiguous first).
        H, W: size of the (unpadded) image to produce. Positions that no
            column reaches (e.g. from conv_transpose2d's output_padding) are 0;
            column entries that land outside the image are dropped.
        sh, sw: stride (int >= 1); ph, pw: padding (int >= 0), as for
            :func:`im2col`.

    Returns:
        x: ``cupy.ndarray`` (N, C, H, W), same dtype as ``col``. It is the
        view ``out.transpose(3, 0, 1, 2)`` of a contiguous (C, H, W, N)
        buffer ``out`` (not C-contiguous), like the NumPy version's result
        and ready for the next :func:`im2col` without a copy.

    Raises:
        TypeError: ``col`` is not float32 or float64.
        ValueError: ``col`` is not 6-D; a stride < 1 or a padding < 0; or
            H or W is negative.
    """
    dtype = _dtype_name(col.dtype, "col")
    _check_geometry(sh, sw, ph, pw)
    import cupy
    col = cupy.ascontiguousarray(col)
    C, kh, kw, Ho, Wo, N = col.shape
    out = cupy.empty((C, H, W, N), dtype=col.dtype)
    total = out.size
    if total > 0:
        _launch(_get_kernel("col2im", dtype), total,
                (col, out, np.int64(total))
                + _int_args(N, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo))
    return out.transpose(3, 0, 1, 2)

"""Tests for the im2col / col2im kernels.

* NumPy reference: adjoint identity and a naive loop unfold (always run).
* CUDA sources: compiled to PTX with ``nvcc`` (needs nvcc, no GPU), and run on
  the host by compiling them as C++ with a tiny stand-in for the CUDA launch
  variables (needs g++, no GPU) so their index arithmetic is checked anyway.
  The kernels read/write images as (C, H, W, N) and columns as
  (C, kH, kW, Ho, Wo, N), batch innermost.
* CUDA kernels via CuPy against NumPy (needs CuPy and a GPU; skipped otherwise).
"""
import ctypes
import itertools
import shutil
import subprocess

import numpy as np
import pytest

from tinygen.kernels import im2col_cuda
from tinygen.kernels.im2col_numpy import col2im as np_col2im
from tinygen.kernels.im2col_numpy import im2col as np_im2col


def cuda_available():
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or CUDARuntimeError without a driver
        return False


def out_size(H, W, kh, kw, sh, sw, ph, pw):
    return (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1


# (N, C, H, W, kh, kw, sh, sw, ph, pw): stride 1/2, padding 0/1/2,
# kernel 1/3/4, non-square images, kernels, strides and paddings.
SHAPES = [
    (2, 3, 5, 5, 3, 3, 1, 1, 1, 1),
    (2, 3, 8, 8, 4, 4, 2, 2, 1, 1),     # DCGAN-style 4x4 stride 2
    (2, 2, 7, 5, 3, 3, 2, 2, 0, 0),
    (2, 2, 6, 9, 1, 1, 1, 1, 0, 0),     # 1x1 kernel
    (2, 2, 6, 7, 1, 1, 2, 2, 0, 0),     # 1x1 kernel, stride 2
    (2, 3, 5, 6, 3, 4, 1, 2, 2, 1),     # non-square kernel/stride/padding
    (1, 2, 4, 4, 4, 4, 1, 1, 2, 2),     # padding 2
    (2, 1, 9, 7, 3, 3, 3, 2, 1, 0),     # stride larger than 2
    (2, 2, 3, 3, 4, 4, 2, 2, 2, 2),     # kernel larger than the image
]


def shape_id(s):
    return "N{}C{}_{}x{}_k{}x{}_s{}x{}_p{}x{}".format(*s)


# ---------------------------------------------------------------- pure NumPy
def naive_im2col(x, kh, kw, sh, sw, ph, pw):
    N, C, H, W = x.shape
    Ho, Wo = out_size(H, W, kh, kw, sh, sw, ph, pw)
    col = np.zeros((C, kh, kw, Ho, Wo, N), dtype=x.dtype)
    for c, i, j, y, xo, n in itertools.product(
            range(C), range(kh), range(kw), range(Ho), range(Wo), range(N)):
        h, w = y * sh + i - ph, xo * sw + j - pw
        if 0 <= h < H and 0 <= w < W:
            col[c, i, j, y, xo, n] = x[n, c, h, w]
    return col


def naive_col2im(col, H, W, sh, sw, ph, pw):
    C, kh, kw, Ho, Wo, N = col.shape
    img = np.zeros((N, C, H, W), dtype=col.dtype)
    for c, i, j, y, xo, n in itertools.product(
            range(C), range(kh), range(kw), range(Ho), range(Wo), range(N)):
        h, w = y * sh + i - ph, xo * sw + j - pw
        if 0 <= h < H and 0 <= w < W:
            img[n, c, h, w] += col[c, i, j, y, xo, n]
    return img


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_im2col_matches_naive(shape):
    N, C, H, W, kh, kw, sh, sw, ph, pw = shape
    x = np.random.default_rng(0).standard_normal((N, C, H, W))
    np.testing.assert_array_equal(np_im2col(x, kh, kw, sh, sw, ph, pw),
                                  naive_im2col(x, kh, kw, sh, sw, ph, pw))


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_col2im_is_adjoint_of_im2col(shape):
    N, C, H, W, kh, kw, sh, sw, ph, pw = shape
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C, H, W))
    col = np_im2col(x, kh, kw, sh, sw, ph, pw)
    c = rng.standard_normal(col.shape)
    img = np_col2im(c, H, W, sh, sw, ph, pw)
    assert img.shape == x.shape and img.dtype == np.float64
    lhs, rhs = np.sum(col * c), np.sum(x * img)
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), abs(rhs), 1.0)
    np.testing.assert_allclose(img, naive_col2im(c, H, W, sh, sw, ph, pw),
                               rtol=1e-12, atol=1e-12)


# ------------------------------------------------------- CUDA source, no GPU
def test_module_constants_and_source_errors():
    assert im2col_cuda.KERNELS == ("im2col", "col2im")
    assert im2col_cuda.DTYPES == ("float32", "float64")
    src = im2col_cuda.cuda_source("col2im", np.float64)
    assert "tinygen_col2im_float64" in src and "double" in src
    assert "{{" not in src and "atomic" not in src
    with pytest.raises(ValueError, match="name"):
        im2col_cuda.cuda_source("conv", "float32")
    with pytest.raises(TypeError, match="dtype"):
        im2col_cuda.cuda_source("im2col", "float16")


def test_bad_dtype_and_geometry_raise_before_touching_cupy():
    # The checks run before CuPy is imported, so this works on any machine.
    with pytest.raises(TypeError, match="x"):
        im2col_cuda.im2col(np.zeros((1, 1, 3, 3), np.int32), 3, 3, 1, 1, 1, 1)
    with pytest.raises(TypeError, match="col"):
        im2col_cuda.col2im(np.zeros((1, 1, 1, 1, 1, 1), np.float16), 1, 1, 1, 1, 0, 0)
    with pytest.raises(ValueError, match="stride"):
        im2col_cuda.im2col(np.zeros((1, 1, 3, 3), np.float32), 3, 3, 0, 1, 1, 1)
    with pytest.raises(ValueError, match="padding"):
        im2col_cuda.col2im(np.zeros((1, 1, 1, 1, 1, 1)), 1, 1, 1, 1, -1, 0)


@pytest.mark.parametrize("dtype", im2col_cuda.DTYPES)
@pytest.mark.parametrize("name", im2col_cuda.KERNELS)
def test_cuda_sources_compile_with_nvcc(name, dtype, tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not on PATH")
    src = tmp_path / f"{name}_{dtype}.cu"
    ptx = tmp_path / f"{name}_{dtype}.ptx"
    src.write_text(im2col_cuda.cuda_source(name, dtype))
    proc = subprocess.run([nvcc, "-ptx", str(src), "-o", str(ptx)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    entry = im2col_cuda.kernel_name(name, dtype)
    assert entry == f"tinygen_{name}_{dtype}"
    assert f".entry {entry}(" in ptx.read_text()


# Just enough of the CUDA launch model for the kernels to run as host C++.
_HOST_PRELUDE = r'''
#define __global__
struct tinygen_dim3 { unsigned int x, y, z; };
static tinygen_dim3 blockIdx = {0, 1, 1}, threadIdx = {0, 1, 1};
static tinygen_dim3 blockDim = {1, 1, 1}, gridDim = {1, 1, 1};
extern "C" void tinygen_set_launch(unsigned g, unsigned b, unsigned bi, unsigned ti)
{ gridDim.x = g; blockDim.x = b; blockIdx.x = bi; threadIdx.x = ti; }
'''


@pytest.fixture(scope="module")
def host_kernels(tmp_path_factory):
    """All four kernels compiled as host C++ into one shared library."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler on PATH")
    d = tmp_path_factory.mktemp("host_kernels")
    src = d / "kernels.cpp"
    src.write_text(_HOST_PRELUDE + "".join(
        im2col_cuda.cuda_source(n, t)
        for n in im2col_cuda.KERNELS for t in im2col_cuda.DTYPES))
    lib = d / "kernels.so"
    proc = subprocess.run([cxx, "-O1", "-Wall", "-Werror", "-shared", "-fPIC",
                           str(src), "-o", str(lib)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return ctypes.CDLL(str(lib))


def _host_launch(lib, name, dtype, src, dst, N, C, H, W, kh, kw, sh, sw, ph, pw,
                 Ho, Wo, grid=2, block=3):
    """Run one kernel with a small grid so that the grid-stride loop is used."""
    fn = getattr(lib, im2col_cuda.kernel_name(name, dtype))
    fn.restype = None
    total = dst.size
    for b in range(grid):
        for t in range(block):
            lib.tinygen_set_launch(grid, block, b, t)
            fn(src.ctypes.data_as(ctypes.c_void_p),
               dst.ctypes.data_as(ctypes.c_void_p),
               ctypes.c_longlong(total),
               *(ctypes.c_int(v) for v in (N, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo)))


@pytest.mark.parametrize("dtype", im2col_cuda.DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_cuda_sources_run_on_host(host_kernels, shape, dtype):
    """The kernels' index arithmetic, run on the CPU, matches NumPy.

    The kernels take and produce images as contiguous (C, H, W, N) buffers,
    exactly what ``im2col_cuda`` hands them.
    """
    N, C, H, W, kh, kw, sh, sw, ph, pw = shape
    Ho, Wo = out_size(H, W, kh, kw, sh, sw, ph, pw)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    xt = np.ascontiguousarray(x.transpose(1, 2, 3, 0))     # (C, H, W, N)
    col = np.full((C, kh, kw, Ho, Wo, N), np.nan, dtype=dtype)
    _host_launch(host_kernels, "im2col", dtype, xt, col,
                 N, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo)
    np.testing.assert_array_equal(col, np_im2col(x, kh, kw, sh, sw, ph, pw))
    np.testing.assert_array_equal(col, naive_im2col(x, kh, kw, sh, sw, ph, pw))

    c = rng.standard_normal(col.shape).astype(dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12
    # The image size itself, and a larger one (conv_transpose2d's output_padding).
    for Hi, Wi in ((H, W), (H + 1, W + 2)):
        out = np.full((C, Hi, Wi, N), np.nan, dtype=dtype)     # (C, H, W, N)
        _host_launch(host_kernels, "col2im", dtype, c, out,
                     N, C, Hi, Wi, kh, kw, sh, sw, ph, pw, Ho, Wo)
        img = out.transpose(3, 0, 1, 2)                         # (N, C, H, W)
        np.testing.assert_allclose(img, np_col2im(c, Hi, Wi, sh, sw, ph, pw),
                                   rtol=tol, atol=tol)
        np.testing.assert_allclose(img, naive_col2im(c, Hi, Wi, sh, sw, ph, pw),
                                   rtol=tol, atol=tol)


# ------------------------------------------------------------ CUDA on a GPU
requires_gpu = pytest.mark.skipif(not cuda_available(),
                                  reason="needs CuPy and a CUDA GPU")


@requires_gpu
@pytest.mark.parametrize("dtype", im2col_cuda.DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_cuda_matches_numpy(shape, dtype):
    import cupy
    N, C, H, W, kh, kw, sh, sw, ph, pw = shape
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12

    col = im2col_cuda.im2col(cupy.asarray(x), kh, kw, sh, sw, ph, pw)
    assert isinstance(col, cupy.ndarray) and col.dtype == np.dtype(dtype)
    assert col.flags.c_contiguous
    np.testing.assert_array_equal(col.get(), np_im2col(x, kh, kw, sh, sw, ph, pw))

    c = rng.standard_normal(col.shape).astype(dtype)
    # The image size itself, and a larger one that the columns do not reach.
    for Hi, Wi in ((H, W), (H + 1, W + 2)):
        img = im2col_cuda.col2im(cupy.asarray(c), Hi, Wi, sh, sw, ph, pw)
        assert img.shape == (N, C, Hi, Wi) and img.dtype == np.dtype(dtype)
        # Memory is (C, H, W, N), batch innermost, like the NumPy version.
        assert img.transpose(1, 2, 3, 0).flags.c_contiguous
        np.testing.assert_allclose(img.get(), np_col2im(c, Hi, Wi, sh, sw, ph, pw),
                                   rtol=tol, atol=tol)


@requires_gpu
def test_cuda_non_contiguous_inputs():
    import cupy
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2, 6, 5))          # (C, N, H, W)
    xt = cupy.asarray(x).transpose(1, 0, 2, 3)     # non-contiguous (N, C, H, W)
    col = im2col_cuda.im2col(xt, 3, 3, 2, 1, 1, 1)
    np.testing.assert_array_equal(
        col.get(), np_im2col(x.transpose(1, 0, 2, 3), 3, 3, 2, 1, 1, 1))
    c = rng.standard_normal(col.shape[::-1])
    img = im2col_cuda.col2im(cupy.asarray(c).T, 6, 5, 2, 1, 1, 1)
    np.testing.assert_allclose(img.get(), np_col2im(c.T, 6, 5, 2, 1, 1, 1),
                               rtol=1e-12, atol=1e-12)
    # A col2im output (memory (C, H, W, N)) feeds im2col directly.
    col2 = im2col_cuda.im2col(img, 3, 3, 1, 1, 1, 1)
    np.testing.assert_array_equal(
        col2.get(), np_im2col(img.get(), 3, 3, 1, 1, 1, 1))

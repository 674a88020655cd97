"""im2col / col2im kernels, one implementation per array backend.

The autodiff Functions in ``tinygen/ops/conv.py`` call :func:`im2col` and
:func:`col2im` here; which version runs depends only on where the data lives.
Both share the column layout (C, kH, kW, Ho, Wo, N).
"""
import numpy as np

from ..backend import get_array_module
from . import im2col_numpy


def _impl(array):
    if get_array_module(array) is np:
        return im2col_numpy
    from . import im2col_cuda
    return im2col_cuda


def im2col(x, kh, kw, sh, sw, ph, pw):
    """(N, C, H, W) -> columns (C, kh, kw, Ho, Wo, N); see ``im2col_numpy.im2col``."""
    return _impl(x).im2col(x, kh, kw, sh, sw, ph, pw)


def col2im(col, H, W, sh, sw, ph, pw):
    """Columns (C, kh, kw, Ho, Wo, N) -> (N, C, H, W), summing overlaps; see ``im2col_numpy.col2im``."""
    return _impl(col).col2im(col, H, W, sh, sw, ph, pw)

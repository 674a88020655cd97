"""im2col / col2im on the CPU with NumPy.

Column layout: ``col`` has shape (C, kH, kW, Ho, Wo, N), so that
``col.reshape(C*kH*kW, Ho*Wo*N)`` is the right-hand side of the conv GEMM
``W.reshape(C_out, -1) @ col``, with W in PyTorch's (C_out, C_in, kH, kW) order.

Why this layout:
- The GEMM's long side (Ho*Wo*N) comes last; that was 1.5-2.8x cheaper than
  the transposed matrix on DCGAN shapes (timed on a 2-core CPU when the layout
  was chosen).
- The batch axis N is innermost. Each kernel offset moves one strided slab,
  and NumPy pays a fixed cost per innermost run; with N innermost a run is 64
  contiguous numbers instead of Wo = 7 strided ones. On a DCGAN
  ConvTranspose2d 256->128 (batch 64) that took col2im from 15 ms to 5.5 ms.

The only Python loop is over the kH*kW kernel offsets; the channels are
split between the cores (:func:`tinygen.kernels.threads.parallel_for`).
"""
import numpy as np

from .threads import parallel_for


def im2col(x, kh, kw, sh, sw, ph, pw):
    """Unfold image patches into columns.

    Args:
        x: array (N, C, H, W), float32 or float64, any strides (fastest when
            its memory is (C, H, W, N), as conv outputs here are).
        kh, kw: kernel height and width (int >= 1).
        sh, sw: stride (>= 1); ph, pw: zero padding on each side (>= 0).

    Returns:
        col: contiguous array (C, kh, kw, Ho, Wo, N), same dtype as ``x``, with
        ``col[c, i, j, y, x_, n] = xpad[n, c, y*sh + i, x_*sw + j]`` and
        ``Ho = (H + 2*ph - kh) // sh + 1`` (likewise Wo).
    """
    N, C, H, W = x.shape
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    buf = np.zeros((C, H + 2 * ph, W + 2 * pw, N), dtype=x.dtype)
    xt = x.transpose(1, 2, 3, 0)
    col = np.empty((C, kh, kw, Ho, Wo, N), dtype=x.dtype)

    def channels(lo, hi):   # both cores, one slab of channels each (kernels/threads.py)
        buf[lo:hi, ph:ph + H, pw:pw + W] = xt[lo:hi]
        for i in range(kh):
            for j in range(kw):
                col[lo:hi, i, j] = buf[lo:hi, i:i + sh * Ho:sh, j:j + sw * Wo:sw]

    parallel_for(C, channels, work=col.size)
    return col


def col2im(col, H, W, sh, sw, ph, pw):
    """Fold columns back into an image, summing overlapping patches.

    The adjoint of :func:`im2col`: for any x and c of matching shapes,
    ``sum(im2col(x) * c) == sum(x * col2im(c))``.

    Args:
        col: array (C, kh, kw, Ho, Wo, N).
        H, W: size of the (unpadded) image to produce. Positions that no
            column reaches (e.g. from conv_transpose2d's output_padding) are 0.
        sh, sw, ph, pw: stride and padding, as for :func:`im2col`.

    Returns:
        x: array (N, C, H, W), same dtype as ``col``, whose memory is laid out
        as (C, H, W, N) (a transposed view), ready for the next im2col.
    """
    C, kh, kw, Ho, Wo, N = col.shape
    # Big enough for every slab and for the crop below.
    Hp = max(H + 2 * ph, sh * (Ho - 1) + kh)
    Wp = max(W + 2 * pw, sw * (Wo - 1) + kw)
    buf = np.zeros((C, Hp, Wp, N), dtype=col.dtype)

    def channels(lo, hi):   # both cores, one slab of channels each (kernels/threads.py)
        # Strided slice additions, one per kernel offset (np.add.at is far slower).
        for i in range(kh):
            for j in range(kw):
                buf[lo:hi, i:i + sh * Ho:sh, j:j + sw * Wo:sw] += col[lo:hi, i, j]

    parallel_for(C, channels, work=col.size)
    return buf[:, ph:ph + H, pw:pw + W].transpose(3, 0, 1, 2)

"""im2col / col2im on the CPU with NumPy.

Column layout: ``col`` has shape (C, kH, kW, N, Ho, Wo), so that
``col.reshape(C*kH*kW, N*Ho*Wo)`` is the right-hand side of the conv GEMM
``W.reshape(C_out, -1) @ col``. Putting N*Ho*Wo last was 1.5-2.8x cheaper than
the transposed layout on DCGAN shapes (shared/NOTES.md).

The only Python loop is over the kH*kW kernel offsets: each offset moves one
strided slab of the whole batch at once.
"""
import numpy as np


def im2col(x, kh, kw, sh, sw, ph, pw):
    """Unfold image patches into columns.

    Args:
        x: array (N, C, H, W), any float dtype, any strides.
        kh, kw: kernel height and width (int >= 1).
        sh, sw: stride; ph, pw: zero padding on each side (ints).

    Returns:
        col: contiguous array (C, kh, kw, N, Ho, Wo), same dtype as ``x``, with
        ``col[c, i, j, n, y, x_] = xpad[n, c, y*sh + i, x_*sw + j]`` and
        ``Ho = (H + 2*ph - kh) // sh + 1`` (likewise Wo).
    """
    N, C, H, W = x.shape
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    # One copy into a (C, N, Hp, Wp) padded buffer: channel-major, so every
    # slab below is already in the column order.
    buf = np.zeros((C, N, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    buf[:, :, ph:ph + H, pw:pw + W] = x.transpose(1, 0, 2, 3)
    col = np.empty((C, kh, kw, N, Ho, Wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            col[:, i, j] = buf[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw]
    return col


def col2im(col, H, W, sh, sw, ph, pw):
    """Fold columns back into an image, summing overlapping patches.

    The adjoint of :func:`im2col`: for any x and c of matching shapes,
    ``sum(im2col(x) * c) == sum(x * col2im(c))``.

    Args:
        col: array (C, kh, kw, N, Ho, Wo).
        H, W: size of the (unpadded) image to produce. Positions that no
            column reaches (e.g. from conv_transpose2d's output_padding) are 0.
        sh, sw, ph, pw: stride and padding, as for :func:`im2col`.

    Returns:
        x: array (N, C, H, W), same dtype as ``col`` (a transposed view of a
        contiguous (C, N, H, W) buffer).
    """
    C, kh, kw, N, Ho, Wo = col.shape
    # Big enough for every slab and for the crop below.
    Hp = max(H + 2 * ph, sh * (Ho - 1) + kh)
    Wp = max(W + 2 * pw, sw * (Wo - 1) + kw)
    buf = np.zeros((C, N, Hp, Wp), dtype=col.dtype)
    # Strided slice additions, one per kernel offset (np.add.at is far slower).
    for i in range(kh):
        for j in range(kw):
            buf[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw] += col[:, i, j]
    return buf[:, :, ph:ph + H, pw:pw + W].transpose(1, 0, 2, 3)

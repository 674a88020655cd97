"""conv2d, conv_transpose2d, the weight-grad op, pooling and upsampling.

Forward values are compared with naive loops written here; first and second
derivatives with finite differences (float64, random cotangents) over the
grid stride {1, 2} x padding {0, 1, 2} x kernel {1, 3, 4} x bias, with
output_padding {0, 1} where valid, on non-square inputs; then dilation,
groups, padding "same"/"valid" and unbatched inputs. The pooling and
resampling options (ceil_mode, interpolate, ...) are in tests/test_functional.py.
"""
import itertools

import numpy as np
import pytest
from conftest import rand64

import tinygen as tg
import tinygen.nn.functional as F


def naive_conv2d(x, w, b, s, p):
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1
    y = np.zeros((N, O, Ho, Wo))
    for n, o, i, j in itertools.product(range(N), range(O), range(Ho), range(Wo)):
        y[n, o, i, j] = np.sum(xp[n, :, i * s:i * s + kh, j * s:j * s + kw] * w[o])
    return y + (0 if b is None else b[None, :, None, None])


def naive_conv_transpose2d(x, w, b, s, p, op):
    # Definition by scatter: each input pixel adds a weighted kernel to the output.
    N, C, H, W = x.shape
    _, O, kh, kw = w.shape
    Ho, Wo = (H - 1) * s - 2 * p + kh + op, (W - 1) * s - 2 * p + kw + op
    y = np.zeros((N, O, Ho + 2 * p + kh, Wo + 2 * p + kw))
    for n, c, i, j in itertools.product(range(N), range(C), range(H), range(W)):
        y[n, :, i * s:i * s + kh, j * s:j * s + kw] += x[n, c, i, j] * w[c]
    y = y[:, :, p:p + Ho, p:p + Wo]
    return y + (0 if b is None else b[None, :, None, None])


CONV_GRID = list(itertools.product([1, 2], [0, 1, 2], [1, 3, 4], [True, False]))
CONVT_GRID = [(s, p, k, op, bias) for s, p, k, bias in CONV_GRID for op in range(s)]


def _size_ok(h, s, p, k, op=None):
    if op is None:
        return h + 2 * p >= k
    return (h - 1) * s - 2 * p + k + op >= 1


@pytest.mark.parametrize("stride,padding,k,bias", CONV_GRID)
def test_conv2d(device, stride, padding, k, bias):
    x = rand64(2, 3, 5, 6, device=device, seed=1)
    w = rand64(4, 3, k, k, device=device, seed=2)
    b = rand64(4, device=device, seed=3) if bias else None
    if not _size_ok(5, stride, padding, k):
        pytest.skip("kernel larger than the padded input")
    fn = lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, stride, padding)  # noqa: E731
    inputs = [x, w] + ([b] if bias else [])
    ref = naive_conv2d(x.numpy(), w.numpy(), b.numpy() if bias else None, stride, padding)
    np.testing.assert_allclose(fn(*inputs).numpy(), ref, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("stride,padding,k,output_padding,bias", CONVT_GRID)
def test_conv_transpose2d(device, stride, padding, k, output_padding, bias):
    x = rand64(2, 3, 5, 6, device=device, seed=4)
    w = rand64(3, 4, k, k, device=device, seed=5)
    b = rand64(4, device=device, seed=6) if bias else None
    if not _size_ok(5, stride, padding, k, output_padding):
        pytest.skip("output size below 1")
    fn = lambda x, w, *b: F.conv_transpose2d(x, w, b[0] if b else None, stride, padding,  # noqa: E731
                                             output_padding)
    inputs = [x, w] + ([b] if bias else [])
    ref = naive_conv_transpose2d(x.numpy(), w.numpy(), b.numpy() if bias else None, stride, padding,
                                 output_padding)
    np.testing.assert_allclose(fn(*inputs).numpy(), ref, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


def test_conv_full_jacobian_small(device):
    # Tiny enough for the element-by-element path, which reports where an error is.
    x = rand64(1, 2, 3, 4, device=device, seed=7)
    w = rand64(2, 2, 2, 2, device=device, seed=8)
    for fn in (lambda x, w: F.conv2d(x, w, stride=(1, 2), padding=(1, 0)),
               lambda x, w: F.conv_transpose2d(x, w, stride=(2, 1), padding=(0, 1), output_padding=(1, 0))):
        assert tg.gradcheck(fn, [x, w], max_full=10_000)
        assert tg.gradgradcheck(fn, [x, w], max_full=10_000)


@pytest.mark.parametrize("stride,padding,k", [(1, 0, 3), (2, 1, 4), (2, 2, 3), (1, 1, 1)])
def test_conv2d_weight_op(device, stride, padding, k):
    """The weight-grad op: equals dL/dW of conv2d, and its own backward (which a
    reference engine left crashing) is right to second order, i.e. conv's third."""
    x = rand64(2, 3, 6, 5, device=device, seed=9)
    w = rand64(4, 3, k, k, device=device, seed=10)
    y = F.conv2d(x, w, stride=stride, padding=padding)
    gy = rand64(*y.shape, device=device, seed=11)
    gw_ref, = tg.grad(y, w, grad_outputs=gy)
    gw = F.conv2d_weight(x, gy, k, stride, padding)
    np.testing.assert_allclose(gw.numpy(), gw_ref.numpy(), rtol=1e-10)
    fn = lambda x, gy: F.conv2d_weight(x, gy, k, stride, padding)  # noqa: E731
    assert tg.gradcheck(fn, [x, gy])
    assert tg.gradgradcheck(fn, [x, gy])


def test_conv_third_order(device):
    # d3/dx dW dW of a conv composed with a nonlinearity goes through all three Functions.
    x = rand64(2, 2, 5, 5, device=device, seed=12)
    w = rand64(3, 2, 3, 3, device=device, seed=13)

    def grad_fn(x, w):
        y = F.tanh(F.conv2d(x, w, stride=2, padding=1))
        g, = tg.grad(y, x, grad_outputs=tg.ones(*y.shape, dtype="float64", device=device), create_graph=True)
        return g
    assert tg.gradgradcheck(grad_fn, [x, w])


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)])
def test_avg_pool2d(device, k, s, p):
    x = rand64(2, 3, 6, 8, device=device, seed=14)
    y = F.avg_pool2d(x, k, s, p)
    ones = np.ones((3, 3, k, k)) / (k * k)
    ref = naive_conv2d(x.numpy(), ones * np.eye(3)[:, :, None, None], None, s, p)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12)
    fn = lambda x: F.avg_pool2d(x, k, s, p)  # noqa: E731
    assert tg.gradcheck(fn, [x])
    assert tg.gradgradcheck(fn, [x])


@pytest.mark.parametrize("scale", [2, 3, (1, 2)])
def test_upsample(device, scale):
    x = rand64(2, 3, 3, 4, device=device, seed=15)
    y = F.upsample(x, scale)
    sh, sw = (scale, scale) if isinstance(scale, int) else scale
    np.testing.assert_array_equal(y.numpy(), x.numpy().repeat(sh, axis=2).repeat(sw, axis=3))
    assert tg.gradcheck(lambda x: F.upsample(x, scale), [x])
    assert tg.gradgradcheck(lambda x: F.upsample(x, scale), [x])


def test_upsample_conv2d_equals_upsample_then_conv(device):
    x = rand64(2, 3, 4, 5, device=device, seed=16)
    w = rand64(4, 3, 3, 3, device=device, seed=17)
    b = rand64(4, device=device, seed=18)
    ref = F.conv2d(F.upsample(x, 2), w, b, padding=1)
    np.testing.assert_allclose(F.upsample_conv2d(x, w, b).numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(F.upsample_conv2d, [x, w, b])
    assert tg.gradgradcheck(F.upsample_conv2d, [x, w, b])


def test_float32_stays_float32():
    x = tg.randn(2, 3, 8, 8)
    w = tg.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv_transpose2d(F.avg_pool2d(F.conv2d(x, w, stride=2, padding=1), 2), w, stride=2)
    y.backward(tg.randn(*y.shape))
    assert y.dtype == np.float32 and w.grad.dtype == np.float32


@pytest.mark.parametrize("call,match", [
    (lambda: F.conv2d(tg.randn(5, 5), tg.randn(2, 3, 3, 3)), r"input: expected a 4-D tensor \(N, C, H, W\) or a 3-D one \(C, H, W\), got shape \(5, 5\)"),
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5), np.float32), tg.randn(2, 3, 3, 3)),
     r"input: expected .* got a numpy.ndarray of shape \(1, 3, 5, 5\), not a Tensor \(wrap it with tinygen.tensor\)"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), [[1.0]]), r"weight: expected a 4-D tensor .* got a list, not a Tensor"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 4, 3, 3)), r"weight: expected C_in = 3 .*got weight shape \(2, 4, 3, 3\)"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 3, 3)), r"weight: expected a 4-D tensor"),
    (lambda: F.conv2d(tg.randn(1, 3, 2, 2), tg.randn(2, 3, 3, 3)), r"weight: kernel 3x3 is larger than the padded input 2x2"),
    (lambda: F.conv2d(tg.randn(1, 3, 4, 4), tg.randn(2, 3, 3, 3), dilation=2), r"weight: kernel 5x5 \(dilated\) is larger than the padded input 4x4"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 3, 3, 3), stride=0), r"stride: expected an int >= 1"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 3, 3, 3), padding=-1), r"padding: expected an int >= 0"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 3, 3, 3), padding="full"), r"padding: expected an int, a pair, 'valid' or 'same', got 'full'"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 3, 3, 3), stride=2, padding="same"), r"padding: 'same' needs stride 1"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 3, 3, 3), dilation=0), r"dilation: expected an int >= 1"),
    (lambda: F.conv2d(tg.randn(1, 4, 5, 5), tg.randn(3, 2, 3, 3), groups=2), r"groups: expected a divisor of C_in = 4 and C_out = 3, got 2"),
    (lambda: F.conv2d(tg.randn(1, 4, 5, 5), tg.randn(4, 4, 3, 3), groups=2), r"weight: expected C_in = 4 \(input.shape\[1\]\) = weight.shape\[1\] \* groups \(2\)"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 3, 3, 3), groups=0), r"groups: expected an int >= 1, got 0"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 3, 3, 3), bias=tg.randn(3)), r"bias: expected shape \(2,\), got \(3,\)"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 3, 3, 3, dtype="float64")), r"weight: expected dtype float32"),
    (lambda: F.conv_transpose2d(tg.randn(1, 3, 5, 5), tg.randn(2, 4, 3, 3)), r"weight: expected C_in = 3 \(input.shape\[1\]\) = weight.shape\[0\] in \(C_in, C_out, kH, kW\)"),
    (lambda: F.conv_transpose2d(tg.randn(1, 3, 1, 1), tg.randn(3, 2, 1, 1), padding=1), r"input: output size \(-1, -1\) is below 1"),
    (lambda: F.conv_transpose2d(tg.randn(1, 3, 4, 4), tg.randn(3, 2, 3, 3), stride=2, output_padding=2), r"output_padding: expected values smaller than stride"),
    (lambda: F.conv_transpose2d(tg.randn(1, 3, 4, 4), tg.randn(3, 2, 3, 3), groups=2), r"groups: expected a divisor of C_in = 3, got 2"),
    (lambda: F.avg_pool2d(tg.randn(1, 3, 2, 2), 3), r"kernel_size: window \(3, 3\) is larger"),
    (lambda: F.upsample(tg.randn(1, 3, 2, 2), 2, mode="bilinear_"), r"mode: expected one of"),
    (lambda: F.upsample(tg.randn(3, 2, 2), 2), r"input: expected a 4-D tensor \(N, C, H, W\), got shape \(3, 2, 2\)"),
    (lambda: F.upsample_conv2d(tg.randn(1, 3, 2, 2), tg.randn(2, 3, 4, 4)), r"weight: expected a 3x3 kernel"),
    (lambda: F.conv2d_weight(tg.randn(1, 3, 5, 5), tg.randn(2, 5, 5), 3), r"grad_output: expected a 4-D tensor"),
])
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ dilation, groups, "same", unbatched
def naive_conv2d_full(x, w, b, s, p, d, groups):
    """conv2d by definition, with dilation d (an int or (dH, dW)) and groups, one square stride/padding."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    dh, dw = (d, d) if isinstance(d, int) else d
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = (H + 2 * p - dh * (kh - 1) - 1) // s + 1, (W + 2 * p - dw * (kw - 1) - 1) // s + 1
    y = np.zeros((N, O, Ho, Wo))
    Og = O // groups
    for n, o, i, j in itertools.product(range(N), range(O), range(Ho), range(Wo)):
        g = o // Og
        patch = xp[n, g * Cg:(g + 1) * Cg, i * s:i * s + dh * (kh - 1) + 1:dh, j * s:j * s + dw * (kw - 1) + 1:dw]
        y[n, o, i, j] = np.sum(patch * w[o])
    return y + (0 if b is None else b[None, :, None, None])


def naive_conv_transpose2d_full(x, w, b, s, p, op, d, groups):
    """conv_transpose2d by scatter, with dilation d (an int or (dH, dW)) and groups."""
    N, C, H, W = x.shape
    _, Og, kh, kw = w.shape
    dh, dw = (d, d) if isinstance(d, int) else d
    Cg = C // groups
    ke_h, ke_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    Ho, Wo = (H - 1) * s - 2 * p + ke_h + op, (W - 1) * s - 2 * p + ke_w + op
    y = np.zeros((N, Og * groups, Ho + 2 * p + ke_h, Wo + 2 * p + ke_w))
    for n, c, i, j in itertools.product(range(N), range(C), range(H), range(W)):
        g = c // Cg
        y[n, g * Og:(g + 1) * Og, i * s:i * s + ke_h:dh, j * s:j * s + ke_w:dw] += x[n, c, i, j] * w[c]
    y = y[:, :, p:p + Ho, p:p + Wo]
    return y + (0 if b is None else b[None, :, None, None])


@pytest.mark.parametrize("stride,padding,dilation,groups,k", [
    (1, 0, 2, 1, 3), (2, 1, 2, 1, 3), (1, 2, 3, 1, 2), (1, 1, 1, 2, 3), (2, 1, 1, 4, 3), (1, 1, 2, 2, 2),
    (1, 1, (2, 1), 1, 3), (1, 0, (1, 3), 2, 2)])
def test_conv2d_dilation_and_groups(device, stride, padding, dilation, groups, k):
    x = rand64(2, 4, 6, 7, device=device, seed=20)
    w = rand64(4, 4 // groups, k, k, device=device, seed=21)
    b = rand64(4, device=device, seed=22)
    fn = lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups)  # noqa: E731
    ref = naive_conv2d_full(x.numpy(), w.numpy(), b.numpy(), stride, padding, dilation, groups)
    np.testing.assert_allclose(fn(x, w, b).numpy(), ref, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(fn, [x, w, b])
    assert tg.gradgradcheck(fn, [x, w, b])


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups,k", [
    (1, 0, 0, 2, 1, 3), (2, 1, 1, 2, 1, 3), (2, 0, 1, 1, 2, 3), (1, 1, 0, 3, 2, 2), (3, 2, 2, 1, 4, 4),
    (2, 1, 0, (1, 2), 1, 3)])
def test_conv_transpose2d_dilation_and_groups(device, stride, padding, output_padding, dilation, groups, k):
    x = rand64(2, 4, 4, 5, device=device, seed=23)
    w = rand64(4, 6 // groups if groups != 4 else 1, k, k, device=device, seed=24)
    b = rand64(w.shape[1] * groups, device=device, seed=25)
    fn = lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)  # noqa: E731
    ref = naive_conv_transpose2d_full(x.numpy(), w.numpy(), b.numpy(), stride, padding, output_padding,
                                      dilation, groups)
    np.testing.assert_allclose(fn(x, w, b).numpy(), ref, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(fn, [x, w, b])
    assert tg.gradgradcheck(fn, [x, w, b])


@pytest.mark.parametrize("k,dilation", [(3, 1), (2, 1), (4, 1), (3, 2), (2, 3)])
def test_conv2d_padding_same_and_valid(device, k, dilation):
    # "same": total padding d (k - 1), the odd one at the bottom/right (PyTorch's rule).
    x = rand64(1, 2, 5, 6, device=device, seed=26)
    w = rand64(3, 2, k, k, device=device, seed=27)
    fn = lambda x, w: F.conv2d(x, w, padding="same", dilation=dilation)  # noqa: E731
    total = dilation * (k - 1)
    xpad = np.pad(x.numpy(), ((0, 0), (0, 0), (total // 2, total - total // 2), (total // 2, total - total // 2)))
    ref = naive_conv2d_full(xpad, w.numpy(), None, 1, 0, dilation, 1)
    y = fn(x, w)
    assert y.shape == (1, 3, 5, 6)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(fn, [x, w]) and tg.gradgradcheck(fn, [x, w])
    np.testing.assert_array_equal(F.conv2d(x, w, padding="valid", dilation=dilation).numpy(),
                                  F.conv2d(x, w, dilation=dilation).numpy())


def test_conv_unbatched_input(device):
    x = rand64(3, 5, 6, device=device, seed=28)
    w, wt = rand64(4, 3, 3, 3, device=device, seed=29), rand64(3, 2, 3, 3, device=device, seed=30)
    np.testing.assert_array_equal(F.conv2d(x, w, padding=1).numpy(), F.conv2d(x.reshape(1, 3, 5, 6), w, padding=1).numpy()[0])
    y = F.conv_transpose2d(x, wt, stride=2)
    assert y.shape == (2, 11, 13)
    np.testing.assert_array_equal(y.numpy(), F.conv_transpose2d(x.reshape(1, 3, 5, 6), wt, stride=2).numpy()[0])
    assert tg.gradcheck(lambda x, w: F.conv2d(x, w), [x, w])


def test_conv_functions_are_named_apart_from_the_modules():
    from tinygen.ops import conv
    assert {"Conv2dFunction", "ConvTranspose2dFunction", "Conv2dWeightFunction"} <= set(vars(conv))
    assert not {"Conv2d", "ConvTranspose2d", "Conv2dWeight"} & set(vars(conv))


def test_precomputed_columns_give_the_same_result(device):
    # The column matrix passed in (as ConvTranspose2dFunction.backward does) is im2col(x) itself.
    from tinygen.kernels import im2col
    from tinygen.ops.conv import Conv2dFunction, Conv2dWeightFunction
    x = rand64(2, 3, 6, 5, device=device, seed=31)
    w = rand64(4, 3, 3, 3, device=device, seed=32)
    col = im2col(x.data, 3, 3, 2, 2, 1, 1)
    y = Conv2dFunction((2, 2), (1, 1))(x, w)
    np.testing.assert_array_equal(Conv2dFunction((2, 2), (1, 1), col=col)(x, w).numpy(), y.numpy())
    gy = rand64(*y.shape, device=device, seed=33)
    np.testing.assert_array_equal(Conv2dWeightFunction((3, 3), (2, 2), (1, 1), col=col)(x, gy).numpy(),
                                  Conv2dWeightFunction((3, 3), (2, 2), (1, 1))(x, gy).numpy())


def naive_max_pool2d(x, k, s, p):
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    y = np.empty((N, C, Ho, Wo))
    for i, j in itertools.product(range(Ho), range(Wo)):
        y[:, :, i, j] = xp[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
    return y


@pytest.mark.parametrize("k,s,p,w", [(2, 2, 0, 7), (2, 2, 0, 8), (3, 3, 0, 9), (3, 2, 1, 7),
                                     (3, 1, 1, 7), (2, 1, 0, 7)])
def test_max_pool2d(device, k, s, p, w):
    # Distinct values (no ties), so the argmax is stable under the finite-difference step.
    # Widths 8 and 9 tile exactly: the reshape path; 7 leaves a remainder: the im2col path.
    rng = np.random.default_rng(19)
    x = tg.tensor(rng.permutation(2 * 3 * 6 * w).reshape(2, 3, 6, w) * 0.1 - 10.0, dtype="float64",
                  device=device, requires_grad=True)
    y = F.max_pool2d(x, k, s, p)
    np.testing.assert_array_equal(y.numpy(), naive_max_pool2d(x.numpy(), k, s, p))
    fn = lambda x: F.max_pool2d(x, k, s, p)  # noqa: E731
    assert tg.gradcheck(fn, [x])
    assert tg.gradgradcheck(fn, [x])


def test_max_pool2d_gradient_goes_to_the_first_maximum():
    x = tg.tensor([[[[1.0, 3.0], [3.0, 2.0]]]], requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0, 1], [0, 0]]]])  # one winner, like PyTorch


def test_max_pool2d_negative_inputs_ignore_padding():
    x = tg.tensor(-np.ones((1, 1, 2, 2)) * 5.0)
    assert (F.max_pool2d(x, 3, 1, 1).numpy() == -5).all()  # zero padding would have won

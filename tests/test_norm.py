"""The fused normalisation Functions of tinygen/nn/norm.py: forward against the
composite of means and products they replace, and gradients of the first,
second and third order (float64, random cotangents), on BatchNorm's axes and
LayerNorm's, including a (C, H, W, N)-strided input as conv outputs are."""
import numpy as np
import pytest

import tinygen as tg
from tinygen.nn.norm import Normalize, NormalizeBackward
from tinygen.ops.reduce import mean

EPS = 1e-5
CASES = [((5, 3), (0,)), ((3, 2, 4), (0, 2)), ((3, 2, 4, 5), (0, 2, 3)), ((3, 2, 5), (2,)), ((2, 3, 4, 5), (2, 3))]


def _x(shape, seed=0, strided=False):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) * 1.5 + 0.3
    if strided:  # NCHW seen over (C, H, W, N) memory
        a = np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    return tg.tensor(a, requires_grad=True)


def _composite(x, axes):
    """The reference: (x - M x) (M (x - M x)^2 + eps)^-1/2 in plain tinygen ops."""
    d = x - mean(x, axes, keepdims=True)
    return d * (mean(d * d, axes, keepdims=True) + EPS) ** -0.5


@pytest.mark.parametrize("shape, axes", CASES)
def test_forward_and_backward_match_composite(shape, axes):
    x = _x(shape)
    y = Normalize(axes, EPS)(x)
    np.testing.assert_allclose(y.data, _composite(x, axes).data, rtol=1e-12, atol=1e-12)
    gy = tg.tensor(np.random.default_rng(1).standard_normal(shape))
    g1, = tg.grad(y, x, gy)
    g2, = tg.grad(_composite(x, axes), x, gy)
    np.testing.assert_allclose(g1.data, g2.data, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape, axes", CASES)
def test_first_and_second_order(shape, axes):
    x = _x(shape)
    tg.gradcheck(lambda x: Normalize(axes, EPS)(x), [x])
    tg.gradgradcheck(lambda x: Normalize(axes, EPS)(x), [x])


@pytest.mark.parametrize("shape, axes", CASES)
def test_backward_function_first_and_second_order(shape, axes):
    """NormalizeBackward's own derivatives (so Normalize's third order), in x and gy."""
    x = _x(shape)
    gy = tg.tensor(np.random.default_rng(2).standard_normal(shape), requires_grad=True)
    fn = lambda x, gy: NormalizeBackward(axes, EPS)(x, gy)  # noqa: E731
    tg.gradcheck(fn, [x, gy])
    tg.gradgradcheck(fn, [x, gy])


def test_strided_input_keeps_layout_and_values():
    x = _x((4, 3, 2, 5), strided=True)
    y = Normalize((0, 2, 3), EPS)(x)
    assert y.data.strides == x.data.strides  # the next conv's im2col reads this layout fastest
    np.testing.assert_allclose(y.data, _composite(x, (0, 2, 3)).data, rtol=1e-12, atol=1e-12)
    # gradcheck perturbs its inputs in place, so it gets contiguous (C, H, W, N) data
    # and the op transposes it to the strided NCHW view.
    xc = _x((3, 2, 5, 4))
    tg.gradgradcheck(lambda x: Normalize((0, 2, 3), EPS)(x.transpose(3, 0, 1, 2)), [xc])


def test_float32_stays_float32():
    x = tg.tensor(np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32), requires_grad=True)
    y = Normalize((0, 2, 3), EPS)(x)
    g, = tg.grad(y, x, tg.ones_like(y) if hasattr(tg, "ones_like") else tg.tensor(np.ones(y.shape, np.float32)),
                 create_graph=True)
    gg, = tg.grad((g * g).sum(), x)
    assert y.dtype == g.dtype == gg.dtype == np.float32


# ---------------------------------------------------------------- NormalizeAffine (BatchNorm with scale and shift)
from tinygen.nn.norm import NormalizeAffine, NormalizeAffineBackward  # noqa: E402

BN_CASES = [((5, 3), (0,)), ((3, 2, 4), (0, 2)), ((3, 2, 4, 5), (0, 2, 3))]


def _wb(shape, seed=3):
    """Per-channel w and b of shape (1, C, 1, ...), float64, requiring grad."""
    rng = np.random.default_rng(seed)
    ps = (1, shape[1]) + (1,) * (len(shape) - 2)
    return (tg.tensor(rng.standard_normal(ps) + 1.0, requires_grad=True),
            tg.tensor(rng.standard_normal(ps), requires_grad=True))


@pytest.mark.parametrize("shape, axes", BN_CASES)
def test_affine_forward_and_backward_match_composite(shape, axes):
    x, (w, b) = _x(shape), _wb(shape)
    f = NormalizeAffine(axes, EPS)
    y = f(x, w, b)
    ref = _composite(x, axes) * w + b
    np.testing.assert_allclose(y.data, ref.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(f.mean, x.data.mean(axis=axes, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(f.var, x.data.var(axis=axes, keepdims=True), rtol=1e-12)
    gy = tg.tensor(np.random.default_rng(1).standard_normal(shape))
    for g1, g2 in zip(tg.grad(y, [x, w, b], gy), tg.grad(ref, [x, w, b], gy)):
        np.testing.assert_allclose(g1.data, g2.data, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape, axes", BN_CASES)
def test_affine_first_and_second_order(shape, axes):
    x, (w, b) = _x(shape), _wb(shape)
    fn = lambda x, w, b: NormalizeAffine(axes, EPS)(x, w, b)  # noqa: E731
    tg.gradcheck(fn, [x, w, b])
    tg.gradgradcheck(fn, [x, w, b])


@pytest.mark.parametrize("shape, axes", BN_CASES)
def test_affine_backward_function_first_and_second_order(shape, axes):
    """NormalizeAffineBackward's own derivatives in x, w and gy (so the third order)."""
    x, (w, _) = _x(shape), _wb(shape)
    gy = tg.tensor(np.random.default_rng(2).standard_normal(shape), requires_grad=True)
    fn = lambda x, w, gy: tuple(NormalizeAffineBackward(axes, EPS)(x, w, gy))  # noqa: E731
    tg.gradcheck(fn, [x, w, gy])
    tg.gradgradcheck(fn, [x, w, gy])


def test_affine_backward_with_saved_statistics_matches_recomputed():
    """The forward's saved d and s give the same VJP as recomputing them from x."""
    shape, axes = (3, 2, 4, 5), (0, 2, 3)
    x, (w, b) = _x(shape, strided=True), _wb(shape)
    f = NormalizeAffine(axes, EPS)
    f(x, w, b)
    gy = np.random.default_rng(4).standard_normal(shape)
    saved = NormalizeAffineBackward(axes, EPS, f.d, f.s).forward(x.data, w.data, gy)
    fresh = NormalizeAffineBackward(axes, EPS).forward(x.data, w.data, gy)
    for a, c in zip(saved, fresh):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)


def test_affine_strided_input_keeps_layout():
    x, (w, b) = _x((4, 3, 2, 5), strided=True), _wb((4, 3, 2, 5))
    y = NormalizeAffine((0, 2, 3), EPS)(x, w, b)
    assert y.data.strides == x.data.strides
    np.testing.assert_allclose(y.data, (_composite(x, (0, 2, 3)) * w + b).data, rtol=1e-12, atol=1e-12)
    xc = _x((3, 2, 5, 4))
    tg.gradgradcheck(lambda x, w, b: NormalizeAffine((0, 2, 3), EPS)(x.transpose(3, 0, 1, 2), w, b), [xc, w, b])


def test_affine_float32_stays_float32():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((4, 3, 2, 2)).astype(np.float32), requires_grad=True)
    w = tg.tensor(np.ones((1, 3, 1, 1), np.float32), requires_grad=True)
    b = tg.tensor(np.zeros((1, 3, 1, 1), np.float32), requires_grad=True)
    y = NormalizeAffine((0, 2, 3), EPS)(x, w, b)
    gy = tg.tensor(rng.standard_normal(y.shape).astype(np.float32))
    gx, gw, gb = tg.grad(y, [x, w, b], gy, create_graph=True)
    gg = tg.grad((gx * gx).sum() + (gw * gw).sum(), [x, w])
    assert {t.dtype for t in (y, gx, gw, gb, *gg)} == {np.dtype(np.float32)}


def test_batchnorm_module_matches_composite_and_running_stats():
    """BatchNorm2d (train mode, fused) against the plain composite, values,
    gradients and running statistics."""
    from tinygen import nn
    x = _x((4, 3, 2, 5))
    bn = nn.BatchNorm2d(3).to("cpu")
    bn.weight.data = np.random.default_rng(5).standard_normal(3) + 1.0
    bn.bias.data = np.random.default_rng(6).standard_normal(3)
    bn.running_mean = bn.running_mean.astype(np.float64)
    bn.running_var = bn.running_var.astype(np.float64)
    y = bn(x)
    w, b = bn.weight.reshape(1, 3, 1, 1), bn.bias.reshape(1, 3, 1, 1)
    ref = _composite(x, (0, 2, 3)) * w + b
    np.testing.assert_allclose(y.data, ref.data, rtol=1e-12, atol=1e-12)
    gy = tg.tensor(np.random.default_rng(1).standard_normal(y.shape))
    for g1, g2 in zip(tg.grad(y, [x, bn.weight, bn.bias], gy), tg.grad(ref, [x, bn.weight, bn.bias], gy)):
        np.testing.assert_allclose(g1.data, g2.data, rtol=1e-10, atol=1e-12)
    n = x.size // 3
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.data.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.data.var(axis=(0, 2, 3)) * n / (n - 1), rtol=1e-12)

"""The fused normalisation Functions of tinygen/nn/norm.py held to the plain
composite they replace (``normalize_composite``): values, VJPs and double
backwards with random cotangents (float64), on BatchNorm's axes and LayerNorm's,
with and without the affine scale and shift; plus finite-difference checks of
the first, second and third order, and a (C, H, W, N)-strided input as conv
outputs are."""
import numpy as np
import pytest

import tinygen as tg
from tinygen.nn.norm import Normalize, NormalizeBackward, normalize_composite

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
    return normalize_composite(x, axes, EPS)


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
    tg.gradgradcheck(lambda x: Normalize((0, 2, 3), EPS)(x.permute(3, 0, 1, 2)), [xc])


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
    tg.gradgradcheck(lambda x, w, b: NormalizeAffine((0, 2, 3), EPS)(x.permute(3, 0, 1, 2), w, b), [xc, w, b])


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
    bn = nn.BatchNorm2d(3).double()
    bn.weight.data = np.random.default_rng(5).standard_normal(3) + 1.0
    bn.bias.data = np.random.default_rng(6).standard_normal(3)
    y = bn(x)
    w, b = bn.weight.reshape(1, 3, 1, 1), bn.bias.reshape(1, 3, 1, 1)
    ref = _composite(x, (0, 2, 3)) * w + b
    np.testing.assert_allclose(y.data, ref.data, rtol=1e-12, atol=1e-12)
    gy = tg.tensor(np.random.default_rng(1).standard_normal(y.shape))
    for g1, g2 in zip(tg.grad(y, [x, bn.weight, bn.bias], gy), tg.grad(ref, [x, bn.weight, bn.bias], gy)):
        np.testing.assert_allclose(g1.data, g2.data, rtol=1e-10, atol=1e-12)
    n = x.data.size // 3
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.data.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.data.var(axis=(0, 2, 3)) * n / (n - 1),
                               rtol=1e-12)
    assert bn.num_batches_tracked.item() == 1


# ---------------------------------------------------------------- the fused Functions held to the composite
# First and second derivatives (VJPs with random cotangents, then a double backward
# with a second random cotangent), float64, random inputs, both normalisation layouts.
BN_AXES = [((6, 3), (0,)), ((4, 3, 5), (0, 2)), ((3, 2, 4, 5), (0, 2, 3))]
LN_AXES = [((4, 6), (1,)), ((3, 2, 5), (2,)), ((2, 3, 4, 5), (1, 2, 3))]


def _rand(shape, seed, requires_grad=False, scale=1.0, shift=0.0):
    rng = np.random.default_rng(seed)
    return tg.tensor(rng.standard_normal(shape) * scale + shift, requires_grad=requires_grad)


def _affine_params(shape, axes, seed):
    """w, b: per channel (1, C, 1, ...) for BatchNorm's axes, per element over the
    normalised dims for LayerNorm's; w away from 1 and b away from 0."""
    wshape = tuple(1 if i in axes else n for i, n in enumerate(shape)) if 0 in axes else shape[min(axes):]
    return (_rand(wshape, seed, True, 0.5, 1.0), _rand(wshape, seed + 1, True, 0.5, 0.2))


def _fused(x, axes, w=None, b=None):
    """What the layers run: NormalizeAffine for BatchNorm with affine, else Normalize
    (then LayerNorm's per-element affine in plain ops)."""
    if w is None:
        return Normalize(axes, EPS)(x)
    if 0 in axes:
        return NormalizeAffine(axes, EPS)(x, w, b)
    return Normalize(axes, EPS)(x) * w + b


def _first_and_second(f, inputs, shape, seed):
    """f(*inputs) with its VJP for a random cotangent gy (first derivative, with
    create_graph), then the VJP of <g, v> for random v w.r.t. the inputs and gy
    (the second derivative, including its mixed part in gy)."""
    y = f(*inputs)
    gy = _rand(shape, seed, True)
    grads = tg.grad(y, inputs, gy, create_graph=True)
    vs = [_rand(g.shape, seed + 10 + i) for i, g in enumerate(grads)]
    total = None
    for g, v in zip(grads, vs):
        term = (g * v).sum()
        total = term if total is None else total + term
    # b enters y linearly with a constant Jacobian: its second derivative is None (zero)
    second = tg.grad(total, list(inputs) + [gy], allow_unused=True)
    return y, grads, [np.zeros(t.shape) if g is None else g.data for g, t in zip(second, list(inputs) + [gy])]


@pytest.mark.parametrize("affine", [False, True], ids=["plain", "affine"])
@pytest.mark.parametrize("shape, axes", BN_AXES + LN_AXES,
                         ids=[f"bn{len(s)}d" for s, _ in BN_AXES] + [f"ln{len(s)}d" for s, _ in LN_AXES])
def test_fused_matches_composite_to_second_order(shape, axes, affine):
    x = _x(shape, seed=20 + len(shape))
    inputs = [x, *_affine_params(shape, axes, 30)] if affine else [x]
    fused = _first_and_second(lambda *a: _fused(a[0], axes, *a[1:]), inputs, shape, 40)
    ref = _first_and_second(lambda *a: normalize_composite(a[0], axes, EPS, *a[1:]), inputs, shape, 40)
    np.testing.assert_allclose(fused[0].data, ref[0].data, rtol=1e-12, atol=1e-12)       # values
    for a, r in zip(fused[1], ref[1]):                                                   # VJPs
        np.testing.assert_allclose(a.data, r.data, rtol=1e-10, atol=1e-11)
    assert np.abs(fused[2][0]).max() > 1e-3                                            # x's is not trivial
    for a, r in zip(fused[2], ref[2]):                                                   # double backward
        np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-10)


def test_layers_run_the_fused_path_and_match_the_composite():
    """BatchNorm2d and LayerNorm modules against normalize_composite, to second order."""
    from tinygen import nn
    x = _x((3, 2, 4, 5), seed=50)
    bn, ln = nn.BatchNorm2d(2).double(), nn.LayerNorm((4, 5)).double()
    for m, axes, wshape in ((bn, (0, 2, 3), (1, 2, 1, 1)), (ln, (2, 3), (4, 5))):
        m.weight.data = np.random.default_rng(51).standard_normal(m.weight.shape) * 0.5 + 1.0
        m.bias.data = np.random.default_rng(52).standard_normal(m.bias.shape) * 0.5
        params = [m.weight, m.bias]
        got = _first_and_second(lambda x, *p: m(x), [x, *params], x.shape, 60)
        want = _first_and_second(lambda x, w, b: normalize_composite(x, axes, EPS, w.reshape(wshape),
                                                                      b.reshape(wshape)), [x, *params], x.shape, 60)
        for a, r in zip([got[0], *got[1]], [want[0], *want[1]]):
            np.testing.assert_allclose(a.data, r.data, rtol=1e-9, atol=1e-10)
        for a, r in zip(got[2], want[2]):
            np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-10)

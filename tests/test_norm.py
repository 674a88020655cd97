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

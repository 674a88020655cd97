"""The functional API with torch.nn.functional's names and signatures.

Every op: its forward against NumPy (references written here, loop by loop
after PyTorch's documented rules, or hand-computed values that PyTorch
gives), its first and second derivatives against finite differences
(tg.gradcheck / tg.gradgradcheck, float64, random cotangents), and its
error messages. The convolutions' new options (dilation, groups, "same")
are in tests/test_conv.py.
"""
import itertools
import math
import warnings

import numpy as np
import pytest
from conftest import rand64

import tinygen as tg
import tinygen.nn.functional as F


def check(fn, ref, inputs, rtol=1e-10, atol=1e-12):
    """fn's forward equals ref's (on NumPy copies of the inputs); its 1st and 2nd derivatives
    match finite differences."""
    out = fn(*inputs)
    expected = ref(*[x.numpy() if isinstance(x, tg.Tensor) else x for x in inputs])
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=rtol, atol=atol)
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


def np_log_softmax(x, dim):
    m = x.max(axis=dim, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=dim, keepdims=True))


# ------------------------------------------------------------------ softmax
@pytest.mark.parametrize("shape,dim", [((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((5,), 0)])
def test_softmax_and_log_softmax(device, shape, dim):
    x = rand64(*shape, device=device, seed=1) * 2
    check(lambda x: F.log_softmax(x, dim), lambda x: np_log_softmax(x, dim), [x])
    check(lambda x: F.softmax(x, dim), lambda x: np.exp(np_log_softmax(x, dim)), [x])
    np.testing.assert_allclose(F.softmax(x, dim).numpy().sum(axis=dim), 1.0, rtol=1e-12)


def test_softmax_keyword_names_dtype_and_stability(device):
    x = rand64(3, 4, device=device, seed=2)
    np.testing.assert_array_equal(F.softmax(input=x, dim=1).numpy(), F.softmax(x, 1).numpy())
    assert F.log_softmax(x.to("float32"), 1, dtype="float64").dtype == np.float64
    big = tg.tensor([[1000.0, 0.0, -1000.0]], dtype="float64", device=device)
    np.testing.assert_allclose(F.log_softmax(big, 1).numpy(), [[0.0, -1000.0, -2000.0]])
    np.testing.assert_allclose(F.softmax(big, 1).numpy(), [[1.0, 0.0, 0.0]])
    with pytest.warns(UserWarning, match="Implicit dimension"):
        implicit = F.softmax(x)  # PyTorch's deprecated rule: dim 1 for a 2-D input
    np.testing.assert_array_equal(implicit.numpy(), F.softmax(x, 1).numpy())


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("shape,dim", [((4,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 2, 2), 1)])
def test_softmax_implicit_dim_follows_pytorchs_legacy_rule(fn, shape, dim):
    """dim=None: PyTorch's _get_softmax_dim, dim 0 for a 0-, 1- or 3-D input, else dim 1."""
    x = rand64(*shape, seed=3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = fn(x)
    np.testing.assert_array_equal(y.numpy(), fn(x, dim).numpy())


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
def test_softmax_bad_dim(fn):
    with pytest.raises(ValueError, match=r"dim: expected an int in \[-2, 2\) for a 2-d input, got 2"):
        fn(rand64(3, 4), 2)
    with pytest.raises(ValueError, match=r"dim: expected an int .* got \(0, 1\)"):
        fn(rand64(3, 4), (0, 1))


# ------------------------------------------------------------------ activations
def np_softplus(x):
    return np.logaddexp(0, x)


def np_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


ACTIVATIONS = [
    ("logsigmoid", F.logsigmoid, lambda x: -np_softplus(-x), {}),
    ("softplus", F.softplus, np_softplus, {}),
    ("softplus_beta", lambda x: F.softplus(x, beta=2.0), lambda x: np_softplus(2 * x) / 2, {}),
    ("softplus_negative_beta", lambda x: F.softplus(x, beta=-1.5), lambda x: np_softplus(-1.5 * x) / -1.5, {}),
    ("elu", F.elu, lambda x: np.where(x > 0, x, np.expm1(x)), {"away_from": 0.0}),
    ("elu_alpha", lambda x: F.elu(x, alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)), {"away_from": 0.0}),
    ("selu", F.selu, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
     {"away_from": 0.0}),
    ("silu", F.silu, lambda x: x / (1 + np.exp(-x)), {}),
    ("gelu", F.gelu, np_gelu, {}),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))), {}),
    ("relu", F.relu, lambda x: np.maximum(x, 0), {"away_from": 0.0}),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), {"away_from": 0.0}),
    ("sigmoid", F.sigmoid, lambda x: 1 / (1 + np.exp(-x)), {}),
    ("tanh", F.tanh, np.tanh, {}),
]


@pytest.mark.parametrize("name,fn,ref,kw", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation(device, name, fn, ref, kw):
    x = rand64(3, 5, device=device, seed=3, **kw) * 2
    check(fn, ref, [x])


def test_softplus_linear_above_threshold(device):
    # PyTorch: x itself where beta x > threshold, with gradient exactly 1 and curvature 0.
    x = tg.tensor([-3.0, 0.5, 5.0, 25.0, 40.0], dtype="float64", device=device, requires_grad=True)
    y = F.softplus(x, beta=2.0, threshold=15.0)
    np.testing.assert_allclose(y.numpy()[:3], np_softplus(2 * x.numpy()[:3]) / 2, rtol=1e-14)
    assert y.numpy()[3] == 25.0 and y.numpy()[4] == 40.0
    g, = tg.grad(y, x, grad_outputs=tg.ones(5, dtype="float64", device=device), create_graph=True)
    np.testing.assert_allclose(g.numpy(), np.r_[1 / (1 + np.exp(-2 * x.numpy()[:3])), 1.0, 1.0], rtol=1e-14)
    h, = tg.grad(g, x, grad_outputs=tg.ones(5, dtype="float64", device=device))
    assert h.numpy()[3] == 0.0 and h.numpy()[4] == 0.0
    fn = lambda x: F.softplus(x, beta=2.0, threshold=15.0)  # noqa: E731  (no input near 7.5)
    assert tg.gradcheck(fn, [x]) and tg.gradgradcheck(fn, [x])


def test_elu_does_not_overflow_on_large_inputs(device):
    x = tg.tensor([1000.0, -1000.0, 2.0], dtype="float64", device=device, requires_grad=True)
    y = F.elu(x)
    g, = tg.grad(y, x, grad_outputs=tg.ones(3, dtype="float64", device=device))
    np.testing.assert_allclose(y.numpy(), [1000.0, -1.0, 2.0])
    np.testing.assert_allclose(g.numpy(), [1.0, 0.0, 1.0])


def test_activation_keywords_and_inplace(device):
    x = rand64(2, 3, device=device, seed=4)
    before = x.numpy().copy()
    for y in (F.relu(input=x, inplace=True), F.leaky_relu(input=x, negative_slope=0.1, inplace=True),
              F.elu(x, inplace=True), F.silu(x, inplace=True), F.dropout(input=x, p=0.5, training=True, inplace=True)):
        assert y is not x
    np.testing.assert_array_equal(x.numpy(), before)  # never modified
    assert F.dropout(x, training=False) is x


@pytest.mark.parametrize("call,match", [
    (lambda: F.softplus(rand64(3), beta=0), r"beta: expected a non-zero number, got 0"),
    (lambda: F.softplus(rand64(3), threshold="20"), r"threshold: expected a number, got '20'"),
    (lambda: F.gelu(rand64(3), approximate="erf"), r"approximate: expected 'none' or 'tanh', got 'erf'"),
    (lambda: F.elu(rand64(3), alpha=None), r"alpha: expected a number, got None"),
])
def test_activation_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ normalize
def np_normalize(x, p, dim, eps):
    if p == np.inf:
        n = np.abs(x).max(axis=dim, keepdims=True)
    else:
        n = (np.abs(x) ** p).sum(axis=dim, keepdims=True) ** (1 / p)
    return x / np.maximum(n, eps)


@pytest.mark.parametrize("p,dim", [(2.0, 1), (2, 0), (1, 1), (3, -1), (np.inf, 1), (2, (1, 2))])
def test_normalize(device, p, dim):
    x = rand64(3, 4, 2, device=device, seed=5, away_from=0.0) if isinstance(dim, tuple) \
        else rand64(3, 4, device=device, seed=5, away_from=0.0)
    check(lambda x: F.normalize(x, p, dim), lambda x: np_normalize(x, p, dim, 1e-12), [x])


def test_normalize_zero_row_divides_by_eps(device):
    # PyTorch: x / max(||x||, eps); below eps the denominator is the constant eps.
    x = tg.tensor([[3.0, 4.0], [0.0, 0.0], [1e-4, 0.0]], dtype="float64", device=device, requires_grad=True)
    y = F.normalize(x, eps=1e-3)
    np.testing.assert_allclose(y.numpy(), [[0.6, 0.8], [0.0, 0.0], [0.1, 0.0]])
    g, = tg.grad(y, x, grad_outputs=tg.ones(3, 2, dtype="float64", device=device))
    assert np.isfinite(g.numpy()).all()
    np.testing.assert_allclose(g.numpy()[1:], 1e3)
    fn = lambda x: F.normalize(x, eps=1e-3)  # noqa: E731
    assert tg.gradcheck(fn, [x], eps=1e-7) and tg.gradgradcheck(fn, [x], eps=1e-7)


@pytest.mark.parametrize("call,match", [
    (lambda: F.normalize(rand64(3, 4), p=0), r"p: expected a number > 0, got 0"),
    (lambda: F.normalize(rand64(3, 4), eps=0.0), r"eps: expected a number > 0, got 0.0"),
    (lambda: F.normalize(rand64(4)), r"dim: expected values in \[-1, 1\)"),
])
def test_normalize_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ one_hot
def test_one_hot(device):
    t = tg.tensor(np.array([[0, 2], [1, 2]]), device=device)
    y = F.one_hot(t, 4)
    assert y.dtype == np.int64 and y.shape == (2, 2, 4) and y.device == t.device and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), np.eye(4, dtype=np.int64)[[[0, 2], [1, 2]]])
    assert F.one_hot(t).shape == (2, 2, 3)  # num_classes=-1: max + 1
    np.testing.assert_array_equal(F.one_hot(np.array([1, 0])).numpy(), [[0, 1], [1, 0]])


@pytest.mark.parametrize("call,match", [
    (lambda: F.one_hot(tg.tensor([0.0, 1.0])), r"tensor: expected integer class values, got dtype float32"),
    (lambda: F.one_hot(np.array([0, -1])), r"tensor: expected class values >= 0, got a minimum of -1"),
    (lambda: F.one_hot(np.array([0, 3]), 3), r"tensor: expected class values < num_classes = 3, got a maximum of 3"),
    (lambda: F.one_hot(np.zeros(0, dtype=np.int64)), r"num_classes: cannot infer"),
    (lambda: F.one_hot(np.array([0]), 0), r"num_classes: expected an int >= 1, or -1"),
])
def test_one_hot_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ pad
PAD_CASES = [
    ("constant_last", (1, 2), "constant", 0.0, lambda x: np.pad(x, ((0, 0), (0, 0), (1, 2)))),
    ("constant_two_dims_value", (1, 0, 2, 1), "constant", 1.5,
     lambda x: np.pad(x, ((0, 0), (2, 1), (1, 0)), constant_values=1.5)),
    ("constant_three_dims", (0, 1, 1, 0, 1, 1), "constant", None, lambda x: np.pad(x, ((1, 1), (1, 0), (0, 1)))),
    ("crop_negative", (-1, 1, 0, -2), "constant", 0.0, lambda x: np.pad(x[:, :1, 1:], ((0, 0), (0, 0), (0, 1)))),
    ("reflect", (2, 1, 1, 2), "reflect", None, lambda x: np.pad(x, ((0, 0), (1, 2), (2, 1)), mode="reflect")),
    ("replicate", (3, 1, 0, 2), "replicate", None, lambda x: np.pad(x, ((0, 0), (0, 2), (3, 1)), mode="edge")),
    ("circular", (2, 3, 1, 1), "circular", None, lambda x: np.pad(x, ((0, 0), (1, 1), (2, 3)), mode="wrap")),
]


@pytest.mark.parametrize("name,pad,mode,value,ref", PAD_CASES, ids=[c[0] for c in PAD_CASES])
def test_pad(device, name, pad, mode, value, ref):
    x = rand64(2, 3, 4, device=device, seed=6)
    check(lambda x: F.pad(x, pad, mode, value), ref, [x])


def test_pad_order_is_last_dim_first():
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    y = F.pad(x, (1, 2, 0, 1))  # last dim: 1 left, 2 right; first dim: 0 top, 1 bottom
    assert y.shape == (3, 6)
    np.testing.assert_array_equal(y.numpy(), [[0, 0, 1, 2, 0, 0], [0, 3, 4, 5, 0, 0], [0, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(F.pad(x, (1, 0), mode="reflect").numpy(), [[1, 0, 1, 2], [4, 3, 4, 5]])


@pytest.mark.parametrize("call,match", [
    (lambda x: F.pad(x, (1, 2, 3)), r"pad: expected a sequence of 2k ints"),
    (lambda x: F.pad(x, 1), r"pad: expected a sequence of 2k ints"),
    (lambda x: F.pad(x, (1,) * 8), r"pad: 8 values pad 4 dims, but input has shape \(2, 3, 4\)"),
    (lambda x: F.pad(x, (1, 1), mode="zeros"), r"mode: expected one of .*got 'zeros'"),
    (lambda x: F.pad(x, (4, 0), mode="reflect"), r"pad: reflect padding must be smaller than the padded dim, "
                                                 r"got \(4, 0\) for dim 2 of size 4"),
    (lambda x: F.pad(x, (5, 0), mode="circular"), r"pad: circular padding must be at most the padded dim"),
    (lambda x: F.pad(x, (-1, 0), mode="replicate"), r"pad: negative pads crop only in mode 'constant'"),
    (lambda x: F.pad(x, (1, 0), mode="reflect", value=2.0), r"value: only mode 'constant' takes a fill value"),
    (lambda x: F.pad(x, (-3, -2)), r"pad: cropping \(-3, -2\) leaves a negative size of dim 2"),
])
def test_pad_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(rand64(2, 3, 4))


# ------------------------------------------------------------------ interpolate
def test_interpolate_hand_computed_values_pytorch_gives():
    x = tg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype="float64")
    np.testing.assert_allclose(F.interpolate(x, scale_factor=2, mode="bilinear").numpy()[0, 0],
                               [[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5],
                                [2.5, 2.75, 3.25, 3.5], [3.0, 3.25, 3.75, 4.0]])
    np.testing.assert_allclose(F.interpolate(x, size=(4, 4), mode="bicubic").numpy()[0, 0, 0],
                               [0.68359375, 1.015625, 1.5625, 1.89453125])
    line = tg.tensor([[[1.0, 2.0]]], dtype="float64")
    np.testing.assert_allclose(F.interpolate(line, size=4, mode="linear", align_corners=True).numpy()[0, 0],
                               [1.0, 4 / 3, 5 / 3, 2.0])
    r = tg.tensor(np.arange(3.0).reshape(1, 1, 3))
    np.testing.assert_array_equal(F.interpolate(r, size=5).numpy()[0, 0], [0, 0, 1, 1, 2])  # floor(dst * 3/5)
    np.testing.assert_array_equal(F.interpolate(r, size=5, mode="nearest-exact").numpy()[0, 0], [0, 0, 1, 2, 2])
    np.testing.assert_array_equal(F.interpolate(r, size=2).numpy()[0, 0], [0, 1])
    np.testing.assert_allclose(F.interpolate(r, size=2, mode="area").numpy()[0, 0], [0.5, 1.5])


def np_linear_1d(x, n_out, scale_factor, align_corners, cubic=False):
    """PyTorch's UpSample.h rules, element by element, along the last dim of x."""
    n_in = x.shape[-1]
    if align_corners:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        scale = 1 / scale_factor if scale_factor else n_in / n_out
    out = np.zeros(x.shape[:-1] + (n_out,))
    for j in range(n_out):
        src = scale * j if align_corners else scale * (j + 0.5) - 0.5
        if not cubic:
            src = max(src, 0.0)
            i0 = int(src)
            i1 = i0 + (1 if i0 < n_in - 1 else 0)
            lam = src - i0
            out[..., j] = (1 - lam) * x[..., i0] + lam * x[..., i1]
        else:
            i0 = math.floor(src)
            t = src - i0
            a = -0.75
            w = [((a * s - 5 * a) * s + 8 * a) * s - 4 * a if s > 1 else ((a + 2) * s - (a + 3)) * s * s + 1
                 for s in (t + 1, t, 1 - t, 2 - t)]
            out[..., j] = sum(wk * x[..., min(max(i0 - 1 + k, 0), n_in - 1)] for k, wk in enumerate(w))
    return out


def np_interpolate(x, out_size, scales, align_corners, cubic=False):
    for d, (o, s) in enumerate(zip(out_size, scales)):
        axis = 2 + d
        x = np.moveaxis(np_linear_1d(np.moveaxis(x, axis, -1), o, s, align_corners, cubic), -1, axis)
    return x


INTERP = [
    ("bilinear_size", (2, 2, 3, 4), dict(size=(5, 7), mode="bilinear"), ((5, 7), (None, None), False, False)),
    ("bilinear_down", (1, 2, 5, 6), dict(size=(3, 4), mode="bilinear"), ((3, 4), (None, None), False, False)),
    ("bilinear_scale", (1, 2, 3, 4), dict(scale_factor=1.5, mode="bilinear"), ((4, 6), (1.5, 1.5), False, False)),
    ("bilinear_align", (1, 2, 3, 4), dict(size=(5, 6), mode="bilinear", align_corners=True),
     ((5, 6), (None, None), True, False)),
    ("bicubic", (1, 2, 3, 4), dict(size=(5, 6), mode="bicubic"), ((5, 6), (None, None), False, True)),
    ("bicubic_align", (1, 1, 3, 4), dict(scale_factor=(2, 1.5), mode="bicubic", align_corners=True),
     ((6, 6), (None, None), True, True)),
    ("linear", (2, 3, 4), dict(scale_factor=2.5, mode="linear"), ((10,), (2.5,), False, False)),
    ("trilinear", (1, 1, 2, 3, 2), dict(size=(3, 4, 3), mode="trilinear"), ((3, 4, 3), (None,) * 3, False, False)),
    ("recompute", (1, 1, 3, 4), dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True),
     ((5, 6), (None, None), False, False)),
]


@pytest.mark.parametrize("name,shape,kw,ref_args", INTERP, ids=[c[0] for c in INTERP])
def test_interpolate_linear_modes(device, name, shape, kw, ref_args):
    x = rand64(*shape, device=device, seed=7)
    check(lambda x: F.interpolate(x, **kw), lambda x: np_interpolate(x, *ref_args), [x])


def np_nearest(x, out_size, scales, exact=False):
    for d, o in enumerate(out_size):
        n = x.shape[2 + d]
        scale = np.float32(1 / scales[d]) if scales[d] else np.float32(n) / np.float32(o)
        dst = np.arange(o, dtype=np.float32)
        idx = np.minimum(np.floor(((dst + np.float32(0.5)) if exact else dst) * scale).astype(int), n - 1)
        x = np.take(x, idx, axis=2 + d)
    return x


NEAREST = [
    ("scale2", (2, 2, 3, 4), dict(scale_factor=2), ((6, 8), (2, 2))),
    ("scale_pair", (1, 2, 3, 4), dict(scale_factor=(3, 1)), ((9, 4), (3, 1))),
    ("size_multiple", (1, 2, 3, 4), dict(size=(6, 12)), ((6, 12), (None, None))),
    ("size_odd", (1, 2, 3, 4), dict(size=(5, 7)), ((5, 7), (None, None))),
    ("down", (1, 2, 6, 5), dict(size=(4, 2)), ((4, 2), (None, None))),
    ("scale_float", (1, 1, 4, 5), dict(scale_factor=1.5), ((6, 7), (1.5, 1.5))),
    ("1d", (2, 2, 5), dict(size=8), ((8,), (None,))),
    ("3d", (1, 1, 2, 3, 2), dict(scale_factor=2), ((4, 6, 4), (2, 2, 2))),
]


@pytest.mark.parametrize("exact", [False, True], ids=["nearest", "nearest-exact"])
@pytest.mark.parametrize("name,shape,kw,ref_args", NEAREST, ids=[c[0] for c in NEAREST])
def test_interpolate_nearest(device, name, shape, kw, ref_args, exact):
    x = rand64(*shape, device=device, seed=8)
    mode = "nearest-exact" if exact else "nearest"
    check(lambda x: F.interpolate(x, mode=mode, **kw), lambda x: np_nearest(x, *ref_args, exact=exact), [x],
          rtol=0, atol=0)


def test_interpolate_area_and_upsample_alias(device):
    x = rand64(1, 2, 5, 7, device=device, seed=9)
    check(lambda x: F.interpolate(x, size=(3, 2), mode="area"), lambda x: np_adaptive_avg(x, (3, 2)), [x])
    np.testing.assert_array_equal(F.upsample(x, 2).numpy(), x.numpy().repeat(2, 2).repeat(2, 3))
    np.testing.assert_array_equal(F.upsample(x, (1, 3)).numpy(),
                                  F.interpolate(x, scale_factor=(1, 3)).numpy())
    np.testing.assert_allclose(F.upsample(x, 2, mode="bilinear").numpy(),
                               F.interpolate(x, scale_factor=2, mode="bilinear").numpy())


@pytest.mark.parametrize("call,match", [
    (lambda x: F.interpolate(x, scale_factor=2, mode="cubic"), r"mode: expected one of .*got 'cubic'"),
    (lambda x: F.interpolate(x, scale_factor=2, mode="trilinear"), r"mode: 'trilinear' expects a 5-D input, "
                                                                   r"got shape \(1, 2, 3, 4\)"),
    (lambda x: F.interpolate(x[0], scale_factor=2, mode="bilinear"), r"mode: 'bilinear' expects a 4-D input"),
    (lambda x: F.interpolate(x[0, 0], scale_factor=2), r"input: expected a 3-D \(N, C, L\), 4-D"),
    (lambda x: F.interpolate(x), r"size, scale_factor: expected exactly one of them, got size=None"),
    (lambda x: F.interpolate(x, size=4, scale_factor=2), r"size, scale_factor: expected exactly one"),
    (lambda x: F.interpolate(x, size=(4, 0)), r"size: expected a positive number or 2 of them"),
    (lambda x: F.interpolate(x, size=(4, 4, 4)), r"size: expected a positive number or 2 of them"),
    (lambda x: F.interpolate(x, scale_factor=0.1), r"scale_factor: output size \(0, 0\) is below 1"),
    (lambda x: F.interpolate(x, scale_factor=2, align_corners=True), r"align_corners: only the modes linear"),
    (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", antialias=True), r"antialias: .*not supported"),
    (lambda x: F.upsample(x, 2.5), r"scale_factor: expected an int >= 1 or a pair"),
])
def test_interpolate_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(rand64(1, 2, 3, 4))


# ------------------------------------------------------------------ pooling
def np_adaptive_avg(x, out):
    H, W = x.shape[2:]
    y = np.zeros(x.shape[:2] + out)
    for i, j in itertools.product(range(out[0]), range(out[1])):
        h0, h1 = (i * H) // out[0], -(-((i + 1) * H) // out[0])
        w0, w1 = (j * W) // out[1], -(-((j + 1) * W) // out[1])
        y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def np_pool(x, k, s, p, ceil_mode, kind, count_include_pad=True, divisor_override=None):
    """PyTorch's pooling rules, window by window."""
    N, C, H, W = x.shape

    def size(n):
        o = (n + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
        return o - 1 if ceil_mode and (o - 1) * s >= n + p else o
    Ho, Wo = size(H), size(W)
    y = np.zeros((N, C, Ho, Wo))
    idx = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for i, j in itertools.product(range(Ho), range(Wo)):
        h0, w0 = i * s - p, j * s - p
        h1, w1 = min(h0 + k, H + p), min(w0 + k, W + p)
        pool = (h1 - h0) * (w1 - w0)
        h0c, w0c, h1c, w1c = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
        win = x[:, :, h0c:h1c, w0c:w1c]
        if kind == "max":
            flat = win.reshape(N, C, -1)
            a = flat.argmax(axis=-1)
            y[:, :, i, j] = flat.max(axis=-1)
            idx[:, :, i, j] = (h0c + a // (w1c - w0c)) * W + w0c + a % (w1c - w0c)
        else:
            div = divisor_override or (pool if count_include_pad else (h1c - h0c) * (w1c - w0c))
            y[:, :, i, j] = win.sum(axis=(2, 3)) / div
    return (y, idx) if kind == "max" else y


AVG = [(2, 2, 0, True, True, None), (3, 2, 1, False, False, None), (3, 2, 1, True, True, None),
       (3, 2, 1, True, False, None), (2, 3, 1, True, True, None), (3, 1, 1, False, True, 5),
       (3, 2, 0, True, True, None)]


@pytest.mark.parametrize("k,s,p,ceil_mode,count_include_pad,divisor_override", AVG)
def test_avg_pool2d_options(device, k, s, p, ceil_mode, count_include_pad, divisor_override):
    x = rand64(1, 2, 6, 5, device=device, seed=10)
    fn = lambda x: F.avg_pool2d(x, k, s, p, ceil_mode, count_include_pad, divisor_override)  # noqa: E731
    check(fn, lambda x: np_pool(x, k, s, p, ceil_mode, "avg", count_include_pad, divisor_override), [x])


@pytest.mark.parametrize("k,s,p,ceil_mode", [(2, 2, 0, True), (3, 2, 1, True), (2, 2, 0, False), (3, 2, 1, False),
                                             (2, 3, 1, True)])
def test_max_pool2d_ceil_mode_and_indices(device, k, s, p, ceil_mode):
    rng = np.random.default_rng(11)  # distinct values: no ties under the finite-difference step
    x = tg.tensor(rng.permutation(2 * 7 * 5).reshape(1, 2, 7, 5) * 0.1, dtype="float64", device=device,
                  requires_grad=True)
    y, idx = F.max_pool2d(x, k, s, p, ceil_mode=ceil_mode, return_indices=True)
    ref, ref_idx = np_pool(x.numpy(), k, s, p, ceil_mode, "max")
    np.testing.assert_array_equal(y.numpy(), ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    assert idx.dtype == np.int64 and not idx.requires_grad
    fn = lambda x: F.max_pool2d(x, k, s, p, ceil_mode=ceil_mode)  # noqa: E731
    assert tg.gradcheck(fn, [x]) and tg.gradgradcheck(fn, [x])


@pytest.mark.parametrize("out", [(2, 3), 1, (3, None), (4, 3), 3])
def test_adaptive_avg_pool2d(device, out):
    x = rand64(1, 2, 6, 5, device=device, seed=12)
    size = (out, out) if isinstance(out, int) else (out[0], 5 if out[1] is None else out[1])
    check(lambda x: F.adaptive_avg_pool2d(x, out), lambda x: np_adaptive_avg(x, size), [x])


def test_adaptive_avg_pool2d_dividing_equals_avg_pool2d(device):
    x = rand64(2, 3, 6, 8, device=device, seed=13)
    np.testing.assert_array_equal(F.adaptive_avg_pool2d(x, (3, 2)).numpy(), F.avg_pool2d(x, (2, 4)).numpy())


def test_adaptive_max_pool2d(device):
    rng = np.random.default_rng(14)
    x = tg.tensor(rng.permutation(2 * 6 * 4).reshape(1, 2, 6, 4) * 0.1, dtype="float64", device=device,
                  requires_grad=True)
    y, idx = F.adaptive_max_pool2d(x, (3, 2), return_indices=True)
    ref, ref_idx = np_pool(x.numpy(), 2, 2, 0, False, "max")
    np.testing.assert_array_equal(y.numpy(), ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    assert tg.gradcheck(lambda x: F.adaptive_max_pool2d(x, 2), [x])


def test_pools_take_unbatched_input(device):
    x = rand64(2, 6, 4, device=device, seed=15)
    batched = x.reshape(1, 2, 6, 4)
    for fn in (lambda t: F.avg_pool2d(t, 2), lambda t: F.max_pool2d(t, 3, 1, 1),
               lambda t: F.adaptive_avg_pool2d(t, (4, 3))):
        np.testing.assert_array_equal(fn(x).numpy(), fn(batched).numpy()[0])


@pytest.mark.parametrize("call,match", [
    (lambda x: F.max_pool2d(x, 2, dilation=2), r"dilation: max_pool2d with dilation 2 is not supported by tinygen"),
    (lambda x: F.avg_pool2d(x, 3, padding=2), r"padding: expected at most half the kernel \(3, 3\), got \(2, 2\)"),
    (lambda x: F.avg_pool2d(x, 2, ceil_mode=1), r"ceil_mode: expected True or False, got 1"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), r"divisor_override: expected None or an int >= 1, got 0"),
    (lambda x: F.avg_pool2d(x[0, 0], 2), r"input: expected a 4-D tensor \(N, C, H, W\) or a 3-D one"),
    (lambda x: F.adaptive_avg_pool2d(x, (2, 0)), r"output_size: expected ints >= 1"),
    (lambda x: F.adaptive_avg_pool2d(x, (2, 2, 2)), r"output_size: expected an int or 2 of them"),
    (lambda x: F.adaptive_max_pool2d(x, 4), r"output_size: adaptive_max_pool2d in tinygen needs an output size "
                                            r"that divides the input's \(6, 5\), got \(4, 4\)"),
])
def test_pool_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(rand64(1, 2, 6, 5))


# ------------------------------------------------------------------ losses
def test_l1_loss(device):
    x = rand64(3, 4, device=device, seed=16)
    t = rand64(3, 4, device=device, seed=17)
    x.data = x.data + 0.2 * np.sign(x.numpy() - t.numpy())  # away from the kink at x = t
    for reduction, red in (("mean", np.mean), ("sum", np.sum), ("none", lambda a: a)):
        check(lambda x, t: F.l1_loss(x, t, reduction=reduction), lambda x, t: red(np.abs(x - t)), [x, t])


def test_mse_loss_keywords(device):
    x, t = rand64(3, 4, device=device, seed=18), rand64(3, 4, device=device, seed=19)
    np.testing.assert_allclose(F.mse_loss(input=x, target=t, reduction="sum").item(),
                               ((x.numpy() - t.numpy()) ** 2).sum(), rtol=1e-12)


def test_deprecated_size_average_and_reduce_map_to_a_reduction(device):
    x, t = rand64(3, 4, device=device, seed=20), rand64(3, 4, device=device, seed=21)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        np.testing.assert_array_equal(F.mse_loss(x, t, False).numpy(), F.mse_loss(x, t, reduction="sum").numpy())
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert F.l1_loss(x, t, reduce=False).shape == (3, 4)


def np_bce_logits(x, t, w=None, pw=None):
    lw = 1 if pw is None else 1 + (pw - 1) * t
    loss = (1 - t) * x + lw * np.logaddexp(0, -x)
    return loss if w is None else loss * w


def test_binary_cross_entropy_with_logits_weights(device):
    x = rand64(3, 4, device=device, seed=22) * 3
    t = rand64(3, 4, device=device, seed=23, low=0.0, high=1.0)
    w = rand64(3, 1, device=device, seed=24, low=0.5, high=2.0)
    pw = rand64(4, device=device, seed=25, low=0.5, high=3.0)
    for reduction, red in (("mean", np.mean), ("sum", np.sum), ("none", lambda a: a)):
        check(lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw),
              lambda x, t, w, pw: red(np_bce_logits(x, t, w, pw)), [x, t, w, pw])
    check(lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw.detach()),
          lambda x, t: np_bce_logits(x, t, None, pw.numpy()).mean(), [x, t])


def test_binary_cross_entropy_weight(device):
    p = rand64(3, 4, device=device, seed=26, low=0.05, high=0.95)
    t = rand64(3, 4, device=device, seed=27, low=0.0, high=1.0, requires_grad=False)
    w = rand64(4, device=device, seed=28, low=0.5, high=2.0)

    def ref(p, w):
        return (-(t.numpy() * np.log(p) + (1 - t.numpy()) * np.log(1 - p)) * w).sum()
    check(lambda p, w: F.binary_cross_entropy(p, t, w, reduction="sum"), ref, [p, w])


@pytest.mark.parametrize("loss", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_bce_errors(loss):
    p = rand64(3, 4, low=0.1, high=0.9)
    with pytest.raises(ValueError, match=r"weight: expected a Tensor or None, got 'none' \(PyTorch's third"):
        loss(p, p.detach(), "none")
    with pytest.raises(ValueError, match=r"weight: expected a shape that broadcasts to \(3, 4\) .*got \(3,\)"):
        loss(p, p.detach(), rand64(3))
    with pytest.raises(ValueError, match=r"size_average: expected a bool or None"):
        loss(p, p.detach(), None, "sum")


def np_nll(logp, t, w, ignore_index, reduction):
    """PyTorch's nll_loss, sample by sample: logp (N, C, *d), t (N, *d)."""
    C = logp.shape[1]
    w = np.ones(C) if w is None else w
    lp = np.moveaxis(logp, 1, -1).reshape(-1, C)
    tf = t.reshape(-1)
    losses, weights = np.zeros(len(tf)), np.zeros(len(tf))
    for i, c in enumerate(tf):
        if c != ignore_index:
            losses[i], weights[i] = -w[c] * lp[i, c], w[c]
    if reduction == "none":
        return losses.reshape(t.shape)
    return losses.sum() if reduction == "sum" else losses.sum() / weights.sum()


NLL = [("2d", (5, 4), (5,), False, -100), ("2d_weight_ignore", (5, 4), (5,), True, 2),
       ("kdim", (2, 3, 2, 2), (2, 2, 2), True, -100), ("kdim_ignore", (2, 3, 2, 2), (2, 2, 2), False, 1)]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,shape,tshape,weighted,ignore", NLL, ids=[c[0] for c in NLL])
def test_nll_loss_and_cross_entropy(device, name, shape, tshape, weighted, ignore, reduction):
    x = rand64(*shape, device=device, seed=29) * 2
    C = shape[1]
    t = np.random.default_rng(30).integers(0, C, tshape)
    w = np.random.default_rng(31).uniform(0.5, 2.0, C) if weighted else None
    wt = None if w is None else tg.tensor(w, dtype="float64", device=device)
    kw = dict(weight=wt, ignore_index=ignore, reduction=reduction)
    check(lambda x: F.nll_loss(F.log_softmax(x, 1), t, **kw),
          lambda x: np_nll(np_log_softmax(x, 1), t, w, ignore, reduction), [x])
    check(lambda x: F.cross_entropy(x, t, **kw), lambda x: np_nll(np_log_softmax(x, 1), t, w, ignore, reduction), [x])


def np_ce_smooth(x, t, w, ignore, eps, reduction):
    """PyTorch's label smoothing: (1 - e) nll + e / C * (sum_c -w_c logp_c), the latter
    masked where ignored and, for 'mean', divided by the same weight sum as nll."""
    logp = np_log_softmax(x, 1)
    C = x.shape[1]
    w1 = np.ones(C) if w is None else w
    smooth = -(logp * w1[None, :]).sum(axis=1) * (t != ignore)
    if reduction == "mean":
        smooth = smooth.sum() / w1[t[t != ignore]].sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - eps) * np_nll(logp, t, w, ignore, reduction) + eps / C * smooth


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_label_smoothing(device, reduction, weighted):
    x = rand64(5, 4, device=device, seed=32) * 2
    t = np.array([0, 3, 1, 3, 2])
    w = np.array([0.5, 1.0, 2.0, 1.5]) if weighted else None
    wt = None if w is None else tg.tensor(w, dtype="float64", device=device)
    check(lambda x: F.cross_entropy(x, t, wt, ignore_index=1, reduction=reduction, label_smoothing=0.2),
          lambda x: np_ce_smooth(x, t, w, 1, 0.2, reduction), [x])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probability_targets(device, reduction):
    x = rand64(2, 3, 2, device=device, seed=33)
    q = rand64(2, 3, 2, device=device, seed=34, low=0.1, high=1.0)
    w = np.array([0.5, 1.0, 2.0])
    red = {"mean": lambda a: a.sum() / 4, "sum": np.sum, "none": lambda a: a}[reduction]

    def ref(x, q):
        qs = q * 0.9 + 0.1 / 3
        return red(-(np_log_softmax(x, 1) * qs * w[None, :, None]).sum(axis=1))
    check(lambda x, q: F.cross_entropy(x, q, tg.tensor(w, device=device), reduction=reduction,
                                       label_smoothing=0.1), ref, [x, q])


def test_cross_entropy_unbatched_and_hand_computed(device):
    x = tg.tensor([1.0, 2.0, 3.0], dtype="float64", device=device, requires_grad=True)
    y = F.cross_entropy(x, np.array(2))
    assert y.shape == ()
    np.testing.assert_allclose(y.item(), np.log(np.exp([1.0, 2.0, 3.0]).sum()) - 3.0, rtol=1e-14)
    assert F.cross_entropy(x, np.array(1), reduction="none").shape == ()
    assert F.nll_loss(F.log_softmax(x, 0), np.array(1)).shape == ()
    assert np.isnan(F.cross_entropy(x.reshape(1, 3), np.array([-100])).item())  # nothing counted: nan, as PyTorch
    assert tg.gradcheck(lambda x: F.cross_entropy(x, np.array(2)), [x])


@pytest.mark.parametrize("call,match", [
    (lambda x: F.cross_entropy(x, np.array([0, 4, 1, 1, 2])), r"target: class indices must lie in \[0, 4\)"),
    (lambda x: F.cross_entropy(x, np.zeros(5)), r"target: expected integer class indices of shape \(5,\) or "
                                                r"class probabilities of shape \(5, 4\)"),
    (lambda x: F.nll_loss(x, np.zeros((5, 4))), r"target: expected integer class indices of shape \(5,\) for"),
    (lambda x: F.cross_entropy(x, np.zeros(4, dtype=int)), r"target: expected integer class indices of shape"),
    (lambda x: F.cross_entropy(x, np.zeros(5, dtype=int), tg.ones(3)), r"weight: expected shape \(4,\)"),
    (lambda x: F.cross_entropy(x, np.zeros(5, dtype=int), "sum"), r"weight: expected a Tensor of shape \(4,\)"),
    (lambda x: F.cross_entropy(x, np.zeros(5, dtype=int), label_smoothing=1.5), r"label_smoothing: expected"),
    (lambda x: F.cross_entropy(x, np.zeros(5, dtype=int), reduction="avg"), r"reduction: expected 'mean', 'sum'"),
    (lambda x: F.nll_loss(x.sum(), np.array(0)), r"input: expected shape \(N, C\)"),
])
def test_cross_entropy_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(rand64(5, 4))


def test_kl_divergence_is_tinygens_own():
    assert "F.kl_div" in F.kl_divergence.__doc__ and "not" in F.kl_divergence.__doc__


# ------------------------------------------------------------------ the module and its names
def test_nn_functional_is_the_functional_api():
    import tinygen.nn.functional as NF
    for name in F.__all__:
        assert getattr(NF, name) is getattr(F, name), name


def test_pytorch_argument_names():
    import inspect
    expected = {
        "softmax": ["input", "dim"], "log_softmax": ["input", "dim"], "relu": ["input", "inplace"],
        "leaky_relu": ["input", "negative_slope", "inplace"], "softplus": ["input", "beta", "threshold"],
        "dropout": ["input", "p", "training", "inplace"], "normalize": ["input", "p", "dim", "eps"],
        "one_hot": ["tensor", "num_classes"], "pad": ["input", "pad", "mode", "value"],
        "interpolate": ["input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                        "antialias"],
        "mse_loss": ["input", "target", "size_average", "reduce", "reduction"],
        "l1_loss": ["input", "target", "size_average", "reduce", "reduction"],
        "binary_cross_entropy": ["input", "target", "weight", "size_average", "reduce", "reduction"],
        "binary_cross_entropy_with_logits": ["input", "target", "weight", "size_average", "reduce", "reduction",
                                             "pos_weight"],
        "cross_entropy": ["input", "target", "weight", "size_average", "ignore_index", "reduce", "reduction",
                          "label_smoothing"],
        "nll_loss": ["input", "target", "weight", "size_average", "ignore_index", "reduce", "reduction"],
        "linear": ["input", "weight", "bias"],
        "conv2d": ["input", "weight", "bias", "stride", "padding", "dilation", "groups"],
        "conv_transpose2d": ["input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"],
        "avg_pool2d": ["input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                       "divisor_override"],
        "max_pool2d": ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"],
        "adaptive_avg_pool2d": ["input", "output_size"],
    }
    for name, args in expected.items():
        params = [p for p in inspect.signature(getattr(F, name)).parameters if p != "dtype"]
        assert params == args, name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert F.softmax(rand64(2, 3), dim=-1).shape == (2, 3)


# ------------------------------------------------------------------ pixel shuffle (Shi et al. 2016)
def np_pixel_shuffle(x, r):
    """Loop by loop after PyTorch's documented rule: out[..., c, h r + i, w r + j] = x[..., c r² + i r + j, h, w]."""
    *lead, c, h, w = x.shape
    out = np.zeros((*lead, c // (r * r), h * r, w * r), x.dtype)
    for ch in range(c // (r * r)):
        for i in range(r):
            for j in range(r):
                out[..., ch, i::r, j::r] = x[..., ch * r * r + i * r + j, :, :]
    return out


@pytest.mark.parametrize("shape,r", [((2, 8, 3, 2), 2), ((1, 9, 2, 2), 3), ((4, 3, 3), 1), ((2, 1, 4, 2, 3), 2)])
def test_pixel_shuffle_and_unshuffle(device, shape, r):
    x = rand64(*shape, device=device)
    check(lambda t: F.pixel_shuffle(t, r), lambda a: np_pixel_shuffle(a, r), [x])
    y = rand64(*np_pixel_shuffle(x.numpy(), r).shape, device=device)
    inverse = lambda a: np_pixel_shuffle(a, r)                          # unshuffle is shuffle's inverse
    np.testing.assert_array_equal(inverse(F.pixel_unshuffle(y, r).numpy()), y.numpy())
    assert tg.gradcheck(lambda t: F.pixel_unshuffle(t, r), [y])
    assert tg.gradgradcheck(lambda t: F.pixel_unshuffle(t, r), [y])
    np.testing.assert_array_equal(tg.nn.PixelShuffle(r)(x).numpy(), np_pixel_shuffle(x.numpy(), r))
    np.testing.assert_array_equal(tg.nn.PixelUnshuffle(r)(y).numpy(), F.pixel_unshuffle(y, r).numpy())


def test_pixel_shuffle_hand_case():
    x = tg.tensor(np.arange(8.0).reshape(1, 4, 1, 2))                    # 4 channels -> one 2x4 image
    assert F.pixel_shuffle(x, 2).numpy()[0, 0].tolist() == [[0, 2, 1, 3], [4, 6, 5, 7]]


@pytest.mark.parametrize("call,message", [
    (lambda: F.pixel_shuffle(tg.zeros(1, 6, 2, 2), 2), "divisible by upscale_factor² = 4"),
    (lambda: F.pixel_shuffle(tg.zeros(4, 2, 2), 0), "upscale_factor: expected an int >= 1"),
    (lambda: F.pixel_shuffle(tg.zeros(4, 2), 2), "at least 3 dims"),
    (lambda: F.pixel_unshuffle(tg.zeros(1, 1, 3, 4), 2), "H and W divisible by downscale_factor = 2"),
    (lambda: tg.nn.PixelShuffle(2.0), "upscale_factor: expected an int >= 1, got 2.0"),
    (lambda: tg.nn.PixelUnshuffle(True), "downscale_factor: expected an int >= 1, got True")])
def test_pixel_shuffle_errors(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call()

"""Every op: forward value against NumPy, first and second derivatives against
finite differences (tg.gradcheck / tg.gradgradcheck, float64), on the CPU and,
where a GPU is present, on CuPy.

Inputs are small (<= 60 elements, so every partial derivative is compared),
kept off kinks (ReLU/abs at 0, max and maximum ties) and inside the domain
(log, sqrt, fractional powers: positive). A few larger cases use gradcheck's
random-direction path. Also: the tie rule of max, stability of logsumexp and
BCE at large logits, error messages, and that float32 stays float32.
"""
import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from conftest import rand64

POS = dict(low=0.5, high=2.0)       # in-domain for log, sqrt, x ** -1.5, 1 / x
UNIT = dict(low=0.0, high=1.0)      # BCE targets


def R(*shape, **kw):
    """An input maker: (device, seed) -> a float64 tensor of ``shape``."""
    return lambda device, seed: rand64(*shape, device=device, seed=seed, **kw)


def C(array):
    """A constant (non-differentiated) input, e.g. a bool condition."""
    return lambda device, seed: tg.tensor(np.asarray(array), device=device)


def check(fn, ref, makers, device):
    """fn's forward equals ref's (NumPy); its 1st and 2nd derivatives match finite differences."""
    inputs = [make(device, seed) for seed, make in enumerate(makers)]
    out = fn(*inputs)
    expected = ref(*[x.numpy() for x in inputs])
    assert out.shape == np.shape(expected)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


def cases(*rows):
    """(id, fn, ref, makers) rows -> pytest params."""
    return [pytest.param(fn, ref, makers, id=name) for name, fn, ref, makers in rows]


# ------------------------------------------------------------- arithmetic
ARITH = cases(
    ("add_bcast", lambda a, b: a + b, np.add, [R(3, 4), R(4)]),
    ("add_bcast_both", lambda a, b: a + b, np.add, [R(3, 1), R(1, 4)]),
    ("sub_bcast", lambda a, b: a - b, np.subtract, [R(2, 3), R(2, 1)]),
    ("mul_bcast_3d", lambda a, b: a * b, np.multiply, [R(2, 1, 3), R(1, 4, 1)]),
    ("div_bcast_den", lambda a, b: a / b, np.divide, [R(3, 4), R(4, **POS)]),
    ("div_bcast_num", lambda a, b: a / b, np.divide, [R(4), R(3, 4, **POS)]),
    ("add_scalar", lambda x: x + 2.5, lambda x: x + 2.5, [R(3, 4)]),
    ("radd_scalar", lambda x: 2.5 + x, lambda x: 2.5 + x, [R(3, 4)]),
    ("sub_scalar", lambda x: x - 1.5, lambda x: x - 1.5, [R(3, 4)]),
    ("rsub_scalar", lambda x: 1.5 - x, lambda x: 1.5 - x, [R(3, 4)]),
    ("mul_scalar", lambda x: x * 3.0, lambda x: x * 3.0, [R(3, 4)]),
    ("rmul_scalar", lambda x: 3.0 * x, lambda x: 3.0 * x, [R(3, 4)]),
    ("div_scalar", lambda x: x / 4.0, lambda x: x / 4.0, [R(3, 4)]),
    ("rtruediv_scalar", lambda x: 4.0 / x, lambda x: 4.0 / x, [R(3, 4, **POS)]),
    ("neg", lambda x: -x, np.negative, [R(3, 4)]),
    ("pow_2", lambda x: x ** 2, lambda x: x ** 2, [R(3, 4)]),
    ("pow_3", lambda x: x ** 3, lambda x: x ** 3, [R(3, 4)]),
    ("pow_0.5", lambda x: x ** 0.5, lambda x: x ** 0.5, [R(3, 4, **POS)]),
    ("pow_-1.5", lambda x: x ** -1.5, lambda x: x ** -1.5, [R(3, 4, **POS)]),
    ("tg.pow_3", lambda x: tg.pow(x, 3), lambda x: x ** 3, [R(3, 4)]),
    ("pow_tensor", lambda x, c: x ** c, np.power, [R(3, 4, **POS), R(4)]),
    ("tg.pow_tensor", lambda x, c: tg.pow(x, c), np.power, [R(3, 4, **POS), R(3, 4)]),
    ("tg.exp", tg.exp, np.exp, [R(3, 4)]),
    ("exp_method", lambda x: x.exp(), np.exp, [R(3, 4)]),
    ("tg.log", tg.log, np.log, [R(3, 4, **POS)]),
    ("tg.sqrt", tg.sqrt, np.sqrt, [R(3, 4, **POS)]),
    ("tg.abs", tg.abs, np.abs, [R(3, 4, away_from=0.0)]),
    # Tensor's __array_priority__ makes ndarray * Tensor call Tensor.__rmul__.
    ("ndarray_rmul", lambda x: np.arange(4.0) * x, lambda x: np.arange(4.0) * x, [R(3, 4)]),
)


@pytest.mark.parametrize("fn, ref, makers", ARITH)
def test_arith(fn, ref, makers, device):
    check(fn, ref, makers, device)


# ------------------------------------------------------------- reductions
REDUCTIONS = {
    "sum": (lambda x, a, k: x.sum(a, keepdim=k), lambda x, a, k: np.sum(x, a, keepdims=k)),
    "mean": (lambda x, a, k: x.mean(a, keepdim=k), lambda x, a, k: np.mean(x, a, keepdims=k)),
    "var0": (lambda x, a, k: x.var(a, keepdim=k, correction=0),
             lambda x, a, k: np.var(x, a, keepdims=k, ddof=0)),
    "var1": (lambda x, a, k: x.var(a, keepdim=k, correction=1),
             lambda x, a, k: np.var(x, a, keepdims=k, ddof=1)),
    # Random normal inputs: no ties, so max is differentiable there.
    "amax": (lambda x, a, k: x.amax(a, keepdim=k), lambda x, a, k: np.max(x, a, keepdims=k)),
}


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 1, -1, (0, 2)])
@pytest.mark.parametrize("op", list(REDUCTIONS))
def test_reduction(op, dim, keepdim, device):
    fn, ref = REDUCTIONS[op]
    check(lambda x: fn(x, dim, keepdim), lambda x: ref(x, dim, keepdim), [R(2, 3, 4)], device)


def test_torch_style_reduction_functions_and_var_default(device):
    x = rand64(3, 4, device=device)
    np.testing.assert_allclose(tg.sum(x, 0).numpy(), x.numpy().sum(0))
    np.testing.assert_allclose(tg.mean(x, -1).numpy(), x.numpy().mean(-1))
    np.testing.assert_allclose(tg.max(x).numpy(), x.numpy().max())
    # The default is the unbiased estimate, as in PyTorch.
    np.testing.assert_allclose(tg.var(x).numpy(), np.var(x.numpy(), ddof=1))


@pytest.mark.parametrize("data, dim, expected", [
    ([1.0, 3.0, 3.0], None, [0.0, 0.5, 0.5]),
    ([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], 1, [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5]]),
    ([[2.0, 2.0], [2.0, 1.0]], None, [[1 / 3, 1 / 3], [1 / 3, 0.0]]),
])
def test_amax_ties_split_gradient_evenly(data, dim, expected, device):
    x = tg.tensor(data, dtype="float64", device=device, requires_grad=True)
    y = x.amax(dim)
    v = tg.tensor(np.arange(2.0, 2.0 + y.numel()).reshape(y.shape), dtype="float64", device=device)
    g, = tg.grad(y, x, grad_outputs=v)
    v_full = np.expand_dims(v.numpy(), dim) if dim is not None else v.numpy()
    np.testing.assert_allclose(g.numpy(), np.asarray(expected) * v_full)


# ------------------------------------------------------------- shape ops
X345 = [R(3, 4, 5)]
INDICES = [1, -1, (slice(None, None, 2),), (1, slice(None, None, -2)), (None, Ellipsis, 1),
           (Ellipsis, -1), (slice(1, 3), None, slice(None, None, 3)), (-2, slice(None), -1),
           [0, 0, 2], ([0, 2, 2], [1, 1, 3]), (slice(None), [3, 0, 3]),
           np.array([[0, 1], [1, 1]])]

SHAPE = cases(
    ("reshape", lambda x: x.reshape(2, 6), lambda x: x.reshape(2, 6), [R(3, 4)]),
    ("reshape_-1", lambda x: x.reshape((-1,)), lambda x: x.reshape(-1), [R(3, 4)]),
    ("tg.reshape", lambda x: tg.reshape(x, (4, 6)), lambda x: x.reshape(4, 6), [R(2, 3, 4)]),
    ("transpose_0_1", lambda x: x.transpose(0, 1), lambda x: x.transpose(1, 0, 2), [R(2, 3, 4)]),
    ("permute_reverse", lambda x: x.permute(2, 1, 0), np.transpose, [R(2, 3, 4)]),
    ("permute_negative", lambda x: x.permute(-1, 0, 1), lambda x: x.transpose(2, 0, 1), [R(2, 3, 4)]),
    ("tg.transpose", lambda x: tg.transpose(x, 1, 2), lambda x: x.transpose(0, 2, 1), [R(2, 3, 4)]),
    ("tg.permute", lambda x: tg.permute(x, (2, 1, 0)), lambda x: x.transpose(2, 1, 0), [R(2, 3, 4)]),
    (".T", lambda x: x.T, lambda x: x.T, [R(3, 4)]),
    (".mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), [R(2, 3, 4)]),
    ("flatten", lambda x: x.flatten(), lambda x: x.reshape(24), [R(2, 3, 4)]),
    ("flatten_1", lambda x: x.flatten(1), lambda x: x.reshape(2, 12), [R(2, 3, 4)]),
    ("tg.flatten_0_1", lambda x: tg.flatten(x, 0, 1), lambda x: x.reshape(6, 4), [R(2, 3, 4)]),
    ("broadcast_to", lambda x: x.broadcast_to((2, 3, 4)),
     lambda x: np.broadcast_to(x, (2, 3, 4)), [R(3, 1)]),
    ("tg.broadcast_to", lambda x: tg.broadcast_to(x, (3, 4)), lambda x: np.broadcast_to(x, (3, 4)), [R(4)]),
    ("sum_to_3x1", lambda x: x.sum_to((3, 1)), lambda x: x.sum(axis=(0, 2))[:, None], [R(2, 3, 4)]),
    ("sum_to_lead", lambda x: x.sum_to((4,)), lambda x: x.sum(0), [R(3, 4)]),
    ("sum_to_mid", lambda x: x.sum_to((2, 1, 4)), lambda x: x.sum(1, keepdims=True), [R(2, 3, 4)]),
    ("cat_0", lambda a, b: tg.cat([a, b], dim=0),
     lambda a, b: np.concatenate([a, b], 0), [R(2, 3), R(4, 3)]),
    ("cat_-1_three", lambda a, b, c: tg.cat([a, b, c], dim=-1),
     lambda a, b, c: np.concatenate([a, b, c], -1), [R(2, 1), R(2, 3), R(2, 2)]),
    ("stack_0", lambda a, b, c: tg.stack([a, b, c]), lambda a, b, c: np.stack([a, b, c]),
     [R(2, 3), R(2, 3), R(2, 3)]),
    ("stack_1", lambda a, b: tg.stack([a, b], 1), lambda a, b: np.stack([a, b], 1), [R(2, 3), R(2, 3)]),
    ("stack_-1", lambda a, b: tg.stack([a, b], -1), lambda a, b: np.stack([a, b], -1), [R(2, 3), R(2, 3)]),
) + [pytest.param(lambda x, i=i: x[i], lambda x, i=i: x[i], X345, id=f"getitem[{i!r}]".replace(" ", ""))
     for i in INDICES]


@pytest.mark.parametrize("fn, ref, makers", SHAPE)
def test_shape(fn, ref, makers, device):
    check(fn, ref, makers, device)


@pytest.mark.parametrize("kind", ["list", "array", "tensor"])
def test_getitem_repeated_indices_accumulate(kind, device):
    x = rand64(4, device=device)
    index = [0, 0, 2, 0]
    index = {"list": index, "array": np.array(index), "tensor": tg.tensor(index, device=device)}[kind]
    g, = tg.grad(x[index], x, grad_outputs=tg.tensor([1.0, 2.0, 3.0, 4.0], dtype="float64", device=device))
    np.testing.assert_array_equal(g.numpy(), [7.0, 0.0, 3.0, 0.0])


# ------------------------------------------------------------- matmul, where, maximum
COND = np.array([[True, False, False, True], [False, True, True, False], [True, True, False, False]])

BINARY = cases(
    ("matmul_2d", lambda a, b: a @ b, np.matmul, [R(3, 4), R(4, 5)]),
    ("matmul_batched", lambda a, b: a @ b, np.matmul, [R(2, 3, 4), R(2, 4, 5)]),
    ("matmul_bcast_right", lambda a, b: tg.matmul(a, b), np.matmul, [R(2, 3, 4), R(4, 5)]),
    ("matmul_bcast_left", lambda a, b: a @ b, np.matmul, [R(3, 4), R(2, 4, 5)]),
    ("matmul_bcast_batch", lambda a, b: a @ b, np.matmul, [R(2, 1, 2, 3), R(3, 3, 2)]),
    ("where", lambda c, a, b: tg.where(c, a, b), np.where, [C(COND), R(3, 4), R(3, 4)]),
    ("where_bcast", lambda c, a, b: tg.where(c, a, b), np.where, [C(COND), R(4), R(3, 1)]),
    ("where_bcast_cond", lambda c, a, b: tg.where(c, a, b), np.where, [C(COND[:, :1]), R(1, 4), R(3, 4)]),
    ("where_scalar", lambda c, a: tg.where(c, a, 0.5), lambda c, a: np.where(c, a, 0.5), [C(COND), R(3, 4)]),
    ("where_from_compare", lambda a, b: tg.where(a > 0, a, b * a),
     lambda a, b: np.where(a > 0, a, b * a), [R(3, 4, away_from=0.0), R(3, 4)]),
    # |a - b| >= 0.05 everywhere: no ties.
    ("maximum", tg.maximum, np.maximum, [R(3, 4, away_from=0.0), R(4, low=-0.05, high=0.05)]),
    ("maximum_scalar", lambda a: tg.maximum(a, 0.0), lambda a: np.maximum(a, 0.0),
     [R(3, 4, away_from=0.0)]),
)


@pytest.mark.parametrize("fn, ref, makers", BINARY)
def test_matmul_where_maximum(fn, ref, makers, device):
    check(fn, ref, makers, device)


def test_maximum_tie_gradient_goes_to_first(device):
    a = tg.tensor([1.0, 2.0, 3.0], dtype="float64", device=device, requires_grad=True)
    b = tg.tensor([1.0, 5.0, 3.0], dtype="float64", device=device, requires_grad=True)
    ga, gb = tg.grad(tg.maximum(a, b), [a, b], grad_outputs=tg.tensor([1.0, 1.0, 1.0], dtype="float64",
                                                                      device=device))
    np.testing.assert_array_equal(ga.numpy(), [1, 0, 1])
    np.testing.assert_array_equal(gb.numpy(), [0, 1, 0])


# ------------------------------------------------------------- activations
def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_lse(x, axis, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    y = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axis)


ACTIVATIONS = cases(
    ("F.relu", F.relu, lambda x: np.maximum(x, 0), [R(3, 4, away_from=0.0)]),
    ("relu_method", lambda x: x.relu(), lambda x: np.maximum(x, 0), [R(3, 4, away_from=0.0)]),
    ("F.leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
     [R(3, 4, away_from=0.0)]),
    ("F.leaky_relu_default", F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), [R(3, 4, away_from=0.0)]),
    ("F.sigmoid", F.sigmoid, np_sigmoid, [R(3, 4)]),
    ("sigmoid_method", lambda x: x.sigmoid(), np_sigmoid, [R(3, 4)]),
    ("F.tanh", F.tanh, np.tanh, [R(3, 4)]),
    ("tanh_method", lambda x: x.tanh(), np.tanh, [R(3, 4)]),
    ("F.softplus", F.softplus, lambda x: np.log1p(np.exp(x)), [R(3, 4)]),
) + [pytest.param(lambda x, d=d, k=k: tg.logsumexp(x, d, k), lambda x, d=d, k=k: np_lse(x, d, k),
                  [R(2, 3, 4)], id=f"logsumexp_dim={d}_keepdim={k}")
     for d in [(0, 1, 2), 1, -1, (0, 2)] for k in [False, True]]


@pytest.mark.parametrize("fn, ref, makers", ACTIVATIONS)
def test_activation(fn, ref, makers, device):
    check(fn, ref, makers, device)


def test_logsumexp_stable_at_large_inputs(device):
    data = np.array([[1000.0, 1000.0, 999.0], [-1000.0, -1001.0, -1000.0]])
    x = tg.tensor(data, dtype="float64", device=device, requires_grad=True)
    y = tg.logsumexp(x, dim=1)
    expected = np.array([1000 + np.log(2 + np.exp(-1)), -1000 + np.log(2 + np.exp(-1))])
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-14)
    np.testing.assert_allclose(tg.logsumexp(x, (0, 1)).numpy(), 1000 + np.log(2 + np.exp(-1)), rtol=1e-14)
    # The gradient is the row softmax: finite, rows sum to 1.
    g, = tg.grad(y.sum(), x)
    soft = np.exp(data - data.max(1, keepdims=True))
    np.testing.assert_allclose(g.numpy(), soft / soft.sum(1, keepdims=True), rtol=1e-12)
    # Finite differences near 1000 too (eps 1e-6 is still well above the rounding of 1000).
    z = tg.tensor(data + rand64(2, 3, requires_grad=False).numpy(), dtype="float64", device=device,
                  requires_grad=True)
    assert tg.gradcheck(lambda t: tg.logsumexp(t, dim=1), [z])
    assert tg.gradgradcheck(lambda t: tg.logsumexp(t, dim=1), [z])


def test_softplus_and_sigmoid_stable_at_large_inputs(device):
    x = tg.tensor([-800.0, -100.0, 100.0, 800.0], dtype="float64", device=device, requires_grad=True)
    np.testing.assert_allclose(F.softplus(x).numpy(), [0.0, np.exp(-100.0), 100.0, 800.0], rtol=1e-14)
    # Finite, no overflow warning; tiny values may round to 0 (absolute error < 1e-15).
    np.testing.assert_allclose(F.sigmoid(x).numpy(), [0.0, np.exp(-100.0), 1.0, 1.0], rtol=1e-14, atol=1e-15)


# ------------------------------------------------------------- losses
def np_bce(x, t):
    return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))


NP_REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}
LOSSES = {"bce": (F.binary_cross_entropy_with_logits, np_bce), "mse": (F.mse_loss, lambda x, t: (x - t) ** 2)}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", list(LOSSES))
def test_loss(loss, reduction, device):
    fn, ref = LOSSES[loss]
    # Targets in [0, 1] as constants (requires_grad=False): not checked.
    check(lambda x, t: fn(x, t, reduction=reduction), lambda x, t: NP_REDUCE[reduction](ref(x, t)),
          [R(3, 4), R(3, 4, requires_grad=False, **UNIT)], device)


def test_bce_with_logits_stable_at_100(device):
    x = tg.tensor([-100.0, 100.0, -100.0, 100.0, 0.0], dtype="float64", device=device, requires_grad=True)
    t = tg.tensor([0.0, 1.0, 1.0, 0.0, 0.5], dtype="float64", device=device)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    expected = [np.log1p(np.exp(-100.0)), np.log1p(np.exp(-100.0)), 100.0, 100.0, np.log(2.0)]
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-14, atol=1e-15)
    assert np.isfinite(F.binary_cross_entropy_with_logits(x, t).item())
    # d/dx = sigmoid(x) - t.
    g, = tg.grad(F.binary_cross_entropy_with_logits(x, t, reduction="sum"), x)
    np.testing.assert_allclose(g.numpy(), [0.0, 0.0, -1.0, 1.0, 0.0], atol=1e-15)
    # e^100 overflows float32 and e^1000 float64: the naive log(1 + e^x) would give inf.
    for scale, dtype in [(1.0, "float32"), (10.0, "float64")]:
        xs = tg.tensor(scale * x.numpy(), dtype=dtype, device=device)
        loss = F.binary_cross_entropy_with_logits(xs, t.numpy(), reduction="none")
        np.testing.assert_allclose(loss.numpy(), np_bce(scale * x.numpy(), t.numpy()), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("loss", [F.binary_cross_entropy_with_logits, F.mse_loss])
def test_loss_errors(loss):
    x = rand64(3, 4)
    with pytest.raises(ValueError, match=r"target.*\(3, 4\).*\(4, 3\)"):
        loss(x, rand64(4, 3, requires_grad=False))
    with pytest.raises(ValueError, match="reduction.*'avg'"):
        loss(x, rand64(3, 4, requires_grad=False), reduction="avg")


# ------------------------------------------------------------- larger inputs: the directional path
LARGE = cases(
    ("sigmoid_20x20", F.sigmoid, np_sigmoid, [R(20, 20)]),
    ("matmul_8x16@16x12", lambda a, b: a @ b, np.matmul, [R(8, 16), R(16, 12)]),
    ("var_axis0_20x15", lambda x: x.var(0), lambda x: np.var(x, 0, ddof=1), [R(20, 15)]),
    ("logsumexp_dim1_20x15", lambda x: tg.logsumexp(x, 1), lambda x: np_lse(x, 1), [R(20, 15)]),
)


@pytest.mark.parametrize("fn, ref, makers", LARGE)
def test_large_directional(fn, ref, makers, device):
    check(fn, ref, makers, device)


# ------------------------------------------------------------- error messages
def test_matmul_errors():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4, 5\)"):
        rand64(3) @ rand64(4, 5)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3,\)"):
        tg.matmul(rand64(3, 4), rand64(3))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        rand64(2, 3) @ rand64(4, 5)
    with pytest.raises(ValueError, match=r"\(2, 2, 3\).*\(2, 4, 5\)"):
        rand64(2, 2, 3) @ rand64(2, 4, 5)
    with pytest.raises(ValueError, match=r"matmul: expected operands with >= 1 dim"):
        tg.matmul(rand64(3), tg.tensor(2.0, dtype=tg.float64))


def test_matmul_with_vectors_as_pytorch(device):
    # (n, k) @ (k,) -> (n,); (k,) @ (k, m) -> (m,); (k,) @ (k,) -> a 0-d dot product
    check(lambda a, b: a @ b, np.matmul, [R(3, 4), R(4)], device)
    check(lambda a, b: a @ b, np.matmul, [R(4), R(4, 2)], device)
    check(lambda a, b: tg.matmul(a, b), np.matmul, [R(4), R(4)], device)
    check(lambda a, b: tg.bmm(a, b), np.matmul, [R(2, 3, 4), R(2, 4, 2)], device)


@pytest.mark.parametrize("call", [
    lambda x: x.sum(2), lambda x: x.mean(-3), lambda x: x.amax((0, 5)), lambda x: x.var(2),
    lambda x: tg.logsumexp(x, 2), lambda x: tg.cat([x, x], dim=2),
    lambda x: x.permute(0, 0), lambda x: x.permute(0), lambda x: x.transpose(0, 2),
], ids=["sum", "mean", "amax", "var", "logsumexp", "cat", "permute_repeat", "permute_short", "transpose"])
def test_bad_dim_raises(call):
    with pytest.raises(ValueError, match="dim"):
        call(rand64(3, 4))


@pytest.mark.parametrize("call", [
    lambda x: x.permute(1, 2), lambda x: tg.stack([x, x], dim=3), lambda x: tg.flatten(x, 0, 2),
], ids=["permute", "stack", "flatten"])
def test_out_of_range_dim_raises(call):
    # NumPy raises AxisError here; wrapping the dim modulo ndim would silently pick another one.
    with pytest.raises(ValueError):
        call(rand64(3, 4))


def test_cat_mismatch_names_index():
    with pytest.raises(ValueError, match=r"tensors\[2\].*\(2, 4\)"):
        tg.cat([rand64(2, 3), rand64(1, 3), rand64(2, 4)], dim=0)
    with pytest.raises(ValueError, match=r"tensors\[1\]"):
        tg.cat([rand64(2, 3), rand64(2, 3, 1)], dim=0)


# ------------------------------------------------------------- float32 is preserved
F32 = {
    "x*2.0": lambda x: x * 2.0, "2.0*x": lambda x: 2.0 * x, "1-x": lambda x: 1 - x, "x/3": lambda x: x / 3,
    "3/x": lambda x: 3 / x, "x**2": lambda x: x ** 2, "x**0.5": lambda x: x.abs() ** 0.5,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2), "mean": lambda x: x.mean(), "var": lambda x: x.var(0),
    "sigmoid": F.sigmoid, "softplus": F.softplus, "logsumexp": lambda x: tg.logsumexp(x, 1),
    "max": lambda x: x.max(1).values, "amax": lambda x: x.amax(1), "maximum": lambda x: tg.maximum(x, 0.1),
    "where": lambda x: tg.where(x > 0, x, 0.5),
    "bce": lambda x: F.binary_cross_entropy_with_logits(x, 0.5 * F.sigmoid(x.detach())),
    "mse": lambda x: F.mse_loss(x, np.full((3, 4), 0.5)),
}


@pytest.mark.parametrize("name", list(F32))
def test_float32_preserved(name, device):
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 4)), dtype="float32", device=device,
                  requires_grad=True)
    y = F32[name](x)
    assert y.dtype == np.float32
    v = tg.tensor(np.ones(y.shape), dtype="float32", device=device, requires_grad=True)
    g, = tg.grad(y, x, grad_outputs=v, create_graph=True)
    assert g.dtype == np.float32
    # Second order too (a gradient penalty on float32 nets goes through it).
    gg = tg.grad((g * g).sum(), [x, v], allow_unused=True)
    assert all(h is None or h.dtype == np.float32 for h in gg)


# ------------------------------------------------------------- dropout, clamp, VAE losses
def test_dropout(device):
    tg.manual_seed(0)
    x = tg.ones(200, 50, dtype="float64", device=device)
    y = F.dropout(x, 0.3).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02 and np.allclose(y[kept], 1 / 0.7)  # inverted scaling
    assert F.dropout(x, 0.3, training=False) is x
    tg.manual_seed(1)
    z = rand64(4, 5, device=device)
    fn = lambda z: F.dropout(z, 0.5)  # noqa: E731
    tg.manual_seed(2)
    a = fn(z).numpy()
    tg.manual_seed(2)
    np.testing.assert_array_equal(a, fn(z).numpy())  # the mask follows manual_seed
    with pytest.raises(ValueError, match=r"p: expected a probability in \[0, 1\), got 1.0"):
        F.dropout(z, 1.0)


def test_dropout_gradients(device):
    z = rand64(4, 5, device=device)

    def fn(z):
        tg.manual_seed(3)  # the same mask on every evaluation
        return F.dropout(z, 0.5)
    assert tg.gradcheck(fn, [z]) and tg.gradgradcheck(fn, [z])


def test_clamp(device):
    x = rand64(5, 6, device=device, seed=4) * 2
    x.data = x.data + 0.05 * (np.abs(np.abs(x.numpy()) - 1) < 0.05)  # keep off the bounds
    y = x.clamp(-1.0, 1.0)
    np.testing.assert_array_equal(y.numpy(), np.clip(x.numpy(), -1, 1))
    g, = tg.grad(y.sum(), x)
    np.testing.assert_array_equal(g.numpy(), (np.abs(x.numpy()) <= 1).astype(float))
    assert tg.gradcheck(lambda x: tg.clamp(x, -1.0, 1.0) ** 2, [x])
    assert tg.gradgradcheck(lambda x: tg.clamp(x, -1.0, 1.0) ** 2, [x])
    np.testing.assert_array_equal(x.clamp(min=0.0).numpy(), np.maximum(x.numpy(), 0.0))


def test_binary_cross_entropy(device):
    p = rand64(4, 5, device=device, seed=5, low=0.05, high=0.95)
    t = rand64(4, 5, device=device, seed=6, low=0.0, high=1.0, requires_grad=False)
    pn, tn = p.numpy(), t.numpy()
    ref = -(tn * np.log(pn) + (1 - tn) * np.log(1 - pn))
    np.testing.assert_allclose(F.binary_cross_entropy(p, t, reduction="none").numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(F.binary_cross_entropy(p, t).item(), ref.mean(), rtol=1e-12)
    # Away from the bounds, the clamp leaves the exact gradients of every order.
    fn = lambda p: F.binary_cross_entropy(p, t, reduction="sum")  # noqa: E731
    assert tg.gradcheck(fn, [p]) and tg.gradgradcheck(fn, [p])
    g, = tg.grad(fn(p), p)
    np.testing.assert_allclose(g.numpy(), (pn - tn) / (pn * (1 - pn)), rtol=1e-10)
    with pytest.raises(ValueError, match="target"):
        F.binary_cross_entropy(p, rand64(5, 4, device=device))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_at_the_bounds(dtype, device):
    # PyTorch's values: each log is floored at -100, so p = 0 or 1 costs at most 100 nats.
    p = tg.tensor([0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype, device=device, requires_grad=True)
    t = tg.tensor([0.0, 1.0, 0.0, 1.0, 0.25, 0.75, 0.3], dtype=dtype, device=device)
    loss = F.binary_cross_entropy(p, t, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 100.0, 100.0, 0.0, 25.0, 25.0, np.log(2)], rtol=1e-6)
    assert loss.dtype == np.dtype(dtype)
    # PyTorch's backward (p - t) / max(p (1 - p), 1e-12): finite, never nan, at p = 0 and 1.
    g, = tg.grad(loss, p, grad_outputs=tg.tensor(np.ones(7), dtype=dtype, device=device))
    np.testing.assert_allclose(g.numpy(), [0.0, -1e12, 1e12, 0.0, -0.25e12, 0.25e12, 0.2 / 0.25], rtol=1e-6)


def test_binary_cross_entropy_keeps_the_gradient_of_a_saturated_sigmoid(device):
    # sigmoid(±18) is within 1.6e-8 of 0 or 1: a clamp of p into [1e-7, 1 - 1e-7]
    # would make d loss / d logit exactly 0 here; the right value is sigmoid(x) - t.
    logits = np.random.default_rng(12).uniform(16.5, 20.0, (2, 4)) * np.array([[1.0], [-1.0]])  # both tails
    x = tg.tensor(logits, dtype="float64", device=device, requires_grad=True)
    t = rand64(2, 4, device=device, seed=13, low=0.0, high=1.0, requires_grad=False)
    fn = lambda x: F.binary_cross_entropy(F.sigmoid(x), t, reduction="none")  # noqa: E731
    cot = tg.tensor(np.random.default_rng(14).standard_normal((2, 4)), dtype="float64", device=device)
    g, = tg.grad(fn(x), x, grad_outputs=cot)
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(g.numpy(), cot.numpy() * (s - t.numpy()), rtol=1e-6)
    np.testing.assert_allclose(fn(x).numpy(), F.binary_cross_entropy_with_logits(x, t, reduction="none").numpy(),
                               rtol=1e-6)
    # eps 1e-3: log(1 - p) of a p stored to 1e-16 is only good to ~1e-8 here, and the
    # curvature in x (s(1 - s) ~ 1e-8) makes the truncation error negligible.
    assert tg.gradcheck(fn, [x], eps=1e-3) and tg.gradgradcheck(fn, [x], eps=1e-3)


def test_binary_cross_entropy_derivatives_near_the_bounds(device):
    # p within 1e-5..1e-4 of 0 and of 1 (an old clamp at 1e-7 would pass these;
    # the ones of the test above it would not), target differentiated too.
    rng = np.random.default_rng(15)
    d = rng.uniform(1e-5, 1e-4, (2, 3))
    p = tg.tensor(np.concatenate([d, 1 - d]), dtype="float64", device=device, requires_grad=True)
    t = rand64(4, 3, device=device, seed=16, low=0.0, high=1.0)
    fn = lambda p, t: F.binary_cross_entropy(p, t, reduction="none")  # noqa: E731
    assert tg.gradcheck(fn, [p, t], eps=1e-9, rtol=1e-4)
    assert tg.gradgradcheck(fn, [p, t], eps=1e-9, rtol=1e-3)


def test_kl_divergence(device):
    mu, logvar = rand64(3, 4, device=device, seed=7), rand64(3, 4, device=device, seed=8) * 0.5
    m, lv = mu.numpy(), logvar.numpy()
    ref = -0.5 * (1 + lv - m ** 2 - np.exp(lv))
    np.testing.assert_allclose(F.kl_divergence(mu, logvar, reduction="none").numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(F.kl_divergence(mu, logvar).item(), ref.sum() / 3, rtol=1e-12)  # batchmean
    # Against a general prior, and KL(q || q) = 0.
    mp, lp = rand64(3, 4, device=device, seed=9), rand64(3, 4, device=device, seed=10) * 0.5
    ref2 = 0.5 * (lp.numpy() - lv + (np.exp(lv) + (m - mp.numpy()) ** 2) / np.exp(lp.numpy()) - 1)
    np.testing.assert_allclose(F.kl_divergence(mu, logvar, mp, lp, reduction="sum").item(), ref2.sum(),
                               rtol=1e-12)
    assert abs(F.kl_divergence(mu, logvar, mu, logvar, reduction="sum").item()) < 1e-12
    for fn in (lambda a, b: F.kl_divergence(a, b), lambda a, b: F.kl_divergence(a, b, mp, lp, "none")):
        assert tg.gradcheck(fn, [mu, logvar]) and tg.gradgradcheck(fn, [mu, logvar])
    with pytest.raises(ValueError, match=r"logvar: expected shape \(3, 4\)"):
        F.kl_divergence(mu, rand64(4, 3, device=device))


def test_log_softmax_and_cross_entropy(device):
    x = rand64(5, 4, device=device, seed=11) * 3
    xn = x.numpy()
    ref_lsm = xn - np.log(np.exp(xn).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(F.log_softmax(x, dim=1).numpy(), ref_lsm, rtol=1e-12)
    t = np.array([0, 3, 1, 1, 2])
    ref = -ref_lsm[np.arange(5), t]
    np.testing.assert_allclose(F.cross_entropy(x, t, reduction="none").numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy(x, t).item(), ref.mean(), rtol=1e-12)
    # d/dx = softmax(x) - one_hot(t), per sample, over N for the mean
    g, = tg.grad(F.cross_entropy(x, t), x)
    np.testing.assert_allclose(g.numpy(), (np.exp(ref_lsm) - np.eye(4)[t]) / 5, rtol=1e-10)
    for fn in (lambda x: F.log_softmax(x, dim=1), lambda x: F.cross_entropy(x, t, reduction="none")):
        assert tg.gradcheck(fn, [x]) and tg.gradgradcheck(fn, [x])
    # Stable for huge logits.
    big = tg.tensor([[1000.0, 0.0]], dtype="float64", device=device)
    assert abs(F.cross_entropy(big, np.array([0])).item()) < 1e-12
    with pytest.raises(ValueError, match=r"target: class indices must lie in \[0, 4\)"):
        F.cross_entropy(x, np.array([0, 4, 1, 1, 2]))
    with pytest.raises(ValueError, match="target: expected integer class indices"):
        F.cross_entropy(x, np.zeros(5))
    with pytest.raises(ValueError, match=r"target: expected integer class indices of shape \(\) or class probabilities"):
        F.cross_entropy(x.reshape(20), t)

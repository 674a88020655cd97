"""The Tensor methods and ``tg.*`` functions in PyTorch's spelling.

Every differentiable one: its value against NumPy, and its first and second
derivatives against finite differences (float64, random cotangents drawn by
``tg.gradcheck``). The rest (sizes, dtypes, index results, in-place methods,
creation functions): values that a wrong dim, a wrong default or a swapped
argument would change.
"""
import numpy as np
import pytest

import tinygen as tg
from conftest import rand64


def R(*shape, **kw):
    return lambda device, seed: rand64(*shape, device=device, seed=seed, **kw)


def check(fn, ref, makers, device):
    inputs = [make(device, seed) for seed, make in enumerate(makers)]
    out = fn(*inputs)
    expected = ref(*[x.numpy() for x in inputs])
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


def _np_repeat(x, reps):
    return np.tile(x, reps)


CASES = [
    ("sum_dim_keepdim", lambda x: x.sum(dim=1, keepdim=True), lambda x: x.sum(axis=1, keepdims=True), [R(3, 4)]),
    ("sum_dims_tuple", lambda x: x.sum(dim=(0, 2)), lambda x: x.sum(axis=(0, 2)), [R(2, 3, 4)]),
    ("tg_sum_negative_dim", lambda x: tg.sum(x, -1), lambda x: x.sum(axis=-1), [R(2, 3, 4)]),
    ("mean_dim_tuple", lambda x: x.mean(dim=(2, 3)), lambda x: x.mean(axis=(2, 3)), [R(2, 3, 2, 2)]),
    ("var_unbiased", lambda x: x.var(dim=1), lambda x: x.var(axis=1, ddof=1), [R(3, 5)]),
    ("var_biased", lambda x: x.var(dim=1, unbiased=False, keepdim=True),
     lambda x: x.var(axis=1, ddof=0, keepdims=True), [R(3, 5)]),
    ("var_correction_0", lambda x: x.var(correction=0), lambda x: x.var(), [R(3, 5)]),
    ("std_dim", lambda x: x.std(dim=0), lambda x: x.std(axis=0, ddof=1), [R(4, 3)]),
    ("amax_dim", lambda x: x.amax(dim=1), lambda x: x.max(axis=1), [R(3, 5)]),
    ("amin_dims_keepdim", lambda x: x.amin(dim=(0, 1), keepdim=True),
     lambda x: x.min(axis=(0, 1), keepdims=True), [R(3, 4, 2)]),
    ("max_all", lambda x: x.max(), lambda x: x.max(), [R(3, 4)]),
    ("max_dim_values", lambda x: x.max(dim=1).values, lambda x: x.max(axis=1), [R(3, 5)]),
    ("max_dim_keepdim_values", lambda x: x.max(1, keepdim=True)[0], lambda x: x.max(axis=1, keepdims=True),
     [R(3, 5)]),
    ("min_dim_values", lambda x: tg.min(x, dim=0).values, lambda x: x.min(axis=0), [R(4, 3)]),
    ("max_other", lambda a, b: tg.max(a, b), np.maximum, [R(3, 4), R(3, 4, low=-3, high=-2.5)]),
    ("minimum", lambda a, b: tg.minimum(a, b), np.minimum, [R(3, 4), R(4, low=2.5, high=3)]),
    ("logsumexp_dim", lambda x: x.logsumexp(dim=1),
     lambda x: np.log(np.exp(x).sum(axis=1)), [R(3, 4)]),
    ("norm_2", lambda x: x.norm(), lambda x: np.sqrt((x * x).sum()), [R(3, 4)]),
    ("norm_1_dim", lambda x: x.norm(p=1, dim=1), lambda x: np.abs(x).sum(axis=1), [R(3, 4, away_from=0.0)]),
    ("transpose_0_1", lambda x: x.transpose(0, 1), lambda x: x.T, [R(3, 4)]),
    ("transpose_1_2", lambda x: x.transpose(1, 2), lambda x: x.transpose(0, 2, 1), [R(2, 3, 4)]),
    ("tg_transpose_negative", lambda x: tg.transpose(x, -1, 0), lambda x: x.transpose(2, 1, 0), [R(2, 3, 4)]),
    ("permute", lambda x: x.permute(0, 2, 3, 1), lambda x: x.transpose(0, 2, 3, 1), [R(2, 3, 2, 2)]),
    ("mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), [R(2, 3, 4)]),
    ("flatten_all", lambda x: x.flatten(), lambda x: x.reshape(-1), [R(2, 3, 4)]),
    ("flatten_start_1", lambda x: tg.flatten(x, 1), lambda x: x.reshape(2, -1), [R(2, 3, 4)]),
    ("view", lambda x: x.view(4, -1), lambda x: x.reshape(4, -1), [R(2, 3, 4)]),
    ("view_tuple", lambda x: x.view((6, 4)), lambda x: x.reshape(6, 4), [R(2, 3, 4)]),
    ("unflatten", lambda x: x.unflatten(1, (3, 4)), lambda x: x.reshape(2, 3, 4), [R(2, 12)]),
    ("unsqueeze", lambda x: x.unsqueeze(1), lambda x: x[:, None], [R(3, 4)]),
    ("unsqueeze_last", lambda x: x.unsqueeze(-1), lambda x: x[..., None], [R(3, 4)]),
    ("squeeze_all", lambda x: x.squeeze(), lambda x: x.reshape(3, 4), [R(1, 3, 1, 4)]),
    ("squeeze_dim", lambda x: x.squeeze(2), lambda x: x.reshape(1, 3, 4), [R(1, 3, 1, 4)]),
    ("expand", lambda x: x.expand(3, -1, 4), lambda x: np.broadcast_to(x, (3, 2, 4)), [R(2, 1)]),
    ("expand_as", lambda x, y: x.expand_as(y) * y, lambda x, y: x * y, [R(1, 4), R(3, 4)]),
    ("repeat", lambda x: x.repeat(2, 3), lambda x: _np_repeat(x, (2, 3)), [R(2, 3)]),
    ("repeat_new_dim", lambda x: x.repeat(2, 1, 2), lambda x: _np_repeat(x, (2, 1, 2)), [R(2, 3)]),
    ("chunk_last_smaller", lambda x: x.chunk(3, dim=1)[2], lambda x: x[:, 4:], [R(2, 5)]),
    ("split_sizes", lambda x: x.split([1, 3], dim=0)[1], lambda x: x[1:], [R(4, 2)]),
    ("split_int", lambda x: tg.split(x, 2, dim=1)[1], lambda x: x[:, 2:4], [R(2, 5)]),
    ("cat_dim1", lambda a, b: tg.cat([a, b], dim=1), lambda a, b: np.concatenate([a, b], 1), [R(2, 3), R(2, 2)]),
    ("stack_dim1", lambda a, b: tg.stack((a, b), dim=1), lambda a, b: np.stack([a, b], 1), [R(2, 3), R(2, 3)]),
    ("clone", lambda x: x.clone() * 2, lambda x: x * 2, [R(3,)]),
    ("square", lambda x: x.square(), np.square, [R(3, 4)]),
    ("rpow", lambda x: 2 ** x, lambda x: 2.0 ** x, [R(3, 4)]),
    ("abs_builtin", lambda x: abs(x), np.abs, [R(3, 4, away_from=0.0)]),
    ("lerp", lambda a, b, w: tg.lerp(a, b, w), lambda a, b, w: a + w * (b - a), [R(3), R(3), R(3)]),
    ("masked_fill", lambda x: x.masked_fill(tg.tensor([True, False, True]), 0.5),
     lambda x: np.where([True, False, True], 0.5, x), [R(2, 3)]),
    ("where_method", lambda a, b: a.where(tg.tensor([[True, False, True]]), b),
     lambda a, b: np.where([[True, False, True]], a, b), [R(2, 3), R(2, 3)]),
    ("clamp_min_only", lambda x: x.clamp(min=0.25), lambda x: np.maximum(x, 0.25), [R(3, 4, away_from=0.25)]),
]


@pytest.mark.parametrize("fn, ref, makers", [pytest.param(f, r, m, id=n) for n, f, r, m in CASES])
def test_op_value_and_two_orders(fn, ref, makers, device):
    check(fn, ref, makers, device)


def test_max_dim_returns_values_and_indices():
    x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]  # the first of a tie
    assert indices.dtype == tg.int64
    values.backward(tg.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [10.0, 0.0, 0.0]]  # only the selected entry
    m = x.min(1, keepdim=True)
    assert m.values.shape == (2, 1) and m.indices.tolist() == [[0], [1]]


def test_amax_splits_ties_and_max_all_too():
    x = tg.tensor([3.0, 1.0, 3.0], requires_grad=True)
    x.amax().backward()
    assert x.grad.tolist() == [0.5, 0.0, 0.5]


def test_argmax_argmin():
    x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 9.0]])
    assert x.argmax().item() == 5                      # into the flattened tensor
    assert x.argmax(dim=1).tolist() == [1, 2]
    assert tg.argmin(x, dim=0, keepdim=True).tolist() == [[0, 1, 0]]


def test_sizes():
    x = tg.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4
    assert x.numel() == 24 and tg.numel(x) == 24 and x.dim() == 3 and x.ndim == 3
    with pytest.raises(IndexError, match="dim: expected a value in \\[-3, 2\\], got 3"):
        x.size(3)


def test_chunk_and_split_pieces():
    x = tg.arange(10)
    assert [c.tolist() for c in x.chunk(3)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [c.numel() for c in tg.chunk(tg.arange(6), 4)] == [2, 2, 2]   # fewer pieces, as PyTorch
    assert [c.tolist() for c in x.split(4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(ValueError, match="split_size_or_sections: expected sizes adding up to 10"):
        x.split([3, 3])


def test_shape_errors_name_the_argument():
    x = tg.zeros(2, 3)
    with pytest.raises(ValueError, match="dims: expected a permutation of 0..1, got \\(0, 0\\)"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match="sizes: dim 1 has size 3"):
        x.expand(2, 4)
    with pytest.raises(ValueError, match="repeats: expected at least 2 values"):
        x.repeat(2)
    with pytest.raises(ValueError, match="tensors\\[1\\]: expected shape matching \\(2, 3\\) except on dim 0"):
        tg.cat([x, tg.zeros(2, 4)])
    with pytest.raises(ValueError, match="tensors\\[1\\]: expected shape \\(2, 3\\)"):
        tg.stack([x, tg.zeros(3, 2)])
    with pytest.raises(ValueError, match="dim: expected values in \\[-2, 2\\)"):
        x.sum(dim=2)
    with pytest.raises(ValueError, match="sizes: expected sizes whose product is 3"):
        x.unflatten(1, (2, 2))


def test_comparisons_and_truth_values():
    a, b = tg.tensor([1.0, 2.0, 3.0]), tg.tensor([1.0, 0.0, 3.0])
    assert (a == b).tolist() == [True, False, True] and (a != b).tolist() == [False, True, False]
    assert (a > 1).any() and not (a > 1).all() and bool((a > 0).all())
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(a > 1)
    assert {a: 1}[a] == 1          # hashable by identity (dict keys, optimizer state)
    assert float(a[1]) == 2.0 and int(a[2]) == 3 and a.sum().item() == 6.0


def test_creation_defaults_follow_pytorch():
    assert tg.arange(5).dtype == tg.int64 and tg.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tg.arange(1.0, 4.0).dtype == tg.float32
    assert tg.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert tg.full((2, 2), 7).dtype == tg.int64 and tg.full((2,), 0.5).dtype == tg.float32
    assert tg.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    x = tg.zeros(2, 3, dtype=tg.float64)
    assert tg.ones_like(x).dtype == tg.float64 and tg.zeros_like(x, dtype=tg.float32).dtype == tg.float32
    assert tg.full_like(x, 3.0).tolist() == [[3.0] * 3] * 2
    assert tg.randn_like(x).shape == (2, 3) and tg.rand_like(x).dtype == tg.float64
    tg.manual_seed(0)
    r = tg.randint(0, 3, (1000,))
    assert r.dtype == tg.int64 and set(r.tolist()) == {0, 1, 2}
    assert sorted(tg.randperm(6).tolist()) == list(range(6))
    a = np.zeros(3, np.float32)
    t = tg.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 5.0                        # shares memory, as PyTorch
    assert x.new_ones(4).dtype == tg.float64 and x.new_zeros((1, 2)).shape == (1, 2)


def test_to_and_casts():
    x = tg.tensor([1.5, -2.0], requires_grad=True)
    assert x.to(tg.float64).dtype == tg.float64 and x.double().dtype == tg.float64
    assert x.long().tolist() == [1, -2] and x.to("cpu") is x and x.to(x) is x
    y = x.to("cpu", tg.float64)
    y.backward(tg.tensor([1.0, 2.0], dtype=tg.float64))
    assert x.grad.dtype == tg.float32 and x.grad.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="to: expected a device"):
        x.to(object())


def test_in_place_methods_only_outside_the_graph():
    w = tg.tensor([1.0, -3.0, 0.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="clamp_: an in-place op on a tensor that requires grad"):
        w.clamp_(-1, 1)
    with tg.no_grad():
        assert w.clamp_(-1, 1) is w
        w.mul_(2).add_(tg.tensor([1.0, 1.0, 1.0]), alpha=0.5)
    assert w.tolist() == [2.5, -1.5, 1.5]
    ema = tg.zeros(3)
    ema.lerp_(tg.tensor([1.0, 2.0, 4.0]), 0.25)
    assert ema.tolist() == [0.25, 0.5, 1.0]
    g = tg.ones(2)
    assert g.zero_().tolist() == [0.0, 0.0] and g.fill_(3).tolist() == [3.0, 3.0]
    g.copy_(tg.tensor([5.0, 6.0]))
    assert g.tolist() == [5.0, 6.0]
    g[tg.tensor([1])] = 7.0                             # a Tensor index is unwrapped
    assert g.tolist() == [5.0, 7.0]
    with pytest.raises(RuntimeError, match="setitem: an in-place op on a tensor that requires grad"):
        w[0] = 0.0


def test_grad_mode_helpers():
    x = tg.ones(2, requires_grad=True)
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with tg.set_grad_enabled(True):
        assert (x * 2).requires_grad
    y = (x * 3).sum()
    assert y.grad_fn is y.creator and y.grad_fn is not None
    g, = tg.autograd.grad(y, x)
    assert g.tolist() == [3.0, 3.0]
    assert tg.is_tensor(x) and not tg.is_tensor(x.data)
    assert tg.isfinite(tg.tensor([1.0, float("inf")])).tolist() == [True, False]
    assert tg.isnan(tg.tensor([float("nan"), 0.0])).tolist() == [True, False]

"""Tests for tinygen.nn: layer derivatives (first and second order, w.r.t. the
input and every parameter, float64), BatchNorm statistics, the Module API,
initialisation, shape errors, and float32 discipline through a GAN step.
"""
import re
from collections import OrderedDict

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.autograd import Function, Tensor
from tinygen.gradcheck import GradcheckError
from tinygen.utils.gan import dcgan_init

from conftest import rand64


def _randomize_affine(m, seed=1):
    """Non-trivial BN/LN scales and shifts: weight ~ 1 + 0.3 N(0,1), bias ~ 0.3 N(0,1).

    With weight = 1 and bias = 0 some wrong backwards still pass.
    """
    rng = np.random.default_rng(seed)
    m.weight.data = (1 + 0.3 * rng.standard_normal(m.weight.shape)).astype(m.weight.dtype)
    m.bias.data = (0.3 * rng.standard_normal(m.bias.shape)).astype(m.bias.dtype)
    return m


def _bn(cls, c, seed=1):
    return _randomize_affine(cls(c), seed)


def _bn_eval(cls, c):
    m = _bn(cls, c)
    rng = np.random.default_rng(2)
    m.running_mean = tg.tensor(rng.standard_normal(c).astype(np.float32))
    m.running_var = tg.tensor(rng.uniform(0.5, 2.0, c).astype(np.float32))
    return m.eval()


def _act_stack(act):
    return nn.Sequential(nn.Flatten(), act, nn.Unflatten(1, (2, 4, 5)))


# (id, module factory, input shape, keep inputs away from 0 (ReLU kinks))
LAYERS = [
    ("linear", lambda: nn.Linear(4, 5), (3, 4), False),
    ("linear_3d_input", lambda: nn.Linear(4, 3), (2, 3, 4), False),
    ("conv2d", lambda: nn.Conv2d(2, 3, 3), (3, 2, 4, 5), False),
    ("conv2d_nobias_s2p1", lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1, bias=False), (3, 2, 4, 5), False),
    ("conv2d_s2p1", lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (3, 2, 4, 5), False),
    ("conv_transpose2d", lambda: nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1), (3, 2, 3, 4), False),
    ("conv_transpose2d_nobias", lambda: nn.ConvTranspose2d(2, 2, 3, bias=False), (2, 2, 3, 3), False),
    ("upsample_conv2d", lambda: nn.UpsampleConv2d(2, 3), (2, 2, 3, 4), False),
    ("bn1d_train_2d", lambda: _bn(nn.BatchNorm1d, 3), (5, 3), False),
    ("bn1d_train_3d", lambda: _bn(nn.BatchNorm1d, 2), (3, 2, 4), False),
    ("bn2d_train", lambda: _bn(nn.BatchNorm2d, 2), (3, 2, 4, 5), False),
    ("bn1d_eval", lambda: _bn_eval(nn.BatchNorm1d, 3), (4, 3), False),
    ("bn2d_eval", lambda: _bn_eval(nn.BatchNorm2d, 2), (3, 2, 4, 5), False),
    ("layernorm_int", lambda: _randomize_affine(nn.LayerNorm(5)), (3, 2, 5), False),
    ("layernorm_tuple", lambda: _randomize_affine(nn.LayerNorm((4, 5))), (3, 2, 4, 5), False),
    ("relu", lambda: _act_stack(nn.ReLU()), (3, 2, 4, 5), True),
    ("leaky_relu", lambda: _act_stack(nn.LeakyReLU(0.2)), (3, 2, 4, 5), True),
    ("tanh", lambda: _act_stack(nn.Tanh()), (3, 2, 4, 5), False),
    ("sigmoid", lambda: _act_stack(nn.Sigmoid()), (3, 2, 4, 5), False),
    ("upsample", lambda: nn.Upsample(scale_factor=2), (3, 2, 4, 5), False),
    ("avgpool2d", lambda: nn.AvgPool2d(2), (3, 2, 4, 5), False),
    ("avgpool2d_k3s2p1", lambda: nn.AvgPool2d(3, stride=2, padding=1), (3, 2, 4, 5), False),
]


def _setup(factory, shape, away, device, seed=0):
    tg.manual_seed(seed)
    m = factory().double().to(device)
    x = rand64(*shape, device=device, seed=seed + 10, away_from=0.0 if away else None)
    return m, [x, *m.parameters()]


@pytest.mark.parametrize("factory, shape, away", [p[1:] for p in LAYERS], ids=[p[0] for p in LAYERS])
def test_layer_gradcheck(factory, shape, away, device):
    m, inputs = _setup(factory, shape, away, device)
    assert all(p.dtype == np.float64 for p in inputs)
    assert tg.gradcheck(lambda x, *ps: m(x), inputs, max_full=400)


@pytest.mark.parametrize("factory, shape, away", [p[1:] for p in LAYERS], ids=[p[0] for p in LAYERS])
def test_layer_gradgradcheck(factory, shape, away, device):
    m, inputs = _setup(factory, shape, away, device)
    # Element by element over inputs, parameters and the cotangent (tiny shapes).
    assert tg.gradgradcheck(lambda x, *ps: m(x), inputs, max_full=1000)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (4, 2)), (nn.BatchNorm1d, (3, 2, 2)),
                                        (nn.BatchNorm2d, (3, 1, 2, 2))])
def test_batchnorm_train_second_derivative_full(cls, shape, device):
    """Every second partial (x, weight, bias, cotangent) of train-mode BN, element by element.

    Batch >= 3 and a random cotangent: with an all-ones cotangent or a batch
    of 1-2 a fused backward that treats mean/inv-std as constants can pass.
    """
    m, inputs = _setup(lambda: _bn(cls, shape[1], seed=3), shape, False, device, seed=4)
    assert shape[0] >= 3 and not np.allclose(m.weight.numpy(), 1.0)
    assert sum(int(np.prod(t.shape)) for t in inputs) + int(np.prod(shape)) <= 256  # full check, not directional
    assert tg.gradgradcheck(lambda x, *ps: m(x), inputs)


class _FusedBNConstStats(Function):
    """The classic fused-backward bug: x_hat and 1/std saved as constants in the backward."""

    def forward(self, x):
        mu, var = x.mean(0), x.var(0)
        self.istd = 1.0 / np.sqrt(var + 1e-5)
        self.xhat = (x - mu) * self.istd
        return self.xhat

    def backward(self, gy):
        xhat, istd = Tensor(self.xhat), Tensor(self.istd)
        return istd * (gy - gy.mean(0) - xhat * (gy * xhat).mean(0))


def test_gradgradcheck_catches_fused_batchnorm_backward():
    # Guards the test above: the buggy BN has a right first derivative, a wrong second.
    x = rand64(4, 3, seed=5)
    assert tg.gradcheck(lambda x: _FusedBNConstStats()(x), [x])
    with pytest.raises(GradcheckError):
        tg.gradgradcheck(lambda x: _FusedBNConstStats()(x), [x])


def test_upsample_conv2d_equals_upsample_then_conv():
    tg.manual_seed(0)
    uc = nn.UpsampleConv2d(3, 4).double()
    ref = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(3, 4, 3, padding=1)).double()
    ref.load_state_dict({"1." + k: v for k, v in uc.state_dict().items()})
    x = rand64(2, 3, 5, 6, requires_grad=False)
    np.testing.assert_allclose(uc(x).numpy(), ref(x).numpy(), rtol=1e-12, atol=1e-12)
    assert uc(x).shape == (2, 4, 10, 12)


# ---------------------------------------------------------------- BatchNorm statistics
def test_batchnorm_running_stats_pytorch_semantics():
    bn = nn.BatchNorm2d(3, momentum=0.1)
    x = np.random.default_rng(0).normal(2.0, 3.0, (4, 3, 5, 6)).astype(np.float32)
    bn(tg.tensor(x))
    mean = x.astype(np.float64).mean(axis=(0, 2, 3))
    var_unbiased = x.astype(np.float64).var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 * 1.0 + 0.1 * var_unbiased, rtol=1e-5)
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_batchnorm1d_running_stats_3d():
    bn = nn.BatchNorm1d(2, momentum=0.3)
    x = np.random.default_rng(1).normal(1.0, 2.0, (3, 2, 4))
    bn.double()(tg.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.3 * x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.7 + 0.3 * x.var(axis=(0, 2), ddof=1), rtol=1e-12)


def test_batchnorm_train_output_uses_biased_batch_stats():
    bn = _randomize_affine(nn.BatchNorm1d(3)).double()
    x = np.random.default_rng(2).normal(1.0, 2.0, (6, 3))
    y = bn(tg.tensor(x)).numpy()
    ref = (x - x.mean(0)) / np.sqrt(x.var(0) + bn.eps) * bn.weight.numpy() + bn.bias.numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


def test_batchnorm_eval_uses_running_stats():
    bn = _bn_eval(nn.BatchNorm2d, 3).double()
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4))
    before = (bn.running_mean.numpy().copy(), bn.running_var.numpy().copy())
    y = bn(tg.tensor(x)).numpy()
    c = (1, -1, 1, 1)
    ref = ((x - before[0].reshape(c)) / np.sqrt(before[1].reshape(c) + bn.eps)
           * bn.weight.numpy().reshape(c) + bn.bias.numpy().reshape(c))
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    # eval mode must not touch the running statistics, nor count the batch
    assert np.array_equal(bn.running_mean.numpy(), before[0]) and np.array_equal(bn.running_var.numpy(), before[1])
    assert bn.num_batches_tracked.item() == 0


@pytest.mark.parametrize("bn, shape", [(nn.BatchNorm2d(3), (2, 4, 5, 5)), (nn.BatchNorm1d(3), (2, 4)),
                                       (nn.BatchNorm1d(3), (2, 3, 4, 4)), (nn.BatchNorm2d(3), (2, 3, 5))])
def test_batchnorm_wrong_input_raises(bn, shape):
    with pytest.raises(ValueError, match=r"input: expected .*C = 3.*" + re.escape(str(shape))):
        bn(tg.zeros(*shape))


def test_layernorm_wrong_trailing_shape_raises():
    with pytest.raises(ValueError, match=r"input: .*\(4, 5\).*" + re.escape("(2, 5, 4)")):
        nn.LayerNorm((4, 5))(tg.zeros(2, 5, 4))
    with pytest.raises(ValueError, match="input: "):
        nn.LayerNorm(5)(tg.zeros(2, 4))


def test_layernorm_normalises_each_sample_over_trailing_dims():
    ln = nn.LayerNorm((4, 5)).double()
    x = np.random.default_rng(4).normal(3.0, 2.0, (3, 2, 4, 5))
    y = ln(tg.tensor(x)).numpy()
    ref = (x - x.mean((2, 3), keepdims=True)) / np.sqrt(x.var((2, 3), keepdims=True) + ln.eps)
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- Module API
def _nested():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Sequential(nn.ReLU(), nn.Linear(4, 2)))


def test_named_parameters_nested():
    m = _nested()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "2.1.weight", "2.1.bias"]
    assert [id(p) for p in m.parameters()] == [id(p) for _, p in m.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())


def test_state_dict_includes_buffers_and_round_trips():
    tg.manual_seed(0)
    m = _nested()
    x = tg.randn(6, 3)
    m(x)  # train-mode forward: moves the running statistics off 0 / 1
    sd = m.state_dict()
    # PyTorch's order: per module its parameters, then its buffers, depth first
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                        "1.num_batches_tracked", "2.1.weight", "2.1.bias"]
    assert sd["1.num_batches_tracked"].dtype == np.int64 and sd["1.num_batches_tracked"] == 1
    assert not np.allclose(sd["1.running_mean"], 0)
    tg.manual_seed(1)
    fresh = _nested()
    assert not np.array_equal(fresh.state_dict()["0.weight"], sd["0.weight"])
    fresh.load_state_dict(sd)
    m.eval(), fresh.eval()  # eval mode: outputs depend on the buffers too
    assert np.array_equal(m(x).numpy(), fresh(x).numpy())
    sd["0.weight"][:] = 0  # state_dict holds copies, not views of the parameters
    assert not np.allclose(m[0].weight.numpy(), 0)


def test_load_state_dict_errors():
    m = _nested()
    sd = m.state_dict()
    bad = dict(sd, **{"2.1.weight": np.zeros((3, 4), np.float32)})
    with pytest.raises(ValueError, match=re.escape("2.1.weight")):
        m.load_state_dict(bad)
    bad = dict(sd, **{"1.running_var": np.zeros(5, np.float32)})
    with pytest.raises(ValueError, match="1.running_var"):
        m.load_state_dict(bad)
    missing = {k: v for k, v in sd.items() if k != "1.running_mean"}
    with pytest.raises(KeyError, match="1.running_mean"):
        m.load_state_dict(missing)


def test_train_eval_propagate():
    m = _nested()
    assert all(s.training for s in m.modules())
    assert m.eval() is m and not any(s.training for s in m.modules())
    m.train()
    assert all(s.training for s in m.modules())
    m[2].train(False)  # a submodule alone
    assert m.training and m[1].training and not m[2].training and not m[2][1].training
    with pytest.raises(ValueError, match="mode: expected a bool"):
        m.train("no")


def test_requires_grad_false_freezes_params_and_zero_grad():
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x = tg.randn(5, 3, requires_grad=True)
    m.requires_grad_(False)
    m(x).sum().backward()
    assert x.grad is not None
    assert all(p.grad is None and not p.requires_grad for p in m.parameters())
    m.requires_grad_(True)
    m(x).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


# ---------------------------------------------------------------- init
def test_linear_default_init_bounds():
    tg.manual_seed(0)
    lin = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)
    w, b = lin.weight.numpy(), lin.bias.numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.95 * bound  # uses the whole range
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound / np.sqrt(3)  # uniform, not normal
    assert abs(w.mean()) < 0.05 * bound


def test_conv_transpose_fan_in_uses_dim1():
    tg.manual_seed(0)
    w = nn.ConvTranspose2d(64, 32, 4).weight.numpy()
    bound = 1 / np.sqrt(32 * 16)  # PyTorch: fan_in from weight.shape[1] * kH * kW
    assert w.shape == (64, 32, 4, 4)
    assert bound * 0.95 < np.abs(w).max() <= bound
    c = nn.Conv2d(8, 16, 3).weight.numpy()
    assert 0.95 / np.sqrt(8 * 9) < np.abs(c).max() <= 1 / np.sqrt(8 * 9)


def test_dcgan_init():
    tg.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(64, 64, 4), nn.BatchNorm2d(2048), nn.ConvTranspose2d(64, 32, 4),
                      nn.Linear(256, 256), nn.UpsampleConv2d(32, 64), nn.LayerNorm(2048))
    m.apply(dcgan_init)
    for i in (0, 2, 3, 4):
        w = m[i].weight.numpy()
        assert abs(w.std() - 0.02) < 0.002 and abs(w.mean()) < 0.002, i
        assert np.all(m[i].bias.numpy() == 0)
        assert w.dtype == np.float32
    for i in (1, 5):
        w = m[i].weight.numpy()
        assert abs(w.mean() - 1) < 0.002 and abs(w.std() - 0.02) < 0.002
        assert np.all(m[i].bias.numpy() == 0)


def test_manual_seed_makes_init_reproducible():
    def weights(seed):
        tg.manual_seed(seed)
        return nn.Sequential(nn.Linear(5, 4), nn.Conv2d(2, 3, 3)).state_dict()

    a, b, c = weights(7), weights(7), weights(8)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert all(not np.array_equal(a[k], c[k]) for k in a)


# ---------------------------------------------------------------- shape errors
def test_conv2d_channel_mismatch_raises():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"weight: .*5.*" + re.escape("(4, 3, 3, 3)")):
        conv(tg.zeros(2, 5, 8, 8))
    with pytest.raises(ValueError, match=r"weight: .*" + re.escape("(4, 3, 3, 4)")):
        nn.ConvTranspose2d(4, 3, (3, 4))(tg.zeros(2, 3, 8, 8))


def test_unflatten_wrong_size_raises():
    with pytest.raises(ValueError, match=re.escape("(2, 30)")):
        nn.Unflatten(1, (4, 2, 4))(tg.zeros(2, 30))
    assert nn.Unflatten(1, (4, 2, 4))(tg.zeros(2, 32)).shape == (2, 4, 2, 4)


def test_linear_wrong_in_features_raises():
    with pytest.raises(ValueError, match=re.escape("(2, 5)")):
        nn.Linear(4, 3)(tg.zeros(2, 5))


# ---------------------------------------------------------------- float32 discipline
def test_gan_step_stays_float32():
    """One WGAN-GP critic step and one generator step in float32: NumPy 2 promotes
    silently (a 0-d float64 array upcasts float32), so check every array that survives."""
    tg.manual_seed(0)
    G = nn.Sequential(nn.Linear(8, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Unflatten(1, (4, 4, 4)),
                      nn.UpsampleConv2d(4, 2), nn.BatchNorm2d(2), nn.ReLU(), nn.Tanh())
    D = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Flatten(),
                      nn.Linear(4 * 4 * 4, 1))
    opt_g = tg.optim.Adam(G.parameters(), lr=1e-4, betas=(0.0, 0.9))
    opt_d = tg.optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9))
    n = 4
    real = tg.randn(n, 2, 8, 8)
    with tg.no_grad():
        fake = G(tg.randn(n, 8))
    # critic step with gradient penalty (Gulrajani et al. 2017, Alg. 1)
    alpha = tg.rand(n, 1, 1, 1)
    interp = (alpha * real + (1 - alpha) * fake).detach().requires_grad_()
    (g,) = tg.grad(D(interp).sum(), interp, create_graph=True)
    norm = ((g * g).sum((1, 2, 3)) + 1e-12).sqrt()
    penalty = ((norm - 1.0) ** 2).mean() * 10.0
    loss_d = D(fake).mean() - D(real).mean() + penalty
    assert g.dtype == penalty.dtype == loss_d.dtype == np.float32
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    # generator step with the critic frozen
    D.requires_grad_(False)
    opt_g.zero_grad()
    loss_g = -D(G(tg.randn(n, 8))).mean()
    loss_g.backward()
    opt_g.step()
    D.requires_grad_(True)
    assert loss_g.dtype == np.float32

    for name, model, opt in (("G", G, opt_g), ("D", D, opt_d)):
        for pname, p in model.named_parameters():
            assert p.dtype == np.float32, (name, pname)
            assert p.grad is not None and p.grad.dtype == np.float32, (name, pname)
        for bname, b in model.named_buffers():  # the counters stay int64, the statistics float32
            assert b.dtype == (np.int64 if bname.endswith("num_batches_tracked") else np.float32), (name, bname)
        for pname, p in model.named_parameters():
            state = opt.state[p]
            assert state, (name, pname)  # every parameter got an update
            for k, v in state.items():
                assert k == "step" or v.dtype == np.float32, (name, pname, k)
    assert not np.allclose(G[1].running_mean.numpy(), 0)  # the buffers were updated, in float32


# ------------------------------------------------------------- dropout, pooling, embedding, recurrent cells, state
def test_dropout_module_train_and_eval():
    m = nn.Dropout(0.5)
    x = tg.ones(100, 100)
    assert (m(x).numpy() == 0).mean() > 0.4
    m.eval()
    assert m(x) is x
    with pytest.raises(ValueError, match="p: expected a probability"):
        nn.Dropout(1.5)


def test_maxpool_module(device):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.permutation(48).reshape(1, 3, 4, 4) * 1.0, dtype="float64", device=device,
                  requires_grad=True)
    m = nn.MaxPool2d(2)
    assert m(x).shape == (1, 3, 2, 2)
    assert tg.gradcheck(lambda x: m(x), [x]) and tg.gradgradcheck(lambda x: m(x), [x])


def test_embedding(device):
    tg.manual_seed(0)
    e = nn.Embedding(7, 3).double().to(device)
    ids = np.array([[1, 4], [4, 6]])
    np.testing.assert_array_equal(e(ids).numpy(), e.weight.numpy()[ids])
    g, = tg.grad((e(ids) * tg.tensor(np.arange(12.0).reshape(2, 2, 3), device=device)).sum(), e.weight)
    np.testing.assert_array_equal(g.numpy()[4], [3 + 6, 4 + 7, 5 + 8])  # repeated id 4: summed
    assert (g.numpy()[[0, 2, 3, 5]] == 0).all()
    assert tg.gradcheck(lambda w: e(ids), [e.weight]) and tg.gradgradcheck(lambda w: e(ids), [e.weight])
    assert abs(nn.Embedding(1000, 50).weight.numpy().std() - 1) < 0.05  # N(0, 1), as PyTorch
    with pytest.raises(ValueError, match=r"input: expected integers in \[0, 7\)"):
        e(np.array([7]))


def _gru_reference(x, h, wi, wh, bi, bh):
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    gi, gh = x @ wi.T + bi, h @ wh.T + bh
    H = h.shape[1]
    r, z = sig(gi[:, :H] + gh[:, :H]), sig(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


def _lstm_reference(x, h, c, wi, wh, bi, bh):
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    a = x @ wi.T + bi + h @ wh.T + bh
    H = h.shape[1]
    i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
    c2 = f * c + i * g
    return o * np.tanh(c2), c2


def test_gru_cell(device):
    tg.manual_seed(0)
    cell = nn.GRUCell(3, 4).double().to(device)
    x, h = rand64(2, 3, device=device, seed=1), rand64(2, 4, device=device, seed=2)
    ps = [p.numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    np.testing.assert_allclose(cell(x, h).numpy(), _gru_reference(x.numpy(), h.numpy(), *ps), rtol=1e-12)
    assert cell.weight_ih.shape == (12, 3) and np.abs(cell.weight_hh.numpy()).max() <= 0.5  # 1/sqrt(4)
    fn = lambda x, h, *p: cell(x, h)  # noqa: E731
    assert tg.gradcheck(fn, [x, h, *cell.parameters()], max_full=150)
    assert tg.gradgradcheck(fn, [x, h, *cell.parameters()])
    assert cell(x).shape == (2, 4)  # h defaults to zeros
    np.testing.assert_allclose(cell(x[0], h[0]).numpy(), cell(x, h).numpy()[0], rtol=1e-12)  # unbatched
    with pytest.raises(ValueError, match=r"input: expected shape \(N, 3\)"):
        cell(rand64(2, 5, device=device))


def test_lstm_cell(device):
    tg.manual_seed(0)
    cell = nn.LSTMCell(3, 4).double().to(device)
    x = rand64(2, 3, device=device, seed=1)
    h, c = rand64(2, 4, device=device, seed=2), rand64(2, 4, device=device, seed=3)
    ps = [p.numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    h2, c2 = cell(x, (h, c))
    rh, rc = _lstm_reference(x.numpy(), h.numpy(), c.numpy(), *ps)
    np.testing.assert_allclose(h2.numpy(), rh, rtol=1e-12)
    np.testing.assert_allclose(c2.numpy(), rc, rtol=1e-12)
    fn = lambda x, h, c, *p: cell(x, (h, c))  # noqa: E731
    assert tg.gradcheck(fn, [x, h, c, *cell.parameters()])
    assert tg.gradgradcheck(fn, [x, h, c, *cell.parameters()])
    with pytest.raises(ValueError, match=r"hx\[0\]: expected shape \(2, 4\)"):
        cell(x, (rand64(2, 5, device=device), c))


def test_load_state_dict_is_all_or_nothing():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    before = m.state_dict()
    bad = {k: np.ones_like(v) for k, v in before.items()}
    bad["1.running_var"] = np.ones(5, np.float32)  # a late key has the wrong shape
    with pytest.raises(ValueError, match=r"state_dict\['1.running_var'\]: expected shape \(4,\), got \(5,\)"):
        m.load_state_dict(bad)
    after = m.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # nothing was written


def test_shared_parameters_and_modules_are_listed_once():
    """Tied weights (PyTorch semantics): a Parameter or module held twice is listed,
    saved and updated once, and its gradient is the sum over both uses."""
    enc = nn.Linear(4, 3)

    class Tied(nn.Module):
        def __init__(self, linear):
            super().__init__()
            self.weight = linear.weight             # the same Parameter object
            self.bias = nn.Parameter(np.zeros(4, np.float32))

        def forward(self, h):
            return F.linear(h, self.weight.T, self.bias)

    model = nn.Sequential(enc, Tied(enc))
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    shared_module = nn.Sequential(enc, nn.ReLU(), enc)  # one Linear registered twice
    assert [n for n, _ in shared_module.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(shared_module.modules())) == 3
    # state_dict lists a tied Parameter under each of its names, as PyTorch does
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert list(shared_module.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model.load_state_dict({k: v + 1 for k, v in state.items()})
    np.testing.assert_allclose(model[1].weight.numpy(), state["0.weight"] + 1)
    # one optimizer step with the summed gradient
    x = tg.randn(5, 4)
    opt = optim.SGD(model.parameters(), lr=0.1)
    w0 = enc.weight.numpy().copy()
    loss = ((model(x) - x) ** 2).mean()
    g, = tg.grad(loss, [enc.weight], retain_graph=True)
    opt.zero_grad()
    loss.backward()
    opt.step()
    np.testing.assert_allclose(enc.weight.numpy(), w0 - 0.1 * g.numpy(), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- Module API, as PyTorch
def test_traversals_are_iterators():
    m = _nested()
    for it in (m.parameters(), m.named_parameters(), m.modules(), m.named_modules(), m.buffers(),
               m.named_buffers(), m.children(), m.named_children()):
        assert iter(it) is it  # an iterator, not a list
    assert next(m.parameters()) is m[0].weight
    assert [n for n, _ in m.named_children()] == ["0", "1", "2"]
    assert [n for n, _ in m.named_modules()] == ["", "0", "1", "2", "2.0", "2.1"]
    assert [n for n, _ in m.named_buffers()] == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert [n for n, _ in m[2].named_parameters(prefix="head")] == ["head.1.weight", "head.1.bias"]
    assert list(m.parameters(recurse=False)) == [] and len(list(m[0].parameters(recurse=False))) == 2


def test_buffers_are_tensors_and_register_buffer():
    bn = nn.BatchNorm1d(3)
    assert isinstance(bn.running_mean, Tensor) and not bn.running_mean.requires_grad
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.register_buffer("kept", tg.tensor(np.arange(3.0, dtype=np.float32)))
            self.register_buffer("scratch", tg.zeros(4), persistent=False)
            self.register_buffer("empty", None)

    m = M()
    assert [n for n, _ in m.named_buffers()] == ["kept", "scratch"]  # None slots are skipped
    # own buffers before the children (PyTorch's order); non-persistent ones are not saved
    assert list(m.state_dict()) == ["kept", "lin.weight", "lin.bias"]
    m.double()
    assert m.kept.dtype == m.scratch.dtype == m.lin.weight.dtype == np.float64
    m.kept = tg.tensor(np.ones(3))  # reassigning a buffer keeps it a buffer
    assert "kept" in dict(m.named_buffers())
    with pytest.raises(TypeError, match="buffer 'kept'.*Tensor or None expected"):
        m.kept = np.ones(3)
    with pytest.raises(TypeError, match="tensor: expected a Tensor or None"):
        m.register_buffer("b", np.zeros(2))
    with pytest.raises(KeyError, match="attribute 'lin' already exists"):
        m.register_buffer("lin", tg.zeros(1))
    with pytest.raises(KeyError, match=r"name: .*no '\.'"):
        m.register_parameter("a.b", nn.Parameter(np.zeros(1)))
    with pytest.raises(TypeError, match="parameter 'weight'.*Parameter or None expected"):
        m.lin.weight = tg.zeros(2, 2)


def test_register_parameter_add_module_and_delattr():
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(np.ones(2, np.float32)))
    m.register_parameter("b", None)
    m.add_module("child", nn.Linear(2, 3))
    m.add_module("nothing", None)
    assert [n for n, _ in m.named_parameters()] == ["w", "child.weight", "child.bias"]
    assert list(m.state_dict()) == ["w", "child.weight", "child.bias"]
    assert m.b is None and m.nothing is None
    del m.child
    assert [n for n, _ in m.named_parameters()] == ["w"] and not hasattr(m, "child")
    with pytest.raises(TypeError, match="module: expected a Module or None"):
        m.add_module("x", 3)


def test_to_dtype_and_device_keep_parameter_identity():
    m = _nested()
    params = list(m.parameters())
    opt = optim.SGD(m.parameters(), lr=0.1)
    assert m.to(tg.float64 if hasattr(tg, "float64") else np.float64) is m
    assert all(a is b and a.dtype == np.float64 for a, b in zip(params, m.parameters()))
    assert m[1].running_var.dtype == np.float64 and m[1].num_batches_tracked.dtype == np.int64
    assert m.float() is m and m[0].weight.dtype == np.float32 and m[1].running_mean.dtype == np.float32
    assert m.to("cpu", dtype="float64") is m and m[0].weight.dtype == np.float64
    assert m.cpu() is m and m.astype("float32") is m and m[0].weight.dtype == np.float32
    assert opt.param_groups[0]["params"][0] is m[0].weight  # the optimizer still holds them
    with pytest.raises(ValueError, match="dtype: Module.to accepts only floating dtypes, got int64"):
        m.to(np.int64)
    with pytest.raises(ValueError, match="device: expected 'cpu' or 'cuda', got 'tpu'"):
        m.to(device="tpu")


def test_zero_grad_set_to_none_false_gives_zeros():
    m = nn.Linear(3, 2)
    m(tg.ones(4, 3)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() and p.grad.shape == p.shape for p in m.parameters())
    m(tg.ones(4, 3)).sum().backward()  # accumulates onto the zeros
    np.testing.assert_array_equal(m.weight.grad.numpy(), np.full((2, 3), 4.0))
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_apply_visits_children_before_the_parent():
    order = []
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Tanh()))
    m.apply(lambda mod: order.append(type(mod).__name__))
    assert order == ["Linear", "ReLU", "Tanh", "Sequential", "Sequential"]  # post-order, as PyTorch


def test_load_state_dict_strict_false_reports_keys():
    m = _nested()
    sd = m.state_dict()
    sd.pop("0.bias")
    sd["extra"] = np.zeros(1)
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]
    with pytest.raises(KeyError, match=r"missing keys \['0.bias'\], unexpected keys \['extra'\]"):
        m.load_state_dict(sd)
    assert tuple(m.load_state_dict(m.state_dict())) == ([], [])


def test_load_state_dict_strict_rejects_an_unexpected_key_alone():
    """Every key present plus one the module lacks: a strict load raises (PyTorch's
    "Unexpected key(s)") and changes nothing; strict=False loads and reports it."""
    m = _nested()
    before = m.state_dict()
    new = {k: v + 1 for k, v in before.items()}
    new["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys \[\], unexpected keys \['extra'\]"):
        m.load_state_dict(new)
    assert all(np.array_equal(v, before[k]) for k, v in m.state_dict().items())
    result = m.load_state_dict(new, strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == ["extra"]
    assert all(np.array_equal(v, new[k]) for k, v in m.state_dict().items())


def test_load_state_dict_without_num_batches_tracked_keeps_the_counter():
    """A state dict from before the counter existed (e.g. the shipped classifier
    weights) loads strictly, as PyTorch loads one without version metadata."""
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m(tg.randn(5, 3))
    old = {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    fresh.load_state_dict(old)
    assert fresh[1].num_batches_tracked.item() == 0
    np.testing.assert_array_equal(fresh[1].running_mean.numpy(), old["1.running_mean"])
    with pytest.raises(KeyError, match=r"missing keys \['1.running_var'\]"):
        fresh.load_state_dict({k: v for k, v in old.items() if k != "1.running_var"})


# ---------------------------------------------------------------- containers
def test_module_list_registers_its_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
            self.out = nn.Linear(4, 1)

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return self.out(x)

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "layers.2.weight", "layers.2.bias", "out.weight", "out.bias"]
    assert list(net.state_dict())[:2] == ["layers.0.weight", "layers.0.bias"]
    assert net(tg.zeros(2, 4)).shape == (2, 1)
    layers = net.layers
    assert len(layers) == 3 and layers[-1] is layers[2] and isinstance(layers[1:], nn.ModuleList)
    assert [m for m in layers[::2]] == [layers[0], layers[2]]
    extra = nn.Linear(4, 4)
    layers.append(extra)
    layers.insert(0, nn.Tanh())
    assert [type(m).__name__ for m in layers] == ["Tanh", "Linear", "Linear", "Linear", "Linear"]
    assert list(layers._modules) == ["0", "1", "2", "3", "4"] and layers[4] is extra
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2", "3"] and layers[3] is extra
    layers.extend([nn.ReLU(), nn.ReLU()])
    layers += [nn.Sigmoid()]
    assert len(layers) == 7 and layers.pop() is not None and len(layers) == 6
    assert sum(1 for _ in net.parameters()) == 2 * 4 + 2
    with pytest.raises(IndexError, match="index 6 is out of range for 6 modules"):
        layers[6]
    with pytest.raises(TypeError, match="module: expected a Module"):
        layers.append(3)
    with pytest.raises(NotImplementedError):
        layers(tg.zeros(1, 4))


def test_module_dict():
    d = nn.ModuleDict({"enc": nn.Linear(3, 2), "dec": nn.Linear(2, 3)})
    assert list(d) == ["enc", "dec"] and "enc" in d and len(d) == 2
    assert [n for n, _ in d.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    d["act"] = nn.ReLU()
    assert list(d.keys()) == ["enc", "dec", "act"] and isinstance(d["act"], nn.ReLU)
    assert d.pop("act") is not None and list(d) == ["enc", "dec"]
    d.update([("extra", nn.Tanh())])
    assert [k for k, _ in d.items()] == ["enc", "dec", "extra"]
    with pytest.raises(TypeError, match="module: expected a Module for key 'bad'"):
        d["bad"] = 1
    d.clear()
    assert len(d) == 0 and list(d.parameters()) == []


def test_sequential_container_protocol():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and list(s) == [a, b, c] and s[-1] is c
    head = s[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b] and list(head._modules) == ["0", "1"]
    assert head(tg.zeros(4, 2)).shape == (4, 3)
    assert s.append(nn.Sigmoid()) is s and len(s) == 4 and list(s._modules)[-1] == "3"
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"] and named.fc is named[0]
    assert list(named[1:]._modules) == ["act"]  # a slice keeps the names
    del s[1]
    assert list(s._modules) == ["0", "1", "2"] and s[1] is c
    s.insert(1, b)
    assert list(s)[:3] == [a, b, c]
    s[3] = nn.Tanh()
    assert isinstance(s[3], nn.Tanh)
    with pytest.raises(IndexError):
        s[10]


# ---------------------------------------------------------------- layers: PyTorch's arguments
def test_conv_attributes_and_unsupported_arguments():
    conv = nn.Conv2d(3, 8, 3, 2, 1)
    assert conv.kernel_size == (3, 3) and conv.stride == (2, 2) and conv.padding == (1, 1)
    # PyTorch's positional order: bias is the 8th argument, after dilation and groups
    assert nn.Conv2d(3, 8, 3, 1, 0, 1, 1, False).bias is None
    assert nn.ConvTranspose2d(3, 8, 4, 2, 1, 0, 1, False).bias is None
    same = nn.Conv2d(2, 4, 5, padding="same")
    assert same(tg.zeros(1, 2, 7, 9)).shape == (1, 4, 7, 9)
    assert nn.Conv2d(2, 4, 3, padding="valid")(tg.zeros(1, 2, 7, 9)).shape == (1, 4, 5, 7)
    # dilation, groups, padding_mode and the pooling options: tests/test_nn_options.py
    with pytest.raises(ValueError, match="padding_mode: expected one of"):
        nn.Conv2d(3, 8, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding_mode: tinygen supports only padding_mode='zeros'"):
        nn.ConvTranspose2d(3, 8, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="in_channels: expected an int >= 1, got 0"):
        nn.Conv2d(0, 8, 3)
    with pytest.raises(ValueError, match="out_features: expected an int >= 1"):
        nn.Linear(3, -1)
    with pytest.raises(ValueError, match="dilation: tinygen supports only dilation=\\(1, 1\\), got \\(2, 2\\)"):
        nn.MaxPool2d(2, dilation=2)
    lin = nn.Linear(3, 2, dtype=np.float64)
    assert lin.weight.dtype == lin.bias.dtype == np.float64


def test_layer_device_and_dtype_arguments_match_a_later_cast():
    tg.manual_seed(3)
    a = nn.Linear(5, 4, dtype="float64", device="cpu")
    tg.manual_seed(3)
    b = nn.Linear(5, 4)
    # drawn in float64 then stored: a float64 layer holds the unrounded draws
    np.testing.assert_allclose(a.weight.numpy().astype(np.float32), b.weight.numpy(), rtol=0, atol=0)
    assert nn.BatchNorm2d(3, dtype="float64").running_mean.dtype == np.float64
    assert nn.LayerNorm(4, dtype="float64").weight.dtype == np.float64
    assert nn.GRUCell(2, 3, dtype="float64").weight_ih.dtype == np.float64


def test_identity_elu_softplus_values():
    x = tg.tensor(np.array([-30.0, -1.0, 0.0, 0.5, 3.0, 25.0]))
    np.testing.assert_array_equal(nn.Identity(54, unused="x")(x).numpy(), x.numpy())
    xv = x.numpy()
    np.testing.assert_allclose(nn.ELU()(x).numpy(), np.where(xv > 0, xv, np.expm1(xv)), rtol=1e-15)
    np.testing.assert_allclose(nn.ELU(alpha=0.5)(x).numpy(), np.where(xv > 0, xv, 0.5 * np.expm1(xv)), rtol=1e-15)
    # Softplus: log(1 + e^(beta x)) / beta, and x itself above the threshold
    sp = nn.Softplus()(x).numpy()
    np.testing.assert_allclose(sp[:5], np.log1p(np.exp(xv[:5])), rtol=1e-14)
    assert sp[5] == 25.0  # beyond threshold 20: exactly x
    sp2 = nn.Softplus(beta=2.0, threshold=5.0)(x).numpy()
    ref = np.where(2 * xv > 5, xv, np.log1p(np.exp(2 * xv)) / 2)
    np.testing.assert_allclose(sp2, ref, rtol=1e-14)
    assert sp2[4] == 3.0  # 2 * 3 > 5: linear
    with pytest.raises(ValueError, match="beta: expected a non-zero number"):
        nn.Softplus(beta=0)


@pytest.mark.parametrize("module", [nn.ELU(0.7), nn.Softplus(beta=2.0, threshold=3.0), nn.Softplus()],
                         ids=["elu", "softplus_beta2", "softplus"])
def test_elu_softplus_gradients(module):
    x = rand64(3, 5, seed=7, away_from=0.0)
    x.data[0, 0] = 1.6  # beta x = 3.2 > 3: the linear piece of Softplus(beta=2, threshold=3)
    assert tg.gradcheck(lambda x: module(x), [x]) and tg.gradgradcheck(lambda x: module(x), [x])


def test_upsample_to_size_and_errors():
    x = tg.tensor(np.arange(2 * 3 * 3 * 4, dtype=np.float64).reshape(2, 3, 3, 4), requires_grad=True)
    y = nn.Upsample(size=(5, 6))(x)
    rows, cols = [0, 0, 1, 1, 2], [0, 0, 1, 2, 2, 3]  # floor(i * 3/5), floor(j * 4/6), by hand
    np.testing.assert_array_equal(y.numpy(), x.numpy()[:, :, rows][:, :, :, cols])
    np.testing.assert_array_equal(nn.Upsample(size=(6, 8))(x).numpy(),
                                  nn.Upsample(scale_factor=2)(x).numpy())  # whole multiple: same values
    assert nn.Upsample(size=7)(x).shape == (2, 3, 7, 7)
    assert tg.gradcheck(lambda x: nn.Upsample(size=(5, 6))(x), [x])
    with pytest.raises(ValueError, match="size, scale_factor: expected exactly one"):
        nn.Upsample()
    with pytest.raises(ValueError, match="size, scale_factor: expected exactly one"):
        nn.Upsample(size=4, scale_factor=2)
    with pytest.raises(ValueError, match="mode: expected one of .*got 'cubic'"):
        nn.Upsample(scale_factor=2, mode="cubic")
    with pytest.raises(ValueError, match="align_corners: only for the interpolating modes"):
        nn.Upsample(scale_factor=2, align_corners=True)
    # bilinear, align_corners=True: a 2x2 ramp to 3x3 takes the midpoints
    ramp = tg.tensor(np.array([[[[0.0, 2.0], [4.0, 6.0]]]]))
    np.testing.assert_allclose(nn.Upsample(size=3, mode="bilinear", align_corners=True)(ramp).numpy()[0, 0],
                               [[0, 1, 2], [2, 3, 4], [4, 5, 6]], rtol=1e-15)


def test_embedding_padding_idx():
    tg.manual_seed(0)
    e = nn.Embedding(5, 3, padding_idx=1).double()
    assert not e.weight.numpy()[1].any()
    out = e(np.array([1, 2, 1]))
    assert not out.numpy()[[0, 2]].any()
    g, = tg.grad((out * out).sum() + out.sum(), e.weight)
    assert not g.numpy()[1].any() and g.numpy()[2].any()
    frozen = nn.Embedding.from_pretrained(tg.tensor(np.eye(3)))
    assert not frozen.weight.requires_grad and frozen(np.array([2])).numpy().tolist() == [[0.0, 0.0, 1.0]]


def test_embedding_negative_padding_idx_counts_from_the_end():
    """padding_idx=-1 is the last row (PyTorch stores it as num_embeddings - 1): that
    id's output is masked and its row gets no gradient; the other rows do."""
    tg.manual_seed(0)
    e = nn.Embedding(5, 3, padding_idx=-1).double()
    assert e.padding_idx == 4 and "padding_idx=4" in repr(e)
    out = e(np.array([4, 0, 4]))
    assert not out.numpy()[[0, 2]].any() and out.numpy()[1].any()
    g, = tg.grad((out * out).sum() + out.sum(), e.weight)
    assert not g.numpy()[4].any() and g.numpy()[0].all()


# ---------------------------------------------------------------- loss modules
def _loss_inputs():
    logits = tg.tensor(np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]]))
    y = tg.tensor(np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))
    return logits, y, np.array([0, 2])


def test_loss_modules_match_hand_computed_values():
    logits, y, target = _loss_inputs()
    x, t = logits.numpy(), y.numpy()
    assert nn.MSELoss()(logits, y).item() == pytest.approx(((x - t) ** 2).mean(), rel=1e-14)
    assert nn.MSELoss(reduction="sum")(logits, y).item() == pytest.approx(((x - t) ** 2).sum(), rel=1e-14)
    assert nn.MSELoss(reduction="none")(logits, y).shape == (2, 3)
    bce = np.log1p(np.exp(x)) - x * t
    assert nn.BCEWithLogitsLoss()(logits, y).item() == pytest.approx(bce.mean(), rel=1e-14)
    p = 1 / (1 + np.exp(-x))
    assert nn.BCELoss(reduction="sum")(tg.tensor(p), y).item() == pytest.approx(
        -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum(), rel=1e-12)
    lse = np.log(np.exp(x).sum(axis=1))
    ce = lse - x[[0, 1], target]
    assert nn.CrossEntropyLoss()(logits, target).item() == pytest.approx(ce.mean(), rel=1e-14)
    assert nn.CrossEntropyLoss(reduction="none")(logits, target).numpy() == pytest.approx(ce, rel=1e-14)
    with pytest.warns(UserWarning, match="deprecated"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.raises(ValueError, match="reduction: expected 'mean', 'sum' or 'none', got 'avg'"):
        nn.MSELoss(reduction="avg")


def test_loss_options_tinygen_lacks_are_refused_by_name():
    import inspect
    if "weight" not in inspect.signature(F.binary_cross_entropy).parameters:
        with pytest.raises(ValueError, match="weight: tinygen's functional.binary_cross_entropy supports only "
                                             "weight=None"):
            nn.BCELoss(weight=tg.ones(3))
    if "label_smoothing" not in inspect.signature(F.cross_entropy).parameters:
        with pytest.raises(ValueError, match="label_smoothing"):
            nn.CrossEntropyLoss(label_smoothing=0.1)
    nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=0.0)  # the defaults are fine


@pytest.mark.skipif(not hasattr(F, "l1_loss"), reason="functional.l1_loss not in this tinygen")
def test_l1_loss_module():
    logits, y, _ = _loss_inputs()
    assert nn.L1Loss()(logits, y).item() == pytest.approx(np.abs(logits.numpy() - y.numpy()).mean(), rel=1e-14)


@pytest.mark.skipif(not hasattr(F, "nll_loss"), reason="functional.nll_loss not in this tinygen")
def test_nll_loss_module_composes_to_cross_entropy():
    logits, _, target = _loss_inputs()
    lp = nn.LogSoftmax(dim=1)(logits)
    assert nn.NLLLoss()(lp, target).item() == pytest.approx(nn.CrossEntropyLoss()(logits, target).item(), rel=1e-14)


@pytest.mark.skipif(not hasattr(F, "softmax"), reason="functional.softmax not in this tinygen")
def test_softmax_modules():
    logits, _, _ = _loss_inputs()
    x = logits.numpy()
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(nn.Softmax(dim=1)(logits).numpy(), e / e.sum(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(nn.LogSoftmax(dim=-1)(logits).numpy(),
                               np.log(e / e.sum(axis=1, keepdims=True)), rtol=1e-13)
    np.testing.assert_allclose(nn.Softmax(dim=0)(logits).numpy().sum(axis=0), [1.0, 1.0, 1.0], rtol=1e-14)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        np.testing.assert_allclose(nn.Softmax()(logits).numpy(), nn.Softmax(dim=1)(logits).numpy())


def test_softmax_modules_implicit_dim_follows_pytorchs_legacy_rule():
    """dim=None: PyTorch's _get_softmax_dim, dim 0 for a 1-D or 3-D input (an unbatched
    (C, H, W) image), else dim 1."""
    rng = np.random.default_rng(0)
    for shape, dim in [((4,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 2, 2), 1)]:
        x = tg.tensor(rng.standard_normal(shape))
        for cls in (nn.Softmax, nn.LogSoftmax):
            with pytest.warns(UserWarning, match="Implicit dimension choice"):
                y = cls()(x)
            np.testing.assert_array_equal(y.numpy(), cls(dim=dim)(x).numpy())


# ---------------------------------------------------------------- BatchNorm: num_batches_tracked, momentum=None
def test_num_batches_tracked_counts_training_forwards():
    bn = nn.BatchNorm2d(2)
    x = tg.randn(3, 2, 4, 4)
    for k in range(1, 4):
        bn(x)
        assert bn.num_batches_tracked.item() == k
    bn.eval()
    bn(x)
    assert bn.num_batches_tracked.item() == 3  # eval mode does not count
    assert bn.state_dict()["num_batches_tracked"] == 3


def test_momentum_none_is_the_cumulative_average():
    rng = np.random.default_rng(8)
    xs = [rng.normal(i, 1 + i, (6, 2)) for i in range(4)]
    bn = nn.BatchNorm1d(2, momentum=None).double()
    for x in xs:
        bn(tg.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-13)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([x.var(0, ddof=1) for x in xs], axis=0), rtol=1e-13)
    assert bn.num_batches_tracked.item() == 4


def test_track_running_stats_false_uses_batch_statistics_always():
    bn = nn.BatchNorm1d(3, track_running_stats=False).double().eval()
    assert bn.running_mean is None and list(bn.state_dict()) == ["weight", "bias"]
    x = np.random.default_rng(9).normal(2.0, 3.0, (5, 3))
    np.testing.assert_allclose(bn(tg.tensor(x)).numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-12)
    nb = nn.BatchNorm1d(3, affine=False)
    assert nb.weight is None and list(nb.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    with pytest.raises(ValueError, match="momentum: expected a number in \\[0, 1\\] or None"):
        nn.BatchNorm1d(3, momentum=1.5)


# ---------------------------------------------------------------- init, from the formulas
def test_calculate_gain_table_and_errors():
    init = nn.init
    assert init.calculate_gain("linear") == init.calculate_gain("conv2d") == init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == 5.0 / 3
    assert init.calculate_gain("relu") == np.sqrt(2.0)
    assert init.calculate_gain("leaky_relu") == np.sqrt(2.0 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", 0.2) == np.sqrt(2.0 / 1.04)
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="nonlinearity: expected one of .* got 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="param: expected a number"):
        init.calculate_gain("leaky_relu", "0.2")


def _big(*shape):
    return nn.Parameter(np.empty(shape, np.float32))


def test_kaiming_and_xavier_bounds_and_stds():
    init = nn.init
    tg.manual_seed(0)
    w = init.kaiming_uniform_(_big(400, 50, 3, 3))  # fan_in 450, a = 0 -> gain sqrt(2)
    bound = np.sqrt(2.0) * np.sqrt(3.0 / 450)
    a = w.numpy()
    assert a.dtype == np.float32 and np.abs(a).max() <= bound and np.abs(a).max() > 0.999 * bound
    assert abs(a.std() - bound / np.sqrt(3)) < 0.01 * bound / np.sqrt(3)
    w = init.kaiming_normal_(_big(500, 400), mode="fan_out", nonlinearity="relu")  # std sqrt(2 / 500)
    assert abs(w.numpy().std() - np.sqrt(2.0 / 500)) < 0.01 * np.sqrt(2.0 / 500)
    w = init.kaiming_normal_(_big(300, 600), a=0.2)  # leaky_relu: std sqrt(2 / 1.04) / sqrt(600)
    assert abs(w.numpy().std() - np.sqrt(2 / 1.04 / 600)) < 0.01 * np.sqrt(2 / 1.04 / 600)
    w = init.xavier_uniform_(_big(300, 200), gain=2.0)  # bound = gain sqrt(6 / (fan_in + fan_out))
    bound = 2.0 * np.sqrt(6.0 / 500)
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.999 * bound
    w = init.xavier_normal_(_big(400, 600))
    assert abs(w.numpy().std() - np.sqrt(2.0 / 1000)) < 0.01 * np.sqrt(2.0 / 1000)
    w = init.constant_(_big(2, 3), 0.25)
    assert w.dtype == np.float32 and (w.numpy() == 0.25).all()
    assert (init.ones_(_big(2)).numpy() == 1).all() and (init.zeros_(_big(2)).numpy() == 0).all()
    with pytest.raises(ValueError, match="mode: expected 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_uniform_(_big(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="nonlinearity: "):
        init.kaiming_normal_(_big(3, 3), nonlinearity="gelu")
    with pytest.raises(ValueError, match="tensor: fan in and fan out need at least 2 dims"):
        init.xavier_uniform_(_big(5))


def test_default_init_is_kaiming_uniform_sqrt5_and_the_plain_bound():
    """Linear's init is kaiming_uniform_(a=sqrt(5)) then the bias from U(+-1/sqrt(fan_in)),
    drawn in that order, and equals the plain U(+-1/sqrt(fan_in)) draws bit for bit
    (the lessons' measured results depend on these values)."""
    tg.manual_seed(5)
    lin = nn.Linear(30, 20)
    tg.manual_seed(5)
    w = nn.init.kaiming_uniform_(_big(20, 30), a=np.sqrt(5))
    b = nn.init.uniform_(_big(20), -1 / np.sqrt(30), 1 / np.sqrt(30))
    np.testing.assert_array_equal(lin.weight.numpy(), w.numpy())
    np.testing.assert_array_equal(lin.bias.numpy(), b.numpy())
    rng = np.random.default_rng(5)
    plain_w = rng.uniform(-1 / np.sqrt(30), 1 / np.sqrt(30), (20, 30)).astype(np.float32)
    plain_b = rng.uniform(-1 / np.sqrt(30), 1 / np.sqrt(30), 20).astype(np.float32)
    np.testing.assert_array_equal(lin.weight.numpy(), plain_w)
    np.testing.assert_array_equal(lin.bias.numpy(), plain_b)

"""Tests for tinygen.nn: layer derivatives (first and second order, w.r.t. the
input and every parameter, float64), BatchNorm statistics, the Module API,
initialisation, shape errors, and float32 discipline through a GAN step.
"""
import re

import numpy as np
import pytest

import tinygen as tg
from tinygen import functional as F, nn, optim
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
    m.running_mean = rng.standard_normal(c).astype(np.float32)
    m.running_var = rng.uniform(0.5, 2.0, c).astype(np.float32)
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
    ("upsample", lambda: nn.Upsample(2), (3, 2, 4, 5), False),
    ("avgpool2d", lambda: nn.AvgPool2d(2), (3, 2, 4, 5), False),
    ("avgpool2d_k3s2p1", lambda: nn.AvgPool2d(3, stride=2, padding=1), (3, 2, 4, 5), False),
]


def _setup(factory, shape, away, device, seed=0):
    tg.manual_seed(seed)
    m = factory().astype("float64").to(device)
    x = rand64(*shape, device=device, seed=seed + 10, away_from=0.0 if away else None)
    return m, [x] + m.parameters()


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
    assert sum(t.size for t in inputs) + int(np.prod(shape)) <= 256  # full check, not directional
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
    uc = nn.UpsampleConv2d(3, 4).astype("float64")
    ref = nn.Sequential(nn.Upsample(2), nn.Conv2d(3, 4, 3, padding=1)).astype("float64")
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
    np.testing.assert_allclose(bn.running_mean, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, 0.9 * 1.0 + 0.1 * var_unbiased, rtol=1e-5)
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_batchnorm1d_running_stats_3d():
    bn = nn.BatchNorm1d(2, momentum=0.3)
    x = np.random.default_rng(1).normal(1.0, 2.0, (3, 2, 4))
    bn.astype("float64")(tg.tensor(x))
    np.testing.assert_allclose(bn.running_mean, 0.3 * x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.7 + 0.3 * x.var(axis=(0, 2), ddof=1), rtol=1e-12)


def test_batchnorm_train_output_uses_biased_batch_stats():
    bn = _randomize_affine(nn.BatchNorm1d(3)).astype("float64")
    x = np.random.default_rng(2).normal(1.0, 2.0, (6, 3))
    y = bn(tg.tensor(x)).numpy()
    ref = (x - x.mean(0)) / np.sqrt(x.var(0) + bn.eps) * bn.weight.numpy() + bn.bias.numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


def test_batchnorm_eval_uses_running_stats():
    bn = _bn_eval(nn.BatchNorm2d, 3).astype("float64")
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4))
    before = (bn.running_mean.copy(), bn.running_var.copy())
    y = bn(tg.tensor(x)).numpy()
    c = (1, -1, 1, 1)
    ref = ((x - bn.running_mean.reshape(c)) / np.sqrt(bn.running_var.reshape(c) + bn.eps)
           * bn.weight.numpy().reshape(c) + bn.bias.numpy().reshape(c))
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    # eval mode must not touch the running statistics
    assert np.array_equal(bn.running_mean, before[0]) and np.array_equal(bn.running_var, before[1])


@pytest.mark.parametrize("bn, shape", [(nn.BatchNorm2d(3), (2, 4, 5, 5)), (nn.BatchNorm1d(3), (2, 4)),
                                       (nn.BatchNorm1d(3), (2, 3, 4, 4)), (nn.BatchNorm2d(3), (2, 3, 5))])
def test_batchnorm_wrong_input_raises(bn, shape):
    with pytest.raises(ValueError, match=r"x: expected .*C = 3.*" + re.escape(str(shape))):
        bn(tg.zeros(*shape))


def test_layernorm_wrong_trailing_shape_raises():
    with pytest.raises(ValueError, match=r"x: .*\(4, 5\).*" + re.escape("(2, 5, 4)")):
        nn.LayerNorm((4, 5))(tg.zeros(2, 5, 4))
    with pytest.raises(ValueError, match="x: "):
        nn.LayerNorm(5)(tg.zeros(2, 4))


def test_layernorm_normalises_each_sample_over_trailing_dims():
    ln = nn.LayerNorm((4, 5)).astype("float64")
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
    assert set(sd) == {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                       "2.1.weight", "2.1.bias"}
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
    norm = ((g * g).sum(axis=(1, 2, 3)) + 1e-12).sqrt()
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
        for bname, b in model.named_buffers():
            assert b.dtype == np.float32, (name, bname)
        for i, state in enumerate(opt.state):
            assert state, (name, i)  # every parameter got an update
            for k, v in state.items():
                assert k == "step" or v.dtype == np.float32, (name, i, k)
    assert not np.allclose(G[1].running_mean, 0)  # the buffers were updated, in float32


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
    e = nn.Embedding(7, 3).astype("float64").to(device)
    ids = np.array([[1, 4], [4, 6]])
    np.testing.assert_array_equal(e(ids).numpy(), e.weight.numpy()[ids])
    g, = tg.grad((e(ids) * tg.tensor(np.arange(12.0).reshape(2, 2, 3), device=device)).sum(), e.weight)
    np.testing.assert_array_equal(g.numpy()[4], [3 + 6, 4 + 7, 5 + 8])  # repeated id 4: summed
    assert (g.numpy()[[0, 2, 3, 5]] == 0).all()
    assert tg.gradcheck(lambda w: e(ids), [e.weight]) and tg.gradgradcheck(lambda w: e(ids), [e.weight])
    assert abs(nn.Embedding(1000, 50).weight.numpy().std() - 1) < 0.05  # N(0, 1), as PyTorch
    with pytest.raises(ValueError, match=r"ids: expected integers in \[0, 7\)"):
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
    cell = nn.GRUCell(3, 4).astype("float64").to(device)
    x, h = rand64(2, 3, device=device, seed=1), rand64(2, 4, device=device, seed=2)
    ps = [p.numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    np.testing.assert_allclose(cell(x, h).numpy(), _gru_reference(x.numpy(), h.numpy(), *ps), rtol=1e-12)
    assert cell.weight_ih.shape == (12, 3) and np.abs(cell.weight_hh.numpy()).max() <= 0.5  # 1/sqrt(4)
    fn = lambda x, h, *p: cell(x, h)  # noqa: E731
    assert tg.gradcheck(fn, [x, h] + cell.parameters(), max_full=150)
    assert tg.gradgradcheck(fn, [x, h] + cell.parameters())
    assert cell(x).shape == (2, 4)  # h defaults to zeros
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 3\)"):
        cell(rand64(2, 5, device=device))


def test_lstm_cell(device):
    tg.manual_seed(0)
    cell = nn.LSTMCell(3, 4).astype("float64").to(device)
    x = rand64(2, 3, device=device, seed=1)
    h, c = rand64(2, 4, device=device, seed=2), rand64(2, 4, device=device, seed=3)
    ps = [p.numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    h2, c2 = cell(x, (h, c))
    rh, rc = _lstm_reference(x.numpy(), h.numpy(), c.numpy(), *ps)
    np.testing.assert_allclose(h2.numpy(), rh, rtol=1e-12)
    np.testing.assert_allclose(c2.numpy(), rc, rtol=1e-12)
    fn = lambda x, h, c, *p: cell(x, (h, c))  # noqa: E731
    assert tg.gradcheck(fn, [x, h, c] + cell.parameters())
    assert tg.gradgradcheck(fn, [x, h, c] + cell.parameters())
    with pytest.raises(ValueError, match=r"h: expected shape \(2, 4\)"):
        cell(x, (rand64(2, 5, device=device), c))


def test_load_state_dict_is_all_or_nothing():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    before = m.state_dict()
    bad = {k: np.ones_like(v) for k, v in before.items()}
    bad["1.running_var"] = np.ones(5, np.float32)  # the last key has the wrong shape
    with pytest.raises(ValueError, match=r"state\['1.running_var'\]: expected shape \(4,\), got \(5,\)"):
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
    assert len(shared_module.modules()) == 3
    # state_dict / load_state_dict agree on the single key
    state = model.state_dict()
    assert sorted(state) == ["0.bias", "0.weight", "1.bias"]
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

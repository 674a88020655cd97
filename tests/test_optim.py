"""Tests for tinygen.optim: updates against plain-NumPy references written from
the papers' formulas (PyTorch's conventions), skipping of parameters without
a gradient, no graph building, and state_dict round trips.
"""
import numpy as np
import pytest

import tinygen as tg
from tinygen import nn, optim

STEPS = 5
SHAPE = (3, 4)


def _grads(seed=0, n=STEPS, scale=1.0):
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(SHAPE) for _ in range(n)]


def _w0():
    return np.random.default_rng(99).standard_normal(SHAPE)


# Plain-NumPy references; each takes (w, list of grads, hyperparameters) -> list of w after each step.
def ref_sgd(w, grads, lr, momentum=0.0, weight_decay=0.0):
    w, b, out = w.copy(), np.zeros_like(w), []
    for g in grads:
        g = g + weight_decay * w
        if momentum:
            b = momentum * b + g  # PyTorch: buf = mu buf + g (dampening 0), buf_1 = g
            g = b
        w = w - lr * g
        out.append(w)
    return out


def ref_adam(w, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    # Kingma & Ba 2015, Algorithm 1, with PyTorch's eps placement and L2 weight decay.
    (b1, b2), m, v, out = betas, np.zeros_like(w), np.zeros_like(w), []
    w = w.copy()
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(w)
    return out


def ref_rmsprop(w, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
    # Tieleman & Hinton 2012; PyTorch: w -= lr g / (sqrt(v) + eps), v starts at 0.
    v, out, w = np.zeros_like(w), [], w.copy()
    for g in grads:
        g = g + weight_decay * w
        v = alpha * v + (1 - alpha) * g * g
        w = w - lr * g / (np.sqrt(v) + eps)
        out.append(w)
    return out


CASES = [
    ("sgd", optim.SGD, ref_sgd, dict(lr=0.1)),
    ("sgd_wd", optim.SGD, ref_sgd, dict(lr=0.1, weight_decay=0.05)),
    ("sgd_momentum", optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9)),
    ("sgd_momentum_wd", optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    ("adam_default", optim.Adam, ref_adam, dict()),
    ("adam_wgangp", optim.Adam, ref_adam, dict(lr=1e-4, betas=(0.0, 0.9))),
    ("adam_dcgan_wd", optim.Adam, ref_adam, dict(lr=2e-4, betas=(0.5, 0.999), weight_decay=0.01)),
    # a large eps makes its placement visible: outside sqrt(v_hat), not sqrt(v) or inside the root
    ("adam_big_eps", optim.Adam, ref_adam, dict(lr=0.1, betas=(0.8, 0.9), eps=0.3)),
    ("rmsprop", optim.RMSprop, ref_rmsprop, dict()),
    ("rmsprop_wgan", optim.RMSprop, ref_rmsprop, dict(lr=5e-5, alpha=0.9, eps=1e-3, weight_decay=0.1)),
]


@pytest.mark.parametrize("cls, ref, kw", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_update_matches_reference(cls, ref, kw):
    grads = _grads(scale=0.3)
    p = nn.Parameter(_w0())
    opt = cls([p], **kw)
    expected = ref(_w0(), grads, **kw)
    for g, want in zip(grads, expected):
        p.grad = tg.tensor(g)
        opt.step()
        np.testing.assert_allclose(p.numpy(), want, rtol=1e-12, atol=1e-14)
    assert not np.allclose(p.numpy(), _w0())


def test_adam_first_step_is_lr_sign():
    # With bias correction, the first Adam step is lr * g / (|g| + eps) ~ lr * sign(g).
    p = nn.Parameter(np.zeros(SHAPE))
    p.grad = tg.tensor(_grads(n=1)[0])
    optim.Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.numpy(), -0.01 * np.sign(p.grad.numpy()), rtol=1e-6)


def test_update_is_in_place_and_keeps_dtype():
    p = nn.Parameter(np.ones(SHAPE, np.float32))
    arr = p.data
    opt = optim.Adam([p], lr=1e-3, betas=(0.0, 0.9))
    p.grad = tg.tensor(np.full(SHAPE, 0.5, np.float32))
    opt.step()
    assert p.data is arr and p.dtype == np.float32
    assert opt.state[0]["step"] == 1  # a per-parameter counter, beside float32 arrays
    assert all(v.dtype == np.float32 for k, v in opt.state[0].items() if k != "step")


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.RMSprop])
def test_params_without_grad_are_skipped(cls):
    a, b = nn.Parameter(_w0()), nn.Parameter(_w0())
    opt = cls([a, b], lr=0.1, **({"momentum": 0.9} if cls is optim.SGD else {}))
    a.grad = tg.tensor(np.ones(SHAPE))
    opt.step()
    assert np.array_equal(b.numpy(), _w0()) and not np.array_equal(a.numpy(), _w0())
    assert opt.state[1] == {}


def test_adam_bias_correction_counts_each_parameters_own_steps():
    a, b = nn.Parameter(_w0()), nn.Parameter(_w0())
    opt = optim.Adam([a, b], lr=0.1)
    grads = _grads()
    a.grad = tg.tensor(grads[0])
    opt.step()  # b has no gradient yet: skipped
    for g in grads[1:3]:
        a.grad, b.grad = tg.tensor(g), tg.tensor(g)
        opt.step()
    np.testing.assert_allclose(b.numpy(), ref_adam(_w0(), grads[1:3], lr=0.1)[-1], rtol=1e-12)


def test_step_builds_no_graph():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).astype("float64")
    opt = optim.Adam(model.parameters(), lr=0.1)
    x = tg.randn(5, 3, dtype="float64")
    # grads that carry a graph (create_graph=True) must not leak into the parameters
    model(x).sum().backward(create_graph=True)
    assert any(p.grad.creator is not None for p in model.parameters())
    opt.step()
    for p in model.parameters():
        assert p.creator is None and p.is_leaf and p.requires_grad and isinstance(p, nn.Parameter)
    assert all(isinstance(v, np.ndarray) for s in opt.state for k, v in s.items() if k != "step")


def test_empty_params_raise():
    for cls in (optim.SGD, optim.Adam, optim.RMSprop):
        with pytest.raises(ValueError, match="params"):
            cls([], lr=0.1)
    with pytest.raises(ValueError, match="params"):
        optim.Adam(iter(()))  # a generator that yields nothing


@pytest.mark.parametrize("cls, kw", [(optim.SGD, dict(lr=0.1, momentum=0.9)),
                                     (optim.Adam, dict(lr=0.05, betas=(0.5, 0.9))),
                                     (optim.RMSprop, dict(lr=0.01, alpha=0.9))])
def test_state_dict_round_trip_continues_exactly(cls, kw):
    grads = _grads(seed=1, n=6)
    pa = [nn.Parameter(_w0()), nn.Parameter(_w0()[0])]
    opt_a = cls(pa, **kw)

    def step(params, opt, g):
        for p in params:
            p.grad = tg.tensor(g.reshape(-1)[:p.size].reshape(p.shape))
        opt.step()

    for g in grads[:3]:
        step(pa, opt_a, g)
    sd = opt_a.state_dict()
    pb = [nn.Parameter(p.numpy().copy()) for p in pa]
    for g in grads[3:]:  # the original goes on before the copy is restored: sd must be a copy
        step(pa, opt_a, g)
    opt_b = cls(pb, lr=123.0)  # hyperparameters come back from the state dict
    opt_b.load_state_dict(sd)
    for g in grads[3:]:
        step(pb, opt_b, g)
    for a, b in zip(pa, pb):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_state_dict_wrong_number_of_params():
    opt = optim.Adam([nn.Parameter(_w0()), nn.Parameter(_w0())])
    for p in opt.params:
        p.grad = tg.tensor(np.ones(SHAPE))
    opt.step()
    with pytest.raises(ValueError, match="for 1 parameters, got 2"):
        optim.Adam([nn.Parameter(_w0())]).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="shape"):
        optim.Adam([nn.Parameter(_w0()), nn.Parameter(np.zeros(3))]).load_state_dict(opt.state_dict())


def test_cosine_annealing_lr_matches_formula_and_resumes():
    p = tg.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    sched = optim.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    lrs = []
    for _ in range(12):
        lrs.append(opt.defaults["lr"])
        p.grad = tg.tensor(np.ones(3, np.float32))
        opt.step()
        sched.step()
    expected = [0.01 + 0.09 * (1 + np.cos(np.pi * min(t, 10) / 10)) / 2 for t in range(12)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    # A restored optimizer continues the schedule: the step count is its state.
    opt2 = optim.SGD([p], lr=0.1)
    sched2 = optim.CosineAnnealingLR(opt2, T_max=10, eta_min=0.01)
    opt2.load_state_dict(opt.state_dict())
    assert sched2.get_lr() == pytest.approx(expected[10])
    with pytest.raises(ValueError, match="T_max: expected an int >= 1"):
        optim.CosineAnnealingLR(opt, T_max=0)


def test_optimizer_rejects_a_parameter_listed_twice():
    p = tg.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="params: a Parameter appears more than once"):
        optim.Adam([p, p])

"""Tests for tinygen.optim: updates against plain-NumPy references written from
the papers' formulas (PyTorch's conventions), skipping of parameters without
a gradient, no graph building, and state_dict round trips.
"""
import numpy as np
import pytest

import tinygen as tg
from tinygen import nn, optim
from tinygen.autograd import Tensor

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
    assert opt.state[p]["step"] == 1  # a per-parameter counter, beside float32 arrays
    assert all(v.dtype == np.float32 for k, v in opt.state[p].items() if k != "step")


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.RMSprop])
def test_params_without_grad_are_skipped(cls):
    a, b = nn.Parameter(_w0()), nn.Parameter(_w0())
    opt = cls([a, b], lr=0.1, **({"momentum": 0.9} if cls is optim.SGD else {}))
    a.grad = tg.tensor(np.ones(SHAPE))
    opt.step()
    assert np.array_equal(b.numpy(), _w0()) and not np.array_equal(a.numpy(), _w0())
    assert opt.state[b] == {} and opt.state[a]


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
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    opt = optim.Adam(model.parameters(), lr=0.1)
    x = tg.randn(5, 3, dtype="float64")
    # grads that carry a graph (create_graph=True) must not leak into the parameters
    model(x).sum().backward(create_graph=True)
    assert any(p.grad.creator is not None for p in model.parameters())
    opt.step()
    for p in model.parameters():
        assert p.creator is None and p.is_leaf and p.requires_grad and isinstance(p, nn.Parameter)
    assert all(isinstance(v, np.ndarray) for s in opt.state.values() for k, v in s.items() if k != "step")


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
            p.grad = tg.tensor(g.reshape(-1)[:int(np.prod(p.shape))].reshape(p.shape))
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
    for p in opt.param_groups[0]["params"]:
        p.grad = tg.tensor(np.ones(SHAPE))
    opt.step()
    with pytest.raises(ValueError, match=r"state_dict\['param_groups'\]\[0\]\['params'\]: expected 1 parameters "
                                         r"\(this optimizer's group 0\), got 2"):
        optim.Adam([nn.Parameter(_w0())]).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match=r"state_dict\['state'\]\[1\]\['exp_avg'\]: expected shape \(3,\) "
                                         r"\(parameter 1's\), got \(3, 4\)"):
        optim.Adam([nn.Parameter(_w0()), nn.Parameter(np.zeros(3))]).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match=r"state_dict\['param_groups'\]: expected 2 parameter groups, got 1"):
        optim.Adam([{"params": [nn.Parameter(_w0())]}, {"params": [nn.Parameter(_w0())]}]).load_state_dict(
            opt.state_dict())


def test_optimizer_rejects_a_parameter_listed_twice():
    p = tg.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="params: a Parameter appears more than once"):
        optim.Adam([p, p])


# ---------------------------------------------------------------- hand-computed steps
def test_adam_two_steps_by_hand():
    """lr 0.1, betas (0.5, 0.75), eps 0: step 1 moves by -lr sign(g); step 2 by hand."""
    p = nn.Parameter(np.array([1.0, -2.0]))
    opt = optim.Adam([p], lr=0.1, betas=(0.5, 0.75), eps=0.0)
    p.grad = tg.tensor(np.array([2.0, -4.0]))
    opt.step()
    np.testing.assert_allclose(p.numpy(), [0.9, -1.9], rtol=1e-15)
    p.grad = tg.tensor(np.array([1.0, 1.0]))
    opt.step()
    # m = 0.5 [1, -2] + 0.5 [1, 1] = [1, -0.5];  v = 0.75 0.25 [4, 16] + 0.25 [1, 1] = [1, 3.25]
    # m_hat = m / 0.75,  v_hat = v / (1 - 0.5625) = v / 0.4375
    m_hat, v_hat = np.array([1.0, -0.5]) / 0.75, np.array([1.0, 3.25]) / 0.4375
    np.testing.assert_allclose(p.numpy(), [0.9, -1.9] - 0.1 * m_hat / np.sqrt(v_hat), rtol=1e-14)
    assert opt.state[p]["step"] == 2
    np.testing.assert_allclose(opt.state[p]["exp_avg_sq"], [1.0, 3.25], rtol=1e-15)


def test_sgd_nesterov_and_dampening_by_hand():
    """PyTorch's SGD: b1 = g1; b_t = mu b + (1 - dampening) g; nesterov steps along g + mu b."""
    p = nn.Parameter(np.array([1.0]))
    opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    p.grad = tg.tensor(np.array([2.0]))
    opt.step()  # b = 2; step g + 0.9 b = 3.8
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.38], rtol=1e-15)
    p.grad = tg.tensor(np.array([1.0]))
    opt.step()  # b = 0.9 * 2 + 1 = 2.8; step 1 + 0.9 * 2.8 = 3.52
    np.testing.assert_allclose(p.numpy(), [0.62 - 0.352], rtol=1e-14)
    q = nn.Parameter(np.array([1.0]))
    opt = optim.SGD([q], lr=0.1, momentum=0.5, dampening=0.25, weight_decay=0.1)
    q.grad = tg.tensor(np.array([2.0]))
    opt.step()  # g = 2 + 0.1 = 2.1; b = g (no dampening on the first step)
    np.testing.assert_allclose(q.numpy(), [1.0 - 0.21], rtol=1e-15)
    q.grad = tg.tensor(np.array([2.0]))
    opt.step()  # g = 2 + 0.079 = 2.079; b = 0.5 * 2.1 + 0.75 * 2.079
    np.testing.assert_allclose(q.numpy(), [0.79 - 0.1 * (1.05 + 0.75 * 2.079)], rtol=1e-14)
    with pytest.raises(ValueError, match="nesterov: needs momentum > 0 and dampening 0"):
        optim.SGD([q], lr=0.1, nesterov=True)


def test_maximize_amsgrad_rmsprop_variants_by_hand():
    p = nn.Parameter(np.array([1.0]))
    opt = optim.SGD([p], lr=0.1, maximize=True)
    p.grad = tg.tensor(np.array([2.0]))
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1.2], rtol=1e-15)
    # AMSGrad: the denominator uses max(v) (Reddi et al. 2018): a small second gradient keeps the step small
    p = nn.Parameter(np.array([0.0]))
    opt = optim.Adam([p], lr=1.0, betas=(0.0, 0.5), eps=0.0, amsgrad=True)
    p.grad = tg.tensor(np.array([4.0]))
    opt.step()  # v = 8, step 1: -1
    p.grad = tg.tensor(np.array([1.0]))
    opt.step()  # v = 4.5 < max 8; v_hat = 8 / 0.75; step -1 / sqrt(8 / 0.75)
    np.testing.assert_allclose(p.numpy(), [-1.0 - 1.0 / np.sqrt(8 / 0.75)], rtol=1e-14)
    # RMSprop, centered with momentum: v' = v - ḡ^2, b = mu b + g / (sqrt(v') + eps)
    p = nn.Parameter(np.array([0.0]))
    opt = optim.RMSprop([p], lr=0.1, alpha=0.5, eps=0.0, momentum=0.5, centered=True)
    p.grad = tg.tensor(np.array([2.0]))
    opt.step()  # v = 2, ḡ = 1, v' = 1, b = 2
    np.testing.assert_allclose(p.numpy(), [-0.2], rtol=1e-15)
    p.grad = tg.tensor(np.array([1.0]))
    opt.step()  # v = 1.5, ḡ = 1, v' = 0.5, b = 1 + 1 / sqrt(0.5)
    np.testing.assert_allclose(p.numpy(), [-0.2 - 0.1 * (1 + 1 / np.sqrt(0.5))], rtol=1e-14)


def test_rmsprop_centered_subtracts_the_squared_gradient_mean_by_hand():
    """v' = v - ḡ^2 with ḡ != 1 (at ḡ = 1, ḡ and ḡ^2 agree and a missing square goes unseen)."""
    p = nn.Parameter(np.array([0.0]))
    opt = optim.RMSprop([p], lr=0.1, alpha=0.5, eps=0.0, centered=True)
    p.grad = tg.tensor(np.array([4.0]))
    opt.step()  # v = 8, ḡ = 2, v' = 4: step -0.1 * 4 / 2
    np.testing.assert_allclose(p.numpy(), [-0.2], rtol=1e-15)
    p.grad = tg.tensor(np.array([1.0]))
    opt.step()  # v = 4.5, ḡ = 1.5, v' = 2.25: step -0.1 * 1 / 1.5
    np.testing.assert_allclose(p.numpy(), [-0.2 - 0.1 / 1.5], rtol=1e-14)


# ---------------------------------------------------------------- param_groups, state, state_dict
def test_two_param_groups_with_their_own_lr():
    a, b = nn.Parameter(np.array([1.0])), nn.Parameter(np.array([1.0]))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1, momentum=0.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01] and opt.defaults["lr"] == 0.1
    assert set(opt.param_groups[1]) == {"params", "lr", "momentum", "dampening", "weight_decay", "nesterov",
                                        "maximize"}
    a.grad, b.grad = tg.tensor(np.array([2.0])), tg.tensor(np.array([2.0]))
    opt.step()
    assert a.numpy()[0] == pytest.approx(0.8, abs=1e-15) and b.numpy()[0] == pytest.approx(0.98, abs=1e-15)
    for group in opt.param_groups:  # a PyTorch loop that sets the learning rate
        group["lr"] = 0.5
    opt.step()
    assert a.numpy()[0] == pytest.approx(-0.2, abs=1e-15) and b.numpy()[0] == pytest.approx(-0.02, abs=1e-15)
    c = nn.Parameter(np.array([0.0]))
    opt.add_param_group({"params": c, "lr": 1.0})
    assert opt.param_groups[2]["params"] == [c] and opt.param_groups[2]["momentum"] == 0.0
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="lr: expected a value in >= 0.0, got -1"):
        optim.Adam([{"params": [nn.Parameter(np.zeros(1))], "lr": -1}])
    with pytest.raises(ValueError, match=r"betas\[1\]: expected a value in \[0.0, 1.0\), got 1.0"):
        optim.Adam([nn.Parameter(np.zeros(1))], betas=(0.9, 1.0))


def test_state_is_keyed_by_parameter_and_zero_grad():
    model = nn.Linear(2, 1)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(tg.ones(3, 2)).sum().backward()
    opt.step()
    assert set(map(id, opt.state)) == {id(model.weight), id(model.bias)}
    assert opt.state[model.weight]["exp_avg"].shape == (1, 2)
    opt.zero_grad(set_to_none=False)
    assert not model.weight.grad.numpy().any() and model.weight.grad.shape == (1, 2)
    opt.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None
    loss = opt.step(lambda: model(tg.ones(3, 2)).sum())  # a closure, as PyTorch
    assert isinstance(loss, Tensor)


def test_state_dict_layout_is_pytorchs():
    w, b = nn.Parameter(np.array([1.0, 2.0])), nn.Parameter(np.array([3.0]))
    opt = optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    w.grad = tg.tensor(np.array([1.0, 1.0]))
    opt.step()
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"] and list(sd["state"]) == [0]  # b has no state yet
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"] and sd["state"][0]["step"] == 1
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    sd["state"][0]["exp_avg"][:] = 7  # a copy, not the live state
    assert opt.state[w]["exp_avg"][0] != 7


def test_state_dict_round_trip_with_groups_resumes_bit_identically():
    def make(seed):
        rng = np.random.default_rng(seed)
        ps = [nn.Parameter(rng.standard_normal((3, 2)).astype(np.float32)),
              nn.Parameter(rng.standard_normal(4).astype(np.float32))]
        return ps, optim.Adam([{"params": [ps[0]], "lr": 0.05}, {"params": [ps[1]]}], lr=0.01, betas=(0.5, 0.9))

    def run(ps, opt, grads):
        for g in grads:
            for p, gp in zip(ps, g):
                p.grad = tg.tensor(gp)
            opt.step()

    rng = np.random.default_rng(3)
    grads = [[rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(4).astype(np.float32)]
             for _ in range(6)]
    pa, oa = make(0)
    run(pa, oa, grads)
    pb, ob = make(0)
    run(pb, ob, grads[:3])
    sd, weights = ob.state_dict(), [p.numpy().copy() for p in pb]
    pc, oc = make(1)  # fresh, other weights and lr
    for p, w in zip(pc, weights):
        p.data = w
    oc.param_groups[0]["lr"] = 99.0
    oc.load_state_dict(sd)
    assert oc.param_groups[0]["lr"] == 0.05 and oc.param_groups[0]["params"][0] is pc[0]
    assert oc.state[pc[0]]["exp_avg"].dtype == np.float32 and isinstance(oc.state[pc[0]]["step"], int)
    run(pc, oc, grads[3:])
    for a, c in zip(pa, pc):
        np.testing.assert_array_equal(a.numpy(), c.numpy())  # bit for bit


# ---------------------------------------------------------------- lr_scheduler.CosineAnnealingLR
def test_cosine_annealing_lr_matches_formula_by_hand():
    p = tg.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.02)
    assert optim.CosineAnnealingLR is optim.lr_scheduler.CosineAnnealingLR
    assert opt.param_groups[0]["initial_lr"] == 0.1 and sched.last_epoch == 0
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    # 0.02 + 0.08 (1 + cos(pi t / 4)) / 2 for t = 0..6: past T_max the cosine rises again, as PyTorch
    c = np.sqrt(0.5)
    expected = [0.1, 0.02 + 0.04 * (1 + c), 0.06, 0.02 + 0.04 * (1 - c), 0.02, 0.02 + 0.04 * (1 - c), 0.06]
    np.testing.assert_allclose(lrs, expected, rtol=1e-14)
    assert sched.get_last_lr() == [lrs[-1]] and sched.last_epoch == 6
    with pytest.raises(ValueError, match="T_max: expected an int >= 1"):
        optim.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="eta_min: expected a number >= 0"):
        optim.CosineAnnealingLR(opt, T_max=3, eta_min=-1)


def test_cosine_annealing_resumes_from_its_state_dict():
    def make():
        p = tg.tensor(np.ones(2), requires_grad=True)
        opt = optim.SGD([{"params": [p]}, {"params": [tg.tensor(np.ones(1), requires_grad=True)], "lr": 0.3}],
                        lr=0.1)
        return opt, optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)

    opt, sched = make()
    straight = []
    for _ in range(8):
        opt.step()
        sched.step()
        straight.append(sched.get_last_lr())
    opt, sched = make()
    for _ in range(3):
        opt.step()
        sched.step()
    o_sd, s_sd = opt.state_dict(), sched.state_dict()
    opt2, sched2 = make()  # rebuilt, as a resumed lesson does, then restored
    opt2.load_state_dict(o_sd)
    sched2.load_state_dict(s_sd)
    resumed = []
    for _ in range(5):
        opt2.step()
        sched2.step()
        resumed.append(sched2.get_last_lr())
    assert resumed == straight[3:]
    assert sched2.base_lrs == [0.1, 0.3] and opt2.param_groups[1]["initial_lr"] == 0.3
    # last_epoch != -1 resumes from the optimizer's initial_lr, as PyTorch
    sched3 = optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=10, last_epoch=2)
    assert sched3.last_epoch == 3 and sched3.get_last_lr() == straight[2]
    with pytest.raises(KeyError, match="initial_lr"):
        optim.lr_scheduler.CosineAnnealingLR(optim.SGD([tg.tensor(np.ones(1), requires_grad=True)]), 5,
                                             last_epoch=4)


def test_a_new_scheduler_keeps_the_groups_initial_lr():
    """last_epoch=-1 sets initial_lr only where a group lacks it (PyTorch's setdefault):
    a second schedule on an optimizer a first one has decayed starts from the original rate."""
    opt = optim.SGD([tg.tensor(np.ones(1), requires_grad=True)], lr=0.1)
    first = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    first.step()
    first.step()  # t = 2 of 4: lr = 0.1 (1 + cos(pi / 2)) / 2 = 0.05
    np.testing.assert_allclose(opt.param_groups[0]["lr"], 0.05, rtol=1e-12)
    second = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    assert second.base_lrs == [0.1] and opt.param_groups[0]["initial_lr"] == 0.1
    np.testing.assert_allclose(second.get_last_lr(), [0.05], rtol=1e-12)  # epoch 0: the current lr

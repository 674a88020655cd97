"""tinygen.utils.ema.EMA: the exponential moving average of a generator's weights
(Karras et al. 2018, appendix A.1; the warm-up of TensorFlow's ExponentialMovingAverage).

Three updates computed by hand, with and without the warm-up, and with a beta
below the warm-up's decay; buffers copied verbatim (and not averaged); the
copy is a separate, frozen, eval-mode module and no graph is recorded; the
state dict round trip, all or nothing on a bad dict; a run through ``fit``
interrupted and resumed gives bit for bit the EMA weights of an
uninterrupted one; the errors.
"""
import copy
import json

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils.data import Batches
from tinygen.utils.ema import EMA
from tinygen.utils.run import RunDir
from tinygen.utils.train import CannotResume, fit


def _model():
    tg.manual_seed(0)
    return nn.Linear(2, 1).double()


def _fill(model, value):
    for p in model.parameters():
        p.data = np.full(p.shape, float(value))


def _averaged(ema):
    """The averaged parameters' values (all equal here) as one float per parameter."""
    return [float(p.numpy().ravel()[0]) for p in ema.module.parameters()]


# ---------------------------------------------------------------- hand-computed updates
# The model's weights are 1 when the EMA is made, then 2, 4, 8 before each update.
#   warm-up, beta 0.999: b = 1/10, 2/11, 3/12
#     1.9 = 0.1 * 1 + 0.9 * 2;  39.8 / 11 = (2/11) 1.9 + (9/11) 4;  75.95 / 11 = 0.25 (39.8 / 11) + 0.75 * 8
#   no warm-up, beta 0.9:
#     1.1 = 0.9 + 0.2;  1.39 = 0.99 + 0.4;  2.051 = 1.251 + 0.8
#   warm-up, beta 0.15: b = min(0.15, 1/10) = 0.1, then min(0.15, 2/11) = 0.15, 0.15
#     1.9;  3.685 = 0.285 + 3.4;  7.35275 = 0.55275 + 6.8
@pytest.mark.parametrize("beta, warmup, expected, decays", [
    (0.999, True, [1.9, 39.8 / 11, 75.95 / 11], [0.1, 2 / 11, 0.25]),
    (0.9, False, [1.1, 1.39, 2.051], [0.9, 0.9, 0.9]),
    (0.15, True, [1.9, 3.685, 7.35275], [0.1, 0.15, 0.15]),
], ids=["warmup", "no_warmup", "beta_below_warmup"])
def test_three_updates_by_hand(beta, warmup, expected, decays):
    model = _model()
    _fill(model, 1.0)
    ema = EMA(model, beta=beta, warmup=warmup)
    got, used = [], []
    for value in (2.0, 4.0, 8.0):
        _fill(model, value)
        used.append(ema.decay())
        ema.update()
        got.append(_averaged(ema))
    np.testing.assert_allclose(used, decays, rtol=1e-15)
    np.testing.assert_allclose(got, [[v, v] for v in expected], rtol=1e-14)
    assert ema.num_updates == 3
    np.testing.assert_array_equal(model.weight.numpy(), 8.0)   # the model itself is not touched


def test_warmup_reaches_beta():
    ema = EMA(_model(), beta=0.999)
    ema.num_updates = 8990   # (1 + t) / (10 + t) = 8991 / 9000 < 0.999
    assert ema.decay() == pytest.approx(8991 / 9000, rel=1e-15)
    ema.num_updates = 8991   # 8992 / 9001 > 0.999
    assert ema.decay() == 0.999
    assert EMA(_model(), beta=0.5, warmup=False).decay() == 0.5


def test_float32_update_is_the_formula():
    tg.manual_seed(1)
    model = nn.Linear(5, 3)
    ema = EMA(model, beta=0.99, warmup=False)
    start = [p.numpy().copy() for p in ema.module.parameters()]
    for p in model.parameters():
        p.data = p.data + 0.5
    ema.update()
    for avg, s, p in zip(ema.module.parameters(), start, model.parameters()):
        assert avg.dtype == np.float32
        np.testing.assert_allclose(avg.numpy(), 0.99 * s + 0.01 * p.numpy(), rtol=1e-6)


# ---------------------------------------------------------------- the copy and its buffers
def test_module_is_a_frozen_eval_copy():
    tg.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model(tg.randn(5, 3)).sum().backward()   # the model has gradients; the copy must not
    ema = EMA(model)
    assert type(ema.module) is nn.Sequential and repr(ema.module) == repr(model)
    assert not ema.module.training and model.training
    for (name, a), (_, p) in zip(ema.module.named_parameters(), model.named_parameters()):
        assert a is not p and not np.shares_memory(a.data, p.data)
        np.testing.assert_array_equal(a.numpy(), p.numpy())
        assert not a.requires_grad and a.grad is None
        assert p.requires_grad and p.grad is not None
    # No graph is recorded by an update, even with grad mode on.
    ema.update()
    for a in ema.module.parameters():
        assert a.creator is None and not a.requires_grad and a.grad is None
    assert ema.module(tg.randn(4, 3)).shape == (4, 2)


def test_buffers_are_copied_verbatim_not_averaged():
    tg.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = EMA(model, beta=0.9, warmup=False)
    for _ in range(2):
        model(tg.randn(8, 3) * 3 + 1)   # train mode: moves the running statistics
    bn = model[1]
    assert int(bn.num_batches_tracked.item()) == 2
    ema.update()
    for (name, a), (_, b) in zip(ema.module.named_buffers(), model.named_buffers()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    # Copies: the model's next statistics do not leak into the average until the next update,
    # whether the model replaces its buffers' arrays (BatchNorm) or writes into them.
    saved = ema.module[1].running_mean.numpy().copy()
    with tg.no_grad():
        bn.running_var.fill_(5.0)
    assert not np.any(ema.module[1].running_var.numpy() == 5.0)
    model(tg.randn(8, 3))
    np.testing.assert_array_equal(ema.module[1].running_mean.numpy(), saved)
    # The parameters, in contrast, are averaged.
    assert not np.array_equal(ema.module[0].weight.numpy(), model[0].weight.numpy())


def test_update_refuses_a_model_changed_after_the_copy():
    model = nn.Sequential(nn.Linear(2, 3))
    ema = EMA(model)
    model.append(nn.Linear(3, 1))
    with pytest.raises(ValueError, match="model: its parameters no longer match the averaged copy"):
        ema.update()


# ---------------------------------------------------------------- state dict
def _trained_ema(seed=4, updates=3):
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = EMA(model, beta=0.8)
    for _ in range(updates):
        model(tg.randn(6, 3))
        for p in model.parameters():
            p.data = p.data + 0.1
        ema.update()
    return model, ema


def test_state_dict_round_trip():
    model, ema = _trained_ema()
    state = ema.state_dict()
    assert state["num_updates"] == 3 and isinstance(state["num_updates"], int)
    assert set(state) == {"num_updates"} | {f"module.{k}" for k in model.state_dict()}
    assert all(isinstance(v, np.ndarray) for k, v in state.items() if k != "num_updates")
    json.dumps({k: v for k, v in state.items() if not isinstance(v, np.ndarray)})
    other = EMA(copy.deepcopy(model), beta=0.8)
    other.load_state_dict(state)
    assert other.num_updates == 3
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, state[k], err_msg=k)
    # And both continue alike.
    ema.update()
    other.update()
    for a, b in zip(ema.module.parameters(), other.module.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # The state is a copy, not a view of the average.
    state["module.0.weight"][...] = 0
    assert np.abs(ema.module[0].weight.numpy()).sum() > 0


@pytest.mark.parametrize("change, match", [
    (lambda s: s.pop("num_updates"), r"state: missing keys \['num_updates'\]"),
    (lambda s: s.pop("module.0.weight"), r"state: missing keys \['module.0.weight'\]"),
    (lambda s: s.pop("module.1.running_var"), r"state: missing keys \['module.1.running_var'\]"),
    (lambda s: s.update({"module.2.weight": np.zeros(3)}), r"unexpected keys \['module.2.weight'\]"),
    (lambda s: s.update({"module.0.weight": np.zeros((3, 4))}),
     r"state: does not match the averaged model: .*'0.weight'.*expected shape \(4, 3\), got \(3, 4\)"),
    (lambda s: s.update({"num_updates": -1}), r"state\['num_updates'\]: expected an int >= 0, got -1"),
    (lambda s: s.update({"num_updates": "3"}), r"state\['num_updates'\]: expected an int >= 0"),
], ids=["no_num_updates", "no_weight", "no_buffer", "unexpected", "wrong_shape", "negative_count", "str_count"])
def test_load_state_dict_errors_change_nothing(change, match):
    model, ema = _trained_ema()
    state = ema.state_dict()
    change(state)
    target = EMA(copy.deepcopy(model))
    before = target.state_dict()
    with pytest.raises(ValueError, match=match):
        target.load_state_dict(state)
    after = target.state_dict()
    assert after["num_updates"] == before["num_updates"] == 0
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


# ---------------------------------------------------------------- resume through fit
def _run(tmp_path, steps=6, resume=False, stop_after=None):
    """A tiny regression trained by fit with an EMA in fit's state; returns (model, ema)."""
    tg.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    opt = optim.Adam(model.parameters(), lr=0.05)
    ema = EMA(model, beta=0.9)

    def step(xb, yb):
        loss = F.mse_loss(model(xb), yb + tg.randn(*yb.shape) * 0.01)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update()
        if step.count == stop_after:
            raise KeyboardInterrupt
        step.count += 1
        return {"loss": loss.item()}

    step.count = 0
    fit(step, Batches(x, y, batch_size=8, seed=1), steps, RunDir(str(tmp_path)), name="ema", models={"m": model},
        optimizers={"m": opt}, state={"ema": ema}, resume=resume, checkpoint_every=2, print_every=100)
    return model, ema


def test_resume_through_fit_is_bit_identical(tmp_path):
    model_full, ema_full = _run(tmp_path / "full")
    with pytest.raises(KeyboardInterrupt):   # dies in step 5, after the checkpoint at step 4
        _run(tmp_path / "cut", stop_after=4)
    model_res, ema_res = _run(tmp_path / "cut", resume=True)
    assert ema_res.num_updates == ema_full.num_updates == 6
    full, res = ema_full.state_dict(), ema_res.state_dict()
    assert full.keys() == res.keys()
    for k in full:
        np.testing.assert_array_equal(res[k], full[k], err_msg=k)
        if k != "num_updates":
            assert res[k].dtype == full[k].dtype
    np.testing.assert_array_equal(model_res[0].weight.numpy(), model_full[0].weight.numpy())
    # The average is not the model (the test is not vacuous).
    assert not np.array_equal(ema_full.module[0].weight.numpy(), model_full[0].weight.numpy())


def test_resume_with_a_stale_ema_state_is_refused(tmp_path):
    """A checkpoint's EMA that does not fit this run's model ends as fit's one-line CannotResume."""
    _run(tmp_path, steps=2)
    tg.manual_seed(0)
    x = np.zeros((40, 3), np.float32)   # the data of _run's shape, so that only the EMA differs
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    other = EMA(nn.Linear(3, 1))
    with pytest.raises(CannotResume, match="state: missing keys"):
        fit(lambda xb, yb: {"loss": 0.0}, Batches(x, x[:, :1], batch_size=8, seed=1), 2, RunDir(str(tmp_path)),
            name="ema", models={"m": model}, optimizers={"m": optim.Adam(model.parameters(), lr=0.05)},
            state={"ema": other}, resume=True)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("make, error, match", [
    (lambda m: EMA(m, beta=1.0), ValueError, r"beta: expected a number in \[0, 1\), got 1.0"),
    (lambda m: EMA(m, beta=-0.1), ValueError, r"beta: expected a number in \[0, 1\), got -0.1"),
    (lambda m: EMA(m, beta=1.5), ValueError, r"beta: expected a number in \[0, 1\), got 1.5"),
    (lambda m: EMA(m, beta="0.9"), ValueError, r"beta: expected a number in \[0, 1\), got '0.9'"),
    (lambda m: EMA(m, beta=True), ValueError, r"beta: expected a number in \[0, 1\), got True"),
    (lambda m: EMA(m, warmup="yes"), ValueError, r"warmup: expected True or False, got 'yes'"),
    (lambda m: EMA(m.weight), TypeError, r"model: expected a tinygen Module, got Parameter"),
], ids=["beta_1", "beta_negative", "beta_1.5", "beta_str", "beta_bool", "warmup_str", "not_a_module"])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make(_model())


def test_beta_zero_copies_the_weights():
    model = _model()
    ema = EMA(model, beta=0.0)
    _fill(model, 3.0)
    ema.update()
    assert _averaged(ema) == [3.0, 3.0]

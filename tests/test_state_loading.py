"""Loading optimizer state and checkpoints is all or nothing.

A state that does not match raises before anything changes: the optimizer
keeps its hyperparameters, step counts and moments, and a checkpoint whose
optimizer state mismatches leaves the models, the optimizers and the global
RNG as they were.
"""
import copy

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.backend import get_rng_state
from tinygen.utils.checkpoint import load_checkpoint, save_checkpoint


def _model():
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


def _trained(model, opt, steps=3):
    for _ in range(steps):
        loss = F.mse_loss(model(tg.randn(4, 3)), tg.randn(4, 2))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return opt


def _params(opt):
    return [p for g in opt.param_groups for p in g["params"]]


def _snapshot(opt):
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    return copy.deepcopy({"groups": groups, "state": [dict(opt.state.get(p, {})) for p in _params(opt)]})


def _assert_same(opt, snap):
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == snap["groups"]
    assert len(_params(opt)) == len(snap["state"])
    for p, t in zip(_params(opt), snap["state"]):
        s = opt.state.get(p, {})
        assert s.keys() == t.keys()
        for k in s:
            assert np.array_equal(s[k], t[k]), k


def test_optimizer_load_with_a_bad_last_array_changes_nothing():
    tg.manual_seed(0)
    src_model = _model()
    src = _trained(src_model, optim.Adam(src_model.parameters(), lr=0.5, betas=(0.1, 0.2)))
    model = _model()
    opt = _trained(model, optim.Adam(model.parameters(), lr=1e-3), steps=2)
    bad = src.state_dict()
    bad["state"][3]["exp_avg"] = np.zeros((7,), np.float32)  # the last parameter's bias is (2,)
    snap = _snapshot(opt)
    with pytest.raises(ValueError, match=r"state_dict\['state'\]\[3\]\['exp_avg'\]: expected shape \(2,\) "
                                         r"\(parameter 3's\), got \(7,\)"):
        opt.load_state_dict(bad)
    _assert_same(opt, snap)  # lr, betas, step counts and every moment as before
    with pytest.raises(ValueError, match=r"state_dict\['state'\]\[3\]"):
        opt.check_state_dict(bad)
    # The good state still loads, completely.
    good = src.state_dict()
    opt.load_state_dict(good)
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["betas"] == (0.1, 0.2)
    assert all(opt.state[p]["step"] == 3 for p in _params(opt))
    assert np.array_equal(opt.state[_params(opt)[3]]["exp_avg"], good["state"][3]["exp_avg"])


def test_optimizer_load_of_another_optimizers_state_changes_nothing():
    model = _model()
    adam = _trained(model, optim.Adam(model.parameters()))
    sgd = _trained(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    snap = _snapshot(adam)
    with pytest.raises(ValueError, match=r"state_dict\['param_groups'\]\[0\]: expected the hyperparameters "
                                         r"\['amsgrad', 'betas', 'eps', 'lr', 'maximize', 'weight_decay'\] of Adam, "
                                         r"got \['dampening', 'lr', 'maximize', 'momentum', 'nesterov', "
                                         r"'weight_decay'\]"):
        adam.load_state_dict(sgd.state_dict())
    _assert_same(adam, snap)
    with pytest.raises(ValueError, match=r"state_dict: expected a dict with 'state' and 'param_groups'"):
        adam.load_state_dict({"defaults": {}, "state": []})  # the layout of an older tinygen
    _assert_same(adam, snap)


@pytest.mark.parametrize("make_opt, match", [
    (lambda ps: optim.Adam(list(ps)[:-1]), r"optimizers\['opt'\]: checkpoint does not match: "
                                           r"state_dict\['param_groups'\]\[0\]\['params'\]: expected 3 parameters"),
    (lambda ps: optim.Adam(list(ps)[::-1]), r"optimizers\['opt'\]: checkpoint does not match: "
                                            r"state_dict\['state'\]\[0\]"),
    (lambda ps: optim.SGD(ps, lr=0.1), r"optimizers\['opt'\]: checkpoint does not match: "
                                       r"state_dict\['param_groups'\]\[0\]: expected the hyperparameters"),
    (lambda ps: (lambda ps: optim.Adam([{"params": ps[:2]}, {"params": ps[2:]}]))(list(ps)),
     r"optimizers\['opt'\]: checkpoint does not match: state_dict\['param_groups'\]: expected 2 parameter "
     r"groups, got 1"),
])
def test_checkpoint_with_mismatched_optimizer_state_leaves_everything_untouched(make_opt, match, tmp_path):
    tg.manual_seed(0)
    saved = _model()
    path = tmp_path / "c.npz"
    save_checkpoint(path, 3, {"model": saved}, {"opt": _trained(saved, optim.Adam(saved.parameters(), lr=0.2))})

    tg.manual_seed(1)
    model = _model()  # same architecture: the models part of the checkpoint matches
    opt = make_opt(model.parameters())
    _trained(model, opt, 2)
    before_model, before_opt, before_rng = model.state_dict(), _snapshot(opt), get_rng_state()
    with pytest.raises(ValueError, match=match):
        load_checkpoint(path, {"model": model}, {"opt": opt})
    after = model.state_dict()
    assert all(np.array_equal(before_model[k], after[k]) for k in after)  # models not loaded
    _assert_same(opt, before_opt)
    assert get_rng_state() == before_rng

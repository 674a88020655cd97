"""Tests for tinygen.checkpoint: full round trips (models, BN buffers, Adam state,
extra values, global RNG), exact resume, atomic writes, and load errors.
"""
import os
import re

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils.checkpoint import load_checkpoint, save_checkpoint


def _gen():
    # no bias before BN: its true gradient is 0, and Adam would amplify rounding noise in it
    return nn.Sequential(nn.Linear(4, 8, bias=False), nn.BatchNorm1d(8), nn.LeakyReLU(0.2), nn.Linear(8, 3))


def _critic():
    return nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1))


def _train(model, opt, steps):
    for _ in range(steps):
        x, y = tg.randn(8, model[0].in_features), tg.randn(8, model[-1].out_features)
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def _setup(seed):
    tg.manual_seed(seed)
    g, d = _gen(), _critic()
    return g, d, optim.Adam(g.parameters(), lr=1e-2, betas=(0.5, 0.9)), optim.Adam(d.parameters(), lr=3e-3)


def test_round_trip_models_optimizers_extra_and_rng(tmp_path):
    g, d, og, od = _setup(0)
    _train(g, og, 3)
    _train(d, od, 2)
    path = tmp_path / "run" / "ckpt.npz"  # parent folder created on save
    extra = {"epoch": 3, "name": "wgan", "best": 1.5, "hist": [1, 2], "fid": np.arange(4.0),
             "ids": np.array([[1, 2], [3, 4]], np.int64)}
    save_checkpoint(path, 5, {"G": g, "D": d}, {"G": og, "D": od}, extra=extra)
    after_save = tg.randn(6).numpy()

    g2, d2, og2, od2 = _setup(1)  # different weights, empty optimizer state
    out = load_checkpoint(path, {"G": g2, "D": d2}, {"G": og2, "D": od2})
    assert tg.randn(6).numpy().tolist() == after_save.tolist()  # global RNG restored
    assert out["step"] == 5
    assert {k: out["extra"][k] for k in ("epoch", "name", "best", "hist")} == \
        {"epoch": 3, "name": "wgan", "best": 1.5, "hist": [1, 2]}
    for k in ("fid", "ids"):
        assert out["extra"][k].dtype == extra[k].dtype and np.array_equal(out["extra"][k], extra[k])
    for a, b in ((g, g2), (d, d2)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(np.array_equal(sa[k], sb[k]) and sa[k].dtype == sb[k].dtype for k in sa)
    assert "1.running_var" in g2.state_dict() and not np.allclose(g2[1].running_var.numpy(), 1)
    assert g2[1].num_batches_tracked.item() == 3 and g2[1].num_batches_tracked.dtype == np.int64
    for a, b in ((og, og2), (od, od2)):
        ga, gb = a.param_groups[0], b.param_groups[0]
        assert {k: v for k, v in ga.items() if k != "params"} == {k: v for k, v in gb.items() if k != "params"}
        assert isinstance(gb["betas"], tuple) and gb["params"][0] is not ga["params"][0]
        for pa, pb in zip(ga["params"], gb["params"]):
            sa, sb = a.state[pa], b.state[pb]
            assert sa.keys() == sb.keys() == {"exp_avg", "exp_avg_sq", "step"}
            assert sa["step"] == sb["step"] and isinstance(sb["step"], int)
            assert all(np.array_equal(sa[k], sb[k]) and sb[k].dtype == np.float32 for k in sa if k != "step")


def _float64_setup(seed):
    g, _, _, _ = _setup(seed)
    g.double()
    return g, optim.Adam(g.parameters(), lr=1e-2, betas=(0.5, 0.9))


def _train64(model, opt, steps):
    for _ in range(steps):
        x, y = tg.randn(8, 4, dtype="float64"), tg.randn(8, 3, dtype="float64")
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()


def test_resume_is_exact(tmp_path):
    # float64 and 1e-12, not bit-exact: see test_backward_is_bit_deterministic
    g, og = _float64_setup(0)
    _train64(g, og, 6)
    straight = g.state_dict()

    g, og = _float64_setup(0)
    _train64(g, og, 3)
    save_checkpoint(tmp_path / "c.npz", 3, {"G": g}, {"G": og})
    del g, og
    g, og = _float64_setup(42)  # rebuilt from scratch, RNG elsewhere
    assert load_checkpoint(tmp_path / "c.npz", {"G": g}, {"G": og})["step"] == 3
    assert og.state[g[0].weight]["step"] == 3 and g[0].weight.dtype == np.float64
    _train64(g, og, 3)
    resumed = g.state_dict()
    for k in straight:  # parameters and BN buffers (the batch counter stays int64)
        assert resumed[k].dtype == (np.int64 if k.endswith("num_batches_tracked") else np.float64)
        np.testing.assert_allclose(resumed[k], straight[k], rtol=1e-12, atol=1e-13, err_msg=k)
    # A resume that forgot the RNG, the Adam moments or the step count is off by far more:
    g2, og2 = _float64_setup(0)
    _train64(g2, og2, 3)
    og2 = optim.Adam(g2.parameters(), lr=1e-2, betas=(0.5, 0.9))  # fresh Adam state
    _train64(g2, og2, 3)
    assert np.abs(g2.state_dict()["0.weight"] - straight["0.weight"]).max() > 1e-4


def test_backward_is_bit_deterministic():
    tg.manual_seed(0)
    bn = nn.BatchNorm1d(16)
    x0, v = tg.randn(32, 16).numpy(), tg.randn(32, 16)
    results, junk = [], []
    for rep in range(40):
        junk.append([object() for _ in range(rep * 37)])  # shift object addresses between repeats
        x = tg.tensor(x0, requires_grad=True)
        results.append(tg.grad(bn(x), x, grad_outputs=v)[0].numpy())
    differ = sum(not np.array_equal(r, results[0]) for r in results)
    assert differ == 0, (f"{differ}/39 repeats of the same backward differ from the first, by up to "
                         f"{max(np.abs(r - results[0]).max() for r in results):.3g}")


def _bytes(path):
    with open(path, "rb") as f:
        return f.read()


def test_failed_write_leaves_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    g, _, og, _ = _setup(0)
    save_checkpoint(path, 1, {"G": g}, {"G": og})
    old = _bytes(path)

    def broken_savez(f, **arrays):  # a disk-full / kill in the middle of the write
        f.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    _train(g, og, 1)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, 2, {"G": g}, {"G": og})
    monkeypatch.undo()
    assert _bytes(path) == old
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temp file left behind
    assert load_checkpoint(path, {"G": _gen()}, {"G": optim.Adam(_gen().parameters())})["step"] == 1


def test_checkpoint_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        save_checkpoint(tmp_path / "c.npz", 0, {"D": _critic()})
    finally:
        os.umask(old)
    mode = os.stat(tmp_path / "c.npz").st_mode & 0o777
    assert mode != 0o600 and mode == 0o644  # not mkstemp's 0600


def test_missing_file_raises(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        load_checkpoint(path, {"D": _critic()})


@pytest.mark.parametrize("content", [np.random.default_rng(0).bytes(2000), b"", b"PK\x03\x04junk"],
                         ids=["random", "empty", "zip_magic"])
def test_corrupt_file_raises_value_error(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="bad.npz"):
        load_checkpoint(path, {"D": _critic()})


def test_npz_that_is_not_a_checkpoint_raises(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz"):
        load_checkpoint(path, {"D": _critic()})


def test_truncated_checkpoint_raises_value_error(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, 0, {"D": _critic()})
    path.write_bytes(_bytes(path)[: len(_bytes(path)) // 2])
    with pytest.raises(ValueError):
        load_checkpoint(path, {"D": _critic()})


def test_damaged_array_data_raises_value_error(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, 0, {"D": nn.Linear(40, 30)})
    data = bytearray(_bytes(path))
    data[200:208] = bytes(b ^ 0xFF for b in data[200:208])  # inside the first array's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError):
        load_checkpoint(path, {"D": nn.Linear(40, 30)})


def test_different_architecture_raises_naming_model(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, 0, {"critic": _critic()}, {"critic": optim.Adam(_critic().parameters())})
    wider = nn.Sequential(nn.Linear(3, 7), nn.Tanh(), nn.Linear(7, 1))
    with pytest.raises(ValueError, match=r"critic.*0\.weight"):  # wrong shape
        load_checkpoint(path, {"critic": wider})
    deeper = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1), nn.Sigmoid(), nn.Linear(1, 1))
    with pytest.raises(ValueError, match=r"critic.*4\.weight"):  # missing keys
        load_checkpoint(path, {"critic": deeper})
    with pytest.raises(ValueError, match="generator"):  # no such model in the file
        load_checkpoint(path, {"generator": _critic()})
    with pytest.raises(ValueError, match="'G'"):  # no such optimizer in the file
        load_checkpoint(path, {"critic": _critic()}, {"G": optim.Adam(_critic().parameters())})


def test_mismatched_second_model_leaves_the_first_untouched(tmp_path):
    a, b = nn.Linear(2, 3), nn.Linear(3, 1)
    path = tmp_path / "c.npz"
    save_checkpoint(path, 1, {"a": a, "b": b})
    a2, wrong_b = nn.Linear(2, 3), nn.Linear(3, 2)
    before = a2.state_dict()
    with pytest.raises(ValueError, match=r"models\['b'\]: checkpoint does not match"):
        load_checkpoint(path, {"a": a2, "b": wrong_b})
    assert all(np.array_equal(before[k], v) for k, v in a2.state_dict().items())


def test_param_groups_and_scheduler_state_survive_a_checkpoint(tmp_path):
    """Two parameter groups with their own lr and a cosine schedule: resumed from a
    checkpoint (the schedule's state saved beside it, as ``fit(state=...)`` does), the
    run continues with the same learning rates and weights as an uninterrupted one."""
    def make():
        tg.manual_seed(0)
        g = _critic()
        opt = optim.Adam([{"params": g[0].parameters()}, {"params": g[2].parameters(), "lr": 1e-3}], lr=1e-2)
        return g, opt, optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6)

    def train(g, opt, sched, steps):
        lrs = []
        for _ in range(steps):
            _train(g, opt, 1)
            sched.step()
            lrs.append(sched.get_last_lr())
        return lrs

    g, opt, sched = make()
    straight_lrs = train(g, opt, sched, 6)
    straight = g.state_dict()
    g, opt, sched = make()
    train(g, opt, sched, 2)
    save_checkpoint(tmp_path / "c.npz", 2, {"G": g}, {"G": opt}, extra={"schedule": sched.state_dict()})
    g, opt, sched = make()  # rebuilt from scratch, as a resumed lesson does
    out = load_checkpoint(tmp_path / "c.npz", {"G": g}, {"G": opt})
    sched.load_state_dict(out["extra"]["schedule"])
    assert [grp["lr"] for grp in opt.param_groups] == straight_lrs[1]
    assert train(g, opt, sched, 4) == straight_lrs[2:]
    for k, v in g.state_dict().items():
        np.testing.assert_allclose(v, straight[k], rtol=1e-6, atol=1e-7, err_msg=k)


def test_fit_resumes_a_cosine_schedule(tmp_path):
    """tinygen.utils.train.fit with the scheduler in ``state`` (lessons 01 and 09):
    3 steps + resume to 5 log the learning rates of an uninterrupted 5-step run."""
    from tinygen.utils.data import Batches
    from tinygen.utils.run import RunDir
    from tinygen.utils.train import fit

    data = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)

    def run(out, steps, resume):
        tg.manual_seed(0)
        model = _critic()
        opt = optim.Adam(model.parameters(), lr=1e-2)
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)

        def step(x):
            loss = (model(x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            return {"loss": loss.item(), "lr": opt.param_groups[0]["lr"]}

        return fit(step, Batches(data, batch_size=8, seed=0), steps, RunDir(out), models={"m": model},
                   optimizers={"opt": opt}, state={"schedule": sched}, resume=resume, print_every=100)

    straight = run(tmp_path / "a", 5, False)
    run(tmp_path / "b", 3, False)
    resumed = run(tmp_path / "b", 5, True)
    assert [r["lr"] for r in resumed] == [r["lr"] for r in straight]
    assert [r["loss"] for r in resumed] == [r["loss"] for r in straight]
    assert straight[-1]["lr"] == 0.0 and straight[0]["lr"] < 1e-2

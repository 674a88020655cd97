"""tinygen.train (fit, evaluate, map_batches) and the named logs of RunDir."""
import json

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils.data import Batches
from tinygen.utils.run import RunDir
from tinygen.utils.train import evaluate, fit, map_batches, tail_means


def make_run(tmp_path, seed=0, steps=6, resume=False, stop_after=None, state=None, callback_steps=()):
    """A tiny regression trained by fit; returns (history, model, calls to the callback)."""
    tg.manual_seed(seed)
    x = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = nn.Linear(3, 1)
    opt = optim.Adam(model.parameters(), lr=0.05)
    calls = []

    def step(xb, yb):
        noise = tg.randn(*yb.shape) * 0.01  # uses the global RNG: resume must restore it
        loss = F.mse_loss(model(xb), yb + noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step.count == stop_after:
            raise KeyboardInterrupt
        step.count += 1
        return {"loss": loss.item(), "twice": 2 * loss.item()}

    step.count = 0

    def callback(s):
        calls.append(s)
        model.eval()

    run = RunDir(str(tmp_path))
    hist = fit(step, Batches(x, y, batch_size=8, seed=1), steps, run, name="reg", models={"m": model},
               optimizers={"m": opt}, state=state, resume=resume, checkpoint_every=2,
               callback=callback, callback_steps=callback_steps, print_every=2)
    return hist, model, calls


def test_fit_logs_checkpoints_and_calls_back(tmp_path, capsys):
    state = {"snap": np.arange(3.0)}
    hist, model, calls = make_run(tmp_path, steps=30, state=state, callback_steps=[0, 3, 30])
    assert [r["step"] for r in hist] == list(range(1, 31))
    assert all(r["twice"] == pytest.approx(2 * r["loss"]) for r in hist)
    assert np.mean([r["loss"] for r in hist[-5:]]) < 0.2 * np.mean([r["loss"] for r in hist[:5]])
    assert calls == [0, 3, 30] and model.training  # put back in training mode
    assert (tmp_path / "reg.npz").exists()
    assert [json.loads(line)["step"] for line in open(tmp_path / "reg.jsonl")] == list(range(1, 31))
    out = capsys.readouterr().out
    assert "[reg] step 2/30 | loss" in out and "it/s" in out and "ETA" in out


def test_fit_resume_is_exact_and_skips_finished_stage(tmp_path, capsys):
    full, m_full, _ = make_run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):  # dies in step 5, after the checkpoint at 4
        make_run(tmp_path / "b", stop_after=4)
    state = {"snap": np.zeros(2)}
    resumed, m_res, calls = make_run(tmp_path / "b", resume=True, state=state, callback_steps=[0, 6])
    assert "[reg] resumed at step 4" in capsys.readouterr().out
    assert calls == [6]  # step 0 was before the interruption
    assert [r["step"] for r in resumed] == [1, 2, 3, 4, 5, 6]  # step 5 of the dead run dropped
    np.testing.assert_array_equal([r["loss"] for r in resumed], [r["loss"] for r in full])
    np.testing.assert_array_equal(m_res.weight.numpy(), m_full.weight.numpy())
    # A finished stage is loaded, not retrained.
    again, m_again, calls = make_run(tmp_path / "b", resume=True, callback_steps=[0, 6])
    assert "(finished)" in capsys.readouterr().out and calls == []
    np.testing.assert_array_equal(m_again.weight.numpy(), m_full.weight.numpy())
    assert len(again) == 6


def test_fit_restores_state(tmp_path):
    make_run(tmp_path, state={"snap": np.arange(3.0), "note": "hi"})
    state = {}
    make_run(tmp_path, resume=True, state=state)
    np.testing.assert_array_equal(state["snap"], np.arange(3.0))
    assert state["note"] == "hi"


def test_fit_errors(tmp_path):
    run = RunDir(str(tmp_path))
    b = Batches(np.zeros((4, 2), np.float32), batch_size=2)
    with pytest.raises(ValueError, match="steps: expected an int >= 0, got -1"):
        fit(lambda x: {}, b, -1, run)
    with pytest.raises(ValueError, match="step: expected a dict of floats, got float"):
        fit(lambda x: 1.0, b, 2, run)


def test_evaluate_is_exact_mean_and_map_batches_concatenates():
    x = np.random.default_rng(0).standard_normal((23, 4)).astype(np.float32)
    got = evaluate(lambda xb: {"m": xb.mean(), "sq": (xb * xb).mean()}, x, batch_size=5)
    assert got["m"] == pytest.approx(x.mean(), rel=1e-5)
    assert got["sq"] == pytest.approx((x ** 2).mean(), rel=1e-5)
    w = nn.Linear(4, 2)
    out = map_batches(w, x, batch_size=5)
    np.testing.assert_allclose(out, x @ w.weight.numpy().T + w.bias.numpy(), rtol=1e-5)
    a, b = map_batches(lambda xb, yb: (xb * 2, yb), x, x[:, :1], batch_size=10)
    assert a.shape == (23, 4) and b.shape == (23, 1)
    assert tg.is_grad_enabled()  # no_grad is scoped to the call
    with pytest.raises(ValueError, match="arrays: expected one or more arrays of equal length"):
        map_batches(w, x, x[:3])
    with pytest.raises(ValueError, match="arrays"):
        evaluate(lambda: {})


def test_rundir_named_logs(tmp_path):
    run = RunDir(str(tmp_path))
    for s in (1, 2, 3):
        run.log({"step": s, "loss": s}, "stage")
    run.log({"step": 1, "loss": 0.5})
    assert [r["step"] for r in run.history("stage")] == [1, 2, 3]
    run.reset_log("stage", resume_step=2)
    assert [r["step"] for r in run.history("stage")] == [1, 2]
    run.reset_log("stage")
    assert run.history("stage") == [] and len(run.history()) == 1


def test_parse_args_quick_overrides_and_checks(capsys):
    from tinygen.utils.run import lesson_parser, parse_args
    parser = lesson_parser("t", steps=1000)
    parser.add_argument("--hidden", type=int, default=64)
    quick = {"steps": 5, "batch_size": 16, "hidden": 8}
    args = parse_args(parser, ["--quick"], quick=quick)
    assert (args.steps, args.batch_size, args.hidden) == (5, 16, 8)
    args = parse_args(parser, ["--quick", "--steps", "7"], quick=quick)   # explicit flags win
    assert (args.steps, args.hidden) == (7, 8)
    assert parse_args(parser, [], quick=quick).steps == 1000             # no --quick: defaults
    with pytest.raises(SystemExit):
        parse_args(parser, ["--hidden", "0"], positive=("hidden",))
    assert "--hidden: expected an integer >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(parser, ["--batch-size", "0"])
    assert "--batch-size: expected an integer >= 1, got 0" in capsys.readouterr().err


def test_tail_means_averages_the_last_fraction():
    history = [{"step": i, "loss": float(i)} for i in range(1, 101)]
    assert tail_means(history, ("loss",)) == {"loss": 95.5}                  # steps 91..100
    assert tail_means(history, ("loss", "step"), fraction=0.2) == {"loss": 90.5, "step": 90.5}
    assert tail_means(history[:5], ("loss",)) == {"loss": 5.0}               # at least the last record
    assert tail_means(history, ("loss",), fraction=0.29) == {"loss": 86.0}   # 72..100, though 0.29 * 100 < 29
    for bad, kwargs in (([], {}), (history, {"fraction": 0}), (history, {"fraction": 1.5})):
        with pytest.raises(ValueError):
            tail_means(bad, ("loss",), **kwargs)

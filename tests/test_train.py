"""tinygen.train (fit, evaluate, map_batches) and the named logs of RunDir.

fit's edges are checked against hand-counted steps: a run whose length is
not a multiple of the sample or checkpoint interval still ends with a frame
and a checkpoint at its last step; resuming a finished run changes nothing;
a NaN or infinite loss stops the run with the last good checkpoint kept; a
checkpoint that does not match ends in one line; the training seconds of a
resumed run count both parts (a fake clock makes them exact).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import train as train_module
from tinygen.utils.checkpoint import load_checkpoint
from tinygen.utils.data import Batches
from tinygen.utils.gan import SampleGif, fit_gan
from tinygen.utils.run import RunDir
from tinygen.utils.train import CannotResume, NonFiniteLoss, RunStopped, evaluate, fit, map_batches, tail_means


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
    from tinygen.utils.run import lesson_parser, parse_args, positive_int
    parser = lesson_parser("t", steps=1000)
    parser.add_argument("--hidden", type=positive_int, default=64)
    quick = {"steps": 5, "batch_size": 16, "hidden": 8}
    args = parse_args(parser, ["--quick"], quick=quick)
    assert (args.steps, args.batch_size, args.hidden) == (5, 16, 8)
    args = parse_args(parser, ["--quick", "--steps", "7"], quick=quick)   # explicit flags win
    assert (args.steps, args.hidden) == (7, 8)
    assert parse_args(parser, [], quick=quick).steps == 1000             # no --quick: defaults
    with pytest.raises(SystemExit):
        parse_args(parser, ["--hidden", "0"])
    assert "argument --hidden: expected an integer >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(parser, ["--batch-size", "0"])
    assert "argument --batch-size: expected an integer >= 1, got 0" in capsys.readouterr().err


def test_tail_means_averages_the_last_fraction():
    history = [{"step": i, "loss": float(i)} for i in range(1, 101)]
    assert tail_means(history, ("loss",)) == {"loss": 95.5}                  # steps 91..100
    assert tail_means(history, ("loss", "step"), fraction=0.2) == {"loss": 90.5, "step": 90.5}
    assert tail_means(history[:5], ("loss",)) == {"loss": 5.0}               # at least the last record
    assert tail_means(history, ("loss",), fraction=0.29) == {"loss": 86.0}   # 72..100, though 0.29 * 100 < 29
    for bad, kwargs in (([], {}), (history, {"fraction": 0}), (history, {"fraction": 1.5})):
        with pytest.raises(ValueError):
            tail_means(bad, ("loss",), **kwargs)


# ------------------------------------------------------------------ fit's edges
def _tiny(tmp_path, values=None, clock=None, stop_after=None):
    """A Linear(2, 1) on 12 rows, with ``step(next_batch)`` for fit(pull=True).

    ``values(n)`` -> the dict the n-th call returns (default: the loss);
    ``clock``: a one-element list, advanced by 10 s per step (a fake
    perf_counter); ``stop_after``: the call that raises KeyboardInterrupt.
    Returns (run, batches, models, optimizers, step); ``step.calls`` counts.
    """
    tg.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.05)
    x = np.random.default_rng(0).standard_normal((12, 2)).astype(np.float32)

    def step(next_batch):
        step.calls += 1
        if clock is not None:
            clock[0] += 10.0
        if step.calls == stop_after:
            raise KeyboardInterrupt
        loss = (model(next_batch()) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return values(step.calls) if values else {"loss": loss.item()}

    step.calls = 0
    return RunDir(str(tmp_path)), Batches(x, batch_size=4, seed=0), {"m": model}, {"m": opt}, step


def _steps_logged(path):
    return [json.loads(line)["step"] for line in open(path)]


def test_a_run_off_the_intervals_ends_with_a_frame_and_a_checkpoint_at_its_last_step(tmp_path, monkeypatch):
    saved = []
    real_save = train_module.save_checkpoint
    monkeypatch.setattr(train_module, "save_checkpoint", lambda path, s, *a, **k: (saved.append(s),
                                                                                  real_save(path, s, *a, **k)))
    run, batches, models, optimizers, step = _tiny(tmp_path)
    frames_at = []
    gif = SampleGif(run.file("t.gif"), models["m"], tg.randn(3, 2), render=lambda x: np.zeros((2, 2, 3), np.uint8))

    def callback(s):
        frames_at.append(s)
        gif(s)

    history = fit_gan(step, batches, run, models, optimizers, gif, steps=7, sample_every=3, checkpoint_every=5,
                      callback=callback)
    assert frames_at == [3, 6, 7] and len(gif.frames) == 3        # 7 is no multiple of 3: still a frame
    assert saved == [5, 7]                                         # nor of 5: still a checkpoint
    assert load_checkpoint(run.file("train.npz"), models, optimizers)["step"] == 7
    assert [r["step"] for r in history] == list(range(1, 8)) and step.calls == 7


def test_resuming_a_finished_run_changes_nothing(tmp_path, monkeypatch):
    run, batches, models, optimizers, step = _tiny(tmp_path)
    gif = SampleGif(run.file("t.gif"), models["m"], tg.randn(3, 2), render=lambda x: np.zeros((2, 2, 3), np.uint8))
    first = fit_gan(step, batches, run, models, optimizers, gif, steps=7, sample_every=3, checkpoint_every=5)
    files = {name: (tmp_path / name).read_bytes() for name in ("train.jsonl", "train.npz", "t.gif")}
    weights = models["m"].weight.numpy().copy()
    run, batches, models, optimizers, step = _tiny(tmp_path)        # a fresh process's objects
    gif = SampleGif(run.file("t.gif"), models["m"], tg.randn(3, 2), render=lambda x: np.zeros((2, 2, 3), np.uint8))
    again = fit_gan(step, batches, run, models, optimizers, gif, steps=7, sample_every=3, checkpoint_every=5,
                    resume=True)
    assert step.calls == 0 and len(gif.frames) == 3                 # no step, no frame; the 3 frames restored
    assert {name: (tmp_path / name).read_bytes() for name in files} == files
    assert again == first and again.seconds == first.seconds
    np.testing.assert_array_equal(models["m"].weight.numpy(), weights)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    run, batches, models, optimizers, step = _tiny(
        tmp_path, values=lambda n: {"loss_G": 0.5, "loss_D": float("nan") if n == 6 else 0.25})
    with pytest.raises(NonFiniteLoss) as info:
        fit(step, batches, 10, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=4)
    e = info.value
    assert str(e) == (f"[train] step 6: loss_D is nan; stopping. The last good checkpoint (step 4 of 10) "
                      f"is kept in {tmp_path / 'train.npz'}")
    assert (e.step, e.key, e.checkpoint_step, e.checkpoint) == (6, "loss_D", 4, str(tmp_path / "train.npz"))
    assert isinstance(e, RunStopped) and isinstance(e, SystemExit) and e.code == str(e)
    assert _steps_logged(tmp_path / "train.jsonl") == [1, 2, 3, 4, 5]   # the bad step is not logged
    assert load_checkpoint(run.file("train.npz"), models, optimizers)["step"] == 4


def test_an_infinite_loss_on_a_checkpoint_step_is_not_checkpointed(tmp_path):
    run, batches, models, optimizers, step = _tiny(
        tmp_path, values=lambda n: {"loss_D": 0.25, "loss_G": -float("inf") if n == 8 else 0.5})
    with pytest.raises(NonFiniteLoss, match=r"^\[train\] step 8: loss_G is -inf; stopping. The last good "
                                            r"checkpoint \(step 4 of 10\)"):
        fit(step, batches, 10, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=4)
    assert load_checkpoint(run.file("train.npz"), models, optimizers)["step"] == 4


def test_a_nan_before_the_first_checkpoint_says_there_is_none(tmp_path):
    run, batches, models, optimizers, step = _tiny(tmp_path, values=lambda n: {"loss": float("nan")})
    with pytest.raises(NonFiniteLoss) as info:
        fit(step, batches, 10, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=4)
    assert str(info.value) == ("[train] step 1: loss is nan; stopping. No checkpoint of this run was written yet "
                               "(the first is due at step 4)")
    assert info.value.checkpoint is None and not (tmp_path / "train.npz").exists()


def test_a_diverging_script_exits_with_one_line_and_status_1(tmp_path):
    script = tmp_path / "diverge.py"
    script.write_text(
        "import numpy as np\n"
        "from tinygen.utils.data import Batches\n"
        "from tinygen.utils.run import RunDir\n"
        "from tinygen.utils.train import fit\n"
        "fit(lambda x: {'loss': float('nan')}, Batches(np.zeros((4, 1), np.float32), batch_size=2), 3,\n"
        "    RunDir('out'))\n")
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1] == ("[train] step 1: loss is nan; stopping. No checkpoint of this run "
                                                 "was written yet (the first is due at step 3)")


def test_resumed_seconds_add_the_first_part(tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(train_module, "perf_counter", lambda: clock[0])
    run, batches, models, optimizers, step = _tiny(tmp_path / "a", clock=clock)
    whole = fit(step, batches, 6, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=2)
    assert whole.seconds == 60.0                                     # 6 steps of 10 s
    run, batches, models, optimizers, step = _tiny(tmp_path / "b", clock=clock, stop_after=5)
    with pytest.raises(KeyboardInterrupt):                           # dies in step 5, after the checkpoint at 4
        fit(step, batches, 6, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=2)
    clock[0] += 5000.0                                               # time passes between the two processes
    run, batches, models, optimizers, step = _tiny(tmp_path / "b", clock=clock)
    resumed = fit(step, batches, 6, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=2,
                  resume=True)
    assert step.calls == 2 and resumed.seconds == 60.0               # 40 s before the checkpoint + 20 s now
    finished = fit(step, batches, 6, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=2,
                   resume=True)
    assert finished.seconds == 60.0                                  # the finished run's, from its checkpoint


def test_a_callback_with_state_dict_is_checkpointed_without_being_in_state(tmp_path):
    class Recorder:
        def __init__(self):
            self.seen = []

        def __call__(self, s):
            self.seen.append(s)

        def state_dict(self):
            return {"seen": np.array(self.seen, np.int64)}

        def load_state_dict(self, state):
            self.seen = np.asarray(state["seen"]).tolist()

    run, batches, models, optimizers, step = _tiny(tmp_path, stop_after=5)
    with pytest.raises(KeyboardInterrupt):
        fit(step, batches, 6, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=2,
            callback=Recorder(), callback_steps=[0, 2, 4, 6])
    run, batches, models, optimizers, step = _tiny(tmp_path)
    recorder = Recorder()
    fit(step, batches, 6, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=2,
        callback=recorder, callback_steps=[0, 2, 4, 6], resume=True)
    assert recorder.seen == [0, 2, 4, 6]                             # 0, 2, 4 came back from the checkpoint
    assert "extra/callback.seen" in np.load(tmp_path / "train.npz").files
    # Already in state: saved once, under its state name.
    run, batches, models, optimizers, step = _tiny(tmp_path / "s")
    recorder = Recorder()
    fit(step, batches, 2, run, models=models, optimizers=optimizers, pull=True, state={"rec": recorder},
        callback=recorder, callback_steps=[2])
    assert [k for k in np.load(tmp_path / "s" / "train.npz").files if k.startswith("extra/")] == ["extra/rec.seen"]
    # A state this run does not keep (the object was renamed, or the lesson changed) is an error, not lost.
    run, batches, models, optimizers, step = _tiny(tmp_path / "s")
    with pytest.raises(CannotResume, match=r"state: the checkpoint holds the state of \['rec'\], which this run "):
        fit(step, batches, 4, run, models=models, optimizers=optimizers, pull=True, callback=Recorder(),
            callback_steps=[2], resume=True)


def test_a_checkpoint_that_does_not_match_is_one_line_naming_the_file(tmp_path):
    run, batches, models, optimizers, step = _tiny(tmp_path)
    fit(step, batches, 5, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=2)
    path = tmp_path / "train.npz"                                    # at step 5: batch 2 of epoch 1's 3
    prog = os.path.basename(sys.argv[0])
    other = {"m": nn.Linear(2, 3)}                                   # another architecture
    with pytest.raises(CannotResume) as info:
        fit(step, batches, 6, run, models=other, optimizers={}, pull=True, resume=True)
    text = str(info.value)
    assert text.startswith(f"{prog}: error: --resume: cannot continue [train] from {path}: models['m']: ")
    assert "\n" not in text and info.value.path == str(path) and isinstance(info.value, SystemExit)
    fewer = Batches(np.zeros((2, 2), np.float32), batch_size=2)      # other data: 1 batch an epoch
    with pytest.raises(CannotResume, match="invalid Batches state"):
        fit(step, fewer, 6, run, models=models, optimizers=optimizers, pull=True, resume=True)
    path.write_bytes(path.read_bytes()[:200])                        # a truncated file
    with pytest.raises(CannotResume, match=f"from {path}: path: {path} is not a readable tinygen checkpoint"):
        fit(step, batches, 6, run, models=models, optimizers=optimizers, pull=True, resume=True)
    assert step.calls == 5                                           # nothing trained on any of them


def test_recorder_measures_at_its_steps_and_resumes_with_the_run(tmp_path):
    """``Recorder``: each probe at its own steps (a float and an array), ``also`` at every call; over an
    interrupted run and ``resume`` the records come back from the checkpoint and go on."""
    from tinygen.utils.train import Recorder

    def recorder(models, frames):
        w = models["m"].weight
        return Recorder({"loss0": ([0, 4], lambda s: float(s) / 2),
                         "weight": ([0, 2, 4, 6], lambda s: w.numpy().copy())}, also=frames.append)

    run, batches, models, optimizers, step = _tiny(tmp_path, stop_after=5)
    frames = []
    rec = recorder(models, frames)
    assert rec.due == [0, 2, 4, 6]
    with pytest.raises(KeyboardInterrupt):
        fit(step, batches, 6, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=2,
            callback=rec, callback_steps=[0, 2, 4, 6])
    assert frames == [0, 2, 4] and rec.steps("loss0") == [0, 4] and rec.values("loss0") == [0.0, 2.0]
    kept = [w.copy() for w in rec.values("weight")]
    run, batches, models, optimizers, step = _tiny(tmp_path)
    frames = []
    rec = recorder(models, frames)
    fit(step, batches, 6, run, models=models, optimizers=optimizers, pull=True, checkpoint_every=2,
        callback=rec, callback_steps=rec.due, resume=True)
    assert frames == [6] and rec.steps("weight") == [0, 2, 4, 6] and rec.steps("loss0") == [0, 4]
    assert all(np.array_equal(a, b) for a, b in zip(rec.values("weight"), kept))      # back from the checkpoint
    assert not np.array_equal(rec.values("weight")[-1], kept[-1])                      # step 6 trained on
    bad = Recorder({"mixed": ([1, 2], lambda s: np.zeros(s))})
    bad(1), bad(2)
    with pytest.raises(ValueError, match="one shape"):
        bad.state_dict()

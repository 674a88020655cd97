"""Lesson 10 (the toy 2-D GAN): --quick outputs, metric ranges, the losses' signs, export, resume, flag errors."""
import json
import os
from types import SimpleNamespace

import imageio.v3 as iio
import numpy as np
import pytest

import tinygen as tg
from conftest import RecordingOptimizer, lesson_definitions, run  # noqa: F401  (data_env is a conftest fixture)
from tinygen import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOY = os.path.join(ROOT, "lessons", "10_toy_gan.py")
RUNS = ["ring_ns", "ring_minimax", "grid_ns", "grid_minimax", "grid_weak", "grid_strong", "grid_adaptive",
        "ring_collapse"]


def test_toy_gan_quick_outputs_export_and_resume(data_env, tmp_path):
    out = tmp_path / "out"
    r = run([TOY, "--quick", "--out", str(out), "--export-samples", "50"], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ["training.gif", "losses.png", "samples.png", "metrics.json", "coverage.png", "collapse.png",
                 "generator_losses.png", "probe.npz"] + [n + ext for n in RUNS for ext in (".npz", ".jsonl")]:
        assert (out / name).stat().st_size > 0, name
    assert np.load(out / "samples.npy").shape == (50, 2)

    m = json.load(open(out / "metrics.json"))
    assert set(m["runs"]) == set(RUNS)
    for name, res in m["runs"].items():
        n = {"ring": 8, "grid": 25}[res["data"]]
        assert res["n_modes"] == n and 0 <= res["modes"] <= res["modes_max"] <= n, name
        hq = res["high_quality"] * 500                     # a fraction of the 500 scored samples (--quick)
        assert hq == pytest.approx(round(hq), abs=1e-6) and 0 <= round(hq) <= 500, name
        curve = res["coverage_curve"]
        assert curve["step"] == [0, 4, 8, 12]                       # eval at 0, every --sample-every, the end
        assert all(isinstance(c, int) and 0 <= c <= n for c in curve["modes"])
        counts = np.array(curve["high_quality"]) * 500               # fractions of the 500 scored samples
        assert np.allclose(counts, np.round(counts), atol=1e-6) and counts.max() <= 500
    assert m["runs"]["grid_weak"]["d_steps_per_g_step"] == 0.25     # --weak-every 4
    assert m["runs"]["grid_strong"]["d_steps_per_g_step"] == 5
    log = [json.loads(line) for line in open(out / "grid_adaptive.jsonl")]
    d_steps = [r["d_steps"] for r in log]
    assert m["runs"]["grid_adaptive"]["d_steps_per_g_step"] == pytest.approx(np.mean(d_steps))
    # while loss_D > t_d (1.2), at most --max-d-steps 10: a step that stopped early ended at or under t_d,
    # one that hit the cap may not have (this run logs 10, 4, 2, then 1s)
    assert all(r["d_steps"] == 10 or (1 <= r["d_steps"] < 10 and r["loss_D"] <= 1.2) for r in log), log
    assert min(d_steps) < 10                                         # so the check above has cases to check
    s = m["saturation"]
    # D trained alone against a fixed G lowers its loss and rejects G's samples (labels the right way round)
    assert s["loss_D"] < s["loss_D_first"] and s["d_fake_mean"] < 0.5 < s["d_real_mean"]
    # either generator loss, descended, raises D(G(z)) (the signs are right); where D rejects, the
    # non-saturating loss has the larger gradient
    assert s["d_fake_after_sgd_step_ns"] > s["d_fake_mean"] and s["d_fake_after_sgd_step_minimax"] > s["d_fake_mean"]
    assert s["grad_norm_ns"] > s["grad_norm_minimax"] > 0
    frames = iio.imread(out / "training.gif", index=None)
    assert frames.shape[:3] == (4, 256, 256)                           # frames at steps 0, 4, 8, 12

    r = run([TOY, "--quick", "--out", str(out), "--resume", "--steps", "16"], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for name in RUNS:
        assert f"[{name}] resumed at step 12" in r.stdout
        assert [json.loads(line)["step"] for line in open(out / f"{name}.jsonl")] == list(range(1, 17))
    assert "[probe] resumed at step 40 (finished)" in r.stdout
    m2 = json.load(open(out / "metrics.json"))
    assert m2["runs"]["ring_ns"]["coverage_curve"]["step"] == [0, 4, 8, 12, 16]   # the tracker came back
    assert m2["saturation"] == m["saturation"]


def test_toy_gan_bad_flags_are_clear_errors(data_env, tmp_path):
    for flags, needle in ((["--lr", "0"], "--lr"), (["--runs", "ring_ns,nope"], "--runs"),
                          (["--export-samples", "-1"], "--export-samples"), (["--k-strong", "0"], "--k-strong"),
                          (["--runs", "grid_ns", "--export-samples", "5"], "--export-samples")):
        r = run([TOY, "--quick", "--out", str(tmp_path / "o"), *flags], data_env, tmp_path)
        assert r.returncode != 0 and needle in r.stderr, (flags, r.stderr[-500:])


@pytest.mark.parametrize("script, max_d_steps, expected", [
    ([1.0, 9.0], 4, [1.0]),                      # under t_d at once: one D step
    ([1.2, 9.0], 4, [1.2]),                      # exactly t_d is not above it: stop
    ([1.5, 1.3, 1.1, 9.0], 4, [1.5, 1.3, 1.1]),  # above, above, under: three
    ([1.5, 1.0, 1.5, 9.0], 4, [1.5, 1.0]),       # the last loss decides, not the first
    ([1.5] * 6, 4, [1.5] * 4),                   # never under: the cap
    ([1.5, 9.0], 1, [1.5]),                      # a cap of 1 is k = 1
], ids=["under", "equal", "three", "last_loss", "cap", "cap_1"])
def test_adaptive_schedule_trains_d_while_its_loss_is_above_t_d(script, max_d_steps, expected):
    """Lesson 10's own ``make_step`` (k = "adaptive") with ``d_update`` replaced by a stub that
    returns scripted losses: it runs D steps while the last loss is above t_d = 1.2, at most
    ``max_d_steps``, each on a fresh batch, then one G step; the log gets their count and the last loss."""
    make_step = lesson_definitions(TOY, "make_step", "generator_loss").make_step
    losses, batches = iter(script), []

    def d_update(G, D, optD, real):              # the stub: records the batch, returns the next scripted loss
        assert real is batches[-1]
        return next(losses)

    def next_batch():
        batches.append(tg.randn(3, 2))
        return batches[-1]

    make_step.__globals__.update(d_update=d_update, args=SimpleNamespace(
        t_d=1.2, max_d_steps=max_d_steps, batch_size=3, z_dim=2, device="cpu"))
    tg.manual_seed(0)
    G, D = nn.Linear(2, 2), nn.Linear(2, 1)
    optG = RecordingOptimizer(G.parameters())
    out = make_step(G, D, optG, RecordingOptimizer(D.parameters()), "ns", "adaptive", {"iteration": 0})(next_batch)
    assert out["d_steps"] == len(expected) == len(batches) and out["loss_D"] == expected[-1]
    assert len(optG.seen) == 1 and all(g is not None for g in optG.seen[0])   # then one G step,
    assert all(p.grad is None for p in D.parameters())                        # with D frozen

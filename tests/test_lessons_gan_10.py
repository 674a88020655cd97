"""Lesson 10 (the toy 2-D GAN): --quick outputs, metric ranges, the losses' signs, export, resume, flag errors."""
import json
import os

import imageio.v3 as iio
import numpy as np
import pytest

from conftest import run  # noqa: F401  (data_env is a conftest fixture)

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
    d_steps = [json.loads(line)["d_steps"] for line in open(out / "grid_adaptive.jsonl")]
    assert m["runs"]["grid_adaptive"]["d_steps_per_g_step"] == pytest.approx(np.mean(d_steps))
    assert all(1 <= d <= 10 for d in d_steps)                        # --max-d-steps 10
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

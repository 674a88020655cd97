"""Lesson 13 (WGAN with weight clipping): the parallel-lines distances, the clipping itself, the
recorder's measurements, the outputs, resume and flag errors.

The function tests take the lesson's definitions without running it
(``conftest.lesson_definitions``); the run tests use the fake datasets of ``data_env``.
"""
import itertools
import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

import tinygen as tg
from conftest import assert_flag_error, lesson_definitions, run  # noqa: E402  (data_env is a conftest fixture)
from tinygen.utils.gan import dcgan_init
from tinygen.utils.gan_models import dcgan_critic, dcgan_generator
from tinygen.utils.metrics import correlations

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "13_wgan_clip.py")


@pytest.fixture(scope="module")
def lesson():
    return lesson_definitions(LESSON, "parallel_lines", "sampled_w", "fraction_at_bound")


def test_parallel_lines_closed_form(lesson):
    theta = np.array([-1.0, -0.3, 0.0, 1e-6, 0.5])
    d = lesson.parallel_lines(theta)
    assert np.array_equal(d["w"], np.abs(theta))
    assert np.array_equal(d["tv"], [1, 1, 0, 1, 1])
    assert np.allclose(d["js"], [np.log(2)] * 2 + [0] + [np.log(2)] * 2)
    assert np.isinf(d["kl"][[0, 1, 3, 4]]).all() and d["kl"][2] == 0


def test_sorted_matching_is_the_optimal_plan_and_tends_to_abs_theta(lesson):
    # Against every one of the 6! plans between two samples of 6 points: the sorted matching is the cheapest.
    for theta in (0.0, 0.2, 1.0):
        rng = np.random.default_rng(1)
        w = lesson.sampled_w(theta, 6, rng)
        rng = np.random.default_rng(1)
        y0, y1 = rng.random(6), rng.random(6)
        best = min(np.mean(np.sqrt(theta ** 2 + (y0 - y1[list(p)]) ** 2)) for p in itertools.permutations(range(6)))
        assert w == pytest.approx(best, rel=1e-12)
    rng = np.random.default_rng(0)
    for theta in (-0.7, 0.1, 0.0):
        w = lesson.sampled_w(theta, 20_000, rng)
        assert abs(theta) <= w < abs(theta) + 0.01


def test_fraction_at_bound_counts_only_weights_at_the_walls(lesson):
    c = 0.01
    w = np.array([-0.01, 0.01, 0.0, 0.005, -0.0099, 0.02], dtype=np.float32).clip(-c, c)
    assert lesson.fraction_at_bound(w, c) == pytest.approx(3 / 6)     # -0.01, 0.01 and the clipped 0.02
    assert lesson.fraction_at_bound(w, c, within=0.1) == pytest.approx(4 / 6)   # and -0.0099
    assert lesson.fraction_at_bound(np.array([0.03, -0.02, 0.0]), c) == 0     # beyond c (unclipped) is not at c


def test_correlations():
    """``metrics.correlations``, which the lesson uses for the estimate against FID."""
    x = np.arange(6.0)
    out = correlations(x, np.exp(x))                                  # monotone: Spearman 1, Pearson below
    assert out["spearman"] == pytest.approx(1) and 0.8 < out["pearson"] < 1
    assert correlations(x, -x)["pearson"] == pytest.approx(-1)
    assert correlations([1, 2], [3, 4]) == {"pearson": None, "spearman": None}
    assert correlations([1, 2, 3], [5, 5, 5])["pearson"] is None
    with pytest.raises(ValueError, match="one length"):
        correlations([1, 2, 3], [1, 2])


def critic_weights(checkpoint):
    with np.load(checkpoint) as z:
        return np.concatenate([z[k].ravel() for k in z.files if k.startswith("model/D/")])


def test_quick_run_outputs_clipping_metrics_and_resume(data_env, tmp_path):
    out = tmp_path / "run"
    r = run([LESSON, "--quick", "--export-samples", "12", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ("training.gif", "losses.png", "samples.png", "distances.png", "weights.png", "clip_vs_gp.png",
                 "metrics.json", "train.jsonl", "train.npz", "gp.jsonl", "gp.npz", "samples.npy"):
        assert (out / name).stat().st_size > 0, name
    m = json.load(open(out / "metrics.json"))
    assert m["n"] == 200 and m["gp"]["n"] == 200                      # --quick's --eval-samples, both runs
    for scores in (m, m["gp"]):
        counts = np.array(scores["class_histogram"]) * 200                    # predicted classes of 200 samples
        assert scores["fid"] > 0 and np.allclose(counts, np.round(counts))     # 4-step samples are not the test set
        assert abs(sum(scores["class_histogram"]) - 1) < 1e-6
    # Algorithm 1, line 7: after the run every weight of the clipped critic lies in [-c, c], and some sit
    # on the walls; the penalty's critic, from the same initial weights, is not bounded.
    c = m["clip"]
    w = critic_weights(out / "train.npz")
    assert np.abs(w).max() <= np.float32(c) and np.mean(np.abs(w) == np.float32(c)) > 0.05
    assert np.abs(critic_weights(out / "gp.npz")).max() > 2 * c
    assert m["at_c"]["steps"] == [0, 1, 2, 4] and m["at_c"]["fraction"][0] == 0 and min(m["at_c"]["fraction"][1:]) > 0
    assert all(f <= g for f, g in zip(m["at_c"]["fraction"], m["at_c"]["within_10pct"]))
    assert m["final_at_c"] == pytest.approx(m["at_c"]["fraction"][-1])
    # the FID curve at --fid-every 2, with the estimate before each point
    for cur in (m["curve"], m["gp"]["curve"]):
        assert cur["steps"] == [2, 4] and len(cur["fid"]) == len(cur["wasserstein"]) == 2
    log = [json.loads(line) for line in open(out / "train.jsonl")]
    assert [rec["step"] for rec in log] == [1, 2, 3, 4]
    assert all(rec["wasserstein"] == pytest.approx(-rec["loss_D"]) for rec in log)   # no penalty in the clip run
    gp_log = [json.loads(line) for line in open(out / "gp.jsonl")]
    assert all(rec["gp"] > 0 and rec["loss_D"] > -rec["wasserstein"] for rec in gp_log)
    # the distances the lesson writes: W = |θ|, JS = log 2 and TV = 1 off 0, all 0 at 0, KL +inf (null) off 0
    d = m["distances"]
    theta = np.array(d["theta"])
    assert 0.0 in d["theta"] and np.allclose(d["w"], np.abs(theta))
    off = theta != 0
    assert np.allclose(np.array(d["js"])[off], np.log(2)) and np.array(d["js"])[~off] == 0
    assert all(v is None for v, o in zip(d["kl"], off) if o) and np.array(d["tv"])[off].min() == 1
    assert np.allclose(d["w_sampled"], np.abs(theta), atol=0.02)
    samples = np.load(out / "samples.npy")
    assert samples.shape == (12, 1, 28, 28) and samples.dtype == np.float32

    r = run([LESSON, "--quick", "--steps", "6", "--resume", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "[train] resumed at step 4" in r.stdout and "[gp] resumed at step 4" in r.stdout
    assert [json.loads(line)["step"] for line in open(out / "train.jsonl")] == list(range(1, 7))
    m2 = json.load(open(out / "metrics.json"))
    assert m2["curve"]["steps"] == [2, 4, 6] and m2["curve"]["fid"][:2] == m["curve"]["fid"]  # kept over resume
    assert m2["at_c"]["steps"] == [0, 1, 2, 4, 6] and m2["gp"]["curve"]["steps"] == [2, 4, 6]
    assert np.abs(critic_weights(out / "train.npz")).max() <= np.float32(c)


def test_resume_is_exact_and_the_measurements_leave_training_alone(data_env, tmp_path):
    """4 steps + resume to 6 log exactly the losses and FID points of an uninterrupted 6-step run, in both
    stages: the recorder draws no random numbers and its points come back from the checkpoint."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert run([LESSON, "--quick", "--steps", "6", "--out", str(a)], data_env, tmp_path).returncode == 0
    assert run([LESSON, "--quick", "--steps", "4", "--out", str(b)], data_env, tmp_path).returncode == 0
    assert run([LESSON, "--quick", "--steps", "6", "--out", str(b), "--resume"], data_env, tmp_path).returncode == 0
    for name in ("train.jsonl", "gp.jsonl"):
        assert (a / name).read_text() == (b / name).read_text(), name
    ma, mb = (json.load(open(d / "metrics.json")) for d in (a, b))
    assert ma["curve"] == mb["curve"] and ma["gp"]["curve"] == mb["gp"]["curve"] and ma["at_c"] == mb["at_c"]


@pytest.mark.parametrize("flags, message", [
    (["--gp-steps", "-1"], "--gp-steps"),
    (["--clip", "0"], "--clip"),
    (["--fid-every", "0"], "--fid-every"),
    (["--fid-samples", "1"], "--fid-samples"),
    (["--dataset", "folder", "--data-dir", "."], "--dataset"),
])
def test_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(LESSON, flags, message, data_env, tmp_path)


# ---------------------------------------------------------------- Algorithm 1's clipping, in the lesson's own step
class StillOptimizer:
    """Stands in for RMSprop: changes nothing, so every weight after the step is the clipping's doing."""

    def __init__(self, params):
        self.params = list(params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        pass


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_the_step_clips_every_critic_parameter_and_nothing_else(norm):
    """Every critic parameter (conv weights, biases, LayerNorm's scale and shift) set to ±0.5 ends
    at exactly ±c after ``make_step(clip=c)``; G's parameters are untouched; without ``clip``
    (the penalty's step) the critic keeps its weights."""
    make_step = lesson_definitions(LESSON, "make_step", "clip_weights").make_step
    make_step.__globals__["args"] = SimpleNamespace(n_critic=2, z_dim=4, device="cpu", batch_size=3)
    tg.manual_seed(0)
    G = dcgan_generator(4, 2).apply(dcgan_init)
    g_before = [p.numpy().copy() for p in G.parameters()]
    real = tg.tensor(np.random.default_rng(0).uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32))
    c = 0.01
    for clip in (c, None):
        D = dcgan_critic(2, norm=norm)
        names = [n for n, _ in D.named_parameters()]
        assert any(n.endswith("bias") for n in names)
        signs = {}
        for i, (n, p) in enumerate(D.named_parameters()):
            signs[n] = np.where(np.arange(p.numel()).reshape(p.shape) % 2 == i % 2, 1.0, -1.0).astype(np.float32)
            p.data = 0.5 * signs[n]
        make_step(G, D, StillOptimizer(G.parameters()), StillOptimizer(D.parameters()), clip=clip)(lambda: real)
        for n, p in D.named_parameters():
            np.testing.assert_array_equal(p.numpy(), (c if clip else 0.5) * signs[n], err_msg=n)
    for before, p in zip(g_before, G.parameters()):
        np.testing.assert_array_equal(p.numpy(), before)

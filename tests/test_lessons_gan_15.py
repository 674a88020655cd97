"""Lesson 15 (LSGAN): the loss-against-output curves it computes with tg.grad, its
outputs for both label codings, sample export, resume (bit for bit) and flag errors."""
import ast
import json
import os
from types import SimpleNamespace

import imageio.v3 as iio
import numpy as np
import pytest

import tinygen as tg
from conftest import RecordingOptimizer, assert_flag_error, lesson_definitions, run  # noqa: E402  (data_env is a conftest fixture)
from tinygen.utils.gan import dcgan_init
from tinygen.utils.gan_models import dcgan_critic, dcgan_generator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "15_lsgan.py")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.fixture(scope="module")
def lesson():
    return lesson_definitions(LESSON, "loss_and_grad", "generator_loss_curves")


def test_least_squares_gradient_is_linear_and_the_sigmoid_one_vanishes_on_the_real_side(lesson):
    o = np.linspace(-8, 8, 33)
    curves = {k: {kk: np.array(v) for kk, v in c.items()} for k, c in lesson.generator_loss_curves(o).items()}
    # Least squares: ℓ = ½(o − c)², dℓ/do = o − c, linear in D's output and large far from c.
    for name, c in (("ls_c1", 1.0), ("ls_c0", 0.0)):
        np.testing.assert_allclose(curves[name]["loss"], 0.5 * (o - c) ** 2, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(curves[name]["grad"], o - c, rtol=1e-12, atol=1e-12)
    # The sigmoid cross-entropies, differentiated by autograd, match their closed forms ...
    np.testing.assert_allclose(curves["nonsaturating"]["grad"], -sigmoid(-o), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(curves["minimax"]["grad"], -sigmoid(o), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(curves["nonsaturating"]["loss"], np.logaddexp(0, -o), rtol=1e-9)
    # ... and saturate: far on the real side (o = 8) the non-saturating loss gives G almost nothing,
    # far on the fake side the minimax one does, while the squared error pulls hard in both places.
    far_real, far_fake = -1, 0
    assert abs(curves["nonsaturating"]["grad"][far_real]) < 1e-3
    assert abs(curves["minimax"]["grad"][far_fake]) < 1e-3
    assert curves["ls_c1"]["grad"][far_real] == pytest.approx(7) and curves["ls_c0"]["grad"][far_fake] == -8


def test_lsgan_quick_both_codings_outputs_export_and_resume(data_env, tmp_path):
    out = tmp_path / "run"
    r = run([LESSON, "--quick", "--steps", "10", "--export-samples", "12", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ("losses_vs_output.png", "losses.png", "metrics.json", "samples.npy",
                 "training.gif", "samples.png", "train.jsonl", "train.npz",
                 "training_chi2.gif", "samples_chi2.png", "train_chi2.jsonl", "train_chi2.npz"):
        assert (out / name).stat().st_size > 0, name
    m = json.load(open(out / "metrics.json"))
    assert set(m["codings"]) == {"01", "chi2"}
    assert m["codings"]["01"]["abc"] == [0, 1, 1] and m["codings"]["chi2"]["abc"] == [-1, 1, 0]
    for scores in m["codings"].values():
        counts = np.array(scores["class_histogram"]) * 200                    # predicted classes of 200 samples
        assert scores["fid"] > 0 and scores["n"] == 200 and np.allclose(counts, np.round(counts))
        assert len(scores["class_histogram"]) == 10 and abs(sum(scores["class_histogram"]) - 1) < 1e-6
        assert scores["train_seconds"] > 0
    # The curves of losses_vs_output.png, as the lesson wrote them: on its own grid of outputs,
    # the least-squares gradient is o - c and the non-saturating one is flat at the far real end.
    grid = np.array(m["loss_vs_output"]["outputs"])
    np.testing.assert_allclose(m["loss_vs_output"]["ls_c1"]["grad"], grid - 1, atol=1e-9)
    assert abs(m["loss_vs_output"]["nonsaturating"]["grad"][-1]) < 0.01 < abs(m["loss_vs_output"]["ls_c0"]["grad"][-1])
    samples = np.load(out / "samples.npy")
    assert samples.shape == (12, 1, 28, 28) and samples.dtype == np.float32
    assert -1 <= samples.min() < 0 < samples.max() <= 1                       # G's tanh range as written, not [0, 1]
    assert iio.imread(out / "training.gif", index=None).shape[1:3] == (242, 242)   # 8x8 grid of 28px
    for stem in ("train", "train_chi2"):
        log = [json.loads(line) for line in open(out / f"{stem}.jsonl")]
        assert [rec["step"] for rec in log] == list(range(1, 11))
        a, b, _ = m["codings"]["01" if stem == "train" else "chi2"]["abc"]
        # a mean of squares is at least the square of the mean: loss_D >= ½(D_real − b)² + ½(D_fake − a)²
        assert all(rec["loss_D"] >= 0.5 * (rec["D_real"] - b) ** 2 + 0.5 * (rec["D_fake"] - a) ** 2 - 1e-6
                   for rec in log)
        # D's regression separates real from generated: the real batches score higher.
        last = log[-4:]
        assert np.mean([rec["D_real"] for rec in last]) > np.mean([rec["D_fake"] for rec in last]) + 0.1, stem

    r = run([LESSON, "--quick", "--steps", "12", "--resume", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "[train] resumed at step 10" in r.stdout and "[train_chi2] resumed at step 10" in r.stdout
    for stem in ("train", "train_chi2"):
        assert [json.loads(line)["step"] for line in open(out / f"{stem}.jsonl")] == list(range(1, 13))
    assert json.load(open(out / "metrics.json"))["steps"] == 12


def test_one_coding_resumes_bit_for_bit(data_env, tmp_path):
    """--coding chi2 alone writes only its own run; 4 steps + resume to 6 log exactly what 6 steps do."""
    a, b = tmp_path / "a", tmp_path / "b"
    flags = [LESSON, "--quick", "--coding", "chi2"]
    assert run(flags + ["--steps", "6", "--out", str(a)], data_env, tmp_path).returncode == 0
    assert run(flags + ["--steps", "4", "--out", str(b)], data_env, tmp_path).returncode == 0
    r = run(flags + ["--steps", "6", "--out", str(b), "--resume"], data_env, tmp_path)
    assert r.returncode == 0 and "[train_chi2] resumed at step 4" in r.stdout, r.stderr[-2000:]
    assert not (a / "train.jsonl").exists() and set(json.load(open(a / "metrics.json"))["codings"]) == {"chi2"}
    la = [json.loads(line) for line in open(a / "train_chi2.jsonl")]
    lb = [json.loads(line) for line in open(b / "train_chi2.jsonl")]
    assert [rec["step"] for rec in lb] == list(range(1, 7)) and la == lb


@pytest.mark.parametrize("flags, message", [
    (["--lr", "0"], "--lr"),
    (["--beta1", "1"], "--beta1"),
    (["--g-width", "0"], "--g-width"),
    (["--coding", "ls"], "--coding"),
    (["--dataset", "folder", "--data-dir", "."], "--dataset"),
])
def test_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(LESSON, flags, message, data_env, tmp_path)


# ---------------------------------------------------------------- the training step, under each coding
def lesson_codings():
    """The lesson's CODINGS constant, read from its source without running it."""
    tree = ast.parse(open(LESSON).read())
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "CODINGS")
    return ast.literal_eval(node.value)


def test_the_codings_are_the_papers():
    # Mao et al. 2017: eq. 9, (a, b, c) = (0, 1, 1); eq. 8, (−1, 1, 0).
    assert lesson_codings() == {"01": (0.0, 1.0, 1.0), "chi2": (-1.0, 1.0, 0.0)}


@pytest.mark.parametrize("abc", [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0), (-0.3, 0.7, 0.2)],
                         ids=["01", "chi2", "all_different"])
def test_the_step_regresses_d_onto_a_b_and_g_onto_c(abc):
    """Lesson 15's own ``make_step`` on small DCGAN players (optimisers that change nothing):
    loss_D = ½ E(D(x) − b)² + ½ E(D(G(z)) − a)², loss_G = ½ E(D(G(z)) − c)², and G's gradient is
    that of loss_G, for each coding; (−0.3, 0.7, 0.2) tells a, b and c all apart."""
    a, b, c = abc
    make_step = lesson_definitions(LESSON, "make_step").make_step
    make_step.__globals__["args"] = SimpleNamespace(z_dim=4, device="cpu")
    tg.manual_seed(0)
    G = dcgan_generator(4, 2).apply(dcgan_init)
    D = dcgan_critic(2, norm="batch").apply(dcgan_init)
    optG, optD = RecordingOptimizer(G.parameters()), RecordingOptimizer(D.parameters())
    real = tg.tensor(np.random.default_rng(1).uniform(-1, 1, (6, 1, 28, 28)).astype(np.float32))
    tg.manual_seed(7)
    out = make_step(G, D, optG, optD, a, b, c)(lambda: real)

    tg.manual_seed(7)                                                    # the step's z, drawn again
    fake = G(tg.randn(6, 4))
    d_real, d_fake = D(real).numpy().astype(np.float64), D(fake)
    o = d_fake.numpy().astype(np.float64)
    assert out["loss_D"] == pytest.approx(0.5 * ((d_real - b) ** 2).mean() + 0.5 * ((o - a) ** 2).mean(), rel=1e-5)
    assert out["loss_G"] == pytest.approx(0.5 * ((o - c) ** 2).mean(), rel=1e-5)
    assert out["D_real"] == pytest.approx(d_real.mean(), rel=1e-5, abs=1e-7)
    assert out["D_fake"] == pytest.approx(o.mean(), rel=1e-5, abs=1e-7)
    for p in G.parameters():
        p.grad = None
    (0.5 * ((d_fake - c) ** 2).mean()).backward()
    for got, p in zip(optG.seen[0], G.parameters()):
        np.testing.assert_allclose(got, p.grad.numpy(), rtol=1e-4, atol=1e-8)

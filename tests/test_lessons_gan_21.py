"""Lesson 21 (ProGAN): the growth schedule, the fade-in of G, D and the real images, the training
step (loss, Adam reset, EMA), the ablation flags, the FID-over-time curve, resume bit for bit, the
64x64 photo-folder path, and flag errors. The lesson's own code is run cell by cell (CELL_RUNNER)."""
import json
import os
import subprocess
import sys
import time

import imageio.v3 as iio
import numpy as np
import pytest

import tinygen as tg
from conftest import CELL_RUNNER, assert_flag_error, run  # noqa: E402
from tinygen.utils.progan import FidCurve, FullSize, plot_fid_curves, read_curve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "21_progan.py")


def in_lesson(check, data_env, tmp_path):
    """Run the lesson's cells with --quick, then ``check`` in its namespace; fails with its output."""
    check = f"import sys\nsys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n" + check
    r = subprocess.run([sys.executable, "-c", CELL_RUNNER, LESSON, str(tmp_path / "cells"), check],
                       env=data_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


# ---------------------------------------------------------------- the lesson's definitions, in its namespace
CHECKS = r"""
import numpy as np
import tinygen as tg
import tinygen.nn.functional as F
assert sizes == [7, 14, 28] and last == 2

# The schedule: phase p = (t-1) // P; p = 0 stage 0; odd p fade the next stage in; even p hold it;
# the last stage holds to the end. With P = 3:
args.phase_steps = 3
got = [stage_at(t) for t in range(1, 17)]
want = ([(0, 1.0)] * 3 + [(1, 1 / 3), (1, 2 / 3), (1, 1.0)] + [(1, 1.0)] * 3
        + [(2, 1 / 3), (2, 2 / 3), (2, 1.0)] + [(2, 1.0)] * 4)
assert got == want, got
args.no_growing = True
assert {stage_at(t) for t in (1, 5, 100)} == {(2, 1.0)}
args.no_growing = False

# The real images: average-pooled to the stage's size, and during a fade the lerp between that
# image and its own 2x-coarser copy upsampled (the official code's fade of the reals).
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32)
x14 = x.reshape(4, 1, 14, 2, 14, 2).mean(axis=(3, 5))
x7 = x14.reshape(4, 1, 7, 2, 7, 2).mean(axis=(3, 5))
assert np.allclose(real_at(tg.tensor(x), 2, 1.0).numpy(), x)
assert np.allclose(real_at(tg.tensor(x), 0, 1.0).numpy(), x7, atol=1e-6)
up7 = x7.repeat(2, axis=2).repeat(2, axis=3)
assert np.allclose(real_at(tg.tensor(x), 1, 0.25).numpy(), 0.75 * up7 + 0.25 * x14, atol=1e-6)
up14 = x14.repeat(2, axis=2).repeat(2, axis=3)
assert np.allclose(real_at(tg.tensor(x), 2, 0.5).numpy(), 0.5 * up14 + 0.5 * x, atol=1e-6)

# The fade is continuous: at alpha = 0 stage s is exactly stage s-1 (G's image upsampled; D on the
# average-pooled image), and at alpha = 1 it is the new path alone.
z = tg.randn(8, args.z_dim)
img = tg.tensor(rng.uniform(-1, 1, (8, 1, 28, 28)).astype(np.float32))
with tg.no_grad():
    for s in (1, 2):
        G.stage, G.alpha, D.stage, D.alpha = s - 1, 1.0, s - 1, 1.0
        g_prev, d_prev = G(z).numpy(), D(F.avg_pool2d(img, 2 ** (3 - s))).numpy()
        G.stage, G.alpha, D.stage, D.alpha = s, 0.0, s, 0.0
        g0, d0 = G(z).numpy(), D(F.avg_pool2d(img, 2 ** (2 - s))).numpy()
        assert g0.shape == (8, 1, sizes[s], sizes[s])
        assert np.allclose(g0, g_prev.repeat(2, axis=2).repeat(2, axis=3), atol=1e-5), s
        assert np.allclose(d0, d_prev, atol=1e-4), s
        G.alpha, D.alpha = 0.3, 0.3
        g3 = G(z).numpy()
        G.alpha = 1.0
        g1 = G(z).numpy()
        assert np.allclose(g3, 0.7 * g0 + 0.3 * g1, atol=1e-5) and not np.allclose(g0, g1, atol=1e-3)

# The paper's parts are in the default networks, and the sampler is the moving average.
kinds = {type(m).__name__ for m in list(G.modules()) + list(D.modules())}
assert {"PixelNorm", "MinibatchStdDev", "EqualizedConv2d", "EqualizedLinear"} <= kinds, kinds
assert not {"Conv2d", "Linear"} & kinds
assert sampler.G is G_ema.module
print("CHECKS OK")
"""


def test_schedule_fades_and_parts_as_the_lesson_defines_them(data_env, tmp_path):
    assert "CHECKS OK" in in_lesson(CHECKS, data_env, tmp_path)


STEP = r"""
import numpy as np
import tinygen as tg
from tinygen.utils.gan import gradient_penalty
from conftest import RecordingOptimizer

# The step's loss, recomputed from the same draws: WGAN-GP + the drift 0.001 E[D(x)^2], the critic's
# gradient that of this loss; the generator's that of -E[D(G(z))]; recording optimisers change nothing.
args.phase_steps = 2
G_ema.num_updates = 2                                # the next step is t = 3: stage 1 fades in, alpha 1/2
optD, optG = RecordingOptimizer(D.parameters()), RecordingOptimizer(G.parameters())
optD.state, optG.state = {"old": 1}, {"old": 1}
real_full = tg.tensor(np.random.default_rng(3).uniform(-1, 1, (8, 1, 28, 28)).astype(np.float32))
tg.manual_seed(11)
out = step(lambda: real_full)
assert (out["stage"], out["alpha"]) == (1, 0.5) and (G.stage, G.alpha) == (1, 0.5) == (D.stage, D.alpha)
assert (G_ema.module.stage, G_ema.module.alpha) == (1, 0.5) and G_ema.num_updates == 3
assert optD.state == {} and optG.state == {}         # a new stage: Adam's moments were reset

tg.manual_seed(11)                                   # the same draws again: z, then the penalty's eps
real = real_at(real_full, 1, 0.5)
fake = G(tg.randn(8, args.z_dim)).detach()
d_real, d_fake = D(real), D(fake)
gp = gradient_penalty(D, real, fake)
loss = d_fake.mean() - d_real.mean() + 10 * gp + 0.001 * (d_real ** 2).mean()
assert abs(out["loss_D"] - loss.item()) < 1e-4 * max(1, abs(loss.item())), (out["loss_D"], loss.item())
assert abs(out["gp"] - gp.item()) < 1e-5 * max(1, gp.item())
assert abs(out["wasserstein"] - (d_real.mean() - d_fake.mean()).item()) < 1e-4
for p in D.parameters():
    p.grad = None
loss.backward()
for got, p in zip(optD.seen[0], D.parameters()):   # the layers of stage 2 are not in use yet: no gradient
    assert (got is None) == (p.grad is None)
    assert got is None or np.allclose(got, p.grad.numpy(), rtol=1e-3, atol=1e-6)
loss_G = -D(G(tg.randn(8, args.z_dim))).mean()
assert abs(out["loss_G"] - loss_G.item()) < 1e-4 * max(1, abs(loss_G.item()))
for p in G.parameters():
    p.grad = None
loss_G.backward()
for got, p in zip(optG.seen[0], G.parameters()):
    assert (got is None) == (p.grad is None)
    assert got is None or np.allclose(got, p.grad.numpy(), rtol=1e-3, atol=1e-6)

# Within a stage the moments are kept.
optD.state = {"old": 1}
out = step(lambda: real_full)                         # t = 4: still stage 1
assert optD.state == {"old": 1} and out["alpha"] == 1.0
print("STEP OK")
"""


def test_the_step_is_wgan_gp_with_drift_and_resets_adam_at_a_new_stage(data_env, tmp_path):
    assert "STEP OK" in in_lesson(STEP, data_env, tmp_path)


@pytest.mark.parametrize("flag, absent, present", [
    ("--no-mbstd", "MinibatchStdDev", "EqualizedConv2d"),
    ("--no-pixelnorm", "PixelNorm", "MinibatchStdDev"),
    ("--no-eqlr", "EqualizedConv2d", "Conv2d"),
])
def test_each_ablation_removes_its_part(flag, absent, present, data_env, tmp_path):
    check = (f"kinds = {{type(m).__name__ for m in list(G.modules()) + list(D.modules())}}\n"
             f"assert {absent!r} not in kinds and {present!r} in kinds, kinds\n")
    if flag == "--no-eqlr":   # He's init drawn once: std gain / sqrt(fan_in), zero bias
        check += ("w = D.blocks[1][0].weight.numpy()\n"
                  "assert abs(w.std() * (w[0].size ** 0.5) / 2 ** 0.5 - 1) < 0.1, w.std()\n")
    check += "print('ABLATION OK')\n"
    runner = CELL_RUNNER.replace('"--quick", "--out", out]', f'"--quick", "{flag}", "--out", out]')
    r = subprocess.run([sys.executable, "-c", runner, LESSON, str(tmp_path / "cells"), check],
                       env=data_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "ABLATION OK" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]


def test_no_ema_samples_from_the_trained_generator(data_env, tmp_path):
    runner = CELL_RUNNER.replace('"--quick", "--out", out]', '"--quick", "--no-ema", "--out", out]')
    r = subprocess.run([sys.executable, "-c", runner, LESSON, str(tmp_path / "cells"),
                        "assert sampler.G is G\nprint('NOEMA OK')"],
                       env=data_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "NOEMA OK" in r.stdout, r.stderr[-2000:]


# ---------------------------------------------------------------- end to end
def test_quick_run_outputs_schedule_curve_and_resume_bit_for_bit(data_env, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    flags = [LESSON, "--quick", "--phase-steps", "2", "--fid-every", "4", "--export-samples", "5"]
    r = run(flags + ["--steps", "9", "--out", str(a)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ("training.gif", "losses.png", "samples.png", "fid_vs_time.png", "metrics.json", "train.jsonl",
                 "train.npz", "samples.npy"):
        assert (a / name).stat().st_size > 0, name
    log = [json.loads(line) for line in open(a / "train.jsonl")]
    assert [r["stage"] for r in log] == [0, 0, 1, 1, 1, 1, 2, 2, 2]
    assert [r["alpha"] for r in log] == [1, 1, 0.5, 1, 1, 1, 0.5, 1, 1]
    m = json.load(open(a / "metrics.json"))
    assert [p[0] for p in m["fid_curve"]] == [0, 4, 8, 9]
    seconds = [p[1] for p in m["fid_curve"]]
    assert seconds[0] == 0 and all(x < y for x, y in zip(seconds, seconds[1:]))
    assert all(p[2] > 0 for p in m["fid_curve"]) and m["label"] == "progressive" and m["fid"] > 0
    assert m["no_growing"] is False and m["eval_samples"] == 200
    samples = np.load(a / "samples.npy")
    assert samples.shape == (5, 1, 28, 28) and -1 <= samples.min() and samples.max() <= 1
    frames = iio.imread(a / "training.gif", index=None)
    assert frames.shape[:3] == (5, 242, 242)          # steps 2, 4, 6, 8 (--sample-every 2) and 9; every stage at 28x28

    assert run(flags + ["--steps", "5", "--out", str(b)], data_env, tmp_path).returncode == 0
    r = run(flags + ["--steps", "9", "--out", str(b), "--resume"], data_env, tmp_path)
    assert r.returncode == 0 and "[train] resumed at step 5" in r.stdout, r.stderr[-2000:]
    assert [json.loads(line) for line in open(b / "train.jsonl")] == log
    mb = json.load(open(b / "metrics.json"))
    assert mb["fid"] == m["fid"]                                 # the same moving average at the end
    # The first run's curve, kept through the checkpoint, then continued: its last step (5) is a point too.
    assert [p[0] for p in mb["fid_curve"]] == [0, 4, 5, 8, 9]
    assert [p[2] for p in mb["fid_curve"] if p[0] != 5] == [p[2] for p in m["fid_curve"]]
    # A finished run resumed takes no step, yet samples the same model: at the last stage, not stage 0.
    r = run(flags + ["--steps", "9", "--out", str(b), "--resume"], data_env, tmp_path)
    assert r.returncode == 0 and "(finished)" in r.stdout, r.stderr[-2000:]
    assert json.load(open(b / "metrics.json"))["fid"] == m["fid"]
    assert np.array_equal(np.load(b / "samples.npy"), samples)

    # --compare draws a finished run's curve beside this one's.
    c = tmp_path / "c"
    r = run([LESSON, "--quick", "--no-growing", "--steps", "3", "--compare", str(a), "--out", str(c)],
            data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    mc = json.load(open(c / "metrics.json"))
    assert mc["label"] == "fixed 28x28" and mc["no_growing"] is True
    assert {json.loads(line)["stage"] for line in open(c / "train.jsonl")} == {2}


def test_photo_folder_grows_to_64x64(data_env, tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        iio.imwrite(folder / f"{i:03d}.jpg", rng.integers(0, 256, (80, 72, 3)).astype(np.uint8))
    out = tmp_path / "o"
    r = run([LESSON, "--quick", "--dataset", "folder", "--data-dir", str(folder), "--image-size", "64",
             "--steps", "9", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "stages [4, 8, 16, 32, 64]" in r.stdout
    log = [json.loads(line) for line in open(out / "train.jsonl")]
    assert [r["stage"] for r in log] == [0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert iio.imread(out / "training.gif", index=None).shape[1:4] == (8 * 66 + 2, 8 * 66 + 2, 3)
    m = json.load(open(out / "metrics.json"))
    assert "fid" not in m and m["fid_curve"] == []        # the Fashion-MNIST classifier cannot score photos


@pytest.mark.parametrize("flags, message", [
    (["--phase-steps", "0"], "--phase-steps"),
    (["--width", "0"], "--width"),
    (["--lr", "0"], "--lr"),
    (["--fid-every", "0"], "--fid-every"),
    (["--batch-size", "6"], "--batch-size"),
    (["--compare", "."], "--compare"),
])
def test_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(LESSON, flags, message, data_env, tmp_path)


# ---------------------------------------------------------------- the workbench's FID curve
class Clock:
    def __init__(self):
        self.calls = 0

    def __call__(self, images):
        self.calls += 1
        time.sleep(0.05)                                   # scoring time, which the curve must not count
        return float(self.calls)


def test_fid_curve_scores_at_its_steps_and_leaves_its_own_time_out():
    G = FullSize(lambda_module(), 28)
    score = Clock()
    frames = []
    curve = FidCurve(frames.append, G, tg.randn(4, 3), every=2, last=5, score=score, gif_every=3)
    for s in range(6):
        curve(s)
    assert [p[0] for p in curve.points] == [0, 2, 4, 5] and [p[2] for p in curve.points] == [1, 2, 3, 4]
    assert frames == [3, 5]                                # the GIF keeps its own steps, and the last
    assert curve.points[-1][1] < 0.05                      # four 50 ms scorings, none of them counted
    state = curve.state_dict()
    again = FidCurve(None, G, tg.randn(4, 3), every=2, last=5, score=score)
    again.load_state_dict(state)
    assert again.points == curve.points and again.seconds == curve.seconds
    label, seconds, fid = again.curve("x")
    assert label == "x" and list(fid) == [1, 2, 3, 4] and len(seconds) == 4
    quiet = FidCurve(None, G, tg.randn(4, 3), every=1, last=3, score=None)
    for s in range(4):
        quiet(s)
    assert quiet.points == []
    with pytest.raises(ValueError, match="every"):
        FidCurve(None, G, tg.randn(4, 3), every=0, last=3, score=score)
    with pytest.raises(ValueError, match="gif_every"):
        FidCurve(None, G, tg.randn(4, 3), every=1, last=3, score=score, gif_every=0)
    with pytest.raises(ValueError, match="z"):
        FidCurve(None, G, tg.randn(1, 3), every=1, last=3, score=score)


def lambda_module():
    from tinygen import nn
    return nn.Sequential(nn.Linear(3, 49), nn.Unflatten(1, (1, 7, 7)))


def test_full_size_clips_then_upsamples():
    from tinygen import nn
    G = FullSize(nn.Sequential(nn.Identity()), 4)
    x = tg.tensor(np.array([[[[-3.0, 0.5], [0.25, 2.0]]]], dtype=np.float32))
    y = G(x).numpy()
    assert y.shape == (1, 1, 4, 4)
    assert np.array_equal(y[0, 0], np.array([[-1, -1, .5, .5], [-1, -1, .5, .5], [.25, .25, 1, 1], [.25, .25, 1, 1]]))


def test_read_curve_and_plot(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "metrics.json").write_text(json.dumps({"label": "fixed", "fid_curve": [[0, 0.0, 90.0],
                                                                                           [5, 30.0, 40.0]]}))
    label, seconds, fid = read_curve(str(tmp_path / "r"))
    assert label == "fixed" and list(seconds) == [0, 30] and list(fid) == [90, 40]
    plot_fid_curves(tmp_path / "f.png", [(label, seconds, fid), ("progressive", [0, 20], [80, 30])])
    assert (tmp_path / "f.png").stat().st_size > 0
    with pytest.raises(FileNotFoundError, match="metrics.json"):
        read_curve(str(tmp_path))

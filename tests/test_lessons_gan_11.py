"""Lesson 11 (the vanilla GAN): outputs, the closing scores, sample export,
resume, and that its discriminator step really learns to tell real from fake."""
import json
import os
import subprocess
import sys

import numpy as np

from conftest import CELL_RUNNER, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "11_vanilla_gan.py")


def test_vanilla_gan_outputs_scores_export_and_resume(data_env, tmp_path):
    out = tmp_path / "run"
    r = run([LESSON, "--quick", "--steps", "20", "--export-samples", "30", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ("training.gif", "losses.png", "samples.png", "metrics.json", "train.jsonl", "train.npz"):
        assert (out / name).stat().st_size > 0, name
    m = json.load(open(out / "metrics.json"))
    counts = np.array(m["class_histogram"]) * 200                             # predicted classes of 200 samples
    assert m["fid"] > 0 and np.allclose(counts, np.round(counts))              # 20-step samples are not the test set
    assert len(m["class_histogram"]) == 10 and abs(sum(m["class_histogram"]) - 1) < 1e-6
    samples = np.load(out / "samples.npy")
    assert samples.shape == (30, 1, 28, 28) and samples.dtype == np.float32
    assert -1 <= samples.min() < 0 < samples.max() <= 1                       # G's tanh range as written, not [0, 1]
    log = [json.loads(line) for line in open(out / "train.jsonl")]
    assert [rec["step"] for rec in log] == list(range(1, 21))

    r = run([LESSON, "--quick", "--steps", "24", "--resume", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resumed at step 20" in r.stdout
    assert [json.loads(line)["step"] for line in open(out / "train.jsonl")] == list(range(1, 25))


def test_vanilla_gan_rejects_an_image_folder(data_env, tmp_path):
    r = run([LESSON, "--quick", "--dataset", "folder", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")],
            data_env, tmp_path)
    assert r.returncode == 2 and "--dataset" in r.stderr and "Traceback" not in r.stderr


STEP_CHECK = r"""
import json
import numpy as np
import tinygen as tg
from tinygen.utils.gan import generate

# Samples and the headline scores come from the moving average of G; the last G is scored beside it.
m = json.load(open(run.file("metrics.json")))
assert np.allclose(samples, generate(G_ema.module, eval_z).reshape(-1, 1, 28, 28))
assert np.allclose(raw_samples, generate(G, eval_z).reshape(-1, 1, 28, 28))
assert not np.allclose(samples, raw_samples, atol=1e-3)
assert m["fid"] == scores["fid"] and m["last_G"]["fid"] == raw_scores["fid"] != m["fid"]
assert G_ema.num_updates == args.steps

# One more step of Algorithm 1: the average moves once, by the warmed-up decay, towards the new G.
t = G_ema.num_updates
before = [p.numpy().copy() for p in G_ema.module.parameters()]
real = tg.tensor(images[:args.batch_size].reshape(args.batch_size, -1))
step(lambda: real)
b = min(args.ema, (1 + t) / (10 + t))
for a, a0, p in zip(G_ema.module.parameters(), before, G.parameters()):
    assert np.allclose(a.numpy(), b * a0 + (1 - b) * p.numpy(), atol=1e-6)
assert G_ema.num_updates == t + 1

# G's steps raise D's logit on G's samples (D held still: its optimizer's step does nothing).
z = tg.randn(64, args.z_dim)
def logit_on_fakes():
    D.eval()
    with tg.no_grad():
        v = D(G(z)).mean().item()
    D.train()
    return v
before, adam_step = logit_on_fakes(), optD.step
optD.step = lambda: None
for _ in range(5):
    step(lambda: real)
optD.step = adam_step
assert logit_on_fakes() > before + 0.01, (before, logit_on_fakes())

# Algorithm 1's inner loop learns which side is real: after k = 30 D steps on one real batch, D
# (without dropout) calls it real and G's samples fake. A D trained with the labels swapped would not.
args.k = 30
step(lambda: real)
D.eval()
with tg.no_grad():
    gap = (tg.sigmoid(D(real)).mean() - tg.sigmoid(D(G(tg.randn(args.batch_size, args.z_dim)))).mean()).item()
D.train()
assert gap > 0.3, gap

# D drops units while it trains and not when it is evaluated; G's BatchNorm mixes the batch in training.
from tinygen import nn
assert [m.p for m in D.modules() if isinstance(m, nn.Dropout)] == [args.dropout] * 2
assert [m.num_features for m in G.modules() if isinstance(m, nn.BatchNorm1d)] == [512, 1024]
x = real[:4]
with tg.no_grad():
    assert not np.allclose(D(x).numpy(), D(x).numpy())
    D.eval(); assert np.allclose(D(x).numpy(), D(x).numpy()); D.train()
    z = tg.randn(4, args.z_dim)
    assert not np.allclose(G(z).numpy()[:2], G(z[:2]).numpy(), atol=1e-4)
print("STEP OK")
"""


def test_vanilla_gan_step_updates_the_average_and_scores_it(data_env, tmp_path):
    r = subprocess.run([sys.executable, "-c", CELL_RUNNER, LESSON, str(tmp_path / "cells"), STEP_CHECK],
                       env=data_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "STEP OK" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]

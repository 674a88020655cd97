"""Lesson 11 (the vanilla GAN): outputs, the closing scores, sample export,
resume, and that its discriminator step really learns to tell real from fake."""
import json
import os

import numpy as np

from conftest import run

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
    # D learns which side is real: after 20 steps it calls the real batch more real than the fakes.
    # (A discriminator trained with the labels swapped ends the other way round.)
    last = log[-5:]
    assert np.mean([rec["D_real"] for rec in last]) > np.mean([rec["D_fake"] for rec in last]) + 0.1

    r = run([LESSON, "--quick", "--steps", "24", "--resume", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resumed at step 20" in r.stdout
    assert [json.loads(line)["step"] for line in open(out / "train.jsonl")] == list(range(1, 25))


def test_vanilla_gan_rejects_an_image_folder(data_env, tmp_path):
    r = run([LESSON, "--quick", "--dataset", "folder", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")],
            data_env, tmp_path)
    assert r.returncode == 2 and "--dataset" in r.stderr and "Traceback" not in r.stderr

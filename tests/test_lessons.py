"""Every lesson runs in --quick mode; the WGAN-GP lesson's outputs, resume and data errors.

The tests make their own tiny datasets (IDX files, a folder of PNGs), so they
do not depend on the Debian Fashion-MNIST package being installed.
"""
import glob
import json
import os

import imageio.v3 as iio
import numpy as np
import pytest

from conftest import run  # noqa: E402  (data_env is a conftest fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSONS = sorted(glob.glob(os.path.join(ROOT, "lessons", "[0-9]*.py")))
WGAN = os.path.join(ROOT, "lessons", "16_wgan_gp.py")


@pytest.mark.parametrize("lesson", LESSONS, ids=[os.path.basename(p) for p in LESSONS])
def test_lesson_quick(lesson, data_env, tmp_path):
    r = run([lesson, "--quick", "--out", str(tmp_path / "out")], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert os.listdir(tmp_path / "out")


def test_wgan_gp_outputs_and_resume(data_env, tmp_path):
    out = tmp_path / "run"
    r = run([WGAN, "--quick", "--out", str(out), "--export-samples", "12"], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout  # progress line
    samples = np.load(out / "samples.npy")
    assert samples.shape == (12, 1, 28, 28) and -1 <= samples.min() < 0 < samples.max() <= 1  # tanh's range
    for name in ("training.gif", "losses.png", "samples.png", "train.npz", "train.jsonl", "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.load(open(out / "metrics.json"))
    assert metrics["grad_norm_clipped_mean"] < metrics["grad_norm_mean"]  # clipping shrinks the critic
    counts = np.array(metrics["class_histogram"]) * 200                  # the classes of 200 scored samples
    assert len(counts) == 10 and np.allclose(counts, np.round(counts)) and round(counts.sum()) == 200
    assert metrics["fid"] > 0                                            # 4-step samples are not the test set
    frames = iio.imread(out / "training.gif", index=None)
    assert frames.shape[0] >= 2 and frames.shape[1:3] == (242, 242)  # 8x8 grid of 28px, 2px padding
    records = [json.loads(line) for line in open(out / "train.jsonl")]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert {"loss_D", "loss_G", "wasserstein", "gp"} <= set(records[0])
    assert all(np.isfinite(v) for rec in records for v in rec.values())

    r = run([WGAN, "--quick", "--out", str(out), "--resume", "--steps", "6"], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resumed at step 4" in r.stdout
    assert [json.loads(line)["step"] for line in open(out / "train.jsonl")] == [1, 2, 3, 4, 5, 6]
    assert iio.imread(out / "training.gif", index=None).shape[0] > frames.shape[0]


def test_wgan_gp_resume_is_exact(data_env, tmp_path):
    """4 steps + resume to 6 logs exactly (bit for bit) the losses of an
    uninterrupted 6-step run: the checkpoint holds models, optimizers, RNG and
    data order, and the backward pass sums gradients in a fixed order."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert run([WGAN, "--quick", "--steps", "6", "--out", str(a)], data_env, tmp_path).returncode == 0
    assert run([WGAN, "--quick", "--steps", "4", "--out", str(b)], data_env, tmp_path).returncode == 0
    assert run([WGAN, "--quick", "--steps", "6", "--out", str(b), "--resume"], data_env, tmp_path).returncode == 0
    la = [json.loads(line) for line in open(a / "train.jsonl")]
    lb = [json.loads(line) for line in open(b / "train.jsonl")]
    assert [r["step"] for r in lb] == [1, 2, 3, 4, 5, 6]
    for ra, rb in zip(la, lb):
        for k in ra:
            assert ra[k] == rb[k], (ra["step"], k)


def test_wgan_gp_on_an_image_folder_at_64(data_env, tmp_path):
    """The Lab 14 assignment path: a CelebA-style folder, 64x64, the DCGAN-size models."""
    folder = tmp_path / "faces"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(20):
        iio.imwrite(folder / f"{i:03d}.png", rng.integers(0, 256, (80, 70, 3), dtype=np.uint8))
    out = tmp_path / "run64"
    r = run([WGAN, "--quick", "--dataset", "folder", "--data-dir", str(folder), "--image-size", "64",
             "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "20 images of 3x64x64" in r.stdout
    assert iio.imread(out / "samples.png").shape[:2] == (8 * 64 + 9 * 2,) * 2


def test_missing_dataset_says_how_to_get_it(tmp_path):
    if os.path.isdir("/usr/share/datasets/mnist"):
        pytest.skip("MNIST is installed system-wide here")
    env = dict(os.environ, TINYGEN_DATA=str(tmp_path))
    r = run([WGAN, "--quick", "--dataset", "mnist", "--out", str(tmp_path / "o")], env, tmp_path)
    assert r.returncode != 0
    assert "mnist" in r.stderr and "./data/mnist" in r.stderr.replace(str(tmp_path), ".")


def test_bad_image_size_is_a_clear_error(data_env, tmp_path):
    r = run([WGAN, "--quick", "--image-size", "32", "--out", str(tmp_path / "o")], data_env, tmp_path)
    assert r.returncode == 2 and "--image-size" in r.stderr

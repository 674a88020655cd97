"""Lessons 06 (recurrent autoencoder) and 07 (VAE) in --quick mode: outputs, metrics, resume, flags.

They run on the fake 300/50-image datasets of the ``data_env`` fixture, so
the assertions hold for random pixels too: bounds and identities, not quality.
"""
import json
import math
import os

import numpy as np
import pytest

from conftest import run  # noqa: E402  (data_env is a conftest fixture)
from tinygen.utils.data import load_train_test

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAE = os.path.join(ROOT, "lessons", "06_recurrent_ae.py")
VAE = os.path.join(ROOT, "lessons", "07_vae.py")


def steps_logged(path):
    return [json.loads(line)["step"] for line in open(path)]


def finite_numbers(metrics, keys):
    for k in keys:
        assert isinstance(metrics[k], (int, float)) and math.isfinite(metrics[k]), (k, metrics[k])


def cell_params(cell, input_size, hidden):
    gates = {"gru": 3, "lstm": 4}[cell]
    return gates * hidden * (input_size + hidden) + 2 * gates * hidden


# ------------------------------------------------------------------ lesson 06
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_recurrent_ae_quick(cell, data_env, tmp_path):
    out = tmp_path / "out"
    r = run([RAE, "--quick", "--cell", cell, "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for name in ("reconstructions.png", "reading.png", "losses.png", "metrics.json", "train.jsonl", "train.npz"):
        assert (out / name).stat().st_size > 0, name
    m = json.load(open(out / "metrics.json"))
    finite_numbers(m, ["test_mse", "test_bce", "mean_image_mse", "train_seconds", "final_train_bce"])
    assert m["cell"] == cell and m["code_size"] == 32
    hidden = m["hidden"]  # encoder cell + code map + decoder cell (fed the code) + row map
    assert m["params"] == (cell_params(cell, 28, hidden) + hidden * 32 + 32
                           + cell_params(cell, 32, hidden) + hidden * 28 + 28)
    assert 0 < m["test_mse"] < 1 and m["test_bce"] > 0 and m["train_seconds"] >= 0
    assert steps_logged(out / "train.jsonl") == [1, 2, 3, 4]


def test_recurrent_ae_resume_and_flags(data_env, tmp_path):
    out = tmp_path / "out"
    assert run([RAE, "--quick", "--out", str(out)], data_env, tmp_path).returncode == 0
    r = run([RAE, "--quick", "--out", str(out), "--resume", "--steps", "6"], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resumed at step 4" in r.stdout
    assert steps_logged(out / "train.jsonl") == [1, 2, 3, 4, 5, 6]
    assert json.load(open(out / "metrics.json"))["steps"] == 6
    for flags, message in ((["--cell", "rnn"], "--cell"), (["--hidden", "0"], "--hidden"),
                           (["--code", "-1"], "--code")):
        r = run([RAE, "--quick", "--out", str(tmp_path / "bad")] + flags, data_env, tmp_path)
        assert r.returncode != 0 and message in r.stderr, r.stderr[-1000:]


# ------------------------------------------------------------------ lesson 07
STAGES = ("bernoulli", "gaussian", "bernoulli_2d")
PICTURES = ("progress.png", "samples_bernoulli.png", "samples_gaussian.png", "manifold.png", "codes.png",
            "interpolation.png", "losses.png", "losses_gaussian.png")


def test_vae_quick_outputs_and_resume(data_env, tmp_path):
    out = tmp_path / "out"
    r = run([VAE, "--quick", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for name in PICTURES + ("metrics.json",) + tuple(f"{s}.{e}" for s in STAGES for e in ("jsonl", "npz")):
        assert (out / name).stat().st_size > 0, name
    m = json.load(open(out / "metrics.json"))
    finite_numbers(m, ["train_seconds", "gaussian_sigma_ml"]
                   + [f"{s}_{k}" for s in STAGES for k in ("neg_elbo", "recon_nll", "kl", "mse", "train_seconds")])
    for s in STAGES:
        # -ELBO is exactly its two terms; the closed-form KL is >= 0
        assert m[f"{s}_neg_elbo"] == pytest.approx(m[f"{s}_recon_nll"] + m[f"{s}_kl"], rel=1e-5, abs=1e-3)
        assert m[f"{s}_kl"] >= 0 and 0 < m[f"{s}_mse"] < 1
    assert m["bernoulli_params"] == m["gaussian_params"] > m["bernoulli_2d_params"]
    # Gibbs: the Bernoulli term is at least the entropy of the grey levels, whatever the decoder
    x = load_train_test(data_dir=os.path.join(data_env["TINYGEN_DATA"], "fashion-mnist"), limit=300)[2]
    x = np.clip(x.reshape(len(x), -1).astype(np.float64), 1e-12, 1 - 1e-12)
    entropy = -(x * np.log(x) + (1 - x) * np.log(1 - x)).sum(axis=1).mean()
    assert m["bernoulli_recon_nll"] >= entropy - 1e-3
    # the Gaussian term carries its constant (D/2) log(2πσ²): squared errors only add to it
    assert m["gaussian_recon_nll"] >= 392 * math.log(2 * math.pi * m["sigma_gaussian"] ** 2)
    assert m["gaussian_sigma_ml"] == pytest.approx(math.sqrt(m["gaussian_mse"]))

    # resume with more steps: every stage picks up at 4, snapshots from before survive in fit's state
    r = run([VAE, "--quick", "--out", str(out), "--resume", "--steps", "6"], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.count("resumed at step 4") == 3
    for s in STAGES:
        assert steps_logged(out / f"{s}.jsonl") == [1, 2, 3, 4, 5, 6]
    # first run: snapshots at 0, 2, 4 (start, middle, end of 4); the resumed run adds its end, 6
    snaps = np.load(out / "bernoulli.npz").files
    assert sorted(k for k in snaps if k.startswith("extra/step_")) == [f"extra/step_{s}" for s in (0, 2, 4, 6)]


def test_vae_flags(data_env, tmp_path):
    for flags, message in ((["--sigma", "0"], "--sigma"), (["--z-dim", "0"], "--z-dim")):
        r = run([VAE, "--quick", "--out", str(tmp_path / "bad")] + flags, data_env, tmp_path)
        assert r.returncode != 0 and message in r.stderr, r.stderr[-1000:]

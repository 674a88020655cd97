"""Lessons 06 (recurrent autoencoder) and 07 (VAE) in --quick mode: outputs, metrics, resume, flags.

They run on the fake 300/50-image datasets of the ``data_env`` fixture, so
the assertions hold for random pixels too: bounds and identities, not quality.
"""
import json
import math
import os

import numpy as np
import pytest

import tinygen as tg
from conftest import lesson_definitions, run  # noqa: E402  (data_env is a conftest fixture)
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
    assert 0 < m["test_mse"] < 1 and m["test_bce"] > 0 and m["train_seconds"] > 0
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
    x_test = load_train_test(data_dir=os.path.join(data_env["TINYGEN_DATA"], "fashion-mnist"), limit=300)[2]
    for s in STAGES:
        # -ELBO is exactly its two terms; the KL is the closed form on each saved encoder's test outputs
        assert m[f"{s}_neg_elbo"] == pytest.approx(m[f"{s}_recon_nll"] + m[f"{s}_kl"], rel=1e-5, abs=1e-3)
        assert m[f"{s}_kl"] == pytest.approx(closed_form_kl(out / f"{s}.npz", x_test), rel=1e-4), s
        assert 0 < m[f"{s}_mse"] < 1
    assert m["bernoulli_params"] == m["gaussian_params"] > m["bernoulli_2d_params"]
    # Gibbs: the Bernoulli term is at least the entropy of the grey levels, whatever the decoder
    x = np.clip(x_test.reshape(len(x_test), -1).astype(np.float64), 1e-12, 1 - 1e-12)
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


def closed_form_kl(checkpoint, x):
    """KL(q(z|x) ‖ N(0, I)) in nats, averaged over the images x (N, 1, 28, 28), recomputed in float64.

    The encoder (Flatten, Linear, ReLU, then the μ and log σ² heads) is rebuilt in NumPy from the
    checkpoint's arrays, and the KL is Kingma & Welling's appendix B, ½ Σ_j (σ_j² + μ_j² − 1 − log σ_j²).
    It depends on μ and log σ² only, not on the sampled z, so it must match the lesson's to float32
    rounding: the KL of another stage, of the training images, or the reconstruction term reported
    under the name "kl" would not.
    """
    w = {k.split("/")[-1]: v.astype(np.float64) for k, v in np.load(checkpoint).items() if k.startswith("model/")}
    h = np.maximum(x.reshape(len(x), -1) @ w["body.1.weight"].T + w["body.1.bias"], 0)
    mu = h @ w["mu_head.weight"].T + w["mu_head.bias"]
    logvar = h @ w["logvar_head.weight"].T + w["logvar_head.bias"]
    return (0.5 * (np.exp(logvar) + mu ** 2 - 1 - logvar).sum(axis=1)).mean()


def test_vae_flags(data_env, tmp_path):
    for flags, message in ((["--sigma", "0"], "--sigma"), (["--z-dim", "0"], "--z-dim")):
        r = run([VAE, "--quick", "--out", str(tmp_path / "bad")] + flags, data_env, tmp_path)
        assert r.returncode != 0 and message in r.stderr, r.stderr[-1000:]


def test_vae_reparameterisation_samples_with_the_standard_deviation():
    # The lesson's own function (no training): with log σ² = log 4 the samples
    # must have std σ = 2. Using the variance, μ + σ² ε, would give std 4.
    reparameterize = lesson_definitions(VAE, "reparameterize").reparameterize
    tg.manual_seed(0)
    n = 200_000
    mu = tg.tensor(np.full((n, 2), [0.0, 3.0]), dtype="float64", requires_grad=True)
    logvar = tg.tensor(np.full((n, 2), math.log(4.0)), dtype="float64", requires_grad=True)
    z = reparameterize(mu, logvar)
    assert z.shape == (n, 2) and z.dtype == np.float64
    zn = z.numpy()
    np.testing.assert_allclose(zn.std(axis=0), [2.0, 2.0], atol=0.02)   # standard error ~0.003
    np.testing.assert_allclose(zn.mean(axis=0), [0.0, 3.0], atol=0.02)
    # The gradient flows through the sample: dz/dμ = 1, dz/dlog σ² = ½ σ ε = ½ (z - μ).
    v = np.random.default_rng(1).standard_normal((n, 2))
    g_mu, g_logvar = tg.grad(z, [mu, logvar], grad_outputs=tg.tensor(v, dtype="float64"))
    np.testing.assert_allclose(g_mu.numpy(), v)
    np.testing.assert_allclose(g_logvar.numpy(), v * 0.5 * (zn - mu.numpy()), rtol=1e-10, atol=1e-12)


def test_vae_loss_is_bernoulli_reconstruction_plus_closed_form_kl():
    d = lesson_definitions(VAE, "bernoulli_nll", "neg_elbo")
    rng = np.random.default_rng(2)
    logits, x = rng.standard_normal((3, 1, 4, 4)), rng.uniform(0, 1, (3, 1, 4, 4))
    mu, logvar = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    as_t = lambda a: tg.tensor(a, dtype="float64")  # noqa: E731

    def model(batch):  # stands in for the VAE: fixed outputs
        return as_t(logits), as_t(mu), as_t(logvar)

    loss, recon, kl = d.neg_elbo(model, d.bernoulli_nll, as_t(x))
    p = 1 / (1 + np.exp(-logits))
    ref_recon = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum() / 3          # summed over pixels, per image
    ref_kl = 0.5 * (np.exp(logvar) + mu ** 2 - 1 - logvar).sum() / 3          # Kingma & Welling, appendix B
    np.testing.assert_allclose([recon.item(), kl.item(), loss.item()], [ref_recon, ref_kl, ref_recon + ref_kl],
                               rtol=1e-10)

"""Lessons 03-05 (convolutional, denoising, sparse autoencoders): --quick outputs,
metrics, resume, flag errors, and the KL sparsity penalty of lesson 05."""
import ast
import json
import math
import os

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from conftest import run  # noqa: E402  (data_env is a conftest fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = {n: os.path.join(ROOT, "lessons", f) for n, f in
          (("conv", "03_conv_ae.py"), ("denoise", "04_denoising_ae.py"), ("sparse", "05_sparse_ae.py"))}


def quick(name, data_env, tmp_path, *extra):
    out = tmp_path / name
    r = run([LESSON[name], "--quick", "--out", str(out), *extra], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return out, r


def check_outputs(out, files, keys):
    for f in files:
        assert (out / f).stat().st_size > 0, f
    metrics = json.load(open(out / "metrics.json"))
    assert set(keys) <= set(metrics), set(keys) - set(metrics)
    assert all(math.isfinite(v) for v in metrics.values()), metrics
    return metrics


def steps_logged(path):
    return [json.loads(line)["step"] for line in open(path)]


def test_conv_ae_quick_and_resume(data_env, tmp_path):
    out, r = quick("conv", data_env, tmp_path)
    assert "(2, 4, 7, 7)" in r.stdout and "(2, 1, 28, 28)" in r.stdout  # the layer-shape table
    m = check_outputs(out, ["reconstructions.png", "losses.png", "train.npz"],
                      ["test_mse", "code_size", "code_fraction", "params", "train_seconds"])
    assert m["code_size"] == 4 * 7 * 7 and m["code_fraction"] == pytest.approx(196 / 784)
    assert 0 < m["test_mse"] < 1
    # by hand, 3x3 convs 1->16->32->4 (5,956) and conv 4->32, 4x4 transposed 32->16->1 (9,649), biases included
    assert m["params"] == (16 * 9 + 16) + (16 * 32 * 9 + 32) + (32 * 4 * 9 + 4) \
        + (4 * 32 * 9 + 32) + (32 * 16 * 16 + 16) + (16 * 16 + 1) == 15605
    assert steps_logged(out / "train.jsonl") == [1, 2, 3, 4, 5]
    out, r = quick("conv", data_env, tmp_path, "--resume", "--steps", "7")
    assert "resumed at step 5" in r.stdout
    assert steps_logged(out / "train.jsonl") == list(range(1, 8))


def test_denoising_ae_quick(data_env, tmp_path):
    models, inputs = ("plain", "gaussian", "masking"), ("clean", "gaussian", "masking")
    out, _ = quick("denoise", data_env, tmp_path)
    keys = [f"test_mse_{m}_on_{i}" for m in models for i in inputs]
    keys += [f"noise_removed_{m}_on_{i}" for m in models for i in inputs[1:]] + ["train_seconds"]
    m = check_outputs(out, ["denoise_gaussian.png", "denoise_masking.png", "losses.png"]
                      + [f"{n}.npz" for n in models], keys)
    assert m["input_mse_gaussian"] > 0 and m["input_mse_masking"] > 0
    for k in keys[:9]:
        assert 0 < m[k] < 1
    for model in models:
        for inp in inputs[1:]:  # the ratio's definition: 1 - MSE(model) / MSE(noisy input)
            assert m[f"noise_removed_{model}_on_{inp}"] == pytest.approx(
                1 - m[f"test_mse_{model}_on_{inp}"] / m[f"input_mse_{inp}"])


def test_sparse_ae_quick(data_env, tmp_path):
    out, _ = quick("sparse", data_env, tmp_path)
    keys = [f"{n}_{k}" for n in ("plain", "l1", "kl")
            for k in ("mean_activation", "active_fraction", "dead_fraction", "test_mse")]
    m = check_outputs(out, ["features.png", "activations.png", "reconstructions.png", "losses.png", "kl.npz"],
                      keys + ["train_seconds"])
    for n in ("plain", "l1", "kl"):
        assert 0 < m[f"{n}_mean_activation"] < 1
        # fractions of whole counts: activations over (50 test images x 100 units), units over 100 (--quick)
        active, dead = m[f"{n}_active_fraction"] * 50 * 100, m[f"{n}_dead_fraction"] * 100
        assert active == pytest.approx(round(active), abs=1e-6) and dead == pytest.approx(round(dead), abs=1e-6)
        assert 0 <= round(active) <= 5000 and 0 <= round(dead) <= 100


@pytest.mark.parametrize("name,flag", [("conv", ["--code-channels", "0"]), ("denoise", ["--mask-p", "1"]),
                                       ("denoise", ["--sigma", "-1"]), ("sparse", ["--rho", "0"])])
def test_bad_flags_are_clear_errors(name, flag, data_env, tmp_path):
    r = run([LESSON[name], "--quick", "--out", str(tmp_path / "o"), *flag], data_env, tmp_path)
    assert r.returncode != 0 and flag[0] in r.stderr


def lesson_function(path, name):
    """The function ``name`` defined in a lesson, without running the lesson."""
    tree = ast.parse(open(path).read())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace = {"F": F, "tg": tg}
    exec(compile(ast.Module([node], []), path, "exec"), namespace)
    return namespace[name]


def test_kl_sparsity_penalty():
    kl = lesson_function(LESSON["sparse"], "kl_sparsity")
    assert kl(tg.tensor(np.full((8, 5), 0.05, np.float32)), 0.05).item() == pytest.approx(0, abs=1e-6)
    a = np.random.default_rng(0).uniform(0.01, 0.99, (16, 3))
    q = a.mean(axis=0)
    want = (0.05 * np.log(0.05 / q) + 0.95 * np.log(0.95 / (1 - q))).sum()
    assert kl(tg.tensor(a), 0.05).item() == pytest.approx(want, rel=1e-9)
    # a unit saturated at exactly 1 on the whole batch: the clamp at 1 − 1e-6 gives a finite loss and
    # stops that unit's gradient; the other unit (ρ̂ = 0.2) gets ∂/∂a = (−ρ/ρ̂ + (1 − ρ)/(1 − ρ̂)) / N = 0.46875
    x = tg.tensor(np.array([[1.0, 0.3], [1.0, 0.1]], np.float32), requires_grad=True)
    loss = kl(x, 0.05)
    loss.backward()
    top = 1 - float(np.float32(1 - 1e-6))                              # 1 − ρ̂ at the clamp, in float32
    want = (0.05 * np.log(0.05 / (1 - top)) + 0.95 * np.log(0.95 / top)
            + 0.05 * np.log(0.05 / 0.2) + 0.95 * np.log(0.95 / 0.8))
    assert loss.item() == pytest.approx(want, rel=1e-4)
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.46875], [0.0, 0.46875]], atol=1e-5)

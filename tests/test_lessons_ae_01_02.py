"""Lessons 01 (linear AE = PCA) and 02 (stacked AE): --quick outputs, metrics, flag errors.

The fake dataset of ``conftest.data_env`` is random noise, so only relations
that hold for any data are asserted (e.g. PCA is the best rank-k
reconstruction of its own training set, not necessarily of the test set).
"""
import json
import math
import os

import numpy as np
import pytest

from conftest import run  # noqa: F401  (data_env is a conftest fixture)
from tinygen.utils.data import load_train_test

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINEAR = os.path.join(ROOT, "lessons", "01_linear_ae_pca.py")
STACKED = os.path.join(ROOT, "lessons", "02_stacked_ae.py")


def _quick(lesson, data_env, out, *extra):
    r = run([lesson, "--quick", "--out", str(out), *extra], data_env, out.parent)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    metrics = json.load(open(out / "metrics.json"))
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in metrics.values()), metrics
    return r, metrics


def _nonempty(out, names):
    for name in names:
        assert (out / name).stat().st_size > 0, name


def test_linear_ae_pca_quick(data_env, tmp_path):
    out = tmp_path / "out"
    r, m = _quick(LINEAR, data_env, out)
    _nonempty(out, ["codes.png", "reconstructions.png", "losses.png", "ae_k2.npz", "ae_k32.npz",
                    "ae_k2.jsonl", "ae_k32.jsonl"])
    for k in (2, 32):
        for key in ("ae_test_mse", "pca_test_mse", "gap_percent", "angle_max_deg", "angle_mean_deg"):
            assert f"{key}_k{k}" in m, key
        assert m[f"ae_test_mse_k{k}"] > 0 and m[f"pca_test_mse_k{k}"] > 0
        assert 0 <= m[f"angle_mean_deg_k{k}"] <= m[f"angle_max_deg_k{k}"] <= 90 + 1e-6
        assert abs(m[f"gap_percent_k{k}"] - 100 * (m[f"ae_test_mse_k{k}"] / m[f"pca_test_mse_k{k}"] - 1)) < 1e-6
    assert m["pca_test_mse_k32"] < m["pca_test_mse_k2"]  # a larger subspace contains the smaller one
    assert m["train_seconds"] > 0
    assert m["code_map_r2_k2"] == pytest.approx(code_map_r2(out / "ae_k2.npz", data_env), abs=1e-5)


def code_map_r2(checkpoint, data_env):
    """R² of the best affine map from the saved k = 2 AE's test codes to PCA's, recomputed here in float64.

    PCA by an eigendecomposition of the training covariance (the lesson uses an SVD), the AE's
    codes W_e x + b_e from the checkpoint's arrays, and the fit by projecting onto the column space of
    [codes, 1] (QR; the lesson uses lstsq). R² pools both PCA coordinates: 1 − SS_res / SS_tot about
    their mean. On the fake noise data, after 5 steps, it is small (0.016), but a lost intercept
    (0.0065), an uncentred SS_tot (0.042) or reordered and rescaled PCA coordinates (0.022) move it by
    far more than float32 rounding (1e-7).
    """
    x_train, _, x_test, _ = load_train_test(data_dir=os.path.join(data_env["TINYGEN_DATA"], "fashion-mnist"),
                                            limit=300)                     # what --quick loads
    X, X_test = (a.reshape(len(a), -1).astype(np.float64) for a in (x_train, x_test))
    mu = X.mean(axis=0)
    _, vecs = np.linalg.eigh((X - mu).T @ (X - mu))                       # ascending eigenvalues
    P = (X_test - mu) @ vecs[:, ::-1][:, :2]                               # top-2 principal coordinates
    saved = np.load(checkpoint)
    W_e, b_e = (saved[f"model/ae/encoder.{k}"].astype(np.float64) for k in ("weight", "bias"))
    codes = X_test @ W_e.T + b_e                                           # (N, 2)
    Q, _ = np.linalg.qr(np.hstack([codes, np.ones((len(codes), 1))]))
    residual = P - Q @ (Q.T @ P)
    return 1 - np.sum(residual ** 2) / np.sum((P - P.mean(axis=0)) ** 2)


def test_linear_ae_bad_k_is_a_clear_error(data_env, tmp_path):
    r = run([LINEAR, "--quick", "--k", "2", "--out", str(tmp_path / "o")], data_env, tmp_path)
    assert r.returncode != 0 and "--k" in r.stderr


def test_stacked_ae_quick_and_resume(data_env, tmp_path):
    out = tmp_path / "out"
    r, m = _quick(STACKED, data_env, out)
    stages = ["layer1", "layer2", "finetune", "tied", "untied"] + [f"head_{f}_{n}" for f in ("pixels", "greedy", "tied")
                                                                   for n in (2, 10)]
    _nonempty(out, ["reconstructions.png", "losses.png"] + [s + ext for s in stages for ext in (".npz", ".jsonl")])
    assert "decoder's W is encoder's W: True" in r.stdout  # tied = the same Parameter object
    # 784-256-64 tied: both encoder layers plus the decoder's own biases; untied adds the decoder weights
    assert m["params_tied"] == 784 * 256 + 256 + 256 * 64 + 64 + 256 + 784
    assert m["params_untied"] == m["params_tied"] + 784 * 256 + 256 * 64
    for key in ("test_mse_greedy_no_finetune", "test_mse_greedy", "test_mse_tied", "test_mse_untied"):
        assert 0 < m[key] < 1, key  # pixels and sigmoid outputs both in [0, 1]
    for n in (2, 10):  # --quick: 2 and 10 labelled images per class
        for key in (f"acc_head_pixels_{n}", f"acc_head_codes_greedy_{n}", f"acc_head_codes_tied_{n}"):
            hits = m[key] * 50                              # accuracy on the 50 fake test images
            assert hits == pytest.approx(round(hits), abs=1e-6) and 0 <= round(hits) <= 50, key
    assert len(open(out / "head_pixels_10.jsonl").readlines()) == 5  # --quick: 5 head steps
    steps = [len(open(out / f"{s}.jsonl").readlines()) for s in ("layer1", "layer2", "finetune", "tied")]
    assert sum(steps[:3]) == steps[3] == m["steps"]  # greedy stages share the end-to-end budget

    # --resume: every stage had finished, so each is loaded, not retrained, with the same results
    r2, m2 = _quick(STACKED, data_env, out, "--resume")
    assert "[layer1] resumed at step" in r2.stdout and "[head_tied_10] resumed at step" in r2.stdout
    assert m2["test_mse_tied"] == m["test_mse_tied"] and m2["acc_head_codes_greedy_10"] == m["acc_head_codes_greedy_10"]


def test_stacked_ae_bad_labels_is_a_clear_error(data_env, tmp_path):
    r = run([STACKED, "--quick", "--labels-per-class", "10,0", "--out", str(tmp_path / "o")], data_env, tmp_path)
    assert r.returncode != 0 and "--labels-per-class" in r.stderr

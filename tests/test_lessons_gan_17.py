"""Lesson 17 (EBGAN): outputs, the closing scores of both runs, sample export, resume,
the hinge of eq. 1 in the logged energies, and clear flag errors."""
import json
import os

import numpy as np
import pytest

from conftest import assert_flag_error, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "17_ebgan.py")


def records(path):
    return [json.loads(line) for line in open(path)]


def test_ebgan_outputs_both_runs_export_and_resume(data_env, tmp_path):
    out = tmp_path / "run"
    r = run([LESSON, "--quick", "--steps", "6", "--export-samples", "20", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ("training.gif", "training_no_pt.gif", "losses.png", "energies.png", "samples.png",
                 "pt_vs_no_pt.png", "metrics.json", "train.jsonl", "train.npz", "no_pt.jsonl", "no_pt.npz",
                 "samples.npy"):
        assert (out / name).stat().st_size > 0, name
    m = json.load(open(out / "metrics.json"))
    assert m["margin"] == 0.5 and m["pt_weight"] == 0.1 and m["steps"] == 6
    assert set(m["runs"]) == {"EBGAN-PT", "EBGAN"}
    assert m["runs"]["EBGAN-PT"]["pt_weight"] == 0.1 and m["runs"]["EBGAN"]["pt_weight"] == 0.0
    for scores in (m, *m["runs"].values()):
        assert scores["fid"] >= 0 and 1 <= scores["inception_score"] <= 10
        hist = scores["class_histogram"]
        assert len(hist) == 10 and abs(sum(hist) - 1) < 1e-6
        assert scores["class_histogram_min"] == min(hist) and 0 <= scores["class_entropy"] <= 1
    assert m["fid"] == m["runs"]["EBGAN-PT"]["fid"]                        # the top level is the PT run
    samples = np.load(out / "samples.npy")
    assert samples.shape == (20, 1, 28, 28) and samples.dtype == np.float32
    assert -1 <= samples.min() and samples.max() <= 1
    for stage in ("train", "no_pt"):
        log = records(out / f"{stage}.jsonl")
        assert [rec["step"] for rec in log] == list(range(1, 7))
        assert all(0 <= rec["pt"] <= 1 and rec["E_real"] > 0 and rec["E_fake"] > 0 for rec in log)

    r = run([LESSON, "--quick", "--steps", "8", "--resume", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "[train] resumed at step 6" in r.stdout and "[no_pt] resumed at step 6" in r.stdout
    for stage in ("train", "no_pt"):
        assert [rec["step"] for rec in records(out / f"{stage}.jsonl")] == list(range(1, 9))


@pytest.mark.parametrize("margin", [0.5, 0.002])
def test_the_discriminator_loss_is_the_hinge_of_eq_1(margin, data_env, tmp_path):
    # L_D = E[D(x)] + E[[m − D(G(z))]⁺]: with every fake below m (hinge_active 1) the second
    # term is m − E_fake exactly; with every fake above m (0) it vanishes and L_D = E_real.
    # A fresh G paints near-constant grey that the fresh autoencoder reconstructs well, so its
    # energy starts between the two margins: all fakes are below 0.5 and above 0.002.
    out = tmp_path / "run"
    r = run([LESSON, "--quick", "--margin", str(margin), "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for stage in ("train", "no_pt"):
        log = records(out / f"{stage}.jsonl")
        for rec in log:
            hinge = rec["loss_D"] - rec["E_real"]
            assert -1e-5 <= hinge <= margin + 1e-5                            # [m − D]⁺ lies in [0, m]
            assert hinge >= margin - rec["E_fake"] - 1e-5                     # Jensen: E[relu] >= relu(E)
        assert {rec["hinge_active"] for rec in log} == {1.0 if margin == 0.5 else 0.0}
        for rec in log:
            expected = margin - rec["E_fake"] if margin == 0.5 else 0.0
            assert rec["loss_D"] - rec["E_real"] == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("flags, message", [
    (["--margin", "0"], "--margin"),
    (["--margin", "5"], "--margin"),
    (["--pt-weight", "0"], "--pt-weight"),
    (["--batch-size", "1"], "--batch-size"),
    (["--dataset", "folder", "--data-dir", "."], "--dataset"),
])
def test_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(LESSON, flags, message, data_env, tmp_path)

"""Lesson 19 (the loss study): outputs and study.json of --quick, the table against study.json, WGAN's
clipped critic, resume (finished runs skipped, an interrupted one continued bit-exactly) and flag errors.

The runs use the fake datasets of ``data_env``; the study's ``spearman`` is tested in test_metrics.py.
"""
import json
import os
import re

import numpy as np
import pytest

from conftest import assert_flag_error, run  # noqa: E402  (data_env is a conftest fixture)
from tinygen.utils.gan_models import dcgan_critic
from tinygen.utils.metrics import spearman

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(ROOT, "lessons", "19_loss_study.py")
LOSSES = ["MM", "NS", "LSGAN", "WGAN", "WGAN-GP", "EBGAN", "BEGAN"]


@pytest.fixture(scope="module")
def quick(data_env, tmp_path_factory):
    """One --quick run of all seven losses, seeds 0 and 1."""
    tmp = tmp_path_factory.mktemp("study")
    out = tmp / "run"
    r = run([STUDY, "--quick", "--seeds", "0,1", "--export-samples", "5", "--out", str(out)], data_env, tmp)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out, r, tmp


def test_quick_writes_every_output_and_a_run_per_loss_and_seed(quick):
    out, r, _ = quick
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ("study.json", "study.md", "study.png", "samples.png", "losses.png", "training.gif", "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    study = json.load(open(out / "study.json"))
    assert study["steps"] == 3 and study["eval_samples"] == 50
    assert sorted((x["loss"], x["seed"]) for x in study["runs"]) == sorted((k, s) for k in LOSSES for s in (0, 1))
    for x in study["runs"]:
        folder = out / f"{x['loss']}_s{x['seed']}"
        for name in ("result.json", "train.npz", "train.jsonl", "training.gif", "samples.png"):
            assert (folder / name).stat().st_size > 0, (folder, name)
        assert np.load(folder / "grid.npy").shape == (16, 1, 28, 28)          # its row of the study's samples.png
        exported = np.load(folder / "samples.npy")                             # --export-samples 5
        assert exported.shape == (5, 1, 28, 28) and exported.dtype == np.float32
        assert x["n"] == 50 and x["fid"] > 0 and x["train_seconds"] > 0   # 3-step samples are not the test set
        counts = np.array(x["class_histogram"]) * 50                          # predicted classes of 50 samples
        assert len(counts) == 10 and np.allclose(counts, np.round(counts)) and round(counts.sum()) == 50
        assert json.load(open(folder / "result.json")) == x
        assert [json.loads(line)["step"] for line in open(folder / "train.jsonl")] == [1, 2, 3]
    began = [json.loads(line) for line in open(out / "BEGAN_s0" / "train.jsonl")]
    assert began[-1]["k"] > 0                                                  # k_t starts at 0 and moves
    # The control law from the log: where k_{t+1} = k_t + λ_k (γ L(x) − L(G(z))) is unclipped (λ_k = 0.001,
    # γ = 0.5), d = γ L(x) − L(G(z)) and convergence = L(x) + |d| give L(x) and L(G(z)), and D's loss
    # must be L(x) − k_t L(G(z)) (Berthelot et al. 2017, eq. 4).
    checked = 0
    for prev_k, rec in zip([0.0] + [r["k"] for r in began], began):
        if 0 < rec["k"] < 1:
            d = (rec["k"] - prev_k) / 0.001
            l_x = rec["convergence"] - abs(d)
            l_gz = 0.5 * l_x - d
            assert rec["loss_D"] == pytest.approx(l_x - prev_k * l_gz, rel=1e-4, abs=1e-6), rec
            checked += 1
    assert checked >= 1


def test_table_and_metrics_agree_with_study_json(quick):
    out, _, _ = quick
    runs = json.load(open(out / "study.json"))["runs"]
    metrics = json.load(open(out / "metrics.json"))
    rows = {line.split("|")[1].strip(): line for line in open(out / "study.md") if line.startswith("| ")}
    assert set(LOSSES) <= set(rows)
    for loss in LOSSES:
        fid = [x["fid"] for x in runs if x["loss"] == loss]
        is_ = [x["inception_score"] for x in runs if x["loss"] == loss]
        cells = re.findall(r"(-?[\d.]+) ± ([\d.]+)", rows[loss])
        assert [tuple(map(float, c)) for c in cells] == [
            (round(np.mean(fid), 2), round(np.std(fid, ddof=1), 2)),
            (round(np.mean(is_), 2), round(np.std(is_, ddof=1), 2))], rows[loss]
        s = metrics["per_loss"][loss]
        assert s["fid_best"] == min(fid) and s["seeds"] == [0, 1]
    rank = metrics["rank_vs_lucic"]
    assert rank["losses"] == ["MM", "NS", "LSGAN", "WGAN", "WGAN-GP", "BEGAN"]      # EBGAN is not in Lucic et al.
    assert rank["lucic_order"] == ["WGAN", "BEGAN", "WGAN-GP", "NS", "MM", "LSGAN"]
    lucic = {"WGAN": 21.5, "BEGAN": 22.9, "WGAN-GP": 24.5, "NS": 26.5, "MM": 29.6, "LSGAN": 30.7}  # their Table
    best = [min(x["fid"] for x in runs if x["loss"] == loss) for loss in rank["losses"]]
    mean = [np.mean([x["fid"] for x in runs if x["loss"] == loss]) for loss in rank["losses"]]
    theirs = [lucic[loss] for loss in rank["losses"]]
    assert rank["spearman_best_fid"] == pytest.approx(spearman(best, theirs), abs=1e-12)
    assert rank["spearman_mean_fid"] == pytest.approx(spearman(mean, theirs), abs=1e-12)


def test_the_wgan_critic_stays_clipped_and_the_others_do_not(quick):
    out, _, _ = quick
    names = [n for n, _ in dcgan_critic(4, "batch").named_parameters()]      # weights, not BN's running stats
    assert names
    for loss, clipped in (("WGAN", True), ("MM", False)):
        ckpt = np.load(out / f"{loss}_s0" / "train.npz")
        biggest = max(np.abs(ckpt[f"model/D/{n}"]).max() for n in names)
        assert (biggest <= 0.01) == clipped, (loss, biggest)


def test_resume_skips_finished_runs_and_continues_an_interrupted_one(quick, data_env):
    out, _, tmp = quick
    before = json.load(open(out / "study.json"))
    r = run([STUDY, "--quick", "--seeds", "0,1", "--out", str(out), "--resume"], data_env, tmp)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.count("finished, skipped") == 14 and "[train] step" not in r.stdout
    assert json.load(open(out / "study.json"))["runs"] == before["runs"]

    # An interrupted run: stopped after its checkpoint at step 2 (before scoring), then resumed to step 3.
    part = tmp / "part"
    r = run([STUDY, "--quick", "--losses", "BEGAN,WGAN-GP", "--steps", "2", "--out", str(part)], data_env, tmp)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for loss in ("BEGAN", "WGAN-GP"):
        os.remove(part / f"{loss}_s0" / "result.json")
    r = run([STUDY, "--quick", "--losses", "BEGAN,WGAN-GP", "--out", str(part), "--resume"], data_env, tmp)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.count("[train] resumed at step 2") == 2
    for loss in ("BEGAN", "WGAN-GP"):                 # the same run as the uninterrupted one, bit for bit
        resumed = json.load(open(part / f"{loss}_s0" / "result.json"))
        whole = json.load(open(out / f"{loss}_s0" / "result.json"))
        assert resumed["fid"] == whole["fid"] and resumed["class_histogram"] == whole["class_histogram"]
        logs = [[json.loads(line) for line in open(d / f"{loss}_s0" / "train.jsonl")] for d in (part, out)]
        assert logs[0] == logs[1]


@pytest.mark.parametrize("flags, message", [
    (["--losses", "MM,FOO"], "--losses"),
    (["--seeds", "0,x"], "--seeds"),
    (["--g-width", "0"], "--g-width"),
])
def test_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(STUDY, flags, message, data_env, tmp_path)

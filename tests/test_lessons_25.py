"""Lesson 25 (evaluating GANs) and its workbench tinygen/utils/evaluation.py.

The lesson runs in --quick mode on the fake datasets of ``data_env`` (300 training, 50 test
images of random pixels) with two sample folders the test writes itself, whose scores are known:
``same`` holds the 50 test images themselves (FID 0, precision = recall = density = coverage = 1,
C_T 0, 1-NN accuracy 0) and ``blank`` 50 all-black images (IS 1, one class, FID∞ = FID, every
k-NN metric 0, 1-NN accuracy 1). The real-data constructions are checked by hand on small arrays.
"""
import argparse
import json
import os

import numpy as np
import pytest

from conftest import assert_flag_error, run  # noqa: E402  (data_env is a conftest fixture)
from tinygen.utils import evaluation as ev
from tinygen.utils import metrics as M
from tinygen.utils.data import fashion_mnist, to_float_images

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "25_evaluation.py")


def write_samples(folder, images):
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "samples.npy"), images)
    return str(folder)


def fake_test_images(env):
    images, labels = fashion_mnist("test", root=os.path.join(env["TINYGEN_DATA"], "fashion-mnist"))
    return to_float_images(images), labels.astype(np.int64)


@pytest.fixture(scope="module")
def quick(data_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    x_test, _ = fake_test_images(data_env)
    same = write_samples(tmp / "same", x_test)
    blank = write_samples(tmp / "blank", -np.ones((50, 1, 28, 28), np.float32))
    out = tmp / "out"
    r = run([LESSON, "--quick", "--runs", f"same={same},blank={blank}", "--out", str(out)], data_env, tmp)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out, r, tmp, json.load(open(out / "metrics.json"))


def test_quick_writes_every_output(quick):
    out, r, _, m = quick
    for name in ("metrics.json", "table.md", "fid_vs_n.png", "one_per_class.png", "neighbours.png",
                 "class_histograms.png", "by_class_7_classes.png", "by_class_same.png", "by_class_blank.png",
                 "outputs_noisy.npz", "outputs_same.npz", "outputs_blank.npz"):
        assert (out / name).stat().st_size > 0, name
    assert list(m["sets"]) == ["real (held-out)", "one per class", "class mean", "50% noisy σ=0.3", "copies of T",
                               "7 classes", "same", "blank"]
    assert m["n"] == 50 and all(row["n"] == 50 for row in m["sets"].values())
    assert "scored same" in r.stdout and "FID∞" in r.stdout


def test_a_copy_of_the_test_set_scores_the_known_answers(quick):
    """The samples are the reference itself: every two-sample metric at its 'identical' value."""
    s = quick[3]["sets"]["same"]
    assert s["fid"] < 1e-8
    assert (s["precision"], s["recall"], s["density"], s["coverage"]) == (1.0, 1.0, 1.0, 1.0)
    assert s["c_t"] == 0.0                  # every cell: the same distances on both sides, U = mn/2
    assert s["one_nn"] == 0.0               # each point's nearest other point is its twin, of the other set
    assert s["fid_curve"]["fid"][-1] == s["fid"] and s["fid_curve"]["n"][-1] == 50
    p_test = np.load(quick[0] / "outputs_same.npz")["probs"]
    assert s["is"] == pytest.approx(M.inception_score_from_probs(p_test, 10)[0], rel=1e-12)
    hist = np.bincount(p_test.argmax(axis=1), minlength=10) / 50
    assert s["histogram"] == hist.tolist() and s["classes"] == int((hist >= 0.01).sum())


def test_blank_images_score_the_known_answers(quick):
    """One image repeated: IS 1 exactly, one class, the same FID at every N (slope 0, FID∞ = FID),
    radius-0 balls that hold no real image and real balls that hold no sample."""
    s = quick[3]["sets"]["blank"]
    assert s["is"] == pytest.approx(1.0, abs=1e-12) and s["classes"] == 1 and max(s["histogram"]) == 1.0
    assert s["fid_inf"] == pytest.approx(s["fid"], rel=1e-6) and s["fid_curve"]["slope"] == pytest.approx(0, abs=1e-3)
    assert (s["precision"], s["recall"], s["density"], s["coverage"]) == (0.0, 0.0, 0.0, 0.0)
    assert s["one_nn"] == 1.0 and s["kid"] > 10 * abs(quick[3]["sets"]["same"]["kid"])


def test_constructions_in_the_quick_run(quick, data_env):
    """One per class: the chosen test images are the only real points in the samples' radius-0
    balls (recall = K / 50) and each sample is a test image (precision 1). Copies of T: C_T < 0."""
    m = quick[3]
    _, labels = fake_test_images(data_env)
    chosen = m["one_per_class_images"]
    assert sorted(labels[chosen].tolist()) == sorted(set(labels.tolist()))     # one per class present
    one = m["sets"]["one per class"]
    assert one["precision"] == 1.0 and one["recall"] == len(chosen) / 50
    assert m["sets"]["copies of T"]["c_t"] < -2 < m["sets"]["real (held-out)"]["c_t"]


def test_table_agrees_with_metrics_json(quick):
    out, _, _, m = quick
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in open(out / "table.md") if line.startswith("| ") and not line.startswith(("| set", "| ---"))}
    assert list(rows) == list(m["sets"])
    for name, cells in rows.items():
        s = m["sets"][name]
        assert cells[0] == f"{s['fid']:.2f}" and cells[2] == f"{s['is']:.2f}" and cells[4] == f"{s['precision']:.3f}"
        assert cells[8] == ("–" if s["c_t"] is None or np.isnan(s["c_t"]) else f"{s['c_t']:+.2f}")
        assert cells[10] == str(s["classes"])


def test_resume_reuses_outputs_and_default_runs_are_found(quick, data_env):
    """--resume reads the kept classifier outputs back (same scores); without --runs the lesson
    scores the default folders that hold samples.npy, relative to the working directory."""
    out, _, tmp, m = quick
    stamp = os.path.getmtime(out / "outputs_noisy.npz")
    r = run([LESSON, "--quick", "--runs", f"same={tmp / 'same'},blank={tmp / 'blank'}", "--out", str(out),
             "--resume"], data_env, tmp)
    assert r.returncode == 0, r.stderr[-2000:]
    assert os.path.getmtime(out / "outputs_noisy.npz") == stamp
    assert json.dumps(json.load(open(out / "metrics.json"))["sets"]) == json.dumps(m["sets"])   # NaN-safe
    cwd = tmp / "cwd"
    write_samples(cwd / "runs" / "12_dcgan", -np.ones((50, 1, 28, 28), np.float32))
    os.makedirs(cwd / "runs" / "13_wgan_clip")                              # no samples.npy: skipped
    r = run([LESSON, "--quick", "--out", str(cwd / "o")], data_env, cwd)
    assert r.returncode == 0, r.stderr[-2000:]
    m2 = json.load(open(cwd / "o" / "metrics.json"))
    assert m2["runs"] == {"dcgan": os.path.join("runs", "12_dcgan")} and m2["sets"]["dcgan"]["is"] == pytest.approx(1.0)


@pytest.mark.parametrize("flags, message", [
    (["--runs", "dcgan"], "--runs: expected NAME=FOLDER items"),
    (["--runs", "a=x,a=y"], "expected each name once, got 'a' twice"),
    (["--runs", "a b=x"], "expected a name of letters"),
    (["--runs", "a=/nonexistent/folder"], "--runs: a: expected a folder holding samples.npy, got '/nonexistent/folder'"),
    (["--eval-samples", "0"], "argument --eval-samples: expected an integer >= 1, got 0"),
])
def test_bad_flags(flags, message, data_env, tmp_path):
    assert_flag_error(LESSON, flags, message, data_env, tmp_path)


def test_bad_sample_folders(data_env, tmp_path):
    os.makedirs(tmp_path / "empty")
    assert_flag_error(LESSON, ["--runs", f"e={tmp_path / 'empty'}"], "got a folder without it", data_env, tmp_path)
    write_samples(tmp_path / "points", np.zeros((50, 2), np.float32))           # the toy's (N, 2) points
    assert_flag_error(LESSON, ["--runs", f"p={tmp_path / 'points'}"],
                      "expected", data_env, tmp_path)
    r = run([LESSON, "--quick", "--runs", f"p={tmp_path / 'points'}", "--out", str(tmp_path / "o")], data_env, tmp_path)
    assert "float32 (50, 2)" in r.stderr


# ------------------------------------------------ the workbench
def test_parse_runs():
    assert ev.parse_runs("dcgan=runs/12_dcgan, wgan = runs/x") == [("dcgan", "runs/12_dcgan"), ("wgan", "runs/x")]
    for bad in ("", "a=", "=b", "a=b,,c=d"):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME=FOLDER"):
            ev.parse_runs(bad)


def test_one_per_class_by_hand():
    """Class 0: rows 0 and 2, p(0|x) 0.6 and 0.9 -> row 2; class 3: rows 1, 3 -> row 1 (0.8 > 0.7);
    no other class. Cycling to n = 5: 2, 1, 2, 1, 2."""
    labels = np.array([0, 3, 0, 3])
    probs = np.full((4, 10), 0.0)
    probs[0, 0], probs[2, 0], probs[1, 3], probs[3, 3] = 0.6, 0.9, 0.8, 0.7
    probs[np.arange(4), 9] = 1 - probs.sum(axis=1)
    idx, chosen = ev.one_per_class(labels, probs, 5)
    assert chosen.tolist() == [2, 1] and idx.tolist() == [2, 1, 2, 1, 2]


def test_closest_to_class_mean_by_hand():
    """Class 0 at 0, 1, 2, 10 (mean 3.25: nearest 2, then 1); class 1 at 5, 6, 7 (mean 6: 6, then 5 or 7 -> 5, stable)."""
    feats = np.array([[0.0], [1.0], [2.0], [10.0], [5.0], [6.0], [7.0]])
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    assert ev.closest_to_class_mean(labels, feats, 4).tolist() == [2, 1, 5, 4]
    assert ev.closest_to_class_mean(labels, feats, 2).tolist() == [2, 5]


def test_keep_classes_noise_and_table():
    labels = np.array([0, 1, 2, 0, 1, 2, 7])
    idx = ev.keep_classes(labels, [0, 7], 3)
    assert sorted(idx.tolist()) == [0, 3, 6]                               # without replacement: all three
    assert set(ev.keep_classes(labels, [2], 10).tolist()) == {2, 5}         # with replacement when too few
    with pytest.raises(ValueError, match="classes"):
        ev.keep_classes(labels, [5], 3)
    x = np.zeros((2, 1, 28, 28), np.float32)
    noisy = ev.add_noise(x, 0.5, seed=1)
    want = np.clip(0.5 * np.random.default_rng(1).standard_normal(x.shape), -1, 1)
    np.testing.assert_allclose(noisy, want, rtol=1e-6) and noisy.dtype == np.float32
    table = ev.format_table({"a": {"x": 1.234, "y": float("nan")}, "b": {"x": 2.0, "y": 3}},
                            [("x", "X", "{:.1f}"), ("y", "Y", "{}")])
    assert table == "| set | X | Y |\n| --- | --- | --- |\n| a | 1.2 | – |\n| b | 2.0 | 3 |\n"


def test_classifier_outputs_are_kept_and_checked(tmp_path):
    x = -np.ones((3, 1, 28, 28), np.float32)
    x[1, 0, 5:20, 5:20] = 1
    path = tmp_path / "o.npz"
    probs, feats = ev.classifier_outputs(x, path)
    want_p, want_f = M.probs_and_features(x)
    np.testing.assert_array_equal(probs, want_p) and np.testing.assert_array_equal(feats, want_f)
    np.savez(path, probs=probs * 0, feats=feats * 0, key=np.load(path)["key"])   # tampered, same key: read back
    assert ev.classifier_outputs(x, path)[0].sum() == 0
    x[2, 0, 0, 0] = 1                                                       # other images: recomputed
    assert ev.classifier_outputs(x, path)[0].sum() == pytest.approx(3)


def test_noisy_row_is_recomputed_from_the_kept_outputs(quick):
    """The lesson's score() for the noisy set, again from its kept features and the test set's
    (the ``same`` run's outputs are the test images' own): k = 3 for P/R, k = 5 for D/C, KID with
    --quick's 5 subsets of 20 and seed 0, FID against the test statistics, IS over 10 splits."""
    out, _, _, m = quick
    with np.load(out / "outputs_same.npz") as f:
        f_test = f["feats"]
    with np.load(out / "outputs_noisy.npz") as f:
        p, feats = f["probs"], f["feats"]
    row = m["sets"]["50% noisy σ=0.3"]
    assert {k: row[k] for k in ("precision", "recall")} == M.precision_recall(f_test, feats, k=3)
    assert {k: row[k] for k in ("density", "coverage")} == M.density_coverage(f_test, feats, k=5)
    assert (row["kid"], row["kid_std"]) == pytest.approx(M.kernel_inception_distance(f_test, feats, 5, 20, seed=0),
                                                         rel=1e-12)
    ref = M.gaussian_statistics(f_test)
    assert row["fid"] == pytest.approx(M.frechet_distance_from_statistics(*M.gaussian_statistics(feats), *ref),
                                       rel=1e-12)
    curve = M.fid_infinity(feats, ref, seed=0)
    assert row["fid_curve"]["n"] == curve["n"] and row["fid_curve"]["fid"] == pytest.approx(curve["fid"], rel=1e-12)
    assert row["fid_inf"] == pytest.approx(curve["fid_inf"], rel=1e-9)
    assert row["is"] == pytest.approx(M.inception_score_from_probs(p, 10)[0], rel=1e-12)
    assert row["one_nn"] == M.one_nn_accuracy(f_test, feats)["accuracy"]

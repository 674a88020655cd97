"""Lessons 12 (DCGAN) and 12b (its latent space): the DCGAN rules on lesson 12's own models, the
outputs, resume and flag errors of both.

The model tests take the lesson's definitions without running it
(``conftest.lesson_definitions``); the run tests use the fake datasets of
``data_env``. tests/test_lesson_copies.py holds lesson 12's networks equal to
the workbench's copies that lesson 12b loads.
"""
import json
import os

import imageio.v3 as iio
import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.utils.dcgan_extras import dcgan_rules
from conftest import assert_flag_error, lesson_definitions, run  # noqa: E402  (data_env is a conftest fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DCGAN = os.path.join(ROOT, "lessons", "12_dcgan.py")
LATENT = os.path.join(ROOT, "lessons", "12b_dcgan_latent.py")


@pytest.fixture(scope="module")
def lesson():
    return lesson_definitions(DCGAN, "make_generator", "make_discriminator")


def leaves(model):
    return [m for m in model.modules() if not m._modules]


def test_generator_maps_z_to_images_in_tanh_range(lesson):
    tg.manual_seed(0)
    G = lesson.make_generator(100, 16).eval()                  # fresh BN in eval mode: the identity, so
    z = tg.randn(5, 100) * 30                                  # large codes give |G(z)| > 1 without the tanh
    x = G(z).numpy()
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32
    assert np.abs(x).max() <= 1 and np.abs(x).max() > 0.9
    assert isinstance(leaves(G)[-1], nn.Tanh)


def test_discriminator_maps_images_to_one_logit_through_the_hidden_layers_12b_probes(lesson):
    D = lesson.make_discriminator(8)
    x = tg.randn(3, 1, 28, 28)
    assert D(x).shape == (3, 1)
    h1 = D[:2](x)                                          # the slices lesson 12b's d_features takes
    h2 = D[2:5](h1)
    assert h1.shape == (3, 8, 14, 14) and h2.shape == (3, 16, 7, 7)
    assert np.array_equal(D[5:](h2).numpy(), D(x).numpy())


def test_the_lesson_models_follow_every_dcgan_rule(lesson):
    G, D = lesson.make_generator(100, 16), lesson.make_discriminator(8)
    g, d = leaves(G), leaves(D)
    assert not any(isinstance(m, nn.Linear) for m in g + d)             # no hidden fully connected layers
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.Upsample)) for m in g + d)
    assert isinstance(d[0], nn.Conv2d) and not isinstance(d[1], nn.BatchNorm2d)  # no BN on D's input
    last_convt = max(i for i, m in enumerate(g) if isinstance(m, nn.ConvTranspose2d))
    assert isinstance(g[last_convt + 1], nn.Tanh)                        # no BN on G's output
    assert all(m.negative_slope == 0.2 for m in d if isinstance(m, nn.LeakyReLU))
    assert not any(isinstance(m, nn.LeakyReLU) for m in g)
    for layers in (g, d):                                                # no bias before BN
        for conv, nxt in zip(layers, layers[1:]):
            if isinstance(nxt, nn.BatchNorm2d):
                assert conv.bias is None
    assert all(dcgan_rules(G, D).values())


def test_the_rule_checker_catches_broken_rules(lesson):
    G, D = lesson.make_generator(100, 16), lesson.make_discriminator(8)
    bad_g = nn.Sequential(*leaves(G)[:-1], nn.BatchNorm2d(1), nn.Tanh())     # BN on G's output
    bad_d = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.BatchNorm2d(8), nn.ReLU(),  # BN on D's input, ReLU
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 7 * 7, 1))  # pooling, a dense layer
    rules = dcgan_rules(bad_g, bad_d)
    assert not rules["bn_not_on_g_output"]
    for rule in ("bn_not_on_d_input", "no_pooling", "no_linear_layers", "d_leaky_relu_0.2"):
        assert not rules[rule], rule
    no_tanh = nn.Sequential(*leaves(G)[:-1])
    assert not dcgan_rules(no_tanh, D)["g_relu_and_tanh_output"]


def test_dcgan_quick_outputs_and_resume(data_env, tmp_path):
    out = tmp_path / "run"
    r = run([DCGAN, "--quick", "--export-samples", "12", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout                     # the progress line
    for name in ("training.gif", "losses.png", "samples.png", "samples_random.png", "good_vs_bad.png",
                 "metrics.json", "train.npz", "train.jsonl", "strong_d.npz", "samples.npy", "dcgan.npz"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.load(open(out / "metrics.json"))
    counts = np.array(metrics["class_histogram"]) * 200                       # predicted classes of 200 samples
    assert metrics["fid"] > 0 and np.allclose(counts, np.round(counts))        # 4-step samples are not the test set
    assert len(metrics["class_histogram"]) == 10 and abs(sum(metrics["class_histogram"]) - 1) < 1e-6
    assert metrics["n"] == 200                                           # --quick's --eval-samples
    assert all(metrics["rules"].values()), metrics["rules"]
    assert {"fid", "inception_score", "class_histogram"} <= set(metrics["strong_d"])
    samples = np.load(out / "samples.npy")
    assert samples.shape == (12, 1, 28, 28) and samples.dtype == np.float32
    assert -1 <= samples.min() < 0 < samples.max() <= 1                       # G's tanh range as written, not [0, 1]
    frames = iio.imread(out / "training.gif", index=None)
    assert frames.shape[0] >= 2 and frames.shape[1:3] == (242, 242)     # 8x8 grid of 28px, 2px padding
    records = [json.loads(line) for line in open(out / "train.jsonl")]
    assert [rec["step"] for rec in records] == [1, 2, 3, 4]
    # Jensen on the convex −log: loss_D = E[−log σ(D(x))] + E[−log(1 − σ(D(G(z))))] is at least
    # −log D_real − log(1 − D_fake), the same terms at the logged batch means
    assert all(rec["loss_D"] >= -np.log(rec["D_real"]) - np.log(1 - rec["D_fake"]) - 1e-4 for rec in records)

    r = run([DCGAN, "--quick", "--out", str(out), "--resume", "--steps", "6"], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "[train] resumed at step 4" in r.stdout
    assert "[strong_d] resumed at step 2 (finished)" in r.stdout        # a finished stage is loaded
    assert [json.loads(line)["step"] for line in open(out / "train.jsonl")] == [1, 2, 3, 4, 5, 6]
    assert iio.imread(out / "training.gif", index=None).shape[0] > frames.shape[0]
    assert json.load(open(out / "metrics.json"))["steps"] == 6


@pytest.mark.parametrize("flags, message", [
    (["--strong-k", "0"], "--strong-k"),
    (["--strong-steps", "-1"], "--strong-steps"),
    (["--dataset", "folder", "--data-dir", "."], "--dataset"),
])
def test_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(DCGAN, flags, message, data_env, tmp_path)


def test_latent_quick_trains_lesson_12_first_then_resumes(data_env, tmp_path):
    out = tmp_path / "latent"                                 # no runs/12_dcgan here: --quick trains one
    r = run([LATENT, "--quick", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (out / "12_dcgan" / "dcgan.npz").stat().st_size > 0 and "[train] step 4/4" in r.stdout
    probes = [f"probe_{k}_{n}" for k in ("d", "d_untrained", "pixels") for n in (40, 100)]
    for name in ["interpolation.png", "metrics.json"] + [p + ext for p in probes for ext in (".npz", ".jsonl")]:
        assert (out / name).stat().st_size > 0, name
    metrics = json.load(open(out / "metrics.json"))
    assert metrics["dcgan_steps"] == 4 and metrics["probe_steps"] == 4                  # --quick's steps
    assert set(metrics["probe_accuracy"]) == {p[len("probe_"):] for p in probes}
    hits = np.array(list(metrics["probe_accuracy"].values())) * 50   # accuracy on the 50 fake test images
    assert np.allclose(hits, np.round(hits), atol=1e-6) and hits.max() <= 50
    mid = metrics["interpolation_midpoints"]
    assert mid["lerp"]["norm"] < mid["slerp"]["norm"]         # the straight path cuts inside the shell
    assert [a["equation"] for a in metrics["arithmetic"]][0] == "Pullover - T-shirt/top + Dress"
    assert [len(open(out / f"{p}.jsonl").readlines()) for p in probes] == [4] * 6

    r = run([LATENT, "--quick", "--out", str(out), "--resume", "--dcgan-run", str(out / "12_dcgan")],
            data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "[probe_pixels_100] resumed at step 4 (finished)" in r.stdout and "[train]" not in r.stdout
    assert json.load(open(out / "metrics.json")) == metrics   # the same pair, codes and probes: the same numbers


def test_latent_without_lesson_12s_pair_is_a_clear_error(data_env, tmp_path):
    r = run([LATENT, "--dcgan-run", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")], data_env, tmp_path)
    assert r.returncode == 2 and "--dcgan-run" in r.stderr and "12_dcgan.py" in r.stderr, r.stderr[-1000:]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("flags, message", [
    (["--probe-labels", "5,100"], "--probe-labels"),          # fewer than one label per class
    (["--probe-labels", "40,1000"], "--probe-labels"),        # more than --quick's 256 training images
    (["--steps", "0"], "--steps"),
])
def test_latent_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(LATENT, flags, message, data_env, tmp_path)

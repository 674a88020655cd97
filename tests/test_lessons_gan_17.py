"""Lesson 17 (EBGAN): outputs, the closing scores of both runs, sample export, resume,
the hinge of eq. 1 in the logged energies, and clear flag errors."""
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import tinygen as tg
from conftest import RecordingOptimizer, assert_flag_error, lesson_definitions, run
from tinygen import gan_losses
from tinygen.utils.ema import EMA
from tinygen.utils.gan import dcgan_init
from tinygen.utils.gan_models import AutoencoderDiscriminator, dcgan_generator
from tinygen.utils.metrics import class_entropy

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
    assert m["margin"] == 2.0 and m["pt_weight"] == 0.1 and m["steps"] == 6
    assert set(m["runs"]) == {"EBGAN-PT", "EBGAN"}
    assert m["runs"]["EBGAN-PT"]["pt_weight"] == 0.1 and m["runs"]["EBGAN"]["pt_weight"] == 0.0
    for scores in (m, *m["runs"].values()):
        counts = np.array(scores["class_histogram"]) * 200                    # predicted classes of 200 samples
        assert scores["fid"] > 0 and np.allclose(counts, np.round(counts))     # 6-step samples are not the test set
        hist = scores["class_histogram"]
        assert len(hist) == 10 and abs(sum(hist) - 1) < 1e-6
        assert scores["class_histogram_min"] == min(hist)
        assert scores["class_entropy"] == pytest.approx(class_entropy(hist), abs=1e-12)
    assert m["fid"] == m["runs"]["EBGAN"]["fid"] != m["runs"]["EBGAN-PT"]["fid"]   # the top level is the main run, EBGAN
    samples = np.load(out / "samples.npy")
    assert samples.shape == (20, 1, 28, 28) and samples.dtype == np.float32
    assert -1 <= samples.min() < 0 < samples.max() <= 1                       # G's tanh range as written, not [0, 1]
    for stage in ("train", "no_pt"):
        log = records(out / f"{stage}.jsonl")
        assert [rec["step"] for rec in log] == list(range(1, 7))
    # Same seed, data and z in both runs: step 1 (G not yet updated) logs the same D step and f_PT, and G's
    # loss differs by exactly 0.1 f_PT; from step 2 on they part, since only G's pulling-away term differs.
    pt_log, plain_log = records(out / "train.jsonl"), records(out / "no_pt.jsonl")
    keys = ("loss_D", "E_real", "E_fake", "pt")
    assert [pt_log[0][k] for k in keys] == [plain_log[0][k] for k in keys]
    assert pt_log[0]["loss_G"] == pytest.approx(plain_log[0]["loss_G"] + 0.1 * pt_log[0]["pt"], rel=1e-5)
    assert pt_log[1]["E_fake"] != plain_log[1]["E_fake"]

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


# ---------------------------------------------------------------- the pulling-away term reaches G
def test_the_pulling_away_term_reaches_g_with_its_weight():
    """Lesson 17's own ``make_step``, run twice from the same z: G's gradient with PT weight 0.1
    minus that without is 0.1 · ∇_G f_PT(D.encode(G(z))), computed here on its own; the logged
    ``pt`` is f_PT of that batch; D's step is the same in both runs."""
    lesson = lesson_definitions(LESSON, "make_step", "AutoencoderDiscriminator")
    make_step = lesson.make_step
    make_step.__globals__["args"] = SimpleNamespace(z_dim=4, device="cpu", margin=0.5)
    tg.manual_seed(0)
    G = dcgan_generator(4, 2).apply(dcgan_init)
    D = lesson.AutoencoderDiscriminator(width=2, code_dim=3).apply(dcgan_init)   # the lesson's own D
    real = tg.tensor(np.random.default_rng(0).uniform(-1, 1, (5, 1, 28, 28)).astype(np.float32))
    seen, logged = {}, {}
    for weight in (0.1, 0.0):
        optG, optD = RecordingOptimizer(G.parameters()), RecordingOptimizer(D.parameters())
        tg.manual_seed(3)
        logged[weight] = make_step(G, D, optG, optD, weight, EMA(G))(lambda: real)
        seen[weight] = (optG.seen[0], optD.seen[0])

    tg.manual_seed(3)
    codes = D.encode(G(tg.randn(5, 4)))
    pt = gan_losses.pulling_away_term(codes)
    for p in G.parameters():
        p.grad = None
    pt.backward()
    grad_pt = [p.grad.numpy() for p in G.parameters()]
    assert max(np.abs(g).max() for g in grad_pt) > 1e-6
    for with_pt, without, g in zip(seen[0.1][0], seen[0.0][0], grad_pt):
        np.testing.assert_allclose(with_pt - without, 0.1 * g, rtol=1e-3, atol=1e-7)
    for with_pt, without in zip(seen[0.1][1], seen[0.0][1]):
        np.testing.assert_array_equal(with_pt, without)
    assert logged[0.1]["pt"] == pytest.approx(pt.item(), rel=1e-5) == logged[0.0]["pt"]
    assert logged[0.1]["loss_G"] == pytest.approx(logged[0.0]["loss_G"] + 0.1 * pt.item(), rel=1e-5)


def test_the_step_moves_the_average_of_g_after_g_steps():
    """Lesson 17's ``make_step`` with an EMA: after the step the average is b·(old average) + (1 − b)·(new G),
    b the warmed-up decay of the first update."""
    from tinygen import optim
    lesson = lesson_definitions(LESSON, "make_step", "AutoencoderDiscriminator")
    lesson.make_step.__globals__["args"] = SimpleNamespace(z_dim=4, device="cpu", margin=2.0)
    tg.manual_seed(0)
    G = dcgan_generator(4, 2).apply(dcgan_init)
    D = lesson.AutoencoderDiscriminator(width=2, code_dim=3).apply(dcgan_init)
    ema = EMA(G, beta=0.999)
    old = [p.numpy().copy() for p in ema.module.parameters()]
    real = tg.tensor(np.random.default_rng(0).uniform(-1, 1, (5, 1, 28, 28)).astype(np.float32))
    lesson.make_step(G, D, optim.Adam(G.parameters(), lr=0.1), optim.Adam(D.parameters(), lr=0.1), 0.1, ema)(
        lambda: real)
    b = min(0.999, 1 / 10)                                     # the first update's decay
    assert ema.num_updates == 1
    for avg, a0, p in zip(ema.module.parameters(), old, G.parameters()):
        assert not np.allclose(p.numpy(), a0)                   # G did move
        np.testing.assert_allclose(avg.numpy(), b * a0 + (1 - b) * p.numpy(), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- the lesson's D is the shared one
CHECK = r"""
import numpy as np
import tinygen as tg
from tinygen import gan_losses
from tinygen.utils import gan_models
from tinygen.utils.gan import dcgan_init

Lesson, args = namespace["AutoencoderDiscriminator"], namespace["args"]
trained = namespace["models"]["train"][1]
assert Lesson is not gan_models.AutoencoderDiscriminator and type(trained) is Lesson
assert all(type(m[1]) is Lesson for m in namespace["models"].values())     # both runs train the lesson's own D
tg.manual_seed(5)
fresh = Lesson(args.d_width, args.code_dim).apply(dcgan_init)
x = tg.tensor(np.random.default_rng(1).uniform(-1, 1, (5, 1, 28, 28)).astype(np.float32), requires_grad=True)
dump = {"d_width": args.d_width, "code_dim": args.code_dim}
dump.update({f"fresh/{k}": np.asarray(v) for k, v in fresh.state_dict().items()})
dump.update({f"trained/{k}": np.asarray(v) for k, v in trained.state_dict().items()})
for p in (1, 2):
    x.grad = None
    trained.zero_grad()
    energy = gan_losses.reconstruction_energy(x, trained(x), p=p)
    energy.sum().backward()
    dump[f"energy{p}"], dump[f"grad_x{p}"] = energy.numpy(), x.grad.numpy()
    dump.update({f"grad{p}/{k}": q.grad.numpy() for k, q in trained.named_parameters()})
dump["codes"] = trained.encode(x).numpy()
np.savez(out + "/lesson_d.npz", **dump)          # out: the --out folder, the runner's

# Samples and scores come from each run's average of G, the last G is scored beside it.
from tinygen.utils.gan import generate
assert np.allclose(namespace["samples"]["no_pt"], generate(namespace["models"]["no_pt"][0], namespace["eval_z"]))
assert namespace["models"]["no_pt"][0] is not namespace["last_G"]["no_pt"]
for s in namespace["scores"].values():
    assert s["last_G"]["fid"] != s["fid"]
"""


def test_the_lessons_autoencoder_is_the_shared_one(data_env, tmp_path):
    """Lesson 17 writes EBGAN's D out in its own cell; lessons 18 and 19 build it from gan_models.
    Run the lesson's cells in --quick mode (as test_notebook.py does), then: the same seed gives both
    classes the same weights, and with the trained weights of the lesson's D loaded into the shared
    class, the energies (p = 2, EBGAN's; p = 1, BEGAN's), the codes and every gradient agree exactly."""
    from test_notebook import RUNNER
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", RUNNER + CHECK, LESSON, str(out)], env=data_env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert (out / "metrics.json").exists()
    got = dict(np.load(out / "lesson_d.npz"))
    width, code_dim = int(got["d_width"]), int(got["code_dim"])
    assert (width, code_dim) == (32, 64)                                # the lesson's defaults, not --quick's

    tg.manual_seed(5)
    shared = AutoencoderDiscriminator(width, code_dim).apply(dcgan_init)
    state = shared.state_dict()
    assert {f"fresh/{k}" for k in state} == {k for k in got if k.startswith("fresh/")}
    for k, v in state.items():
        np.testing.assert_array_equal(got[f"fresh/{k}"], np.asarray(v), err_msg=k)

    shared.load_state_dict({k[len("trained/"):]: v for k, v in got.items() if k.startswith("trained/")})
    assert any(not np.array_equal(got[f"trained/{k}"], got[f"fresh/{k}"]) for k in state)   # it did train
    x = tg.tensor(np.random.default_rng(1).uniform(-1, 1, (5, 1, 28, 28)).astype(np.float32), requires_grad=True)
    for p in (1, 2):
        x.grad = None
        shared.zero_grad()
        energy = gan_losses.reconstruction_energy(x, shared(x), p=p)
        energy.sum().backward()
        np.testing.assert_array_equal(got[f"energy{p}"], energy.numpy())
        np.testing.assert_array_equal(got[f"grad_x{p}"], x.grad.numpy())
        for k, q in shared.named_parameters():
            np.testing.assert_array_equal(got[f"grad{p}/{k}"], q.grad.numpy(), err_msg=k)
    np.testing.assert_array_equal(got["codes"], shared.encode(x).numpy())
    assert got["energy2"].shape == (5,) and np.all(got["energy2"] > 0)

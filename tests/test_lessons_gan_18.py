"""Lesson 18 (BEGAN): outputs, the scores of both γ runs, sample export, a resume
that continues k_t exactly, and that the logged k_t follows the paper's control
law from the logged L(x) and L(G(z)); plus fit_gan's ``state=``/``name=``."""
import json
import os

import numpy as np
import pytest

import tinygen as tg
from conftest import run
from tinygen import nn, optim
from tinygen.utils.data import Batches
from tinygen.utils.gan import SampleGif, fit_gan
from tinygen.utils.loss_chapter import Equilibrium
from tinygen.utils.metrics import class_entropy
from tinygen.utils.run import RunDir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "18_began.py")


def logs(path):
    return [json.loads(line) for line in open(path)]


def test_began_outputs_scores_export_and_exact_resume(data_env, tmp_path):
    out, straight = tmp_path / "run", tmp_path / "straight"
    r = run([LESSON, "--quick", "--steps", "8", "--export-samples", "30", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ("training.gif", "training_gamma_0.7.gif", "losses.png", "samples.png", "reconstructions.png",
                 "k_and_convergence.png", "gamma_samples.png", "metrics.json", "train.jsonl", "train.npz",
                 "gamma_0.7.jsonl", "gamma_0.7.npz"):
        assert (out / name).stat().st_size > 0, name
    m = json.load(open(out / "metrics.json"))
    assert set(m["gamma_runs"]) == {"0.5", "0.7"} and m["fid"] == m["gamma_runs"]["0.5"]["fid"]
    for g in m["gamma_runs"].values():
        counts = np.array(g["class_histogram"]) * 200                         # predicted classes of 200 samples
        assert g["fid"] > 0 and np.allclose(counts, np.round(counts))          # 8-step samples are not the test set
        assert len(g["class_histogram"]) == 10 and abs(sum(g["class_histogram"]) - 1) < 1e-6
        assert g["class_entropy"] == pytest.approx(class_entropy(g["class_histogram"]), abs=1e-12)
    for key, stem in (("0.5", "train"), ("0.7", "gamma_0.7")):                 # the last logged k_t and M_global
        last = logs(out / f"{stem}.jsonl")[-1]
        g = m["gamma_runs"][key]
        assert (g["final_k"], g["final_M_global"]) == (last["k"], last["M_global"])
    samples = np.load(out / "samples.npy")
    assert samples.shape == (30, 1, 28, 28) and samples.dtype == np.float32
    assert -1 <= samples.min() < 0 < samples.max() <= 1                       # G's tanh range as written, not [0, 1]

    # Resumed from step 8 to 12, each run must log exactly what an uninterrupted 12-step run logs,
    # k_t included (k starts at 0 again if the checkpoint lost it).
    r = run([LESSON, "--quick", "--steps", "12", "--resume", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "[train] resumed at step 8" in r.stdout and "[gamma_0.7] resumed at step 8" in r.stdout
    r = run([LESSON, "--quick", "--steps", "12", "--out", str(straight)], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("train.jsonl", "gamma_0.7.jsonl"):
        resumed, whole = logs(out / name), logs(straight / name)
        assert [rec["step"] for rec in resumed] == list(range(1, 13))
        assert resumed[8]["k"] > 0                                 # step 9's k is not the initial 0
        assert resumed == whole, name


def test_began_k_follows_the_control_law(data_env, tmp_path):
    out = tmp_path / "run"
    r = run([LESSON, "--quick", "--steps", "30", "--lambda-k", "0.05", "--gamma-compare", "0.3",
             "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for name, gamma in (("train.jsonl", 0.5), ("gamma_0.3.jsonl", 0.3)):
        log = logs(out / name)
        ks = np.array([rec["k"] for rec in log])
        assert ks[0] == 0 and ks.max() > 0                 # k starts at 0 and the control moves it
        # k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z))), 0, 1), from the same step's logged losses
        for prev, cur in zip(log, log[1:]):
            want = prev["k"] + 0.05 * (gamma * prev["L_x"] - prev["L_Gz"])
            assert cur["k"] == pytest.approx(min(max(want, 0.0), 1.0), abs=1e-12)
            assert prev["M_global"] == pytest.approx(prev["L_x"] + abs(gamma * prev["L_x"] - prev["L_Gz"]), abs=1e-9)
            assert prev["loss_D"] == pytest.approx(prev["L_x"] - prev["k"] * prev["L_Gz"], rel=1e-4, abs=1e-6)
        assert ks.max() > 0.01                                       # the control did move k


def test_began_equilibrium_state_round_trips():
    eq = Equilibrium(0.5, lambda_k=0.1)                      # the lesson's k_t holder, in loss_chapter
    assert eq.update(1.0, 0.2) == pytest.approx(0.03) and eq.update(0.0, 5.0) == 0.0    # clipped at 0
    eq.k = 0.123456789012345
    again = Equilibrium(0.5)
    again.load_state_dict(json.loads(json.dumps(eq.state_dict())))
    assert again.k == eq.k


def test_began_rejects_bad_gammas(data_env, tmp_path):
    for flags, name in ((["--gamma", "1.5"], "--gamma"), (["--gamma-compare", "0.5"], "--gamma-compare"),
                        (["--lambda-k", "-1"], "--lambda-k")):
        r = run([LESSON, "--quick", *flags, "--out", str(tmp_path / "o")], data_env, tmp_path)
        assert r.returncode == 2 and name in r.stderr and "Traceback" not in r.stderr, r.stderr[-1000:]


class Counter:
    """A resumable object for fit_gan's ``state=``: counts the steps it saw."""

    def __init__(self):
        self.n = 0

    def state_dict(self):
        return {"n": self.n}

    def load_state_dict(self, state):
        self.n = int(state["n"])


def test_fit_gan_checkpoints_extra_state_under_its_name(tmp_path):
    tg.manual_seed(0)
    G = nn.Linear(2, 3)
    opt = optim.SGD(G.parameters(), lr=0.1)
    data = np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32)
    counter = Counter()

    def step(next_batch):
        counter.n += 1
        loss = (G(next_batch()) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    run_dir = RunDir(str(tmp_path))
    gif = SampleGif(run_dir.file("g.gif"), G, tg.randn(4, 2), render=lambda x: np.zeros((4, 4, 3), np.uint8))
    fit_gan(step, Batches(data, batch_size=4, seed=0), run_dir, {"G": G}, {"G": opt}, gif, steps=4,
            sample_every=2, checkpoint_every=2, print_every=1, state={"counter": counter}, name="stage")
    assert (tmp_path / "stage.npz").exists() and (tmp_path / "stage.jsonl").exists()
    assert not (tmp_path / "train.npz").exists()
    counter.n = -1
    fit_gan(step, Batches(data, batch_size=4, seed=0), run_dir, {"G": G}, {"G": opt}, gif, steps=6,
            sample_every=2, checkpoint_every=2, resume=True, print_every=1, state={"counter": counter}, name="stage")
    assert counter.n == 6                                            # restored to 4, then two more steps
    assert len(gif.frames) == 3                                      # frames of steps 2, 4 restored; then 6

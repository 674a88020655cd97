"""Lesson 23 (the GAN hacks, measured): each switch of the networks, the targets and z, the training step
recomputed from the same draws for every hack that changes it (D's and G's losses and gradients, the
mixed BatchNorm batch, the replay buffer, the adaptive schedule's count, the EMA), the table against
study.json, the outputs of --quick, resume and flag errors; and the workbench's ImagePool and
hack_effects on hand-made cases. The lesson's own code is run cell by cell (CELL_RUNNER)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygen as tg
from conftest import CELL_RUNNER, assert_flag_error, run  # noqa: E402
from tinygen.utils.hacks import ImagePool, effects_table, hack_effects

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "23_gan_hacks.py")
TESTS = os.path.dirname(os.path.abspath(__file__))


def in_lesson(check, data_env, tmp_path, flags=()):
    """Run the lesson's cells with --quick (and ``flags``), then ``check`` in its namespace."""
    check = f"import sys\nsys.path.insert(0, {TESTS!r})\n" + check
    runner = CELL_RUNNER.replace('"--quick", "--out", out]', f'"--quick", *{list(flags)!r}, "--out", out]')
    r = subprocess.run([sys.executable, "-c", runner, LESSON, str(tmp_path / "cells"), check],
                       env=data_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout, tmp_path / "cells"


# ---------------------------------------------------------------- the networks, the targets, z
MODELS = r"""
import numpy as np
import tinygen as tg
from tinygen import nn
kinds = lambda m: [type(x).__name__ for x in m.modules() if not x._modules]
for name in HACKS:
    if HACKS[name][2] is None:
        continue
    h = {**BASE, **HACKS[name][2]}
    G, D = make_models(h, 0)
    x = G(tg.randn(5, args.z_dim)).numpy()
    assert x.shape == (5, 1, 28, 28) and D(tg.randn(5, 1, 28, 28)).shape == (5, 1), name
    g, d = kinds(G), kinds(D)
    assert g[-1] == ("Sigmoid" if name == "sigmoid" else "Tanh"), (name, g)
    assert ("PixelShuffle" in g) == (name == "pixelshuffle") and ("Upsample" in g) == (name == "nearest_conv"), name
    assert ("MaxPool2d" in d) == (name == "maxpool") and ("AvgPool2d" in d) == (name == "avgpool"), name
    assert d.count("ReLU") == (2 if name == "relu_d" else 0) and d.count("LeakyReLU") == (0 if name == "relu_d" else 2)
    assert (x.min() >= 0) == (name == "sigmoid"), name
# The baseline is lesson 12's DCGAN at lesson 19's widths: the workbench's copy, weight for weight.
from tinygen.utils.gan_models import dcgan_critic, dcgan_generator
G, D = make_models(BASE, 3)
for mine, ref in ((G, dcgan_generator(args.z_dim, args.g_width)), (D, dcgan_critic(args.d_width))):
    assert kinds(mine) == kinds(ref)
    assert [p.shape for p in mine.parameters()] == [p.shape for p in ref.parameters()]
# DCGAN's init: conv weights N(0, 0.02).
w = G[1].weight.numpy()
assert abs(w.std() - 0.02) < 0.003 and abs(w.mean()) < 0.003
# The targets and z.
t = lambda labels, real: targets({**BASE, "labels": labels}, 4000, real).numpy().ravel()
assert (t("hard", True) == 1).all() and (t("hard", False) == 0).all()
assert np.allclose(t("one-sided", True), 0.9) and (t("one-sided", False) == 0).all()
tr, tf = t("noisy", True), t("noisy", False)
assert 0.7 <= tr.min() and tr.max() <= 1.2 and abs(tr.mean() - 0.95) < 0.01 and tr.std() > 0.1
assert 0 <= tf.min() and tf.max() <= 0.3 and abs(tf.mean() - 0.15) < 0.01
zu, zn = draw_z({**BASE, "z": "uniform"}, 400).numpy(), draw_z(BASE, 400).numpy()
assert -1 <= zu.min() and zu.max() <= 1 and abs(zu.var() - 1 / 3) < 0.01 and abs(zn.var() - 1) < 0.02
print("MODELS OK")
"""

# ---------------------------------------------------------------- the step, recomputed from the same draws
STEP = r"""
import copy
import numpy as np
import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn
from tinygen.utils.ema import EMA
from tinygen.utils.hacks import ImagePool
from conftest import RecordingOptimizer

class Spy(nn.Module):
    # D as it is, recording the batch size of every call
    def __init__(self, inner):
        super().__init__()
        self.inner, self.sizes = inner, []
    def forward(self, x):
        self.sizes.append(x.shape[0])
        return self.inner(x)

bce = F.binary_cross_entropy_with_logits
rng = np.random.default_rng(0)
batches = [tg.tensor(rng.uniform(-1, 1, (args.batch_size, 1, 28, 28)).astype(np.float32)) for _ in range(6)]

def one_step(name, D_inner=None, seed=5, pool=None):
    h = {**BASE, **HACKS[name][2]}
    G, D = make_models(h, 1)
    D = Spy(D_inner or D)
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D.inner)
    optG, optD = RecordingOptimizer(G.parameters()), RecordingOptimizer(D.parameters())
    ema, it = EMA(G, beta=0.999), iter(batches)
    tg.manual_seed(seed)
    logs = make_step(h, G, D, optG, optD, ema, pool)(lambda: next(it))
    return dict(h=h, G0=G0, D0=D0, D=D, optG=optG, optD=optD, sizes=D.sizes, logs=logs, ema=ema)

def grads(model, loss):
    return [g.numpy() for g in tg.autograd.grad(loss, list(model.parameters()))]

n = args.batch_size
for name in ("baseline", "sigmoid", "uniform_z", "smooth_0.9", "noisy_labels", "mixed_bn", "replay"):
    pool = None
    if name == "replay":                                # a full buffer of known images, and its twin
        pool = ImagePool(2 * n, seed=3)
        pool.mix(tg.tensor(rng.uniform(-1, 1, (2 * n, 1, 28, 28)).astype(np.float32)))
        twin = copy.deepcopy(pool)
    r = one_step(name, pool=pool)
    h, G0, D0, logs = r["h"], r["G0"], r["D0"], r["logs"]
    tg.manual_seed(5)                                   # the same draws, in the lesson's order
    real = (batches[0] + 1) / 2 if name == "sigmoid" else batches[0]
    with tg.no_grad():
        fake = G0(draw_z(h, n))
    if name == "replay":
        fake = twin.mix(fake)
        assert not np.allclose(fake.numpy()[n // 2:], G0.eval()(tg.zeros(1, 100)).numpy()[0]) and G0.train()
    t_real, t_fake = targets(h, n, True), targets(h, n, False)
    if name == "mixed_bn":
        out = D0(tg.cat([real, fake]))
        lr, lf = out[:n], out[n:]
    else:
        lr, lf = D0(real), D0(fake)
    loss_D = bce(lr, t_real) + bce(lf, t_fake)
    assert abs(logs["loss_D"] - loss_D.item()) < 1e-5, (name, logs, loss_D.item())
    for g, want in zip(r["optD"].seen[0], grads(D0, loss_D)):
        assert np.allclose(g, want, atol=1e-6), name
    fake2 = G0(draw_z(h, n))
    lf2 = D0(tg.cat([real, fake2]))[n:] if name == "mixed_bn" else D0(fake2)
    loss_G = bce(lf2, tg.ones(n, 1))
    assert abs(logs["loss_G"] - loss_G.item()) < 1e-5, (name, logs, loss_G.item())
    for g, want in zip(r["optG"].seen[0], grads(G0, loss_G)):
        assert np.allclose(g, want, atol=1e-6), name
    # G's step leaves D's gradients as D's own step left them (D frozen), and D trainable again.
    for p, g in zip(r["D"].parameters(), r["optD"].seen[0]):
        assert p.requires_grad and np.array_equal(p.grad.numpy(), g), name
    assert len(r["optD"].seen) == 1 and logs["d_steps"] == 1 and r["ema"].num_updates == 1
    assert r["sizes"] == ([2 * n, 2 * n] if name == "mixed_bn" else [n, n, n]), (name, r["sizes"])  # BN's batches
print("STEP OK")

# The adaptive schedule: D's loss near chance (1.386 > 1.2) repeats D's step, at most 5 times ...
r = one_step("adaptive_d")
assert r["logs"]["d_steps"] == 5 and len(r["optD"].seen) == 5 and len(r["optG"].seen) == 1, r["logs"]
assert r["sizes"] == [n, n] * 5 + [n]
# ... and a D that already separates real from fake (loss < 1.2) gets one step.
class Oracle(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(tg.tensor([40.0]))
    def forward(self, x):
        return (x.mean(dim=(1, 2, 3)) - 0.9).view(-1, 1) * self.a  # real batches of ones score +4
batches = [tg.ones(n, 1, 28, 28)] * 6
r = one_step("adaptive_d", D_inner=Oracle())
assert r["logs"]["d_steps"] == 1 and r["logs"]["loss_D"] < 1.2, r["logs"]
assert one_step("baseline", D_inner=Oracle())["logs"]["d_steps"] == 1
print("SCHEDULE OK")
"""


def test_networks_targets_and_z(data_env, tmp_path):
    out, _ = in_lesson(MODELS, data_env, tmp_path)
    assert "MODELS OK" in out


def test_training_step_recomputed_for_every_hack_that_changes_it(data_env, tmp_path):
    out, _ = in_lesson(STEP, data_env, tmp_path, flags=("--hacks", "baseline"))
    assert "STEP OK" in out and "SCHEDULE OK" in out


# ---------------------------------------------------------------- the outputs of --quick, the table, resume
@pytest.fixture(scope="module")
def quick(data_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hacks")
    out = tmp / "run"
    r = run([LESSON, "--quick", "--seeds", "0,1", "--out", str(out)], data_env, tmp)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out, r, tmp


def test_quick_outputs_and_table(quick):
    out, r, _ = quick
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ("table.md", "study.json", "sheets.png", "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    runs = json.load(open(out / "study.json"))["runs"]
    hacks = ["baseline", "sigmoid", "uniform_z", "mixed_bn", "sgd_d", "smooth_0.9", "noisy_labels", "replay",
             "relu_d", "maxpool", "avgpool", "pixelshuffle", "nearest_conv", "adaptive_d", "ema_g"]
    assert sorted((x["hack"], x["seed"]) for x in runs) == sorted((k, s) for k in hacks for s in (0, 1))
    fid = {(x["hack"], x["seed"]): x["fid"] for x in runs}
    for x in runs:
        assert json.load(open(out / f"{x['hack']}_s{x['seed']}" / "result.json")) == x
        assert np.load(out / f"{x['hack']}_s{x['seed']}" / "grid.npy").shape == (16, 1, 28, 28)
        counts = np.array(x["class_histogram"]) * 50
        assert np.allclose(counts, np.round(counts)) and round(counts.sum()) == 50
    for s in (0, 1):                                            # the EMA is scored on the baseline's run
        assert fid[("ema_g", s)] != fid[("baseline", s)]
        assert not (out / f"ema_g_s{s}" / "train.npz").exists()
    assert json.load(open(out / "adaptive_d_s0" / "result.json"))["d_steps_mean"] > 1
    rows = {line.split("|")[1].strip(): line.split("|") for line in open(out / "table.md") if line.startswith("| ")}
    removes = {"sigmoid", "uniform_z", "mixed_bn", "relu_d", "maxpool"}
    for k in hacks[1:]:
        effect = np.mean([(fid[(k, s)] - fid[("baseline", s)]) * (1 if k in removes else -1) for s in (0, 1)])
        assert float(rows[k][4]) == pytest.approx(round(effect, 1), abs=0.051), (k, rows[k])
    order = [line.split("|")[1].strip() for line in open(out / "table.md") if line.startswith("| ")][2:]
    effects = [float(rows[k][4]) for k in order[1:]]
    assert order[0] == "baseline" and effects == sorted(effects, reverse=True)       # sorted by effect


def test_resume_skips_finished_runs_and_flag_errors(quick, data_env):
    out, _, tmp = quick
    before = (out / "replay_s1" / "result.json").read_text()
    r = run([LESSON, "--quick", "--seeds", "0,1", "--resume", "--out", str(out)], data_env, tmp)
    assert r.returncode == 0 and "[replay seed 1] finished, skipped" in r.stdout, r.stderr[-2000:]
    assert (out / "replay_s1" / "result.json").read_text() == before
    assert_flag_error(LESSON, ["--hacks", "replay"], "--hacks: expected distinct names", data_env, tmp)
    assert_flag_error(LESSON, ["--hacks", "baseline,dropout"], "--hacks: expected distinct names", data_env, tmp)


# ---------------------------------------------------------------- the workbench
def test_image_pool_fills_then_swaps_half_and_resumes():
    pool = ImagePool(4, seed=0)
    a = np.arange(4, dtype=np.float32).reshape(4, 1, 1, 1)
    assert np.array_equal(pool.mix(tg.tensor(a)).numpy(), a) and np.array_equal(pool.images, a)   # filling
    b = a + 10
    out = pool.mix(tg.tensor(b)).numpy().ravel()
    assert list(out[:2]) == [10, 11] and set(out[2:]) <= {0, 1, 2, 3} and len(set(out[2:])) == 2   # half old
    assert sorted(pool.images.ravel()).count(12) + sorted(pool.images.ravel()).count(13) == 2      # half in
    state = pool.state_dict()
    twin = ImagePool(4, seed=9)
    twin.load_state_dict(state)
    c = tg.tensor(a + 20)
    assert np.array_equal(pool.mix(c).numpy(), twin.mix(c).numpy())
    with pytest.raises(ValueError, match="capacity: expected an int >= 1, got 0"):
        ImagePool(0)


def test_hack_effects_by_hand():
    runs = [{"hack": h, "seed": s, "fid": f, "inception_score": 2.0, "class_histogram": [0.1] * 10}
            for h, s, f in [("baseline", 0, 40), ("baseline", 1, 42), ("plus", 0, 35), ("plus", 1, 41),
                            ("minus", 0, 50), ("minus", 1, 41), ("off", 0, 45), ("off", 1, 47)]]
    hacks = {"baseline": ("b", False), "plus": ("adds", False), "minus": ("adds", False), "off": ("removes", True)}
    rows = hack_effects(runs, hacks)
    got = {r["hack"]: (r["effect"], r["verdict"]) for r in rows}
    assert got["plus"] == ([5, 1], "helps")                       # 40 - 35, 42 - 41
    assert got["off"] == ([5, 5], "helps")                        # removing it costs 5: the hack helps
    assert got["minus"] == ([-10, 1], "within the seed spread")
    assert [r["hack"] for r in rows] == ["baseline", "off", "plus", "minus"]
    assert "| plus | adds | 38.0 [35.0, 41.0] | +3.0 |" in effects_table(rows)
    one = hack_effects([runs[0], runs[2]], hacks)
    assert one[1]["verdict"] == "one seed: helps"
    with pytest.raises(ValueError, match="no 'baseline' run"):
        hack_effects(runs[2:], hacks)

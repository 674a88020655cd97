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
    z = tg.randn(5, args.z_dim)
    x = G(z).numpy()
    assert x.shape == (5, 1, 28, 28) and D(tg.randn(5, 1, 28, 28)).shape == (5, 1), name
    g, d = kinds(G), kinds(D)
    assert g[-1] == ("Sigmoid" if name == "sigmoid" else "Tanh"), (name, g)
    assert ("PixelShuffle" in g) == (name == "pixelshuffle") and ("Upsample" in g) == (name == "nearest_conv"), name
    assert ("MaxPool2d" in d) == (name == "maxpool") and ("AvgPool2d" in d) == (name == "avgpool"), name
    assert d.count("ReLU") == (2 if name == "relu_d" else 0) and d.count("LeakyReLU") == (0 if name == "relu_d" else 2)
    pre = G[:-1](z).numpy().astype(np.float64)          # the output layer maps the last pre-activation
    want = 1 / (1 + np.exp(-pre)) if name == "sigmoid" else np.tanh(pre)
    assert np.allclose(x, want, atol=1e-6) and (x.min() >= 0) == (name == "sigmoid"), name
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


# ---------------------------------------------------------------- proposed by bug planting (survivors)
MODELS_DETAIL = r"""
import numpy as np
from tinygen import nn
for name in ("baseline", "relu_d", "maxpool", "avgpool", "pixelshuffle", "nearest_conv"):
    h = {**BASE, **HACKS[name][2]}
    G, D = make_models(h, 0)
    # LeakyReLU(0.2) as DCGAN (Radford et al. 2015, section 3)
    assert [m.negative_slope for m in D.modules() if type(m).__name__ == "LeakyReLU"] == \
        ([] if name == "relu_d" else [0.2, 0.2]), name
    # nearest upsampling (Odena et al. 2016's resize-conv), not bilinear
    assert [m.mode for m in G.modules() if type(m).__name__ == "Upsample"] == \
        (["nearest", "nearest"] if name == "nearest_conv" else []), name
    # the pooling and the upsampling runs use 3x3 convs, padding 1 (PixelShuffle's conv has 4 C_out channels)
    w = args.g_width
    convs = [tuple(m.weight.shape) for m in G.modules() if type(m).__name__ == "Conv2d"]
    want = {"pixelshuffle": [(4 * w, 2 * w, 3, 3), (4, w, 3, 3)], "nearest_conv": [(w, 2 * w, 3, 3), (1, w, 3, 3)]}
    assert convs == want.get(name, []), (name, convs)
    d_convs = [tuple(m.weight.shape[-2:]) for m in D.modules() if type(m).__name__ == "Conv2d"]
    assert d_convs == ([(3, 3), (3, 3), (7, 7)] if name in ("maxpool", "avgpool") else [(4, 4), (4, 4), (7, 7)]), name
print("DETAIL OK")
"""


def test_network_details(data_env, tmp_path):
    out, _ = in_lesson(MODELS_DETAIL, data_env, tmp_path, flags=("--hacks", "baseline"))
    assert "DETAIL OK" in out


SCHEDULE_AND_EMA = r"""
import copy
import numpy as np
import tinygen as tg
from tinygen import nn, optim
from tinygen.utils.ema import EMA
from conftest import RecordingOptimizer

n = args.batch_size

class Scripted(nn.Module):
    # D whose k-th step has loss losses[k]: logit +c_k on the real batches (ones), -c_k on fakes,
    # so L_D = 2 softplus(-c_k), c_k = -log(expm1(losses[k] / 2)); its weight never moves (RecordingOptimizer)
    def __init__(self, losses):
        super().__init__()
        self.a = nn.Parameter(tg.tensor([1.0]))
        self.c, self.k = [float(-np.log(np.expm1(l / 2))) for l in losses], -1
    def forward(self, x):
        real = x.numpy().reshape(len(x), -1).min(1) > 0.999
        self.k += bool(real.all())
        s = np.where(real, 1.0, -1.0).astype(np.float32)[:, None] * self.c[min(self.k, len(self.c) - 1)]
        return tg.tensor(s) * self.a + 0 * x.mean(dim=(1, 2, 3)).view(-1, 1)   # a graph to G

def d_steps(losses):
    G, _ = make_models({**BASE, "schedule": "adaptive"}, 1)
    D = Scripted(losses)
    it = iter([tg.ones(n, 1, 28, 28)] * 8)
    logs = make_step({**BASE, "schedule": "adaptive"}, G, D, RecordingOptimizer(G.parameters()),
                     RecordingOptimizer(D.parameters()), EMA(G), None)(lambda: next(it))
    assert abs(logs["loss_D"] - losses[min(logs["d_steps"], len(losses)) - 1]) < 1e-4, (losses, logs)
    return logs["d_steps"]

# repeat while the latest loss_D > 1.2, at most 5 D steps
assert d_steps([1.15]) == 1 and d_steps([1.25, 1.19]) == 2 and d_steps([1.3, 1.25, 1.1, 1.5]) == 3
assert d_steps([1.3, 1.1, 1.3, 1.3]) == 2 and d_steps([1.3] * 7) == 5

# EMA: updated after G's optimizer step; the first update's warm-up decay is min(0.999, 1/10) = 0.1
G, D = make_models(BASE, 1)
G0 = copy.deepcopy(G)
ema, it = EMA(G, beta=0.999), iter([tg.ones(n, 1, 28, 28)] * 4)
make_step(BASE, G, D, optim.SGD(G.parameters(), lr=0.5), RecordingOptimizer(D.parameters()), ema, None)(
    lambda: next(it))
moved = 0
for a, p0, p1 in zip(ema.module.parameters(), G0.parameters(), G.parameters()):
    moved += not np.allclose(p0.numpy(), p1.numpy())
    assert np.allclose(a.numpy(), 0.1 * p0.numpy() + 0.9 * p1.numpy(), atol=1e-6)
assert moved > 0
print("SCHEDULE2 OK")
"""


def test_adaptive_schedule_threshold_and_ema_update(data_env, tmp_path):
    out, _ = in_lesson(SCHEDULE_AND_EMA, data_env, tmp_path, flags=("--hacks", "baseline"))
    assert "SCHEDULE2 OK" in out


RUN_SETUP = r"""
import numpy as np
import tinygen as tg
import tinygen.optim as O
from tinygen.utils import ema as ema_module, gan, hacks

made, scored = [], []
def spy(cls):
    def make(params, **kw):
        params = list(params)
        made.append((cls.__name__, [tuple(p.shape) for p in params], kw))
        return cls(params, **kw)
    return make
optim.SGD, optim.Adam = spy(O.SGD), spy(O.Adam)
emas, pools = [], []
def EMA(model, **kw):
    emas.append(ema_module.EMA(model, **kw))
    return emas[-1]
def ImagePool(capacity, seed):
    pools.append(hacks.ImagePool(capacity, seed))
    return pools[-1]
def closing_scores(G, z, to_images=None):
    scored.append((G, z.numpy(), to_images))
    return gan.closing_scores(G, z, to_images=to_images)
args.resume, names = False, list(HACKS)
shapes = lambda m: [tuple(p.shape) for p in m.parameters()]
adam = {"lr": 2e-4, "betas": (0.5, 0.999)}
for name in ("baseline", "sgd_d", "replay", "sigmoid", "uniform_z"):
    made.clear(), scored.clear(), emas.clear(), pools.clear()
    train_and_score(name, 0)
    G, D = make_models({**BASE, **HACKS[name][2]}, 0)
    # Adam 2e-4, beta1 0.5 for G; SGD lr 0.01 for D in sgd_d (ganhacks #9), else the same Adam
    assert made == [("Adam", shapes(G), adam), ("SGD", shapes(D), {"lr": 0.01}) if name == "sgd_d"
                    else ("Adam", shapes(D), adam)], (name, made)
    assert [e.beta for e in emas] == [0.999], name
    assert [p.capacity for p in pools] == ([640] if name == "replay" else []), name
    assert scored[0][0] is not emas[0].module and len(scored) == (2 if name == "baseline" else 1)
    if name == "baseline":                                   # the ema_g run: the average, same z, same range
        assert scored[1][0] is emas[0].module and np.array_equal(scored[1][1], scored[0][1])
    z, to_images = scored[0][1], scored[0][2]
    assert z.shape == (args.eval_samples, args.z_dim)
    if name == "uniform_z":                                  # scored with the z it was trained on
        assert -1 <= z.min() and z.max() <= 1 and abs(z.var() - 1 / 3) < 0.03
    else:
        assert abs(z.var() - 1) < 0.06 and z.min() < -2
    if name == "sigmoid":                                    # sigmoid's [0, 1] scored in [-1, 1]
        assert to_images is not None and np.allclose(to_images(np.array([0.0, 0.25, 1.0])), [-1.0, -0.5, 1.0])
    else:
        assert to_images is None, name
print("SETUP OK")
"""


def test_optimizers_ema_pool_and_scoring_of_each_run(data_env, tmp_path):
    out, _ = in_lesson(RUN_SETUP, data_env, tmp_path, flags=("--hacks", "baseline"))
    assert "SETUP OK" in out


def test_image_pool_fills_over_batches_and_odd_batches():
    pool = ImagePool(6, seed=0)
    a = np.arange(4, dtype=np.float32).reshape(4, 1, 1, 1)
    for k in range(2):                                           # 4 + 4 images: the first 6 kept, all returned
        assert np.array_equal(pool.mix(tg.tensor(a + 10 * k)).numpy(), a + 10 * k)
    assert pool.images.ravel().tolist() == [0, 1, 2, 3, 10, 11]
    c = np.arange(20, 25, dtype=np.float32).reshape(5, 1, 1, 1)  # odd batch: 3 current (rounded up), 2 old
    out = pool.mix(tg.tensor(c)).numpy().ravel()
    assert out[:3].tolist() == [20, 21, 22] and set(out[3:]) <= {0, 1, 2, 3, 10, 11}
    assert sorted(set(pool.images.ravel()) - {0, 1, 2, 3, 10, 11}) == [23, 24]
    for seed in range(20):                                       # old images drawn without replacement
        pool = ImagePool(4, seed=seed)
        pool.mix(tg.tensor(a))
        assert len(set(pool.mix(tg.tensor(a + 10)).numpy().ravel()[2:])) == 2, seed


def test_effects_table_row_and_pairing_by_seed():
    hist = lambda low: [low] + [(1 - low) / 9] * 9
    runs = [{"hack": h, "seed": s, "fid": f, "inception_score": i, "class_histogram": hist(low)}
            for h, s, f, i, low in [("baseline", 0, 40, 2.0, 0.08), ("baseline", 1, 42, 2.2, 0.08),
                                    ("plus", 0, 35, 2.5, 0.04), ("plus", 1, 41, 2.7, 0.06),
                                    ("zero", 0, 40, 2.0, 0.1), ("zero", 1, 39, 2.0, 0.1)]]
    hacks = {"baseline": ("b", False), "plus": ("adds", False), "zero": ("adds", False)}
    rows = hack_effects(runs, hacks)
    assert "| plus | adds | 38.0 [35.0, 41.0] | +3.0 | 2.60 | 5.0 % | helps |\n" in effects_table(rows)
    assert "| baseline | b | 41.0 [40.0, 42.0] | +0.0 | 2.10 | 8.0 % | baseline |\n" in effects_table(rows)
    assert {r["hack"]: r["verdict"] for r in rows}["zero"] == "within the seed spread"   # effects [0, 3]
    flip = hack_effects(runs[::-1], hacks)                                # pairing by seed, not by position
    assert [(r["hack"], r["seeds"], r["effect"]) for r in flip] == [(r["hack"], r["seeds"], r["effect"]) for r in rows]


def test_one_seed_tie_is_no_change():
    tie = [{"hack": h, "seed": 0, "fid": 40.0, "inception_score": 2.0, "class_histogram": [0.1] * 10}
           for h in ("baseline", "tie")]
    assert hack_effects(tie, {"baseline": ("b", False), "tie": ("adds", False)})[1]["verdict"] == "one seed: no change"

"""Lesson 22 (StyleGAN): the synthesis network (the constant, the noise, AdaIN), style mixing, the
style-mixing figure's layer groups, the truncation trick and the moving average of w, the training step
(non-saturating loss, lazy R1, D frozen in G's step, the EMA), the ablation flags, the outputs, resume
bit for bit, --compare and flag errors. The lesson's own code is run cell by cell (CELL_RUNNER).

A --quick run of the lesson costs about 20 s on 2 cores, so the checks of its definitions share one
run (a module fixture) and report section by section; that run's folder is also the reference for
the outputs, resume and --compare tests."""
import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from conftest import CELL_RUNNER, assert_flag_error, run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "22_stylegan.py")
QUICK = ["--export-samples", "10", "--eval-samples", "64"]   # a --compare folder too; a lighter closing evaluation


def in_lesson(check, data_env, tmp_path, flags=()):
    """Run the lesson's cells with --quick (and ``flags``), then ``check`` in its namespace; fails with
    its output. Returns (stdout, the run's --out folder)."""
    check = f"import sys\nsys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n" + check
    runner = CELL_RUNNER.replace('"--quick", "--out", out]', f'"--quick", *{list(flags)!r}, "--out", out]')
    assert runner != CELL_RUNNER or not flags
    r = subprocess.run([sys.executable, "-c", runner, LESSON, str(tmp_path / "cells"), check],
                       env=data_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout, tmp_path / "cells"


SECTIONS = r"""
import traceback
def section(name, code):
    try:
        exec(compile(code, f"<section {name}>", "exec"), globals())
        print(f"SECTION {name} OK")
    except BaseException:
        print(f"SECTION {name} FAILED\n" + traceback.format_exc() + f"END {name}")
"""

# ---------------------------------------------------------------- the lesson's definitions, in its namespace
RUN = r"""
import numpy as np
import tinygen as tg
assert sizes == [7, 14, 28] and L == 6 and widths == [64, 32, 16] and w_dim == args.w_dim == 128
assert G_ema.num_updates == args.steps == 4 and G_ema.module is Gs and sampler.G is Gs
assert [tuple(f.shape) for f in fixed] == [(1, 1, 7, 7)] * 2 + [(1, 1, 14, 14)] * 2 + [(1, 1, 28, 28)] * 2
kinds = {type(m).__name__ for m in G.modules()}
assert {"MappingNetwork", "AdaIN", "NoiseInjection", "EqualizedConv2d"} <= kinds and "Conv2d" not in kinds, kinds
assert type(G.convs[0]).__name__ == "Identity"
# The walks: a slerp from z0 to z1 and a lerp from w0 = f(z0) to w1 = f(z1) meet at both ends
# (f starts with a pixel norm, blind to |z|); in between they differ.
assert len(walks) == 4 and all(x.shape == (10, 1, 28, 28) for x in walks)
for a, b in ((walks[0], walks[1]), (walks[2], walks[3])):
    assert np.allclose(a[0], b[0], atol=1e-4) and np.allclose(a[-1], b[-1], atol=1e-4)
    assert not np.allclose(a[0], a[-1], atol=1e-2)
# The mixing figure: panel "fine", row i: A_i's w at layers 0-3, B's w at layers 4 and 5, the fixed noise.
assert list(mixes) == list(layer_groups(sizes)) and all(m.shape == (5, 6, 1, 28, 28) for m in mixes.values())
with tg.no_grad():
    a = wa[2:3].expand(6, -1)
    want = Gs.synthesis([a, a, a, a, wb, wb], fixed).clamp(-1, 1).numpy()
    want_coarse = Gs.synthesis([wb, wb, a, a, a, a], fixed).clamp(-1, 1).numpy()
assert np.allclose(mixes["fine (28x28)"][2], want, atol=1e-5)
assert np.allclose(mixes["coarse (7x7)"][2], want_coarse, atol=1e-5)
# Figure 4's draws: 4 w's, 100 noise draws each; the metric is the per-pixel std over the draws.
assert draws.shape == (4, 100, 1, 28, 28)
assert abs(metrics["noise"]["noise_std"] - draws.astype(np.float64).std(axis=1).mean()) < 1e-9
assert draws.std(axis=1).max() > 0                      # the noise does change the images
"""

SYNTHESIS = r"""
import numpy as np
import tinygen as tg
import tinygen.nn.functional as F
n = 3
with tg.no_grad():
    wl = [G.mapping(tg.randn(n, args.z_dim)) for _ in range(L)]           # a different style per layer
    noise_a = [tg.randn(n, 1, s, s) for s in sizes for _ in (0, 1)]
    noise_b = [tg.randn(n, 1, s, s) for s in sizes for _ in (0, 1)]
saved = [m.weight.data.copy() for m in G.noises]
rec = {}

def spy(mod, key):
    f = mod.forward
    def wrapped(*a, **k):
        out = f(*a, **k)
        rec[key] = (a, out)
        return out
    mod.forward = wrapped

def unspy(mod):
    mod.__dict__.pop("forward", None)

spied = [(G.convs[i], ("conv", i)) for i in range(L)] + [(G.adains[i], ("adain", i)) for i in range(L)] \
    + [(G.to_rgb, "rgb")]
try:
    # Noise weights zero: the noise changes nothing (given, other, or fresh draws).
    for m in G.noises:
        m.weight.data[...] = 0
    with tg.no_grad():
        ya = G.synthesis(wl, noise_a).numpy()
        assert np.array_equal(ya, G.synthesis(wl, noise_b).numpy()) and np.array_equal(ya, G.synthesis(wl).numpy())
    assert ya.shape == (n, 1, 28, 28)

    # The data flow, read off G's own modules: const -> [conv_i -> + noise_i -> LeakyReLU -> AdaIN_i] x L -> to_rgb.
    k = 3                                                          # one layer's noise switched on
    G.noises[k].weight.data[...] = np.linspace(0.5, 1.5, widths[k // 2]).astype(np.float32)
    G.noises[0].weight.data[...] = np.linspace(-1, 1, widths[0]).astype(np.float32)
    for mod, key in spied:
        spy(mod, key)
    with tg.no_grad():
        y = G.synthesis(wl, noise_a).numpy()
        styles_ = [G.adains[i].affine(wl[i]).numpy() for i in range(L)]
    const = np.broadcast_to(G.const.numpy(), (n, widths[0], 7, 7))
    assert np.array_equal(rec["conv", 0][0][0].numpy(), const)    # layer 0 starts from the learned constant
    assert np.array_equal(rec["conv", 0][1].numpy(), const)        # ... with no conv
    lrelu = lambda v: np.where(v > 0, v, 0.2 * v)
    for i in range(L):
        C, s = widths[i // 2], sizes[i // 2]
        conv_out = rec["conv", i][1].numpy()
        (x_in, w_in), out = rec["adain", i]
        x_in, out = x_in.numpy(), out.numpy()
        assert conv_out.shape == x_in.shape == out.shape == (n, C, s, s), (i, conv_out.shape, out.shape)
        assert np.array_equal(w_in.numpy(), wl[i].numpy())          # layer i's own style
        wn = G.noises[i].weight.numpy().reshape(1, C, 1, 1)
        assert np.allclose(x_in, lrelu(conv_out + wn * noise_a[i].numpy()), atol=1e-5), i
        # AdaIN: every feature map gets the style's bias as its mean and |scale| as its std over pixels.
        ys, yb = styles_[i][:, :C], styles_[i][:, C:]
        assert np.allclose(out.mean(axis=(2, 3)), yb, atol=1e-4), i
        assert np.allclose(out.std(axis=(2, 3)), np.abs(ys), rtol=1e-3, atol=1e-4), i
        nxt = rec["conv", i + 1][0][0] if i + 1 < L else rec["rgb"][0][0]
        assert np.array_equal(nxt.numpy(), out), i                 # AdaIN's output feeds the next layer
    assert np.array_equal(rec["rgb"][1].numpy(), y)
    # Layer 0 by hand from G's modules: AdaIN(LeakyReLU(const + noise weight * noise)), eps 1e-8.
    x0 = lrelu(const + G.noises[0].weight.numpy().reshape(1, -1, 1, 1) * noise_a[0].numpy()).astype(np.float64)
    mu, var = x0.mean(axis=(2, 3), keepdims=True), x0.var(axis=(2, 3), keepdims=True)
    C0 = widths[0]
    hand = (x0 - mu) / np.sqrt(var + 1e-8) * styles_[0][:, :C0, None, None] + styles_[0][:, C0:, None, None]
    assert np.allclose(rec["adain", 0][1].numpy(), hand, atol=1e-4)
    for mod, _ in spied:
        unspy(mod)

    # Only layers 0 and k have noise now: changing any other layer's noise image changes nothing,
    # changing layer k's changes the image, and layers before k are untouched.
    G.noises[0].weight.data[...] = 0
    with tg.no_grad():
        base = G.synthesis(wl, noise_a).numpy()
        others = [noise_b[j] if j != k else noise_a[j] for j in range(L)]
        assert np.array_equal(G.synthesis(wl, others).numpy(), base)
        only_k = [noise_b[j] if j == k else noise_a[j] for j in range(L)]
        for mod, key in spied:
            spy(mod, key)
        G.synthesis(wl, noise_a)
        before = {key: v[1].numpy().copy() for key, v in rec.items()}
        changed = G.synthesis(wl, only_k).numpy()
        after = {key: v[1].numpy().copy() for key, v in rec.items()}
    for mod, _ in spied:
        unspy(mod)
    assert not np.allclose(changed, base, atol=1e-4)
    for i in range(L):
        same = np.array_equal(before["adain", i], after["adain", i])
        assert same == (i < k), (i, same)
finally:
    for mod, _ in spied:
        unspy(mod)
    for m, w in zip(G.noises, saved):
        m.weight.data[...] = w
"""

STYLES = r"""
import numpy as np
import tinygen as tg
p = args.mixing_prob
try:
    args.mixing_prob = 0.0                                 # no mixing: one w at every layer, w = f(z)
    for s in range(4):
        tg.manual_seed(s)
        w, wl = styles(4)
        assert len(wl) == L and all(x is w for x in wl)
        tg.manual_seed(s)
        with tg.no_grad():
            assert np.allclose(G.mapping(tg.randn(4, args.z_dim)).numpy(), w.numpy(), atol=1e-6)
    args.mixing_prob = 1.0                                 # always: w1 before the cut, w2 from it on
    cuts = []
    for s in range(40):
        tg.manual_seed(1000 + s)
        w, wl = styles(4)
        assert len(wl) == L and np.array_equal(wl[0].numpy(), w.numpy())
        same = [np.array_equal(x.numpy(), w.numpy()) for x in wl]
        assert not all(same), "mixing probability 1, but one latent at every layer"
        cut = same.index(False)
        assert 1 <= cut <= L - 1, cut
        assert all(same[:cut]) and all(np.array_equal(x.numpy(), wl[cut].numpy()) for x in wl[cut:])
        assert np.abs(wl[cut].numpy() - w.numpy()).max(axis=1).min() > 1e-3     # w2 differs from w1 in every row
        cuts.append(cut)
    assert set(cuts) == set(range(1, L)), sorted(set(cuts))   # every cut in [1, L-1] occurs
    args.mixing_prob = 0.5
    mixed = 0
    for s in range(60):
        tg.manual_seed(2000 + s)
        w, wl = styles(2)
        mixed += not all(x is w for x in wl)
    assert 15 <= mixed <= 45, mixed
finally:
    args.mixing_prob = p
"""

DRAW = r"""
import numpy as np
import tinygen as tg
saved = [m.weight.data.copy() for m in Gs.noises]
try:
    for m in Gs.noises:                                    # make the noise visible
        m.weight.data[...] = 0.3
    with tg.no_grad():
        w, o = Gs.mapping(tg.randn(3, args.z_dim)), Gs.mapping(tg.randn(3, args.z_dim))
    syn = lambda lst: Gs.synthesis(lst, fixed).clamp(-1, 1).numpy()
    plain = draw(w)
    assert plain.shape == (3, 1, 28, 28) and np.array_equal(plain, syn([w] * L))   # Gs, the fixed noise, clipped
    assert np.array_equal(draw(w), plain) and not np.allclose(draw(w, noise=None), plain, atol=1e-4)
    by_hand = {"coarse (7x7)": [o, o, w, w, w, w], "middle (14x14)": [w, w, o, o, w, w],
               "fine (28x28)": [w, w, w, w, o, o]}
    groups = layer_groups(sizes)
    assert list(groups) == list(by_hand)
    for name, lst in by_hand.items():
        got = draw(w, other=o, group=groups[name])
        assert np.allclose(got, syn(lst), atol=1e-6), name
        assert not np.allclose(got, plain, atol=1e-3), name
    assert np.allclose(draw(w, other=o, group=range(L)), syn([o] * L), atol=1e-6)
finally:
    for m, v in zip(Gs.noises, saved):
        m.weight.data[...] = v
"""

TRUNCATION = r"""
import numpy as np
import tinygen as tg
saved = Gs.w_avg.data.copy()
try:
    Gs.synthesis = lambda ws, noise=None: type(Gs).synthesis(Gs, ws, fixed)   # fixed noise inside Gs(z)
    with tg.no_grad():
        avg = Gs.mapping(tg.randn(64, args.z_dim)).mean(dim=0)
        Gs.w_avg.data = avg.numpy().copy()                 # a w-bar well away from 0
        z = tg.randn(4, args.z_dim)
        w = Gs.mapping(z)
        syn = lambda v: Gs.synthesis([v] * L).numpy()
        Gs.psi = 0.0                                       # every z -> w-bar: one image
        y0 = Gs(z).numpy()
        assert np.allclose(y0, y0[:1], atol=1e-5)
        assert np.allclose(y0, syn(avg.reshape(1, -1).expand(4, -1)), atol=1e-5)
        Gs.psi = 1.0                                       # no truncation
        assert np.allclose(Gs(z).numpy(), syn(w), atol=1e-6)
        for psi in (0.7, 0.5):                             # w-bar + psi (w - w-bar)
            Gs.psi = psi
            want = syn(avg.reshape(1, -1) + psi * (w - avg.reshape(1, -1)))
            assert np.allclose(Gs(z).numpy(), want, atol=1e-5), psi
            assert not np.allclose(want, syn(w), atol=1e-3)
        assert np.allclose(sampler(z).numpy(), np.clip(want, -1, 1), atol=1e-5)   # the sampler truncates too
finally:
    Gs.psi = 1.0
    Gs.__dict__.pop("synthesis", None)
    Gs.w_avg.data = saved
"""

STEP = r"""
import numpy as np
import tinygen as tg
import tinygen.nn.functional as F
from tinygen.utils.gan import r1_penalty
from conftest import RecordingOptimizer

# The step, recomputed from the same draws (styles, then synthesis's fresh noise; R1 draws nothing),
# with recording optimisers, so G and D stay as they are. gamma 10 and k = 3 make the R1 term plain.
args.r1_gamma, args.r1_every, args.mixing_prob = 10.0, 3, 0.9
optD, optG = RecordingOptimizer(D.parameters()), RecordingOptimizer(G.parameters())
real = tg.tensor(np.random.default_rng(3).uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32))
G_ema.num_updates = 2                                  # the next step is t = 3: a lazy R1 step
ema_before = [p.numpy().copy() for p in G_ema.module.parameters()]
w_avg_before = G.w_avg.numpy().astype(np.float64)
b = G_ema.decay()
tg.manual_seed(21)
out = step(lambda: real)
assert set(out) == {"loss_D", "loss_G", "r1"}, out
assert G_ema.num_updates == 3                          # one EMA update per step
d_grads_after = [None if p.grad is None else p.grad.numpy().copy() for p in D.parameters()]
assert all(p.requires_grad for p in D.parameters())    # D is trainable again after G's step

tg.manual_seed(21)
with tg.no_grad():
    fake = G.synthesis(styles(4)[1])
d_fake, d_real = D(fake), D(real)
r1 = r1_penalty(D, real)
loss_D = F.softplus(d_fake).mean() + F.softplus(-d_real).mean() + 10.0 / 2 * 3 * r1
sp = lambda v: np.logaddexp(0, v.numpy().astype(np.float64))
want_D = sp(d_fake).mean() + sp(-d_real).mean() + 15 * r1.item()
assert 15 * r1.item() > 0.01, r1.item()
assert abs(out["r1"] - r1.item()) < 1e-5 * max(1, r1.item()), (out["r1"], r1.item())
assert abs(out["loss_D"] - want_D) < 1e-4 * max(1, abs(want_D)), (out["loss_D"], want_D)
for p in D.parameters():
    p.grad = None
loss_D.backward()
for got, after, p in zip(optD.seen[0], d_grads_after, D.parameters()):
    assert got is not None and np.allclose(got, p.grad.numpy(), rtol=1e-3, atol=1e-6)
    assert np.array_equal(got, after)                  # G's step added no gradient to D's parameters
w, wl = styles(4)
loss_G = F.softplus(-D(G.synthesis(wl))).mean()
assert abs(out["loss_G"] - loss_G.item()) < 1e-4 * max(1, abs(loss_G.item())), (out["loss_G"], loss_G.item())
for p in G.parameters():
    p.grad = None
loss_G.backward()
for got, p in zip(optG.seen[0], G.parameters()):
    assert (got is None) == (p.grad is None)
    assert got is None or np.allclose(got, p.grad.numpy(), rtol=1e-3, atol=1e-6)
# w-bar <- 0.995 w-bar + 0.005 mean(w) of G's step, and the averaged copy carries it.
want_avg = 0.995 * w_avg_before + 0.005 * w.numpy().astype(np.float64).mean(axis=0)
assert np.allclose(G.w_avg.numpy(), want_avg, atol=1e-6), np.abs(G.w_avg.numpy() - want_avg).max()
assert np.array_equal(G_ema.module.w_avg.numpy(), G.w_avg.numpy())
# The EMA: avg <- b avg + (1 - b) param (G unchanged by the recording optimiser).
for a0, a1, p in zip(ema_before, G_ema.module.parameters(), G.parameters()):
    assert np.allclose(a1.numpy(), b * a0 + (1 - b) * p.numpy(), atol=1e-6)

# t = 4: 4 % 3 != 0, no R1 and none in the loss.
tg.manual_seed(22)
out = step(lambda: real)
assert "r1" not in out and G_ema.num_updates == 4, out
tg.manual_seed(22)
with tg.no_grad():
    fake = G.synthesis(styles(4)[1])
    want_D = sp(D(fake)).mean() + sp(-D(real)).mean()
assert abs(out["loss_D"] - want_D) < 1e-4 * max(1, abs(want_D)), (out["loss_D"], want_D)
"""


@pytest.fixture(scope="module")
def quick(data_env, tmp_path_factory):
    """One --quick run of the lesson (4 steps, R1 at steps 2 and 4), then each section of checks in
    its namespace, in order (each restores what it changes). Returns (stdout, the run's folder)."""
    tmp = tmp_path_factory.mktemp("quick")
    check = SECTIONS + "".join(f"section({name!r}, {code!r})\n" for name, code in
                               (("run", RUN), ("synthesis", SYNTHESIS), ("styles", STYLES), ("draw", DRAW),
                                ("truncation", TRUNCATION), ("step", STEP)))
    return in_lesson(check, data_env, tmp, QUICK)


@pytest.mark.parametrize("name", ["run", "synthesis", "styles", "draw", "truncation", "step"])
def test_lesson_definitions(name, quick):
    """run: the walks, the mixing figure and the noise draws; synthesis: the constant, noise per layer,
    LeakyReLU then AdaIN; styles: mixing; draw: a group of layers takes `other`; truncation: psi and
    w-bar; step: the losses, lazy R1, D frozen in G's step, w-bar and the EMA."""
    out, _ = quick
    if f"SECTION {name} OK" not in out:
        start = out.find(f"SECTION {name} FAILED")
        pytest.fail(out[start:out.find(f"END {name}", start)] if start >= 0 else out[-3000:])


def test_quick_run_outputs(quick):
    _, folder = quick
    for name in ("training.gif", "losses.png", "samples.png", "style_mixing.png", "noise.png", "truncation.png",
                 "interpolation.png", "metrics.json", "train.jsonl", "train.npz", "samples.npy"):
        assert (folder / name).stat().st_size > 0, name
    log = [json.loads(line) for line in open(folder / "train.jsonl")]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert ["r1" in r for r in log] == [False, True, False, True]          # lazy R1, --quick's r1_every 2
    assert all(r["r1"] > 0 for r in log if "r1" in r)
    m = json.load(open(folder / "metrics.json"))
    assert m["steps"] == 4 and m["mixing_prob"] == 0.9 and m["r1_gamma"] == 10
    assert m["no_mapping"] is False and m["no_noise"] is False
    for psi in ("psi_1", "psi_0.7", "psi_0.5", "psi_0"):
        s = m[psi]
        counts = np.array(s["class_histogram"]) * 64                      # whole counts of the 64 scored samples
        assert s["n"] == 64 and len(counts) == 10 and np.allclose(counts, np.round(counts), atol=1e-6), psi
        assert round(counts.sum()) == 64, psi
    assert m["fid"] == m["psi_1"]["fid"] and m["inception_score"] == m["psi_1"]["inception_score"]
    assert m["psi_0"]["fid"] != m["psi_1"]["fid"]
    assert set(m["ppl"]) == {"z", "w"} and all(np.isfinite(v) and v > 0 for v in m["ppl"].values())
    assert set(m["noise"]) == {"noise_std", "style_std", "noise_edge_corr"}
    assert m["noise"]["noise_std"] > 0 and m["noise"]["style_std"] > 0 and -1 <= m["noise"]["noise_edge_corr"] <= 1
    samples = np.load(folder / "samples.npy")
    assert samples.shape == (10, 1, 28, 28) and -1 <= samples.min() and samples.max() <= 1
    assert iio.imread(folder / "training.gif", index=None).shape[:3] == (2, 242, 242)      # steps 2 and 4
    assert iio.imread(folder / "style_mixing.png").shape[:2] == (320, 1020)                # three panels
    assert iio.imread(folder / "truncation.png").shape[0] == 5 + 4 * 88                    # one row per psi


def test_resume_is_bit_for_bit(quick, data_env, tmp_path):
    """4 steps in one go (the reference run) = 2 steps, stop, resume to 4: the same log, weights and metrics.
    The stopped run's evaluation is cut short; it happens after its checkpoint and changes nothing."""
    _, ref = quick
    b = tmp_path / "b"
    r = run([LESSON, "--quick", *QUICK, "--steps", "2", "--psi", "1", "--ppl-samples", "2", "--eval-samples", "16",
             "--out", str(b)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    r = run([LESSON, "--quick", *QUICK, "--resume", "--out", str(b)], data_env, tmp_path)
    assert r.returncode == 0 and "[train] resumed at step 2" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    assert [json.loads(line) for line in open(b / "train.jsonl")] == \
        [json.loads(line) for line in open(ref / "train.jsonl")]
    with np.load(ref / "train.npz") as x, np.load(b / "train.npz") as y:
        assert sorted(x.files) == sorted(y.files) and {"model/G/w_avg", "extra/ema.module.const"} <= set(x.files)
        for k in x.files:
            if k != "meta":                                  # weights, Adam, the EMA, the GIF: identical
                assert np.array_equal(x[k], y[k]), k
        meta = [json.loads(bytes(f["meta"].astype(np.uint8)).decode()) for f in (x, y)]
    for mt in meta:                                          # step, RNG, data order, EMA count; not the clock
        mt["extra"].pop("_seconds")
    assert meta[0] == meta[1] and meta[0]["step"] == 4 and meta[0]["extra"]["ema.num_updates"] == 4
    ma, mb = (json.load(open(f / "metrics.json")) for f in (ref, b))
    ma.pop("train_seconds"), mb.pop("train_seconds")
    assert ma == mb
    assert np.array_equal(np.load(ref / "samples.npy"), np.load(b / "samples.npy"))


ABLATIONS = r"""
import json, os
import numpy as np
import tinygen as tg
# --no-mapping: w is the pixel-normalised z, W = Z (--w-dim 64 is not used).
kinds = {type(m).__name__ for m in G.modules()}
assert type(G.mapping).__name__ == "PixelNorm" and "MappingNetwork" not in kinds, kinds
assert w_dim == args.z_dim == G.adains[0].affine.in_features != args.w_dim
z = tg.randn(3, args.z_dim)
zn = z.numpy().astype(np.float64)
assert np.allclose(G.mapping(z).numpy(), zn / np.sqrt((zn ** 2).mean(axis=1, keepdims=True) + 1e-8), rtol=1e-5)
# --no-noise: the noise layers are never called, even with their weights set; the images do not
# depend on the random draws.
calls = []
for m in list(G.noises) + list(Gs.noises):
    m.weight.data[...] = 1.0
    m.forward = lambda *a, **k: calls.append(1) or a[0]
with tg.no_grad():
    w = G.mapping(z)
    tg.manual_seed(1)
    a = G.synthesis([w] * L).numpy()
    tg.manual_seed(2)
    assert np.array_equal(G.synthesis([w] * L).numpy(), a)
    assert np.array_equal(draw(w, noise=None), draw(w, noise=None))
assert calls == [], len(calls)
# --mixing-prob 0: one latent at every layer.
assert args.mixing_prob == 0
for s in range(10):
    w, wl = styles(2)
    assert all(x is w for x in wl)
# --r1-gamma 0: no R1, not even at the lazy steps.
log = [json.loads(line) for line in open(os.path.join(args.out, "train.jsonl"))]
assert [r["step"] for r in log] == [1, 2] and not any("r1" in r for r in log), log
G_ema.num_updates = 1
out = step(lambda: tg.tensor(images[:4]))
assert "r1" not in out, out
print("ABLATIONS OK")
"""


def test_ablations_each_remove_their_part_and_compare_draws_the_runs(quick, data_env, tmp_path):
    _, ref = quick
    flags = ["--no-mapping", "--w-dim", "64", "--no-noise", "--mixing-prob", "0", "--r1-gamma", "0",
             "--steps", "2", "--psi", "1", "--ppl-samples", "4", "--eval-samples", "16", "--compare", str(ref),
             "--export-samples", "6", "--export-psi", "0"]
    out, folder = in_lesson(ABLATIONS, data_env, tmp_path, flags)
    assert "ABLATIONS OK" in out
    m = json.load(open(folder / "metrics.json"))
    assert m["no_mapping"] is True and m["no_noise"] is True and m["mixing_prob"] == 0 and m["r1_gamma"] == 0
    # No noise: the draws of one w differ only by float32 rounding of the batched convolutions (~1e-7).
    assert m["noise"]["noise_std"] < 1e-5 * m["noise"]["style_std"], m["noise"]
    pic = iio.imread(folder / "comparison.png")                                      # this run and the reference
    assert pic.shape[0] == 5 + 2 * 88, pic.shape
    # a std map that is round-off only counts as constant: it correlates with nothing
    assert m["noise"]["noise_edge_corr"] == 0.0, m["noise"]
    # --export-psi 0 without noise: every z becomes w-bar, so the six exported samples are one image,
    # (at ψ = 1 they would differ)
    samples = np.load(folder / "samples.npy")
    assert samples.shape == (6, 1, 28, 28) and np.abs(samples - samples[:1]).max() < 1e-5
    # --compare shows the samples at ψ = 1, so ψ = 1 must be scored
    assert_flag_error(LESSON, ["--compare", str(ref), "--psi", "0.5"], "--psi", data_env, tmp_path)


@pytest.mark.parametrize("flags, message", [
    (["--mixing-prob", "1.5"], "--mixing-prob"),
    (["--r1-every", "0"], "--r1-every"),
    (["--psi", "-1"], "--psi"),
    (["--export-psi", "-0.5"], "--export-psi"),
    (["--compare", "."], "--compare"),
])
def test_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(LESSON, flags, message, data_env, tmp_path)

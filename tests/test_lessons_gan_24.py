"""Lesson 24 (which loss survives a bad architecture): the seven architectures against their definitions
(the baseline against lesson 19's DCGAN pair, the gated unit and the residual block by hand), the four
recipes and the training step recomputed from the same draws, the --quick outputs against study.json,
resume, flag errors; and the lesson-24 additions to tinygen/utils/loss_chapter.py on values worked out
by hand.

The lesson's runs use the fake datasets of ``data_env``.
"""
import json
import os
import re

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from conftest import assert_flag_error, lesson_definitions, run  # noqa: E402  (data_env is a conftest fixture)
from tinygen import nn, optim
from tinygen.utils import loss_chapter as lc
from tinygen.utils import viz
from tinygen.utils.gan import dcgan_init, gradient_penalty
from tinygen.utils.gan_models import dcgan_critic, dcgan_generator
from tinygen.utils.run import RunDir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "24_robustness.py")
ARCHS = ["dcgan", "g_nobn_const", "g_mlp", "no_norm", "gated", "tanh", "resnet"]
LOSSES = ["NS", "LSGAN", "WGAN", "WGAN-GP"]
L24 = lesson_definitions(LESSON, "Gated", "norm", "Bottleneck", "activation", "generator", "critic", "make_models",
                         "recipe", "make_step")


def kinds(model):
    """The class names of every module inside ``model`` (itself excluded), in order."""
    return [type(m).__name__ for m in model.modules()][1:]


def convs(model):
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


# ---------------------------------------------------------------- the architectures
@pytest.mark.parametrize("loss", LOSSES)
def test_the_baseline_row_is_lesson_19s_dcgan_pair(loss):
    G, D = L24.make_models("dcgan", loss, 3, 100, 32, 32, 2)
    tg.manual_seed(3)
    G19 = dcgan_generator(100, 32).apply(dcgan_init)
    D19 = dcgan_critic(32, norm="layer" if loss == "WGAN-GP" else "batch").apply(dcgan_init)
    for ours, theirs in ((G, G19), (D, D19)):
        a, b = ours.state_dict(), theirs.state_dict()
        assert list(a) == list(b)
        for k in a:
            assert np.array_equal(np.asarray(a[k]), np.asarray(b[k])), k
    z = tg.randn(4, 100)
    assert np.array_equal(G(z).numpy(), G19(z).numpy())


def test_the_gated_unit_by_hand():
    x = np.random.default_rng(0).standard_normal((2, 6, 3, 3)).astype(np.float32)
    out = L24.Gated()(tg.tensor(x)).numpy()
    a, b = x[:, :3], x[:, 3:]
    assert out.shape == (2, 3, 3, 3)
    np.testing.assert_allclose(out, np.tanh(a) / (1 + np.exp(-b)), rtol=1e-5, atol=1e-6)


def _conv_same(x, w):
    """Cross-correlation of x (C, H, W) with w (O, C, k, k), zero padding k // 2, by loops."""
    k = w.shape[-1]
    xp = np.pad(x, ((0, 0), (k // 2, k // 2), (k // 2, k // 2)))
    out = np.zeros((w.shape[0],) + x.shape[1:])
    for i in range(x.shape[1]):
        for j in range(x.shape[2]):
            out[:, i, j] = np.tensordot(w, xp[:, i:i + k, j:j + k], axes=3)
    return out


def test_the_residual_block_by_hand():
    """x + 0.3 · N(conv1x1(ρ(conv3x3(ρ(conv1x1(ρ(x))))))) on 4 channels, N = none, from the block's weights."""
    tg.manual_seed(0)
    block = L24.Bottleneck(4, 5, "none")
    convs_ = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert [tuple(c.weight.shape) for c in convs_] == [(2, 4, 1, 1), (2, 2, 3, 3), (4, 2, 1, 1)]
    assert convs_[2].bias is None and convs_[0].bias is not None
    x = np.random.default_rng(1).standard_normal((1, 4, 5, 5)).astype(np.float32)
    h = np.maximum(x[0], 0)
    for c in convs_:
        h = _conv_same(h, c.weight.numpy().astype(np.float64))
        if c.bias is not None:
            h = h + c.bias.numpy()[:, None, None]
        if c is not convs_[2]:
            h = np.maximum(h, 0)
    np.testing.assert_allclose(block(tg.tensor(x)).numpy()[0], x[0] + 0.3 * h, rtol=1e-4, atol=1e-5)
    normed = kinds(L24.Bottleneck(4, 5, "batch")), kinds(L24.Bottleneck(4, 5, "layer"))
    assert normed[0][-1] == "BatchNorm2d" and normed[1][-1] == "LayerNorm"


@pytest.mark.parametrize("arch", ARCHS)
def test_every_architecture_maps_z_to_images_and_images_to_scores(arch):
    G, D = L24.make_models(arch, "NS", 0, 16, 8, 8, 1)
    x = G(tg.randn(3, 16))
    assert x.shape == (3, 1, 28, 28) and np.abs(x.numpy()).max() <= 1
    for loss in LOSSES:
        assert L24.critic(arch, loss, 8, 1)(x).shape == (3, 1)


def test_each_row_breaks_the_rule_it_names():
    w, k = 8, 3
    G = {a: L24.generator(a, 16, w, k) for a in ARCHS}
    D = {(a, loss): L24.critic(a, loss, w, k) for a in ARCHS for loss in LOSSES}
    norms = ("BatchNorm2d", "LayerNorm")
    # 1. baseline: BatchNorm in G, BatchNorm in D except WGAN-GP's LayerNorm (in every row that normalises D)
    assert kinds(G["dcgan"]).count("BatchNorm2d") == 2
    for a in ARCHS:
        for loss in LOSSES:
            ks = kinds(D[a, loss])
            if a == "no_norm":
                assert not set(ks) & set(norms), (a, loss)
            elif loss == "WGAN-GP":
                assert "BatchNorm2d" not in ks and "LayerNorm" in ks, (a, loss)
            else:
                assert "LayerNorm" not in ks and "BatchNorm2d" in ks, (a, loss)
    # 2. G without BatchNorm, a constant number of filters
    assert not set(kinds(G["g_nobn_const"])) & set(norms)
    assert [c.weight.shape[1] for c in convs(G["g_nobn_const"])] == [w, w, 1]   # ConvT weights: (in, out, k, k)
    assert [c.weight.shape[1] for c in convs(G["dcgan"])] == [2 * w, w, 1]
    # 3. a 4-layer 512-unit ReLU MLP
    lin = [m for m in G["g_mlp"].modules() if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in lin] == [(512, 16), (512, 512), (512, 512), (512, 512), (784, 512)]
    assert kinds(G["g_mlp"]).count("ReLU") == 4 and not convs(G["g_mlp"])
    # 4. no normalisation anywhere
    assert not set(kinds(G["no_norm"])) & set(norms)
    # 5. gated units in place of every nonlinearity but the output tanh, on twice the channels
    for net in (G["gated"], D["gated", "NS"], D["gated", "WGAN-GP"]):
        assert kinds(net).count("Gated") == 2 and not {"ReLU", "LeakyReLU"} & set(kinds(net))
    assert [c.weight.shape[1] for c in convs(G["gated"])] == [4 * w, 2 * w, 1]
    assert [c.weight.shape[0] for c in convs(D["gated", "NS"])] == [2 * w, 4 * w, 1]
    # 6. tanh everywhere
    assert kinds(G["tanh"]).count("Tanh") == 3 and kinds(D["tanh", "LSGAN"]).count("Tanh") == 2
    assert not {"ReLU", "LeakyReLU"} & set(kinds(G["tanh"]) + kinds(D["tanh", "LSGAN"]))
    # 7. residual: k blocks per resolution, 6k + 3 conv layers in G and in D
    for net in (G["resnet"], D["resnet", "WGAN"]):
        assert kinds(net).count("Bottleneck") == 2 * k and len(convs(net)) == 6 * k + 3
    assert kinds(L24.generator("resnet", 16, w, 5)).count("Bottleneck") == 10
    for a in ARCHS[:-1]:
        assert "Bottleneck" not in kinds(G[a]) + kinds(D[a, "NS"])


def test_one_generator_per_row_whatever_the_loss():
    Gs = [L24.make_models("gated", loss, 5, 16, 4, 4, 1)[0] for loss in LOSSES]
    for G in Gs[1:]:
        for (k, a), b in zip(Gs[0].state_dict().items(), G.state_dict().values()):
            assert np.array_equal(np.asarray(a), np.asarray(b)), k
    mlp = L24.make_models("g_mlp", "NS", 5, 16, 4, 4, 1)[0]
    first = [m for m in mlp.modules() if isinstance(m, nn.Linear)][0].weight.numpy()
    assert first.std() > 0.05                # the default init (bound 1/sqrt(16)), not DCGAN's N(0, 0.02)


# ---------------------------------------------------------------- the recipes and the step
def test_the_recipes_are_the_papers():
    p = [nn.Parameter(np.zeros(2, np.float32))]
    expected = {"NS": (optim.Adam, 2e-4, (0.5, 0.999), 1, None), "LSGAN": (optim.Adam, 2e-4, (0.5, 0.999), 1, None),
                "WGAN": (optim.RMSprop, 5e-5, None, 5, 0.01), "WGAN-GP": (optim.Adam, 1e-4, (0.0, 0.9), 5, None)}
    for loss, (cls, lr, betas, n_critic, clip) in expected.items():
        _, _, make_opt, n, c = L24.recipe(loss)
        opt = make_opt(p)
        assert type(opt) is cls and opt.defaults["lr"] == lr and (n, c) == (n_critic, clip), loss
        assert betas is None or tuple(opt.defaults["betas"]) == betas, loss
        if cls is optim.RMSprop:
            assert opt.defaults["momentum"] == 0 and opt.defaults["alpha"] == 0.99


def _reference_losses(loss, D, x, fake):
    """The losses written out: (L_D on x, x̃), L_G on x̃ (lesson 19's section 2 table)."""
    if loss == "NS":
        return F.softplus(-D(x)).mean() + F.softplus(D(fake)).mean(), lambda f: F.softplus(-D(f)).mean()
    if loss == "LSGAN":
        return 0.5 * ((D(x) - 1) ** 2).mean() + 0.5 * (D(fake) ** 2).mean(), lambda f: 0.5 * ((D(f) - 1) ** 2).mean()
    on_real = D(x)                                       # D(x) first: BatchNorm's running statistics see that order
    d = D(fake).mean() - on_real.mean()
    if loss == "WGAN-GP":
        d = d + 10.0 * gradient_penalty(D, x, fake)
    return d, lambda f: -D(f).mean()


@pytest.mark.parametrize("loss", LOSSES)
def test_the_step_recomputed_from_the_same_draws(loss):
    _, _, make_opt, n_critic, clip = L24.recipe(loss)
    batches = [tg.tensor(np.random.default_rng(i).uniform(-1, 1, (6, 1, 28, 28)).astype(np.float32))
               for i in range(n_critic)]

    def models():
        G, D = L24.make_models("dcgan", loss, 7, 16, 4, 4, 1)
        return G, D, make_opt(G.parameters()), make_opt(D.parameters())

    G, D, optG, optD = models()
    it = iter(batches)
    tg.manual_seed(11)
    logs = L24.make_step(loss, G, D, optG, optD, 16, 5)(lambda: next(it))
    assert next(it, None) is None                         # n_critic real batches, no more

    Gr, Dr, optGr, optDr = models()
    tg.manual_seed(11)
    for x in batches:
        with tg.no_grad():
            fake = Gr(tg.randn(6, 16))
        loss_D, g_loss = _reference_losses(loss, Dr, x, fake)
        optDr.zero_grad()
        loss_D.backward()
        optDr.step()
        if clip:
            for p in Dr.parameters():
                p.data = p.data.clip(-clip, clip)
    d_grads = [p.grad.numpy().copy() for p in Dr.parameters()]
    loss_G = g_loss(Gr(tg.randn(5, 16)))
    optGr.zero_grad()
    loss_G.backward()
    optGr.step()

    assert logs["loss_D"] == pytest.approx(loss_D.item(), rel=1e-5, abs=1e-6)
    assert logs["loss_G"] == pytest.approx(loss_G.item(), rel=1e-5, abs=1e-6)
    for ours, ref in ((G, Gr), (D, Dr)):
        for (k, a), b in zip(ours.state_dict().items(), ref.state_dict().values()):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=k)
    # D was frozen for G's update: its gradients are still those of the last critic loss, and it trains again
    for p, g in zip(D.parameters(), d_grads):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-5, atol=1e-7)
        assert p.requires_grad
    if clip:
        assert max(np.abs(p.numpy()).max() for p in D.parameters()) <= clip
        assert max(np.abs(p.numpy()).max() for p in G.parameters()) > clip


# ---------------------------------------------------------------- the lesson, --quick
@pytest.fixture(scope="module")
def quick(data_env, tmp_path_factory):
    """One --quick run of the whole grid, seed 0, plus the baseline's seed 1."""
    tmp = tmp_path_factory.mktemp("grid")
    out = tmp / "run"
    r = run([LESSON, "--quick", "--baseline-seeds", "1,0", "--out", str(out)], data_env, tmp)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out, r, tmp


def test_quick_writes_every_output_and_a_run_per_cell(quick):
    out, r, _ = quick
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ("grid.png", "table.md", "study.json", "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    study = json.load(open(out / "study.json"))
    assert study["steps"] == 2 and study["eval_samples"] == 50 and study["res_blocks"] == 1
    cells = [(a, loss, 0) for a in ARCHS for loss in LOSSES] + [("dcgan", loss, 1) for loss in LOSSES]
    assert [(x["arch"], x["loss"], x["seed"]) for x in study["runs"]] == cells
    for x in study["runs"]:
        folder = out / f"{x['arch']}_{x['loss']}_s{x['seed']}"
        for name in ("result.json", "train.npz", "train.jsonl", "samples.png"):
            assert (folder / name).stat().st_size > 0, (folder, name)
        assert np.load(folder / "grid.npy").shape == (16, 1, 28, 28)
        assert json.load(open(folder / "result.json")) == x
        assert x["diverged_at"] is None and x["n"] == 50
        assert [json.loads(line)["step"] for line in open(folder / "train.jsonl")] == [1, 2]
    mlp = 100 * 512 + 512 + 3 * (512 * 512 + 512) + 512 * 784 + 784      # z_dim 100, whatever --g-width
    assert {x["g_params"] for x in study["runs"] if x["arch"] == "g_mlp"} == {mlp}
    # WGAN's critic is clipped, NS's is not (weights, not BatchNorm's running statistics)
    names = [n for n, _ in L24.critic("resnet", "WGAN", 4, 1).named_parameters()]
    for loss, clipped in (("WGAN", True), ("NS", False)):
        ckpt = np.load(out / f"resnet_{loss}_s0" / "train.npz")
        assert (max(np.abs(ckpt[f"model/D/{n}"]).max() for n in names) <= 0.01) == clipped, loss


def test_table_and_metrics_agree_with_study_json(quick):
    out, _, _ = quick
    runs = json.load(open(out / "study.json"))["runs"]
    metrics = json.load(open(out / "metrics.json"))
    lines = [line for line in open(out / "table.md") if line.startswith("| ")]
    assert lines[0].split("|")[2:-1] == [f" {loss} " for loss in LOSSES]
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in lines[2:]}
    assert list(rows) == ARCHS
    for arch in ARCHS:
        for loss, cell in zip(LOSSES, rows[arch]):
            fids = [x["fid"] for x in runs if x["arch"] == arch and x["loss"] == loss]
            numbers = [float(v) for v in re.findall(r"\d+\.\d+", cell)]
            if arch == "dcgan":
                assert len(fids) == 2 and numbers == [round(np.mean(fids), 2), round(min(fids), 2),
                                                      round(max(fids), 2)], cell
            else:
                assert numbers == [round(fids[0], 2)], cell
            s = metrics["per_cell"][arch][loss]
            assert s["fids"] == fids and s["fid_max"] == max(fids)
    assert metrics["baseline_seeds"] == [1] and metrics["archs"] == ARCHS


def test_resume_skips_finished_runs_and_continues_an_interrupted_one(quick, data_env):
    out, _, tmp = quick
    before = json.load(open(out / "study.json"))
    r = run([LESSON, "--quick", "--baseline-seeds", "1", "--out", str(out), "--resume"], data_env, tmp)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.count("finished, skipped") == 32 and "[train] step" not in r.stdout
    assert json.load(open(out / "study.json"))["runs"] == before["runs"]

    part = tmp / "part"   # stopped after its checkpoint at step 1, before scoring; then resumed to step 2
    flags = ["--quick", "--archs", "resnet", "--losses", "WGAN-GP,NS", "--out", str(part)]
    r = run([LESSON, *flags, "--steps", "1"], data_env, tmp)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for loss in ("WGAN-GP", "NS"):
        os.remove(part / f"resnet_{loss}_s0" / "result.json")
    r = run([LESSON, *flags, "--resume"], data_env, tmp)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.count("[train] resumed at step 1") == 2
    for loss in ("WGAN-GP", "NS"):                       # bit for bit the uninterrupted run
        resumed = json.load(open(part / f"resnet_{loss}_s0" / "result.json"))
        whole = json.load(open(out / f"resnet_{loss}_s0" / "result.json"))
        assert resumed["fid"] == whole["fid"] and resumed["class_histogram"] == whole["class_histogram"]


@pytest.mark.parametrize("flags, message", [
    (["--archs", "dcgan,foo"], "--archs"),
    (["--losses", "NS,NS"], "--losses"),
    (["--losses", "MM"], "--losses"),
    (["--baseline-seeds", "1,x"], "--baseline-seeds"),
    (["--res-blocks", "0"], "--res-blocks"),
])
def test_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(LESSON, flags, message, data_env, tmp_path)


# ---------------------------------------------------------------- loss_chapter.py, lesson 24's section
def _result(arch, loss, seed, fid, is_=2.0, rarest=0.05, seconds=1.0):
    return {"arch": arch, "loss": loss, "seed": seed, "fid": fid, "inception_score": is_,
            "class_histogram": [rarest] + [(1 - rarest) / 9] * 9, "train_seconds": seconds}


GRID = [_result("a", "X", 0, 10.0, 2.0, 0.02, 4.0), _result("a", "Y", 0, 30.0, 1.0, 0.0, 8.0),
        _result("b", "X", 0, 50.0), _result("b", "Y", 0, 60.0),
        _result("a", "X", 1, 14.0, 3.0, 0.04, 6.0), _result("a", "X", 2, 18.0, 4.0, 0.06, 8.0)]


def test_summarise_grid_by_hand():
    s = lc.summarise_grid(GRID, ["b", "a"], ["Y", "X"])
    assert list(s) == ["b", "a"] and list(s["a"]) == ["Y", "X"]
    ax = s["a"]["X"]
    assert ax["fids"] == [10.0, 14.0, 18.0] and ax["seeds"] == [0, 1, 2]
    assert (ax["fid_mean"], ax["fid_best"], ax["fid_max"]) == (14.0, 10.0, 18.0)
    assert ax["fid_std"] == pytest.approx(4.0) and ax["is_mean"] == 3.0
    assert ax["rarest_class_mean"] == pytest.approx(0.04) and ax["train_seconds_mean"] == 6.0
    assert s["b"]["Y"]["fids"] == [60.0] and s["b"]["Y"]["fid_max"] == 60.0 and s["a"]["Y"]["fid_std"] == 0.0
    json.dumps(s)                                        # JSON-ready
    with pytest.raises(ValueError, match=r"\('a', 'Z'\)"):
        lc.summarise_grid(GRID, ["a", "b"], ["X", "Z"])
    with pytest.raises(ValueError, match=r"\('c', 'X'\)"):
        lc.summarise_grid(GRID, ["c"], ["X"])


def test_grid_table_by_hand():
    s = lc.summarise_grid(GRID, ["a", "b"], ["X", "Y"])
    assert lc.grid_table(s, ["a", "b"], ["X", "Y"]) == (
        "| architecture | X | Y |\n"
        "| --- | --- | --- |\n"
        "| a | 14.00 (10.00-18.00) | 30.00 |\n"
        "| b | 50.00 | 60.00 |\n")
    with pytest.raises(KeyError):
        lc.grid_table(s, ["a", "c"], ["X", "Y"])


@pytest.fixture
def figures(monkeypatch):
    """Every figure lc saves, kept open for inspection (and still written)."""
    saved = []
    write = viz.save_figure

    def keep(fig, path, **kw):
        fig.canvas.draw()
        saved.append((fig, str(path)))
        return write(fig, path, **kw)

    monkeypatch.setattr(viz, "save_figure", keep)
    return saved


def test_save_sample_grid_puts_each_run_in_its_cell(tmp_path, figures):
    archs, losses = ["a", "b", "c"], ["X", "Y"]
    rng = np.random.default_rng(0)
    samples = {}
    for i, arch in enumerate(archs):
        for j, loss in enumerate(losses):
            x = rng.uniform(-1, 1, (20, 1, 28, 28)).astype(np.float32)
            samples[arch, loss] = x
            lc.save_result(RunDir(str(tmp_path / f"{arch}_{loss}_s3")),
                           _result(arch, loss, 3, 10.0 * i + j + 0.25), x)
            lc.save_result(RunDir(str(tmp_path / f"{arch}_{loss}_s4")), _result(arch, loss, 4, 99.0), -x)
    runs = [json.load(open(tmp_path / f"{a}_{loss}_s{s}" / "result.json")) for a in archs for loss in losses
            for s in (3, 4)]
    summary = lc.summarise_grid(runs, archs, losses)
    path = lc.save_sample_grid(str(tmp_path), summary, archs, losses, 3, str(tmp_path / "grid.png"), title="T")
    assert iio_shape(path)[0] > iio_shape(path)[1]          # 3 rows by 2 columns: taller than wide
    (fig, written), = figures
    assert written == str(tmp_path / "grid.png")
    axes = np.array(fig.axes).reshape(3, 2)
    for i, arch in enumerate(archs):
        for j, loss in enumerate(losses):
            ax = axes[i, j]
            assert np.array_equal(ax.images[0].get_array(), viz.make_grid(samples[arch, loss][:16], nrow=4))
            assert ax.get_xlabel() == f"FID {10.0 * i + j + 0.25:.1f}"
            assert ax.get_title() == (loss if i == 0 else "")
            assert ax.get_ylabel() == (arch if j == 0 else "")
    assert fig._suptitle.get_text() == "T"
    with pytest.raises(FileNotFoundError):
        lc.save_sample_grid(str(tmp_path), summary, archs, losses, 5, str(tmp_path / "g.png"))


def iio_shape(path):
    import imageio.v3 as iio
    return iio.imread(path).shape


DIVERGING = r"""
import re, sys
lesson, out = sys.argv[1], sys.argv[2]
sys.argv = ["lesson", "--quick", "--archs", "no_norm", "--losses", "NS,LSGAN", "--checkpoint-every", "1", "--out", out]
ns = {"__name__": "__main__"}
for cell in re.split(r"^# %%.*$", open(lesson).read(), flags=re.M):
    if "t_start = time.perf_counter()" in cell:            # before the runs: LSGAN's second step returns a NaN
        real = ns["make_step"]

        def make_step(loss, *a, **k):
            step, calls = real(loss, *a, **k), []

            def nan_at_2(next_batch):
                logs = step(next_batch)
                calls.append(1)
                return {**logs, "loss_D": float("nan")} if loss == "LSGAN" and len(calls) == 2 else logs
            return nan_at_2
        ns["make_step"] = make_step
    exec(compile(cell, "<cell>", "exec"), ns)
"""


def test_a_diverged_cell_is_scored_from_its_last_checkpoint(data_env, tmp_path):
    from tinygen.utils.checkpoint import load_checkpoint
    from tinygen.utils.gan import generate
    out = tmp_path / "div"
    r = run(["-c", DIVERGING, LESSON, str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "step 2: loss_D is nan" in r.stdout
    ok, bad = (json.load(open(out / f"no_norm_{loss}_s0" / "result.json")) for loss in ("NS", "LSGAN"))
    assert ok["diverged_at"] is None and bad["diverged_at"] == 2
    G, _ = L24.make_models("no_norm", "LSGAN", 0, 100, 4, 4, 1)
    load_checkpoint(str(out / "no_norm_LSGAN_s0" / "train.npz"), {"G": G})   # step 1's G and RNG
    z = tg.randn(50, 100)
    np.testing.assert_array_equal(np.load(out / "no_norm_LSGAN_s0" / "grid.npy"), generate(G, z)[:16])

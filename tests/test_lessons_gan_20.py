"""Lesson 20 (LAPGAN): the Laplacian pyramid, the chain sampler, the training step of every
level (order, labels, detached fakes, the real low-pass as the condition), and the runs:
outputs, the single-scale comparison, sample export, an exact resume of all six networks,
the lesson as a notebook, and flag errors.

The pyramid, the chain and the step are the lesson's own definitions (``lesson_definitions``),
checked against references written here from the paper's equations, not against copies."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from conftest import CELL_RUNNER, RecordingOptimizer, assert_flag_error, lesson_definitions, run  # noqa: E402
from tinygen import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "20_lapgan.py")
NAMES = ("down", "up", "laplacian_pyramid", "reconstruct", "chain_inputs", "LaplacianChain", "gan_update",
         "make_step", "coarse_generator", "coarse_discriminator", "ResidualGenerator", "PairDiscriminator")


@pytest.fixture(scope="module")
def lesson():
    return lesson_definitions(LESSON, *NAMES)


def images(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 1, 28, 28)).astype(np.float32)


# ---------------------------------------------------------------- references, from the definitions
def box_down(x):
    """d: the mean of each 2x2 block, in NumPy."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def bilinear_up(x):
    """u: bilinear x2 with half-pixel centres (align_corners=False), edges clamped, in NumPy:
    output pixel 2i sits a quarter pixel before input pixel i, so it is 0.25 x[i-1] + 0.75 x[i]."""
    def along(a, axis):
        a = np.moveaxis(a, axis, -1)
        prev, nxt = np.concatenate([a[..., :1], a[..., :-1]], -1), np.concatenate([a[..., 1:], a[..., -1:]], -1)
        out = np.stack([0.25 * prev + 0.75 * a, 0.75 * a + 0.25 * nxt], -1).reshape(*a.shape[:-1], -1)
        return np.moveaxis(out, -1, axis)
    return along(along(x, 2), 3)


# ---------------------------------------------------------------- the pyramid
def test_pyramid_shapes_values_and_exact_reconstruction(lesson):
    x = images(5)
    gauss, bands = lesson.laplacian_pyramid(tg.tensor(x))
    assert [g.shape for g in gauss] == [(5, 1, 28, 28), (5, 1, 14, 14), (5, 1, 7, 7)]
    assert [h.shape for h in bands] == [(5, 1, 28, 28), (5, 1, 14, 14)]
    i1, i2 = box_down(x), box_down(box_down(x))
    np.testing.assert_allclose(gauss[1].numpy(), i1, atol=1e-6)
    np.testing.assert_allclose(gauss[2].numpy(), i2, atol=1e-6)
    # h_k = I_k − u(I_{k+1}): the sign and the level are the paper's (eq. 1)
    np.testing.assert_allclose(bands[0].numpy(), x - bilinear_up(i1), atol=1e-5)
    np.testing.assert_allclose(bands[1].numpy(), i1 - bilinear_up(i2), atol=1e-5)
    # I_0 = u(u(I_2) + h_1) + h_0, exactly (to float32 rounding)
    back = lesson.reconstruct(gauss[2], bands).numpy()
    assert np.abs(back - x).max() < 1e-6
    assert np.abs(lesson.reconstruct(gauss[1], bands[:1]).numpy() - x).max() < 1e-6


# ---------------------------------------------------------------- the chain
class Fixed(nn.Module):
    """A stub G_2: the same 7x7 images for any z."""

    def __init__(self, out):
        super().__init__()
        self.out = out

    def forward(self, z):
        return tg.tensor(self.out[:z.shape[0]])


class Constant(nn.Module):
    """A stub residual generator: records what it was given, returns a constant residual."""

    def __init__(self, value):
        super().__init__()
        self.value, self.seen = value, []

    def forward(self, noise, low):
        self.seen.append((noise.numpy().copy(), low.numpy().copy()))
        return tg.zeros_like(low) + self.value


def test_chain_runs_coarse_to_fine(lesson):
    i2 = np.random.default_rng(1).uniform(-0.5, 0.5, (3, 1, 7, 7)).astype(np.float32)
    z2, z1, z0 = lesson.chain_inputs(3, 5)
    assert (z2.shape, z1.shape, z0.shape) == ((3, 5), (3, 1, 14, 14), (3, 1, 28, 28))
    # zero residuals: the chain is u(u(Ĩ_2))
    chain = lesson.LaplacianChain(Fixed(i2), Constant(0.0), Constant(0.0))
    np.testing.assert_allclose(chain(z2, z1, z0).numpy(), bilinear_up(bilinear_up(i2)), atol=1e-6)
    # residuals 0.1 and 0.05: Ĩ_1 = u(Ĩ_2) + 0.1, Ĩ_0 = u(Ĩ_1) + 0.05; each G sees its own noise
    # and the enlargement of the level just above it
    G1, G0 = Constant(0.1), Constant(0.05)
    chain = lesson.LaplacianChain(Fixed(i2), G1, G0)
    (l2, l1, l0), (h1, h0) = chain.levels(z2, z1, z0)
    want1 = bilinear_up(i2) + 0.1
    np.testing.assert_allclose(l2.numpy(), i2)
    np.testing.assert_allclose(l1.numpy(), want1, atol=1e-6)
    np.testing.assert_allclose(l0.numpy(), bilinear_up(want1) + 0.05, atol=1e-6)
    np.testing.assert_allclose(h1.numpy(), 0.1, atol=1e-7)
    np.testing.assert_allclose(h0.numpy(), 0.05, atol=1e-7)
    (n1, low1), = G1.seen
    (n0, low0), = G0.seen
    np.testing.assert_allclose(low1, bilinear_up(i2), atol=1e-6)
    np.testing.assert_allclose(low0, bilinear_up(want1), atol=1e-6)
    np.testing.assert_array_equal(n1, z1.numpy())
    np.testing.assert_array_equal(n0, z0.numpy())
    np.testing.assert_allclose(chain(z2, z1, z0).numpy(), l0.numpy())          # forward is the last level
    # each level is clipped to the images' range [-1, 1]
    chain = lesson.LaplacianChain(Fixed(i2), Constant(5.0), Constant(-5.0))
    (_, l1, l0), _ = chain.levels(z2, z1, z0)
    assert l1.numpy().min() == 1.0 and l0.numpy().max() == -1.0


# ---------------------------------------------------------------- the training step
class Recorder(RecordingOptimizer):
    """RecordingOptimizer that also logs, at each step(), its name in a shared list and the
    other player's gradients (None: nothing reached them) and requires_grad flags."""

    def __init__(self, name, params, events, other):
        super().__init__(params)
        self.name, self.events, self.other, self.other_grads = name, events, other, []

    def step(self):
        super().step()
        self.events.append(self.name)
        self.other_grads.append([None if p.grad is None else p.grad.numpy().copy() for p in self.other.parameters()])


def softplus(x):
    return np.logaddexp(0, x)


def grads_of(loss, module):
    for p in module.parameters():
        p.grad = None
    loss.backward()
    return [p.grad.numpy().copy() for p in module.parameters()]


def test_step_updates_every_level_d_then_g_on_the_real_pyramid(lesson):
    """The lesson's make_step on small networks of the lesson's own classes, with optimisers that
    change nothing: levels 2, 1, 0, each a D step then a G step; D's loss is the cross-entropy
    with label 1 on the real I_k and 0 on l_k + G_k(z_k, l_k), where l_k is the REAL low-pass
    u(d(I_k)); G's loss is −log D(l_k + G_k(z_k, l_k), l_k); the fake is detached in D's step
    (no gradient reaches G), and D is frozen in G's step."""
    z_dim, n = 4, 6
    tg.manual_seed(0)
    Gs = [lesson.ResidualGenerator(3), lesson.ResidualGenerator(3), lesson.coarse_generator(z_dim, 8)]
    Ds = [lesson.PairDiscriminator(3, 28), lesson.PairDiscriminator(3, 14), lesson.coarse_discriminator(8)]
    events, opts = [], {}
    for k in range(3):
        opts[f"D{k}"] = Recorder(f"D{k}", Ds[k].parameters(), events, Gs[k])
        opts[f"G{k}"] = Recorder(f"G{k}", Gs[k].parameters(), events, Ds[k])
    x = images(n, seed=3)
    tg.manual_seed(11)
    out = lesson.make_step(Gs, Ds, opts, z_dim)(lambda: tg.tensor(x))
    assert events == ["D2", "G2", "D1", "G1", "D0", "G0"]

    tg.manual_seed(11)                                         # the step's noise, drawn again: z_2, z_1, z_0
    noise = [tg.randn(n, z_dim), tg.randn(n, 1, 14, 14), tg.randn(n, 1, 28, 28)]
    real = [x, box_down(x), box_down(box_down(x))]
    for k in (2, 1, 0):
        G, D = Gs[k], Ds[k]
        if k == 2:
            fake, cond = G(noise[0]), ()
        else:
            low = tg.tensor(bilinear_up(real[k + 1]))
            fake, cond = low + G(noise[2 - k], low), (low,)
        logit_real = D(tg.tensor(real[k]), *cond)
        logit_fake = D(fake, *cond)
        o_real, o_fake = logit_real.numpy().astype(np.float64), logit_fake.numpy().astype(np.float64)
        assert out[f"loss_D{k}"] == pytest.approx(softplus(-o_real).mean() + softplus(o_fake).mean(), rel=1e-5)
        assert out[f"loss_G{k}"] == pytest.approx(softplus(-o_fake).mean(), rel=1e-5)
        # the recorded gradients are those of these losses
        loss_D = F.softplus(-logit_real).mean() + F.softplus(D(fake.detach(), *cond)).mean()
        for got, want in zip(opts[f"D{k}"].seen[0], grads_of(loss_D, D)):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
        for got, want in zip(opts[f"G{k}"].seen[0], grads_of(F.softplus(-D(fake, *cond)).mean(), G)):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
        # D's step left G untouched (the fake was detached) ...
        assert all(g is None for g in opts[f"D{k}"].other_grads[0]), f"level {k}: D's loss reached G"
        # ... and G's step left D's gradients as D's step made them (D frozen), and D unfrozen after
        for at_g, at_d in zip(opts[f"G{k}"].other_grads[0], opts[f"D{k}"].seen[0]):
            np.testing.assert_array_equal(at_g, at_d)
        assert all(p.requires_grad for p in D.parameters())


def test_gan_update_unconditional_labels_and_order(lesson):
    """gan_update alone, as the single-scale run uses it: D step first, then G step."""
    tg.manual_seed(2)
    G, D = lesson.coarse_generator(3, 8), lesson.coarse_discriminator(8)
    events = []
    optD, optG = Recorder("D", D.parameters(), events, G), Recorder("G", G.parameters(), events, D)
    x = tg.tensor(box_down(box_down(images(5, seed=4))))
    z = tg.randn(5, 3)
    loss_D, loss_G = lesson.gan_update(G, D, optG, optD, x, None, (z,))
    assert events == ["D", "G"]
    fake = G(z)
    o_real, o_fake = D(x).numpy().astype(np.float64), D(fake).numpy().astype(np.float64)
    assert loss_D == pytest.approx(softplus(-o_real).mean() + softplus(o_fake).mean(), rel=1e-5)
    assert loss_G == pytest.approx(softplus(-o_fake).mean(), rel=1e-5)


# ---------------------------------------------------------------- the runs
def logs(path):
    return [json.loads(line) for line in open(path)]


def test_quick_run_outputs_export_and_exact_resume(data_env, tmp_path):
    out, straight = tmp_path / "run", tmp_path / "straight"
    r = run([LESSON, "--quick", "--export-samples", "12", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "it/s" in r.stdout and "ETA" in r.stdout and "max reconstruction error" in r.stdout
    for name in ("pyramid.png", "chain.png", "samples.png", "training.gif", "losses.png", "metrics.json",
                 "train.jsonl", "train.npz", "samples.npy"):
        assert (out / name).stat().st_size > 0, name
    m = json.load(open(out / "metrics.json"))
    assert m["model"] == "lapgan" and m["steps"] == 4 and m["train_seconds"] > 0
    assert m["max_reconstruction_error"] < 1e-6
    assert m["fid"] > 0 and m["n"] == 200 and len(m["class_histogram"]) == 10
    assert m["class_histogram_min"] == min(m["class_histogram"])
    p = m["parameters"]
    assert p["lapgan"] == sum(p[f"{kind}{k}"] for kind in "GD" for k in range(3)) and p["single"] > 0
    samples = np.load(out / "samples.npy")
    assert samples.shape == (12, 1, 28, 28) and -1 <= samples.min() < 0 < samples.max() <= 1
    log = logs(out / "train.jsonl")
    assert [rec["step"] for rec in log] == [1, 2, 3, 4]
    assert set(log[0]) == {"step"} | {f"loss_{p}{k}" for p in "DG" for k in range(3)}
    # every network and optimiser is in the checkpoint
    with np.load(out / "train.npz") as ckpt:
        for name in ("G0", "G1", "G2", "D0", "D1", "D2"):
            for part in ("model", "optim"):
                assert any(key.startswith(f"{part}/{name}/") for key in ckpt.files), (part, name)

    r = run([LESSON, "--quick", "--steps", "6", "--resume", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0 and "resumed at step 4" in r.stdout, r.stderr[-2000:]
    r = run([LESSON, "--quick", "--steps", "6", "--out", str(straight)], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert logs(out / "train.jsonl") == logs(straight / "train.jsonl")          # bit for bit, all six losses


def test_single_scale_run(data_env, tmp_path):
    out = tmp_path / "single"
    r = run([LESSON, "--quick", "--model", "single", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    m = json.load(open(out / "metrics.json"))
    assert m["model"] == "single" and m["fid"] > 0 and not (out / "chain.png").exists()
    assert set(logs(out / "train.jsonl")[0]) == {"step", "loss_D", "loss_G"}
    # about as many parameters as the pyramid's six networks
    assert 0.75 < m["parameters"]["single"] / m["parameters"]["lapgan"] < 1.25


def test_lesson_runs_as_a_notebook(data_env, tmp_path):
    """Cell by cell, as in Jupyter; then the six networks and their optimisers are the ones fit_gan
    checkpointed, and the printed reconstruction error is the one in metrics.json."""
    out = tmp_path / "nb"
    check = ("assert sorted(models) == sorted(optimizers) == ['D0', 'D1', 'D2', 'G0', 'G1', 'G2']\n"
             "assert models['G2'] is chain.G2 and models['G0'] is chain.G0 and models['D1'] is Ds[1]\n"
             "assert error < 1e-6\n")
    r = subprocess.run([sys.executable, "-c", CELL_RUNNER, LESSON, str(out), check], env=data_env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert json.load(open(out / "metrics.json"))["max_reconstruction_error"] < 1e-6


@pytest.mark.parametrize("flags, message", [
    (["--model", "pyramid"], "--model"),
    (["--width", "0"], "--width"),
    (["--coarse-width", "-1"], "--coarse-width"),
    (["--single-width", "nan"], "--single-width"),
    (["--lr", "0"], "--lr"),
    (["--dataset", "folder", "--data-dir", "."], "--dataset"),
])
def test_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(LESSON, flags, message, data_env, tmp_path)

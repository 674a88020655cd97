"""Lesson 14 (the conditional GAN): the 10x10 class grid at start, middle and
end, class accuracy in the metrics, labelled sample export, resume, and that
the generator's rows really depend on the label they were asked for."""
import json
import os

import subprocess
import sys
from types import SimpleNamespace

import imageio.v3 as iio
import numpy as np
import pytest

import tinygen as tg
from conftest import RecordingOptimizer, lesson_definitions, run
from tinygen import nn
from tinygen.utils import metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "14_conditional_gan.py")


def rows_of(grid, n=10, size=28, pad=2):
    """The 10 rows of a 10x10 grid image as (10, 10, 28, 28) grey arrays."""
    g = grid[..., 0] if grid.ndim == 3 else grid
    cells = [[g[pad + r * (size + pad):pad + r * (size + pad) + size, pad + c * (size + pad):pad + c * (size + pad) + size]
              for c in range(n)] for r in range(n)]
    return np.array(cells, dtype=np.float64)


def test_conditional_gan_grids_accuracy_export_and_resume(data_env, tmp_path):
    out = tmp_path / "run"
    r = run([LESSON, "--quick", "--steps", "8", "--export-samples", "25", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for name in ("grid_start.png", "grid_middle.png", "grid_end.png", "training.gif", "losses.png",
                 "samples.png", "metrics.json", "train.npz"):
        assert (out / name).stat().st_size > 0, name
    grid = iio.imread(out / "grid_end.png")
    scale = grid.shape[0] // (10 * 30 + 2)  # save_grid may enlarge small grids by a whole factor
    assert scale >= 1 and grid.shape[:2] == ((10 * 30 + 2) * scale,) * 2
    grid = grid[::scale, ::scale]
    rows = rows_of(grid)
    # Every row uses the same 10 z's, so rows differ only through the label.
    assert min(np.abs(rows[i] - rows[j]).mean() for i in range(10) for j in range(i)) > 0.5
    assert not np.array_equal(iio.imread(out / "grid_start.png")[::scale, ::scale], grid)  # training changed G
    m = json.load(open(out / "metrics.json"))
    # 200 samples, 20 asked of each class: per-class accuracies are counts out of 20, the accuracy is
    # their total over 200, and a class is never hit more often than it is predicted
    per_class = np.array(m["class_accuracy_per_class"]) * 20
    predicted = np.array(m["class_histogram"]) * 200
    assert len(per_class) == 10 and np.allclose(per_class, np.round(per_class))
    assert m["class_accuracy"] == pytest.approx(per_class.sum() / 200) and np.all(per_class <= predicted + 1e-9)
    assert m["n"] == 200 and m["fid"] > 0                                      # 8-step samples are not the test set
    samples, labels = np.load(out / "samples.npy"), np.load(out / "labels.npy")
    assert samples.shape == (25, 1, 28, 28) and labels.shape == (25,)
    assert set(labels.tolist()) == set(range(10))

    r = run([LESSON, "--quick", "--steps", "10", "--resume", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resumed at step 8" in r.stdout
    assert [json.loads(line)["step"] for line in open(out / "train.jsonl")] == list(range(1, 11))


# ---------------------------------------------------------------- the training step, on stub players
class PaintingG(nn.Module):
    """G(z, y): every pixel of row i is y_i / 10, plus a weight w (0) so that G has a gradient."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(tg.tensor(np.zeros(1, np.float32)))
        self.labels = []

    def forward(self, z, y):
        self.labels.append(y.numpy().copy())
        return y.reshape(-1, 1).float() / 10 * tg.ones(1, 784) + self.w


class SpyD(nn.Module):
    """D(x, y) = w · mean(x), remembering every (x, y) it is shown."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(tg.tensor(np.ones(1, np.float32)))
        self.calls = []

    def forward(self, x, y):
        self.calls.append((x.numpy().copy(), y.numpy().copy()))
        return x.mean(dim=1, keepdim=True) * self.w


def test_the_step_shows_d_the_labels_g_was_given_in_both_steps():
    """Lesson 14's own ``step``: D judges real images with their own labels, and each generated
    image with the label G drew it for, in D's step and in G's step (G paints the label into the
    pixels, so a mismatch shows); G's step leaves D's gradient alone."""
    lesson = lesson_definitions(LESSON, "step", "random_labels")
    G, D = PaintingG(), SpyD()
    optG, optD = RecordingOptimizer(G.parameters()), RecordingOptimizer(D.parameters())
    lesson.step.__globals__.update(G=G, D=D, optG=optG, optD=optD, CLASSES=10,
                                   args=SimpleNamespace(z_dim=3, device="cpu", batch_size=6))
    real = np.random.default_rng(0).uniform(-1, 1, (5, 784)).astype(np.float32)
    y_real = np.array([4, 4, 0, 9, 2])
    tg.manual_seed(0)
    out = lesson.step(lambda: (tg.tensor(real), tg.tensor(y_real)))

    assert len(D.calls) == 3 and len(G.labels) == 2
    (x0, y0), (x1, y1), (x2, y2) = D.calls
    np.testing.assert_array_equal(x0, real)                              # the real batch with its own labels
    np.testing.assert_array_equal(y0, y_real)
    for (x, y), g_labels in zip(((x1, y1), (x2, y2)), G.labels):
        np.testing.assert_array_equal(y, g_labels)                       # D is told the label G was given
        np.testing.assert_allclose(x, np.repeat(y[:, None] / 10, 784, axis=1), atol=1e-6)   # and it is the drawn one
    assert len(y1) == 5 and len(y2) == 6                                 # D's fakes match the real batch; G's batch
    assert len(set(np.concatenate(G.labels).tolist())) > 2              # labels drawn, not constant
    assert len(optD.seen) == len(optG.seen) == 1
    assert optG.seen[0][0] is not None and optG.seen[0][0][0] != 0      # G's step reaches G
    np.testing.assert_array_equal(D.w.grad.numpy(), optD.seen[0][0])   # and leaves D's gradient as D's step left it
    # the logged numbers are those of the D step: σ(w · mean x) of the real and the generated batch
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    assert out["D_real"] == pytest.approx(sig(real.mean(axis=1)).mean(), rel=1e-5)
    assert out["D_fake"] == pytest.approx(sig(y1 / 10).mean(), rel=1e-5)


# ---------------------------------------------------------------- the closing cell, on a G that paints its label
CELL_RUNNER = r"""
import re, sys
lesson, out, marker, inject = sys.argv[1:5]
sys.argv = [lesson, "--quick", "--out", out] + sys.argv[5:]
cells = re.split(r"^# %%.*$", open(lesson).read(), flags=re.M)
namespace = {"__name__": "__main__"}
injected = False
for i, cell in enumerate(cells):
    if marker in cell and not injected:
        exec(inject, namespace)
        injected = True
    exec(compile(cell, f"<cell {i}>", "exec"), namespace)
assert injected, "no cell contains " + marker
"""

LABEL_PAINTER = """
class LabelPainter(nn.Module):
    def forward(self, z, y):
        return (y.reshape(-1, 1).float() / 4.5 - 1) * tg.ones(1, 784)   # class y -> every pixel y / 4.5 - 1
G = LabelPainter()
"""


def test_scores_and_exported_labels_belong_to_their_samples(data_env, tmp_path, monkeypatch):
    """The lesson's cells run in order (--quick), and before the closing cell G is replaced by a
    generator that paints each sample's label into its pixels. Then every exported sample must carry
    the label exported with it, and metrics.json must hold the scores of exactly those painted
    images with their labels (recomputed here)."""
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", CELL_RUNNER, LESSON, str(out), "export_samples(run", LABEL_PAINTER,
                        "--export-samples", "23"], env=data_env, cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    samples, labels = np.load(out / "samples.npy"), np.load(out / "labels.npy")
    assert samples.shape == (23, 1, 28, 28) and labels.tolist() == [i % 10 for i in range(23)]
    np.testing.assert_allclose(samples, np.broadcast_to((labels / 4.5 - 1)[:, None, None, None], samples.shape),
                               atol=1e-6)

    m = json.load(open(out / "metrics.json"))
    assert m["n"] == 200 and m["eval_samples"] == 200
    eval_labels = np.arange(200) % 10
    painted = np.broadcast_to((eval_labels / 4.5 - 1).astype(np.float32)[:, None, None, None], (200, 1, 28, 28))
    monkeypatch.setenv("TINYGEN_DATA", data_env["TINYGEN_DATA"])
    monkeypatch.setenv("TINYGEN_CACHE", data_env["TINYGEN_CACHE"])
    monkeypatch.setattr(metrics, "_REFERENCE", {})
    want = metrics.evaluate_samples(np.ascontiguousarray(painted), labels=eval_labels)
    pred = metrics.predict_proba((np.arange(10) / 4.5 - 1).astype(np.float32)[:, None, None, None]
                                 * np.ones((1, 1, 28, 28), np.float32)).argmax(axis=1)
    assert m["class_accuracy_per_class"] == [float(pred[c] == c) for c in range(10)]
    assert m["class_accuracy"] == pytest.approx(np.mean(pred == np.arange(10)))
    assert m["class_histogram"] == (np.bincount(pred, minlength=10) / 10).tolist()
    assert m["fid"] == pytest.approx(want["fid"], rel=1e-6)
    assert m["inception_score"] == pytest.approx(want["inception_score"], rel=1e-6)


# ---------------------------------------------------------------- the default players: conditional DCGAN, projection D
def projection_pair(width=4, embed_dim=3):
    lesson = lesson_definitions(LESSON, "ConvGenerator", "ProjectionDiscriminator")
    for cls in (lesson.ConvGenerator, lesson.ProjectionDiscriminator):
        cls.__init__.__globals__["CLASSES"] = 10
    tg.manual_seed(0)
    return lesson.ConvGenerator(5, embed_dim, width), lesson.ProjectionDiscriminator(width)


def test_projection_discriminator_scores_the_label_along_its_own_direction():
    """D(x, y) = ψ(φ(x)) + e_yᵀ φ(x) (Miyato and Koyama 2018, eq. 3): changing only the label moves
    the logit by (e_y - e_y')ᵀ φ(x); the logit's gradient reaches only the rows of e of the labels
    asked for, and there it is φ(x); with e = 0 the label changes nothing."""
    _, D = projection_pair()
    x = tg.tensor(np.random.default_rng(0).uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32))
    y = tg.tensor(np.array([3, 3, 7, 0]))
    D.embed.weight.data[...] = np.random.default_rng(1).standard_normal(D.embed.weight.shape)
    D.train(False)
    phi = D.phi(x).numpy().astype(np.float64)
    e = D.embed.weight.numpy().astype(np.float64)
    base = (phi @ D.psi.weight.numpy().T.astype(np.float64)).ravel() + D.psi.bias.numpy()[0]
    for labels in ([3, 3, 7, 0], [1, 2, 9, 9]):
        got = D(x, tg.tensor(np.array(labels))).numpy().ravel()
        np.testing.assert_allclose(got, base + (e[labels] * phi).sum(axis=1), rtol=1e-4, atol=1e-4)
    u = np.array([1.0, -2.0, 0.5, 3.0], np.float32)                      # a random-looking cotangent
    D(x, y).backward(tg.tensor(u[:, None]))
    g = D.embed.weight.grad.numpy()
    np.testing.assert_allclose(g[3], u[0] * phi[0] + u[1] * phi[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(g[7], u[2] * phi[2], rtol=1e-4, atol=1e-5)
    assert np.all(g[[1, 2, 4, 5, 6, 8, 9]] == 0)
    D.embed.weight.data[...] = 0
    np.testing.assert_array_equal(D(x, y).numpy(), D(x, tg.tensor(np.array([9, 1, 2, 5]))).numpy())


def test_conditional_generator_draws_images_that_depend_on_the_label():
    G, _ = projection_pair()
    z = tg.randn(2, 5)
    G.train(False)
    a, b = G(z, tg.tensor(np.array([0, 0]))), G(z, tg.tensor(np.array([4, 4])))
    assert a.shape == (2, 1, 28, 28) and -1 <= a.numpy().min() and a.numpy().max() <= 1
    assert np.abs(a.numpy() - b.numpy()).mean() > 1e-3                   # same z, other label: another image
    G.embed.weight.data[...] = G.embed.weight.numpy()[[0]]                # every class the same vector
    np.testing.assert_array_equal(G(z, tg.tensor(np.array([0, 0]))).numpy(), G(z, tg.tensor(np.array([4, 4]))).numpy())


@pytest.mark.parametrize("model", ["dcgan", "mlp"])
def test_both_models_run_quick(model, data_env, tmp_path):
    out = tmp_path / model
    r = run([LESSON, "--quick", "--model", model, "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    m = json.load(open(out / "metrics.json"))
    assert m["model"] == model and m["steps"] == 6
    with np.load(out / "train.npz") as ckpt:                             # the players the flag names were built
        d_keys = {k for k in ckpt.files if k.startswith("model/D/")}
        g_shape = ckpt["model/G/net.1.weight" if model == "dcgan" else "model/G/net.0.weight"].shape
    if model == "dcgan":
        assert {"model/D/phi.0.weight", "model/D/psi.weight", "model/D/embed.weight"} <= d_keys
        assert g_shape == (100 + 10, 128, 7, 7)                          # ConvTranspose2d(z + embedding, 2w, 7)
    else:
        assert "model/D/net.0.weight" in d_keys and not any("phi" in k for k in d_keys)
        assert g_shape == (256, 100 + 10)                                # Linear(z + embedding, 256)

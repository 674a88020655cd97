"""Sampling, screening, the fixed-input GIF, the closing scores and sample export of
``tinygen.utils.gan``, on stub models whose outputs are known, so that each answer is a value:
which rows ``best_of_k`` keeps, the exact numbers ``export_samples`` writes, the frames a
``SampleGif`` restored into a fresh object draws."""
import imageio.v3 as iio
import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.utils import metrics
from tinygen.utils.gan import SampleGif, best_of_k, closing_scores, export_samples, generate
from tinygen.utils.run import RunDir


class Doubler(nn.Module):
    """G(z) = 2 z (optionally + y as a column), remembering whether each call ran in eval mode."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, z, y=None):
        self.modes.append(self.training)
        out = z * 2
        return out if y is None else tg.cat([out, y.reshape(-1, 1).float()], dim=1)


class AsImage(nn.Module):
    """G(z) = z as an image (N, 1, 1, d)."""

    def forward(self, z):
        return z.reshape(z.shape[0], 1, 1, z.shape[1])


class FirstPixel(nn.Module):
    """D(x) = the first pixel of x, (N, 1); records its mode."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return x.reshape(x.shape[0], -1)[:, :1]


def test_generate_runs_in_eval_mode_in_order_and_restores_the_mode():
    G = Doubler()
    z = tg.tensor(np.arange(14, dtype=np.float32).reshape(7, 2))
    out = generate(G, z, batch_size=3)                                  # batches of 3, 3, 1
    np.testing.assert_array_equal(out, 2 * z.numpy())
    assert G.modes == [False, False, False] and G.training
    G.eval()
    y = tg.tensor(np.array([3, 1, 4, 1, 5, 9, 2]))
    out = generate(G, (z, y), batch_size=4)
    np.testing.assert_array_equal(out, np.c_[2 * z.numpy(), [3, 1, 4, 1, 5, 9, 2]])
    assert not G.training


def test_best_of_k_keeps_each_groups_highest_score():
    """Groups of 3 with first coordinates (0.1, 0.9, 0.5) and (-1, -2, -0.5): rows 1 and 5.
    Ranking all six at once would keep rows 1 and 2; the worst of each group rows 0 and 4."""
    z = np.zeros((6, 4), np.float32)
    z[:, 0] = [0.1, 0.9, 0.5, -1.0, -2.0, -0.5]
    z[:, 1] = np.arange(6)                                              # a row id
    D = FirstPixel()
    picked = best_of_k(AsImage(), D, tg.tensor(z), k=3)
    assert picked.shape == (2, 1, 1, 4)
    assert picked[:, 0, 0, 1].tolist() == [1.0, 5.0]
    np.testing.assert_array_equal(picked[:, 0, 0], z[[1, 5]])
    assert D.modes == [False] and D.training                            # scored in eval mode, mode restored
    np.testing.assert_array_equal(best_of_k(AsImage(), D, tg.tensor(z), k=1)[:, 0, 0], z)
    for k in (0, 4):
        with pytest.raises(ValueError, match="k: expected"):
            best_of_k(AsImage(), D, tg.tensor(z), k=k)


def test_export_samples_writes_exactly_what_it_was_given(tmp_path):
    run = RunDir(str(tmp_path))
    images = np.linspace(-1, 1, 2 * 28 * 28 * 3).reshape(3, 2, 28, 28)   # float64, the full [-1, 1]
    paths = export_samples(run, images)
    assert [p.split("/")[-1] for p in map(str, paths)] == ["samples.npy"]
    got = np.load(tmp_path / "samples.npy")
    assert got.dtype == np.float32 and got.shape == images.shape
    np.testing.assert_array_equal(got, images.astype(np.float32))        # no rescaling, no clipping
    assert got.min() == -1 and got.max() == 1
    assert not (tmp_path / "labels.npy").exists()
    points = np.array([[2.5, -3.0], [0.0, 1.25]], np.float32)             # a 2-D toy's points, outside [-1, 1]
    export_samples(run, points)
    np.testing.assert_array_equal(np.load(tmp_path / "samples.npy"), points)

    labels = np.array([7, 0, 3], np.int32)
    export_samples(run, images, labels)
    got_labels = np.load(tmp_path / "labels.npy")
    assert got_labels.dtype == np.int64 and got_labels.tolist() == [7, 0, 3]
    with pytest.raises(ValueError, match=r"labels: expected shape \(3,\)"):
        export_samples(run, images, labels[:2])


class Painter(nn.Module):
    """A generator with one weight: G(z, y) = tanh(w · z₀) + y / 10 on every pixel of a 4x4 image."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(tg.tensor(np.ones(1, np.float32)))

    def forward(self, z, y=None):
        v = (z[:, :1] * self.w).tanh()
        if y is not None:
            v = v + y.reshape(-1, 1).float() / 10
        return v.reshape(-1, 1, 1, 1) * tg.ones(1, 1, 4, 4)


def render(x):
    """A frame: the images side by side, grey levels of [-1, 1] (uint8, H x W x 3)."""
    row = np.concatenate(list(np.clip(x[:, 0], -1, 1)), axis=1)
    return np.repeat(((row + 1) * 127.5).astype(np.uint8)[..., None], 3, axis=2)


@pytest.mark.parametrize("conditional", [False, True], ids=["z", "z_and_labels"])
def test_sample_gif_state_round_trips_into_a_fresh_gif(conditional, tmp_path):
    tg.manual_seed(0)
    G = Painter()

    def inputs():
        return (tg.randn(5, 3), tg.tensor(np.array([0, 3, 5, 7, 9]))) if conditional else tg.randn(5, 3)

    gif = SampleGif(str(tmp_path / "a.gif"), G, inputs(), render=render)
    gif(1)
    G.w.data = G.w.data * 3                                             # "training" changes G between frames
    gif(2)
    state = gif.state_dict()
    np.savez(tmp_path / "ckpt.npz", **state)                            # as a checkpoint stores it
    with np.load(tmp_path / "ckpt.npz") as f:
        loaded = {k: f[k] for k in f.files}

    fresh = SampleGif(str(tmp_path / "b.gif"), G, inputs(), render=render)   # other random inputs
    assert not np.array_equal(fresh.inputs[0].numpy(), gif.inputs[0].numpy())
    fresh.load_state_dict(loaded)
    for mine, theirs in zip(fresh.inputs, gif.inputs):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
        assert mine.dtype == theirs.dtype
    assert len(fresh.frames) == 2
    for a, b in zip(fresh.frames, gif.frames):
        np.testing.assert_array_equal(a, b)
    G.w.data = G.w.data / 2
    gif(3)
    fresh(3)                                                            # the same z's: the same next frame
    np.testing.assert_array_equal(fresh.frames[-1], gif.frames[-1])
    assert not np.array_equal(fresh.frames[-1], fresh.frames[0])
    assert iio.imread(tmp_path / "b.gif", index=None).shape[0] == 3     # the restored frames are in the file
    bad = SampleGif(str(tmp_path / "c.gif"), G, tg.randn(4, 3), render=render)
    with pytest.raises(ValueError, match="input0 has shape"):
        bad.load_state_dict(loaded)


def test_closing_scores_score_gs_own_samples(monkeypatch):
    """The samples are G's outputs through ``to_images``; the scores are those of exactly these
    samples and labels (the reference statistics replaced by a known pair, so no data is read)."""
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((40, metrics.FEATURE_DIM))
    reference = metrics.gaussian_statistics(np.abs(feats))
    monkeypatch.setattr(metrics, "reference_statistics", lambda device="cpu", **kw: reference)

    class Rows(nn.Module):                                              # MLP-like: (N, 784) rows
        def forward(self, z, y):
            return (z[:, :1] * 0.5 + y.reshape(-1, 1).float() / 10 - 0.5) * tg.ones(1, 784)

    z = tg.tensor(rng.uniform(-1, 1, (20, 3)).astype(np.float32))
    y = np.arange(20) % 10
    samples, scores = closing_scores(Rows(), (z, tg.tensor(y)), lambda x: x.reshape(-1, 1, 28, 28), labels=y)
    want_samples = (z.numpy()[:, :1] * 0.5 + y[:, None] / 10 - 0.5)[:, :, None, None] * np.ones((1, 1, 28, 28))
    np.testing.assert_allclose(samples, want_samples, rtol=1e-6, atol=1e-7)
    want = metrics.evaluate_samples(want_samples.astype(np.float32), labels=y, reference=reference)
    assert scores["n"] == 20 and scores["class_histogram"] == want["class_histogram"]
    assert scores["fid"] == pytest.approx(want["fid"], rel=1e-6)
    assert scores["inception_score"] == pytest.approx(want["inception_score"], rel=1e-6)
    assert scores["class_accuracy_per_class"] == want["class_accuracy_per_class"]

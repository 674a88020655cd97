"""Tests for tinygen.viz: grids, PNG/GIF writing, loss plots, JSONL log."""

import json

import imageio.v3 as iio
import numpy as np
import pytest

from tinygen.utils import viz
from tinygen.utils.viz import (GifWriter, append_jsonl, make_grid, plot_codes, plot_losses, read_jsonl,
                         save_gif, save_grid, save_image_rows)


def test_make_grid_shape_grayscale():
    x = np.zeros((64, 1, 28, 28), np.float32)
    g = make_grid(x, nrow=8, padding=2)
    assert g.shape == (242, 242, 3) and g.dtype == np.uint8  # 8*28 + 9*2


def test_make_grid_partial_rows_and_placement():
    x = -np.ones((5, 3, 4, 6), np.float32)
    x[4] = 1.0  # last image white
    g = make_grid(x, nrow=3, padding=1, pad_value=7)
    assert g.shape == (2 * 4 + 3, 3 * 6 + 4, 3)
    assert np.all(g[0] == 7) and np.all(g[:, 0] == 7)  # border padding
    assert np.all(g[1:5, 1:7] == 0)  # image 0
    assert np.all(g[6:10, 8:14] == 255)  # image 4 = row 1, col 1
    assert np.all(g[6:10, 15:21] == 7)  # empty slot stays padding
    assert make_grid(x[:2], nrow=8, padding=0).shape == (4, 12, 3)  # cols = min(nrow, N)


def test_make_grid_value_mapping():
    x = np.array([-1.0, 1.0, 0.0, -5.0, 5.0, np.nan], np.float32).reshape(6, 1, 1, 1)
    g = make_grid(x, nrow=6, padding=0)
    assert list(g[0, :, 0]) == [0, 255, 128, 0, 255, 0]
    g01 = make_grid(np.full((1, 1, 2, 2), 0.5, np.float32), value_range=(0, 1), padding=0)
    assert np.all(g01 == 128)
    rgb = np.zeros((1, 3, 1, 1), np.float32)
    rgb[0, :, 0, 0] = [-1, 0, 1]
    assert list(make_grid(rgb, padding=0)[0, 0]) == [0, 128, 255]
    u8 = np.full((1, 1, 2, 2), 200, np.uint8)  # uint8 passes through unchanged
    assert np.all(make_grid(u8, padding=0) == 200)


def test_make_grid_list_and_errors():
    a = np.zeros((2, 1, 5, 5), np.float32)
    b = np.zeros((1, 5, 5), np.float32)
    assert make_grid([a, b], nrow=3, padding=0).shape == (5, 15, 3)
    with pytest.raises(ValueError, match=r"images.*\(2, 2, 5, 5\)"):
        make_grid(np.zeros((2, 2, 5, 5)))
    with pytest.raises(ValueError, match="images"):
        make_grid(np.zeros((5, 5)))
    with pytest.raises(ValueError, match="images"):
        make_grid([a, np.zeros((1, 1, 4, 4))])


def test_make_grid_accepts_get():
    class FakeCupy:
        def __init__(self, a):
            self.a = a

        def get(self):
            return self.a

    g = make_grid(FakeCupy(np.ones((1, 1, 3, 3), np.float32)), padding=0)
    assert np.all(g == 255)


def test_save_grid(tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, (10, 1, 28, 28)).astype(np.float32)
    path = save_grid(x, tmp_path / "deep" / "dir" / "grid.png", nrow=5, scale=1)
    img = iio.imread(path)
    assert img.shape == (2 * 28 + 3 * 2, 5 * 28 + 6 * 2, 3)
    np.testing.assert_array_equal(img, make_grid(x, nrow=5))
    auto = iio.imread(save_grid(x, tmp_path / "auto.png", nrow=5))  # 28 px -> scale 2
    assert auto.shape == (2 * img.shape[0], 2 * img.shape[1], 3)
    np.testing.assert_array_equal(auto[::2, ::2], img)
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["auto.png"]  # no temp files


def test_gif(tmp_path):
    frames = []
    w = GifWriter(tmp_path / "out" / "progress.gif", duration=0.1)
    for i in range(5):
        grid = np.full((12, 16, 3), i * 50, np.uint8)  # distinct frames
        grid[:, : i + 1] = (255, 0, 0)
        w.append(grid)
        frames.append(grid)
    assert len(w) == 5
    path = w.save()
    back = iio.imread(path, index=None)
    assert back.shape[0] == 5 and back.shape[1:3] == (12, 16)
    assert np.abs(back[2][..., :3].astype(int) - frames[2]).max() <= 8
    assert iio.immeta(path, index=0).get("loop") == 0
    with pytest.raises(ValueError, match="shape"):
        w.append(np.zeros((10, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        w.append(np.zeros((12, 16, 3), np.float32))
    with pytest.raises(ValueError):
        GifWriter(tmp_path / "empty.gif").save()
    p2 = save_gif(frames[:3], tmp_path / "three.gif")
    assert iio.imread(p2, index=None).shape[0] == 3


def test_plot_losses(tmp_path):
    rng = np.random.default_rng(0)
    hist = [{"step": s, "loss_D": float(-1 + rng.normal()), "loss_G": float(0.5 + rng.normal()),
             "wasserstein": 1.0 / (1 + s / 100)} for s in range(0, 2000, 10)]
    p = plot_losses(hist, tmp_path / "plots" / "losses.png", title="WGAN")
    img = iio.imread(p)
    assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 300
    no_w = [{k: v for k, v in r.items() if k != "wasserstein"} for r in hist]
    short = plot_losses(no_w, tmp_path / "short.png")
    assert iio.imread(short).shape[0] < img.shape[0]  # no second panel: shorter figure
    only_d = [{"step": 1, "loss_D": 0.3}, {"step": 2, "loss_D": 0.2}]
    assert plot_losses(only_d, tmp_path / "d.png").is_file()
    custom = [{"step": 1, "loss_D": 0.3, "gp": 1.0}, {"step": 2, "loss_D": 0.2, "gp": 0.5}]
    assert iio.imread(plot_losses(custom, tmp_path / "gp.png", keys=["gp"])).shape[0] > 400
    with pytest.raises(ValueError):
        plot_losses([], tmp_path / "x.png")
    with pytest.raises(ValueError):
        plot_losses([{"step": 1, "other": 2}], tmp_path / "x.png")


def test_jsonl_round_trip_and_truncated_line(tmp_path):
    path = tmp_path / "logs" / "losses.jsonl"
    append_jsonl(path, {"step": 1, "loss_D": np.float32(0.5)})
    append_jsonl(path, {"step": 2, "loss_D": 0.25, "w": np.array([1, 2])})
    assert read_jsonl(path) == [{"step": 1, "loss_D": 0.5}, {"step": 2, "loss_D": 0.25, "w": [1, 2]}]
    with open(path, "a") as f:
        f.write('{"step": 3, "loss_')  # killed mid-write
    assert [r["step"] for r in read_jsonl(path)] == [1, 2]
    append_jsonl(path, {"step": 3, "loss_D": 0.1})  # drops the partial line first
    assert [r["step"] for r in read_jsonl(path)] == [1, 2, 3]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_read_jsonl_bad_middle_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_jsonl(path)
    path.write_text('{"a": 1}\n\n{"a": 2}')  # blank lines and a complete unterminated last line
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]


def test_plot_losses_several_runs(tmp_path):
    runs = {"k=2": [{"step": 1, "loss": 1.0}, {"step": 2, "loss": 0.5}],
            "k=32": [{"step": 1, "loss": 0.8}, {"step": 2, "loss": 0.2}]}
    out = plot_losses(runs, tmp_path / "l.png")
    assert iio.imread(out).ndim == 3
    with pytest.raises(ValueError, match="history"):
        plot_losses({"a": []}, tmp_path / "x.png")


def test_save_image_rows(tmp_path):
    rows = [np.zeros((6, 1, 28, 28), np.float32), np.ones((6, 1, 28, 28), np.float32)]
    out = save_image_rows(rows, tmp_path / "rows.png", labels=["test", "recon"], title="t")
    img = iio.imread(out)
    assert img.ndim == 3 and img.shape[1] > img.shape[0]  # a wide strip of two rows
    with pytest.raises(ValueError, match="rows: expected one or more arrays of one shape"):
        save_image_rows([rows[0], rows[1][:3]], tmp_path / "x.png")
    with pytest.raises(ValueError, match="labels: expected 2 labels"):
        save_image_rows(rows, tmp_path / "x.png", labels=["a"])


def test_plot_codes(tmp_path):
    rng = np.random.default_rng(0)
    codes, labels = rng.standard_normal((50, 2)), rng.integers(0, 10, 50)
    out = plot_codes({"AE": codes, "PCA": -codes}, labels, tmp_path / "codes.png",
                     class_names=[str(i) for i in range(10)])
    assert iio.imread(out).ndim == 3
    with pytest.raises(ValueError, match=r"panels\['AE'\]: expected codes of shape \(50, 2\)"):
        plot_codes({"AE": codes[:, :1]}, labels, tmp_path / "x.png")


def test_plot_smoothed_draws_the_trailing_average():
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    x, y = np.arange(10.0), np.array([0.0, 2.0] * 5)
    avg = viz.plot_smoothed(ax, x, y, 2, label="avg", color="C3", ls="--")
    raw = ax.lines[0]
    np.testing.assert_array_equal(raw.get_ydata(), y)
    np.testing.assert_array_equal(avg.get_xdata(), x[1:])            # drawn at the last point of each window
    np.testing.assert_allclose(avg.get_ydata(), np.ones(9))           # (0 + 2) / 2 everywhere
    assert avg.get_label() == "avg" and avg.get_linestyle() == "--" and raw.get_color() == avg.get_color() == "C3"
    assert len(viz.plot_smoothed(ax, x, y, 50).get_ydata()) == 1      # a window longer than y: one mean
    for bad in ((x, y[:5], 2), ([], [], 2), (x, y, 0)):
        with pytest.raises(ValueError):
            viz.plot_smoothed(ax, *bad)
    plt.close(fig)


def test_compare_runs_lays_out_samples_curves_and_a_shared_panel(tmp_path, monkeypatch):
    """Two runs: a grid each (a uint8 grid or (N, C, H, W) images), a curve panel each with a twin axis,
    and one shared panel; the long curve is smoothed, the short ones drawn as dots."""
    figures, real_save = [], viz.save_figure
    monkeypatch.setattr(viz, "save_figure", lambda fig, path, **kw: figures.append(fig) or real_save(fig, path, **kw))
    images = np.random.default_rng(0).uniform(-1, 1, (6, 1, 8, 8))
    long, short = (np.arange(100), np.sin(np.arange(100) / 9)), ([20, 60, 100], [9.0, 7.0, 6.0])
    runs = [{"title": "A", "grid": make_grid(images), "curves": {"loss": long}, "twins": {"FID": short},
             "panel_title": "A's curves"},
            {"title": "B", "grid": images, "curves": {"loss": long}}]
    path = viz.compare_runs(tmp_path / "c.png", runs, shared={"A": short, "B": short}, shared_ylabel="FID")
    assert iio.imread(path).ndim == 3
    axes = figures[0].axes
    assert [ax.get_title() for ax in axes[:2]] == ["A", "A's curves"] and len(axes) == 6   # + A's twin, B's 2, shared
    assert len(axes[1].lines) == 2 and len(axes[1].lines[1].get_xdata()) == 100 - 100 // 40 + 1   # raw + average
    assert axes[2].get_ylabel() == "FID" and len(axes[2].lines) == 1                               # the twin axis
    assert [line.get_label() for line in axes[-1].lines] == ["A", "B"]
    # no grids: a row of panels, one per title, each series in the format given
    viz.compare_runs(tmp_path / "p.png", [{"title": t, "curves": {"f": ([0, 1], [1, 0], "x")}} for t in "xyz"])
    assert [ax.get_title() for ax in figures[1].axes] == ["x", "y", "z"]
    assert figures[1].axes[0].lines[0].get_marker() == "x" and figures[1].axes[0].lines[0].get_linestyle() == "None"
    for bad in ([], [{"grid": images}], [{"title": "t"}], [{"title": "t", "grid": np.zeros((8, 8))}],
                [{"title": "t", "curves": {"f": ([0, 1], [1])}}]):
        with pytest.raises(ValueError):
            viz.compare_runs(tmp_path / "bad.png", bad)

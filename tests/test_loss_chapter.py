"""The plumbing of lessons 17-19 (tinygen/utils/loss_chapter.py), on values worked out by hand:
the loss study's summary, table, ranking, per-run result files and pictures, and the two lessons'
figures, read back from the matplotlib figure they draw. (Equilibrium, lesson 18's k_t holder, is
tested in test_lessons_gan_18.py.)"""
import json
import math

import imageio.v3 as iio
import numpy as np
import pytest

from tinygen.utils import loss_chapter as lc
from tinygen.utils import viz
from tinygen.utils.run import RunDir


@pytest.fixture
def figures(monkeypatch):
    """Every figure the module saves, kept open for inspection (and still written)."""
    saved = []
    write = viz.save_figure

    def keep(fig, path, **kw):
        saved.append((fig, str(path), [ax for ax in fig.axes]))
        fig.canvas.draw()                 # legends and texts are final now; save_figure closes the figure
        return write(fig, path, **kw)

    monkeypatch.setattr(viz, "save_figure", keep)
    return saved


RESULTS = [  # loss A: 3 seeds, loss B: 1 seed; the histograms' minima are 0.02, 0.04, 0.06 and 0.0
    {"loss": "A", "seed": 0, "fid": 10.0, "inception_score": 2.0, "class_histogram": [0.02] + [0.98 / 9] * 9,
     "train_seconds": 4.0},
    {"loss": "B", "seed": 0, "fid": 30.0, "inception_score": 1.5, "class_histogram": [0.0, 1.0] + [0.0] * 8,
     "train_seconds": 9.0},
    {"loss": "A", "seed": 1, "fid": 12.0, "inception_score": 3.0, "class_histogram": [0.04] + [0.96 / 9] * 9,
     "train_seconds": 5.0},
    {"loss": "A", "seed": 2, "fid": 17.0, "inception_score": 4.0, "class_histogram": [0.06] + [0.94 / 9] * 9,
     "train_seconds": 9.0},
]


# ---------------------------------------------------------------- the study's numbers
def test_summarise_by_hand():
    s = lc.summarise(RESULTS, ["B", "A"])
    assert list(s) == ["B", "A"]                                     # the order asked for
    a = s["A"]
    assert a["seeds"] == [0, 1, 2]
    assert a["fid_mean"] == 13.0 and a["fid_best"] == 10.0
    assert a["fid_std"] == pytest.approx(math.sqrt((9 + 1 + 16) / 2))   # ddof 1: sqrt(13), not sqrt(26/3)
    assert a["is_mean"] == 3.0 and a["is_std"] == pytest.approx(1.0)
    assert a["rarest_class_mean"] == pytest.approx(0.04) and a["train_seconds_mean"] == pytest.approx(6.0)
    b = s["B"]
    assert (b["seeds"], b["fid_mean"], b["fid_std"], b["is_std"], b["fid_best"]) == ([0], 30.0, 0.0, 0.0, 30.0)
    assert b["rarest_class_mean"] == 0.0
    with pytest.raises(ValueError, match="'C'"):
        lc.summarise(RESULTS, ["A", "C"])


def test_study_table_by_hand():
    text = lc.study_table(lc.summarise(RESULTS, ["A", "B"]), {"A": 21.5})
    assert text == (
        "| loss | FID (mean ± std) | best FID | IS (mean ± std) | rarest class | train time | Lucic et al. best FID |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
        "| A | 13.00 ± 3.61 | 10.00 | 3.00 ± 1.00 | 4.0 % | 6 s | 21.5 |\n"
        "| B | 30.00 ± 0.00 | 30.00 | 1.50 ± 0.00 | 0.0 % | 9 s | - |\n")


def test_rank_against_by_hand():
    summary = {"W": {"fid_mean": 40.0, "fid_best": 30.0}, "X": {"fid_mean": 20.0, "fid_best": 19.0},
               "Y": {"fid_mean": 10.0, "fid_best": 31.0}, "Z": {"fid_mean": 1.0, "fid_best": 1.0}}
    reference = {"W": 1.0, "X": 2.0, "Y": 3.0, "V": 0.5}              # Z is not in it, V not in ours
    r = lc.rank_against(summary, reference)
    assert r["losses"] == ["W", "X", "Y"] and r["lucic_order"] == ["W", "X", "Y"]
    assert r["our_order_mean_fid"] == ["Y", "X", "W"] and r["our_order_best_fid"] == ["X", "W", "Y"]
    assert r["spearman_mean_fid"] == pytest.approx(-1.0)              # exactly reversed
    assert r["spearman_best_fid"] == pytest.approx(0.5)               # ranks (2, 1, 3) vs (1, 2, 3): 1 − 6·2/24
    assert lc.rank_against(summary, {"W": 1.0}) == {}                 # one shared loss: nothing to rank


def test_save_result_then_finished_result(tmp_path):
    run = RunDir(str(tmp_path / "A_s0"))
    assert lc.finished_result(run) is None
    samples = np.linspace(-1, 1, 20 * 784, dtype=np.float32).reshape(20, 1, 28, 28)
    with pytest.raises(TypeError):
        lc.save_result(run, {"fid": object()}, samples)
    assert lc.finished_result(run) is None and not (tmp_path / "A_s0" / "grid.npy").exists()   # nothing written
    result = {"loss": "A", "seed": 0, "fid": 12.5, "class_histogram": [0.1] * 10}
    assert lc.save_result(run, result, samples) is result
    np.testing.assert_array_equal(np.load(tmp_path / "A_s0" / "grid.npy"), samples[:16])
    assert (tmp_path / "A_s0" / "samples.png").stat().st_size > 0
    assert lc.finished_result(run) == result == json.load(open(tmp_path / "A_s0" / "result.json"))


# ---------------------------------------------------------------- figures
def test_plot_energies_draws_each_run_and_the_margin(figures, tmp_path):
    logs = {label: [{"step": s, "E_real": 0.5 + 0.01 * s + shift, "E_fake": 0.1 + 0.02 * s + shift}
                    for s in range(1, 11)] for label, shift in (("PT", 0.0), ("plain", 0.3))}
    lc.plot_energies(logs, 0.25, tmp_path / "e.png")
    assert (tmp_path / "e.png").stat().st_size > 0
    (ax,) = figures[0][2]
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert list(lines) == ["D(x), real (PT)", "D(G(z)), generated (PT)", "D(x), real (plain)",
                           "D(G(z)), generated (plain)", "margin m = 0.25"]
    for label in ("PT", "plain"):                                    # 10 steps: window 1, the average is the curve
        np.testing.assert_allclose(lines[f"D(G(z)), generated ({label})"].get_ydata(),
                                   [r["E_fake"] for r in logs[label]])
        np.testing.assert_allclose(lines[f"D(x), real ({label})"].get_ydata(), [r["E_real"] for r in logs[label]])
    assert [lines[f"D(x), real ({k})"].get_linestyle() for k in ("PT", "plain")] == ["-", "--"]
    assert list(lines["margin m = 0.25"].get_ydata()) == [0.25, 0.25] and ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="one or two runs"):
        lc.plot_energies({"a": logs["PT"], "b": logs["PT"], "c": logs["PT"]}, 0.25, tmp_path / "x.png")


def test_lesson_17_and_18_sample_figures_through_compare_runs(figures, tmp_path):
    """Lesson 17's pt_vs_no_pt.png (grids above grouped class-histogram bars, a legend with each run's
    rarest class and entropy, a dotted uniform line) and lesson 18's gamma_samples.png (grids only),
    drawn the way the lessons call viz.compare_runs."""
    from tinygen.utils.data import FASHION_MNIST_CLASSES
    from tinygen.utils.metrics import class_entropy
    grids = [(np.full((10, 12, 3), 40 * i, dtype=np.uint8), f"run {i}") for i in (1, 2)]
    uniform, two = [0.1] * 10, [0.5, 0.5] + [0.0] * 8
    hists = {"first": uniform, "second": two}
    viz.compare_runs(tmp_path / "h.png", [{"title": c, "grid": g} for g, c in grids],
                     shared={f"{k}: rarest {min(h):.3f}, entropy {class_entropy(h):.3f} of log 10": (range(10), h)
                             for k, h in hists.items()},
                     bars=True, xticklabels=FASHION_MNIST_CLASSES, shared_ylabel="fraction of 200 samples",
                     hline=(0.1, "uniform (real data)"))
    assert (tmp_path / "h.png").stat().st_size > 0
    fig, _, axes = figures[0]
    assert len(axes) == 3
    for ax, (grid, caption) in zip(axes[:2], grids):
        assert ax.get_title() == caption
        np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), grid)
    bars = axes[2]
    heights = [p.get_height() for p in bars.patches]
    np.testing.assert_allclose(heights, uniform + two)               # the first run's bars, then the second's
    xs = [p.get_x() + p.get_width() / 2 for p in bars.patches]
    np.testing.assert_allclose(xs[:2] + xs[10:12], [-0.2, 0.8, 0.2, 1.2])   # side by side around each class
    (ref,) = bars.get_lines()                                         # the uniform 0.1, dotted, across the panel
    assert list(ref.get_ydata()) == [0.1, 0.1] and ref.get_linestyle() == ":" and ref.get_label() == "uniform (real data)"
    labels = [t.get_text() for t in bars.get_legend().get_texts()]
    assert labels == ["uniform (real data)", "first: rarest 0.100, entropy 1.000 of log 10",   # lines come first
                      f"second: rarest 0.000, entropy {math.log(2) / math.log(10):.3f} of log 10"]  # 0.301
    assert bars.get_ylabel() == "fraction of 200 samples" and bars.get_xticklabels()[2].get_text() == "Pullover"

    viz.compare_runs(tmp_path / "g.png", [{"title": c, "grid": g} for g, c in grids])   # lesson 18: grids only
    fig, _, axes = figures[1]
    assert len(axes) == 2 and [ax.get_title() for ax in axes] == ["run 1", "run 2"]
    assert not any(ax.get_lines() for ax in axes)                     # no reference line without a shared panel


def test_lessons_17_and_18_draw_their_sample_figures_with_compare_runs():
    """One helper for "runs side by side": the lessons call viz.compare_runs, loss_chapter has no other."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    for name, needle in (("17_ebgan.py", 'hline=(0.1, "uniform (real data)")'), ("18_began.py", "gamma_samples.png")):
        src = (root / "lessons" / name).read_text()
        assert "viz.compare_runs(" in src and needle in src and "plot_sample_grids" not in src
    assert not hasattr(lc, "plot_sample_grids")


def fake_study(tmp_path, frames=(3, 3)):
    """A study folder with losses A and B, seeds 0 and 1; seed 0 of each has its log, grid and GIF."""
    out = tmp_path / "study"
    results = [{**r, "seed": r["seed"] % 2} for r in RESULTS if r["loss"] in "AB"][:3]   # A s0, B s0, A s1
    for i, (loss, n) in enumerate(zip("AB", frames)):
        run = RunDir(str(out / f"{loss}_s0"))
        for s in (1, 2, 3):
            run.log({"step": s, "loss_D": 10 * i + s, "loss_G": -s}, "train")
        np.save(run.file("grid.npy"), np.full((16, 1, 28, 28), 0.5 * i, np.float32))
        viz.save_gif([np.full((64, 48, 3), 60 * i + 20 * f, np.uint8) for f in range(n)], run.file("training.gif"))
    return out, results


def test_save_study_figures(figures, monkeypatch, tmp_path):
    out, results = fake_study(tmp_path)
    summary = lc.summarise(results, ["A", "B"])
    rows = []
    image_rows = viz.save_image_rows
    monkeypatch.setattr(viz, "save_image_rows", lambda r, path, **kw: rows.append((r, kw)) or image_rows(r, path, **kw))
    paths = lc.save_study_figures(str(out), results, summary, [0, 1], steps=3)
    assert [p.name for p in paths] == ["study.png", "losses.png", "samples.png", "training.gif"]
    assert all(p.stat().st_size > 0 for p in paths)

    fid_ax, is_ax = figures[0][2]
    points = [line for line in fid_ax.get_lines() if line.get_marker() == "o"]
    assert [list(p.get_ydata()) for p in points] == [[10.0, 12.0], [30.0]]       # every run of A, then of B
    means = [line for line in fid_ax.get_lines() if line.get_marker() == "s"]
    assert [list(m.get_ydata()) for m in means] == [[11.0], [30.0]]
    is_means = [line for line in is_ax.get_lines() if line.get_marker() == "s"]
    assert [list(m.get_ydata()) for m in is_means] == [[2.5], [1.5]]
    assert "seeds [0, 1]" in figures[0][0].get_suptitle()

    panels = figures[1][2]
    assert [ax.get_title() for ax in panels] == ["A", "B"]
    assert [list(line.get_ydata()) for line in panels[1].get_lines()] == [[11, 12, 13], [-1, -2, -3]]

    (got_rows, kw), = rows
    assert [float(r[0, 0, 0, 0]) for r in got_rows] == [0.0, 0.5] and kw["labels"] == ["A".rjust(10), "B".rjust(10)]
    gif = iio.imread(out / "training.gif", index=None)
    assert gif.shape[:3] == (3, 64, 48)                               # 3 frames, two strips of 32 rows
    for f in range(3):
        assert gif[f, :32, :, 0].min() == gif[f, :32, :, 0].max() == 20 * f          # A's first 32 rows
        assert gif[f, 32:, :, 0].min() == gif[f, 32:, :, 0].max() == 60 + 20 * f     # then B's


def test_save_study_figures_refuses_gifs_of_different_lengths(tmp_path):
    out, results = fake_study(tmp_path, frames=(3, 2))
    with pytest.raises(ValueError, match="number of frames"):
        lc.save_study_figures(str(out), results, lc.summarise(results, ["A", "B"]), [0], steps=3)

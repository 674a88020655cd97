"""tinygen.utils.toy: the ring and grid mixtures (shapes, dtypes, seeding, the published settings),
and lesson 10's workbench (flags, coverage tracker, run summary, figures) with values a bug would change."""
import numpy as np
import pytest

from tinygen.utils.metrics import mode_coverage
from tinygen.utils.toy import grid_centers, grid_of_gaussians, ring_centers, ring_of_gaussians


def test_ring_is_metz_et_al():
    points, centers, std = ring_of_gaussians(4000, rng=0)
    assert points.shape == (4000, 2) and points.dtype == np.float32
    assert centers.shape == (8, 2) and centers.dtype == np.float32 and std == 0.02
    assert np.allclose(np.linalg.norm(centers, axis=1), 2.0)          # radius 2
    angles = np.sort(np.mod(np.arctan2(centers[:, 1], centers[:, 0]), 2 * np.pi))
    assert np.allclose(np.diff(angles), 2 * np.pi / 8, atol=1e-6)     # evenly spaced
    nearest = np.linalg.norm(points[:, None] - centers[None], axis=2).argmin(axis=1)
    offsets = points - centers[nearest]
    assert abs(offsets.std() - 0.02) < 0.002                          # per-coordinate std
    assert np.bincount(nearest, minlength=8).min() > 400              # equal weights (500 expected)


def test_grid_is_pacgan():
    points, centers, std = grid_of_gaussians(5000, rng=1)
    assert points.shape == (5000, 2) and points.dtype == np.float32 and std == 0.05
    assert sorted({tuple(c) for c in centers.tolist()}) == sorted(
        (float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4))
    nearest = np.linalg.norm(points[:, None] - centers[None], axis=2).argmin(axis=1)
    assert abs((points - centers[nearest]).std() - 0.05) < 0.005


def test_data_covers_every_mode_with_high_quality():
    """The real data passes PacGAN's test: every mode covered, and 98.9% of the points high
    quality (a disc of radius 3 std holds 1 - exp(-9/2) of an isotropic 2-D Gaussian)."""
    for sampler, k in ((ring_of_gaussians, 8), (grid_of_gaussians, 25)):
        points, centers, std = sampler(2500, rng=2)
        cov = mode_coverage(points, centers, std)
        assert cov["modes_covered"] == k
        assert abs(cov["high_quality"] - (1 - np.exp(-4.5))) < 0.01


def test_seeding():
    a, _, _ = ring_of_gaussians(10, rng=np.random.default_rng(5))
    b, _, _ = ring_of_gaussians(10, rng=5)
    c, _, _ = ring_of_gaussians(10, rng=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert ring_of_gaussians(0, rng=0)[0].shape == (0, 2)


def test_options_and_errors():
    assert np.allclose(ring_centers(4, radius=1.0), [[1, 0], [0, 1], [-1, 0], [0, -1]], atol=1e-6)
    assert grid_centers(3, spacing=1.0).min() == -1 and grid_centers(3, spacing=1.0).shape == (9, 2)
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="n"):
            ring_of_gaussians(bad)
    with pytest.raises(ValueError, match="std"):
        grid_of_gaussians(5, std=0)
    with pytest.raises(ValueError, match="n_modes"):
        ring_of_gaussians(5, n_modes=0)
    with pytest.raises(ValueError, match="side"):
        grid_of_gaussians(5, side=0)


def test_scatter_frame_renders_points_over_data():
    from tinygen.utils.viz import scatter_frame
    data, _, _ = ring_of_gaussians(200, rng=0)
    frame = scatter_frame(data[:50] * 0, data, size=2, dpi=50, title="step 0")
    assert frame.shape == (100, 100, 3) and frame.dtype == np.uint8
    red = (frame[..., 0] > 200) & (frame[..., 1] < 100)
    ys, xs = np.nonzero(red)
    assert red.any() and abs(xs.mean() - 50) < 5 and abs(ys.mean() - 50) < 5   # the points at 0, centred
    with pytest.raises(ValueError, match="points"):
        scatter_frame(np.zeros((3, 3)))


# ------------------------------------------------ lesson 10's workbench
import tinygen as tg                                         # noqa: E402
from tinygen import nn                                       # noqa: E402
from tinygen.utils import toy                                # noqa: E402
from tinygen.utils.run import parse_args                     # noqa: E402
from tinygen.utils.train import History                      # noqa: E402


def _identity_G():
    """A 'generator' whose output is its input: G(z) = z, so a test chooses the samples as z."""
    G = nn.Linear(2, 2)
    G.weight.data = np.eye(2, dtype=np.float32)
    G.bias.data = np.zeros(2, np.float32)
    return G


def test_toy_datasets_draw_ring_then_grid_from_one_stream():
    sets = toy.toy_datasets(300, seed=4)
    rng = np.random.default_rng(4)
    ring, ring_c, ring_std = ring_of_gaussians(300, rng=rng)
    grid, grid_c, grid_std = grid_of_gaussians(300, rng=rng)          # the same stream, after the ring
    assert list(sets) == ["ring", "grid"]
    assert np.array_equal(sets["ring"]["points"], ring) and np.array_equal(sets["grid"]["points"], grid)
    assert np.array_equal(sets["grid"]["centers"], grid_c) and sets["ring"]["std"] == ring_std == 0.02
    assert sets["grid"]["std"] == grid_std == 0.05 and len(sets["ring"]["centers"]) == 8


def test_toy_gan_flags_defaults_quick_and_runs(tmp_path, capsys):
    parser = toy.toy_gan_parser()
    args = parse_args(parser, argv=["--out", str(tmp_path)])
    assert (args.steps, args.batch_size, args.z_dim, args.eval_samples, args.sample_every) == (3000, 256, 2, 2500, 150)
    assert (args.lr, args.hidden, args.layers, args.k_strong, args.weak_every, args.t_d) == (1e-3, 128, 3, 5, 4, 1.2)
    assert (args.max_d_steps, args.collapse_lr, args.probe_steps, args.runs) == (10, 1e-2, 500, "all")
    quick = parse_args(parser, argv=["--quick", "--out", str(tmp_path), "--hidden", "7"], quick=toy.TOY_GAN_QUICK)
    assert (quick.steps, quick.batch_size, quick.sample_every, quick.checkpoint_every) == (12, 64, 4, 6)
    assert (quick.eval_samples, quick.probe_steps, quick.hidden) == (500, 40, 7)     # a given flag wins
    runs = {"a": {}, "b": {}, "c": {}}
    args.runs, args.export_samples = "all", 0
    assert toy.select_runs(parser, args, runs, "a") == ["a", "b", "c"]
    args.runs = "c, a"
    assert toy.select_runs(parser, args, runs, "a") == ["c", "a"]
    for flags, needle in ((("b,nope", 0), "--runs: unknown run(s) ['nope']"),
                          (("b,c", 5), "--export-samples: the samples come from a")):
        args.runs, args.export_samples = flags
        with pytest.raises(SystemExit) as e:
            toy.select_runs(parser, args, runs, "a")
        assert e.value.code == 2 and needle in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(parser, argv=["--t-d", "nan"])


def test_fixed_noise_is_numpys_and_leaves_tinygens_rng_alone():
    tg.manual_seed(3)
    expected = tg.randn(4).numpy()
    tg.manual_seed(3)
    z = toy.fixed_noise([7, 2], 5, 3)
    assert np.array_equal(tg.randn(4).numpy(), expected)
    assert z.shape == (5, 3) and z.numpy().dtype == np.float32
    assert np.array_equal(z.numpy(), np.random.default_rng([7, 2]).standard_normal((5, 3)).astype(np.float32))


def test_grad_norm_is_the_global_l2_norm():
    lin = nn.Linear(2, 1)
    lin(tg.tensor(np.array([[3.0, 4.0]], np.float32))).sum().backward()   # dW = [[3, 4]], db = [1]
    assert toy.grad_norm(lin) == pytest.approx(np.sqrt(26.0), rel=1e-12)


def test_describe_saturation_shows_the_ratio():
    sat = {"d_real_mean": 0.99995, "d_fake_mean": 2e-5, "grad_norm_minimax": 1e-4, "grad_norm_ns": 2.5,
           "d_fake_after_sgd_step_minimax": 2e-5, "d_fake_after_sgd_step_ns": 0.0312}
    text = toy.describe_saturation(sat, 500, 0.1)
    assert text.count("\n") == 1 and "D trained 500 steps" in text and "(25000x)" in text
    assert "minimax 1.000e-04, non-saturating 2.500e+00" in text and "(lr 0.1)" in text
    assert "from 0.0000 to 0.0000 (minimax) or 0.0312 (non-saturating)" in text
    assert f"({2.5e30:.0f}x)" in toy.describe_saturation({**sat, "grad_norm_minimax": 0.0}, 5, 1)   # floored at 1e-30


def test_coverage_tracker_counts_keeps_and_comes_back(monkeypatch):
    centers = ring_centers()
    # on modes 0, 0, 2, 5; one far away; one 5 std (0.1) off mode 4: 3 modes covered, 4 of 6 samples high quality
    z = np.concatenate([centers[[0, 0, 2, 5]], [[0.0, 0.0]], centers[[4]] + [[0.1, 0.0]]]).astype(np.float32)
    tracker = toy.CoverageTracker(_identity_G(), tg.tensor(z), centers, 0.02, keep=3)
    assert tracker.state_dict() == {}
    tracker(0)
    assert tracker.records == [(0, 3, 4 / 6)]
    assert np.array_equal(tracker.snapshots[0], z[:3])                    # the first `keep` samples
    tracker.G.bias.data = np.array([np.nan, 0.0], np.float32)  # a diverged G covers nothing
    tracker(4)
    assert tracker.records[1] == (4, 0, 0.0) and np.isnan(tracker.snapshots[1][:, 0]).all()
    state = tracker.state_dict()
    assert state["records"].dtype == np.float64 and state["snapshots"].shape == (2, 3, 2)
    fresh = toy.CoverageTracker(_identity_G(), tg.tensor(z), centers, 0.02, keep=3)
    fresh.load_state_dict(state)
    assert fresh.records == [(0.0, 3.0, 4 / 6), (4.0, 0.0, 0.0)]
    assert np.array_equal(fresh.snapshots[0], z[:3]) and len(fresh.snapshots) == 2
    fresh.load_state_dict({})
    assert fresh.records == [] and fresh.snapshots == []


def _finished_run():
    tracker = toy.CoverageTracker(None, None, ring_centers(), 0.02)
    tracker.records = [(0, 1, 0.5), (4, 3, 0.75), (8, 5, 0.9), (12, 4, 0.81234)]
    tracker.snapshots = [np.full((2, 2), float(i), np.float32) for i in range(4)]
    history = History([{"d_steps": 1, "d_fake": 0.05, "loss_D": 1.0}, {"d_steps": 2, "d_fake": 0.35},
                       {"d_steps": 3, "d_fake": 0.5, "loss_D": 2.0}])
    history.seconds = 7.5
    return tracker, history


def test_summarize_and_describe_run():
    tracker, history = _finished_run()
    r = toy.summarize_run({"data": "ring", "loss": "ns", "k": 1}, tracker, history, 12, 1e-3)
    assert (r["data"], r["loss"], r["k"], r["lr"], r["n_modes"]) == ("ring", "ns", 1, 1e-3, 8)
    assert (r["modes"], r["high_quality"], r["modes_max"]) == (4, 0.81234, 5)        # last, last, best
    assert r["modes_mean_last_half"] == 4.5                                        # steps 8 and 12 (> 12 / 2)
    assert toy.summarize_run({"data": "ring", "loss": "ns", "k": 1}, tracker, history, 8, 1e-3)[
        "modes_mean_last_half"] == 4.5                                             # after step 4, not from it
    assert r["d_steps_per_g_step"] == 2.0 and r["seconds"] == 7.5
    assert r["coverage_curve"] == {"step": [0, 4, 8, 12], "modes": [1, 3, 5, 4],
                                   "high_quality": [0.5, 0.75, 0.9, 0.8123]}
    assert toy.summarize_run({"data": "ring", "loss": "ns", "k": 1, "lr": 0.01}, tracker, history, 12, 1e-3)["lr"] == 0.01
    text = toy.describe_run("ring_ns", r, history)
    assert text.startswith("ring_ns: 4/8 modes, 81.2% high quality (best over training 5), 2.00 D steps/G step\n")
    assert text.endswith("         D(G(z)) mean 0.30, under 0.1 on 33% of steps; last 1,000 steps: D(G(z)) 0.30, L_D 1.50")


def _capture(monkeypatch, name):
    """Replace toy's viz.<name> by a recorder; returns the list of the calls' arguments."""
    calls = []

    def record(*a, **kw):
        calls.append((a, kw))
        return a[1] if len(a) > 1 else None
    monkeypatch.setattr(toy.viz, name, record)
    return calls


def test_figures_draw_what_the_runs_hold(monkeypatch, tmp_path):
    import matplotlib.pyplot as plt
    sets = toy.toy_datasets(3000, seed=0)
    tracker, history = _finished_run()
    grid_tracker = toy.CoverageTracker(None, None, grid_centers(), 0.05)
    grid_tracker.records, grid_tracker.snapshots = [(0, 2, 0.5), (12, 7, 0.25)], [np.zeros((3, 2), np.float32)] * 2
    results = {"ring_ns": toy.summarize_run({"data": "ring", "loss": "ns", "k": 1}, tracker, history, 12, 1e-3),
               "grid_ns": toy.summarize_run({"data": "grid", "loss": "ns", "k": 1}, grid_tracker, history, 12, 1e-3)}
    figures = _capture(monkeypatch, "save_figure")

    fig, ax = plt.subplots()
    toy.draw_points(ax, np.array([[1.0, 2.0]]), sets["grid"], "t")
    assert ax.get_xlim() == ax.get_ylim() == pytest.approx((-5.2, 5.2)) and ax.get_title() == "t"
    assert [len(c.get_offsets()) for c in ax.collections] == [2000, 1]     # the data's first 2,000, then the points
    assert np.array_equal(ax.collections[1].get_offsets(), [[1.0, 2.0]])
    plt.close(fig)

    toy.plot_final_samples(tmp_path / "s.png", results, {"ring_ns": tracker, "grid_ns": grid_tracker}, sets, 12)
    axes = figures[-1][0][0].axes
    assert [a.get_title() for a in axes] == ["ring_ns: 4/8 modes, 81% HQ", "grid_ns: 7/25 modes, 25% HQ"]
    assert np.array_equal(axes[0].collections[1].get_offsets(), tracker.snapshots[-1])   # the last snapshot
    assert axes[0].get_xlim() == pytest.approx((-2.6, 2.6)) and figures[-1][0][1] == tmp_path / "s.png"
    with pytest.raises(ValueError, match="results"):
        toy.plot_final_samples(tmp_path / "s.png", {}, {}, sets, 12)

    toy.plot_coverage(tmp_path / "c.png", results, sets, {"ring": {"modes": 6.3}, "grid": {"modes": 17.3}})
    ring_ax, grid_ax = figures[-1][0][0].axes
    assert [list(line.get_ydata()) for line in ring_ax.lines] == [[1, 3, 5, 4], [6.3, 6.3]]
    assert list(grid_ax.lines[0].get_xdata()) == [0, 12] and grid_ax.get_ylim() == (0, 25.5)
    assert ring_ax.get_ylabel() == "modes covered (of 8)" and grid_ax.lines[1].get_label() == "PacGAN's GAN (17.3)"
    for f in figures:
        plt.close(f[0][0])

    frames = _capture(monkeypatch, "scatter_frame")
    gifs = _capture(monkeypatch, "save_gif")
    toy.save_coverage_gif(tmp_path / "g.gif", tracker, sets["ring"], duration=0.5)
    assert [kw["title"] for _, kw in frames] == ["step 0: 1/8 modes", "step 4: 3/8 modes", "step 8: 5/8 modes",
                                                 "step 12: 4/8 modes"]
    assert frames[2][1]["lim"] == pytest.approx((-2.6, 2.6)) and np.array_equal(frames[2][0][0], tracker.snapshots[2])
    assert len(gifs[0][0][0]) == 4 and gifs[0][1]["duration"] == 0.5
    toy.save_coverage_gif(tmp_path / "g.gif", grid_tracker, sets["grid"])
    assert frames[-1][1]["title"] == "step 12: 7/25 modes" and frames[-1][1]["lim"] == pytest.approx((-5.2, 5.2))
    with pytest.raises(ValueError, match="snapshot"):
        toy.save_coverage_gif(tmp_path / "g.gif", toy.CoverageTracker(None, None, ring_centers(), 0.02), sets["ring"])

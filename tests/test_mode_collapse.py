"""Lesson 10b and its workbench ``tinygen.utils.mode_collapse``: the chi quantile against closed forms,
the high-quality radius's calibration, the embedded mixtures (distances kept, centres apart, noise in
all 64 dimensions), the coverage of points placed by hand, the bookkeeping, the lesson's training step
recomputed from the same draws, and the lesson's --quick outputs, recount, resume and flag errors."""
import copy
import json
import math
import os

import numpy as np
import pytest

import tinygen as tg
from conftest import RecordingOptimizer, assert_flag_error, lesson_definitions, run  # noqa: E402
from tinygen.utils import mode_collapse as mc
from tinygen.utils.metrics import mode_coverage
from tinygen.utils.toy import fixed_noise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "10b_mode_collapse.py")


# ---------------------------------------------------------------- the chi distribution
def test_chi_cdf_matches_closed_forms():
    for r in (0.3, 1.0, 2.5, 4.0):
        assert mc.chi_cdf(r, 1) == pytest.approx(math.erf(r / math.sqrt(2)), abs=1e-13)
        assert mc.chi_cdf(r, 2) == pytest.approx(1 - math.exp(-r * r / 2), abs=1e-13)
        assert mc.chi_cdf(r, 3) == pytest.approx(
            math.erf(r / math.sqrt(2)) - math.sqrt(2 / math.pi) * r * math.exp(-r * r / 2), abs=1e-13)
    # even dof: P(chi²_64 <= x) = 1 - e^(-x/2) sum_{j<32} (x/2)^j / j!
    for r in (6.0, 8.0, 9.625, 11.0):
        x = r * r / 2
        closed = 1 - math.exp(-x) * sum(x ** j / math.factorial(j) for j in range(32))
        assert mc.chi_cdf(r, 64) == pytest.approx(closed, abs=1e-12)
    assert mc.chi_cdf(0.0, 64) == 0.0 and mc.chi_cdf(100.0, 64) == 1.0


def test_chi_quantile_is_pacgans_three_std_in_2d():
    assert mc.PACGAN_QUANTILE == pytest.approx(1 - math.exp(-4.5), abs=0)
    assert mc.chi_quantile(mc.PACGAN_QUANTILE, 2) == pytest.approx(3.0, abs=1e-10)
    assert mc.chi_quantile(0.5, 1) == pytest.approx(0.6744897501960817, abs=1e-10)   # the normal's quartile
    q64 = mc.chi_quantile(mc.PACGAN_QUANTILE, 64)
    assert q64 == pytest.approx(9.625083, abs=1e-5)
    assert mc.chi_cdf(q64, 64) == pytest.approx(mc.PACGAN_QUANTILE, abs=1e-12)
    assert mc.hq_radius(0.5, 2) == pytest.approx(1.5, abs=1e-10)
    assert mc.hq_radius(0.02, 64) == pytest.approx(0.02 * q64, rel=1e-12)
    assert mc.hq_radius(1.0, 64, quantile=0.5) == pytest.approx(mc.chi_quantile(0.5, 64), rel=1e-12)


def test_the_radius_holds_its_quantile_of_real_samples():
    """Calibration by simulation: 200,000 draws of std·N(0, I_64); the share within hq_radius is
    0.98889 (binomial standard error 2.3e-4)."""
    eps = 0.3 * np.random.default_rng(0).standard_normal((200_000, 64))
    share = (np.linalg.norm(eps, axis=1) <= mc.hq_radius(0.3, 64)).mean()
    assert abs(share - mc.PACGAN_QUANTILE) < 1e-3
    assert abs((np.linalg.norm(eps, axis=1) <= 3 * 0.3).mean()) < 1e-3      # PacGAN's 3 std rejects them all


@pytest.mark.parametrize("call, needle", [
    (lambda: mc.chi_quantile(1.0, 2), "q:"), (lambda: mc.chi_quantile(0.5, 0), "dof:"),
    (lambda: mc.chi_cdf(-1.0, 2), "r:"), (lambda: mc.hq_radius(0.0, 64), "std:"),
])
def test_chi_bad_arguments(call, needle):
    with pytest.raises(ValueError, match=needle):
        call()


# ---------------------------------------------------------------- the data
def test_embedding_is_orthonormal_and_keeps_distances():
    a = mc.random_embedding(5, 64, rng=3)
    assert a.shape == (64, 5)
    assert np.allclose(a.T @ a, np.eye(5), atol=1e-12)
    u = np.random.default_rng(4).standard_normal((20, 5))
    x = u @ a.T
    du = np.linalg.norm(u[:, None] - u[None], axis=2)
    dx = np.linalg.norm(x[:, None] - x[None], axis=2)
    assert np.allclose(du, dx, atol=1e-12)
    assert not np.allclose(np.abs(a).max(axis=0), 1.0)      # not a coordinate embedding
    with pytest.raises(ValueError, match="manifold_dim"):
        mc.random_embedding(65, 64)


def test_centres_are_in_the_ball_and_apart():
    c = mc.random_centers(50, 3, radius=2.0, min_distance=0.5, rng=1)
    assert c.shape == (50, 3)
    assert np.linalg.norm(c, axis=1).max() <= 2.0
    d = np.linalg.norm(c[:, None] - c[None], axis=2)[np.triu_indices(50, 1)]
    assert d.min() >= 0.5
    # uniform in the ball: P(|u| <= r/2) = (1/2)^3 = 1/8, without the separation
    free = mc.random_centers(4000, 3, radius=2.0, min_distance=0.0, rng=2)
    assert abs((np.linalg.norm(free, axis=1) <= 1.0).mean() - 1 / 8) < 0.02
    with pytest.raises(ValueError, match="n_modes: could not place"):
        mc.random_centers(200, 1, radius=1.0, min_distance=0.5, rng=0, patience=5000)   # 5 fit on [-1, 1]


def test_embedded_mixture_layout_and_noise():
    d = mc.embedded_mixture(20_000, 6, 3, std=0.05, radius=4.0, min_distance=1.0, seed=[7, 6, 3])
    assert d["points"].shape == (20_000, 64) and d["points"].dtype == np.float32
    assert d["centers"].shape == (6, 64) and d["basis"].shape == (64, 3) and d["std"] == 0.05
    assert np.allclose(d["centers"], d["centers_low"] @ d["basis"].T, atol=1e-6)
    low = d["centers_low"]
    pair = np.linalg.norm(low[:, None] - low[None], axis=2)[np.triu_indices(6, 1)]
    assert d["min_distance"] == pytest.approx(pair.min(), rel=1e-12) and pair.min() >= 1.0
    noise = d["points"] - d["centers"][d["labels"]]
    assert np.allclose(noise.std(axis=0), 0.05, rtol=0.05)              # isotropic: std 0.05 in every one of 64 axes
    assert abs(noise.mean()) < 1e-3
    assert np.bincount(d["labels"], minlength=6).min() > 3000             # equal weights (3,333 expected)
    again = mc.embedded_mixture(20_000, 6, 3, std=0.05, radius=4.0, min_distance=1.0, seed=[7, 6, 3])
    assert np.array_equal(again["points"], d["points"])


# ---------------------------------------------------------------- coverage
def hand_placed():
    """Three centres in 64-d: 0, 10 e1, 10 e2; std 0.1, so the radius is 0.9625 (9.625 std)."""
    e = np.eye(64)
    centers = np.stack([0 * e[0], 10 * e[0], 10 * e[1]])
    points = ([0.5 * e[2]] * 5                          # mode 0, 0.5 from it: high quality
              + [10 * e[0] + 0.9 * e[4]] * 2            # mode 1, 0.9 from it: high quality
              + [10 * e[0] + 1.0 * e[4]]                # mode 1, 1.0 > 0.9625: low quality
              + [5 * e[0]] * 2)                         # between modes 0 and 1: low quality
    return np.array(points), centers


def test_coverage_of_points_placed_by_hand():
    points, centers = hand_placed()
    # N = 10, K = 3: a fair share is 10/3; min_share 0.5 asks ceil(1.67) = 2 samples, 0.7 asks ceil(2.33) = 3
    cov = mc.coverage(points, centers, 0.1, min_share=0.5)
    assert cov["per_mode"] == [5, 2, 0] and cov["high_quality"] == pytest.approx(0.7)
    assert cov["min_count"] == 2 and cov["modes_recovered"] == 2 and cov["modes_covered"] == 2
    assert cov["fraction_recovered"] == pytest.approx(2 / 3) and cov["num_modes"] == 3
    assert cov["radius"] == pytest.approx(0.9625083, abs=1e-6)
    cov = mc.coverage(points, centers, 0.1, min_share=0.7)
    assert cov["min_count"] == 3 and cov["modes_recovered"] == 1 and cov["modes_covered"] == 2
    cov = mc.coverage(points, centers, 0.1, min_share=0.0)          # at least one sample: PacGAN's count
    assert cov["min_count"] == 1 and cov["modes_recovered"] == 2
    chunked = mc.coverage(points, centers, 0.1, min_share=0.5, chunk=3)
    assert chunked == mc.coverage(points, centers, 0.1, min_share=0.5)


def test_coverage_in_2d_is_pacgans():
    """In 2-D, with PacGAN's quantile, the radius is 3 std and the counts are metrics.mode_coverage's."""
    rng = np.random.default_rng(5)
    centers = rng.uniform(-4, 4, (12, 2))
    points = centers[rng.integers(0, 12, 3000)] + 0.3 * rng.standard_normal((3000, 2))
    ours, pacgan = mc.coverage(points, centers, 0.1, min_share=0.0), mode_coverage(points, centers, 0.1)
    assert ours["per_mode"] == pacgan["per_mode"] and ours["high_quality"] == pacgan["high_quality"]
    assert ours["modes_covered"] == pacgan["modes_covered"] and 0 < pacgan["high_quality"] < 0.5


def test_real_data_recovers_every_mode():
    d = mc.embedded_mixture(10_000, 128, 4, seed=[0, 128, 4])
    cov = mc.coverage(d["points"], d["centers"], d["std"])
    assert cov["modes_recovered"] == 128 and cov["min_count"] == 8          # ceil(0.1 · 10,000 / 128)
    assert abs(cov["high_quality"] - mc.PACGAN_QUANTILE) < 0.004
    # every point is assigned to its own mode
    nearest = np.linalg.norm(d["points"][:500, None] - d["centers"][None], axis=2).argmin(axis=1)
    assert np.array_equal(nearest, d["labels"][:500])
    # a generator collapsed onto 3 centres recovers 3 of 128, with 100 % high quality
    collapsed = np.repeat(d["centers"][:3], [5000, 3000, 2000], axis=0)
    cov = mc.coverage(collapsed, d["centers"], d["std"])
    assert cov["modes_recovered"] == 3 and cov["high_quality"] == 1.0 and cov["per_mode"][:3] == [5000, 3000, 2000]


@pytest.mark.parametrize("args, needle", [
    ((np.zeros((4, 3)), np.zeros((2, 4)), 0.1), r"centers: expected 3 columns \(the other set's d\), got shape \(2, 4\)"),
    ((np.zeros((0, 3)), np.zeros((2, 3)), 0.1), "points: expected at least 1 rows, got 0"),
    ((np.full((4, 3), np.nan), np.zeros((2, 3)), 0.1), "finite"),
    ((np.zeros((4, 3)), np.zeros((2, 3)), 0.0), "std"),
])
def test_coverage_bad_arguments(args, needle):
    with pytest.raises(ValueError, match=needle):
        mc.coverage(*args)
    with pytest.raises(ValueError, match="min_share"):
        mc.coverage(np.zeros((4, 3)), np.zeros((2, 3)), 0.1, min_share=1.5)


class FixedPoints(tg.nn.Module):
    """A stub generator: returns the first N of its hand-placed points for N codes."""

    def __init__(self, points):
        super().__init__()
        self.points = np.asarray(points, np.float32)

    def forward(self, z):
        return tg.tensor(self.points[:z.shape[0]])


def test_tracker_counts_restores_and_averages_the_last_half():
    points, centers = hand_placed()
    tracker = mc.CoverageTracker(FixedPoints(points), tg.zeros(10, 3), centers, 0.1, min_share=0.5)
    tracker(5)
    assert tracker.records == [(5, 2, 2, pytest.approx(0.7))] and tracker.last["per_mode"] == [5, 2, 0]
    bad = mc.CoverageTracker(FixedPoints(np.full((10, 64), np.nan)), tg.zeros(10, 3), centers, 0.1)
    bad(5)
    assert bad.records == [(5, 0, 0, 0.0)]                         # a diverged G recovers nothing
    tracker.records = [(2, 1, 1, 0.1), (4, 2, 3, 0.5), (6, 3, 3, 0.9)]
    restored = mc.CoverageTracker(None, None, centers, 0.1)
    restored.load_state_dict(tracker.state_dict())
    assert restored.records == tracker.records
    # K = 3; steps 6: the last half is steps 4 and 6
    assert restored.summary(6) == {"fraction_recovered": pytest.approx(2.5 / 3), "fraction_covered": pytest.approx(1.0),
                                   "high_quality": pytest.approx(0.7), "evaluations": 2}
    with pytest.raises(ValueError, match="steps"):
        restored.summary(20)
    assert mc.CoverageTracker(None, None, centers, 0.1).state_dict() == {}


# ---------------------------------------------------------------- bookkeeping and figures
def test_study_runs_lists_each_configuration_once():
    assert mc.study_runs([8, 32], 4, [4, 8], 32, [0, 1]) == [
        (8, 4, 0), (8, 4, 1), (32, 4, 0), (32, 4, 1), (32, 8, 0), (32, 8, 1)]
    with pytest.raises(ValueError, match="--ms"):
        mc.study_runs([8], 4, [2, 2], 32, [0])
    assert mc.run_name(32, 4, 2) == "K32_m4_s2"


def test_summarise_table_and_result_files(tmp_path):
    def res(k, m, s, rec, hq):
        return {"n_modes": k, "manifold_dim": m, "seed": s, "fraction_recovered": rec, "fraction_covered": 1.0,
                "high_quality": hq, "seconds": 10.0 + s}
    results = [res(8, 4, 1, 0.5, 0.9), res(8, 4, 0, 0.75, 0.8), res(16, 4, 0, 0.25, 0.6), res(8, 2, 0, 0.0, 0.0)]
    rows = mc.summarise(results, "n_modes", 4)
    assert [r["value"] for r in rows] == [8, 16] and rows[0]["seeds"] == [0, 1]
    assert rows[0]["fraction_recovered"] == {"mean": 0.625, "min": 0.5, "max": 0.75, "per_seed": [0.75, 0.5]}
    assert rows[0]["high_quality"]["mean"] == pytest.approx(0.85) and rows[0]["seconds"]["mean"] == 10.5
    assert [r["value"] for r in mc.summarise(results, "manifold_dim", 8)] == [2, 4]
    table = mc.sweep_table(rows, "K").splitlines()
    assert table[2] == "| 8 | 62.5 % [50.0, 75.0] | 100.0 % [100.0, 100.0] | 85.0 % [80.0, 90.0] | 10 s |"
    with pytest.raises(ValueError, match="key"):
        mc.summarise(results, "seed", 4)
    folder = tmp_path / "K8_m4_s0"
    assert mc.finished_result(str(folder)) is None
    mc.save_result(str(folder), results[1])
    assert mc.finished_result(str(folder)) == results[1]
    path = mc.plot_sweep(str(tmp_path / "a.png"), rows, "K", "t")
    assert os.path.getsize(path) > 0
    with pytest.raises(ValueError, match="rows"):
        mc.plot_sweep(str(tmp_path / "b.png"), [], "K", "t")


# ---------------------------------------------------------------- the lesson's training step
def test_the_step_is_the_non_saturating_gan_recomputed_from_the_same_draws():
    """Lesson 10b's own ``mlp`` and ``make_step`` with optimisers that change nothing: loss_D is
    BCE(D(x), 1) + BCE(D(G(z1)), 0) (labels the right way round), loss_G = softplus(−D(G(z2))), each
    optimiser sees the gradient of its own loss only (D frozen in G's step, G's sample detached in D's)."""
    defs = lesson_definitions(LESSON, "mlp", "make_step")
    tg.manual_seed(0)
    G, D = defs.mlp(3, 5, 8, 2), defs.mlp(5, 1, 8, 2)
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
    real = tg.tensor(np.random.default_rng(1).standard_normal((6, 5)).astype(np.float32))
    optG, optD = RecordingOptimizer(G.parameters()), RecordingOptimizer(D.parameters())
    tg.manual_seed(9)
    out = defs.make_step(G, D, optG, optD, 3, 4)(lambda: real)

    tg.manual_seed(9)
    z1, z2 = tg.randn(6, 3), tg.randn(4, 3)

    def softplus(v):
        return np.logaddexp(0, v)
    l_real, l_fake = D0(real).numpy().astype(np.float64), D0(G0(z1)).numpy().astype(np.float64)
    assert out["loss_D"] == pytest.approx(softplus(-l_real).mean() + softplus(l_fake).mean(), rel=1e-5)
    l_g = D0(G0(z2)).numpy().astype(np.float64)
    assert out["loss_G"] == pytest.approx(softplus(-l_g).mean(), rel=1e-5)
    assert out["d_fake"] == pytest.approx((1 / (1 + np.exp(-l_g))).mean(), rel=1e-5)

    import tinygen.nn.functional as F
    loss_d = (F.binary_cross_entropy_with_logits(D0(real), tg.ones(6, 1))
              + F.binary_cross_entropy_with_logits(D0(G0(z1).detach()), tg.zeros(6, 1)))
    loss_d.backward()
    for seen, p in zip(optD.seen[0], D0.parameters()):
        assert np.allclose(seen, p.grad.numpy(), atol=1e-6)
    for p in G0.parameters():
        p.grad = None
    F.softplus(-D0(G0(z2))).mean().backward()
    for seen, p in zip(optG.seen[0], G0.parameters()):
        assert np.allclose(seen, p.grad.numpy(), atol=1e-6)
    for seen, p in zip(optD.seen[0], D.parameters()):          # G's step left D's gradients alone
        assert np.array_equal(seen, p.grad.numpy())
    assert len(optD.seen) == 1 and len(optG.seen) == 1


# ---------------------------------------------------------------- the lesson, run
QUICK_RUNS = ["K4_m2_s0", "K8_m2_s0", "K4_m3_s0"]     # --quick: --Ks 4,8 at m 2, --ms 2,3 at K 4, seed 0
QUICK_FLAGS = ["--quick", "--std", "0.5", "--lr", "0.02"]


@pytest.fixture(scope="module")
def quick(data_env, tmp_path_factory):
    """One --quick run with wide modes (std 0.5: radius 4.8), so an untrained G's samples count, and a
    large learning rate, so the counts change from one evaluation to the next."""
    tmp = tmp_path_factory.mktemp("mc")
    out = tmp / "run"
    r = run([LESSON, *QUICK_FLAGS, "--out", str(out)], data_env, tmp)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out, r, tmp


def test_quick_outputs_and_summaries(quick):
    out, r, _ = quick
    assert "it/s" in r.stdout and "ETA" in r.stdout
    for name in ("modes.png", "dimension.png", "study.md", "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    m = json.load(open(out / "metrics.json"))
    assert [mc.run_name(x["n_modes"], x["manifold_dim"], x["seed"]) for x in m["runs"]] == QUICK_RUNS
    for x in m["runs"]:
        folder = out / mc.run_name(x["n_modes"], x["manifold_dim"], x["seed"])
        assert json.load(open(folder / "result.json")) == x
        final, curve = x["final"], np.array(x["curve"])
        assert curve[:, 0].tolist() == [2, 4, 6]                          # --quick: a count every 2 of 6 steps
        assert final["modes_recovered"] == sum(c >= math.ceil(0.1 * 400 / x["n_modes"]) for c in final["per_mode"])
        assert final["high_quality"] == pytest.approx(sum(final["per_mode"]) / 400, abs=1e-12)
        assert curve[-1, 1:].tolist() == [final["modes_recovered"], final["modes_covered"], final["high_quality"]]
        late = curve[curve[:, 0] > 3]                                     # the last half: steps 4 and 6
        assert x["fraction_recovered"] == pytest.approx(late[:, 1].mean() / x["n_modes"], abs=1e-12)
        assert x["high_quality"] == pytest.approx(late[:, 3].mean(), abs=1e-12) and x["evaluations"] == 2
    curves = [np.array(x["curve"])[:, 1:] for x in m["runs"]]
    assert any((c != c[-1]).any() for c in curves)                       # the counts moved: the mean is not the last
    assert [row["value"] for row in m["sweep_modes"]] == [4, 8]
    assert [row["value"] for row in m["sweep_dimension"]] == [2, 3]
    k4m2 = m["runs"][0]["fraction_recovered"]                          # K = 4, m = 2 is in both sweeps
    assert m["sweep_modes"][0]["fraction_recovered"]["mean"] == k4m2
    assert m["sweep_dimension"][0]["fraction_recovered"]["mean"] == k4m2


def test_quick_results_are_recounted_from_the_checkpoint(quick):
    """Rebuild each run's G from its checkpoint, draw the lesson's fixed z and the run's data, and recount:
    the same per-mode counts (the data's seed, the std and the evaluation noise are the lesson's)."""
    out, _, _ = quick
    defs = lesson_definitions(LESSON, "mlp")
    from tinygen.utils.checkpoint import load_checkpoint
    from tinygen.utils.gan import generate
    recounted = 0
    for x in json.load(open(out / "metrics.json"))["runs"]:
        name = mc.run_name(x["n_modes"], x["manifold_dim"], x["seed"])
        G = defs.mlp(8, 64, 16, 3)                               # --quick: z 8, hidden 16, 3 layers
        load_checkpoint(str(out / name / f"{name}.npz"), {"G": G, "D": defs.mlp(64, 1, 16, 3)})
        data = mc.embedded_mixture(500, x["n_modes"], x["manifold_dim"], std=0.5, seed=[0, x["n_modes"],
                                                                                         x["manifold_dim"]])
        samples = generate(G, fixed_noise([0, 2], 400, 8))
        cov = mc.coverage(samples, data["centers"], 0.5, 0.1)
        assert cov["per_mode"] == x["final"]["per_mode"], name
        assert cov["modes_recovered"] == x["final"]["modes_recovered"], name
        recounted += sum(cov["per_mode"]) > 0
    assert recounted == 3                                        # the counts are not all zero


def test_resume_skips_finished_runs_and_continues_an_interrupted_one(quick, data_env):
    out, _, tmp = quick
    before = json.load(open(out / "metrics.json"))["runs"]
    r = run([LESSON, *QUICK_FLAGS, "--out", str(out), "--resume"], data_env, tmp)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("finished, skipped") == 3 and "it/s" not in r.stdout
    assert json.load(open(out / "metrics.json"))["runs"] == before
    part = tmp / "part"
    flags = [LESSON, *QUICK_FLAGS, "--Ks", "4", "--ms", "2", "--out", str(part)]
    assert run(flags + ["--steps", "3"], data_env, tmp).returncode == 0
    os.remove(part / "K4_m2_s0" / "result.json")
    r = run(flags + ["--resume"], data_env, tmp)
    assert r.returncode == 0 and "[K4_m2_s0] resumed at step 3" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    full = [json.loads(line) for line in open(out / "K4_m2_s0" / "K4_m2_s0.jsonl")]
    resumed = [json.loads(line) for line in open(part / "K4_m2_s0" / "K4_m2_s0.jsonl")]
    assert [rec["step"] for rec in resumed] == list(range(1, 7))
    assert [{k: v for k, v in rec.items() if k != "seconds"} for rec in resumed] == \
        [{k: v for k, v in rec.items() if k != "seconds"} for rec in full]
    again = json.load(open(part / "K4_m2_s0" / "result.json"))
    assert again["curve"] == before[0]["curve"] and again["final"] == before[0]["final"]   # the tracker came back
    # a run resumed after it had finished (its result.json lost) counts the same again
    os.remove(part / "K4_m2_s0" / "result.json")
    r = run(flags + ["--resume"], data_env, tmp)
    assert r.returncode == 0 and "resumed at step 6" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    assert json.load(open(part / "K4_m2_s0" / "result.json"))["curve"] == before[0]["curve"]


@pytest.mark.parametrize("flags, message", [
    (["--ms", "2,2"], "--ms"),
    (["--ms", "65"], "--ms, --fixed-m"),
    (["--Ks", "500", "--fixed-m", "1", "--min-distance", "1"], "--min-distance"),
    (["--min-share", "2"], "--min-share"),
    (["--seeds", "0,0"], "--seeds"),
])
def test_bad_flags_are_clear_errors(flags, message, data_env, tmp_path):
    assert_flag_error(LESSON, flags, message, data_env, tmp_path)

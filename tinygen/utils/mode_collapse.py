"""Mode collapse against the number of modes and the data's dimension: lesson 10b's workbench.

Lesson 10 counts the modes a GAN finds on two mixtures in the plane. Lesson
10b asks how that count changes with the number of modes K and with the
dimension m of the space the modes are spread over, on mixtures embedded in
a fixed ambient space (64-d). This module holds its plumbing:

* the data: :func:`random_centers` (K points uniform in the m-ball of
  radius ``radius``, no two closer than ``min_distance``),
  :func:`random_embedding` (a random 64 x m matrix with orthonormal columns)
  and :func:`embedded_mixture` (points = embedded centre + isotropic 64-d
  Gaussian noise);
* the coverage in high dimension: PacGAN's criterion (Lin et al. 2018,
  section 5.1: a sample is high quality within 3 std of its nearest mode, a
  mode is covered with at least one high-quality sample) generalised to D
  dimensions by :func:`hq_radius`, whose quantile of the chi distribution
  is the one that gives exactly 3 std in 2-D; :func:`coverage` counts it,
  vectorised over samples and modes, and :class:`CoverageTracker` counts
  it during training (``fit``'s callback, checkpointed for ``--resume``);
* the flags (:func:`mode_collapse_parser`), the study's runs
  (:func:`study_runs`), the per-run result files that ``--resume`` skips
  (:func:`save_result`, :func:`finished_result`), the summary over seeds
  (:func:`summarise`, :func:`sweep_table`) and the two figures
  (:func:`plot_sweep`).
"""
import json
import math
import os

import numpy as np

from .fileio import atomic_write_bytes
from .gan import generate
from .loss_chapter import finished_result  # noqa: F401  (the study's reader, re-exported for lesson 10b)
from .metrics import check_points_and_centers
from .run import int_list, lesson_parser, positive_float, positive_int, probability
from . import viz

__all__ = ["AMBIENT_DIM", "PACGAN_QUANTILE", "chi_cdf", "chi_quantile", "hq_radius", "random_centers",
           "random_embedding", "embedded_mixture", "coverage", "mode_collapse_parser", "MODE_COLLAPSE_QUICK",
           "CoverageTracker", "study_runs", "run_name", "save_result", "finished_result", "summarise", "sweep_table",
           "plot_sweep"]

AMBIENT_DIM = 64
"""The ambient dimension D that every mixture of lesson 10b is embedded in."""

PACGAN_QUANTILE = 1.0 - math.exp(-4.5)
"""P(chi_2 <= 3) = 1 - exp(-9/2) ≈ 0.98889: the share of a 2-D isotropic Gaussian's samples within 3 std
of its mean, i.e. the quantile that PacGAN's 3-std radius (Lin et al. 2018, section 5.1) is in 2-D."""


# ---------------------------------------------------------------- the chi distribution
def _check_dof(dof):
    if isinstance(dof, bool) or not isinstance(dof, (int, np.integer)) or dof < 1:
        raise ValueError(f"dof: expected an int >= 1, got {dof!r}")


def chi_cdf(r, dof):
    """P(|x| <= r) for x ~ N(0, I_dof): the CDF of the chi distribution with ``dof`` degrees of freedom.

    It is the regularised lower incomplete gamma function P(dof/2, r²/2),
    summed from its power series (Abramowitz & Stegun 6.5.29) in float64;
    for dof = 2 it is 1 - exp(-r²/2).

    Args:
        r: a float >= 0, the radius in units of the standard deviation.
        dof: an int >= 1, the dimension.

    Returns:
        float in [0, 1].

    Raises:
        ValueError: dof not an int >= 1, or r negative or not finite.
    """
    _check_dof(dof)
    if not (math.isfinite(r) and r >= 0):
        raise ValueError(f"r: expected a finite number >= 0, got {r}")
    if r == 0:
        return 0.0
    a, x = dof / 2.0, r * r / 2.0
    if x > a + 60 + 10 * math.sqrt(a):                 # far in the upper tail: the series would only round to 1
        return 1.0
    term = total = 1.0 / a
    n = 0
    while term > total * 1e-17:
        n += 1
        term *= x / (a + n)
        total += term
    return min(1.0, math.exp(a * math.log(x) - x - math.lgamma(a)) * total)


def chi_quantile(q, dof):
    """The radius r with P(|x| <= r) = q for x ~ N(0, I_dof) (the chi distribution's quantile function).

    Found by bisection on :func:`chi_cdf` to a relative 1e-12. Examples:
    ``chi_quantile(PACGAN_QUANTILE, 2) == 3`` (PacGAN's radius);
    ``chi_quantile(0.5, 1)`` ≈ 0.6745 (the normal's quartile).

    Args:
        q: a probability in (0, 1). dof: an int >= 1, the dimension.

    Returns:
        float > 0, in units of the standard deviation.

    Raises:
        ValueError: q not in (0, 1), or dof not an int >= 1.
    """
    _check_dof(dof)
    if not 0 < q < 1:
        raise ValueError(f"q: expected a probability in (0, 1), got {q}")
    lo, hi = 0.0, math.sqrt(dof) + 10.0
    while chi_cdf(hi, dof) < q:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if chi_cdf(mid, dof) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return (lo + hi) / 2


def hq_radius(std, dim, quantile=PACGAN_QUANTILE):
    """The high-quality radius: a real sample lies within it of its own mode's centre with probability ``quantile``.

    PacGAN's criterion (Lin et al. 2018, section 5.1) calls a 2-D sample
    high quality within 3 std of its nearest mode; a real sample of an
    isotropic Gaussian in D dimensions lies at distance std·chi_D from its
    centre, so 3 std in 64-d would reject nearly every real sample (chi_64
    ≈ 8). The radius std·chi_quantile(quantile, D) keeps the 2-D
    criterion's meaning in any D: with the default quantile, 1 - exp(-4.5)
    ≈ 0.989, it is exactly 3 std in 2-D and ≈ 9.63 std in 64-d.

    Args:
        std: float > 0, the modes' standard deviation (per coordinate).
        dim: int >= 1, the dimension the noise lives in (64 here).
        quantile: a probability in (0, 1).

    Returns:
        float, in the data's units.

    Raises:
        ValueError: std not > 0, dim not an int >= 1, quantile not in (0, 1).
    """
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std: expected a finite number > 0, got {std}")
    return float(std) * chi_quantile(quantile, dim)


# ---------------------------------------------------------------- the data
def _rng(seed):
    return np.random.default_rng(seed)


def random_centers(n_modes, manifold_dim, radius=3.2, min_distance=1.2, rng=None, patience=20_000):
    """K centres uniform in the m-dimensional ball of radius ``radius``, no two closer than ``min_distance``.

    Sequential rejection (random sequential adsorption): candidates are drawn
    uniformly in the ball (a Gaussian direction times radius·U^(1/m)), in
    batches, and each is kept when it is at least ``min_distance`` from every
    centre kept before it. The centres are therefore the uniform distribution
    conditioned on the nearest pair being >= ``min_distance`` apart (in the
    sequential sense). Lesson 10b's defaults, radius 3.2 = 64 std and min
    distance 1.2 = 24 std of 0.05, keep every pair of modes' high-quality
    balls (radius 9.63 std, :func:`hq_radius`) apart.

    Args:
        n_modes: int >= 1, K. manifold_dim: int >= 1, m.
        radius: float > 0. min_distance: float >= 0.
        rng: a ``numpy.random.Generator`` or a seed. patience: the most
            candidates in a row that may be rejected before giving up.

    Returns:
        float64 (K, m), in the order they were accepted.

    Raises:
        ValueError: a bad argument, or ``patience`` candidates in a row are
            rejected before K centres are placed (the ball is too crowded:
            lower ``min_distance`` or raise ``radius``).
    """
    for name, v in (("n_modes", n_modes), ("manifold_dim", manifold_dim)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
    if not (radius > 0 and min_distance >= 0):
        raise ValueError(f"radius, min_distance: expected > 0 and >= 0, got {radius} and {min_distance}")
    rng = _rng(rng)
    kept, rejected = np.zeros((0, manifold_dim)), 0
    while len(kept) < n_modes:
        if rejected >= patience:
            raise ValueError(f"n_modes: could not place {n_modes} centres {min_distance} apart in the "
                             f"{manifold_dim}-ball of radius {radius} ({len(kept)} placed, then {rejected} "
                             f"candidates in a row rejected)")
        batch = rng.standard_normal((256, manifold_dim))
        batch *= (radius * rng.random(256) ** (1.0 / manifold_dim) / np.linalg.norm(batch, axis=1))[:, None]
        for c in batch:
            if len(kept) == n_modes or rejected >= patience:
                break
            if not len(kept) or np.min(np.sum((kept - c) ** 2, axis=1)) >= min_distance ** 2:
                kept, rejected = np.vstack([kept, c]), 0
            else:
                rejected += 1
    return kept


def random_embedding(manifold_dim, ambient_dim=AMBIENT_DIM, rng=None):
    """A random (ambient_dim, m) matrix with orthonormal columns: x = A u embeds R^m in R^ambient_dim.

    The Q of a QR factorisation of a Gaussian matrix, with its columns' signs
    fixed by R's diagonal, which makes it uniform (Haar) on the Stiefel
    manifold (Mezzadri 2007, "How to generate random matrices from the
    classical compact groups", section 5). Since AᵀA = I, |Au - Av| = |u - v|:
    the embedding keeps every distance.

    Args:
        manifold_dim: int m >= 1. ambient_dim: int >= m.
        rng: a ``numpy.random.Generator`` or a seed.

    Returns:
        float64 (ambient_dim, m).

    Raises:
        ValueError: m < 1 or ambient_dim < m.
    """
    if not (isinstance(manifold_dim, (int, np.integer)) and 1 <= manifold_dim <= ambient_dim):
        raise ValueError(f"manifold_dim: expected an int in [1, ambient_dim={ambient_dim}], got {manifold_dim!r}")
    q, r = np.linalg.qr(_rng(rng).standard_normal((ambient_dim, manifold_dim)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def embedded_mixture(n, n_modes, manifold_dim, ambient_dim=AMBIENT_DIM, std=0.05, radius=3.2, min_distance=1.2,
                     seed=None):
    """n points of an equal mixture of K isotropic Gaussians whose centres span a random m-d subspace of R^D.

    The centres c_k = A u_k, with u_k from :func:`random_centers` (m-ball of
    radius ``radius``, pairs >= ``min_distance`` apart) and A from
    :func:`random_embedding`; each point is x = c_k + std·ε, k uniform over
    the K modes and ε ~ N(0, I_D) in all D ambient dimensions, so a real
    sample lies std·chi_D from its centre whatever m is, and one
    high-quality radius (:func:`hq_radius`) serves every m. Drawn in this
    order from one ``default_rng(seed)``: the centres, A, the modes, the noise.

    Args:
        n: int >= 0, points. n_modes: int K >= 1. manifold_dim: int m in [1, D].
        ambient_dim: int D. std: float > 0. radius, min_distance: as for
            :func:`random_centers`. seed: an int, a sequence of ints or None.

    Returns:
        dict: ``points`` float32 (n, D), ``labels`` int64 (n,) (the mode of
        each point), ``centers`` float32 (K, D), ``centers_low`` float64
        (K, m), ``basis`` float64 (D, m), ``std`` float, and
        ``min_distance`` (the realised nearest pair's distance, float).

    Raises:
        ValueError: as :func:`random_centers` and :func:`random_embedding`; n
            negative or std not > 0.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n: expected an int >= 0, got {n!r}")
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std: expected a finite number > 0, got {std}")
    rng = _rng(seed)
    low = random_centers(n_modes, manifold_dim, radius, min_distance, rng)
    basis = random_embedding(manifold_dim, ambient_dim, rng)
    centers = low @ basis.T
    labels = rng.integers(0, n_modes, n)
    points = centers[labels] + std * rng.standard_normal((n, ambient_dim))
    d2 = np.sum((low[:, None] - low[None]) ** 2, axis=2) + np.diag(np.full(n_modes, np.inf))
    return {"points": points.astype(np.float32), "labels": labels, "centers": centers.astype(np.float32),
            "centers_low": low, "basis": basis, "std": float(std),
            "min_distance": float(np.sqrt(d2.min())) if n_modes > 1 else float("inf")}


# ---------------------------------------------------------------- coverage in D dimensions
def coverage(points, centers, std, min_share=0.1, quantile=PACGAN_QUANTILE, chunk=4096):
    """PacGAN's mode coverage (Lin et al. 2018, section 5.1) in D dimensions, vectorised.

    Each sample is assigned to its nearest centre (squared distances from
    |x|² - 2x·c + |c|², in float64, ``chunk`` samples at a time); it is
    *high quality* when that distance is <= :func:`hq_radius` (std, D,
    quantile). A mode is *covered* (PacGAN) when at least one high-quality
    sample is assigned to it, and *recovered* when at least ``min_share`` of
    its fair share N/K of the samples are high-quality samples assigned to
    it: ceil(min_share·N/K) of them, and at least 1. A generator that
    scatters samples everywhere covers many modes by a few strays; the share
    makes "recovered" a statement about mass, independent of N and K.

    Args:
        points: (N, D) samples, N >= 1, finite. centers: (K, D), K >= 1.
        std: float > 0, the modes' std. min_share: a number in [0, 1].
        quantile: the radius's quantile, in (0, 1). chunk: int >= 1.

    Returns:
        dict: ``modes_recovered`` (int), ``modes_covered`` (int, PacGAN's
        count), ``num_modes`` (K), ``fraction_recovered`` and
        ``fraction_covered`` (of K), ``high_quality`` (the fraction of the N
        samples), ``min_count`` (the samples a mode needs to be recovered),
        ``radius`` (float) and ``per_mode`` (list of K ints: high-quality
        samples per mode).

    Raises:
        ValueError: shapes not (N, D) and (K, D) with N, K >= 1, a value not
            finite, std not > 0, min_share not in [0, 1].
    """
    points, centers = check_points_and_centers(points, centers)
    if not 0 <= min_share <= 1:
        raise ValueError(f"min_share: expected a number in [0, 1], got {min_share}")
    radius = hq_radius(std, points.shape[1], quantile)
    c2 = np.sum(centers ** 2, axis=1)
    nearest, best = np.empty(len(points), np.int64), np.empty(len(points))
    for i in range(0, len(points), chunk):
        x = points[i:i + chunk]
        d2 = np.sum(x ** 2, axis=1)[:, None] - 2 * x @ centers.T + c2[None]
        nearest[i:i + chunk] = d2.argmin(axis=1)
        best[i:i + chunk] = np.maximum(d2[np.arange(len(x)), nearest[i:i + chunk]], 0.0)
    good = best <= radius ** 2
    per_mode = np.bincount(nearest[good], minlength=len(centers))
    k = len(centers)
    min_count = max(1, math.ceil(min_share * len(points) / k - 1e-9))
    recovered, covered = int((per_mode >= min_count).sum()), int((per_mode > 0).sum())
    return {"modes_recovered": recovered, "modes_covered": covered, "num_modes": k,
            "fraction_recovered": recovered / k, "fraction_covered": covered / k,
            "high_quality": float(good.mean()), "min_count": min_count, "radius": radius,
            "per_mode": per_mode.tolist()}


# ---------------------------------------------------------------- flags and runs
def mode_collapse_parser():
    """Lesson 10b's ``lesson_parser``: lesson 10's GAN settings plus the sweeps' flags, each checked by its type.

    Defaults: 2,500 generator steps of batch 256 per run, Adam 1e-3 β (0.5,
    0.999) and MLPs of 3 x 128 (lesson 10's), z of 8 dimensions, coverage
    counted on 10,000 samples every 250 steps; the sweeps ``--Ks
    8,16,32,64,128`` at ``--fixed-m 4`` and ``--ms 2,4,8,16,32`` at
    ``--fixed-K 16``, ``--seeds 0,1,2``; mixtures with std 0.05, centres in
    the ball of radius 3.2 at least 1.2 apart (:func:`embedded_mixture`),
    64-d; a mode is recovered with ``--min-share 0.1`` of its fair share
    (:func:`coverage`).

    Returns:
        ``argparse.ArgumentParser``; a value out of range ends in argparse's
        one-line error (exit status 2).
    """
    parser = lesson_parser("Mode collapse against the number of modes and the data's dimension "
                           "(Goodfellow et al. 2014; Lin et al. 2018)", steps=2500, batch_size=256,
                           out=os.path.join("runs", "10b_mode_collapse"))
    parser.add_argument("--z-dim", type=positive_int, default=8, help="latent dimension")
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="Adam's learning rate, G and D")
    parser.add_argument("--hidden", type=positive_int, default=128, help="units per hidden layer of G and D")
    parser.add_argument("--layers", type=positive_int, default=3, help="hidden layers of G and D")
    parser.add_argument("--Ks", type=int_list(1), default=[8, 16, 32, 64, 128], help="sweep (a): numbers of modes")
    parser.add_argument("--fixed-m", type=positive_int, default=4, help="sweep (a): the manifold dimension")
    parser.add_argument("--ms", type=int_list(1), default=[2, 4, 8, 16, 32], help="sweep (b): manifold dimensions")
    parser.add_argument("--fixed-K", type=positive_int, default=16, help="sweep (b): the number of modes")
    parser.add_argument("--seeds", type=int_list(0), default=[0, 1, 2], help="comma-separated seeds")
    parser.add_argument("--std", type=positive_float, default=0.05, help="each mode's std, per coordinate")
    parser.add_argument("--radius", type=positive_float, default=3.2, help="the centres' ball radius")
    parser.add_argument("--min-distance", type=positive_float, default=1.2, help="the nearest pair of centres")
    parser.add_argument("--min-share", type=probability, default=0.1,
                        help="a mode is recovered with this share of its N/K samples, high quality")
    parser.add_argument("--train-points", type=positive_int, default=50_000, help="training points per mixture")
    parser.add_argument("--eval-samples", type=positive_int, default=10_000, help="samples whose coverage is counted")
    parser.add_argument("--eval-every", type=positive_int, default=250, help="steps between coverage counts")
    parser.add_argument("--checkpoint-every", type=positive_int, default=500)
    return parser


MODE_COLLAPSE_QUICK = {"steps": 6, "batch_size": 32, "hidden": 16, "Ks": [4, 8], "ms": [2, 3], "fixed_m": 2,
                       "fixed_K": 4, "seeds": [0], "train_points": 500, "eval_samples": 400, "eval_every": 2,
                       "checkpoint_every": 3}
"""Lesson 10b's ``--quick`` values, for ``parse_args(parser, quick=MODE_COLLAPSE_QUICK)``."""


class CoverageTracker:
    """``fit``'s callback: at each listed step, :func:`coverage` of G's samples on a fixed z.

    A G whose samples are not all finite recovers and covers nothing (0, 0,
    0.0). ``fit`` checkpoints the tracker through ``state_dict`` /
    ``load_state_dict``, so its records come back on ``--resume``.

    Args:
        G: the generator, (N, z_dim) -> (N, D). z: Tensor (E, z_dim), fixed.
        centers: (K, D) the modes. std: float > 0. min_share: as for :func:`coverage`.

    Attributes:
        records: list of (step, modes recovered, modes covered, high-quality
            fraction) tuples, one per call.
        last: the last call's :func:`coverage` dict (None before the first
            call, or after a resume until the next call).
    """

    def __init__(self, G, z, centers, std, min_share=0.1):
        self.G, self.z, self.centers, self.std, self.min_share = G, z, centers, std, min_share
        self.records, self.last = [], None

    def __call__(self, step):
        """Sample G on the fixed z and append (step, recovered, covered, high quality) to ``records``."""
        points = generate(self.G, self.z)
        if np.isfinite(points).all():
            self.last = coverage(points, self.centers, self.std, self.min_share)
        else:                                          # a diverged G recovers nothing
            k = len(self.centers)
            self.last = {"modes_recovered": 0, "modes_covered": 0, "num_modes": k, "fraction_recovered": 0.0,
                         "fraction_covered": 0.0, "high_quality": 0.0, "per_mode": [0] * k}
        self.records.append((int(step), self.last["modes_recovered"], self.last["modes_covered"],
                             self.last["high_quality"]))

    def state_dict(self):
        """{} before any record, else ``records``: float64 (R, 4)."""
        return {"records": np.array(self.records, dtype=np.float64)} if self.records else {}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned (an empty dict restores no records)."""
        rec = np.asarray(state.get("records", np.zeros((0, 4))))
        self.records = [(int(r[0]), int(r[1]), int(r[2]), float(r[3])) for r in rec]

    def summary(self, steps):
        """The coverage averaged over the records after ``steps / 2`` (the last half of training).

        One count at the end is noisy: modes are found and lost from one
        evaluation to the next (lesson 10, section 6). The mean over the
        evaluations in the second half of training is the number the study
        reports.

        Args:
            steps: the run's generator steps.

        Returns:
            dict: ``fraction_recovered``, ``fraction_covered``,
            ``high_quality`` (means over those records, fractions of K and
            of the samples), ``evaluations`` (how many records).

        Raises:
            ValueError: no record after ``steps / 2``.
        """
        late = [r for r in self.records if r[0] > steps / 2]
        if not late:
            raise ValueError(f"steps: expected records after step {steps / 2}, "
                             f"got steps {[r[0] for r in self.records]}")
        k = len(self.centers)
        return {"fraction_recovered": float(np.mean([r[1] for r in late])) / k,
                "fraction_covered": float(np.mean([r[2] for r in late])) / k,
                "high_quality": float(np.mean([r[3] for r in late])), "evaluations": len(late)}


def study_runs(ks, fixed_m, ms, fixed_k, seeds):
    """The study's (K, m, seed) runs: sweep (a) then sweep (b), each configuration once.

    Args:
        ks: list of K for sweep (a), at m = ``fixed_m``. ms: list of m for
            sweep (b), at K = ``fixed_k``. seeds: list of ints.

    Returns:
        list of (K, m, seed) int tuples, sweep (a)'s configurations first,
        seeds innermost; a configuration in both sweeps (K = fixed_k in ks
        and m = fixed_m in ms) appears once.

    Raises:
        ValueError: a repeated value in ``ks``, ``ms`` or ``seeds`` (named).
    """
    for name, values in (("--Ks", ks), ("--ms", ms), ("--seeds", seeds)):
        if len(set(values)) != len(values):
            raise ValueError(f"{name}: expected distinct values, got {','.join(map(str, values))}")
    configs = [(k, fixed_m) for k in ks] + [(fixed_k, m) for m in ms]
    configs = list(dict.fromkeys(configs))
    return [(k, m, s) for k, m in configs for s in seeds]


def run_name(n_modes, manifold_dim, seed):
    """The folder name of one run: ``K<K>_m<m>_s<seed>``, e.g. ``K32_m4_s0``."""
    return f"K{n_modes}_m{manifold_dim}_s{seed}"


def save_result(folder, result):
    """Write a finished run's ``result.json`` (atomically) into ``folder``, last, so ``--resume`` skips it.

    Args:
        folder: the run's folder (created if missing). result: a JSON-ready dict.

    Returns:
        ``result``.

    Raises:
        TypeError: ``result`` is not JSON-serialisable (nothing is written).
    """
    text = json.dumps(result, indent=2) + "\n"
    os.makedirs(folder, exist_ok=True)
    atomic_write_bytes(os.path.join(folder, "result.json"), text.encode())
    return result


def summarise(results, key, fixed):
    """One sweep's summary over seeds: per value of ``key``, the mean, min and max of each coverage number.

    Args:
        results: the runs' dicts, each with ``n_modes``, ``manifold_dim``,
            ``seed``, ``fraction_recovered``, ``fraction_covered``,
            ``high_quality`` and ``seconds``.
        key: ``"n_modes"`` (sweep (a)) or ``"manifold_dim"`` (sweep (b)).
        fixed: the other variable's value; runs with another value are left out.

    Returns:
        list of dicts sorted by ``key``'s value: ``value``, ``seeds`` (list),
        and for each of ``fraction_recovered``, ``fraction_covered``,
        ``high_quality`` and ``seconds`` a dict ``{"mean", "min", "max",
        "per_seed"}`` (per_seed in the order of ``seeds``, ascending).

    Raises:
        ValueError: ``key`` is neither name.
    """
    other = {"n_modes": "manifold_dim", "manifold_dim": "n_modes"}.get(key)
    if other is None:
        raise ValueError(f"key: expected 'n_modes' or 'manifold_dim', got {key!r}")
    rows = []
    for value in sorted({r[key] for r in results if r[other] == fixed}):
        runs = sorted((r for r in results if r[key] == value and r[other] == fixed), key=lambda r: r["seed"])
        row = {"value": value, "seeds": [r["seed"] for r in runs]}
        for name in ("fraction_recovered", "fraction_covered", "high_quality", "seconds"):
            v = [float(r[name]) for r in runs]
            row[name] = {"mean": float(np.mean(v)), "min": min(v), "max": max(v), "per_seed": v}
        rows.append(row)
    return rows


def sweep_table(rows, label):
    """A Markdown table of :func:`summarise`'s rows: modes recovered, covered and high quality, mean [min, max].

    Args:
        rows: :func:`summarise`'s list. label: the first column's header, e.g. "K".

    Returns:
        str, a header, a rule and one line per row, percentages to 1 decimal
        (``| 8 | 87.5 % [75.0, 100.0] | ...``).
    """
    def cell(s):
        return f"{100 * s['mean']:.1f} % [{100 * s['min']:.1f}, {100 * s['max']:.1f}]"
    lines = [f"| {label} | modes recovered | modes covered (≥ 1 sample) | high-quality samples | train time |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['value']} | {cell(r['fraction_recovered'])} | {cell(r['fraction_covered'])} | "
              f"{cell(r['high_quality'])} | {r['seconds']['mean']:.0f} s |" for r in rows]
    return "\n".join(lines) + "\n"


def plot_sweep(path, rows, xlabel, title):
    """One sweep's figure: the fraction of modes recovered (and PacGAN's covered), and the high-quality fraction.

    Each curve is the mean over seeds, with the seeds' min-max range shaded
    and every seed's value as a dot; the x axis is logarithmic in base 2.

    Args:
        path: the PNG to write (atomically). rows: :func:`summarise`'s list.
        xlabel: the x axis's label. title: the figure's title.

    Returns:
        ``pathlib.Path`` of the written file.

    Raises:
        ValueError: ``rows`` is empty.
    """
    if not rows:
        raise ValueError("rows: expected at least one value of the sweep, got none")
    import matplotlib.pyplot as plt
    x = [r["value"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, names in ((axes[0], (("fraction_recovered", "recovered (≥ min share)"),
                                 ("fraction_covered", "covered (≥ 1 sample, PacGAN)"))),
                      (axes[1], (("high_quality", "high-quality samples"),))):
        for name, label in names:
            mean = [r[name]["mean"] for r in rows]
            line, = ax.plot(x, mean, marker="o", label=label)
            ax.fill_between(x, [r[name]["min"] for r in rows], [r[name]["max"] for r in rows],
                            color=line.get_color(), alpha=0.2)
            for r in rows:
                ax.scatter([r["value"]] * len(r[name]["per_seed"]), r[name]["per_seed"], s=8,
                           color=line.get_color())
        ax.set_xscale("log", base=2)
        ax.set_xticks(x, [str(v) for v in x])
        ax.set(xlabel=xlabel, ylim=(-0.03, 1.03))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("fraction of modes")
    axes[1].set_ylabel("fraction of samples")
    fig.suptitle(title)
    return viz.save_figure(fig, path, dpi=80)

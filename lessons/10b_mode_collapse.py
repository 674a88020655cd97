# %% [markdown]
# # Lesson 10b: mode collapse against the number of modes and the data's dimension
#
# Lesson 10 counted the modes a GAN finds on 8 and 25 Gaussians in the
# plane. The lecture shows two measured trends of mode collapse:
# - (a) with the data's dimension fixed, the **fraction** of modes a GAN
#   recovers falls as the number of modes K grows;
# - (b) the larger the dimension m of the data's manifold, the more the GAN
#   collapses.
#
# This lesson measures both, in small, with lesson 10's GAN (Goodfellow et
# al. 2014: MLPs, the non-saturating loss, one D step per G step, Adam) on
# mixtures of K Gaussians whose centres span a random m-dimensional
# subspace of a 64-dimensional space, and PacGAN's mode count (Lin et al.
# 2018, section 5.1) carried over to 64 dimensions.
#
#     .venv/bin/python lessons/10b_mode_collapse.py            # 2 sweeps x 3 seeds, 27 runs: 5 min 14 s (2-core CPU)
#     .venv/bin/python lessons/10b_mode_collapse.py --quick    # seconds, for the tests
#     .venv/bin/python lessons/10b_mode_collapse.py --resume   # skip the finished runs, continue an interrupted one
#     .venv/bin/python lessons/10b_mode_collapse.py --Ks 8,128 --ms 2,32 --seeds 0   # a subset
#
# Outputs in `--out` (default `runs/10b_mode_collapse`): `modes.png` and
# `dimension.png` (the two sweeps), `study.md` (their tables),
# `metrics.json` (every run and both summaries), and per run a folder
# `K<K>_m<m>_s<seed>/` with `result.json` (written last: `--resume` skips
# the run), the log `K<K>_m<m>_s<seed>.jsonl` and the resumable `.npz`. The
# workbench `tinygen/utils/mode_collapse.py` holds the data, the coverage,
# the bookkeeping and the figures; the models and the step are below.

# %%
import os
import time

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import mode_collapse as mc
from tinygen.utils.data import Batches
from tinygen.utils.fileio import atomic_write_bytes
from tinygen.utils.run import RunDir, flag_error, parse_args
from tinygen.utils.toy import fixed_noise
from tinygen.utils.train import fit

parser = mc.mode_collapse_parser()                     # the flags: see `--help`
args = parse_args(parser, quick=mc.MODE_COLLAPSE_QUICK)
try:
    RUNS = mc.study_runs(args.Ks, args.fixed_m, args.ms, args.fixed_K, args.seeds)
except ValueError as error:
    flag_error(parser, *str(error).split(": ", 1))
if max(args.ms + [args.fixed_m]) > mc.AMBIENT_DIM:
    flag_error(parser, "--ms, --fixed-m", f"expected manifold dimensions <= {mc.AMBIENT_DIM}, got "
               f"{max(args.ms + [args.fixed_m])}")
DATA = dict(std=args.std, radius=args.radius, min_distance=args.min_distance)

# %% [markdown]
# ## 1. The data: K modes on an m-dimensional plane in 64 dimensions
#
# `mc.embedded_mixture` draws, from one seed:
# - K centres u_k **uniformly in the m-dimensional ball of radius 3.2**,
#   each kept only if it is at least **1.2** from every centre kept before
#   (sequential rejection), so the nearest pair is at least 24 std apart;
# - a random 64 x m matrix A with orthonormal columns (the Q of a QR of a
#   Gaussian matrix); the centres are c_k = A u_k. AᵀA = I, so every
#   distance between centres is kept, and the plane is not aligned with
#   the coordinate axes;
# - each point x = c_k + σ ε with k uniform over the modes and
#   ε ~ N(0, I_64), **σ = 0.05** (lesson 10's grid), in all 64 directions.
#
# Why these numbers:
# - **σ in all 64 directions**: a real sample then lies σ·chi_64 (about 8σ)
#   from its centre for every m, so one high-quality radius (section 3)
#   serves every run, and a change with m is the GAN's, not the yardstick's.
# - **The same radius for every m**: the data have the same size whatever
#   m is; the root-mean-square distance between two centres,
#   3.2·√(2m/(m+2)), only grows from 3.2 (m = 2) to 4.4 (m = 32). What m
#   changes is the layout:
#   in 2-D, 16 modes crowd the disc and each has near neighbours; in 32-D
#   every mode is about equally far from every other (seed 0: nearest pair
#   24σ at m = 2, 62σ at m = 32).
# - **1.2 = 24σ**: the high-quality balls (radius 9.63σ) stay 4.7σ apart,
#   so no sample is high quality for two modes, and a point halfway between
#   the nearest two modes (12σ from both) is never high quality.
# - **3.2 = 64σ**: the most crowded layout (16 modes in the disc, m = 2)
#   still fits: discs of radius 12σ fill 40 % of it, under the ~55 % where
#   sequential rejection jams. A larger radius asks G for more precision:
#   in pilot runs with lesson 10's σ = 0.02 in a ball of radius 4 (200σ),
#   2,000 steps gave **no** high-quality sample at all (K = 8, m = 4): G
#   must match the data to about σ in every one of 64 coordinates.
#
# The seed draws the centres, A, the training points and the networks'
# initial weights, so the range over three seeds includes the layout.
# VEEGAN (Srivastava et al. 2017) tested mode collapse the same way beyond
# 2-D: ten 700-dimensional Gaussians embedded in a 1200-dimensional space,
# with a sample high quality within 10 std of the nearest mode.

# %%
for K, m in dict.fromkeys((K, m) for K, m, _ in RUNS):
    try:
        d = mc.embedded_mixture(10, K, m, **DATA, seed=[0, K, m])   # seed 0's layout of each configuration
    except ValueError as error:
        flag_error(parser, "--min-distance, --radius", str(error))
    pair = np.sqrt(((d["centers_low"][:, None] - d["centers_low"][None]) ** 2).sum(-1))[np.triu_indices(K, 1)]
    print(f"K = {K:3d}, m = {m:2d}: nearest pair {d['min_distance'] / args.std:5.1f} std, "
          f"mean pair {pair.mean() / args.std:5.1f} std" if K > 1 else f"K = 1, m = {m}")

# %% [markdown]
# ## 2. The GAN: lesson 10's, with 64-d outputs
#
# G maps z ~ N(0, I_8) through `--layers` (3) hidden ReLU layers of
# `--hidden` (128) units to a point in R^64, linear output; D maps R^64 to
# one logit through the same MLP shape. D minimises the binary
# cross-entropy with label 1 on real points and 0 on generated ones,
# −V(D, G) of Goodfellow et al. (eq. 1); G minimises the non-saturating
# loss −log D(G(z)) = softplus(−l) (their section 3). One D step, then one
# G step with D frozen, Adam at 1e-3 with β1 = 0.5, all as in lesson 10.
# z has 8 dimensions (lesson 10 used 2 for points in the plane), the
# same for every run, so what changes from run to run is only the data.

# %%
def mlp(n_in, n_out, hidden, layers):
    """(N, n_in) -> (N, n_out): ``layers`` hidden ReLU layers of ``hidden`` units, a linear output."""
    blocks, width = [], n_in
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, n_out))


def make_models(seed):
    """A fresh (G, D, optG, optD), seeded: the same run starts the same way whatever ran before it."""
    tg.manual_seed(seed)
    G = mlp(args.z_dim, mc.AMBIENT_DIM, args.hidden, args.layers).to(args.device)
    D = mlp(mc.AMBIENT_DIM, 1, args.hidden, args.layers).to(args.device)
    return G, D, *(optim.Adam(p.parameters(), lr=args.lr, betas=(0.5, 0.999)) for p in (G, D))


def make_step(G, D, optG, optD, z_dim, batch_size):
    """One iteration: D's step on BCE(D(x), 1) + BCE(D(G(z)), 0), then G's on softplus(−D(G(z))), D frozen."""
    def step(next_batch):
        real = next_batch()
        n, device = real.shape[0], real.device
        with tg.no_grad():
            fake = G(tg.randn(n, z_dim, device=device))
        loss_D = (F.binary_cross_entropy_with_logits(D(real), tg.ones(n, 1, device=device))
                  + F.binary_cross_entropy_with_logits(D(fake), tg.zeros(n, 1, device=device)))
        optD.zero_grad()
        loss_D.backward()
        optD.step()
        D.requires_grad_(False)                        # G's step: no weight gradients for D
        logits = D(G(tg.randn(batch_size, z_dim, device=device)))
        loss_G = F.softplus(-logits).mean()            # −log σ(l): the non-saturating loss
        optG.zero_grad()
        loss_G.backward()
        optG.step()
        D.requires_grad_(True)
        return {"loss_D": loss_D.item(), "loss_G": loss_G.item(), "d_fake": float(F.sigmoid(logits).numpy().mean())}
    return step


# %% [markdown]
# ## 3. Counting modes in 64 dimensions
#
# PacGAN's criterion in 2-D: a sample is high quality within 3σ of its
# nearest centre. In 64-d a *real* sample is about 8σ from its centre
# (|ε| follows the chi distribution with 64 degrees of freedom), so 3σ
# would reject all the data (the tests check it). The radius that keeps the criterion's
# meaning is a quantile of that chi distribution: in 2-D, 3σ holds
# P(chi_2 ≤ 3) = 1 − e^(−9/2) = 98.9 % of a mode's real samples; in 64-d
# the same 98.9 % lie within **9.63σ** (`mc.hq_radius`). So a sample is
# high quality when it is within 9.63σ of its nearest centre (VEEGAN's
# 10σ in 1200-d was a round number of the same size).
#
# PacGAN counts a mode as covered with one high-quality sample. With K up
# to 128 and a G that smears its samples, one stray sample per mode is easy
# to get; here a mode is **recovered** when it receives at least 10 % of its
# fair share (`--min-share`) of the N = 10,000 samples, ⌈0.1·N/K⌉
# high-quality samples nearest to it (125 for K = 8, 8 for K = 128), which
# does not depend on N or K. The real data recover every mode (the tests
# check it), with 98.9 % high-quality samples. PacGAN's count is reported
# beside it. `mc.coverage` computes both from one (N, K) matrix of squared
# distances, |x|² − 2x·c + |c|², in chunks.
#
# ## 4. The study
#
# Sweep (a): K ∈ {8, 16, 32, 64, 128} at m = 4 (the disc, m = 2, cannot
# hold 128 centres 24σ apart). Sweep (b): m ∈ {2, 4, 8, 16, 32} at K = 16
# (32 centres do not fit the disc). K = 16, m = 4 is in both and trained
# once: 9 configurations x 3 seeds = 27 runs.
#
# Each run: 2,500 generator steps of batch 256. The budget sets this: a
# step costs about 5-7 ms on this CPU, so a run is 12-17 s and the study
# 5-8 minutes, inside the 10 minutes it may take in the shared run queue
# (measured: 11.6 s per run, 5 min 14 s in all, section 5). Batch 128
# halves the cost but, in one pilot, left G too imprecise
# (K = 16, m = 2: 3.5 % high quality at step 3,000 against 37 % with batch
# 256 at step 2,000). The pilots also showed the count jumping from one
# evaluation to the next (modes found and lost, as in lesson 10), so
# `mc.CoverageTracker` counts 10,000 samples of a fixed z every 250 steps,
# and a run's number is the **mean over the counts of its last half**
# (steps 1,500 to 2,500: five counts); the final count is kept too.

# %%
def train_and_score(K, m, seed):
    """Train one (K, m, seed) run, count its coverage, write ``K<K>_m<m>_s<seed>/result.json``; returns it."""
    name = mc.run_name(K, m, seed)
    folder = os.path.join(args.out, name)
    done = mc.finished_result(folder) if args.resume else None
    if done is not None:
        print(f"[{name}] finished, skipped")
        return done
    data = mc.embedded_mixture(args.train_points, K, m, **DATA, seed=[seed, K, m])
    G, D, optG, optD = make_models(seed)
    tracker = mc.CoverageTracker(G, fixed_noise([seed, 2], args.eval_samples, args.z_dim, args.device),
                                 data["centers"], args.std, args.min_share)     # fit checkpoints it too
    history = fit(make_step(G, D, optG, optD, args.z_dim, args.batch_size),
                  Batches(data["points"], batch_size=args.batch_size, seed=seed), args.steps, RunDir(folder),
                  name=name, models={"G": G, "D": D}, optimizers={"G": optG, "D": optD}, resume=args.resume,
                  device=args.device, pull=True, print_every=2 if args.quick else 500,
                  checkpoint_every=args.checkpoint_every, callback=tracker,
                  callback_steps=range(args.eval_every, args.steps + 1, args.eval_every))
    if not tracker.records or tracker.records[-1][0] != args.steps:
        tracker(args.steps)                            # the final count, if --eval-every skipped it
    elif tracker.last is None:                         # resumed after the final count: count it again
        tracker.records.pop()
        tracker(args.steps)
    late = tracker.summary(args.steps)                 # the mean over the last half's counts
    final = {k: tracker.last[k] for k in ("modes_recovered", "modes_covered", "high_quality", "per_mode")}
    result = {"n_modes": K, "manifold_dim": m, "seed": seed, "steps": args.steps, "seconds": history.seconds,
              "nearest_pair": data["min_distance"], **late, "final": final, "curve": tracker.records,
              "loss_D_last_500": float(np.mean([r["loss_D"] for r in history[-500:]]))}
    print(f"[{name}] last half: {100 * late['fraction_recovered']:.1f} % of {K} modes recovered, "
          f"{100 * late['high_quality']:.1f} % high quality; final {final['modes_recovered']}/{K} "
          f"({final['modes_covered']} covered), {history.seconds:.0f} s")
    return mc.save_result(folder, result)


t_start = time.perf_counter()
results = [train_and_score(K, m, seed) for K, m, seed in RUNS]

# %% [markdown]
# ## 5. What was measured
#
# The default run (seeds 0, 1, 2; 27 runs of 2,500 steps) took
# 5 min 14 s of wall-clock time in the run queue (5.2 min of training,
# 11.6 s per run). Each number is the mean over the five
# counts of a run's last half, then the mean [min, max] over the 3 seeds
# (`study.md`, `metrics.json`).
#
# **Sweep (a)**, K modes at m = 4 (`modes.png`):
#
# | K | modes recovered (of K) | fraction recovered | per seed | covered (≥ 1 sample) | high-quality samples |
# | --- | --- | --- | --- | --- | --- |
# | 8 | 3.1 of 8 | 38.3 % [22.5, 50.0] | 22.5, 50.0, 42.5 | 40.8 % [30.0, 50.0] | 56.9 % [39.3, 70.3] |
# | 16 | 8.9 of 16 | 55.8 % [46.2, 61.3] | 60.0, 61.3, 46.2 | 57.9 % [48.8, 62.5] | 68.6 % [64.5, 74.1] |
# | 32 | 12.5 of 32 | 39.2 % [31.2, 44.4] | 31.2, 41.9, 44.4 | 56.0 % [43.1, 66.9] | 32.2 % [28.1, 36.5] |
# | 64 | 0.1 of 64 | 0.2 % [0.0, 0.6] | 0.0, 0.6, 0.0 | 1.9 % [0.0, 3.1] | 0.1 % [0.0, 0.2] |
# | 128 | 0.0 of 128 | 0.0 % [0.0, 0.0] | 0.0, 0.0, 0.0 | 1.6 % [0.2, 3.0] | 0.0 % [0.0, 0.0] |
#
# **Sweep (b)**, manifold dimension m at K = 16 (`dimension.png`):
#
# | m | modes recovered (of K) | fraction recovered | per seed | covered (≥ 1 sample) | high-quality samples |
# | --- | --- | --- | --- | --- | --- |
# | 2 | 4.9 of 16 | 30.4 % [21.2, 35.0] | 35.0, 35.0, 21.2 | 49.2 % [42.5, 58.8] | 21.0 % [14.4, 26.2] |
# | 4 | 8.9 of 16 | 55.8 % [46.2, 61.3] | 60.0, 61.3, 46.2 | 57.9 % [48.8, 62.5] | 68.6 % [64.5, 74.1] |
# | 8 | 3.2 of 16 | 20.0 % [12.5, 28.7] | 28.7, 18.8, 12.5 | 20.4 % [13.8, 28.7] | 52.9 % [23.0, 70.7] |
# | 16 | 0.0 of 16 | 0.0 % [0.0, 0.0] | 0.0, 0.0, 0.0 | 0.0 % [0.0, 0.0] | 0.0 % [0.0, 0.0] |
# | 32 | 0.0 of 16 | 0.0 % [0.0, 0.0] | 0.0, 0.0, 0.0 | 0.0 % [0.0, 0.0] | 0.0 % [0.0, 0.0] |
#
# **Trend (a) holds past a point, not from the start.** The fraction
# recovered falls from 39 % at K = 32 to 0.2 % at K = 64 and 0 at K = 128
# on every seed (Spearman's ρ of the mean against K: −0.70), but it *rises*
# from K = 8 (38 %) to K = 16 (56 %). In modes, G finds 3.1 of 8, 8.9 of
# 16, 12.5 of 32, then none: up to 32 modes the GAN collapses onto a part of
# them (seed 0 at K = 8 ends on one mode, 1 recovered and 2 covered), and
# at 64 and 128 modes, whose nearest neighbours are only 24σ apart, it does
# not settle on any: its samples lie between the modes (≤ 0.1 % high quality,
# 2 % of the modes touched by a stray sample) and D is near chance (L_D over
# the last 500 steps 0.8 to 1.4, chance 1.386), fooled by a smear, as
# lesson 10's weak D was by a blob.
#
# **Trend (b) holds from m = 4 on.** At K = 16 the fraction recovered goes
# 56 % (m = 4), 20 % (m = 8), 0 (m = 16 and 32, every seed; ρ = −0.87). At
# m = 8 this is collapse in its classic form: G keeps 3 to 5 modes with
# 53 % high-quality samples; at m ≥ 16, where every mode is 53-65σ from its
# nearest neighbour, G reaches none (0 high-quality samples) and D wins
# (L_D ≈ 0.24). m = 2 breaks the trend the other way, 30 % (below m = 4),
# and for another reason: there the 16 modes crowd the disc (nearest pairs
# 24σ apart), G smears its mass over the disc (21 % high quality, 49 % of
# the modes touched but 30 % recovered) rather than dropping modes.
#
# So the lecture's two trends show up here as two ways to fail: with many
# modes or many dimensions, the GAN's fixed capacity and budget (the same
# networks and 2,500 steps for every run) stop reaching the modes at all.
# Where they are few and far apart, G concentrates on a few. The numbers
# are for one budget; lesson 10's grid runs show how much one run can move
# with the seed, and here too the seeds' ranges are 13 to 28 points wide where G
# recovers anything.

# %%
rows_a = mc.summarise(results, "n_modes", args.fixed_m)
rows_b = mc.summarise(results, "manifold_dim", args.fixed_K)
text = (f"Sweep (a): K modes at m = {args.fixed_m}\n\n{mc.sweep_table(rows_a, 'K')}\n"
        f"Sweep (b): manifold dimension m at K = {args.fixed_K}\n\n{mc.sweep_table(rows_b, 'm')}")
print(text)
atomic_write_bytes(os.path.join(args.out, "study.md"), text.encode())
seeds = ",".join(map(str, args.seeds))
mc.plot_sweep(os.path.join(args.out, "modes.png"), rows_a, "number of modes K",
              f"Sweep (a): modes recovered against K (m = {args.fixed_m}; mean, range over seeds {seeds})")
mc.plot_sweep(os.path.join(args.out, "dimension.png"), rows_b, "manifold dimension m",
              f"Sweep (b): modes recovered against m (K = {args.fixed_K}; mean, range over seeds {seeds})")
RunDir(args.out).save_metrics({"config": {k: v for k, v in vars(args).items() if k not in ("quick", "resume")},
                               "runs": results, "sweep_modes": rows_a, "sweep_dimension": rows_b,
                               "train_seconds_total": float(sum(r["seconds"] for r in results)),
                               "wall_seconds_this_call": time.perf_counter() - t_start})
print(f"done: {len(results)} runs in {args.out}; {sum(r['seconds'] for r in results):.0f} s of training")

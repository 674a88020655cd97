# %% [markdown]
# # Lesson 10: a GAN in two dimensions: the minimax game, its two generator losses, mode collapse
#
# The original GAN (Goodfellow et al. 2014) with MLPs on points in the
# plane, where everything a GAN does can be seen and counted: the data are
# mixtures of small Gaussians, so "how many modes did the generator find" is
# a number, measured the way PacGAN (Lin et al. 2018) measures it. The
# lesson follows the lecture's slides on the minimax game, on the
# minimax-versus-heuristic generator loss and on mode collapse:
# - the two generator losses and their gradients, as functions of D(G(z));
# - both trained on the ring of 8 and the grid of 25 Gaussians, with the
#   modes covered over training against PacGAN's plain GAN;
# - a weak and a strong discriminator (k D steps per G step), and the
#   slide's adaptive schedule;
# - a run that collapses, and what collapse looks like.
#
#     .venv/bin/python lessons/10_toy_gan.py                 # all 8 runs: 8 min on a 2-core CPU
#     .venv/bin/python lessons/10_toy_gan.py --quick         # seconds, for the tests
#     .venv/bin/python lessons/10_toy_gan.py --resume        # continue an interrupted run, run by run
#
# Outputs in `--out` (default `runs/10_toy_gan`): `training.gif` (the main
# run's samples over the data), `generator_losses.png`, `losses.png`,
# `samples.png` (every run's final samples), `coverage.png`, `collapse.png`,
# `metrics.json`, and per run a log `<run>.jsonl` and a resumable `<run>.npz`.
#
# The lesson keeps the models, the losses and the training step in view;
# its workbench, `tinygen/utils/toy.py`, holds the data, the flags, the
# coverage tracker that `fit` calls back (and checkpoints, for `--resume`),
# each run's summary and the figures of all runs.

# %%
import copy

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import toy, viz  # toy: the data and this lesson's workbench; viz selects matplotlib's Agg
import matplotlib.pyplot as plt
from tinygen.utils.data import Batches
from tinygen.utils.gan import export_samples, generate
from tinygen.utils.run import RunDir, parse_args
from tinygen.utils.train import fit

parser = toy.toy_gan_parser()                      # the flags: see `--help`
args = parse_args(parser, quick=toy.TOY_GAN_QUICK)
RUNS = {"ring_ns": dict(data="ring", loss="ns", k=1),        "ring_minimax": dict(data="ring", loss="minimax", k=1),
        "grid_ns": dict(data="grid", loss="ns", k=1),        "grid_minimax": dict(data="grid", loss="minimax", k=1),
        "grid_weak": dict(data="grid", loss="ns", k=1 / args.weak_every),
        "grid_strong": dict(data="grid", loss="ns", k=args.k_strong),
        "grid_adaptive": dict(data="grid", loss="ns", k="adaptive"),
        "ring_collapse": dict(data="ring", loss="ns", k=1, lr=args.collapse_lr)}   # the runs of section 5
MAIN = "ring_ns"
selected = toy.select_runs(parser, args, RUNS, MAIN)   # checked before anything is written
run = RunDir(args.out)

# %% [markdown]
# ## 1. The data: the ring and the grid
#
# Two mixtures of equally weighted, tiny isotropic Gaussians
# (`tinygen.utils.toy`):
# - the **ring**: 8 modes on a circle of radius 2, std 0.02 (Metz et al.
#   2017, "Unrolled GANs", section 3.1; PacGAN's code draws the same ring at
#   half the scale, radius 1 and std 0.01);
# - the **grid**: 25 modes at {-4, -2, 0, 2, 4}², std 0.05 (PacGAN, section 5).
#
# Neighbouring modes are 40 to 77 standard deviations apart (grid: spacing
# 2 / std 0.05 = 40; ring: chord 2·2·sin(π/8) ≈ 1.53 / std 0.02 ≈ 77), so
# almost all of the plane has zero density: a generator that spreads mass
# between modes is easy to catch, and one that drops a mode is easy to count.
#
# **Mode coverage** (PacGAN's definition, `tinygen.utils.metrics.mode_coverage`):
# draw 2,500 samples; a sample is *high quality* when it lies within 3 std
# of its nearest mode; a mode is *covered* when at least one high-quality
# sample is nearest to it. PacGAN's Table 1 gives a plain GAN (their
# architecture, averaged over 10 runs) **6.3 of 8** ring modes with 98.2%
# high-quality samples and **17.3 of 25** grid modes with 94.8%: the
# reference our plain GAN is compared with.

# %%
DATASETS = toy.toy_datasets(5_000 if args.quick else 100_000, args.seed)   # PacGAN's sets have 100,000 points
for key, data in DATASETS.items():
    print(f"{key}: {len(data['points'])} points, {len(data['centers'])} modes, std {data['std']}")
PACGAN_GAN = {"ring": {"modes": 6.3, "high_quality": 0.982}, "grid": {"modes": 17.3, "high_quality": 0.948}}

# %% [markdown]
# ## 2. The minimax game
#
# A generator G maps noise z ~ p_z (here a 2-D standard normal, as in
# PacGAN) to points G(z); a discriminator D(x) ∈ (0, 1) is the probability
# that x is real. They play (Goodfellow et al. 2014, eq. 1)
#
#     min_G max_D V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 − D(G(z)))].
#
# For a fixed G, V is maximised pointwise: a log D + b log(1 − D) peaks at
# D = a/(a + b), so the **optimal discriminator** is (Proposition 1)
#
#     D*(x) = p_data(x) / (p_data(x) + p_g(x)),
#
# and putting it back gives C(G) = max_D V = −log 4 + 2 JSD(p_data ‖ p_g)
# (Theorem 1): the generator minimises the Jensen-Shannon divergence, whose
# only minimum is p_g = p_data, where D* = 1/2 everywhere and V = −log 4.
#
# D outputs a logit l, D = σ(l), and maximising V is minimising the binary
# cross-entropy with label 1 for real points and 0 for generated ones:
#
#     L_D = BCE(l_real, 1) + BCE(l_fake, 0) = −E[log D(x)] − E[log(1 − D(G(z)))] = −V,
#
# computed from the logits (`F.binary_cross_entropy_with_logits`), which
# never takes the log of a rounded probability. At the equilibrium
# L_D = 2 log 2 ≈ 1.386: **a discriminator loss near 1.386 means chance**,
# not failure.
#
# ## 3. Two losses for the generator
#
# The minimax generator minimises log(1 − D(G(z))). With D = σ(l),
# 1 − σ(l) = σ(−l) = 1/(1 + e^l), so
#
#     log(1 − σ(l)) = −log(1 + e^l) = −softplus(l),        d/dl = −σ(l) = −D.
#
# Early in training D rejects the samples easily: D(G(z)) ≈ 0, and the
# gradient that reaches G through the logit, −D, vanishes with it. The loss
# **saturates** exactly when G most needs to learn. Goodfellow et al.
# (section 3) therefore train G to *maximise* log D(G(z)) instead, the
# **non-saturating** heuristic:
#
#     −log σ(l) = log(1 + e^−l) = softplus(−l),            d/dl = −σ(−l) = −(1 − D).
#
# Same fixed point (both push D(G(z)) up), but now the gradient is largest,
# −1, where D rejects the samples, and small only once G fools D. The
# figure below draws both losses and their logit gradients against
# D(G(z)) ∈ (0, 1), computed analytically.

# %%
d = np.linspace(1e-3, 1 - 1e-3, 999)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for kind, loss, loss_text, grad, grad_text in (
        ("minimax", np.log(1 - d), "log(1 − D(G(z)))", d, "D(G(z))"),                  # analytic, section 3
        ("non-saturating", -np.log(d), "−log D(G(z))", 1 - d, "1 − D(G(z))")):
    axes[0].plot(d, loss, label=f"{kind}: {loss_text}")
    axes[1].plot(d, grad, label=f"{kind}: |∂/∂l| = {grad_text}")
axes[0].set_ylim(-5, 5)
for ax, ylabel in zip(axes, ("generator loss (minimised)", "|gradient w.r.t. D's logit l|")):
    ax.set(xlabel="D(G(z))", ylabel=ylabel)
    ax.axvspan(0, 0.1, color="0.9")
    ax.text(0.012, 0.04, "D rejects\nthe samples", transform=ax.transAxes, fontsize=8, va="bottom")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper center")
fig.suptitle("The two generator losses and their gradients (Goodfellow et al. 2014, section 3)")
viz.save_figure(fig, run.file("generator_losses.png"), dpi=80)


def generator_loss(logits, kind):
    """G's loss from D's logits on generated points: 'minimax' log(1 − D) or 'ns' −log D, both minimised."""
    if kind == "minimax":
        return (-F.softplus(logits)).mean()        # log(1 − σ(l)) = −softplus(l)
    return F.softplus(-logits).mean()              # −log σ(l) = softplus(−l)


# %% [markdown]
# ## 4. The models, and the saturation measured
#
# Both players are MLPs with `--layers` hidden ReLU layers of `--hidden`
# units (PacGAN used 4 x 400 for G and 3 x 200 maxout units for D; ours is
# smaller, to train many runs in minutes). G has a linear output: points
# in the plane are unbounded.
#
# Now the saturation on a real network: take a freshly initialised G, train
# D alone against its samples until D rejects them, and measure the norm of
# the gradient of each generator loss with respect to G's parameters. Then
# take one plain SGD step of G on each loss, from the same start, and see
# how far D(G(z)) moves. (Adam, which trains the runs below, divides each
# update by a running scale of the gradient, so it partly hides a small
# gradient; it cannot restore the direction that a vanished gradient lost.)

# %%
def mlp(n_in, n_out):
    """(N, n_in) -> (N, n_out): --layers hidden ReLU layers of --hidden units, linear output."""
    layers, width = [], n_in
    for _ in range(args.layers):
        layers += [nn.Linear(width, args.hidden), nn.ReLU()]
        width = args.hidden
    return nn.Sequential(*layers, nn.Linear(width, n_out))


def make_models(seed, lr):
    """A fresh (G, D, optG, optD), seeded: the same run starts the same way whatever ran before it."""
    tg.manual_seed(seed)
    G, D = mlp(args.z_dim, 2).to(args.device), mlp(2, 1).to(args.device)
    # β1 = 0.5, the DCGAN choice (Radford et al. 2015): less momentum, for a moving target
    return G, D, *(optim.Adam(m.parameters(), lr=lr, betas=(0.5, 0.999)) for m in (G, D))


def d_update(G, D, optD, real):
    """One discriminator step on L_D = BCE(D(real), 1) + BCE(D(G(z)), 0); returns L_D before the step."""
    n = real.shape[0]
    with tg.no_grad():
        fake = G(tg.randn(n, args.z_dim, device=args.device))
    loss = (F.binary_cross_entropy_with_logits(D(real), tg.ones(n, 1, device=args.device))
            + F.binary_cross_entropy_with_logits(D(fake), tg.zeros(n, 1, device=args.device)))
    optD.zero_grad()
    loss.backward()
    optD.step()
    return loss.item()


SGD_LR = 0.1  # a plain step, whose size is the gradient's; Adam divides by the gradient's scale
G0, D0, _, optD0 = make_models(args.seed, args.lr)
FIT = dict(resume=args.resume, device=args.device, pull=True, print_every=4 if args.quick else 500)
probe = fit(lambda next_batch: {"loss_D": d_update(G0, D0, optD0, next_batch())},
            Batches(DATASETS["ring"]["points"], batch_size=args.batch_size, seed=args.seed), args.probe_steps, run,
            name="probe", models={"G": G0, "D": D0}, optimizers={"D": optD0}, checkpoint_every=args.probe_steps, **FIT)
z_probe = toy.fixed_noise([args.seed, 1], args.eval_samples, args.z_dim, args.device)
real_probe = tg.tensor(DATASETS["ring"]["points"][:args.eval_samples], device=args.device)
with tg.no_grad():
    sat = {"d_real_mean": float(F.sigmoid(D0(real_probe)).numpy().mean())}   # D accepts the data ...
D0.requires_grad_(False)                           # D fixed: the gradients go to G only
for kind in ("minimax", "ns"):                     # each loss's gradient, then one plain SGD step of G, same start
    G1 = copy.deepcopy(G0)
    logits = D0(G1(z_probe))
    sat["d_fake_mean"] = float(F.sigmoid(logits).numpy().mean())            # ... and rejects G's points
    generator_loss(logits, kind).backward()
    sat[f"grad_norm_{kind}"] = toy.grad_norm(G1)
    optim.SGD(G1.parameters(), lr=SGD_LR).step()
    with tg.no_grad():
        sat[f"d_fake_after_sgd_step_{kind}"] = float(F.sigmoid(D0(G1(z_probe))).numpy().mean())
D0.requires_grad_(True)
sat.update(loss_D=probe[-1]["loss_D"], loss_D_first=probe[0]["loss_D"])
print(toy.describe_saturation(sat, args.probe_steps, SGD_LR))

# %% [markdown]
# ## 5. Training: alternating updates, k D steps per G step
#
# Algorithm 1 of Goodfellow et al. alternates k steps of D (ascending V)
# with one step of G; they used k = 1, the cheapest. Many D steps keep D
# near D*, so that G descends the JSD itself; but a D that is too good
# rejects everything and, with the minimax loss, starves G (section 3). A D
# that is too weak gives G gradients that point anywhere. The runs:
#
# | run | data | G's loss | D steps per G step |
# | --- | --- | --- | --- |
# | `ring_ns`, `grid_ns` | ring, grid | non-saturating | k = 1 (the main runs) |
# | `ring_minimax`, `grid_minimax` | ring, grid | minimax | k = 1 |
# | `grid_weak` | grid | non-saturating | 1 every `--weak-every` G steps |
# | `grid_strong` | grid | non-saturating | k = `--k-strong` |
# | `grid_adaptive` | grid | non-saturating | `while loss_D > t_d: train D` (at most `--max-d-steps`) |
# | `ring_collapse` | ring | non-saturating | k = 1 at lr `--collapse-lr` |
#
# The adaptive schedule is the slide's: instead of a fixed k, train D until
# its loss falls under a threshold t_d (1.2, below the chance level 1.386),
# then step G once. It spends D steps only when G has moved away from
# what D knows.
#
# Every run gets `--steps` generator steps, so they are compared at equal
# generator updates. Every `--sample-every` steps, 2,500 samples from a fixed
# z are counted for coverage (and kept, for the figures and the GIF) by
# `toy.CoverageTracker`, which `fit` calls back.

# %%
def make_step(G, D, optG, optD, loss_kind, k, counter):
    """One iteration: the discriminator's steps (by k), then one generator step on ``loss_kind``."""
    def step(next_batch):
        counter["iteration"] = int(counter["iteration"]) + 1
        losses = []
        if k == "adaptive":                        # the slide: while loss_D > t_d, train D
            losses.append(d_update(G, D, optD, next_batch()))
            while losses[-1] > args.t_d and len(losses) < args.max_d_steps:
                losses.append(d_update(G, D, optD, next_batch()))
        elif k >= 1:
            losses = [d_update(G, D, optD, next_batch()) for _ in range(int(k))]
        elif counter["iteration"] % round(1 / k) == 1 % round(1 / k):   # a weak D: one step every 1/k
            losses = [d_update(G, D, optD, next_batch())]
        D.requires_grad_(False)                    # G's step: D frozen, no weight gradients for it
        logits = D(G(tg.randn(args.batch_size, args.z_dim, device=args.device)))
        loss_G = generator_loss(logits, loss_kind)
        optG.zero_grad()
        loss_G.backward()
        optG.step()
        D.requires_grad_(True)
        return {"loss_G": loss_G.item(), "d_fake": float(F.sigmoid(logits).numpy().mean()), "d_steps": len(losses),
                **({"loss_D": losses[-1]} if losses else {})}
    return step


results, histories, trackers = {}, {}, {}
eval_steps = sorted({0, args.steps, *range(args.sample_every, args.steps + 1, args.sample_every)})
z_eval = toy.fixed_noise([args.seed, 2], args.eval_samples, args.z_dim, args.device)   # counted for coverage
for i, name in enumerate(selected):
    cfg, data = RUNS[name], DATASETS[RUNS[name]["data"]]
    G, D, optG, optD = make_models(args.seed * 1000 + i + 1, cfg.get("lr", args.lr))
    trackers[name] = toy.CoverageTracker(G, z_eval, data["centers"], data["std"])   # fit checkpoints it too
    counter = {"iteration": 0}
    histories[name] = fit(make_step(G, D, optG, optD, cfg["loss"], cfg["k"], counter),
                          Batches(data["points"], batch_size=args.batch_size, seed=args.seed + i), args.steps,
                          run, name=name, models={"G": G, "D": D}, optimizers={"G": optG, "D": optD},
                          state={"counter": counter}, checkpoint_every=args.checkpoint_every,
                          callback=trackers[name], callback_steps=eval_steps, **FIT)
    results[name] = toy.summarize_run(cfg, trackers[name], histories[name], args.steps, args.lr)
    print(toy.describe_run(name, results[name], histories[name]))   # the numbers of sections 6 and 7

# %% [markdown]
# ## 6. What the runs show
#
# `samples.png`: every run's final 1,000 samples (red) over the data (grey),
# with its coverage. `coverage.png`: modes covered over training, against
# PacGAN's plain GAN (dashed). `losses.png`: the losses of the loss
# comparison. `training.gif`: the main run, from the blob of an untrained G
# to the ring.
#
# What the default run measured (final coverage for seeds 0, 1, 2):
# - **Saturation.** After 500 D steps against the untrained G, D(x) = 1.0000
#   on the data and D(G(z)) is 2e-5 to 6e-5. The minimax loss then gives G
#   a gradient of norm 7e-5 to 2e-4, the non-saturating loss 1.8 to 4.0,
#   17,000 to 60,000 times more; one plain SGD step does not move D(G(z))
#   at all under the minimax loss, and lifts it (to 0.0002-0.033) under the
#   heuristic. In the runs, though, the minimax G still learns: D starts as
#   untrained as G, so D(G(z)) averages 0.2-0.3 rather than 0 (seed 0: it
#   is under 0.1 in 9% of the ring run's steps), and Adam divides every
#   update by a running scale of its gradient. What it loses is precision:
#   its grid samples smear across the plane, 11-20% high quality against
#   52-55% for the heuristic.
# - **Coverage.** The non-saturating GAN covers 8, 8, 6 of 8 ring modes and
#   17, 11, 14 of 25 grid modes (PacGAN's plain GAN: 6.3 and 17.3). The
#   minimax one covers as many or more (8, 8, 7 and 16, 15, 20), but with
#   smeared samples: a mode counts as covered with a single stray sample
#   near it, so coverage must be read together with the high-quality
#   fraction. Coverage is not monotone: modes are found and lost again as
#   the players move (`coverage.png`); every grid run touched 20-22 modes
#   at some point.
# - **k.** A weak D (one step per 4 G steps) gives G no useful signal, and
#   G collapses onto one grid mode or none (1, 1, 0 of 25) on every seed. A
#   strong D (k = 5) covers fewer modes (12, 10, 10): G is pushed off every
#   mode that D has learned to reject. The adaptive schedule spent 1.16 D
#   steps per G step on average and covered 18, 13, 13, about as many as k = 1.

# %%
toy.plot_final_samples(run.file("samples.png"), results, trackers, DATASETS, args.steps)
toy.plot_coverage(run.file("coverage.png"), results, DATASETS, PACGAN_GAN)
loss_runs = [n for n in ("ring_ns", "ring_minimax", "grid_ns", "grid_minimax") if n in histories] or selected
viz.plot_losses({n: histories[n] for n in loss_runs}, run.file("losses.png"), keys=[f"d_fake ({n})" for n in loss_runs],
                title="G and D losses; below, mean D(G(z)) on G's batch")   # a run's keys are named "key (run)"

if MAIN in trackers:
    toy.save_coverage_gif(run.file("training.gif"), trackers[MAIN], DATASETS["ring"])

# %% [markdown]
# ## 7. Mode collapse
#
# A generator that maps most of z onto a few modes is not punished by a
# discriminator that judges one sample at a time: each sample looks real.
# D then learns that those modes are over-represented and pushes their
# density down, G moves its mass to another mode, and so on: the
# generator chases the discriminator around the ring instead of covering it
# (Metz et al. 2017, figure 1; Goodfellow 2016, NIPS tutorial, section 5.1.1).
# Too large a learning rate makes both players jump far at every step,
# which drives exactly this oscillation. `collapse.png` shows the collapsing
# run's samples over training, next to the main run at the same steps: at
# lr 1e-2 G puts nearly all its samples on one to three modes (1, 2, 3 of
# 8 at the end; never more than 4 on any seed), and the thin trail
# between them is the mass in transit from one mode to the next. Here D is
# winning (seed 0, over the last 1,000 steps: L_D ≈ 0.63, D(G(z)) ≈ 0.19): it rejects the over-full mode, and G
# hops. The weak-D run collapses the other way: its losses (seed 0) sit at the
# equilibrium's values, L_D ≈ 1.42 ≈ 2 log 2 and D(G(z)) ≈ 0.49, while G
# covers 1 mode of 25. A D too weak to tell the data from one blob is
# "fooled" by it: losses at their equilibrium values do not mean p_g = p_data.

# %%
show = [n for n in ("ring_collapse", MAIN) if n in trackers]
if show:
    picks = np.unique(np.linspace(1, len(trackers[show[0]].records) - 1, 6).round().astype(int))   # 6 steps after 0
    fig, axes = plt.subplots(len(show), len(picks), figsize=(2.4 * len(picks), 2.9 * len(show)), squeeze=False)
    for row, name in zip(axes, show):
        for ax, j in zip(row, picks):
            step, modes, _ = trackers[name].records[j]
            toy.draw_points(ax, trackers[name].snapshots[j][:500], DATASETS["ring"],
                            f"{name}\nstep {int(step)}: {int(modes)}/8 modes")
    viz.save_figure(fig, run.file("collapse.png"), dpi=80)

# %%
if args.export_samples:
    z = toy.fixed_noise([args.seed, 3], args.export_samples, args.z_dim, args.device)
    print(f"wrote {export_samples(run, generate(trackers[MAIN].G, z))[0]}")

run.save_metrics({"seed": args.seed, "steps": args.steps, "eval_samples": args.eval_samples,
                  "pacgan_gan": PACGAN_GAN, "saturation": sat, "runs": results})
print(f"done: {len(selected)} runs in {run.path}; {sum(r['seconds'] for r in results.values()):.0f} s of training")

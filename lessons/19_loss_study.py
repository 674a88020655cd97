# %% [markdown]
# # Lesson 19: Are GANs created equal? Every loss of the chapter on one budget
#
# Lucic, Kurach, Michalski, Gelly & Bousquet 2018, "Are GANs Created Equal?
# A Large-Scale Study", trained the popular GAN losses with one architecture
# on the same data sets and found that, given enough hyperparameter search
# and random restarts, most of them reach similar scores: the differences
# the papers reported were mostly in the budget, not in the loss. This
# lesson repeats a small version of the study on real Fashion-MNIST: one
# architecture, seven losses (all of `tinygen.gan_losses`), each with its
# own paper's hyperparameters, the same number of generator updates for
# every loss, three seeds, and the same scores for all.
#
#     .venv/bin/python lessons/19_loss_study.py                          # seed 0 of every loss: 12 min 10 s on a 2-core CPU
#     .venv/bin/python lessons/19_loss_study.py --seeds 0,1,2 --resume   # add seeds 1 and 2 to the same --out: 26 min more
#     .venv/bin/python lessons/19_loss_study.py --losses WGAN,WGAN-GP    # a subset
#     .venv/bin/python lessons/19_loss_study.py --quick                  # all seven losses in a few seconds, for the tests
#
# Outputs in `--out` (default `runs/19_loss_study`): `study.json` (every
# run's FID, IS, class histogram of `--eval-samples` = 10,000 samples and
# training seconds), `study.md` (the table), `study.png` (FID and IS per
# loss, every seed and the mean ± std), `samples.png` (one row of samples
# per loss), `losses.png` (each loss's curves, first seed), `training.gif`
# (the first row of every loss's fixed-z grid over training) and
# `metrics.json` (the summary per loss and the rank correlation with Lucic
# et al.). Each run has its own folder `<loss>_s<seed>/` with `result.json`,
# `train.jsonl`, the resumable `train.npz`, its `training.gif`,
# `samples.png` and `grid.npy` (its 16 samples in the study's `samples.png`).

# %%
import json
import os
import time

import numpy as np

import tinygen as tg
from tinygen import gan_losses as L
from tinygen import optim
from tinygen.utils.data import Batches, load_images
from tinygen.utils.fileio import atomic_write_bytes
from tinygen.utils.gan import (GAN_QUICK, SampleGif, add_gan_flags, clip_weights, closing_scores, dcgan_init,
                               export_samples, generate, gradient_penalty)
from tinygen.utils.gan_models import AutoencoderDiscriminator, dcgan_critic, dcgan_generator
from tinygen.utils.loss_chapter import (finished_result, rank_against, save_result, save_study_figures, study_table,
                                        summarise)
from tinygen.utils.run import RunDir, flag_error, int_list, lesson_parser, parse_args, positive_int
from tinygen.utils.train import fit

ALL_LOSSES = ("MM", "NS", "LSGAN", "WGAN", "WGAN-GP", "EBGAN", "BEGAN")
LUCIC_FID = {"WGAN": 21.5, "BEGAN": 22.9, "WGAN-GP": 24.5, "NS": 26.5, "DRAGAN": 27.7, "MM": 29.6, "LSGAN": 30.7}
"""Lucic et al. 2018, best FID per loss on Fashion-MNIST over their hyperparameter search (Inception features)."""

parser = lesson_parser("Every GAN loss of the chapter on one budget (Lucic et al. 2018)", steps=500,
                       out=os.path.join("runs", "19_loss_study"), datasets=("fashion-mnist", "mnist"))
add_gan_flags(parser, sample_every=50, checkpoint_every=100)
parser.add_argument("--seeds", type=int_list(0), default=None, help="comma-separated seeds, e.g. 0,1,2 (default: --seed)")
parser.add_argument("--losses", default=",".join(ALL_LOSSES), help=f"comma-separated subset of {ALL_LOSSES}")
parser.add_argument("--g-width", type=positive_int, default=32, help="G is z -> 2w x 7 x 7 -> w x 14 x 14 -> 1 x 28 x 28")
parser.add_argument("--d-width", type=positive_int, default=32, help="D (and the autoencoders' encoder) is 1 -> w -> 2w")
args = parse_args(parser, quick={**GAN_QUICK, "steps": 3, "batch_size": 8, "g_width": 4, "d_width": 4,
                                 "eval_samples": 50})
seeds = args.seeds or [args.seed]
losses = args.losses.split(",")
if not losses or set(losses) - set(ALL_LOSSES) or len(set(losses)) != len(losses) or len(set(seeds)) != len(seeds):
    flag_error(parser, "--losses, --seeds", f"expected distinct names from {','.join(ALL_LOSSES)} and distinct "
               f"seeds, got --losses {args.losses} --seeds {','.join(map(str, seeds))}")

# %% [markdown]
# ## 1. The data and the one architecture
#
# Fashion-MNIST, 60,000 training images in [-1, 1]. Every loss trains the
# same generator, lesson 12's DCGAN (`dcgan_generator`), and, where the loss
# takes a score, the same discriminator (`dcgan_critic`), at reduced widths
# for a 2-core CPU (lesson 12 uses 64 and 64): `--g-width 32` (z -> 64x7x7
# -> 32x14x14 -> 1x28x28, 347k parameters) and `--d-width 32` (1 -> 32 -> 64
# channels -> one score, 37k parameters).
# The critic keeps DCGAN's BatchNorm after its second conv, except for
# WGAN-GP: its penalty is a per-sample gradient, and BatchNorm makes each
# sample's score depend on its batch, so WGAN-GP takes **LayerNorm**
# instead, Gulrajani et al.'s (section 4) drop-in replacement. EBGAN and
# BEGAN need an autoencoder as the discriminator
# (`AutoencoderDiscriminator`, the same 32 -> 64 conv widths, a 64-d code
# and a decoder shaped like G: 471k parameters, most of them in the two
# linear layers around the code): EBGAN's with BatchNorm (Zhao et al. build it from DCGAN blocks),
# BEGAN's with none (Berthelot et al. use none).
#
# Every run of a seed starts the generator from the same initial weights
# (`tg.manual_seed(seed)`), and draws batches in the same order, so the
# losses are compared on paired runs.

# %%
images, _ = load_images(args.dataset, args.data_dir, limit=256 if args.quick else None)
print(f"data: {args.dataset}, {len(images)} images of 1x28x28; losses {losses}, seeds {seeds}, "
      f"{args.steps} generator updates each")


def make_models(loss, seed):
    """G and D for ``loss`` from ``seed``, initialised N(0, 0.02) (Radford et al. 2015)."""
    tg.manual_seed(seed)
    G = dcgan_generator(args.z_dim, args.g_width).apply(dcgan_init)   # before D: the same G for every loss
    if loss in ("EBGAN", "BEGAN"):
        D = AutoencoderDiscriminator(args.d_width, code_dim=64, norm="batch" if loss == "EBGAN" else "none")
    else:
        D = dcgan_critic(args.d_width, norm="layer" if loss == "WGAN-GP" else "batch")
    return G.to(args.device), D.apply(dcgan_init).to(args.device)


# %% [markdown]
# ## 2. The seven losses, each with its paper's settings
#
# Each loss is a pair: the discriminator's loss on a real batch x and a
# generated batch x̃ = G(z), and the generator's loss on x̃. The formulas
# (from `tinygen.gan_losses`, with D(·) a logit or score, σ the sigmoid):
#
# | loss | L_D | L_G | optimiser (paper) |
# | --- | --- | --- | --- |
# | MM (Goodfellow et al. 2014, eq. 1) | −E log σ(D(x)) − E log(1 − σ(D(x̃))) | E log(1 − σ(D(x̃))) | Adam 2e-4, β (0.5, 0.999) (DCGAN) |
# | NS (ibid., section 3) | as MM | −E log σ(D(x̃)) | Adam 2e-4, β (0.5, 0.999) |
# | LSGAN (Mao et al. 2017, eq. 2, (a, b, c) = (0, 1, 1)) | ½E(D(x) − 1)² + ½E D(x̃)² | ½E(D(x̃) − 1)² | Adam 2e-4, β1 0.5 |
# | WGAN (Arjovsky et al. 2017, Alg. 1) | E D(x̃) − E D(x), weights clipped to ±0.01 | −E D(x̃) | RMSProp 5e-5, n_critic 5 |
# | WGAN-GP (Gulrajani et al. 2017, eq. 3) | E D(x̃) − E D(x) + 10 E(‖∇D(x̂)‖ − 1)² | −E D(x̃) | Adam 1e-4, β (0, 0.9), n_critic 5 |
# | EBGAN (Zhao et al. 2017, eq. 1, 2, 14) | E D(x) + E[m − D(x̃)]⁺ | E D(x̃) + 0.1 f_PT | Adam 1e-3, β1 0.5 |
# | BEGAN (Berthelot et al. 2017, eq. 4) | L(x) − k_t L(x̃) | L(x̃) | Adam 1e-4, β1 0.5 |
#
# For EBGAN and BEGAN, D(·) is the autoencoder's reconstruction error: the
# per-pixel mean squared error for EBGAN, the mean absolute error L(v) =
# |v − D(v)| for BEGAN. EBGAN's margin m bounds how high D pushes a
# generated sample's energy; our energies are means over pixels in [-1, 1]
# (Zhao et al.'s m = 10-80 belongs to energies that grow with the image,
# so it does not transfer), and we take **m = 0.5**, as lesson 17 does:
# below the energy of a blank reconstruction (E[x²] = 0.68 on
# Fashion-MNIST in [-1, 1], which lesson 17 prints) and 2 to 4.5 times what
# an autoencoder gives real images in lesson 17 (0.18-0.25 in its game,
# lesson 17's results; 0.11 trained alone), so the hinge is on
# while a fake is bad and off once it is rejected. The pulling-away term
# f_PT (eq. 14) is the mean squared cosine similarity of the codes of the
# generated batch, weight 0.1. BEGAN's k_t follows its proportional
# control k_{t+1} = clip(k_t + λ_k(γ L(x) − L(x̃)), 0, 1) with γ = 0.5,
# λ_k = 0.001 and k_0 = 0.
#
# Where the settings come from: DCGAN's Adam 2e-4, β1 0.5 for MM and NS
# (Radford et al. 2015, section 4); Mao et al. train LSGAN with Adam β1 0.5
# and learning rates of 2e-4 or 1e-3 depending on the data set (section
# 4.1); we take 2e-4, the rate of their small-image runs. WGAN's RMSProp
# 5e-5, c = 0.01, n_critic = 5 and WGAN-GP's λ = 10, Adam 1e-4 β (0, 0.9),
# n_critic = 5 are the papers' Algorithm 1 defaults. Zhao et al.'s
# MNIST runs use Adam at 1e-3 (section 4.1), and we keep DCGAN's β1 0.5; BEGAN's paper gives Adam
# at 1e-4 and no β, and we take the common implementations' β1 0.5.
# Popular GAN collections (e.g. pytorch-generative-model-collections) train
# every loss, EBGAN and BEGAN included, with DCGAN's 2e-4; we keep the
# papers'. Two of the papers' extras are left out to keep the budget equal:
# WGAN's 100 critic updates per generator update for the first 25 updates,
# and BEGAN's learning-rate decay when its convergence measure stalls.

# %%
def energy(D, x, p):
    """Per-sample reconstruction error of the autoencoder D, (N,) (EBGAN p = 2, BEGAN p = 1)."""
    return L.reconstruction_energy(x, D(x), p=p)


def ebgan_g(D, fake):
    """EBGAN-PT's generator loss E[D(G(z))] + 0.1 f_PT (Zhao et al. 2017, eq. 2 and 14) on a fake batch."""
    codes = D.encode(fake)                                   # one encoder pass for both terms
    return L.ebgan_g_loss(L.reconstruction_energy(fake, D.decoder(codes))) + 0.1 * L.pulling_away_term(codes)


def began_d(D, real, fake, state):
    """BEGAN's D loss L(x) − k_t L(G(z)) (Berthelot et al. 2017, eq. 4); moves state["k"] to k_{t+1}."""
    loss_real, loss_fake = energy(D, real, 1).mean(), energy(D, fake, 1).mean()
    loss = L.began_d_loss(loss_real, loss_fake, float(state["k"]))
    l_real, l_fake = loss_real.item(), loss_fake.item()
    state["k"] = L.began_update_k(float(state["k"]), l_real, l_fake, gamma=0.5, lambda_k=0.001)
    return loss, {"k": state["k"], "convergence": L.began_convergence(l_real, l_fake, gamma=0.5)}


def adam(lr, betas):
    """An optimiser builder: parameters -> Adam(lr, betas)."""
    return lambda params: optim.Adam(params, lr=lr, betas=betas)


DCGAN_ADAM = adam(2e-4, (0.5, 0.999))
# name -> D's loss (D, real, fake, state) -> (loss, extra logs), G's loss (D, fake), optimiser, n_critic, clip c
STUDY = {
    "MM": (lambda D, x, f, s: (L.minimax_d_loss(D(x), D(f)), {}),
           lambda D, f: L.minimax_g_loss(D(f)), DCGAN_ADAM, 1, None),
    "NS": (lambda D, x, f, s: (L.minimax_d_loss(D(x), D(f)), {}),
           lambda D, f: L.nonsaturating_g_loss(D(f)), DCGAN_ADAM, 1, None),
    "LSGAN": (lambda D, x, f, s: (L.lsgan_d_loss(D(x), D(f), a=0.0, b=1.0), {}),
              lambda D, f: L.lsgan_g_loss(D(f), c=1.0), DCGAN_ADAM, 1, None),
    "WGAN": (lambda D, x, f, s: (L.wasserstein_d_loss(D(x), D(f)), {}),
             lambda D, f: L.wasserstein_g_loss(D(f)), lambda p: optim.RMSprop(p, lr=5e-5), 5, 0.01),
    "WGAN-GP": (lambda D, x, f, s: (L.wasserstein_d_loss(D(x), D(f)) + 10.0 * gradient_penalty(D, x, f), {}),
                lambda D, f: L.wasserstein_g_loss(D(f)), adam(1e-4, (0.0, 0.9)), 5, None),
    "EBGAN": (lambda D, x, f, s: (L.ebgan_d_loss(energy(D, x, 2), energy(D, f, 2), margin=0.5), {}),
              lambda D, f: ebgan_g(D, f), adam(1e-3, (0.5, 0.999)), 1, None),
    "BEGAN": (began_d, lambda D, f: L.began_g_loss(energy(D, f, 1)), adam(1e-4, (0.5, 0.999)), 1, None),
}


def make_step(loss, G, D, optG, optD, state):
    """One generator update of ``loss``: n_critic D updates on fresh batches, then G's, D frozen."""
    d_loss, g_loss, _, n_critic, clip = STUDY[loss]

    def step(next_batch):
        for _ in range(n_critic):
            real = next_batch()
            with tg.no_grad():
                fake = G(tg.randn(real.shape[0], args.z_dim, device=args.device))
            loss_D, logs = d_loss(D, real, fake, state)
            optD.zero_grad()
            loss_D.backward()
            optD.step()
            if clip:                                      # WGAN: every critic parameter into [-c, c]
                clip_weights(D.parameters(), clip)
        D.requires_grad_(False)
        loss_G = g_loss(D, G(tg.randn(args.batch_size, args.z_dim, device=args.device)))
        optG.zero_grad()
        loss_G.backward()
        optG.step()
        D.requires_grad_(True)
        return {"loss_D": loss_D.item(), "loss_G": loss_G.item(), **logs}
    return step


# %% [markdown]
# ## 3. One budget
#
# Every loss gets the same number of **generator updates** (`--steps`, 500
# by default) at batch 64. WGAN and WGAN-GP take 5 critic updates per
# generator update, as their papers prescribe, so they see 5x the real
# batches and cost several times the wall-clock of a 1:1 loss (the
# gradient penalty's double backprop about doubles that again); the
# autoencoder discriminators cost about twice a DCGAN critic. Each run's
# training seconds are in the table: measured, NS, LSGAN and MM take
# 45-48 s for their 500 updates, EBGAN 85 s, BEGAN 73 s, WGAN 132 s and
# WGAN-GP 268 s, 5.6x NS. Lucic et al. gave every model a fixed
# training length too, but then searched 100 hyperparameter settings per
# loss and data set; we give each loss its paper's settings and one try
# per seed, which is the situation of someone who picks a loss off the
# shelf.
#
# Each (loss, seed) run is its own `fit` with its own folder and
# checkpoint; it writes `result.json` atomically when it has been scored
# (`save_result`, after the run's `grid.npy` and `samples.png`), so
# `--resume` skips the finished runs (`finished_result`) and continues an
# interrupted one from its last checkpoint. Both, and the study's summary,
# table, ranking and pictures below, are bookkeeping, in
# `tinygen/utils/loss_chapter.py`.

# %%
def train_and_score(loss, seed):
    """Train one (loss, seed) run, score 10,000 samples, write ``<loss>_s<seed>/result.json``; returns it."""
    run = RunDir(os.path.join(args.out, f"{loss}_s{seed}"))
    done = finished_result(run) if args.resume else None   # its result.json, once scored
    if done is not None:
        print(f"[{loss} seed {seed}] finished, skipped")
        return done
    print(f"--- {loss}, seed {seed}")
    G, D = make_models(loss, seed)
    make_opt = STUDY[loss][2]
    optG, optD = make_opt(G.parameters()), make_opt(D.parameters())
    gif = SampleGif(run.file("training.gif"), G, tg.randn(64, args.z_dim, device=args.device))
    state = {"gif": gif, "k": 0.0}                         # both in the checkpoint; k is BEGAN's k_t
    at = sorted({s for s in range(1, args.steps + 1) if s % args.sample_every == 0} | {0, args.steps})
    history = fit(make_step(loss, G, D, optG, optD, state), Batches(images, batch_size=args.batch_size, seed=seed),
                  args.steps, run, models={"G": G, "D": D}, optimizers={"G": optG, "D": optD}, state=state,
                  resume=args.resume, device=args.device, pull=True, print_every=1 if args.quick else 100,
                  checkpoint_every=args.checkpoint_every, callback=gif, callback_steps=at)
    seconds = history.seconds                              # training seconds, over every --resume
    samples, scores = closing_scores(G, tg.randn(args.eval_samples, args.z_dim, device=args.device))
    if args.export_samples:
        export_samples(run, generate(G, tg.randn(args.export_samples, args.z_dim, device=args.device)))
    result = {"loss": loss, "seed": seed, "steps": args.steps, "train_seconds": seconds, **scores}
    if loss == "WGAN":
        result["max_abs_critic_weight"] = max(float(np.abs(p.numpy()).max()) for p in D.parameters())
    save_result(run, result, samples)                      # grid.npy, samples.png, then result.json
    print(f"[{loss} seed {seed}] FID {scores['fid']:.2f}, IS {scores['inception_score']:.2f}, rarest class "
          f"{min(scores['class_histogram']):.3f}, {seconds:.0f} s of training")
    return result


# %%
t_start = time.perf_counter()
results = [train_and_score(loss, seed) for seed in seeds for loss in losses]

# %% [markdown]
# ## 4. The study: mean and spread over seeds
#
# For each loss, the FID and IS of 10,000 samples (the Fashion-MNIST
# classifier of lesson 09, so the units are this project's, not Inception's),
# as the mean ± the standard deviation over seeds (ddof 1; 0 for one
# seed), and the best (lowest) FID over seeds, the analogue of Lucic et
# al.'s "best FID" (their minimum over hyperparameter settings):
# `summarise`, and `study_table` for the Markdown table.

# %%
summary = summarise(results, losses)                   # per loss: FID, IS mean ± std over seeds, best FID
rank = rank_against(summary, LUCIC_FID)                # Spearman's ρ against Lucic et al.'s order (section 6)
text = study_table(summary, LUCIC_FID)
print(text)
if rank:
    print(f"by best FID, ours: {' < '.join(rank['our_order_best_fid'])}; Lucic et al.: "
          f"{' < '.join(rank['lucic_order'])}; Spearman {rank['spearman_best_fid']:+.2f} "
          f"(by mean FID {rank['spearman_mean_fid']:+.2f})")
atomic_write_bytes(os.path.join(args.out, "study.md"), text.encode())
config = {"steps": args.steps, "batch_size": args.batch_size, "g_width": args.g_width, "d_width": args.d_width,
          "z_dim": args.z_dim, "eval_samples": args.eval_samples, "dataset": args.dataset}
atomic_write_bytes(os.path.join(args.out, "study.json"),
                   (json.dumps({**config, "runs": results}, indent=2) + "\n").encode())

# %% [markdown]
# ## 5. The pictures
#
# `study.png`: FID (left, lower is better) and IS (right) per loss, one
# grey point per seed, the mean ± std in colour. `samples.png`: 16 samples
# of the first seed per loss, one row each. `losses.png`: both players'
# losses per loss (first seed); their scales differ from loss to loss, so
# each has its own panel. `training.gif`: the first row of each loss's
# fixed-z grid, one strip per loss in the table's order, over training.
# `save_study_figures` draws all four from the runs' folders.
#
# In the measured run (`lessons/figures/19_loss_study_samples.png`), NS,
# LSGAN, WGAN and WGAN-GP draw blurry garment shapes with transposed-conv
# stripes, 500 updates being a quarter of lesson 12's training; EBGAN's
# are recognisable shirts, sneakers, sandals and trousers; MM's are noise
# and BEGAN's one grey square repeated.

# %%
save_study_figures(args.out, results, summary, seeds, args.steps)


# %% [markdown]
# ## 6. Against Lucic et al.'s ranking
#
# Lucic et al.'s best FIDs on Fashion-MNIST (Inception features): WGAN
# 21.5, BEGAN 22.9, WGAN-GP 24.5, NS 26.5, DRAGAN 27.7, MM 29.6, LSGAN
# 30.7; EBGAN is not in their study and DRAGAN not in ours. Their numbers
# and ours are in different units, so only the order compares: Spearman's
# ρ over the six losses both have, on our best FID (their statistic) and
# on our mean FID. Their spread within a loss (over the hyperparameter
# search) was as large as the gaps between losses, and their conclusion is
# that the order is mostly noise.
#
# **Measured** (seeds 0, 1, 2, default settings, 500 generator updates,
# 10,000 samples per run; `study.md`):
#
# | loss | FID (mean ± std) | best FID | IS (mean ± std) | rarest class | train time | Lucic et al. best FID |
# | --- | --- | --- | --- | --- | --- | --- |
# | MM | 89.35 ± 1.24 | 88.07 | 1.10 ± 0.01 | 0.0 % | 47 s | 29.6 |
# | NS | 39.50 ± 1.15 | 38.61 | 2.23 ± 0.05 | 0.9 % | 48 s | 26.5 |
# | LSGAN | 41.12 ± 0.63 | 40.50 | 2.12 ± 0.04 | 0.6 % | 45 s | 30.7 |
# | WGAN | 43.68 ± 2.00 | 42.26 | 2.00 ± 0.10 | 1.3 % | 132 s | 21.5 |
# | WGAN-GP | 35.59 ± 0.72 | 35.16 | 2.40 ± 0.06 | 2.1 % | 268 s | 24.5 |
# | EBGAN | 20.51 ± 1.33 | 19.41 | 4.37 ± 0.18 | 4.9 % | 85 s | - |
# | BEGAN | 108.88 ± 3.86 | 104.84 | 1.03 ± 0.02 | 0.0 % | 73 s | 22.9 |
#
# Per seed (0, 1, 2), FID: MM 89.4 / 90.5 / 88.1, NS 38.6 / 40.8 / 39.1,
# LSGAN 40.5 / 41.8 / 41.1, WGAN 42.3 / 42.8 / 46.0, WGAN-GP 36.4 / 35.2 /
# 35.2, EBGAN 22.0 / 20.1 / 19.4, BEGAN 112.5 / 109.3 / 104.8. The seed
# spread (std 0.6-2.0, 3.9 for the collapsed BEGAN) is small next to most
# gaps between losses, so the order below is not seed noise.
#
# By best FID our order of the six shared losses is WGAN-GP < NS < LSGAN <
# WGAN < MM < BEGAN (the same by mean FID), theirs WGAN < BEGAN < WGAN-GP <
# NS < MM < LSGAN: **Spearman's ρ = −0.20**, no agreement. What agrees:
# WGAN-GP beats NS, NS beats MM and is a little ahead of LSGAN, and three
# of the working losses (NS, LSGAN, WGAN) sit within about 4 FID of each
# other, with WGAN-GP a little
# ahead, which is Lucic et al.'s picture of losses that mostly tie. What
# does not: their two best, WGAN and BEGAN, are here 4th and last. WGAN's
# clipped critic with RMSProp at 5e-5 moves slowly (its Wasserstein
# estimate −L_D is still falling at update 500: G is still improving), and
# we skip the paper's 100-critic warm-up;
# Lucic et al.'s search found faster settings. BEGAN fails on every seed:
# with λ_k = 0.001, k_t never rises above 0.035, so for the whole budget D
# is nearly a plain autoencoder of real images, and G, whose loss is the
# autoencoder's error on its samples, settles on the one grey image the
# autoencoder reconstructs best; the classifier puts 86-100 % of the samples
# in "bag". Lesson 18 finds what BEGAN needs on this CPU: a 100x larger
# gain, λ_k = 0.1, and many more updates (4,000 at batch 16). The larger gain
# alone is not enough within this study's 500 updates at batch 64: a run of
# seed 0 with λ_k = 0.1, all else as above, still drew one grey shape
# (FID 91.8, IS 1.11).
# MM fails the way Goodfellow et al. warned (section 3): D wins
# within about 100 updates, L_G = E log(1 − D(G(z))) flattens at 0, and G
# gets no gradient; its samples stay noise ("bag" and "shirt"). With their
# search Lucic et al. found MM settings that train (29.6); off the shelf it
# does not. And EBGAN, which they did not test, wins by a wide margin (FID
# 20.5, close to lesson 12's DCGAN after 2,000 updates), but it also has the
# largest learning rate, 1e-3 against 1e-4-2e-4: with a fixed number of
# updates, a ranking measures how fast a loss *and its settings* train as
# much as where they would end. That is Lucic et al.'s point from the
# other side: the budget and the hyperparameters decide the order, and a
# study that fixes them for one budget (ours) and one that searches them
# (theirs) rank the same losses differently.

# %%
metrics = {**config, "seeds": seeds, "losses": losses, "per_loss": summary, "rank_vs_lucic": rank,
           "lucic_best_fid": LUCIC_FID, "train_seconds_total": float(sum(r["train_seconds"] for r in results)),
           "wall_seconds_this_call": time.perf_counter() - t_start}
RunDir(args.out).save_metrics(metrics)
print(f"done: {len(results)} runs ({len(losses)} losses x {len(seeds)} seeds) in {args.out}; "
      f"{metrics['train_seconds_total']:.0f} s of training, {metrics['wall_seconds_this_call']:.0f} s in this call")

# %% [markdown]
# # Lesson 16: WGAN-GP, a Wasserstein GAN with a gradient penalty
#
# This lesson trains a GAN on real Fashion-MNIST with tinygen, following
# Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1.
# It is the main assignment of the course (Lab 14, "GANs in action: WGAN").
#
#     .venv/bin/python lessons/16_wgan_gp.py                 # 17 min on a 2-core CPU (README)
#     .venv/bin/python lessons/16_wgan_gp.py --quick         # a few steps, for the tests
#     .venv/bin/python lessons/16_wgan_gp.py --resume        # continue an interrupted run
#     .venv/bin/python lessons/16_wgan_gp.py --dataset folder --data-dir ~/celeba --image-size 64
#
# Outputs in `--out` (default `runs/16_wgan_gp`): `training.gif` (a fixed-z 8x8
# grid over training), `losses.png`, `samples.png`, `metrics.json` (with FID,
# IS and the class histogram of 10,000 samples),
# `train.jsonl` (the losses of every step) and a resumable `train.npz`.

# %%
import os

import numpy as np

import tinygen as tg
from tinygen import nn, optim
from tinygen.utils import viz
from tinygen.utils.data import Batches, load_images
from tinygen.utils.gan import (GAN_QUICK, SampleGif, add_gan_flags, best_of_k, closing_scores,
                               clip_weights, critic_grad_norms, export_samples, fit_gan, generate)
from tinygen.utils.run import RunDir, lesson_parser, nonnegative_float, parse_args, positive_float, positive_int

parser = lesson_parser("WGAN-GP on Fashion-MNIST (Gulrajani et al. 2017)", steps=2000,
                       out=os.path.join("runs", "16_wgan_gp"))
add_gan_flags(parser, sample_every=100, checkpoint_every=200)
parser.add_argument("--n-critic", type=positive_int, default=5, help="critic steps per generator step")
parser.add_argument("--lambda-gp", type=nonnegative_float, default=10.0, help="gradient penalty weight")
parser.add_argument("--lr", type=positive_float, default=1e-4)
args = parse_args(parser, quick={**GAN_QUICK, "steps": 4, "batch_size": 16, "n_critic": 2})
tg.manual_seed(args.seed)

# %% [markdown]
# ## 1. The data
#
# Real Fashion-MNIST: 60,000 training images of 28x28 garments. Pixels are
# scaled to [-1, 1], the range of the generator's tanh output.

# %%
images, _ = load_images(args.dataset, args.data_dir, args.image_size, limit=256 if args.quick else None)
N, C, H, W = images.shape
batches = Batches(images, batch_size=args.batch_size, seed=args.seed)
print(f"data: {args.dataset}, {N} images of {C}x{H}x{W}")

# %% [markdown]
# ## 2. Why not the original GAN loss?
#
# The original GAN minimises (roughly) the Jensen-Shannon divergence between
# the data distribution P_r and the generator's P_g. When the two live on
# low-dimensional manifolds that do not overlap, which is typical for
# images, JS is the constant log 2 and its gradient vanishes: the generator
# learns nothing. The slides' example: for P_0 on the line x = 0 and P_θ on
# x = θ, TV = 1, KL = +inf and JS = log 2 for every θ ≠ 0.
#
# The **Earth-Mover (Wasserstein-1) distance** instead measures the cheapest
# way to move the mass of P_g onto P_r:
#
#     W(P_r, P_g) = inf_{γ ∈ Π(P_r, P_g)} E_{(x, y) ~ γ} ||x - y||,
#
# and in the example W = |θ|, continuous and with a useful gradient everywhere.
#
# ## 3. The critic and the Lipschitz constraint
#
# The infimum over couplings is intractable, but the Kantorovich-Rubinstein
# duality turns it into a maximum over 1-Lipschitz functions f:
#
#     W(P_r, P_g) = sup_{||f||_L <= 1}  E_{x~P_r}[f(x)] - E_{x~P_g}[f(x)].
#
# A network D (the *critic*, it outputs a score, not a probability) plays f.
# It maximises E[D(real)] - E[D(fake)], and the generator minimises
# -E[D(G(z))]. The critic must stay 1-Lipschitz, |D(x1) - D(x2)| <= ||x1 - x2||,
# or the supremum is unbounded.
#
# **Weight clipping** (WGAN, Arjovsky et al. 2017; lesson 13) forces every weight into
# [-c, c]. It works, but poorly: the critic collapses towards very simple
# functions, most weights pile up at ±c, and depending on c the gradients
# explode or vanish through the layers (Gulrajani et al. 2017, section 3).

# %% [markdown]
# ## 4. The models
#
# **Critic:** two stride-2 convolutions with LeakyReLU(0.2), then a linear score.
# No BatchNorm: the penalty below is taken per sample, and BatchNorm would
# make each sample's score depend on the rest of the batch. (The 64x64
# critic uses LayerNorm, which normalises each sample on its own.)
#
# **Generator:** the DCGAN shape (Radford et al. 2015) with BatchNorm and a
# tanh output, 7x7 -> 14x14 -> 28x28. But where DCGAN upsamples with
# stride-2 transposed convolutions, we use **nearest upsampling followed by a
# 3x3 conv**. A strided transposed conv paints each output pixel phase with
# different kernel taps, which invites the checkerboard artefacts of Odena et
# al. 2016; a reference run of this lesson with ConvT k4 s2 grew a
# checkerboard on one seed in three and never recovered. Resize-then-conv has
# no such bias, because every output pixel sees the same 3x3 kernel.
# `nn.UpsampleConv2d` computes exactly Upsample(2) + Conv2d(3x3), folded into
# one transposed conv so that it costs no more than ConvT.

# %%
def make_generator(z_dim, channels, size):
    """z (N, z_dim) -> images (N, channels, size, size) in [-1, 1]."""
    start, widths = {28: (7, [256, 128]), 64: (4, [512, 256, 128, 64])}[size]
    layers = [nn.Linear(z_dim, widths[0] * start * start), nn.BatchNorm1d(widths[0] * start * start),
              nn.ReLU(), nn.Unflatten(1, (widths[0], start, start))]
    for c_in, c_out in zip(widths, widths[1:]):
        layers += [nn.UpsampleConv2d(c_in, c_out), nn.BatchNorm2d(c_out), nn.ReLU()]
    layers += [nn.UpsampleConv2d(widths[-1], channels), nn.Tanh()]
    return nn.Sequential(*layers)


def make_critic(channels, size):
    """images (N, channels, size, size) -> scores (N, 1)."""
    if size == 28:
        return nn.Sequential(
            nn.Conv2d(channels, 64, 4, 2, 1), nn.LeakyReLU(0.2),   # 14x14
            nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),        # 7x7
            nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    layers, c_in, s = [], channels, size
    for i, c_out in enumerate([64, 128, 256, 512]):                # 32, 16, 8, 4
        s //= 2
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1)] + ([nn.LayerNorm((c_out, s, s))] if i else [])
        layers += [nn.LeakyReLU(0.2)]
        c_in = c_out
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512 * 4 * 4, 1))


if H not in (28, 64) or H != W:
    raise SystemExit(f"--image-size: this lesson's models take 28x28 or 64x64 images, got {H}x{W}")
G = make_generator(args.z_dim, C, H).to(args.device)
D = make_critic(C, H).to(args.device)
print(f"generator: {sum(p.numel() for p in G.parameters()):,} parameters; "
      f"critic: {sum(p.numel() for p in D.parameters()):,}")

# %% [markdown]
# ## 5. The gradient penalty
#
# A differentiable function is 1-Lipschitz exactly when its gradient has norm
# at most 1 everywhere. Moreover the optimal critic f* has gradient norm 1
# on the straight line between a real x and a generated x̃ when the pair
# (x, x̃) is drawn from the *optimal coupling* π, the transport plan that
# attains W (Gulrajani et al. 2017, Proposition 1): along that line ∇f*
# points from the generated end to the real one, with norm 1. That
# coupling is unknown, so the paper (section 4, "Sampling distribution")
# uses a heuristic: it pairs a real and a generated sample drawn
# independently and penalises the critic where the
# norm strays from 1, at a random point on their line ("enforcing it only
# along these straight lines seems sufficient", they write). So instead of
# clipping weights, with the interpolation weight ε of their Algorithm 1:
#
#     x̂ = ε x + (1 - ε) x̃,   ε ~ U[0, 1], one ε per sample
#     L_D = E[D(x̃)] - E[D(x)] + λ E[(||∇_x̂ D(x̂)||_2 - 1)^2],   λ = 10
#
# The norm is taken per sample over all of (C, H, W). The penalty contains
# a gradient, so the critic's update needs the gradient *of a gradient*:
# `tg.grad(..., create_graph=True)` records the backward pass as a graph that
# `loss.backward()` then differentiates again (double backprop). Every
# tinygen op writes its backward in tinygen ops for exactly this reason.
# Drop `create_graph=True` and the penalty still has the right value, but
# its graph ends at `grad_x`: the critic's weights get no gradient from it,
# and training quietly becomes an unconstrained critic.
#
# The function below is the penalty of the paper's lines 4-8, for a whole
# batch at once instead of a loop over its m samples. Lessons 13 and 19 import
# the same function from `tinygen.utils.gan`; a test holds the two equal.

# %%
def gradient_penalty(D, real, fake):
    """E[(‖∇_x̂ D(x̂)‖₂ − 1)²] at x̂ = ε x + (1 − ε) x̃, without λ (Gulrajani et al. 2017, Algorithm 1, lines 4-8).

    real, fake: Tensors (N, C, H, W), x and x̃ = G(z) (line 5, the caller's). Returns a scalar
    Tensor, the mean over the N samples of the loop that line 8 closes; its graph reaches D's parameters.
    """
    n = real.shape[0]
    eps = tg.rand(n, *[1] * (real.ndim - 1), dtype=real.dtype, device=real.device)  # line 4: one ε per sample
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_()             # line 6
    scores = D(x_hat)
    grad_x, = tg.grad(scores, x_hat, grad_outputs=tg.ones_like(scores), create_graph=True)  # ∇_x̂ D(x̂), kept
    norms = ((grad_x.reshape(n, -1) ** 2).sum(dim=1) + 1e-12) ** 0.5   # per sample; 1e-12: finite gradient at 0
    return ((norms - 1) ** 2).mean()                                  # line 7's penalty, averaged over the batch


# %% [markdown]
# ## 6. Training: Algorithm 1
#
# Adam with lr 1e-4 and β = (0, 0.9), n_critic = 5 critic steps per generator
# step, λ = 10, batch 64: the paper's values. β1 = 0 drops momentum, which
# lags behind a critic that keeps changing. The critic is frozen during the
# generator step (`requires_grad_(False)`) so no weight gradients are wasted on it.
#
# -E[D(x̃)] + E[D(x)], the negative critic loss without the penalty, is the
# critic's estimate of the Wasserstein distance. Unlike a GAN's losses it
# should fall as samples improve: it is the curve to watch.

# %%
optD = optim.Adam(D.parameters(), lr=args.lr, betas=(0.0, 0.9))
optG = optim.Adam(G.parameters(), lr=args.lr, betas=(0.0, 0.9))


def step(next_batch):
    """One iteration of Algorithm 1: n_critic critic updates, then one generator update."""
    for _ in range(args.n_critic):                      # --- critic: E[D(fake)] - E[D(real)] + λ GP
        real = next_batch()
        with tg.no_grad():
            fake = G(tg.randn(real.shape[0], args.z_dim, device=args.device))
        d_real, d_fake = D(real).mean(), D(fake).mean()
        gp = gradient_penalty(D, real, fake)
        loss_D = d_fake - d_real + args.lambda_gp * gp
        optD.zero_grad()
        loss_D.backward()
        optD.step()

    D.requires_grad_(False)                             # --- generator: -E[D(G(z))], critic frozen
    loss_G = -D(G(tg.randn(args.batch_size, args.z_dim, device=args.device))).mean()
    optG.zero_grad()
    loss_G.backward()
    optG.step()
    D.requires_grad_(True)
    return {"loss_D": loss_D.item(), "loss_G": loss_G.item(), "wasserstein": (d_real - d_fake).item(),
            "gp": gp.item()}


run = RunDir(args.out)
gif = SampleGif(run.file("training.gif"), G, tg.randn(64, args.z_dim, device=args.device))  # a fixed 8x8 grid of z
history = fit_gan(step, batches, run, {"G": G, "D": D}, {"G": optG, "D": optD}, gif, steps=args.steps,
                  sample_every=args.sample_every, checkpoint_every=args.checkpoint_every, resume=args.resume,
                  device=args.device, print_every=1 if args.quick else 25)

# %% [markdown]
# ## 7. Results
#
# `losses.png` shows the critic and generator losses and, below, the
# Wasserstein estimate. `samples.png` shows the best samples: 256 fresh
# samples in 64 random groups of 4, and from each group the one the critic
# scores highest. That screens out failed samples but keeps the variety:
# ranking many samples at once picks 64 bright pullovers, because the critic
# has favourites.
# `samples_random.png` is the fixed-z grid as it ends, unranked.

# %%
viz.plot_losses(history, run.file("losses.png"), title="WGAN-GP on " + args.dataset)
viz.save_grid(best_of_k(G, D, tg.randn(256, args.z_dim, device=args.device), k=4), run.file("samples.png"))
viz.save_grid(generate(G, gif.inputs), run.file("samples_random.png"))
# %% [markdown]
# ## 8. Did the penalty hold the critic to 1-Lipschitz? And what would clipping do?
#
# Measure ||∇D(x̂)|| on fresh interpolates: the penalty should have pulled it
# to about 1. Then clip a copy of the trained critic's weights to [-0.01, 0.01],
# the WGAN recipe of lesson 13: every layer shrinks, so the gradient through the layers
# collapses by orders of magnitude. The critic is then far inside the
# 1-Lipschitz ball, a much weaker function than the constraint allows, which
# is the capacity loss Gulrajani et al. (section 3) describe.

# %%
real = tg.tensor(images[:256], device=args.device)
with tg.no_grad():
    fake = G(tg.randn(real.shape[0], args.z_dim, device=args.device))
norms = critic_grad_norms(D, real, fake).numpy()
clipped = make_critic(C, H).to(args.device)
clipped.load_state_dict(D.state_dict())
clip_weights(clipped.parameters(), 0.01)
clipped_norms = critic_grad_norms(clipped, real, fake).numpy()
last = history[-1]
metrics = {"steps": args.steps, "seed": args.seed, "final_wasserstein": last["wasserstein"],
           "mean_wasserstein_last_100": float(np.mean([r["wasserstein"] for r in history[-100:]])),
           "grad_norm_mean": float(norms.mean()), "grad_norm_std": float(norms.std()),
           "grad_norm_clipped_mean": float(clipped_norms.mean())}
print(f"||grad D(x_hat)||: {norms.mean():.3f} ± {norms.std():.3f} (the penalty's target is 1); "
      f"with weights clipped to ±0.01: {clipped_norms.mean():.2e}")

# %% [markdown]
# ## 9. The scores every GAN lesson reports
#
# FID against the 10,000 test images, the Inception Score and the class
# histogram of 10,000 samples, from the Fashion-MNIST classifier of lesson
# 09, so that this lesson compares with the others in the same units (on
# 28x28 grey images only: the classifier knows nothing of CelebA).
#
# **Measured** (default settings, 10,000 samples, 2026-12-05): FID 20.7,
# 20.4 and 22.1, IS 3.96, 3.97 and 3.81 (seeds 0, 1, 2), every class
# between 7.1 and 14.4 % of the samples, 17 minutes a run. That is
# lesson 12's DCGAN range (FID 19.8-21.6) after 5x its critic updates
# (2,000 generator steps each, at n_critic = 5 against DCGAN's one D step) and
# 3-4x its wall time: the penalty buys stability and a meaningful loss
# curve more than a better FID at this budget. The W estimate (2.82-2.90
# over the last 100 steps) and ‖∇D(x̂)‖ (1.10-1.13) are steady across seeds.

# %%
if (C, H) == (1, 28):
    _, scores = closing_scores(G, tg.randn(args.eval_samples, args.z_dim, device=args.device))
    metrics.update(eval_samples=args.eval_samples, **scores)
    print(f"FID {scores['fid']:.2f}, IS {scores['inception_score']:.2f}, "
          f"rarest class {min(scores['class_histogram']):.3f} of the samples")
if args.export_samples:
    export_samples(run, generate(G, tg.randn(args.export_samples, args.z_dim, device=args.device)))
run.save_metrics(metrics)
print(f"done: {args.steps} steps in {run.path}; final W estimate {last['wasserstein']:.3f}, "
      f"loss_D {last['loss_D']:.3f}, loss_G {last['loss_G']:.3f}")

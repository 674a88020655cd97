# %% [markdown]
# # Lesson 05: the sparse autoencoder
#
# An overcomplete autoencoder, with more code units than pixels, could just
# copy its input. A sparsity penalty stops that: each image may switch on
# only a few code units, so each unit must stand for something specific: a
# stroke, a part of a garment (Hands-On ML ch. 17 notes, slide 003: "reduce
# the number of neurons which activate in the coding layer (about 5%)", with
# a sigmoid coding layer and an l1 or a KL-divergence penalty; Ng 2011,
# "Sparse autoencoder" lecture notes).
#
#     .venv/bin/python lessons/05_sparse_ae.py             # 2.5 min on a 2-core CPU
#     .venv/bin/python lessons/05_sparse_ae.py --quick     # a few steps, for the tests
#     .venv/bin/python lessons/05_sparse_ae.py --resume    # continue an interrupted run
#
# Outputs in `--out` (default `runs/05_sparse_ae`): `features.png` (the
# features units respond to, per model), `activations.png` (mean activation
# per unit), `reconstructions.png`, `losses.png`, `metrics.json`, and per model
# a log and a resumable checkpoint (`plain`, `l1`, `kl` .jsonl/.npz).

# %%
import os

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import viz  # (viz selects matplotlib's Agg backend)
import matplotlib.pyplot as plt
from tinygen.utils.data import Batches, load_train_test
from tinygen.utils.run import (RunDir, lesson_parser, nonnegative_float, open_unit, parse_args, positive_float,
                              positive_int, probability)
from tinygen.utils.train import evaluate, fit, map_batches

parser = lesson_parser("Sparse autoencoders (L1 and KL penalties) on Fashion-MNIST", steps=3000,
                       batch_size=128, out=os.path.join("runs", "05_sparse_ae"),
                       datasets=("fashion-mnist", "mnist"))  # labelled, with a test split
parser.add_argument("--lr", type=positive_float, default=1e-3)
parser.add_argument("--hidden", type=positive_int, default=1000, help="code units (overcomplete: more than 784)")
parser.add_argument("--lambda-l1", type=nonnegative_float, default=0.03, help="weight of the L1 penalty")
parser.add_argument("--beta", type=nonnegative_float, default=0.5, help="weight of the KL sparsity penalty")
parser.add_argument("--rho", type=open_unit, default=0.05, help="target mean activation of a code unit")
parser.add_argument("--active-threshold", type=probability, default=0.5,
                    help="a unit counts as active on an image when its activation is above this")
args = parse_args(parser, quick={"steps": 5, "batch_size": 16, "hidden": 100})
tg.manual_seed(args.seed)

# %%
x_train, y_train, x_test, y_test = load_train_test(args.dataset, args.data_dir,
                                                   limit=300 if args.quick else None)
print(f"data: {len(x_train)} training and {len(x_test)} test images of 1x28x28, pixels in [0, 1]")

# %% [markdown]
# ## 1. The model
#
# One sigmoid coding layer of 1000 units, a = σ(W₁x + b₁), more units than
# the 784 pixels, and a sigmoid decoder x̂ = σ(W₂a + b₂). The sigmoid keeps
# every activation a_i in (0, 1), so "active" means near 1 and "silent" near
# 0. The mean activation of a unit over the images, ρ̂_j below, is an
# average *activation*, not a firing rate: it would be the fraction of
# images the unit fires on only if every activation were 0 or 1. Section 4
# measures the difference: the KL model's mean activation is 0.056 (the
# README's lesson-05 row), yet only about 1.5 % of its activations exceed
# 0.5; most of that mean is small, soft activations.

# %%
class SparseAutoencoder(nn.Module):
    """x (N, 1, 28, 28) -> (codes (N, hidden) in (0, 1), reconstructions (N, 1, 28, 28))."""

    def __init__(self, hidden):
        super().__init__()
        self.encoder = nn.Linear(784, hidden)
        self.decoder = nn.Linear(hidden, 784)

    def forward(self, x):
        a = self.encoder(x.reshape(x.shape[0], 784)).sigmoid()
        return a, self.decoder(a).sigmoid().reshape(*x.shape)


# %% [markdown]
# ## 2. Two sparsity penalties
#
# The reconstruction loss is the squared error summed over the 784 pixels,
# L(x, x̂) = Σ_pixels (x - x̂)², averaged over the batch; the penalties are
# sums over the code units, averaged over the batch the same way (slide 003):
#
# **L1:**   L(x, x̂) + λ Σ_i |a_i|   (a_i > 0 here, so |a_i| = a_i).
# The L1 norm pulls every activation towards 0 with the same force,
# whatever its size, so most activations end exactly where the penalty
# wins, near 0, and only those that pay for themselves in reconstruction stay on.
#
# **KL:**   L(x, x̂) + β Σ_j KL(ρ ‖ ρ̂_j),  ρ̂_j = (1/N) Σ_n a_j(x_n),
#
#     KL(ρ ‖ ρ̂) = ρ log(ρ / ρ̂) + (1 - ρ) log((1 - ρ) / (1 - ρ̂)),
#
# the KL divergence between two coins, one that comes up heads with
# probability ρ = 0.05 (the target) and one with ρ̂_j, the measured mean
# activation of unit j over the batch. It is 0 when ρ̂_j = ρ and grows fast
# as ρ̂_j moves away, infinitely fast towards 0 and 1. Unlike L1 it does not
# push each activation down: it fixes each unit's *average* activation, and
# lets the unit decide on which images, and how strongly, to spend it. (The
# coin reading, ρ̂_j as the probability that unit j is on, is exact only for
# 0/1 activations; Ng's notes use it as a heuristic.)
#
# ρ̂_j is a mean of sigmoids, so mathematically it lies strictly inside
# (0, 1). In float32, though, a unit saturated on the whole batch gives
# ρ̂_j = 1.0 exactly (or 0.0), and then log(1 - ρ̂_j) = -inf and the
# gradient is NaN. So ρ̂ is clamped into [ε, 1 - ε] first: inside the bounds
# (every realistic case) the loss and gradient are unchanged; at a bound the
# loss stays finite and that unit gets no KL gradient for the step.

# %%
def kl_sparsity(a, rho, eps=1e-6):
    """Σ_j KL(ρ ‖ ρ̂_j) with ρ̂_j the mean of a (N, hidden) over the batch."""
    rho_hat = a.mean(dim=0).clamp(eps, 1 - eps)
    return (rho * (rho / rho_hat).log() + (1 - rho) * ((1 - rho) / (1 - rho_hat)).log()).sum()


def l1_sparsity(a):
    """Σ_i |a_i|, averaged over the batch; a (N, hidden)."""
    return a.abs().sum(dim=1).mean()


penalties = {"plain": lambda a: 0.0,
             "l1": lambda a: args.lambda_l1 * l1_sparsity(a),
             "kl": lambda a: args.beta * kl_sparsity(a, args.rho)}

# %% [markdown]
# ## 3. Training: the same model three ways
#
# No penalty, L1 with λ = 0.03, KL with ρ = 0.05 and β = 0.5; 3000 Adam
# steps each. The weights were tuned in short trial runs: codes clearly
# sparse, reconstructions still recognisable. A larger λ kills more units
# (in one of those trial runs, at λ = 0.1, about half of them died); a
# larger β pins every ρ̂_j to ρ even more tightly and blurs the
# reconstructions.

# %%
def train(name, run):
    """Train a SparseAutoencoder with penalty ``name`` using fit; returns the model."""
    model = SparseAutoencoder(args.hidden).to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)

    def step(x):
        a, x_hat = model(x)
        recon = ((x_hat - x) ** 2).sum() / x.shape[0]       # Σ_pixels (x - x̂)², batch mean
        penalty = penalties[name](a)
        loss = recon + penalty
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "recon": recon.item(), "mean_activation": a.mean().item()}

    history = fit(step, Batches(x_train, batch_size=args.batch_size, seed=args.seed), args.steps, run, name=name,
                  models={"autoencoder": model}, optimizers={"adam": opt}, resume=args.resume, device=args.device,
                  print_every=1 if args.quick else 500, checkpoint_every=1000)
    seconds[name] = history.seconds            # training seconds, over every --resume
    model.eval()
    return model


run = RunDir(args.out)
seconds = {}
models = {name: train(name, run) for name in penalties}
train_seconds = sum(seconds.values())

# %% [markdown]
# ## 4. How sparse are the codes?
#
# Over the whole test set: the mean activation (the KL model's should sit
# near ρ = 0.05); the fraction of code units *on* (above 0.5) on an average
# image, the slide's "about 5% of neurons"; the fraction of *dead* units,
# whose mean activation stays below 0.01 (they barely respond to any
# image); the share of activations between 0.1 and 0.5; and the
# test MSE per pixel (are the reconstructions still good?).
#
# The two penalties get sparse in different ways. L1 pushes every
# activation down with the same force, so a unit that does not pay for
# itself in reconstruction is pushed to 0 for good: in the default run 36%
# of the units die, and the live ones are on more often. KL fixes every unit's
# *mean* at ρ, so no unit dies and all share the work. Both codes are sparse
# but soft: of the activations that are not near 0, most lie between 0.1 and
# 0.5 (16% and 15% of all of them), and few above 0.5 (4% and 1.5%).

# %%
names = {"plain": "no penalty", "l1": f"L1, λ = {args.lambda_l1:g}",
         "kl": f"KL, ρ = {args.rho:g}, β = {args.beta:g}"}
metrics = {"steps": args.steps, "hidden": args.hidden, "rho": args.rho, "lambda_l1": args.lambda_l1,
           "beta": args.beta, "active_threshold": args.active_threshold, "train_seconds": train_seconds}
codes = {}
for name, model in models.items():
    codes[name] = map_batches(lambda x: model(x)[0], x_test, device=args.device)
    mse = evaluate(lambda x: {"mse": F.mse_loss(model(x)[1], x)}, x_test, device=args.device)["mse"]
    metrics.update({f"{name}_mean_activation": float(codes[name].mean()),
                    f"{name}_active_fraction": float((codes[name] > args.active_threshold).mean()),
                    f"{name}_dead_fraction": float((codes[name].mean(axis=0) < 0.01).mean()),
                    f"{name}_test_mse": mse})
    print(f"{names[name]:>26}: mean activation {codes[name].mean():.3f}, "
          f"{(codes[name] > args.active_threshold).mean():5.1%} of units above {args.active_threshold} "
          f"per image, "
          f"{(codes[name].mean(axis=0) < 0.01).mean():4.0%} dead, "
          f"test MSE {mse:.4f}")
    metrics[f"{name}_soft_fraction"] = float(((codes[name] > 0.1) & (codes[name] <= 0.5)).mean())
    print(f"{'':>26}  {metrics[name + '_soft_fraction']:5.1%} of activations in (0.1, 0.5]")
run.save_metrics(metrics)

# %% [markdown]
# ## 5. What the units learned
#
# A unit's feature is the input pattern that excites it most: its row of
# encoder weights W₁[j], shown as a 28x28 image, each scaled to its own range
# (grey = 0). The first 32 units of each model. Without a penalty the
# features are noisy, striped patterns spread over a whole garment: many
# units share every image, none needs to mean anything on its own. With a
# sparsity penalty each unit must capture something by itself: a sneaker, a
# boot, a trouser leg, a sleeve, a collar. (The few pure-noise squares among
# the L1 features are dead units, still near their random initial weights.)
# Below, the reconstructions, and the histogram of every unit's mean activation.

# %%
def feature_images(model, n=32):
    """Encoder rows of the first n units as (n, 1, 28, 28) images, each scaled to [0, 1], 0 -> grey."""
    w = model.encoder.weight.numpy()[:n]
    return (0.5 + 0.5 * w / np.abs(w).max(axis=1, keepdims=True)).reshape(n, 1, 28, 28)


n_show = min(32, args.hidden)
rows, labels = [], []
for name, model in models.items():
    f = feature_images(model, n_show)
    rows += [f[:n_show // 2], f[n_show // 2:2 * (n_show // 2)]]
    labels += [names[name], ""]
viz.save_image_rows(rows, run.file("features.png"), labels=labels,
                    title="encoder weights of the first code units")

show = np.unique(y_test, return_index=True)[1][:10]      # the first test image of each class
viz.save_image_rows([x_test[show]] + [map_batches(lambda x: m(x)[1], x_test[show], device=args.device)
                                      for m in models.values()],
                    run.file("reconstructions.png"), labels=["test"] + [names[n] for n in models],
                    title="test images and reconstructions")

fig, axes = plt.subplots(1, 3, figsize=(13, 3.2), sharey=True)
for ax, (name, c) in zip(axes, codes.items()):
    ax.hist(c.mean(axis=0), bins=np.linspace(0, 1, 51), color="tab:blue")
    ax.axvline(args.rho, color="tab:red", ls="--", label=f"ρ = {args.rho:g}")
    ax.set_title(f"{names[name]}: mean {c.mean():.3f}")
    ax.set_xlabel("mean activation of a unit over the test set")
axes[0].set_ylabel("units")
axes[0].legend()
viz.save_figure(fig, run.file("activations.png"), dpi=80)
viz.plot_losses({n: run.history(n) for n in models}, run.file("losses.png"), keys=["recon"],
                title="reconstruction error (sum over pixels)")
print(f"trained 3 models in {train_seconds:.0f} s; pictures in {run.path}")

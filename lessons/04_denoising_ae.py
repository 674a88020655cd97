# %% [markdown]
# # Lesson 04: the denoising autoencoder
#
# Corrupt the input, reconstruct the clean image. An autoencoder trained
# this way cannot get away with copying its input: it has to learn what
# garments look like, and so it learns to remove noise (Vincent et al. 2008,
# "Extracting and Composing Robust Features with Denoising Autoencoders";
# Vincent et al. 2010, "Stacked Denoising Autoencoders"). This is Lab 14's
# "autoencoder without noise / with noise" (slide 000) and the "stacked
# denoising autoencoder ... for eliminating noise" of slide 003.
#
#     .venv/bin/python lessons/04_denoising_ae.py            # 2 min on a 2-core CPU
#     .venv/bin/python lessons/04_denoising_ae.py --quick    # a few steps, for the tests
#     .venv/bin/python lessons/04_denoising_ae.py --resume   # continue an interrupted run
#
# Outputs in `--out` (default `runs/04_denoising_ae`): `denoise_gaussian.png`
# and `denoise_masking.png` (test samples, noisy inputs, reconstructions by the
# plain AE and by the denoising AE), `losses.png`, `metrics.json`, and per
# model a log and a resumable checkpoint (`plain`, `gaussian`, `masking` .jsonl/.npz).

# %%
import os

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import viz
from tinygen.utils.data import Batches, load_train_test
from tinygen.utils.run import RunDir, lesson_parser, open_unit, parse_args, positive_float
from tinygen.utils.train import evaluate, fit, map_batches

parser = lesson_parser("Denoising autoencoders (Gaussian and masking noise) on Fashion-MNIST", steps=3000,
                       batch_size=128, out=os.path.join("runs", "04_denoising_ae"),
                       datasets=("fashion-mnist", "mnist"))  # labelled, with a test split
parser.add_argument("--lr", type=positive_float, default=1e-3)
parser.add_argument("--sigma", type=positive_float, default=0.5, help="std of the Gaussian noise")
parser.add_argument("--mask-p", type=open_unit, default=0.5, help="fraction of pixels the masking noise zeroes")
args = parse_args(parser, quick={"steps": 5, "batch_size": 16})
tg.manual_seed(args.seed)

# %%
x_train, y_train, x_test, y_test = load_train_test(args.dataset, args.data_dir,
                                                   limit=300 if args.quick else None)
print(f"data: {len(x_train)} training and {len(x_test)} test images of 1x28x28, pixels in [0, 1]")

# %% [markdown]
# ## 1. Two kinds of corruption
#
# **Gaussian noise:** x̃ = clip(x + σ·ε, 0, 1), ε ~ N(0, I), σ = 0.5. The
# clip keeps x̃ a valid image in [0, 1]; at σ = 0.5 about 46 % of the pixels
# would otherwise leave that range, most of them dark background pixels
# pushed below 0 (the code below prints the share the clip moved on the
# test set).
#
# **Masking noise**, in the form dropout gives it: each pixel is set to 0
# with probability p = 0.5, the rest are kept as they are: x̃ = m ⊙ x with
# m_i ~ Bernoulli(1 - p), so the number zeroed varies from image to image
# (784·p = 392 on average, standard deviation √(784·p(1 − p)) = 14).
# Vincent et al. 2008 (section 2.3)
# instead zero a fixed number νd of the d components, chosen at random for
# each image; at ν = p the two corruptions hardly differ.
# That is dropout on the input, with one difference.
# `F.dropout` is PyTorch-style *inverted* dropout: it also scales the kept
# values by 1/(1 - p) (here 2), so that E[x̃] = x and a network trained with
# dropout needs no rescaling at test time. For a corruption that is the wrong
# choice: the kept pixels would be twice as bright as any real pixel (up to
# 2), and the task would no longer be "fill in the missing pixels". So we
# take dropout's mask and undo its scale, multiplying by (1 - p): plain masking.
#
# Training draws fresh noise for every batch (from tinygen's seeded generator,
# so a resumed run draws the same). The test set is corrupted once, with a
# fixed seed, so that every model sees the same noisy test images.

# %%
def gaussian_noise(x, sigma=args.sigma):
    """x̃ = clip(x + σ ε, 0, 1); x (N, 1, 28, 28)."""
    return (x + sigma * tg.randn_like(x)).clamp(0.0, 1.0)


def masking_noise(x, p=args.mask_p):
    """x̃ = m ⊙ x, m ~ Bernoulli(1 - p): dropout's mask without its 1/(1 - p) scale."""
    return F.dropout(x, p) * (1.0 - p)


def no_noise(x):
    return x


rng = np.random.default_rng(args.seed + 1)
noisy_test = {
    "clean": x_test,
    "gaussian": np.clip(x_test + args.sigma * rng.standard_normal(x_test.shape), 0, 1).astype(np.float32),
    "masking": x_test * (rng.random(x_test.shape) >= args.mask_p).astype(np.float32),
}
clipped = np.mean((noisy_test["gaussian"] == 0) | (noisy_test["gaussian"] == 1))   # what the clip moved
print(f"Gaussian noise σ = {args.sigma}: the clip moved {clipped:.0%} of the test pixels back into [0, 1]")

# %% [markdown]
# ## 2. The model and the loss
#
# A dense autoencoder 784 -> 512 -> 128 -> 512 -> 784 with ReLUs and a sigmoid
# output. The noise goes into the **input only**; the loss compares the
# reconstruction with the **clean** image:
#
#     L = mean (x - g(f(x̃)))²,    x̃ ~ q(x̃ | x)    (Vincent et al. 2010, eq. 4)
#
# With q the identity this is the plain autoencoder. We train three: no noise,
# Gaussian noise and masking noise, with the same architecture and steps.

# %%
def make_autoencoder():
    """images (N, 1, 28, 28) -> reconstructions (N, 1, 28, 28) in [0, 1]."""
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 128), nn.ReLU(),   # encoder
        nn.Linear(128, 512), nn.ReLU(), nn.Linear(512, 784), nn.Sigmoid(),             # decoder
        nn.Unflatten(1, (1, 28, 28)))


def train_autoencoder(name, corrupt, run):
    """Train one autoencoder on (corrupt(x) -> x) with fit; returns the model."""
    model = make_autoencoder().to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)

    def step(x):
        with tg.no_grad():
            x_noisy = corrupt(x)              # corrupt the input only...
        loss = F.mse_loss(model(x_noisy), x)  # ...and reconstruct the clean image
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    history = fit(step, Batches(x_train, batch_size=args.batch_size, seed=args.seed), args.steps, run, name=name,
                  models={"autoencoder": model}, optimizers={"adam": opt}, resume=args.resume, device=args.device,
                  print_every=1 if args.quick else 500, checkpoint_every=1000)
    seconds[name] = history.seconds            # training seconds, over every --resume
    model.eval()
    return model


run = RunDir(args.out)
seconds = {}
models = {name: train_autoencoder(name, corrupt, run)
          for name, corrupt in (("plain", no_noise), ("gaussian", gaussian_noise),
                                ("masking", masking_noise))}
train_seconds = sum(seconds.values())

# %% [markdown]
# ## 3. Who removes the noise?
#
# Every model on every test input, always measured against the **clean**
# test images. The "noise removed" ratio is the share of the noisy input's
# error that the model takes away: 1 - MSE(x̂, x) / MSE(x̃, x). 1 would be
# perfect denoising, 0 no better than passing the noisy image through.
#
# Read the table by rows, too. A denoising AE is a specialist: it learns the
# corruption it was trained on. The Gaussian one expects a grey, speckled
# background, so it does worse on clean images than on noisy ones; the masking
# one expects half the pixels missing and brightens what it sees, so on
# Gaussian noise it is worse than doing nothing. The plain AE is the best on
# clean images, the only input it knows.

# %%
mse = {m: {inp: evaluate(lambda xn, x: {"mse": F.mse_loss(model(xn), x)}, noisy_test[inp], x_test,
                         device=args.device)["mse"] for inp in noisy_test}
       for m, model in models.items()}
input_mse = {inp: float(np.mean((noisy_test[inp] - x_test) ** 2)) for inp in noisy_test}
metrics = {"steps": args.steps, "sigma": args.sigma, "mask_p": args.mask_p, "train_seconds": train_seconds}
print(f"\ntest MSE against the clean images\n{'model':>10} " + " ".join(f"{inp:>10}" for inp in noisy_test))
print(f"{'(input)':>10} " + " ".join(f"{input_mse[inp]:>10.4f}" for inp in noisy_test))
for m in models:
    print(f"{m:>10} " + " ".join(f"{mse[m][inp]:>10.4f}" for inp in noisy_test))
    for inp in noisy_test:
        metrics[f"test_mse_{m}_on_{inp}"] = mse[m][inp]
for inp in ("gaussian", "masking"):
    metrics[f"input_mse_{inp}"] = input_mse[inp]
    for m in models:
        metrics[f"noise_removed_{m}_on_{inp}"] = 1 - mse[m][inp] / input_mse[inp]
    print(f"{inp} noise removed: plain AE {metrics[f'noise_removed_plain_on_{inp}']:.0%}, "
          f"denoising AE {metrics[f'noise_removed_{inp}_on_{inp}']:.0%}")
run.save_metrics(metrics)

# %% [markdown]
# ## 4. The pictures of Lab 14
#
# For each noise: test samples, the noisy inputs, what the plain autoencoder
# makes of them, and what the denoising autoencoder makes of them. The plain
# AE never saw noise: its 128-number code has no room for it, but the noise
# pushes the code to a wrong place, and out comes a smeared, striped garment,
# sometimes of the wrong kind. The denoising AE returns clean, if blurred, garments.

# %%
show = np.unique(y_test, return_index=True)[1][:10]      # the first test image of each class
for inp, what in (("gaussian", f"Gaussian noise, σ = {args.sigma}"),
                  ("masking", f"masking noise, p = {args.mask_p}")):
    noisy = noisy_test[inp][show]
    rows = [x_test[show], noisy] + [map_batches(models[m], noisy, device=args.device) for m in ("plain", inp)]
    viz.save_image_rows(rows, run.file(f"denoise_{inp}.png"),
                        labels=["test", "noisy input", "plain AE", "denoising AE"],
                        title=f"{what}: test MSE plain AE {mse['plain'][inp]:.4f}, "
                              f"denoising AE {mse[inp][inp]:.4f}")
viz.plot_losses({m: run.history(m) for m in models}, run.file("losses.png"),
                title="training MSE (against the clean images)")
print(f"trained 3 models in {train_seconds:.0f} s; pictures in {run.path}")

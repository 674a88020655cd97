# %% [markdown]
# # Lesson 07: the variational autoencoder
#
# An autoencoder's decoder maps codes to images. Can we then draw a random
# code and decode it into a new image? With a plain autoencoder, not
# reliably: nothing says where in code space the training images landed, or
# what lies between them. The variational autoencoder (Kingma & Welling
# 2014, "Auto-Encoding Variational Bayes") fixes that. It is a latent-variable
# model p(z) p_θ(x|z) with the prior p(z) = N(0, I), trained by maximising a
# lower bound on log p(x). Decoding z ~ N(0, I) then gives new images. This
# is Assignment 4 part 1 of the course (slide 002), with the VAE of slide 003
# (Hands-On ML ch. 17) and the "decoder as generative model" of slide 001.
#
#     .venv/bin/python lessons/07_vae.py              # 3 min on a 2-core CPU (three models)
#     .venv/bin/python lessons/07_vae.py --quick      # a few steps, for the tests
#     .venv/bin/python lessons/07_vae.py --resume     # continue an interrupted run
#
# Outputs in `--out` (default `runs/07_vae`): `progress.png` (test
# reconstructions at the start, middle and end of training), `samples_bernoulli.png`
# and `samples_gaussian.png` (8x8 grids decoded from z ~ N(0, I)),
# `manifold.png` (the 2-D latent space decoded on a grid), `codes.png` (the
# 2-D codes of the test set by class), `interpolation.png` (latent paths
# against pixel cross-fades), `losses.png`, `losses_gaussian.png`, `metrics.json`. Each of the three
# trainings keeps its log `<name>.jsonl` and resumable checkpoint `<name>.npz`.

# %%
import math
import os

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import latent, viz
from tinygen.utils.data import FASHION_MNIST_CLASSES, Batches, load_train_test
from tinygen.utils.run import RunDir, lesson_parser, parse_args, positive_float, positive_int
from tinygen.utils.train import evaluate, fit, map_batches

parser = lesson_parser("Variational autoencoder on Fashion-MNIST (Kingma & Welling 2014)", steps=5000,
                       batch_size=128, out=os.path.join("runs", "07_vae"),
                       datasets=("fashion-mnist", "mnist"))  # labelled, with a test split
parser.add_argument("--z-dim", type=positive_int, default=16, help="latent size of the two main models")
parser.add_argument("--hidden", type=positive_int, default=512, help="hidden layer width of encoder and decoder")
parser.add_argument("--sigma", type=positive_float, default=0.1, help="fixed pixel std of the Gaussian decoder")
parser.add_argument("--lr", type=positive_float, default=1e-3)
args = parse_args(parser, quick={"steps": 4, "batch_size": 16, "hidden": 32})
tg.manual_seed(args.seed)

# %% [markdown]
# ## 1. The data
#
# Real Fashion-MNIST, pixels in [0, 1]. Each image is a vector x of
# D = 784 grey levels.

# %%
x_train, y_train, x_test, y_test = load_train_test(args.dataset, args.data_dir, limit=300 if args.quick else None)
D = int(np.prod(x_train.shape[1:]))
print(f"data: {args.dataset}, {len(x_train)} train / {len(x_test)} test images of {D} pixels")

# %% [markdown]
# ## 2. The evidence lower bound (ELBO)
#
# We want the decoder p_θ(x|z) to make the data likely: maximise
# log p(x) = log ∫ p_θ(x|z) p(z) dz. That integral over all codes is
# intractable. So an encoder q_φ(z|x) proposes the codes that could have
# made x, and for any such q (slide 002; Kingma & Welling eqs. 1 and 3):
#
#     log p(x) = ELBO + KL(q_φ(z|x) ‖ p_θ(z|x)) ≥ ELBO,                   (eq. 1)
#     ELBO = E_{z~q_φ(z|x)}[log p_θ(x|z)] − KL(q_φ(z|x) ‖ p(z)).          (eq. 3)
#            \_______ reconstruction ____/   \____ regulariser ____/
#
# The first term asks that codes drawn from q decode back to x. The second
# keeps each q(z|x) close to the prior N(0, I), so that the codes of all
# images together fill the prior and a code drawn from it decodes to
# something sensible. We minimise −ELBO, in nats per image.
#
# ## 3. The encoder and the reparameterisation trick
#
# q_φ(z|x) = N(μ_φ(x), diag σ²_φ(x)). The encoder is one hidden layer with two
# heads: μ and log σ². The log makes any real output a valid variance. To
# estimate E_q[·] we sample z, but "sample" is not differentiable in μ and
# σ. So we write the sample as a deterministic function of them and of
# noise that does not depend on them (slide 003):
#
#     z = μ + σ ⊙ ε,   ε ~ N(0, I),   σ = exp(½ log σ²).
#
# This z has the same distribution N(μ, σ²), and the gradient flows into μ
# and σ through + and ⊙. (Slide 003 writes "μ + σ² ⊙ ε", a typo: the
# *standard deviation* multiplies ε, since Var(σ ε) = σ².)

# %%
def reparameterize(mu, logvar):
    """A sample z ~ N(μ, diag e^logvar), differentiable in μ and log σ²: z = μ + σ ⊙ ε.

    mu, logvar: (N, z_dim) Tensors. Returns (N, z_dim); ε comes from tinygen's
    global generator (``tg.manual_seed``).
    """
    eps = tg.randn(*mu.shape, dtype=mu.dtype, device=mu.device)
    return mu + tg.exp(0.5 * logvar) * eps                    # σ = e^{½ log σ²}, not σ²


class VAE(nn.Module):
    """x (N, 1, 28, 28) -> (logits of p(x|z) (N, 1, 28, 28), μ (N, z), log σ² (N, z))."""

    def __init__(self, z_dim, hidden):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(D, hidden), nn.ReLU())
        self.mu_head, self.logvar_head = nn.Linear(hidden, z_dim), nn.Linear(hidden, z_dim)
        self.decoder = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, D),
                                     nn.Unflatten(1, x_train.shape[1:]))
        self.z_dim = z_dim

    def encode(self, x):
        h = self.body(x)
        return self.mu_head(h), self.logvar_head(h)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decoder(reparameterize(mu, logvar)), mu, logvar


def decode_mean(model, z):
    """z (N, z_dim) -> the decoder's mean image σ(logits) (N, 1, 28, 28), what we draw."""
    return F.sigmoid(model.decoder(z))


# %% [markdown]
# ## 4. The regulariser in closed form
#
# Both q and p(z) are Gaussian, so the KL needs no sampling (Kingma &
# Welling appendix B; slide 003):
#
#     KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (σ_j² + μ_j² − log σ_j² − 1).
#
# It is 0 exactly when μ = 0 and σ = 1, and it grows as a code moves away
# from the origin or becomes more certain than the prior. `F.kl_divergence`
# computes it, summed over the latent dimensions and averaged over the batch.
#
# ## 5. Two decoders, two likelihoods
#
# Slide 002 allows either "BCE (Bernoulli)" or "L2 (Gaussian)". Both decoders
# output 784 numbers per code. What differs is the distribution p_θ(x|z)
# those numbers describe, and with it the reconstruction term −log p_θ(x|z).
#
# **Bernoulli:** each pixel is a coin with probability p = σ(logit):
#
#     −log p_θ(x|z) = −Σ_i [x_i log p_i + (1 − x_i) log(1 − p_i)],
#
# the binary cross-entropy *summed* over the 784 pixels. A mean over pixels
# would shrink this term 784 times against the KL. Fashion-MNIST pixels are
# grey levels, not 0/1, so strictly this is not a likelihood of the data.
# Using BCE with continuous targets is still the common practice. It trains
# well, but even a perfect reconstruction keeps a positive loss (the entropy
# of the grey levels).
#
# **Gaussian:** p_θ(x|z) = N(μ_θ(x|z), σ² I) with a fixed σ:
#
#     −log p_θ(x|z) = ‖x − μ_θ(z)‖² / (2σ²) + (D/2) log(2πσ²).
#
# This is slide 003's "negative log probability proportional to squared
# Euclidean distance": L2 up to a scale and a constant. σ is not decoration.
# It sets the weight 1/(2σ²) of the reconstruction against the KL. With
# σ = 1 the squared error of a whole image at MSE 0.01 (784 × 0.01 ≈ 7.8)
# costs only 7.8 / 2 ≈ 3.9 nats, so fine detail is not worth many nats of
# KL: in the β terms below this is β = 2σ² = 2, and the encoder keeps a
# coarser, blurrier code (blurry reconstructions and samples). That is not
# posterior collapse: the coarse shape still pays, since the mean image
# alone leaves 784 × 0.0866 ≈ 68 squared units per image (the mean image's
# MSE in the README's lesson-06 row). The right σ is the size of the
# errors the decoder actually makes: the σ that maximises the likelihood for
# a given decoder is σ² = the per-pixel MSE. Our AEs reach an MSE around
# 0.01 on Fashion-MNIST, so we fix **σ = 0.1**. The lesson measures the
# resulting MSE, and with it the maximum-likelihood σ, in `metrics.json`
# (`gaussian_sigma_ml`: 0.104 in our run, so the choice is self-consistent).
# Seen the other way round, 2σ² plays the role of a weight β on the KL term,
# so σ also trades sharp reconstructions against samples (section 8).
# The constant does not change the gradients, but we include it so that −ELBO is
# a proper bound on −log p(x) for a *density* on R^784. A density can exceed 1,
# so this −ELBO can be negative.
#
# The two −ELBOs are not comparable. One is a bound on the probability of a
# 0/1 image, the other on the density of a continuous one. To compare the
# decoders, use the pictures and the test MSE of the reconstructions.

# %%
def bernoulli_nll(logits, x):
    """−log p(x|z) of a Bernoulli decoder, summed over pixels, mean over the batch (nats per image)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") * (1.0 / x.shape[0])


def gaussian_nll(logits, x):
    """−log N(x; σ(logits), σ² I), summed over pixels with its constant, mean over the batch."""
    sq = F.mse_loss(F.sigmoid(logits), x, reduction="sum") * (1.0 / x.shape[0])
    return sq * (0.5 / args.sigma ** 2) + 0.5 * D * math.log(2 * math.pi * args.sigma ** 2)


def neg_elbo(model, nll, x):
    """The −ELBO of batch x and its two terms (scalar Tensors, nats per image), one z per image."""
    logits, mu, logvar = model(x)
    recon, kl = nll(logits, x), F.kl_divergence(mu, logvar)
    return recon + kl, recon, kl


# %% [markdown]
# ## 6. Training three models
#
# - **Bernoulli, z = 16**: the main model.
# - **Gaussian, z = 16**: the same network, L2 decoder with σ = 0.1.
# - **Bernoulli, z = 2**: a latent space we can draw (section 9).
#
# Each model takes one z per image per step (L = 1 in Kingma & Welling's
# estimator, eq. 10: eq. 3 with the closed-form KL of section 4 and the
# expectation replaced by L samples z = μ + σ ⊙ ε; a batch of 128 already
# averages the noise). Adam, lr 1e-3,
# 5000 steps of 128 (10.7 epochs). For the main models, a callback decodes
# the same 8 test images at steps 0, 2500 and 5000. The snapshots live in
# fit's `state`, so they survive `--resume`.

# %%
run = RunDir(args.out)
shown = x_test[:8]
mid = args.steps // 2
snap_steps = (0, mid, args.steps)


def train(name, z_dim, nll):
    """Train one VAE with fit (resumable stage ``name``); returns (model, log, snapshots, seconds)."""
    tg.manual_seed(args.seed)
    model = VAE(z_dim, args.hidden).to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)

    def step(x):
        loss, recon, kl = neg_elbo(model, nll, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "recon": recon.item(), "kl": kl.item()}

    snapshots = {}

    def snapshot(s):  # reconstructions from the mean code μ
        snapshots[f"step_{s}"] = map_batches(lambda x: decode_mean(model, model.encode(x)[0]), shown,
                                             device=args.device)

    log = fit(step, Batches(x_train, batch_size=args.batch_size, seed=args.seed), args.steps, run, name=name,
              models={"vae": model}, optimizers={"adam": opt}, state=snapshots, resume=args.resume,
              device=args.device, print_every=5 if args.quick else 250, checkpoint_every=500,
              callback=snapshot, callback_steps=snap_steps)
    model.eval()
    return model, log, snapshots, log.seconds   # training seconds, over every --resume


stages = {"bernoulli": (args.z_dim, bernoulli_nll), "gaussian": (args.z_dim, gaussian_nll),
          "bernoulli_2d": (2, bernoulli_nll)}
models, logs, snaps, seconds = {}, {}, {}, {}
for name, (z_dim, nll) in stages.items():
    models[name], logs[name], snaps[name], seconds[name] = train(name, z_dim, nll)
train_seconds = sum(seconds.values())

# %% [markdown]
# ## 7. The test-set ELBO and reconstructions over training
#
# −ELBO, reconstruction term and KL on the 10,000 test images, in nats per
# image, with one z per image. Each is also a bound in the other direction:
# log p(x) ≥ ELBO. `progress.png` shows the same test images reconstructed
# at the start (random weights: grey noise), the middle and the end of
# training. The slide's checklist asks whether the reconstructions are
# good and whether the generations look like the data.

# %%
metrics = {"steps": args.steps, "batch_size": args.batch_size, "z_dim": args.z_dim, "hidden": args.hidden,
           "sigma_gaussian": args.sigma, "train_seconds": train_seconds}
tg.manual_seed(args.seed)  # the same ε for every rerun of this evaluation
for name, (z_dim, nll) in stages.items():
    model = models[name]

    def test_terms(x, model=model, nll=nll):
        loss, recon, kl = neg_elbo(model, nll, x)
        mse = F.mse_loss(decode_mean(model, model.encode(x)[0]), x)
        return {"neg_elbo": loss, "recon_nll": recon, "kl": kl, "mse": mse}

    for key, value in evaluate(test_terms, x_test, device=args.device).items():
        metrics[f"{name}_{key}"] = value
    metrics[f"{name}_train_seconds"] = seconds[name]
    metrics[f"{name}_params"] = sum(p.numel() for p in model.parameters())
    print(f"{name:>13}: test -ELBO {metrics[name + '_neg_elbo']:9.2f} nats = "
          f"recon {metrics[name + '_recon_nll']:9.2f} + KL {metrics[name + '_kl']:6.2f}; "
          f"MSE {metrics[name + '_mse']:.4f}")
# The σ that would maximise the Gaussian likelihood of the test reconstructions (section 5)
metrics["gaussian_sigma_ml"] = math.sqrt(metrics["gaussian_mse"])

rows, labels = [shown], ["test"]
for name in ("bernoulli", "gaussian"):
    for key in sorted(snaps[name], key=lambda k: int(k.split("_")[1])):  # a resume may add steps
        rows.append(snaps[name][key])
        labels.append(f"{name}, step {key.split('_')[1]}")
viz.save_image_rows(rows, run.file("progress.png"), labels=labels,
                    title="VAE reconstructions (decoded μ) at the start, middle and end of training")
# −ELBOs of different likelihoods are not comparable, so one plot per likelihood
viz.plot_losses({"z=16": logs["bernoulli"], "z=2": logs["bernoulli_2d"]}, run.file("losses.png"),
                keys=["kl (z=16)", "kl (z=2)"], title="Bernoulli VAEs: −ELBO and its KL term (nats per image)")
viz.plot_losses(logs["gaussian"], run.file("losses_gaussian.png"), keys=["kl"],
                title=f"Gaussian VAE (σ = {args.sigma}): −ELBO and its KL term (nats per image)")

# %% [markdown]
# ## 8. The decoder as a generative model
#
# Draw z ~ N(0, I) and decode. We show the decoder's mean σ(logits) (or
# μ_θ(z)), not a noisy sample of pixels from p_θ(x|z): the usual practice,
# since a Bernoulli or σ = 0.1 sample is just the mean with salt and pepper.
# The z are the same 64 codes for both decoders.
#
# In our run the Bernoulli samples are the cleaner ones, although the
# Gaussian model reconstructs better (test MSE 0.011 against 0.0135). Its
# reconstruction weight 1/(2σ²) = 50 per squared unit buys detail with a
# larger KL: 46 nats against 17. The codes stray further from N(0, I), and a
# code drawn from the prior lands more often where no training image went,
# which decodes to streaks. With `--sigma 0.2` we measured a KL of 33 nats,
# an MSE of 0.0113 and somewhat cleaner samples. That is the trade-off σ sets.

# %%
z = tg.randn(64, args.z_dim, device=args.device)
with tg.no_grad():
    for name in ("bernoulli", "gaussian"):
        viz.save_grid(decode_mean(models[name], z).numpy(), run.file(f"samples_{name}.png"), value_range=(0, 1))

# %% [markdown]
# ## 9. The learned 2-D manifold
#
# With z = 2 the latent space can be drawn. `manifold.png` decodes a 20x20
# grid of codes at equally spaced quantiles of N(0, 1), so each cell holds
# the same prior mass: Kingma & Welling's figure 4. Neighbouring cells
# decode to similar garments, and one kind of garment morphs smoothly into
# the next. `codes.png` plots μ of every test image, coloured by its class.
# This model never saw a label, yet the classes form regions (footwear,
# trousers, dresses, tops). The KL term packs them round the origin at the
# prior's scale, with no empty gaps between them.

# %%
grid = latent.gaussian_grid(20)
with tg.no_grad():
    manifold = decode_mean(models["bernoulli_2d"], tg.tensor(grid.astype(np.float32), device=args.device))
viz.save_grid(manifold.numpy(), run.file("manifold.png"), nrow=20, value_range=(0, 1), padding=0)
codes = map_batches(lambda x: models["bernoulli_2d"].encode(x)[0], x_test, device=args.device)
viz.plot_codes({"VAE, z = 2: μ(x) of the test images": codes}, y_test, run.file("codes.png"),
               class_names=FASHION_MNIST_CLASSES if args.dataset == "fashion-mnist" else None)

# %% [markdown]
# ## 10. Interpolation and morphing
#
# Slide 001, "Decoder as generative model": walk from one image to another
# *in code space*. Encode two test images to μ_a and μ_b, and decode 10
# codes on the path between them. Straight line (lerp) or great circle
# (slerp, `tinygen.latent`). Every point on the path decodes to a plausible
# garment: the shape changes, and the ends are the reconstructions of the
# two images. The naive alternative is to cross-fade the pixels,
# (1 − t) x_a + t x_b. That gives double exposures, not garments, because
# the average of two images is not on the data manifold.

# %%
def first_of_class(c, fallback):
    hits = np.flatnonzero(y_test == c)
    return int(hits[0]) if len(hits) else fallback


pairs = [(first_of_class(7, 0), first_of_class(9, 1)),   # sneaker -> ankle boot
         (first_of_class(0, 2), first_of_class(3, 3))]   # T-shirt -> dress
model = models["bernoulli"]
rows, labels = [], []
t = np.linspace(0, 1, 10, dtype=np.float32).reshape(-1, 1, 1, 1)
for a, b in pairs:
    mu = map_batches(lambda x: model.encode(x)[0], x_test[[a, b]], device=args.device)
    rows.append((1 - t) * x_test[a] + t * x_test[b])
    labels.append("pixels: (1−t) x_a + t x_b")
    for method in ("lerp", "slerp"):
        path = latent.interpolate(mu[0], mu[1], 10, method).astype(np.float32)
        with tg.no_grad():
            rows.append(decode_mean(model, tg.tensor(path, device=args.device)).numpy())
        labels.append(f"latent {method}")
viz.save_image_rows(rows, run.file("interpolation.png"), labels=labels,
                    title="morphing in latent space vs cross-fading pixels (Bernoulli VAE, z = 16)")

run.save_metrics(metrics)
print(f"done: three VAEs trained in {train_seconds:.0f} s; pictures and metrics.json in {run.path}")

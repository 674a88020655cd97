# %% [markdown]
# # Lesson 12: DCGAN, the convolutional GAN and its rules
#
# Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with
# Deep Convolutional Generative Adversarial Networks", made GANs train
# reliably on images with a handful of architecture rules. This lesson
# builds a DCGAN for 28x28 Fashion-MNIST with every rule visible in the
# code, trains it with the paper's optimiser settings, and then does what
# the lecture's slides do with it:
# - good against bad training curves: the default run beside a run whose
#   discriminator is made too strong;
# - interpolation between two codes z, straight (lerp) against along the
#   sphere (slerp, the "GAN hacks" slide);
# - latent vector arithmetic (the paper's "smiling woman" figure), with
#   the class-mean codes picked by a Fashion-MNIST classifier;
# - the discriminator as a feature extractor: a linear classifier on its
#   frozen features against the same classifier on raw pixels.
#
#     python lessons/12_dcgan.py                 # about 15 min on a 2-core CPU
#     python lessons/12_dcgan.py --quick         # a few steps, for the tests
#     python lessons/12_dcgan.py --resume        # continue an interrupted run
#     python lessons/12_dcgan.py --export-samples 10000
#
# Outputs in `--out` (default `runs/12_dcgan`): `training.gif` (a fixed-z
# 8x8 grid over training), `losses.png`, `samples.png`, `samples_random.png`,
# `good_vs_bad.png`, `interpolation.png`, `arithmetic.png`, `metrics.json`
# (FID, IS and the class histogram of `--eval-samples` samples, the strong-D
# run's scores, the linear-probe accuracies, the arithmetic's verdicts), and
# per training stage (`train`, `strong_d`, `probe_*`) a log `<stage>.jsonl`
# and a resumable checkpoint `<stage>.npz`.

# %%
import os

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import viz
from tinygen.utils.data import FASHION_MNIST_CLASSES, Batches, load_train_test
from tinygen.utils.gan import GAN_QUICK, SampleGif, add_gan_flags, dcgan_init, export_samples, fit_gan, generate
from tinygen.utils.latent import interpolate
from tinygen.utils.metrics import evaluate_samples, predict_proba
from tinygen.utils.run import (RunDir, beta, int_list, lesson_parser, nonnegative_int, parse_args, positive_float,
                              positive_int)
from tinygen.utils.train import evaluate, fit, map_batches, tail_means


parser = lesson_parser("DCGAN on Fashion-MNIST (Radford et al. 2015)", steps=2000,
                       out=os.path.join("runs", "12_dcgan"))
add_gan_flags(parser, sample_every=100, checkpoint_every=200)
parser.add_argument("--lr", type=positive_float, default=2e-4, help="Adam's learning rate (the paper's 2e-4)")
parser.add_argument("--beta1", type=beta, default=0.5, help="Adam's β1 (the paper's 0.5; 0.9 oscillates)")
parser.add_argument("--g-width", type=positive_int, default=64,
                    help="G's last hidden width; G is z -> 2w x 7 x 7 -> w x 14 x 14 -> 1 x 28 x 28")
parser.add_argument("--d-width", type=positive_int, default=64, help="D's first width; D is 1 -> w -> 2w channels")
parser.add_argument("--strong-steps", type=nonnegative_int, default=400,
                    help="generator steps of the too-strong-D comparison run (0 skips it)")
parser.add_argument("--strong-k", type=positive_int, default=3, help="D steps per G step in the too-strong-D run")
parser.add_argument("--strong-lr-mult", type=positive_float, default=5.0,
                    help="D's learning rate in the too-strong-D run, as a multiple of --lr")
parser.add_argument("--probe-labels", type=int_list(10), default=[1000, 10000],
                    help="comma-separated: labelled training images for the linear probes (one per class at least)")
parser.add_argument("--probe-steps", type=positive_int, default=1500, help="training steps of each linear probe")
args = parse_args(parser, quick={**GAN_QUICK, "steps": 4, "batch_size": 16, "strong_steps": 2,
                                 "probe_labels": [40, 100], "probe_steps": 4})
tg.manual_seed(args.seed)
run = RunDir(args.out)

# %% [markdown]
# ## 1. The data
#
# Fashion-MNIST with pixels in [-1, 1], the range of the generator's tanh.
# The labels are not used to train the GAN, only by the linear probes of
# section 8.

# %%
if args.dataset not in ("fashion-mnist", "mnist"):
    parser.error(f"--dataset: this lesson needs labels and a test split (fashion-mnist or mnist), "
                 f"got {args.dataset!r}")
x_train, y_train, x_test, y_test = load_train_test(args.dataset, args.data_dir, value_range=(-1.0, 1.0),
                                                   limit=256 if args.quick else None)
if max(args.probe_labels) > len(x_train):
    parser.error(f"--probe-labels: at most the {len(x_train)} training images, got {args.probe_labels}")
batches = Batches(x_train, batch_size=args.batch_size, seed=args.seed)
print(f"data: {args.dataset}, {len(x_train)} training and {len(x_test)} test images of 1x28x28")

# %% [markdown]
# ## 2. The DCGAN rules
#
# Radford et al. (section 3) list the changes that made convolutional GANs
# stable. Each is one line below:
#
# 1. **No pooling: strided convolutions in D, transposed convolutions in G.**
#    The network learns its own down- and upsampling instead of a fixed max.
#    A stride-2 4x4 conv halves the side (28 -> 14 -> 7); a stride-2 4x4
#    transposed conv doubles it (7 -> 14 -> 28).
# 2. **No hidden fully connected layers.** G's first layer "projects and
#    reshapes" z to a 7x7 feature map. Done as a transposed conv with a 7x7
#    kernel on z seen as a 1x1 image, it is the same matrix product as a
#    Linear layer, but nothing in the network is a dense hidden layer. D's
#    last conv, a 7x7 kernel over the 7x7 map, gives one logit: the paper's
#    "flattened and fed into a single sigmoid output".
# 3. **BatchNorm everywhere except G's output and D's input.** BatchNorm
#    (Ioffe & Szegedy 2015) keeps every layer's activations at zero mean and
#    unit variance per channel, which fights bad initialisations and helps
#    the gradient flow; the paper found it stops G collapsing all samples to
#    one point. On G's output layer it would force the pixel statistics
#    of every batch, and on D's input layer it would normalise away the very
#    pixel statistics D must judge; the paper reports that BatchNorm on all
#    layers made training oscillate.
# 4. **ReLU in G, tanh on its output; LeakyReLU(0.2) in D.** The bounded
#    tanh matches the data range [-1, 1] and saturates softly. LeakyReLU
#    keeps a gradient for negative inputs, so G learns from every unit D has.
# 5. **Adam with lr 2e-4 and β1 = 0.5; weights ~ N(0, 0.02).** The paper
#    found 1e-3 too high and the default β1 = 0.9 oscillating.
#
# A conv followed by BatchNorm has `bias=False`: BatchNorm subtracts each
# channel's mean, so any bias added before it cancels exactly (dead weight).
#
# The paper's generator is 1024 -> 512 -> 256 -> 128 channels for 64x64
# images. For 28x28 on a 2-core CPU we keep two upsampling layers and
# narrow them: `--g-width 64` gives z -> 128x7x7 -> 64x14x14 -> 1x28x28
# (a `--g-width 128` G, the usual 256 -> 128, looks the same after these few
# minutes and costs twice as much per step), and D is 1 -> 64 -> 128 -> 1.

# %%
def make_generator(z_dim=100, width=64):
    """The DCGAN generator: z float32 (N, z_dim) -> images float32 (N, 1, 28, 28) in [-1, 1]."""
    return nn.Sequential(
        nn.Unflatten(1, (z_dim, 1, 1)),                                  # z as a 1x1 image
        nn.ConvTranspose2d(z_dim, 2 * width, 7, 1, 0, bias=False),       # project and reshape: 1x1 -> 7x7
        nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),       # 7x7 -> 14x14, learned upsampling
        nn.BatchNorm2d(width), nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, 2, 1),                           # 14x14 -> 28x28, no BN on the output
        nn.Tanh())


class Discriminator(nn.Module):
    """The DCGAN discriminator: images float32 (N, 1, 28, 28) in [-1, 1] -> logits float32 (N, 1).

    ``hidden(x)`` returns both hidden layers' activations, (N, w, 14, 14) and
    (N, 2w, 7, 7), for the feature-extractor probe.
    """

    def __init__(self, width=64):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(1, width, 4, 2, 1),            # 28 -> 14, no BN on D's input
                                    nn.LeakyReLU(0.2))
        self.block2 = nn.Sequential(nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),  # 14 -> 7, strided
                                    nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2))
        self.head = nn.Sequential(nn.Conv2d(2 * width, 1, 7, 1, 0), nn.Flatten())  # 7x7 -> one logit

    def hidden(self, x):
        h1 = self.block1(x)
        return h1, self.block2(h1)

    def forward(self, x):
        return self.head(self.hidden(x)[1])


def dcgan_rules(G, D):
    """Check the DCGAN rules on the layer sequence of a generator and a discriminator.

    Returns:
        dict rule name -> bool (True when the rule holds), JSON-ready.
    """
    def leaves(model):
        return [m for m in model.modules() if not m._modules]

    g, d = leaves(G), leaves(D)
    convs = (nn.Conv2d, nn.ConvTranspose2d)

    def after(layers, i):
        return layers[i + 1] if i + 1 < len(layers) else None

    def bn_after_each_conv_but(layers, skip):
        # every conv, except the listed positions, is followed by BatchNorm and has no bias
        idx = [i for i, m in enumerate(layers) if isinstance(m, convs)]
        keep = [i for j, i in enumerate(idx) if j not in skip and j - len(idx) not in skip]
        return all(isinstance(after(layers, i), nn.BatchNorm2d) and layers[i].bias is None for i in keep)

    g_convs = [m for m in g if isinstance(m, convs)]
    d_convs = [m for m in d if isinstance(m, convs)]
    return {
        "no_linear_layers": not any(isinstance(m, nn.Linear) for m in g + d),
        "no_pooling": not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.Upsample)) for m in g + d),
        "g_upsamples_by_transposed_conv": bool(g_convs) and all(isinstance(m, nn.ConvTranspose2d) for m in g_convs),
        "d_downsamples_by_strided_conv": all(isinstance(m, nn.Conv2d) for m in d_convs)
                                         and all(m.stride == (2, 2) for m in d_convs[:-1]),
        "bn_not_on_d_input": bool(d_convs) and not isinstance(after(d, d.index(d_convs[0])), nn.BatchNorm2d),
        "bn_not_on_g_output": bool(g_convs) and isinstance(after(g, g.index(g_convs[-1])), nn.Tanh),
        "bn_elsewhere_without_bias": bn_after_each_conv_but(g, {-1}) and bn_after_each_conv_but(d, {0, -1}),
        "g_relu_and_tanh_output": isinstance(g[-1], nn.Tanh)
                                  and all(isinstance(m, nn.ReLU) for m in g if isinstance(m, (nn.ReLU, nn.LeakyReLU))),
        "d_leaky_relu_0.2": all(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2
                                for m in d if isinstance(m, (nn.ReLU, nn.LeakyReLU))),
    }


def build(seed):
    """A DCGAN pair from seed ``seed``, initialised N(0, 0.02) (Radford et al. 2015, section 4)."""
    tg.manual_seed(seed)
    return (make_generator(args.z_dim, args.g_width).apply(dcgan_init).to(args.device),
            Discriminator(args.d_width).apply(dcgan_init).to(args.device))


G, D = build(args.seed)
rules = dcgan_rules(G, D)
print(G)
print(D)
print(f"generator: {sum(p.numel() for p in G.parameters()):,} parameters; "
      f"discriminator: {sum(p.numel() for p in D.parameters()):,}")
print("DCGAN rules: " + ", ".join(f"{k} {'ok' if v else 'BROKEN'}" for k, v in rules.items()))

# %% [markdown]
# ## 3. The losses
#
# The GAN game (Goodfellow et al. 2014) is
#
#     min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))],
#
# with D(x) = σ(logit) the probability that x is real. D's side is plain
# binary cross-entropy, label 1 for real and 0 for generated images:
#
#     L_D = BCE(D(x), 1) + BCE(D(G(z)), 0).
#
# G's side as written, minimising log(1 - D(G(z))), *saturates*: early in
# training D rejects the samples easily, D(G(z)) ≈ 0, and there the
# gradient of log(1 - D) with respect to the logit, -D(G(z)), vanishes.
# The **non-saturating** loss (Goodfellow et al. 2014, section 3) maximises
# log D(G(z)) instead, with gradient 1 - D(G(z)), strongest exactly when G
# is losing:
#
#     L_G = BCE(D(G(z)), 1) = -log D(G(z)).
#
# At the game's equilibrium D(x) = D(G(z)) = 1/2, so L_D = 2 log 2 ≈ 1.39
# and L_G = log 2 ≈ 0.69. Real and generated images go through D as
# separate batches, so each of D's BatchNorm statistics comes from one
# kind of image (the usual DCGAN practice).
#
# `D_real` and `D_fake` below are the batch means of D(x) and D(G(z)) in the
# D step: how sure D is. The training step takes `d_steps` D updates per G
# update, each on a fresh real batch; the default is 1, as in the paper.

# %%
def make_step(G, D, optG, optD, d_steps=1):
    """The training step: ``d_steps`` D updates, then one G update with the non-saturating loss."""
    def step(next_batch):
        for i in range(d_steps):
            real = next_batch()
            n = real.shape[0]
            ones, zeros = tg.ones(n, 1, device=args.device), tg.zeros(n, 1, device=args.device)
            z = tg.randn(n, args.z_dim, device=args.device)
            if i < d_steps - 1:
                with tg.no_grad():
                    fake = G(z)
            else:
                fake = G(z)                               # the last one is reused, with its graph, by G
            logit_real, logit_fake = D(real), D(fake.detach())
            loss_D = (F.binary_cross_entropy_with_logits(logit_real, ones)
                      + F.binary_cross_entropy_with_logits(logit_fake, zeros))
            optD.zero_grad()
            loss_D.backward()
            optD.step()

        D.requires_grad_(False)                           # G's step: D is frozen, only G's weights get grads
        loss_G = F.binary_cross_entropy_with_logits(D(fake), ones)
        optG.zero_grad()
        loss_G.backward()
        optG.step()
        D.requires_grad_(True)
        return {"loss_D": loss_D.item(), "loss_G": loss_G.item(),
                "D_real": F.sigmoid(logit_real).mean().item(), "D_fake": F.sigmoid(logit_fake).mean().item()}
    return step


def adam_pair(G, D, d_lr_mult=1.0):
    """Adam for G and D with the paper's β = (0.5, 0.999); D's rate times ``d_lr_mult``."""
    return (optim.Adam(G.parameters(), lr=args.lr, betas=(args.beta1, 0.999)),
            optim.Adam(D.parameters(), lr=args.lr * d_lr_mult, betas=(args.beta1, 0.999)))


# %% [markdown]
# ## 4. Training
#
# One G step per D step, batch 64, `--steps` generator steps. The fixed-z
# GIF shows the same 64 codes decoded every `--sample-every` steps.

# %%
optG, optD = adam_pair(G, D)
fixed_z = tg.randn(64, args.z_dim, device=args.device)
gif = SampleGif(run.file("training.gif"), G, fixed_z)
frames_at = [s for s in range(1, args.steps + 1) if s % args.sample_every == 0 or s == args.steps]
history = fit_gan(make_step(G, D, optG, optD), batches, run, {"G": G, "D": D}, {"G": optG, "D": optD}, gif,
                  steps=args.steps, sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
                  resume=args.resume, device=args.device, print_every=1 if args.quick else 100)
train_seconds = history.seconds                # training seconds, over every --resume

# %% [markdown]
# ## 5. Good and bad training curves
#
# A GAN's losses do not fall to zero like a classifier's: the two players
# measure each other. Healthy curves (the lecture's "good" slide) hover:
# L_D around 0.5-1.4, L_G around 1-3, D(x) around 0.6-0.8 and D(G(z))
# around 0.2-0.4. D stays ahead, but not by much, so its gradient keeps
# telling G something.
#
# The "bad" run makes D too strong: `--strong-k` D steps per G step with
# `--strong-lr-mult` times the learning rate. D then separates real from
# generated almost perfectly: L_D heads to 0, D(x) to 1, D(G(z)) to 0,
# and L_G climbs. With the non-saturating loss G still gets a gradient,
# but it only says "move away from where D is sure", and D moves faster
# than G can follow, so the samples stay blotchy or collapse to a few
# shapes. Its samples are shown beside the default run's at the same
# generator step, from the same fixed codes.
#
# What seed 0's default run shows (`good_vs_bad.png`): over its last 10% of
# steps the default run has L_D ≈ 0.79, L_G ≈ 1.6, D(x) ≈ 0.71 and
# D(G(z)) ≈ 0.29, and it is still moving towards the equilibrium. The
# strong D (3 D steps per G step at 5x the rate) has L_D ≈ 0.18, L_G ≈ 5.1,
# D(x) ≈ 0.96 and D(G(z)) ≈ 0.05 after 400 steps. At step 400 both grids
# are still rough, but the strong-D grid is covered in the stripes and
# checks of the transposed convs, and its scores are far worse: FID 36.9
# against 19.8 for the default run at its end (2,000 steps), and its
# samples pile into "shirt" (40%, the classifier's class for an
# undefined top).

# %%
strong_history, strong_scores, strong_seconds = [], None, 0.0
if args.strong_steps:
    G_bad, D_bad = build(args.seed)                        # the same initial weights as the default run
    optG_bad, optD_bad = adam_pair(G_bad, D_bad, d_lr_mult=args.strong_lr_mult)
    bad_gif = SampleGif(run.file("strong_d.gif"), G_bad, fixed_z)
    strong_history = fit(make_step(G_bad, D_bad, optG_bad, optD_bad, d_steps=args.strong_k), batches,
                         args.strong_steps, run, name="strong_d", models={"G": G_bad, "D": D_bad},
                         optimizers={"G": optG_bad, "D": optD_bad}, resume=args.resume, device=args.device, pull=True,
                         print_every=1 if args.quick else 100, checkpoint_every=args.checkpoint_every,
                         callback=bad_gif, callback_steps=[args.strong_steps])
    strong_seconds = strong_history.seconds


def plot_good_vs_bad(runs, path):
    """Columns of runs, each: losses, then D(x) and D(G(z)), then a sample grid.

    Args:
        runs: list of (title, history, grid uint8 (H, W, 3), grid caption).
        path: the ``.png`` to write.
    """
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(3, len(runs), figsize=(4.6 * len(runs), 11), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 1, 1.5]})
    for col, (title, hist, grid, caption) in enumerate(runs):
        steps = np.array([r["step"] for r in hist])
        window = max(1, len(hist) // 50)
        for row, keys in enumerate((("loss_D", "loss_G"), ("D_real", "D_fake"))):
            ax = axes[row, col]
            for k, label in zip(keys, (("L_D", "L_G"), ("D(x)", "D(G(z))"))[row]):
                viz.plot_smoothed(ax, steps, [r[k] for r in hist], window, label=label)
            ax.grid(True, alpha=0.3)
            ax.legend(loc="best", fontsize=8)
            ax.set_ylim(0, None if row == 0 else 1)
            if row == 0:
                ax.set_title(title, fontsize=10)
        axes[1, col].set_xlabel("generator step")
        axes[2, col].imshow(grid, interpolation="nearest")
        axes[2, col].set_title(caption, fontsize=9)
        axes[2, col].axis("off")
    return viz.save_figure(fig, path)


# %% [markdown]
# ## 6. Results: samples, curves and scores
#
# `samples_random.png` decodes the fixed codes at the end, `samples.png` 64
# fresh codes. The scores come from the Fashion-MNIST classifier of lesson
# 09 (`tinygen.utils.metrics`), on `--eval-samples` (10,000) samples: the
# Fréchet distance of its features to the test set (FID, lower is better),
# the Inception Score (higher is better, 10 at most) and the fraction of
# samples per predicted class (a class near 0 is a dropped mode).
#
# Look closely at the samples for a faint grid pattern: a stride-2 4x4
# transposed conv paints the output's even and odd pixels with different
# kernel taps, so it can leave the checkerboard artefacts of Odena et al.
# 2016, "Deconvolution and Checkerboard Artifacts". DCGAN's rules are the
# point here, so we keep the transposed convs; lesson 13 replaces them with
# resize-then-conv and explains why. In this lesson's runs the artefact is
# visible as stripes in the early frames of `training.gif` and it fades
# over training; the too-strong D, whose gradients G chases harder, shows
# it most.
#
# **Measured on three seeds** (default settings, 2,000 steps, 10,000
# samples): FID 19.8, 21.1 and 21.6, IS 4.12, 3.98 and 3.94, and the rarest
# class at 6.0, 5.2 and 5.2 % of the samples (seeds 0, 1, 2): no seed drops a
# class, and all three sit near the blurred test set's FID of 22 in the
# README's calibration table. The main run's 2,000 steps take 7-9 minutes.

# %%
viz.plot_losses(history, run.file("losses.png"), keys=["D_real", "D_fake"],
                title=f"DCGAN on {args.dataset}: losses, and D(x), D(G(z)) below")
eval_z = tg.randn(args.eval_samples, args.z_dim, device=args.device)
samples = generate(G, eval_z)
viz.save_grid(samples[:64], run.file("samples.png"))
viz.save_grid(generate(G, fixed_z), run.file("samples_random.png"))
scores = evaluate_samples(samples)
eval_probs = predict_proba(samples)                      # the classifier's verdicts, for section 7
if args.strong_steps:
    strong_scores = evaluate_samples(generate(G_bad, eval_z))
    same_step = min(args.strong_steps, args.steps)
    frame = gif.frames[min(range(len(frames_at)), key=lambda i: abs(frames_at[i] - same_step))]
    at = frames_at[min(range(len(frames_at)), key=lambda i: abs(frames_at[i] - same_step))]
    plot_good_vs_bad(
        [(f"default: k=1, D lr {args.lr:g}", history, frame,
          f"fixed z at step {at} (FID {scores['fid']:.1f} at step {args.steps})"),
         (f"too strong D: k={args.strong_k}, D lr {args.lr * args.strong_lr_mult:g}", strong_history,
          bad_gif.frames[-1], f"fixed z at step {args.strong_steps} (FID {strong_scores['fid']:.1f})")],
        run.file("good_vs_bad.png"))
print(f"FID {scores['fid']:.2f}, IS {scores['inception_score']:.2f} ± {scores['inception_score_std']:.2f}, "
      f"rarest class {min(scores['class_histogram']):.3f} of {args.eval_samples} samples")
if strong_scores:
    print(f"too strong D after {args.strong_steps} steps: FID {strong_scores['fid']:.2f}, "
          f"IS {strong_scores['inception_score']:.2f}, rarest class {min(strong_scores['class_histogram']):.3f}")

# %% [markdown]
# ## 7. Walking the latent space
#
# ### Linear against spherical interpolation
#
# z ~ N(0, I) in 100 dimensions almost always has norm close to √100 = 10
# (the norm's standard deviation is about 0.7): the prior's mass lies on a
# thin shell. The straight line between two such codes cuts through the
# inside: at its midpoint the norm is about 10/√2 ≈ 7.1 for two
# independent codes, where G never saw a single training code. White 2016,
# "Sampling Generative Networks", recommends the spherical path (slerp,
# `tinygen.utils.latent.slerp`), which stays on the shell. The grid shows
# pairs of codes, each decoded along lerp (upper row) and slerp (lower row);
# `metrics.json` has the midpoints' norms and, over 500 pairs, the
# classifier's mean confidence on the midpoints.
#
# In seed 0's run the lerp midpoints have norm 7.07 and the slerp ones
# 10.02, as the argument says; yet the decoded paths look almost the same,
# and the classifier is about as sure of them (mean top probability 0.675
# for lerp midpoints, 0.689 for slerp, 0.700 at the endpoints). Here the
# first layer of G is linear in z and followed by BatchNorm, so a shorter z
# mostly lowers the contrast of the same picture. slerp is the safer habit,
# and matters more for uniform priors and for generators that are less
# smooth inside the sphere (White 2016), but on this G lerp is no disaster.

# %%
n_pairs = 500 if not args.quick else 20
z0, z1 = tg.randn(n_pairs, args.z_dim).numpy(), tg.randn(n_pairs, args.z_dim).numpy()
rows, labels = [], []
for i in range(4):
    for method in ("lerp", "slerp"):
        path = interpolate(z0[i], z1[i], steps=10, method=method).astype(np.float32)
        rows.append(generate(G, tg.tensor(path, device=args.device)))
        labels.append(f"pair {i + 1}: {method}")
viz.save_image_rows(rows, run.file("interpolation.png"), labels=labels, value_range=(-1, 1),
                    title="From z0 (left) to z1 (right): straight line (lerp) and great circle (slerp)")
midpoint = {}
for method in ("lerp", "slerp"):
    mid = interpolate(z0, z1, steps=3, method=method)[1].astype(np.float32)     # t = 1/2, (n_pairs, z_dim)
    p = predict_proba(generate(G, tg.tensor(mid, device=args.device)))
    midpoint[method] = {"norm": float(np.linalg.norm(mid, axis=1).mean()), "confidence": float(p.max(1).mean())}
ends_confidence = float(predict_proba(generate(G, tg.tensor(z0, device=args.device))).max(1).mean())
print(f"midpoints: lerp |z| {midpoint['lerp']['norm']:.2f}, classifier confidence "
      f"{midpoint['lerp']['confidence']:.3f}; slerp |z| {midpoint['slerp']['norm']:.2f}, "
      f"{midpoint['slerp']['confidence']:.3f} (endpoints: |z| ≈ {np.linalg.norm(z0, axis=1).mean():.2f}, "
      f"{ends_confidence:.3f})")

# %% [markdown]
# ### Latent vector arithmetic
#
# Radford et al. (section 6.3, figure 7) averaged the codes of three
# "smiling woman" samples, subtracted those of "neutral woman", added
# "neutral man", and decoded a smiling man: directions in z space carry
# meaning. Averaging matters: single codes were unstable.
#
# Here the classifier picks the codes: of the 10,000 evaluation samples,
# those it labels confidently (p ≥ 0.9) give each class's mean code. An
# equation such as "pullover − T-shirt + dress" asks for the direction
# "long sleeves" (pullover minus T-shirt) added to a dress. A mean of many
# codes has a small norm (the random parts cancel), and G was trained on
# codes of norm ≈ 10, so each result is rescaled to norm √z_dim before it
# is decoded; the variants beside it add Gaussian N(0, 0.25²) noise to the
# result. Here the lesson differs from the paper: Radford et al.'s figure 7
# adds *uniform* noise of ±0.25 (standard deviation 0.25/√3 ≈ 0.14), so our
# variants stray somewhat further from the result. The classifier's verdict
# is printed over every decoded result.
#
# In seed 0's run (`arithmetic.png`) the results are the garments the
# equations ask for. Pullover − T-shirt + dress decodes to a long,
# long-sleeved garment, which the classifier calls a pullover (79%).
# Ankle boot − sneaker + sandal is a boot with the sandal's gaps (ankle
# boot, 64%). Trouser − dress + coat is a coat split into two legs, a
# jumpsuit; Fashion-MNIST has no such class, and the classifier says coat
# (60%; one variant says trouser). Sneaker − sandal + ankle boot is a closed
# ankle boot (100%). The noisy variants mostly keep the verdict, so the
# directions are stable, not accidents of one code.

# %%
EQUATIONS = [("Pullover", "T-shirt/top", "Dress"),   # long sleeves, on a dress
             ("Ankle boot", "Sneaker", "Sandal"),    # a high shaft, on a sandal
             ("Trouser", "Dress", "Coat"),           # two legs instead of a skirt, on a coat
             ("Sneaker", "Sandal", "Ankle boot")]    # closed and low, on a boot


def rescale(z):
    return z * (np.sqrt(z.shape[-1]) / np.linalg.norm(z, axis=-1, keepdims=True))


def latent_arithmetic(z, probs, equations, variants=5, threshold=0.9):
    """Decode mean(a) - mean(b) + mean(c) for class names (a, b, c), class means over confident samples.

    Args:
        z: NumPy (N, z_dim) codes; probs: NumPy (N, 10) the classifier's softmax on G(z).

    Returns:
        (panels, results): for each equation a list of (image (1, 28, 28), caption); and a list of
        JSON-ready dicts (the equation, the class counts used, the verdict on the result).
    """
    names = list(FASHION_MNIST_CLASSES)
    pred, conf = probs.argmax(1), probs.max(1)
    panels, results = [], []
    for a, b, c in equations:
        ids = [names.index(n) for n in (a, b, c)]
        chosen = [(pred == k) & (conf >= threshold) for k in ids]
        if min(m.sum() for m in chosen) < 1:
            results.append({"equation": f"{a} - {b} + {c}", "skipped": "a class has no confident sample"})
            continue
        means = [z[m].mean(0) for m in chosen]
        target = rescale(means[0] - means[1] + means[2])
        noise = np.random.default_rng(args.seed).standard_normal((variants, z.shape[1])) * 0.25
        codes = np.concatenate([rescale(np.stack(means)), target[None], rescale(target + noise)]).astype(np.float32)
        images = generate(G, tg.tensor(codes, device=args.device))
        p = predict_proba(images)
        verdicts = [f"{names[k]} {p[i, k]:.0%}" for i, k in enumerate(p.argmax(1))]
        panel = [(images[0], f"{a}\n({chosen[0].sum()} codes)"), (images[1], f"− {b}\n({chosen[1].sum()})"),
                 (images[2], f"+ {c}\n({chosen[2].sum()})")]
        panel += [(images[i], ("= " if i == 3 else "") + verdicts[i].replace(" ", "\n")) for i in range(3, len(images))]
        panels.append(panel)
        results.append({"equation": f"{a} - {b} + {c}", "codes_per_class": [int(m.sum()) for m in chosen],
                        "verdict": names[p[3].argmax()], "verdict_p": float(p[3].max()),
                        "verdict_probs": {n: round(float(v), 4) for n, v in zip(names, p[3]) if v >= 0.01},
                        "variants_verdicts": [names[k] for k in p[4:].argmax(1)],
                        "class_means_verdicts": [names[k] for k in p[:3].argmax(1)]})
    return panels, results


def plot_panels(panels, path, title):
    """Rows of captioned 28x28 images: ``panels`` is a list of rows of (image (1, 28, 28), caption)."""
    import matplotlib.pyplot as plt
    cols = max(len(row) for row in panels)
    fig, axes = plt.subplots(len(panels), cols, figsize=(1.05 * cols, 1.45 * len(panels) + 0.4), squeeze=False)
    for r, row in enumerate(panels):
        for col in range(cols):
            ax = axes[r, col]
            ax.axis("off")
            if col < len(row):
                ax.imshow(row[col][0][0], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
                ax.set_title(row[col][1], fontsize=7)
    fig.suptitle(title, fontsize=9)
    return viz.save_figure(fig, path)


panels, arithmetic = latent_arithmetic(eval_z.numpy(), eval_probs, EQUATIONS)
if panels:
    plot_panels(panels, run.file("arithmetic.png"),
                "mean code of A − mean code of B + mean code of C, decoded; the classifier's verdict above")
for r in arithmetic:
    print(f"{r['equation']} -> " + (f"{r['verdict']} ({r['verdict_p']:.0%}); variants {r['variants_verdicts']}"
                                    if "verdict" in r else r["skipped"]))

# %% [markdown]
# ## 8. The discriminator as a feature extractor
#
# To tell real from generated garments, D must learn what garments look
# like, without a single label. Radford et al. (section 5.1) used a trained
# D's features, max-pooled to 4x4 per layer, as the input of a linear
# classifier: on CIFAR-10 this beat k-means features (the lecture's
# evaluation slide: "use D features, only fine-tune the last layer").
#
# We do the same: freeze D (eval mode, no graph), max-pool both hidden
# layers to 4x4 (64·16 + 128·16 = 3,072 features), and train a linear
# softmax head, Linear(3072, 10) with cross-entropy, on `--probe-labels`
# labelled training images. Two baselines get the same head, steps and
# labels: the raw 784 pixels, and the features of an *untrained* D with the
# same architecture (random convolutions are a fair feature extractor
# themselves, so this isolates what training taught D). Every input is
# standardised with its labelled set's mean and standard deviation; the
# score is the accuracy on the 10,000 test images.
#
# Seed 0's run, test accuracy with 1,000 / 60,000 labels (`--probe-labels
# 1000,60000`): trained D's features 82.9% / 88.6%, untrained D's 82.5% /
# 87.7%, pixels 78.9% / 83.6%. D's features beat the pixels by about five
# points, but most of that is the convolutional architecture itself:
# random 4x4 filters, a LeakyReLU and max-pooling already make the
# features more linearly separable (a little translation invariance, many
# more dimensions). Training as a discriminator adds about one point. D
# only had to learn what tells real garments from this G's samples, which
# is not what tells a shirt from a coat; the paper's probe used a larger D,
# trained longer, on all its layers.

# %%
def d_features(D):
    """Frozen D's pooled hidden activations: images (n, 1, 28, 28) -> features float32 (n, 3072)."""
    D.eval()

    def fn(x):
        h1, h2 = D.hidden(x)
        p1, p2 = F.max_pool2d(h1, 4, 4, 1), F.max_pool2d(h2, 2, 2, 1)     # 14x14 and 7x7 -> 4x4
        return tg.cat([p1.reshape(x.shape[0], -1), p2.reshape(x.shape[0], -1)], dim=1)
    return fn


def train_probe(name, feats, labels, feats_test, y_test):
    """A linear softmax head on fixed features (n, d), labels (n,); returns its test accuracy."""
    mean, std = feats.mean(0), feats.std(0) + 1e-2
    f, f_test = feats, (feats_test - mean) / std
    f -= mean                                             # in place: 60,000 x 3,072 floats are 0.7 GB
    f /= std
    head = nn.Linear(f.shape[1], 10).to(args.device)
    opt = optim.Adam(head.parameters(), lr=1e-3)

    def step(x, y):
        loss = F.cross_entropy(head(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    fit(step, Batches(f, labels, batch_size=min(100, len(f)), seed=args.seed), args.probe_steps, run,
        name="probe_" + name, models={"head": head}, optimizers={"adam": opt}, resume=args.resume,
        device=args.device, print_every=2 if args.quick else 500)
    return evaluate(lambda x, y: {"acc": float((head(x).numpy().argmax(1) == y.numpy()).mean())},
                    f_test, y_test, device=args.device)["acc"]


_, D_random = build(args.seed + 1000)                    # the same architecture, never trained
extractors = {"d": d_features(D), "d_untrained": d_features(D_random),
              "pixels": lambda x: x.reshape(x.shape[0], -1)}
rng = np.random.default_rng(args.seed)
order = rng.permutation(len(x_train))
probe = {}
for kind, fn in extractors.items():
    feats_test = map_batches(fn, x_test, device=args.device)
    for n in args.probe_labels:
        picked = order[:n]
        feats = map_batches(fn, x_train[picked], device=args.device)
        probe[f"{kind}_{n}"] = train_probe(f"{kind}_{n}", feats, y_train[picked], feats_test, y_test)
        del feats
for n in args.probe_labels:
    print(f"linear probe, {n} labels: D features {probe[f'd_{n}']:.1%}, untrained D {probe[f'd_untrained_{n}']:.1%}, "
          f"pixels {probe[f'pixels_{n}']:.1%}")

# %% [markdown]
# ## 9. Export and the record

# %%
if args.export_samples:
    export_samples(run, generate(G, tg.randn(args.export_samples, args.z_dim, device=args.device)))
last = history[-1]
metrics = {"steps": args.steps, "seed": args.seed, "g_width": args.g_width, "d_width": args.d_width,
           "train_seconds": train_seconds, "eval_samples": args.eval_samples, **scores,
           "class_histogram_min": min(scores["class_histogram"]),
           "final_D_real": last["D_real"], "final_D_fake": last["D_fake"],
           "tail_means": tail_means(history, ("loss_D", "loss_G", "D_real", "D_fake")),   # the last 10% of training
           "rules": rules, "interpolation_midpoints": midpoint, "interpolation_ends_confidence": ends_confidence,
           "arithmetic": arithmetic, "probe_accuracy": probe}
if strong_scores:
    metrics["strong_d"] = {"steps": args.strong_steps, "k": args.strong_k, "d_lr": args.lr * args.strong_lr_mult,
                           "train_seconds": strong_seconds, **strong_scores,
                           "class_histogram_min": min(strong_scores["class_histogram"]),
                           "tail_means": tail_means(strong_history, ("loss_D", "loss_G", "D_real", "D_fake"))}
run.save_metrics(metrics)
print(f"done: {args.steps} steps in {train_seconds:.0f} s; outputs in {run.path}")

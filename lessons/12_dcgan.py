# %% [markdown]
# # Lesson 12: DCGAN, the convolutional GAN and its rules
#
# Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with
# Deep Convolutional Generative Adversarial Networks", made GANs train
# reliably on images with a handful of architecture rules. This lesson
# builds a DCGAN for 28x28 Fashion-MNIST with every rule visible in the
# code, trains it with the paper's optimiser settings, and sets good
# training curves beside bad ones: the default run beside a run whose
# discriminator is made too strong. Lesson 12b (`12b_dcgan_latent.py`)
# takes the trained pair on to the latent space: lerp against slerp, latent
# arithmetic, and D as a feature extractor.
#
#     .venv/bin/python lessons/12_dcgan.py                 # 11-13 min on a 2-core CPU (AVX2, before the speed-ups)
#     .venv/bin/python lessons/12_dcgan.py --quick         # a few steps, for the tests
#     .venv/bin/python lessons/12_dcgan.py --resume        # continue an interrupted run
#     .venv/bin/python lessons/12_dcgan.py --export-samples 10000
#     .venv/bin/python lessons/12_dcgan.py --steps 10000 --strong-steps 0   # the best recipe, section 6
#
# Outputs in `--out` (default `runs/12_dcgan`): `training.gif` (a fixed-z
# 8x8 grid over training), `losses.png`, `samples.png`, `samples_random.png`,
# `good_vs_bad.png`, `metrics.json` (FID, IS and the class histogram of
# `--eval-samples` samples, the strong-D run's scores), `dcgan.npz` (the
# trained pair, for lesson 12b), and per training stage (`train`,
# `strong_d`) a log `<stage>.jsonl` and a resumable checkpoint `<stage>.npz`.

# %%
import os

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import viz
from tinygen.utils.checkpoint import save_checkpoint
from tinygen.utils.data import Batches, load_train_test
from tinygen.utils.dcgan_extras import dcgan_rules, plot_good_vs_bad
from tinygen.utils.gan import GAN_QUICK, SampleGif, add_gan_flags, dcgan_init, export_samples, fit_gan, generate
from tinygen.utils.metrics import evaluate_samples
from tinygen.utils.run import RunDir, beta, lesson_parser, nonnegative_int, parse_args, positive_float, positive_int
from tinygen.utils.train import fit, tail_means

parser = lesson_parser("DCGAN on Fashion-MNIST (Radford et al. 2015)", steps=2000,
                       out=os.path.join("runs", "12_dcgan"), datasets=("fashion-mnist", "mnist"))
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
args = parse_args(parser, quick={**GAN_QUICK, "steps": 4, "batch_size": 16, "strong_steps": 2})
tg.manual_seed(args.seed)
run = RunDir(args.out)

# %% [markdown]
# ## 1. The data
#
# Fashion-MNIST with pixels in [-1, 1], the range of the generator's tanh.
# The labels are not used to train the GAN (lesson 12b's probes use them).

# %%
x_train, _, x_test, _ = load_train_test(args.dataset, args.data_dir, value_range=(-1.0, 1.0),
                                        limit=256 if args.quick else None)
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


def make_discriminator(width=64):
    """The DCGAN discriminator: images float32 (N, 1, 28, 28) in [-1, 1] -> logits float32 (N, 1)."""
    return nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),                 # 28 -> 14, no BN on D's input
        nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),                # 14 -> 7, strided: learned downsampling
        nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * width, 1, 7, 1, 0), nn.Flatten())                  # 7x7 -> one logit


def build(seed):
    """A DCGAN pair from seed ``seed``, initialised N(0, 0.02) (Radford et al. 2015, section 4)."""
    tg.manual_seed(seed)
    return (make_generator(args.z_dim, args.g_width).apply(dcgan_init).to(args.device),
            make_discriminator(args.d_width).apply(dcgan_init).to(args.device))


G, D = build(args.seed)
rules = dcgan_rules(G, D)                                # tinygen.utils.dcgan_extras: each rule, True or False
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
# point here, so we keep the transposed convs; lesson 16 replaces them with
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
#
# **The chapter's best unconditional recipe is this lesson, trained
# longer**: `--steps 10000 --strong-steps 0` (the too-strong-D comparison
# off). Five times the default's steps reach FID 8.59, 8.84 and 8.34, IS
# 5.64, 5.57 and 5.64 (seeds 0, 1, 2), every class at least 8.1 % of the
# samples, in 12 min 56 s to 13 min 26 s per run (770-799 s of training)
# on the project's 2-core AVX-512 CPU: under half the blurred test set's
# FID, with samples (the README's figure) whose edges and textures are
# those of garments. One run of seed 0 with the same pair and step, scored
# every 2,000 steps, shows why: FID 21.1, 13.9, 11.2, 9.2, 8.3 and 7.4
# after 2,000, 4,000, ... 12,000 steps. The DCGAN has not stopped
# improving at 2,000 steps; the default stops there to leave room for the
# comparison above, at the blurred test set's mark. Sampling from an EMA of
# G's weights (β = 0.999, as in lesson 21) did not help in that run: 0.1 to
# 0.8 FID worse at every point, as lesson 23 found at 500 steps.
#
# Before scoring, `dcgan.npz` keeps the trained pair and the state of the
# random generator: lesson 12b loads both and so decodes these very
# `--eval-samples` codes again.

# %%
viz.plot_losses(history, run.file("losses.png"), keys=["D_real", "D_fake"],
                title=f"DCGAN on {args.dataset}: losses, and D(x), D(G(z)) below")
save_checkpoint(run.file("dcgan.npz"), args.steps, {"G": G, "D": D}, extra={"z_dim": args.z_dim, "seed": args.seed,
                "g_width": args.g_width, "d_width": args.d_width, "eval_samples": args.eval_samples})  # for 12b
eval_z = tg.randn(args.eval_samples, args.z_dim, device=args.device)
samples = generate(G, eval_z)
viz.save_grid(samples[:64], run.file("samples.png"))
viz.save_grid(generate(G, fixed_z), run.file("samples_random.png"))
scores = evaluate_samples(samples)
if args.strong_steps:
    strong_scores = evaluate_samples(generate(G_bad, eval_z))
    at = min(frames_at, key=lambda s: abs(s - min(args.strong_steps, args.steps)))   # the GIF frame nearest
    plot_good_vs_bad(                                    # tinygen.utils.dcgan_extras
        [(f"default: k=1, D lr {args.lr:g}", history, gif.frames[frames_at.index(at)],
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
# ## 7. Export and the record

# %%
if args.export_samples:
    export_samples(run, generate(G, tg.randn(args.export_samples, args.z_dim, device=args.device)))
last = history[-1]
metrics = {"steps": args.steps, "seed": args.seed, "g_width": args.g_width, "d_width": args.d_width,
           "train_seconds": train_seconds, "eval_samples": args.eval_samples, **scores,
           "class_histogram_min": min(scores["class_histogram"]),
           "final_D_real": last["D_real"], "final_D_fake": last["D_fake"],
           "tail_means": tail_means(history, ("loss_D", "loss_G", "D_real", "D_fake")),   # the last 10% of training
           "rules": rules}
if strong_scores:
    metrics["strong_d"] = {"steps": args.strong_steps, "k": args.strong_k, "d_lr": args.lr * args.strong_lr_mult,
                           "train_seconds": strong_seconds, **strong_scores,
                           "class_histogram_min": min(strong_scores["class_histogram"]),
                           "tail_means": tail_means(strong_history, ("loss_D", "loss_G", "D_real", "D_fake"))}
run.save_metrics(metrics)
print(f"done: {args.steps} steps in {train_seconds:.0f} s; outputs in {run.path}")

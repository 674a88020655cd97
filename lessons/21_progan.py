# %% [markdown]
# # Lesson 21: ProGAN, a GAN that grows resolution by resolution
#
# Karras, Aila, Laine & Lehtinen 2018, "Progressive Growing of GANs for
# Improved Quality, Stability, and Variation". The generator and the critic
# start at 7x7 and grow to 28x28: each new, higher-resolution block is faded
# in while the coarser layers keep training. The same paper brings three
# small parts that this lesson switches off one at a time: the minibatch
# standard deviation, the equalised learning rate and pixelwise feature
# normalisation, and it samples from a moving average of the generator.
#
#     .venv/bin/python lessons/21_progan.py                  # 5 min on a 2-core CPU (README)
#     .venv/bin/python lessons/21_progan.py --lr 1e-3        # the paper's learning rate (section 8)
#     .venv/bin/python lessons/21_progan.py --no-growing     # the same networks at 28x28 from the start
#     .venv/bin/python lessons/21_progan.py --no-mbstd       # (also --no-eqlr, --no-pixelnorm, --no-ema)
#     .venv/bin/python lessons/21_progan.py --quick          # a few steps, for the tests
#     .venv/bin/python lessons/21_progan.py --dataset folder --data-dir ~/celeba --image-size 64
#
# Outputs in `--out` (default `runs/21_progan`): `training.gif` (a fixed-z
# grid over training, every stage shown at full size), `losses.png`,
# `samples.png`, `fid_vs_time.png`, `metrics.json` (FID, IS and the class
# histogram of 10,000 samples, and FID over training time), `train.jsonl`
# and a resumable `train.npz`.

# %%
import os

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import viz
from tinygen.utils.data import Batches, load_images
from tinygen.utils.ema import EMA
from tinygen.utils.metrics import frechet_distance
from tinygen.utils.gan import (GAN_QUICK, SampleGif, add_gan_flags, closing_scores, export_samples, fit_gan,
                               generate, gradient_penalty)
from tinygen.utils.progan import (FidCurve, FullSize, add_progan_flags, check_batch_size, plot_fid_curves, read_curve,
                                  resolutions)
from tinygen.utils.run import RunDir, lesson_parser, nonnegative_float, parse_args, positive_float, positive_int

parser = lesson_parser("ProGAN (Karras et al. 2018)", steps=None, batch_size=32, out=os.path.join("runs", "21_progan"))
add_gan_flags(parser, sample_every=100, checkpoint_every=250, z_dim=128)
parser.add_argument("--phase-steps", type=positive_int, default=500, help="steps of each fade-in and stable phase")
parser.add_argument("--width", type=positive_int, default=32, help="channels at the coarsest stage, halved per stage")
parser.add_argument("--lr", type=positive_float, default=1e-2, help="Adam's learning rate (the paper's: 1e-3)")
parser.add_argument("--lambda-gp", type=nonnegative_float, default=10.0, help="gradient penalty weight")
add_progan_flags(parser)   # --fid-every, --compare RUN..., and the ablations --no-growing, --no-mbstd, ...
args = check_batch_size(parser, parse_args(parser, quick={**GAN_QUICK, "steps": 6, "batch_size": 8,
                                                             "phase_steps": 1, "fid_every": 3}))
tg.manual_seed(args.seed)

# %% [markdown]
# ## 1. The data, and the stages
#
# Fashion-MNIST at 28x28 halves twice to 7x7, so there are three stages:
# 7, 14 and 28 pixels. (The paper starts at 4x4; padding to 32 would give
# four stages but spend a quarter of every full-size pass on border. A
# 64x64 photo folder halves to 4x4 in four steps: five stages.) The real
# images of a coarse stage are the full images average-pooled, the same
# box filter the critic uses to go down a level.

# %%
images, _ = load_images(args.dataset, args.data_dir, args.image_size, limit=256 if args.quick else None)
N, C, H, W = images.shape
sizes = resolutions(H)                               # [7, 14, 28]: halved while even and above 4
last = len(sizes) - 1
args.steps = args.steps or (2 * last + 3) * args.phase_steps   # default: the last stage gets 4 phases (3,500 steps)
widths = [max(8, args.width >> i) for i in range(len(sizes))]
batches = Batches(images, batch_size=args.batch_size, seed=args.seed)
print(f"data: {args.dataset}, {N} images of {C}x{H}x{W}; stages {sizes}, channels {widths}")

# %% [markdown]
# ## 2. The schedule, and the real images' fade
#
# Training alternates two phases of `--phase-steps` each: fade in a stage,
# then train it stable. The last stage keeps training until `--steps`.
# While the generator's output fades, the real images the critic sees fade
# the same way (the official code does this): a lerp between the image at
# this stage's size and the previous stage's image upsampled, so real and
# generated images are always the same mixture. `--no-growing` trains the
# full-size networks from step 1 (stage = last, α = 1): the slide's
# "fixed" baseline.

# %%
def stage_at(t):
    """(stage, α) at step t = 1, 2, ...: phase p = 0 is stage 0; odd p fade stage (p+1)/2 in; even p hold it."""
    if args.no_growing:
        return last, 1.0
    p = (t - 1) // args.phase_steps
    fading = p % 2 == 1 and p < 2 * last
    return min((p + 1) // 2, last), ((t - 1) % args.phase_steps + 1) / args.phase_steps if fading else 1.0


def real_at(x, stage, alpha):
    """Real images (N, C, H, W) at stage `stage`'s size, faded with α like the generator's output."""
    x = F.avg_pool2d(x, 2 ** (last - stage))          # a 1x1 pool (no change) at the last stage
    if alpha < 1:
        old = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
        x = old + alpha * (x - old)
    return x


# %% [markdown]
# ## 3. Equalised learning rate and pixelwise normalisation
#
# **Equalised learning rate** (section 4.1). Adam divides each step by a
# running estimate of the gradient's scale, so every weight moves by about
# lr per step whatever its layer. A layer with He's init w ~ N(0, 2/fan_in)
# has small weights when fan_in is large, so the same step changes it
# *relatively* more: layers learn at different speeds. ProGAN instead
# stores ŵ ~ N(0, 1) and multiplies by the He constant c = √2 / √fan_in at
# every forward pass, w = c·ŵ. The output is the same at the start, but now
# every layer's parameters have the same scale, and Adam's steps are
# equally large relative to all of them. `--no-eqlr` uses the same layers
# with c·ŵ drawn once at the start (He's init) and trained directly.
#
# **Pixelwise feature normalisation** (section 4.2), in the generator after
# every conv: each pixel's feature vector is scaled to unit mean square,
# b = a / √(mean_c a_c² + 1e-8). It has no parameters; it only stops
# the generator's and critic's magnitudes from spiralling out of control.

# %%
def layer(kind, *sizes, gain=2 ** 0.5, **options):
    """nn.Equalized{kind}, w = c·ŵ at run time; with --no-eqlr the plain nn.{kind} with He's init drawn once."""
    if not args.no_eqlr:
        return getattr(nn, "Equalized" + kind)(*sizes, gain=gain, **options)
    plain = getattr(nn, kind)(*sizes, **options)
    nn.init.normal_(plain.weight, 0.0, gain / plain.weight[0].numel() ** 0.5)   # std c = gain / √fan_in
    nn.init.zeros_(plain.bias)
    return plain


def conv(c_in, c_out, k=3, gain=2 ** 0.5):
    return layer("Conv2d", c_in, c_out, k, padding=k // 2, gain=gain)


def pixel_norm():
    return nn.Identity() if args.no_pixelnorm else nn.PixelNorm()


# %% [markdown]
# ## 4. The generator, and the fade-in
#
# The generator is a stack of blocks, one per stage: block 0 maps z (pixel-
# normalised, as the paper's latent) to a 7x7 feature map; block s doubles
# the size (nearest upsampling) and applies two 3x3 convs. Each stage has
# its own `to_rgb`, a 1x1 conv to the image channels. At stage s only
# blocks 0..s run.
#
# When stage s starts, its block is new and untrained. Switching it on at
# once would shock the coarser layers, so for one phase its image is
# blended with the previous stage's image, upsampled (figure 2 of the paper):
#
#     x = (1 − α) · up(to_rgb_{s−1}(h_{s−1})) + α · to_rgb_s(block_s(h_{s−1})),
#
# with α rising linearly from 0 to 1 over the fade-in, then a stable phase
# at α = 1 before the next stage.

# %%
class Generator(nn.Module):
    """z (N, z_dim) -> images (N, C, S, S) at the current stage's size S (no tanh: the paper's linear output)."""

    def __init__(self):
        super().__init__()
        w0, s0 = widths[0], sizes[0]
        first = nn.Sequential(pixel_norm(), layer("Linear", args.z_dim, w0 * s0 * s0, gain=2 ** 0.5 / 4),
                              nn.Unflatten(1, (w0, s0, s0)), nn.LeakyReLU(0.2), pixel_norm(),
                              conv(w0, w0), nn.LeakyReLU(0.2), pixel_norm())
        self.blocks = nn.ModuleList([first] + [nn.Sequential(
            nn.Upsample(scale_factor=2), conv(a, b), nn.LeakyReLU(0.2), pixel_norm(),
            conv(b, b), nn.LeakyReLU(0.2), pixel_norm()) for a, b in zip(widths, widths[1:])])
        self.to_rgb = nn.ModuleList([conv(w, C, 1, gain=1) for w in widths])
        self.stage, self.alpha = stage_at(1)

    def forward(self, z):
        h = self.blocks[0](z)
        for block in self.blocks[1:self.stage]:
            h = block(h)
        new = self.to_rgb[self.stage](self.blocks[self.stage](h) if self.stage else h)
        if self.alpha >= 1:                             # always at stage 0, which has nothing to fade from
            return new
        old = F.interpolate(self.to_rgb[self.stage - 1](h), scale_factor=2, mode="nearest")
        return old + self.alpha * (new - old)


# %% [markdown]
# ## 5. The critic, and the minibatch standard deviation
#
# The critic mirrors the generator: `from_rgb` (1x1 conv) at the current
# size, then blocks of two 3x3 convs and a 2x average pool down to 7x7,
# fading its new block in the same way (the old path average-pools the
# image first). Its last block sees one extra feature map, the **minibatch
# standard deviation** (section 3): the std of every feature over a group
# of 4 samples, averaged to one number per group and appended as a
# constant channel. A critic that sees a batch's spread can tell a
# collapsed generator (little variation) from the data, and its gradient
# pushes the generator to vary.

# %%
class Critic(nn.Module):
    """images (N, C, S, S) at the current stage's size S -> scores (N, 1)."""

    def __init__(self):
        super().__init__()
        w0, s0, mbstd = widths[0], sizes[0], not args.no_mbstd
        final = nn.Sequential(*([nn.MinibatchStdDev(4)] if mbstd else []), conv(w0 + mbstd, w0), nn.LeakyReLU(0.2),
                              nn.Flatten(), layer("Linear", w0 * s0 * s0, w0), nn.LeakyReLU(0.2),
                              layer("Linear", w0, 1, gain=1))
        self.blocks = nn.ModuleList([final] + [nn.Sequential(
            conv(b, b), nn.LeakyReLU(0.2), conv(b, a), nn.LeakyReLU(0.2), nn.AvgPool2d(2))
            for a, b in zip(widths, widths[1:])])
        self.from_rgb = nn.ModuleList([nn.Sequential(conv(C, w, 1), nn.LeakyReLU(0.2)) for w in widths])
        self.stage, self.alpha = stage_at(1)

    def forward(self, x):
        h = self.blocks[self.stage](self.from_rgb[self.stage](x))
        if self.alpha < 1:                               # never at stage 0
            old = self.from_rgb[self.stage - 1](F.avg_pool2d(x, 2))
            h = old + self.alpha * (h - old)
        for s in range(self.stage - 1, -1, -1):
            h = self.blocks[s](h)
        return h


G, D = Generator().to(args.device), Critic().to(args.device)
G_ema = EMA(G, beta=0.999)   # the moving average that samples are drawn from (appendix A.1)
print("parameters:", {name: sum(p.numel() for p in m.parameters()) for name, m in (("G", G), ("D", D))})

# %% [markdown]
# ## 6. Training
#
# The paper's loss is WGAN-GP (lesson 16) with n_critic = 1 and a small
# **drift** term, 0.001·E[D(x)²], that keeps the critic's scores near zero
# (appendix A.1): without it they can wander, since WGAN's loss only sees
# differences. Adam with β = (0, 0.99), the paper's values, and
# Adam's moments are reset when a stage starts (its new layers have none,
# and the old layers' statistics change as the block fades in). After every
# generator step the moving average is updated:
# Ḡ ← β Ḡ + (1 − β) G, β = 0.999, with a warm-up (β_t = min(β, (1+t)/(10+t)))
# so that a short run is not judged by an average of its first, random steps.
#
# **Where a 2-core CPU forces a change** (the paper's values from its
# section 4 and appendix A.1): the paper's networks have 512 channels at
# low resolution and 16 at 1024x1024; here 32, 16 and 8 at 7, 14 and 28
# pixels (`--width`). Each fade-in and each stable phase shows the networks
# 800,000 real images in the paper; here 500 steps of 32, 16,000 images,
# and the last stage trains for 2,000 steps (the first 500 fading in). The
# paper's minibatch is 16 at high resolution; here 32 throughout. Adam's
# learning rate is 1e-2, ten times the paper's 0.001: at this budget the
# paper's rate leaves the equalised layers far behind (section 8 measures
# it). The losses, the drift, the EMA and the three parts are the paper's.

# %%
optD, optG = (optim.Adam(m.parameters(), lr=args.lr, betas=(0.0, 0.99)) for m in (D, G))


def step(next_batch):
    t = G_ema.num_updates + 1                          # this step's number: the average moves once per step
    stage, alpha = stage_at(t)
    if t > 1 and stage_at(t - 1)[0] != stage:         # a new stage: fresh Adam moments
        optD.state.clear()
        optG.state.clear()
    for m in (G, D, G_ema.module):
        m.stage, m.alpha = stage, alpha

    real = real_at(next_batch(), stage, alpha)       # --- critic: WGAN-GP + drift
    with tg.no_grad():                                # no graph through G for the critic's step
        fake = G(tg.randn(real.shape[0], args.z_dim, device=args.device))
    d_real, d_fake = D(real), D(fake)
    gp = gradient_penalty(D, real, fake)
    loss_D = d_fake.mean() - d_real.mean() + args.lambda_gp * gp + 0.001 * (d_real ** 2).mean()
    optD.zero_grad()
    loss_D.backward()
    optD.step()

    D.requires_grad_(False)                           # --- generator: -E[D(G(z))]
    loss_G = -D(G(tg.randn(real.shape[0], args.z_dim, device=args.device))).mean()
    optG.zero_grad()
    loss_G.backward()
    optG.step()
    D.requires_grad_(True)
    G_ema.update()
    return {"loss_D": loss_D.item(), "loss_G": loss_G.item(), "gp": gp.item(),
            "wasserstein": (d_real.mean() - d_fake.mean()).item(), "stage": stage, "alpha": alpha}


sampler = FullSize(G if args.no_ema else G_ema.module, H)   # clipped to [-1, 1], upsampled to H x H
run = RunDir(args.out)
gif = SampleGif(run.file("training.gif"), sampler, tg.randn(64, args.z_dim, device=args.device))
curve = FidCurve(gif, sampler, tg.randn(200 if args.quick else 2000, args.z_dim, device=args.device),
                 args.fid_every, args.steps, frechet_distance if (C, H) == (1, 28) else None, args.sample_every)
history = fit_gan(step, batches, run, {"G": G, "D": D}, {"G": optG, "D": optD}, gif, steps=args.steps,
                  sample_every=args.sample_every, checkpoint_every=args.checkpoint_every, resume=args.resume,
                  device=args.device, print_every=1 if args.quick else 50, callback=curve,
                  extra_steps=range(0, args.steps + 1, args.fid_every),
                  state={"ema": G_ema, "curve": curve})
# the last step's stage, also where a finished run is resumed and no step sets it
G.stage, G.alpha = D.stage, D.alpha = G_ema.module.stage, G_ema.module.alpha = stage_at(args.steps)

# %% [markdown]
# ## 7. Results
#
# `losses.png`: the critic's and generator's losses and the Wasserstein
# estimate (`train.jsonl` logs the stage and α of every step too). Each
# fade-in shows as a jolt, at steps 500 and 1,500: the critic meets a new
# resolution. `fid_vs_time.png`: FID of 2,000 samples over the training
# minutes, with the curves of the `--compare` runs beside it (the README's
# figure draws the progressive runs against `--no-growing` ones).

# %%
viz.plot_losses(history, run.file("losses.png"), title="ProGAN on " + args.dataset)
viz.save_grid(generate(sampler, tg.randn(64, args.z_dim, device=args.device)), run.file("samples.png"))
label = "fixed 28x28" if args.no_growing else "progressive"
if curve.points:
    plot_fid_curves(run.file("fid_vs_time.png"), [curve.curve(label)] + [read_curve(d) for d in args.compare])
metrics = {"steps": args.steps, "seed": args.seed, "label": label, "train_seconds": history.seconds,
           "fid_curve": curve.points, **{k: v for k, v in vars(args).items() if k.startswith("no_")}}

# %% [markdown]
# ## 8. The scores every GAN lesson reports
#
# FID against the 10,000 test images, IS and the class histogram of 10,000
# samples of the moving average, from lesson 09's classifier.
#
# **Measured** (the defaults, 2026-12-05, on the project's 2-core CPU):
# FID 11.9, 11.4 and 11.5, IS 5.51, 5.56 and 5.61 (seeds 0, 1, 2), every
# class at least 5.7 % of the samples, 5 minutes a run. The samples are
# clear garments of every class. At the paper's lr 1e-3 (`--lr 1e-3`) the
# same runs reach only FID 28.8, 31.0 and 34.7, blotchy at the finest
# scale, one class down to 0.2 %. FID over time (at 1e-3): 50 while the
# networks are at 7x7 (coarse images, upsampled, are far from real ones),
# 36-40 at 14x14, and it keeps falling through the last stage.
#
# **Which part matters** (seed 0, `--lr 1e-3`, the same 3,500 steps;
# README table): without the minibatch std FID 33.4 and pullovers fall to
# 0.4 % of the samples; without pixelwise normalisation 32.2; without the
# EMA 27.9 (the average lags a generator that is still improving fast).
# Without the equalised learning rate, FID **12.4**, IS 5.44: far better.
# Section 4.1's argument, turned round: with ŵ of scale 1, Adam's lr 1e-3
# changes each weight by about 0.1 % per step; a He-initialised 3x3 conv
# over 16 channels has weights of scale 0.12, and the same lr changes them
# by 1 % per step, ten times faster. The paper trains on millions of
# images; this run sees 112,000. The test of that reading is the default:
# every part on at lr 1e-2 is as good as dropping the equalised layers. At
# this budget the paper's learning rate, not its parts, is what a CPU
# forces to change.
#
# **Growing against fixed, at the same training time** (README figure, 3
# seeds each at `--lr 1e-3`, `--no-growing --steps 2600` for about the same
# minutes):
# final FID 28.8, 31.0, 34.7 growing against 32.1, 38.7, 34.9 fixed; at 4
# minutes 29.1, 33.7, 37.4 against 35.6, 37.8, 41.7. Growing is ahead from
# about the third minute and still improving at the end; in the first two
# minutes the fixed networks lead, since the growing ones are still at 7x7
# and 14x14, and each fade-in costs FID for a while.

# %%
if (C, H) == (1, 28):
    _, scores = closing_scores(sampler, tg.randn(args.eval_samples, args.z_dim, device=args.device))
    metrics.update(eval_samples=args.eval_samples, **scores)
    print("FID {fid:.2f}, IS {inception_score:.2f} ± {inception_score_std:.2f}".format(**scores))
if args.export_samples:
    export_samples(run, generate(sampler, tg.randn(args.export_samples, args.z_dim, device=args.device)))
print(f"done: {args.steps} steps in {history.seconds:.0f} s; metrics in {run.save_metrics(metrics)}")

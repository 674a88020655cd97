# %% [markdown]
# # Lesson 20: LAPGAN, a Laplacian pyramid of GANs
#
# Denton, Chintala, Szlam & Fergus 2015, "Deep Generative Image Models using
# a Laplacian Pyramid of Adversarial Networks" (NeurIPS). Instead of one
# generator that paints a whole 28x28 image at once, LAPGAN paints it coarse
# to fine: a GAN makes a 7x7 thumbnail, and at each finer scale a
# *conditional* GAN adds the detail that the blurry enlargement lacks. There
# is a generator and a discriminator at every scale. This lesson
# - builds the Laplacian pyramid of Fashion-MNIST, 28 -> 14 -> 7, and checks
#   that it reconstructs the image exactly;
# - trains the three GANs, each on the real pyramid, and samples them as a chain;
# - trains, in the same seconds, one 28x28 GAN with about as many parameters
#   (`--model single`), to ask whether the pyramid helped here.
#
#     .venv/bin/python lessons/20_lapgan.py                 # about 7 min on a 2-core CPU
#     .venv/bin/python lessons/20_lapgan.py --model single  # the single-scale GAN, about the same seconds
#     .venv/bin/python lessons/20_lapgan.py --quick         # a few steps, for the tests
#     .venv/bin/python lessons/20_lapgan.py --resume        # continue an interrupted run
#
# Outputs in `--out` (default `runs/20_lapgan`, `runs/20_lapgan_single` for
# `--model single`): `pyramid.png` (a real image's pyramid), `chain.png`
# (the chain drawn level by level), `samples.png`, `training.gif` (fixed
# noise over training), `losses.png`, `metrics.json` (FID, IS and the class
# histogram of 10,000 samples, parameter counts, seconds), `train.jsonl` and
# a resumable `train.npz` (all six networks and their optimisers).

# %%
import os
import time

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import viz
from tinygen.utils.data import Batches, load_images
from tinygen.utils.gan import (GAN_QUICK, SampleGif, add_gan_flags, closing_scores, dcgan_init, export_samples,
                               fit_gan, generate)
from tinygen.utils.gan_models import dcgan_critic, dcgan_generator
from tinygen.utils.lapgan import add_lapgan_flags, save_chain, save_pyramid
from tinygen.utils.run import RunDir, lesson_parser, parse_args

STEPS = {"lapgan": 7500, "single": 10700}   # about the same seconds (section 6)

t_start = time.perf_counter()
parser = lesson_parser("LAPGAN on Fashion-MNIST (Denton et al. 2015)", steps=None,
                       out=os.path.join("runs", "20_lapgan"), datasets=("fashion-mnist", "mnist"))
add_gan_flags(parser, sample_every=100, checkpoint_every=400)
add_lapgan_flags(parser)   # --model, --lr, --width, --coarse-width, --single-width
args = parse_args(parser, quick={**GAN_QUICK, "steps": 4, "batch_size": 16})
args.steps = args.steps or STEPS[args.model]
run = RunDir(args.out)

# %% [markdown]
# ## 1. The Laplacian pyramid
#
# Two operators. d(·) blurs and halves an image; u(·) doubles it and smooths.
# The Gaussian pyramid is I_0 = I, I_{k+1} = d(I_k): here 28 -> 14 -> 7, the
# coarsest a 7x7 thumbnail (the paper stops at <= 8x8). Each level of the
# Laplacian pyramid is what the blurry enlargement of the next coarser
# level misses, a band-pass image, and the coarsest level is kept as it is:
#
#     h_k = I_k − u(I_{k+1}),  k = 0, 1;      h_2 = I_2.
#
# Going back up is the same sum turned around, I_k = u(I_{k+1}) + h_k,
# so the pyramid is an exact, invertible representation **whatever d and u
# are**: u is applied to the same I_{k+1} on the way down and the way up.
# Our choices:
# - d = `F.avg_pool2d(x, 2)`: the mean of each 2x2 block, a box blur and a
#   decimation in one op. Without the blur, dropping every other pixel
#   would alias the thin stripes and edges of the garments into coarse
#   patterns; the box is the crudest low-pass filter that avoids the worst
#   of it, and it keeps the mean brightness. (Burt & Adelson's 1983 pyramid
#   uses a 5-tap Gaussian-like kernel; at 7x7, a 5-tap kernel would be most
#   of the image.)
# - u = bilinear `F.interpolate`: nearest-neighbour would enlarge each pixel
#   into a 2x2 block, so u(I_{k+1}) would have block edges and h_k would be
#   full of them, high-frequency content that is an artefact of u, not of
#   the garment. Bilinear is smooth, so h_k holds only the detail the image has.
#
# `pyramid.png` draws the pyramid of 8 training images, residuals times 2
# (grey is 0). The largest reconstruction error is 1.2·10⁻⁷, float32
# rounding. The band-pass levels are far from negligible: h_0's standard
# deviation over those 8 images is 0.26, against 0.71 for the images, all
# of it at the garments' edges and seams.

# %%
def down(x):
    """d(·): (N, C, H, W) -> (N, C, H/2, W/2), the mean of each 2x2 block (blur, then decimate)."""
    return F.avg_pool2d(x, 2)


def up(x):
    """u(·): (N, C, H, W) -> (N, C, 2H, 2W), bilinear (smooth, unlike nearest's 2x2 blocks)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def laplacian_pyramid(image, levels=3):
    """([I_0, ..., I_{levels-1}], [h_0, ..., h_{levels-2}]): the Gaussian pyramid and the band-pass levels."""
    gauss = [image]
    for _ in range(levels - 1):
        gauss.append(down(gauss[-1]))
    return gauss, [gauss[k] - up(gauss[k + 1]) for k in range(levels - 1)]


def reconstruct(coarsest, bands):
    """I_0 from I_K and [h_0, ..., h_{K-1}]: I_k = u(I_{k+1}) + h_k, from the coarsest level up."""
    image = coarsest
    for h in reversed(bands):
        image = up(image) + h
    return image


images, _ = load_images(args.dataset, args.data_dir, limit=256 if args.quick else None)
print(f"data: {args.dataset}, {len(images)} images of 1x28x28")
real = tg.tensor(images[:8], device=args.device)
gauss, bands = laplacian_pyramid(real)
error = (reconstruct(gauss[2], bands) - real).abs().max().item()
save_pyramid(gauss, bands, reconstruct(gauss[2], bands), run.file("pyramid.png"))
print(f"pyramid: max reconstruction error {error:.2e}; std of I_0 {images.std():.3f}, h_0 {bands[0].std().item():.3f}")

# %% [markdown]
# ## 2. A GAN at every scale
#
# LAPGAN trains one GAN per level of the pyramid (Denton et al. 2015, section 3):
#
# - **Level 2, 7x7**: an ordinary GAN, G_2(z) -> I_2. The paper's coarsest
#   CIFAR-10 level (8x8) uses fully connected nets for G and D, and so do
#   we: 49 pixels need no convolutions.
# - **Levels 1 and 0, 14x14 and 28x28**: conditional GANs (Mirza & Osindero
#   2014, lesson 14), where the condition is an image, the blurry
#   enlargement l_k = u(I_{k+1}). G_k gets noise and l_k, and outputs the
#   band-pass residual h̃_k = G_k(z_k, l_k); D_k judges l_k + h, the
#   would-be image at that scale, and sees l_k too (a second input channel),
#   so it asks "is this a real image *with this low-pass*?":
#
#       min_G max_D  E_{h, l}[log D_k(l + h, l)] + E_{z, l}[log(1 − D_k(l + G_k(z, l), l))].
#
#   The paper gives D_k the pair (h, l); (l + h, l) holds the same
#   information, and the released CIFAR-10 code feeds D the sum l + h.
#   The noise enters as an extra image plane, as in the paper's CIFAR-10
#   models ("a 4th color plane"; theirs ran 8 -> 14 -> 28 on 28x28 crops,
#   nearly our pyramid), with G_k a 3-layer and D_k a 2-layer convnet, as
#   there. G_k's output has no tanh: h̃ is a signed difference, mostly
#   small. G_k computes at half its size (a stride-2 conv down, an
#   upsample-conv back, lesson 16's `nn.UpsampleConv2d`): at 28x28 that
#   took a quarter of the time of three full-size 3x3 convs of the same width.
#
# So there is a discriminator at every scale: D_2 checks the global shape,
# D_1 the shape's parts, D_0 the edges and textures. The noise is N(0, 1)
# here, as in the other GAN lessons (the paper draws z uniformly in [−1, 1]).

# %%
def coarse_generator(z_dim, hidden):
    """G_2: z (N, z_dim) -> I_2 (N, 1, 7, 7) in [-1, 1], an MLP."""
    return nn.Sequential(nn.Linear(z_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, 2 * hidden), nn.BatchNorm1d(2 * hidden), nn.ReLU(),
                         nn.Linear(2 * hidden, 49), nn.Tanh(), nn.Unflatten(1, (1, 7, 7)))


def coarse_discriminator(hidden):
    """D_2: I_2 (N, 1, 7, 7) -> logits (N, 1), an MLP."""
    return nn.Sequential(nn.Flatten(), nn.Linear(49, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))


class ResidualGenerator(nn.Module):
    """G_k: (noise (N, 1, s, s), l (N, 1, s, s)) -> h̃ (N, 1, s, s), the detail to add to l; s even."""

    def __init__(self, width):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(2, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),   # s/2
                                 nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width), nn.ReLU(),
                                 nn.UpsampleConv2d(width, 1))                                      # s, no tanh

    def forward(self, noise, low):
        return self.net(tg.cat([noise, low], dim=1))


class PairDiscriminator(nn.Module):
    """D_k: (image l + h (N, 1, s, s), l (N, 1, s, s)) -> logits (N, 1); s is 14 or 28."""

    def __init__(self, width, size):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(2, width, 4, 2, 1), nn.LeakyReLU(0.2),
                                 nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
                                 nn.Flatten(), nn.Linear(2 * width * (size // 4) ** 2, 1))   # s -> s/2 -> s/4

    def forward(self, image, low):
        return self.net(tg.cat([image, low], dim=1))


# %% [markdown]
# ## 3. Sampling: the chain, coarse to fine
#
# Sampling runs down the pyramid's reconstruction with generated levels in
# place of the real ones (the paper's eq. 3 and Figure 1):
#
#     Ĩ_2 = G_2(z_2),   Ĩ_1 = u(Ĩ_2) + G_1(z_1, u(Ĩ_2)),   Ĩ_0 = u(Ĩ_1) + G_0(z_0, u(Ĩ_1)).
#
# Each level is clipped to [-1, 1], the range of real images. The chain is
# a Module, so `generate`, `SampleGif` and `closing_scores` take it as they
# take any generator: its inputs are (z_2, z_1, z_0).

# %%
def chain_inputs(n, z_dim, device="cpu"):
    """The chain's noise for n samples: z_2 (n, z_dim), and planes z_1 (n, 1, 14, 14), z_0 (n, 1, 28, 28)."""
    return (tg.randn(n, z_dim, device=device), tg.randn(n, 1, 14, 14, device=device),
            tg.randn(n, 1, 28, 28, device=device))


class LaplacianChain(nn.Module):
    """The LAPGAN sampler: (z_2, z_1, z_0) -> Ĩ_0 (N, 1, 28, 28), through G_2, then G_1, then G_0."""

    def __init__(self, G2, G1, G0):
        super().__init__()
        self.G2, self.G1, self.G0 = G2, G1, G0

    def levels(self, z2, z1, z0):
        """([Ĩ_2, Ĩ_1, Ĩ_0], [h̃_1, h̃_0]): every level of one pass down the chain."""
        images, residuals = [self.G2(z2)], []
        for G, z in ((self.G1, z1), (self.G0, z0)):
            low = up(images[-1])
            residuals.append(G(z, low))
            images.append((low + residuals[-1]).clamp(-1, 1))
        return images, residuals

    def forward(self, z2, z1, z0):
        return self.levels(z2, z1, z0)[0][-1]


# %% [markdown]
# ## 4. Training: each level on the real pyramid
#
# The levels are trained **independently** (section 3): level k's GAN
# learns from the real I_k and its real low-pass l_k = u(d(I_k)), never from
# the coarser generator's output; only sampling chains them. One training
# step here takes one real batch, builds its pyramid, and updates the three
# levels on it, one after another, each with one D step and then one G
# step of the original GAN (Goodfellow et al. 2014): the binary
# cross-entropy on logits, label 1 for real and 0 for generated in D's
# step, and the non-saturating −log D(G(z)) for G, as the authors' code
# does (the paper writes the minimax game; lesson 11 shows why G's side is
# flipped). The generated batch is detached in D's step, and D is frozen in G's.
#
# **Optimiser.** The paper (section 4) trains every level with SGD:
# learning rate 0.02, divided by (1 + 4·10⁻⁵) after each epoch, momentum
# rising from 0.5 by 0.0008 per epoch up to 0.8, for hours to days per
# model. Here the whole budget is under three epochs on a CPU, and that
# slow momentum ramp would barely have started, so every network gets the
# DCGAN setting that the GAN lessons use, Adam with lr 2e-4 and
# β = (0.5, 0.999) (Radford et al. 2015, a few months later, with LAPGAN's
# Chintala among the authors), and DCGAN's N(0, 0.02) init.
#
# **The rival.** `--model single` trains instead one 28x28 GAN with the same
# loss, update and optimiser: lesson 12's DCGAN pair (`gan_models`) at
# width 30, 355,832 parameters against the pyramid's 355,894. Both are
# built, and counted, in either mode. Equal parameters are not equal
# work: most of LAPGAN's parameters sit in the 7x7 level's MLPs, which cost
# almost nothing to run, while the 28x28 level's small convolutions cost the
# most; so the comparison gives both the same *seconds* (section 6).

# %%
def gan_update(G, D, optG, optD, real, low, inputs):
    """One D step, then one G step, of one level's GAN; returns (loss_D, loss_G) as floats.

    real: the real images D judges at this level. low: the condition l (a Tensor
    of real's shape), or None for an unconditional GAN. inputs: G's noise, a tuple.
    G makes the image itself (low None) or the residual that is added to low.
    """
    cond = () if low is None else (low,)
    fake = G(*inputs) if low is None else low + G(*inputs, low)
    logit_real, logit_fake = D(real, *cond), D(fake.detach(), *cond)
    loss_D = (F.binary_cross_entropy_with_logits(logit_real, tg.ones_like(logit_real))
              + F.binary_cross_entropy_with_logits(logit_fake, tg.zeros_like(logit_fake)))
    optD.zero_grad()
    loss_D.backward()
    optD.step()

    D.requires_grad_(False)                                 # G's step: D frozen, the same generated batch
    logit = D(fake, *cond)
    loss_G = F.binary_cross_entropy_with_logits(logit, tg.ones_like(logit))   # −log D(fake)
    optG.zero_grad()
    loss_G.backward()
    optG.step()
    D.requires_grad_(True)
    return loss_D.item(), loss_G.item()


def make_step(generators, discriminators, optimizers, z_dim):
    """A training step for fit_gan: one real batch, its pyramid, then levels 2, 1, 0 in turn (gan_update).

    generators, discriminators: [G_0, G_1, G_2], [D_0, D_1, D_2]; optimizers: dict "G0", "D0", ..., "D2".
    """
    def step(next_batch):
        real = next_batch()
        gauss, _ = laplacian_pyramid(real)                            # I_0, I_1, I_2 of the real batch
        noise = chain_inputs(real.shape[0], z_dim, real.device)       # z_2, z_1, z_0
        out = {}
        for k in (2, 1, 0):
            low = None if k == 2 else up(gauss[k + 1])               # the REAL low-pass of level k
            out[f"loss_D{k}"], out[f"loss_G{k}"] = gan_update(generators[k], discriminators[k], optimizers[f"G{k}"],
                                                              optimizers[f"D{k}"], gauss[k], low, (noise[2 - k],))
        return out
    return step


tg.manual_seed(args.seed)
Gs = [ResidualGenerator(args.width), ResidualGenerator(args.width), coarse_generator(args.z_dim, args.coarse_width)]
Ds = [PairDiscriminator(args.width, 28), PairDiscriminator(args.width, 14), coarse_discriminator(args.coarse_width)]
G, D = dcgan_generator(args.z_dim, args.single_width), dcgan_critic(args.single_width, norm="batch")  # the rival
nets = {**{f"G{k}": g for k, g in enumerate(Gs)}, **{f"D{k}": d for k, d in enumerate(Ds)}, "G": G, "D": D}
for net in nets.values():
    net.apply(dcgan_init).to(args.device)
params = {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()}
params.update(lapgan=sum(params[name] for name in nets if name[1:]), single=params["G"] + params["D"])
print(f"parameters: LAPGAN {params['lapgan']:,}, single-scale DCGAN {params['single']:,}; by network {params}")
chain = LaplacianChain(Gs[2], Gs[1], Gs[0])

batches = Batches(images, batch_size=args.batch_size, seed=args.seed)
models = {name: net for name, net in nets.items() if bool(name[1:]) == (args.model == "lapgan")}
optimizers = {name: optim.Adam(net.parameters(), lr=args.lr, betas=(0.5, 0.999)) for name, net in models.items()}
if args.model == "lapgan":
    sampler, draw = chain, lambda n: chain_inputs(n, args.z_dim, args.device)
    step = make_step(Gs, Ds, optimizers, args.z_dim)
else:
    sampler, draw = G, lambda n: tg.randn(n, args.z_dim, device=args.device)

    def step(next_batch):
        """The single-scale GAN: the same update, on the 28x28 images alone."""
        losses = gan_update(G, D, optimizers["G"], optimizers["D"], next_batch(), None, (draw(args.batch_size),))
        return dict(zip(("loss_D", "loss_G"), losses))

gif = SampleGif(run.file("training.gif"), sampler, draw(64))           # 64 fixed inputs
history = fit_gan(step, batches, run, models, optimizers, gif, steps=args.steps, sample_every=args.sample_every,
                  checkpoint_every=args.checkpoint_every, resume=args.resume, device=args.device, print_every=100)

# %% [markdown]
# ## 5. Results
#
# `chain.png` follows 8 samples down the chain: the 7x7 thumbnail Ĩ_2 (its
# pixels drawn as blocks), the residual G_1 adds, Ĩ_1, the residual G_0
# adds, and the final Ĩ_0. `samples.png` holds 64 samples of the whole
# chain, `losses.png` the six losses (three for the single-scale run).
# Then the scores every GAN lesson reports: FID against the 10,000 test
# images, the Inception Score and the class histogram of 10,000 samples,
# from the classifier of lesson 09.
#
# **What the default run shows** (7,500 steps, seeds 0, 1, 2). In
# `chain.png` the 7x7 thumbnail already fixes the garment's kind and
# silhouette; G_1 draws its outline and inner parts (collars, the gap
# between trouser legs, a sole); G_0 sharpens the edges and adds texture,
# and also a faint speckle in the background, where its noise plane leaks
# through. `losses.png`, averaged over the last 10 % of steps: D_2's loss
# sits at 2 log 2 ≈ 1.38 on every seed, the equilibrium value: D_2 cannot
# tell G_2's thumbnails from real ones. The finer levels' discriminators
# pull ahead, the more so the finer the scale: D_1's loss 0.68-0.82, D_0's
# 0.49-0.58 (at 2,500 steps: 1.05-1.14 and 0.86-0.95, so they pull further
# ahead with training). Detail is what the small residual generators get wrong.

# %%
viz.plot_losses(history, run.file("losses.png"), title=f"{args.model} on {args.dataset}")
viz.save_grid(generate(sampler, gif.inputs), run.file("samples.png"))
if args.model == "lapgan":
    save_chain(chain, tuple(x[:8] for x in gif.inputs), run.file("chain.png"))
t_eval = time.perf_counter()
_, scores = closing_scores(sampler, draw(args.eval_samples))
if args.export_samples:
    export_samples(run, generate(sampler, draw(args.export_samples)))
seconds = {"train_seconds": history.seconds, "eval_seconds": time.perf_counter() - t_eval,
           "run_seconds": time.perf_counter() - t_start}
run.save_metrics({**vars(args), "parameters": params, **seconds, "max_reconstruction_error": error, **scores,
                  "class_histogram_min": min(scores["class_histogram"])})
print(f"{args.model}: FID {scores['fid']:.2f}, IS {scores['inception_score']:.2f}, rarest class "
      f"{min(scores['class_histogram']):.3f}; {args.steps} steps in {seconds['train_seconds']:.0f} s, scoring "
      f"{seconds['eval_seconds']:.0f} s, the whole run {seconds['run_seconds']:.0f} s")

# %% [markdown]
# ## 6. Did the pyramid help?
#
# **The default, measured** (7,500 steps, seeds 0, 1, 2, 10,000 samples
# each, one run at a time on the project's 2-core AVX-512 CPU, 2026-12-05):
# FID **19.7, 21.3, 21.7**, IS 4.96, 5.19, 4.89, the rarest class 3.5 %
# (sandal), 4.0 % and 3.6 % (pullover), in 417, 375 and 359 s of training
# (whole runs 6 min 03 s to 7 min 01 s; seed 0 shared the CPU with tests
# for a while). The chain now draws garments, at the blurred test set's
# FID (22.1 in the README's calibration table) and no better.
#
# The same seconds for both models: a LAPGAN step (three D steps, three G
# steps) took 70 ms and a step of the width-30 DCGAN 28.5 ms, timed in
# turns in one process, so 2,500 LAPGAN steps were matched with 6,100
# single-scale ones. The engine's later speed-ups (the README's benchmark)
# changed the ratio: in the default runs LAPGAN made 20.0 steps/s and the
# rival 28.7, so the default's 7,500 LAPGAN steps are matched with 10,700
# (`--model single`'s default). **Measured at the first pairing** (2,500
# and 6,100 steps, seeds 0, 1, 2, 10,000 samples each, one run at a time
# on the 2-core CPU):
#
# | model | parameters | steps | training seconds | FID | IS | rarest class |
# |-------|------------|-------|------------------|-----|----|--------------|
# | LAPGAN, 7 -> 14 -> 28 | 355,894 | 2,500 | 183, 186, 195 | 28.5, 31.8, 27.8 | 3.99, 3.67, 4.25 | trouser 3.4 %, sandal 1.2 %, trouser 5.4 % |
# | one 28x28 DCGAN, width 30 | 355,832 | 6,100 | 268, 201, 217 | 14.9, 14.2, 14.3 | 4.75, 4.80, 4.85 | pullover 8.4 %, bag 7.6 %, T-shirt 8.1 % |
#
# (Scoring 10,000 samples took 4 s more; a whole LAPGAN run, 187-200 s.
# On seeds 1 and 2 the single-scale run took 8-11 % more seconds than
# LAPGAN's: `fit`'s own work per step (the log, 61 GIF frames against 25,
# checkpoints) weighs more on a cheap step, and the timing in turns left it
# out. Seed 0's 268 s shared the CPU with another job, which changes its
# time, not its samples.)
#
# **At the default's pairing** (seed 0, AVX-512, 2026-12-05) the rival's
# 10,700 steps reach FID 11.17, IS 5.24 (344 s of training, against
# LAPGAN's 19.7 in 417 s), and 18,300 steps (638 s) reach 8.92, IS 5.57,
# every class at least 8.3 %: close to lesson 12's best recipe (8.3-8.8
# in 770-799 s), from a DCGAN half as wide.
#
# **No: here the pyramid did not help.** In about the same seconds the
# single-scale GAN halves the FID on every seed, draws every class at 7.6 %
# or more (LAPGAN drops to 1.2-5.4 % for its rarest), and its samples
# (`samples.png` of each run) are smooth, where LAPGAN's are speckled. Why:
#
# - **Cost.** Three GANs cost three D and three G updates per step, and
#   the 28x28 level alone, with its two-channel input at full size, costs
#   more than the whole DCGAN step. Equal parameters bought LAPGAN 2.4x
#   fewer updates. Even at equal *steps* LAPGAN was not ahead: in two
#   1,500-step pilots (seed 0; the rival then at width 26, 301,732
#   parameters) FID was 30.6 for LAPGAN and 27.5 for the DCGAN.
# - **Where the parameters went.** Half of LAPGAN's (184,113) are G_2's
#   MLP, for a level whose discriminator is beaten from the start (its loss
#   stays at 2 log 2); the 28x28 level that decides the details has 10,721
#   in G_0. The DCGAN puts all its capacity into one generator that sees the
#   whole 28x28 image, which a convnet of three layers already covers.
# - **The chain's seams.** Each level learns from real low-pass images and
#   is sampled on generated ones, so G_1's and G_0's small mistakes land on
#   inputs they never trained on, and add up down the chain.
#
# The paper's gains came where one network cannot easily see the whole
# image, or was not yet a DCGAN: 64x64 LSUN scenes, 96x96 STL-10 images,
# and CIFAR-10 against the 2014 GAN of Goodfellow et al. (human observers
# took LAPGAN's CIFAR-10 samples for real about 40 % of the time, the
# GAN's about 10 %). Coarse-to-fine generation did not go away: it came
# back inside one network, trained scale by scale (ProGAN, Karras et al. 2018).

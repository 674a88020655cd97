# %% [markdown]
# # Lesson 22: StyleGAN, a generator steered by styles
#
# Karras, Laine & Aila 2019, "A Style-Based Generator Architecture for
# Generative Adversarial Networks". The generator no longer takes z at its
# input. A mapping network turns z into an intermediate latent w; the
# synthesis network starts from a learned constant and, at every layer,
# normalises its feature maps and lets w set their scale and bias (AdaIN).
# Per-pixel noise adds the stochastic detail. Because every layer has its own
# copy of w, two latents can share the work: one for the coarse layers, one
# for the fine ones (style mixing).
#
#     .venv/bin/python lessons/22_stylegan.py                  # 15-17 min on a 2-core CPU (README)
#     .venv/bin/python lessons/22_stylegan.py --no-mapping     # also --no-noise, --mixing-prob 0, --r1-gamma 0
#     .venv/bin/python lessons/22_stylegan.py --quick          # a few steps, for the tests
#     .venv/bin/python lessons/22_stylegan.py --compare runs/12_dcgan   # samples and FID beside another run's
#
# Outputs in `--out` (default `runs/22_stylegan`): `training.gif`,
# `losses.png`, `samples.png`, `style_mixing.png`, `noise.png`,
# `truncation.png`, `interpolation.png`, `metrics.json` (FID, IS and the
# class histogram of 10,000 samples at each truncation ψ, the perceptual
# path lengths in Z and W, the noise statistics), `train.jsonl` and a
# resumable `train.npz`.

# %%
import os

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import viz
from tinygen.utils.data import Batches, load_images
from tinygen.utils.ema import EMA
from tinygen.utils.gan import (GAN_QUICK, SampleGif, add_gan_flags, closing_scores, export_samples, fit_gan,
                               generate, r1_penalty)
from tinygen.utils.progan import FullSize, resolutions
from tinygen.utils.stylegan import (add_stylegan_flags, check_stylegan_args, layer_groups, noise_statistics,
                                    path_length, save_comparison, save_mixing_grid, save_noise_figure, slerp_rows)
from tinygen.utils.run import RunDir, lesson_parser, parse_args

parser = lesson_parser("StyleGAN (Karras et al. 2019)", steps=4500, batch_size=32,
                       out=os.path.join("runs", "22_stylegan"))
add_gan_flags(parser, sample_every=100, checkpoint_every=250, z_dim=128)
add_stylegan_flags(parser)   # --w-dim, --width, --mapping-layers, --lr, --r1-gamma, --r1-every, --mixing-prob, ...
args = check_stylegan_args(parser, parse_args(parser, quick={**GAN_QUICK, "steps": 4, "batch_size": 8, "r1_every": 2,
                                                                  "ppl_samples": 16}))
tg.manual_seed(args.seed)

# %% [markdown]
# ## 1. The data and the resolutions
#
# Fashion-MNIST at 28x28 halves twice to 7x7, so the synthesis network has
# three resolutions, 7, 14 and 28, with two style layers each: six copies of
# w. (The paper starts from 4x4 and goes to 1024x1024: eighteen layers. A
# 64x64 photo folder gives 4 to 64, ten layers.)

# %%
images, _ = load_images(args.dataset, args.data_dir, args.image_size, limit=256 if args.quick else None)
N, C, H, W = images.shape
sizes = resolutions(H)                               # [7, 14, 28]: halved while even and above 4
widths = [max(8, args.width >> i) for i in range(len(sizes))]
L = 2 * len(sizes)                                   # style layers
w_dim = args.z_dim if args.no_mapping else args.w_dim
batches = Batches(images, batch_size=args.batch_size, seed=args.seed)
print(f"data: {args.dataset}, {N} images of {C}x{H}x{W}; resolutions {sizes}, channels {widths}, {L} style layers")

# %% [markdown]
# ## 2. The mapping network f: Z → W
#
# A GAN's z is drawn from a fixed distribution, N(0, I), and the generator
# must warp that ball onto the data. If some combination of factors is rare
# in the data (the paper's example: long hair on men), the mapping from z
# to images has to bend to avoid it, and the factors become entangled in z.
# The mapping network f, a stack of fully connected layers, learns its own
# space W = f(Z) that is not tied to any fixed distribution: "in W the factors
# of variation become more linear" (section 4). z is first normalised to
# unit mean square, and f's layers learn 100 times more slowly than the rest
# (a learning-rate multiplier of 0.01 on the equalised learning rate of
# lesson 21): the paper's appendix C. `--no-mapping` feeds the normalised z
# straight to the styles, so W = Z: the "traditional" generator of figure 1a
# with the rest of the architecture kept.

# %%
mapping = nn.PixelNorm() if args.no_mapping else nn.MappingNetwork(args.z_dim, w_dim, args.mapping_layers, 0.01)

# %% [markdown]
# ## 3. The synthesis network: a constant, AdaIN and noise
#
# The synthesis network starts from a **learned constant** 7x7 tensor (ones
# at first): z enters only through the styles. Every layer is a 3x3 conv
# (the first of each resolution after a 2x nearest upsampling), then
#
# 1. **noise**: one N(0, 1) image per sample, times a learned per-channel
#    weight (zero at first), added to the feature maps (sections 2 and 3.2);
# 2. the conv's bias and LeakyReLU(0.2);
# 3. **AdaIN** (eq. 1): each feature map x_i is normalised over its pixels
#    and given the style's scale and bias,
#        AdaIN(x_i, y) = y_s,i · (x_i − μ(x_i)) / σ(x_i) + y_b,i,
#    where y = (y_s, y_b) = A(w) is a learned affine map of this layer's w.
#
# Normalising first throws away the incoming statistics, so each style only
# controls its own layer until the next AdaIN overrides it: that is what
# makes the styles *local* and mixing possible. A 1x1 conv (to RGB) makes the
# image; the output is linear, no tanh, as in the paper. Every conv and
# linear layer has the equalised learning rate (lesson 21). (With `--no-noise`
# the noise is never added; the conv's bias is added before the noise, which
# is the same sum in the other order.)

# %%
def conv(c_in, c_out, k=3, gain=2 ** 0.5):
    return nn.EqualizedConv2d(c_in, c_out, k, padding=k // 2, gain=gain)


class Generator(nn.Module):
    """z (N, z_dim) -> images (N, C, H, W), linear output; .synthesis(ws) takes L styles (N, w_dim)."""

    def __init__(self):
        super().__init__()
        self.mapping = mapping
        self.const = nn.Parameter(tg.ones(1, widths[0], sizes[0], sizes[0]))
        ins = [widths[max(i - 1, 0) // 2] for i in range(L)]   # channels into layer i: the previous layer's
        self.convs = nn.ModuleList([nn.Identity()] + [                             # layer 0 is the constant
            nn.Sequential(*([nn.Upsample(scale_factor=2)] if i % 2 == 0 else []), conv(ins[i], widths[i // 2]))
            for i in range(1, L)])
        self.noises = nn.ModuleList([nn.NoiseInjection(widths[i // 2]) for i in range(L)])
        self.adains = nn.ModuleList([nn.AdaIN(widths[i // 2], w_dim) for i in range(L)])
        self.to_rgb = conv(widths[-1], C, 1, gain=1)
        self.register_buffer("w_avg", tg.zeros(w_dim))   # the moving average of w, for truncation (section 8 below)
        self.psi = 1.0

    def synthesis(self, ws, noise=None):
        """ws: L tensors (N, w_dim), one per layer; noise: None (fresh draws) or L tensors (N or 1, 1, h, h)."""
        x = self.const.expand(ws[0].shape[0], -1, -1, -1)
        for i in range(L):
            x = self.convs[i](x)
            x = x if args.no_noise else self.noises[i](x, None if noise is None else noise[i])
            x = self.adains[i](F.leaky_relu(x, 0.2), ws[i])
        return self.to_rgb(x)

    def forward(self, z):
        w = self.mapping(z)
        if self.psi != 1:                                 # the truncation trick (section 8 below)
            w = self.w_avg + self.psi * (w - self.w_avg)
        return self.synthesis([w] * L)


# %% [markdown]
# ## 4. The discriminator
#
# StyleGAN keeps ProGAN's discriminator (lesson 21) at full size: from an
# image, two 3x3 convs and a 2x average pool per resolution down to 7x7, the
# minibatch standard deviation as one extra feature map, a last conv and
# two fully connected layers to one logit. Equalised learning rate
# throughout, LeakyReLU(0.2).

# %%
class Discriminator(nn.Sequential):
    """images (N, C, H, W) -> logits (N, 1)."""

    def __init__(self):
        w0, s0 = widths[0], sizes[0]
        blocks = [conv(C, widths[-1], 1), nn.LeakyReLU(0.2)]
        for a, b in zip(widths[::-1], widths[-2::-1]):
            blocks += [conv(a, a), nn.LeakyReLU(0.2), conv(a, b), nn.LeakyReLU(0.2), nn.AvgPool2d(2)]
        super().__init__(*blocks, nn.MinibatchStdDev(4), conv(w0 + 1, w0), nn.LeakyReLU(0.2), nn.Flatten(),
                         nn.EqualizedLinear(w0 * s0 * s0, w0), nn.LeakyReLU(0.2), nn.EqualizedLinear(w0, 1, gain=1))


G, D = Generator().to(args.device), Discriminator().to(args.device)
G_ema = EMA(G, beta=0.999)
print("parameters:", {name: sum(p.numel() for p in m.parameters()) for name, m in (("G", G), ("D", D))})

# %% [markdown]
# ## 5. The loss: non-saturating with R1, style mixing, and the moving average of w
#
# **Loss.** The non-saturating GAN loss of lesson 12, written on D's logits
# with softplus(u) = log(1 + eᵘ): L_D = softplus(D(G(z))) + softplus(−D(x)),
# L_G = softplus(−D(G(z))). **R1** (Mescheder et al. 2018, eq. 9) adds
# (γ/2)·E‖∇ₓD(x)‖² on *real* images: D is pushed to be flat around the
# data, which stops it from growing ever steeper there. The gradient ∇ₓD is
# part of the loss, so D's update differentiates through a gradient: the
# course's second use of double backprop, after WGAN-GP (lesson 16).
# StyleGAN2's **lazy** R1 computes it only every k-th step, with γ·k, for
# about the same effect at a fraction of the cost.
#
# **Style mixing** (section 3.1). With probability 0.9 a step draws two
# latents and switches from w₁ to w₂ at a random layer: layers before the
# cut get w₁, the rest w₂. The network can no longer assume neighbouring
# layers share a style, which keeps the styles localised.
#
# **The average w**, w̄, is a moving average (β 0.995) of the batch means
# of w over training, kept for the truncation trick.
#
# **Where a 2-core CPU forces a change** (the paper's values from its
# appendix C and the authors' code): 512 channels and a 512-d W become
# `--width` 64, 32, 16 at 7, 14, 28 pixels and a 128-d W; the mapping keeps
# its 8 layers (they cost little) and the 0.01 multiplier. The paper trains
# on 25 million images with Adam 0.001, β (0, 0.99); this run sees 144,000
# (4,500 steps of 32), with Adam at 0.002 (StyleGAN2's value). R1 keeps the
# paper's γ = 10, computed lazily every 16 steps as StyleGAN2 does. The pilot
# (README) tried the authors' 32x32 value, γ = 0.01 (StyleGAN2-ADA on
# CIFAR-10, where γ is scaled with the pixel count): every sample became the
# same garment, in every shade; γ = 10 gave all ten classes. The generator's
# EMA uses lesson 21's β 0.999 with its warm-up.

# %%
optG, optD = (optim.Adam(m.parameters(), lr=args.lr, betas=(0.0, 0.99)) for m in (G, D))


def styles(n):
    """w (n, w_dim) of a fresh z, and the L per-layer styles, mixed with a second latent with probability p."""
    w = G.mapping(tg.randn(n, args.z_dim, device=args.device))
    if tg.rand(1).item() >= args.mixing_prob:
        return w, [w] * L
    cut = tg.randint(1, L, (1,)).item()                # layers cut..L-1 take the second latent
    return w, [w] * cut + [G.mapping(tg.randn(n, args.z_dim, device=args.device))] * (L - cut)


def step(next_batch):
    t = G_ema.num_updates + 1
    real = next_batch()
    n = real.shape[0]
    with tg.no_grad():                                # --- D: non-saturating loss, lazy R1 on reals
        fake = G.synthesis(styles(n)[1])
    loss_D = F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()
    lazy = args.r1_gamma > 0 and t % args.r1_every == 0
    if lazy:                                          # E‖∇ₓD(x)‖², with create_graph: double backprop
        loss_D = loss_D + args.r1_gamma / 2 * args.r1_every * (r1 := r1_penalty(D, real))
    optD.zero_grad()
    loss_D.backward()
    optD.step()

    D.requires_grad_(False)                           # --- G: non-saturating, on mixed styles
    w, ws = styles(n)
    loss_G = F.softplus(-D(G.synthesis(ws))).mean()
    optG.zero_grad()
    loss_G.backward()
    optG.step()
    D.requires_grad_(True)
    with tg.no_grad():                                # w̄ ← β w̄ + (1 − β) mean(w)
        G.w_avg.copy_(w.mean(dim=0).lerp(G.w_avg, 0.995))
    G_ema.update()
    return {"loss_D": loss_D.item(), "loss_G": loss_G.item(), **({"r1": r1.item()} if lazy else {})}


sampler = FullSize(G_ema.module, H)                    # the moving average, clipped to [-1, 1]
run = RunDir(args.out)
gif = SampleGif(run.file("training.gif"), sampler, tg.randn(64, args.z_dim, device=args.device))
history = fit_gan(step, batches, run, {"G": G, "D": D}, {"G": optG, "D": optD}, gif, steps=args.steps,
                  sample_every=args.sample_every, checkpoint_every=args.checkpoint_every, resume=args.resume,
                  device=args.device, print_every=1 if args.quick else 50, state={"ema": G_ema})
viz.plot_losses(history, run.file("losses.png"), keys=["loss_D", "loss_G"])
viz.save_grid(generate(sampler, tg.randn(64, args.z_dim, device=args.device)), run.file("samples.png"))
metrics = {"steps": args.steps, "seed": args.seed, "train_seconds": history.seconds,
           **{k: getattr(args, k) for k in ("no_mapping", "no_noise", "mixing_prob", "r1_gamma", "lr")}}

# %% [markdown]
# ## 6. Style mixing (figure 3 of the paper)
#
# Take sources A (rows) and B (columns) and run A's w everywhere except a
# group of layers, which gets B's: the coarse layers (7x7), the middle ones
# (14x14) or the fine ones (28x28). All images share one noise draw, so
# only the styles differ.

# %%
Gs = G_ema.module                                     # the average: no parameter requires grad, so no graphs
fixed = [tg.randn(1, 1, s, s, device=args.device) for s in sizes for _ in (0, 1)]   # one noise image per layer


def draw(w, noise=fixed, other=None, group=()):
    """Gs's images (clipped, NumPy) with style w (n, w_dim) at every layer, or `other` at the layers in `group`."""
    return Gs.synthesis([other if i in group else w for i in range(L)], noise).clamp(-1, 1).numpy()


wa, wb = (Gs.mapping(tg.randn(k, args.z_dim, device=args.device)) for k in (5, 6))
mixes = {name: np.stack([draw(a.expand(6, -1), other=wb, group=group) for a in wa.split(1)])
         for name, group in layer_groups(sizes).items()}
save_mixing_grid(run.file("style_mixing.png"), draw(wa), draw(wb), mixes)

# %% [markdown]
# ## 7. Stochastic variation (figure 4)
#
# One w, many noise draws: the garment should stay, the detail change. The
# last column is the per-pixel standard deviation over 100 draws. The
# metrics compare it with how much the image changes between different w:
# `noise_std` (mean over pixels of the std over noise draws) against
# `style_std` (the same over w), and `noise_edge_corr`, the correlation of
# the noise's std map with the edges (gradient magnitude) of the mean image.

# %%
ws = Gs.mapping(tg.randn(104, args.z_dim, device=args.device))
draws = np.stack([draw(w.expand(100, -1), noise=None) for w in ws[:4].split(1)])   # fresh noise per image
metrics["noise"] = noise_statistics(draws, draw(ws[4:]))
save_noise_figure(run.file("noise.png"), draws)

# %% [markdown]
# ## 8. The truncation trick (appendix B and figure 8)
#
# Samples from the rare, poorly learned corners of W look worst. Pulling
# every w toward the average, w' = w̄ + ψ(w − w̄), trades variety for
# quality: ψ = 1 is the model itself, ψ = 0 gives every z the same "mean"
# garment (only the noise differs). Each ψ is scored on the same 10,000 z.
#
# **Measured** (3 seeds): the variety goes as promised. The class entropy
# (1 for ten equal classes) falls from 0.95-0.98 at ψ = 1 to 0.85-0.91 at
# 0.5, and ψ = 0 draws one garment, classified as one class. The quality
# gain does not show in these scores. FID rises at every step (21-24 at
# ψ = 1, 25-28 at 0.7, 32-34 at 0.5, 102-119 at 0), and so does IS's
# inverse, since both also count variety. On the figure the truncated rows
# are cleaner versions of the same garments.

# %%
z_eval, rows = tg.randn(args.eval_samples, args.z_dim, device=args.device), []
for psi in args.psi:
    Gs.psi = psi
    samples, scores = closing_scores(sampler, z_eval)
    metrics[f"psi_{psi:g}"], rows = scores, rows + [samples[:10]]
    print(f"ψ = {psi:g}: FID {scores['fid']:.2f}, IS {scores['inception_score']:.2f}, "
          f"rarest class {min(scores['class_histogram']):.3f}")
Gs.psi = 1.0
viz.save_image_rows(rows, run.file("truncation.png"), labels=[f"ψ = {p:g}" for p in args.psi], value_range=(-1, 1))
metrics.update(metrics.get("psi_1", {}))

# %% [markdown]
# ## 9. Interpolation in Z and in W, and the perceptual path length (section 4.1)
#
# If W is less entangled than Z, a straight walk in W should change the
# image steadily, while a walk in Z may pass through features present at
# neither end. The paper measures this as the **perceptual path length**:
# cut the path into pieces of length ε and sum how much the image changes,
#     PPL = E[ d(g(l(t)), g(l(t + ε))) / ε² ],  t ~ U(0, 1), ε = 1e-4,
# with l a slerp between two z's (in Z) or a lerp between their w's (in W),
# and d a perceptual distance (the paper: VGG features; here the squared
# distance of lesson 09's classifier features, the ones FID uses). As in
# the paper, the top and bottom 1 % are dropped. Both ends of each piece
# share their noise. Lower is smoother.

# %%
walks, t = [], tg.linspace(0, 1, 10, device=args.device).reshape(-1, 1)
for _ in range(2):
    z = tg.randn(2, args.z_dim, device=args.device)
    w0, w1 = Gs.mapping(z).split(1)
    in_z = Gs.mapping(tg.tensor(slerp_rows(z[:1].numpy().repeat(10, 0), z[1:].numpy().repeat(10, 0),
                                           t.numpy()).astype("float32"), device=args.device))
    walks += [draw(in_z), draw(w0 + t * (w1 - w0))]
viz.save_image_rows(walks, run.file("interpolation.png"), labels=["slerp in Z", "lerp in W"] * 2, value_range=(-1, 1))
metrics["ppl"] = {space: path_length(Gs, sizes, args.z_dim, space, args.ppl_samples, device=args.device)
                  for space in ("z", "w")}
print(f"perceptual path length: Z {metrics['ppl']['z']:.1f}, W {metrics['ppl']['w']:.1f}")

# %% [markdown]
# ## 10. The scores, and other runs beside this one
#
# FID against the 10,000 test images, IS and the class histogram of 10,000
# samples (ψ = 1), from lesson 09's classifier. `--compare RUN` draws this
# run's samples beside those of other finished runs (each run's
# `samples.npy`, written by `--export-samples`) with their FIDs.
#
# **Measured** (the defaults, 2026-12-05, on the project's 2-core CPU; README):
# FID 20.6, 15.6 and 17.2, IS 4.45, 5.15 and 4.74 (seeds 0, 1, 2), every
# class at least 3.3 % of the samples. A run takes 15-17 minutes when it
# has the CPU to itself: 14-15 minutes of training, the rest scoring. (At
# 3,000 steps: FID 21.1-23.5, and trousers at 2.1 % on seed 0.)
# The perceptual path length is 4,170-5,610 in Z and 1,820-2,250 in W: W is
# 2.3-2.6 times smoother, the paper's claim (its Table 3), here with a
# different feature space. The noise's per-pixel std (0.012-0.020) is a
# 25th to a 40th of the change between styles (0.48-0.50). Its map correlates
# with the edges of the mean image at 0.47-0.57, so the noise moves outlines and
# texture, not the garment. The style-mixing figure shows the division of
# labour: B's coarse styles bring B's kind of garment, the middle ones
# its cut, the fine ones only its brightness.
#
# **At the same wall-clock time** (the 3,000 steps of the old default)
# lesson 12's DCGAN is far ahead: FID 12.4 against 21-24. It sees 3.4 times the images in those minutes, its z
# sets the layout directly, and this run's mapping network hardly moves
# (0.2-0.4 % of its weights, against 16-32 % for the synthesis layers: the
# 0.01 multiplier is meant for 25 million images). **Each part switched
# off** (seed 0, 3,000 steps, README table): without the mapping network FID 24.5,
# without noise 24.2, both within the seeds' spread. Without style mixing
# FID is **16.7**: at this budget the regulariser costs 7 points, where the
# paper (its Table 2) found it neutral after full training.

# %%
if args.compare:
    save_comparison(run.file("comparison.png"), [("this run", generate(sampler, z_eval[:10]), metrics["fid"])]
                    + args.compare)
if args.export_samples:
    Gs.psi = args.export_psi                          # 1: the model itself; below 1, lesson 25's trade
    export_samples(run, generate(sampler, tg.randn(args.export_samples, args.z_dim, device=args.device)))
print(f"done: {args.steps} steps in {history.seconds:.0f} s; metrics in {run.save_metrics(metrics)}")

# %% [markdown]
# # Lesson 15: LSGAN, the least-squares GAN
#
# Mao et al. 2017, "Least Squares Generative Adversarial Networks" (ICCV),
# keep the DCGAN networks and change one thing: the discriminator is trained
# as a *regressor* to target values with a squared error, instead of as a
# classifier with the sigmoid cross-entropy. This lesson
# - plots each generator loss, and its gradient, against D's output (the
#   argument of the paper's Figure 1: why the sigmoid cross-entropy stops
#   pulling samples that D already calls real while the squared error keeps pulling);
# - trains the DCGAN pair of lesson 12 on Fashion-MNIST with both of the
#   paper's label codings, (a, b, c) = (0, 1, 1) and the Pearson-χ² coding
#   (−1, 1, 0), and scores both.
#
#     .venv/bin/python lessons/15_lsgan.py                 # both codings, 4-5 min on a 2-core CPU
#     .venv/bin/python lessons/15_lsgan.py --coding chi2   # only the (−1, 1, 0) coding
#     .venv/bin/python lessons/15_lsgan.py --quick         # a few steps, for the tests
#     .venv/bin/python lessons/15_lsgan.py --resume        # continue an interrupted run
#
# Outputs in `--out` (default `runs/15_lsgan`): `losses_vs_output.png` (the
# loss-and-gradient curves), `losses.png` (both runs' losses and D's outputs),
# and per coding a fixed-z GIF over training, a grid of samples, a log and a
# resumable checkpoint: `training.gif`, `samples.png`, `train.jsonl`,
# `train.npz` for (0, 1, 1) and `training_chi2.gif`, `samples_chi2.png`,
# `train_chi2.jsonl`, `train_chi2.npz` for (−1, 1, 0). `metrics.json` holds
# per coding the FID, IS and class histogram of 10,000 samples and the train
# seconds, and the curves of `losses_vs_output.png` as numbers.

# %%
import os

import numpy as np

import tinygen as tg
from tinygen import gan_losses, optim
from tinygen.utils import viz
from tinygen.utils.data import Batches, load_images
from tinygen.utils.gan import (GAN_QUICK, SampleGif, add_gan_flags, closing_scores, dcgan_init,
                               export_samples, fit_gan, generate)
from tinygen.utils.gan_models import dcgan_critic, dcgan_generator
from tinygen.utils.run import RunDir, beta, lesson_parser, parse_args, positive_float, positive_int
from tinygen.utils.train import tail_means

CODINGS = {"01": (0.0, 1.0, 1.0), "chi2": (-1.0, 1.0, 0.0)}   # (a, b, c): fake label, real label, G's target
STAGE = {"01": "train", "chi2": "train_chi2"}                   # the file-name stem of each coding's run

parser = lesson_parser("LSGAN on Fashion-MNIST (Mao et al. 2017)", steps=4000,
                       out=os.path.join("runs", "15_lsgan"), datasets=("fashion-mnist", "mnist"))
add_gan_flags(parser, sample_every=100, checkpoint_every=250)
parser.add_argument("--coding", default="both", choices=["01", "chi2", "both"],
                    help="label coding (a, b, c): 01 = (0, 1, 1), chi2 = (-1, 1, 0), or both, one run each")
parser.add_argument("--lr", type=positive_float, default=2e-4, help="Adam's learning rate (the paper's 2e-4 at 28x28)")
parser.add_argument("--beta1", type=beta, default=0.5, help="Adam's β1 (the paper's 0.5)")
parser.add_argument("--g-width", type=positive_int, default=32,
                    help="G's last hidden width; G is z -> 2w x 7 x 7 -> w x 14 x 14 -> 1 x 28 x 28")
parser.add_argument("--d-width", type=positive_int, default=32, help="D's first width; D is 1 -> w -> 2w channels -> 1")
args = parse_args(parser, quick={**GAN_QUICK, "steps": 4, "batch_size": 16})
codings = list(CODINGS) if args.coding == "both" else [args.coding]
run = RunDir(args.out)

# %% [markdown]
# ## 1. The least-squares objectives
#
# A regular GAN's D is a classifier, σ(o) = the probability that x is real
# for its logit o, trained with the sigmoid cross-entropy. LSGAN drops the
# sigmoid and regresses D's raw output o = D(x) onto codes: b for real
# images, a for generated ones, while G wants its samples to get c
# (Mao et al. 2017, eq. 2):
#
#     min_D  V(D) = ½ E_x[(D(x) − b)²] + ½ E_z[(D(G(z)) − a)²]
#     min_G  V(G) = ½ E_z[(D(G(z)) − c)²]
#
# For a fixed G the best D is D*(x) = (b p_d(x) + a p_g(x)) / (p_d(x) + p_g(x)),
# and putting it into an extended V(G), which adds ½ E_x[(D(x) − c)²] (a term
# without G in it), gives (eq. 5-7)
#
#     2 C(G) = χ²_Pearson(p_d + p_g ‖ 2 p_g)     when b − c = 1 and b − a = 2:
#
# G then minimises a Pearson χ² divergence, zero exactly when p_g = p_d.
# The paper gives two codings (section 3.2.3):
# - **(a, b, c) = (−1, 1, 0)**, which satisfies those conditions (eq. 8):
#   G aims at 0, the middle between the fake and the real code, i.e. at D's
#   decision boundary;
# - **(a, b, c) = (0, 1, 1)**, the 0-1 coding (eq. 9): G wants its samples
#   to be scored exactly as real ones.
#
# The paper finds the two similar and uses eq. 9 in its experiments. Here
# both train from the same initial weights, data order and noise.
# `gan_losses.lsgan_d_loss(out_real, out_fake, a, b)` and
# `gan_losses.lsgan_g_loss(out_fake, c)` are these two lines.

# %% [markdown]
# ## 2. Why squares: a loss against D's output (the paper's Figure 1)
#
# G learns only through dℓ/do, the derivative of its loss with respect to
# D's output for a generated sample, times do/dθ. Plot ℓ and dℓ/do over o,
# where o > 0 (o > ½ for the 0-1 coding) is the side of the decision
# boundary that D calls real:
#
# - the **minimax** loss log(1 − σ(o)) = −softplus(o) has dℓ/do = −σ(o):
#   it vanishes on the *fake* side, the saturation that lesson 11 avoids;
# - the **non-saturating** loss −log σ(o) = softplus(−o) has dℓ/do = −σ(−o):
#   it vanishes on the *real* side. A sample D already calls real gets no
#   further push, however far it lies from the real data;
# - the **least-squares** loss ½(o − c)² has dℓ/do = o − c, linear in o:
#   zero only at o = c and growing with the distance from it on either side.
#
# Mao et al.'s Figure 1 is this argument drawn in data space: once G's
# samples cross the sigmoid boundary onto the real side, the cross-entropy
# gives them "very small errors" and leaves them where they are, even if
# they are far from the data. The least-squares loss keeps penalising them
# in proportion to their distance from the target and so "forces the
# generator to generate samples toward the decision boundary"; and for
# successful learning, the caption adds, that boundary goes across the real
# data, so towards the boundary is towards the data. This keeps G's gradient alive for longer,
# the paper's first benefit; the gradients are computed below by tinygen's
# autograd (`tg.grad`), on a grid of outputs, through the very loss
# functions that train the networks.

# %%
def loss_and_grad(loss_fn, outputs):
    """Per-sample values and derivatives of a generator loss on a grid of D's outputs.

    Every loss in ``tinygen.gan_losses`` is a mean over the batch of one term
    per sample, so n times the loss of the whole grid, differentiated by
    ``tg.grad``, gives each sample's own dℓ/do.

    Args:
        loss_fn: D's outputs (N,) -> scalar Tensor, e.g. ``gan_losses.nonsaturating_g_loss``.
        outputs: NumPy float (N,), D's raw outputs (logits, for the sigmoid losses).

    Returns:
        (values, grads): NumPy float64 (N,) each, ℓ(o_i) and dℓ/do at o_i.
    """
    o = tg.tensor(np.asarray(outputs, dtype=np.float64), requires_grad=True)
    grads, = tg.grad(loss_fn(o) * len(outputs), o)
    values = [loss_fn(tg.tensor(np.float64([v]))).item() for v in outputs]
    return np.array(values), grads.numpy().astype(np.float64)


def generator_loss_curves(outputs):
    """ℓ and dℓ/do of the four generator losses on a grid of D's outputs (Mao et al. 2017, Figure 1-2).

    Returns:
        dict name -> {"loss": list, "grad": list}, floats, for ``minimax``
        (log(1 − σ(o)), Goodfellow et al. 2014, eq. 1), ``nonsaturating``
        (−log σ(o), ibid. section 3), ``ls_c1`` and ``ls_c0`` (½(o − c)² with
        c = 1 and 0, Mao et al. 2017, eq. 9 and 8).
    """
    losses = {"minimax": gan_losses.minimax_g_loss, "nonsaturating": gan_losses.nonsaturating_g_loss,
              "ls_c1": lambda o: gan_losses.lsgan_g_loss(o, c=1.0),
              "ls_c0": lambda o: gan_losses.lsgan_g_loss(o, c=0.0)}
    curves = {}
    for name, fn in losses.items():
        values, grads = loss_and_grad(fn, outputs)
        curves[name] = {"loss": values.tolist(), "grad": grads.tolist()}
    return curves


def plot_curves(outputs, curves, path):
    """Two panels over D's output o: the generator losses, and their derivatives dℓ/do."""
    import matplotlib.pyplot as plt
    labels = {"minimax": "minimax log(1 − σ(o))", "nonsaturating": "non-saturating −log σ(o)",
              "ls_c1": "least squares ½(o − 1)², coding (0, 1, 1)", "ls_c0": "least squares ½(o − 0)², coding (−1, 1, 0)"}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    for ax, key, ylim in zip(axes, ("loss", "grad"), ((-4, 6), (-3, 3))):
        for name, curve in curves.items():
            ax.plot(outputs, curve[key], lw=2, ls="-" if name.startswith("ls") else "--", label=labels[name])
        ax.axvspan(0, outputs[-1], color="tab:green", alpha=0.07)
        ax.axvline(0, color="k", lw=0.8)                 # the boundary of the sigmoid and of the (−1, 1, 0) coding
        ax.axvline(0.5, color="tab:green", lw=0.8, ls=":")  # the boundary of the (0, 1, 1) coding, (a + b) / 2
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylim(*ylim)
        ax.set_xlabel("D's output o for a generated sample (the logit, for the sigmoid losses)")
        ax.grid(True, alpha=0.3)
    axes[0].set_title("generator loss ℓ(o); shaded: the side D calls real (o > 0)")
    axes[1].set_title("dℓ/do by tg.grad: G moves o against its sign")
    axes[0].legend(fontsize=8, loc="upper center")
    return viz.save_figure(fig, path)


grid = np.linspace(-6.0, 6.0, 121)
curves = generator_loss_curves(grid)
plot_curves(grid, curves, run.file("losses_vs_output.png"))
at = {o: int(np.argmin(np.abs(grid - o))) for o in (-5.0, 5.0)}
print("dℓ/do at o = -5 and o = +5: " + ", ".join(
    f"{name} {c['grad'][at[-5.0]]:+.3f} / {c['grad'][at[5.0]]:+.3f}" for name, c in curves.items()))

# %% [markdown]
# ## 3. The data and the networks
#
# Fashion-MNIST in [-1, 1]. The networks are lesson 12's DCGAN pair
# (`tinygen.utils.gan_models`): G is z -> ConvT 7x7 -> 2w x 7 x 7 -> ConvT
# 4/2 -> w x 14 x 14 -> ConvT 4/2 -> tanh, with BatchNorm and ReLU; D is two
# stride-2 convs with LeakyReLU(0.2) and BatchNorm on the second, then a 7x7
# conv to one raw score: no sigmoid, since the least-squares loss regresses
# the score itself. The init is DCGAN's N(0, 0.02).
#
# To train *two* GANs in the four minutes of the default run, both widths
# are halved from lesson 12's 64 to w = 32 (`--g-width`, `--d-width`):
# about 35 steps/s on the 2-core CPU against lesson 12's 11, so each coding
# gets 4,000 steps (4.3 epochs), twice lesson 12's 2,000. The paper's own networks are far larger
# (for 112x112 LSUN scenes, a VGG-like G with a 1024-dimensional z).

# %%
images, _ = load_images(args.dataset, args.data_dir, limit=256 if args.quick else None)
print(f"data: {args.dataset}, {len(images)} images of 1x28x28")


def build(seed):
    """A DCGAN pair from seed ``seed``, with DCGAN's init (Radford et al. 2015, section 4)."""
    tg.manual_seed(seed)
    return (dcgan_generator(args.z_dim, args.g_width).apply(dcgan_init).to(args.device),
            dcgan_critic(args.d_width, norm="batch").apply(dcgan_init).to(args.device))


G, D = build(args.seed)
print(f"generator: {sum(p.numel() for p in G.parameters()):,} parameters; "
      f"discriminator: {sum(p.numel() for p in D.parameters()):,}")

# %% [markdown]
# ## 4. Training
#
# One D step, then one G step, batch 64, as in DCGAN and the authors' code.
# Adam with lr 2e-4 and β1 = 0.5: the paper (section 4.1) follows DCGAN's β1
# and uses 2e-4 for its 28x28 handwritten Chinese characters (a conditional
# model), 1e-3 for the LSUN scenes. Popular GAN collections differ in details: PyTorch-GAN's
# `lsgan.py` (Linder-Norén) also uses 2e-4 and β1 = 0.5, but a different
# architecture, updates G before D, and uses `MSELoss` on the (0, 1, 1)
# coding, which is the loss above without the ½ for G (the same gradient
# direction, twice its size); the authors' TensorFlow code sums the squares
# over the batch (`tf.nn.l2_loss`) instead of averaging them, which scales
# the effective step with the batch size; it also draws z uniformly from
# [−1, 1]^1024. Here the losses are the paper's means with the ½, and z is
# N(0, I) in 100 dimensions, as in the other GAN lessons.
#
# The D step scores real and generated batches separately, so each BatchNorm
# statistic comes from one kind of image, and the G step reuses the D step's
# generated batch with its graph. Logged: both losses and the batch means of
# D's raw outputs, `D_real` and `D_fake`, to be read against the codes a, b
# and c.

# %%
def make_step(G, D, optG, optD, a, b, c):
    """One D step ½(D(x) − b)² + ½(D(G(z)) − a)², then one G step ½(D(G(z)) − c)² (Mao et al. 2017, eq. 2)."""
    def step(next_batch):
        real = next_batch()
        fake = G(tg.randn(real.shape[0], args.z_dim, device=args.device))
        out_real, out_fake = D(real), D(fake.detach())
        loss_D = gan_losses.lsgan_d_loss(out_real, out_fake, a=a, b=b)
        optD.zero_grad()
        loss_D.backward()
        optD.step()

        D.requires_grad_(False)                          # G's step: D frozen, the same generated batch
        loss_G = gan_losses.lsgan_g_loss(D(fake), c=c)
        optG.zero_grad()
        loss_G.backward()
        optG.step()
        D.requires_grad_(True)
        return {"loss_D": loss_D.item(), "loss_G": loss_G.item(),
                "D_real": out_real.mean().item(), "D_fake": out_fake.mean().item()}
    return step


trained, histories, seconds = {}, {}, {}
for coding in codings:
    a, b, c = CODINGS[coding]
    G, D = build(args.seed)                              # both codings start from the same weights
    optG = optim.Adam(G.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    optD = optim.Adam(D.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    batches = Batches(images, batch_size=args.batch_size, seed=args.seed)
    gif_name = "training.gif" if coding == "01" else f"training_{coding}.gif"
    gif = SampleGif(run.file(gif_name), G, tg.randn(64, args.z_dim, device=args.device))
    print(f"--- coding (a, b, c) = ({a:g}, {b:g}, {c:g}) -> {STAGE[coding]}.*")
    history = fit_gan(make_step(G, D, optG, optD, a, b, c), batches, run, {"G": G, "D": D}, {"G": optG, "D": optD},
                      gif, steps=args.steps, sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
                      resume=args.resume, device=args.device, print_every=1 if args.quick else 100,
                      name=STAGE[coding])
    seconds[coding], trained[coding], histories[coding] = history.seconds, (G, D, gif), history

# %% [markdown]
# ## 5. Results
#
# `losses.png` draws both runs: the losses on top, D's mean outputs on real
# and generated batches below. With the 0-1 coding D wants D(x) at 1 and
# D(G(z)) at 0, and G pulls D(G(z)) back towards 1; with the χ² coding D
# wants 1 and −1, and G pulls D(G(z)) to 0, the boundary. At the game's
# end D cannot tell the two apart and scores both (a + b)/2: ½ and 0.
# `samples.png` and `samples_chi2.png` show 64 fresh samples of each run.
#
# Then the scores every GAN lesson reports: FID against the test set, the
# Inception Score and the class histogram of `--eval-samples` (10,000)
# samples, from the classifier of lesson 09.
#
# **Measured** (default settings: w = 32, 4,000 steps per coding, 10,000
# samples; seeds 0, 1, 2; the project's 2-core AVX-512 CPU, 2026-12-05):
#
# | coding (a, b, c) | FID              | IS               | rarest class (%)                 | D(x), D(G(z)) at the end |
# |------------------|------------------|------------------|----------------------------------|--------------------------|
# | (0, 1, 1)        | 18.7, 17.7, 19.1 | 4.32, 4.41, 4.21 | T-shirt 6.6, bag 7.6, T-shirt 6.1 | 0.65-0.67, 0.32-0.35    |
# | (−1, 1, 0)       | 18.4, 18.9, 19.7 | 4.36, 4.24, 4.17 | T-shirt 6.3, 6.2, 6.1            | 0.37-0.40, −0.37 to −0.40 |
#
# (D's outputs are the means over the last 10% of steps.) Both codings
# draw garments, every class at 6 % of the samples or more, and they finish
# within a seed's spread of each other (means 18.5 and 19.0): the paper's
# "similar performance". At the old default of 1,300 steps the χ² coding
# was ahead on every seed (FID 33.1, 31.9, 33.0 against 35.7, 34.9, 35.1)
# and both nearly dropped the trousers (0.4-2.0 %): it learns faster, and
# the lead is gone by 4,000 steps. Neither D reaches the equilibrium value
# (a + b)/2 on both kinds of image: D still separates them, by about 0.33
# of its b − a = 1 in the 0-1 coding and 0.77 of b − a = 2 in the χ²
# coding (at 1,300 steps: 0.65 and 1.27). A whole default run took
# 4 min 05 s to 4 min 33 s alone (118-135 s of training per coding, the
# rest loading, the figure and scoring 10,000 samples twice).

# %%
labels = {k: "(" + ", ".join(f"{v:g}" for v in CODINGS[k]) + ")" for k in codings}   # e.g. "(0, 1, 1)"
viz.plot_losses({labels[k]: histories[k] for k in codings}, run.file("losses.png"),
                keys=[f"{key} ({labels[k]})" for k in codings for key in ("D_real", "D_fake")],
                title=f"LSGAN on {args.dataset}: losses, and D's mean outputs below")
metrics = {"steps": args.steps, "seed": args.seed, "g_width": args.g_width, "d_width": args.d_width,
           "lr": args.lr, "beta1": args.beta1, "eval_samples": args.eval_samples,
           "train_seconds": sum(seconds.values()), "codings": {},
           "loss_vs_output": {"outputs": grid.tolist(), **curves}}
for coding in codings:
    G, D, gif = trained[coding]
    viz.save_grid(generate(G, tg.randn(64, args.z_dim, device=args.device)),
                  run.file("samples.png" if coding == "01" else f"samples_{coding}.png"))
    _, scores = closing_scores(G, tg.randn(args.eval_samples, args.z_dim, device=args.device))
    metrics["codings"][coding] = {
        "abc": CODINGS[coding], "train_seconds": seconds[coding], **scores,
        "class_histogram_min": min(scores["class_histogram"]),
        "tail_means": tail_means(histories[coding], ("loss_D", "loss_G", "D_real", "D_fake"))}   # last 10%
    print(f"coding {CODINGS[coding]}: FID {scores['fid']:.2f}, IS {scores['inception_score']:.2f}, "
          f"rarest class {min(scores['class_histogram']):.3f}, {seconds[coding]:.0f} s of training")
if args.export_samples:                                  # from the (0, 1, 1) run, the paper's choice, if trained
    export_samples(run, generate(trained[codings[0]][0], tg.randn(args.export_samples, args.z_dim,
                                                                  device=args.device)))
run.save_metrics(metrics)
print(f"done: {args.steps} steps per coding, {sum(seconds.values()):.0f} s of training; outputs in {run.path}")

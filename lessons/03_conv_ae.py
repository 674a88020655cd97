# %% [markdown]
# # Lesson 03: a convolutional autoencoder
#
# The dense autoencoders of lessons 01 and 02 flatten the image into 784
# numbers and forget which pixels are neighbours. A convolutional autoencoder
# keeps the picture a picture: the encoder is convolutions and pooling, the
# decoder is transposed convolutions (Hands-On ML ch. 17 notes, slide 003,
# "Convolutional autoencoder"; convolution vs transposed convolution, slide 001).
#
#     .venv/bin/python lessons/03_conv_ae.py             # 3 min on a 2-core CPU
#     .venv/bin/python lessons/03_conv_ae.py --quick     # a few steps, for the tests
#     .venv/bin/python lessons/03_conv_ae.py --resume    # continue an interrupted run
#
# Outputs in `--out` (default `runs/03_conv_ae`): `reconstructions.png`
# (test images, their 7x7 code maps and their reconstructions), `losses.png`,
# `metrics.json`, `train.jsonl` and a resumable `train.npz`.

# %%
import os

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import viz
from tinygen.utils.data import Batches, load_train_test
from tinygen.utils.run import RunDir, lesson_parser, parse_args, positive_float, positive_int
from tinygen.utils.train import evaluate, fit, map_batches

parser = lesson_parser("Convolutional autoencoder on Fashion-MNIST", steps=2000,
                       out=os.path.join("runs", "03_conv_ae"),
                       datasets=("fashion-mnist", "mnist"))  # labelled, with a test split
parser.add_argument("--lr", type=positive_float, default=2e-3)
parser.add_argument("--code-channels", type=positive_int, default=4, help="feature maps of the 7x7 code")
args = parse_args(parser, quick={"steps": 5, "batch_size": 16})
tg.manual_seed(args.seed)

# %% [markdown]
# ## 1. The data
#
# Fashion-MNIST, pixels in [0, 1]: the range of the decoder's sigmoid output.

# %%
x_train, y_train, x_test, y_test = load_train_test(args.dataset, args.data_dir,
                                                   limit=300 if args.quick else None)
print(f"data: {len(x_train)} training and {len(x_test)} test images of 1x28x28")

# %% [markdown]
# ## 2. Convolution down, transposed convolution up
#
# **Encoder.** Each block is a 3x3 convolution (padding 1 keeps the size),
# a ReLU and a 2x2 max-pool that halves height and width. As the picture
# shrinks, the number of feature maps grows (1 -> 16 -> 32): the slide's
# "reduce spatial dimension, increase depth". A last 3x3 conv squeezes the
# 32 maps into `code_channels` maps of 7x7. With 4 maps the code holds
# 4·7·7 = 196 numbers for 784 pixels: undercomplete, so the network must
# learn what to keep.
#
# **Decoder: the transposed convolution** (slide 001, "convolution vs
# transposed convolution"). A convolution with stride s maps each k x k
# patch of its input to one output pixel. The transposed convolution runs
# that map backwards (it is the convolution's gradient with respect to its
# input): each input pixel *paints* a k x k copy of the kernel, scaled by its
# value, into the output, with copies s pixels apart, and overlaps add up. Its
# output side is
#
#     H_out = (H_in - 1)·s - 2·p + k,    e.g. (7 - 1)·2 - 2·1 + 4 = 14.
#
# So ConvTranspose2d(k=4, s=2, p=1) doubles 7 -> 14 -> 28.
#
# **Why k = 4 with s = 2?** When k is not a multiple of s (say k = 3, s = 2)
# the painted patches overlap unevenly: some output pixels receive two kernel
# taps and their neighbours one, which prints a checkerboard into the images
# (Odena, Dumoulin & Olah 2016, "Deconvolution and Checkerboard Artifacts").
# With k = 4, s = 2 every output pixel gets exactly two taps per direction.
# The pixel phases still use different taps, so a checkerboard can still be
# learned; in a GAN (lesson 16) that happens, and nearest upsampling + conv
# (`nn.UpsampleConv2d`) is the cure. Here the reconstruction loss compares
# every pixel with its target and punishes any such pattern directly, so the
# cheaper, learnable upsampling of the slide is fine.

# %%
def make_encoder(code_channels):
    """images (N, 1, 28, 28) -> codes (N, code_channels, 7, 7)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # 16 x 14 x 14
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 32 x 7 x 7
        nn.Conv2d(32, code_channels, 3, padding=1))                     # code x 7 x 7


def make_decoder(code_channels):
    """codes (N, code_channels, 7, 7) -> images (N, 1, 28, 28) in [0, 1]."""
    return nn.Sequential(
        nn.Conv2d(code_channels, 32, 3, padding=1), nn.ReLU(),          # 32 x 7 x 7
        nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),  # 16 x 14 x 14
        nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1), nn.Sigmoid())  # 1 x 28 x 28


encoder = make_encoder(args.code_channels).to(args.device)
decoder = make_decoder(args.code_channels).to(args.device)
params = sum(p.numel() for p in encoder.parameters()) + sum(p.numel() for p in decoder.parameters())
code_size = args.code_channels * 7 * 7

# %% [markdown]
# The shape after every layer, once, for one batch of 2 images: the
# hourglass of an autoencoder, in height, width and depth.

# %%
h = tg.tensor(x_test[:2], device=args.device)
print(f"{'output shape':>16} {'params':>6}  layer")
print(f"{str(tuple(h.shape)):>16} {'':>6}  input")
with tg.no_grad():
    for part, model in (("encoder", encoder), ("decoder", decoder)):
        for layer in model:
            h = layer(h)
            n = sum(p.numel() for p in layer.parameters())
            print(f"{str(tuple(h.shape)):>16} {n:>6}  {part}: {layer!r}")
print(f"code: {code_size} numbers for 784 pixels ({code_size / 784:.0%}); {params:,} parameters")

# %% [markdown]
# ## 3. Training
#
# The loss is the mean squared error between the image and its
# reconstruction, L(x, x̂) = mean (x - x̂)², with Adam. (Binary cross-entropy
# on [0, 1] pixels works as well; MSE keeps the loss and the reported test
# error the same number.)

# %%
opt = optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=args.lr)


def step(x):
    """One Adam step on the reconstruction MSE of a batch x (N, 1, 28, 28)."""
    loss = F.mse_loss(decoder(encoder(x)), x)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return {"loss": loss.item()}


run = RunDir(args.out)
history = fit(step, Batches(x_train, batch_size=args.batch_size, seed=args.seed), args.steps, run, name="train",
              models={"encoder": encoder, "decoder": decoder}, optimizers={"adam": opt}, resume=args.resume,
              device=args.device, print_every=1 if args.quick else 250, checkpoint_every=500)
train_seconds = history.seconds                # training seconds, over every --resume

# %% [markdown]
# ## 4. Results
#
# The test MSE over all test images; one test image of each class next to its
# reconstruction, and between them the code itself: its `code_channels`
# feature maps of 7x7 (each scaled to its own range, drawn 4x enlarged), a
# coarse map of where the garment is and what its parts look like.

# %%
encoder.eval()
decoder.eval()
test_mse = evaluate(lambda x: {"mse": F.mse_loss(decoder(encoder(x)), x)}, x_test, device=args.device)["mse"]
show = np.unique(y_test, return_index=True)[1][:10]      # the first test image of each class
codes, recon = map_batches(lambda x: (encoder(x), decoder(encoder(x))), x_test[show], device=args.device)
lo, hi = codes.min(axis=(0, 2, 3), keepdims=True), codes.max(axis=(0, 2, 3), keepdims=True)
maps = ((codes - lo) / (hi - lo + 1e-8)).repeat(4, axis=2).repeat(4, axis=3)  # each map to [0, 1], 7 -> 28 px
viz.save_image_rows([x_test[show]] + [maps[:, c:c + 1] for c in range(args.code_channels)] + [recon],
                    run.file("reconstructions.png"),
                    labels=["test", *(f"code map {c}" for c in range(args.code_channels)), "reconstruction"],
                    title=f"conv AE, a code of {code_size} numbers: test MSE {test_mse:.4f}")
viz.plot_losses(run.history("train"), run.file("losses.png"), title="conv AE: training MSE")
run.save_metrics({"test_mse": test_mse, "code_size": code_size, "code_fraction": code_size / 784,
                  "params": params, "steps": args.steps, "train_seconds": train_seconds})
print(f"test MSE {test_mse:.4f} with a {code_size}-number code, {params:,} parameters, "
      f"trained in {train_seconds:.0f} s; pictures in {run.path}")

# %% [markdown]
# # Lesson 02: a stacked autoencoder, tied weights, greedy layer-wise training
#
# A *stacked* (deep) autoencoder has several hidden layers: here
# 784 -> 256 -> 64 -> 256 -> 784. The course notes (slides 003, Hands-On ML
# ch. 17) name three things about it, and this lesson does each on real
# Fashion-MNIST:
# - **weight tying**: the decoder layer uses Wᵀ, the transpose of the
#   matching encoder layer's weight, *shared* rather than copied;
# - **greedy layer-wise training**, one shallow autoencoder at a time ("not
#   used very well these days"), compared with training the whole stack at once;
# - **reuse as a pre-trained model**: the encoder's 64-number codes feed a
#   small classifier trained with only 1,000 labels.
#
#     .venv/bin/python lessons/02_stacked_ae.py             # 2.5 min on a 2-core CPU
#     .venv/bin/python lessons/02_stacked_ae.py --quick     # a few steps, for the tests
#     .venv/bin/python lessons/02_stacked_ae.py --resume    # continue an interrupted run
#
# Outputs in `--out` (default `runs/02_stacked_ae`): `reconstructions.png`,
# `losses.png`, `metrics.json`, and per training stage (`layer1`, `layer2`,
# `finetune`, `tied`, `untied`, `head_*`) a log `<stage>.jsonl` and a
# resumable checkpoint `<stage>.npz`.

# %%
import os

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import viz
from tinygen.utils.data import Batches, load_train_test
from tinygen.utils.run import RunDir, int_list, lesson_parser, parse_args, positive_float, positive_int
from tinygen.utils.train import evaluate, fit, map_batches

parser = lesson_parser("Stacked autoencoder: tied weights, greedy layer-wise training (slides 003)",
                       steps=10000, batch_size=128, out=os.path.join("runs", "02_stacked_ae"),
                       datasets=("fashion-mnist", "mnist"))  # labelled, with a test split
parser.add_argument("--lr", type=positive_float, default=1e-3, help="Adam's learning rate for the autoencoders")
parser.add_argument("--labels-per-class", type=int_list(1), default=[10, 100],
                    help="comma-separated: labelled training images per class for the classifier heads")
parser.add_argument("--head-steps", type=positive_int, default=1000, help="training steps of each classifier head")
args = parse_args(parser, quick={"steps": 10, "batch_size": 32, "head_steps": 5, "labels_per_class": [2, 10]})
tg.manual_seed(args.seed)
run = RunDir(args.out)
HIDDEN, CODE = 256, 64

# %% [markdown]
# ## 1. The data
#
# Fashion-MNIST, pixels in [0, 1], each image flattened to 784 numbers.

# %%
x_train, y_train, x_test, y_test = load_train_test(args.dataset, args.data_dir, limit=300 if args.quick else None)
X, X_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
print(f"data: {args.dataset}, {len(X)} train and {len(X_test)} test images")

# %% [markdown]
# ## 2. Weight tying
#
# An encoder layer h = relu(W x + b) with W of shape (256, 784) has a mirror
# in the decoder that maps 256 numbers back to 784. Instead of a fresh
# (784, 256) matrix, a *tied* decoder uses Wᵀ (slides 003, "Weight Tying"):
#
#     x̂ = sigmoid(Wᵀ h + c)
#
# with its own bias c. It halves the weights (less to fit, less to overfit)
# and it is the classic RBM/autoencoder setting: W is trained by both uses,
# the gradients of the encoder and of the decoder simply add up in W.grad.
#
# "Shared" must mean *the same Parameter object*, not a copy made at start:
# a copy would drift away after the first update. So the tied layer holds the
# encoder's weight Parameter itself (`self.weight = linear.weight`) and only
# adds its own bias; `F.linear(h, W.T, c)` computes h W + c, i.e. Wᵀ h + c
# per row. As in PyTorch, `parameters()` lists a Parameter once even when two
# modules hold it, so Adam updates W once per step, with the gradients of
# both uses summed in W.grad, and the checkpoint saves it once.

# %%
class TiedLinear(nn.Module):
    """h (N, linear.out_features) -> (N, linear.in_features) = h W + c, W shared with ``linear``."""

    def __init__(self, linear):
        super().__init__()
        self.weight = linear.weight  # the encoder's Parameter itself: shared, not copied
        self.bias = nn.Parameter(np.zeros(linear.in_features, dtype=np.float32))

    def forward(self, h):
        return F.linear(h, self.weight.T, self.bias)

    def extra_repr(self):
        out_features, in_features = self.weight.shape
        return f"{out_features}, {in_features}, weight=Wᵀ of the encoder layer"


class StackedAE(nn.Module):
    """x (N, 784) -> code (N, 64) -> reconstruction (N, 784) in [0, 1]; 784-256-64-256-784."""

    def __init__(self, tied):
        super().__init__()
        enc1, enc2 = nn.Linear(784, HIDDEN), nn.Linear(HIDDEN, CODE)
        dec2 = TiedLinear(enc2) if tied else nn.Linear(CODE, HIDDEN)
        dec1 = TiedLinear(enc1) if tied else nn.Linear(HIDDEN, 784)
        self.encoder = nn.Sequential(enc1, nn.ReLU(), enc2)               # the code layer is linear
        self.decoder = nn.Sequential(dec2, nn.ReLU(), dec1, nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def n_params(model):
    return sum(p.numel() for p in model.parameters())


greedy, tied, untied = (StackedAE(t).to(args.device) for t in (True, True, False))
enc1, dec1 = greedy.encoder[0], greedy.decoder[2]
print(greedy)
print(f"shared, not copied: decoder's W is encoder's W: {dec1.weight is enc1.weight}; "
      f"parameters: tied {n_params(tied):,}, untied {n_params(untied):,}")
print(f"W is listed {sum(p is enc1.weight for p in greedy.parameters())} time(s) in greedy.parameters()")

# %% [markdown]
# ## 3. Greedy layer-wise pre-training
#
# Before good initialisations, ReLUs and Adam, deep autoencoders were hard
# to train from scratch, so they were trained one layer at a time (slides
# 003, "Greedy layer-wise training"). Hinton & Salakhutdinov (2006) did it
# with stacked RBMs, then unrolled them into a deep autoencoder; stacking
# autoencoders themselves, as here, is Bengio et al. (2007, "Greedy
# Layer-Wise Training of Deep Networks"):
# 1. a shallow tied AE x -> h1 -> x̂ (784-256-784) learns to reconstruct pixels;
# 2. its codes h1 = relu(W1 x + b1), computed once for the whole training set
#    without a graph (layer 1 is frozen now), become the data of a second
#    shallow tied AE h1 -> h2 -> ĥ1 (256-64-256), with loss MSE(ĥ1, h1);
# 3. the layers are stacked: x -> h1 -> h2 -> ĥ1 -> x̂ uses exactly the
#    four layers just trained, and a short end-to-end fine-tuning follows.
#
# The same `Linear` and `TiedLinear` objects serve the shallow AEs and the
# stack, so nothing is copied when stacking. The three stages share the step
# budget `--steps` (40% + 30% + 30%) that the end-to-end models get whole.

# %%
def ae_step(model, opt):
    """The training step of an autoencoder on MSE: x (N, D) -> {"loss"}."""
    def step(x):
        loss = F.mse_loss(model(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}
    return step


def train_ae(model, data, steps, name):
    """Adam on MSE for ``steps`` steps over the rows of ``data``; returns the stage's log."""
    opt = optim.Adam(model.parameters(), lr=args.lr)
    batches = Batches(data, batch_size=min(args.batch_size, len(data)), seed=args.seed)
    history = fit(ae_step(model, opt), batches, steps, run, name=name, models={"model": model},
                  optimizers={"adam": opt}, resume=args.resume, device=args.device,
                  print_every=5 if args.quick else 500)
    stage_seconds[name] = history.seconds      # training seconds, over every --resume
    return history


steps1, steps2 = int(0.4 * args.steps), int(0.3 * args.steps)
steps3 = args.steps - steps1 - steps2
enc2, dec2 = greedy.encoder[2], greedy.decoder[0]
layer1 = nn.Sequential(enc1, nn.ReLU(), dec1, nn.Sigmoid())          # 784-256-784
layer2 = nn.Sequential(enc2, dec2, nn.ReLU())                        # 256-64-256 (h1 >= 0)
stage_seconds = {}
hist = {"greedy: layer 1 alone": train_ae(layer1, X, steps1, "layer1")}
H1 = map_batches(lambda x: F.relu(enc1(x)), X, device=args.device)   # frozen layer-1 codes, (N, 256)
train_ae(layer2, H1, steps2, "layer2")


def test_mse(model):
    """Reconstruction MSE over the whole test set (eval mode, no graph)."""
    model.eval()
    return evaluate(lambda x: {"mse": F.mse_loss(model(x), x)}, X_test, device=args.device)["mse"]


mse_stacked_only = test_mse(greedy)
recon_stacked_only = map_batches(greedy, X_test[:10], device=args.device)
hist["greedy: stack, fine-tuned"] = [{**r, "step": r["step"] + steps1 + steps2}
                                     for r in train_ae(greedy, X, steps3, "finetune")]

# %% [markdown]
# ## 4. End-to-end training, tied and untied
#
# The same tied architecture, trained as a whole from its random start for
# the same total number of steps, and an untied copy (its own decoder
# weights, twice the parameters).

# %%
hist["end-to-end, tied"] = train_ae(tied, X, args.steps, "tied")
hist["end-to-end, untied"] = train_ae(untied, X, args.steps, "untied")
train_seconds = sum(stage_seconds.values())
results = {"greedy_no_finetune": mse_stacked_only}
for name, model in (("greedy", greedy), ("tied", tied), ("untied", untied)):
    results[name] = test_mse(model)
print(f"test MSE: greedy stack {mse_stacked_only:.5f} before and {results['greedy']:.5f} after fine-tuning; "
      f"end-to-end tied {results['tied']:.5f} ({n_params(tied):,} parameters), "
      f"untied {results['untied']:.5f} ({n_params(untied):,} parameters)")

# %% [markdown]
# Read the numbers printed above with these mechanisms in mind:
# - The greedy stack *before* fine-tuning is trained in pieces, each on its
#   own loss: layer 2 learns to reconstruct h1, not the pixels, so it spends
#   its 64 numbers on what matters most for h1, and its errors pass through
#   layer 1's decoder unchecked. It is the worst of the four, with visible
#   artefacts in `reconstructions.png`.
# - Fine-tuning trains the stack on the pixel loss and removes most of that
#   gap. Pre-training here acts as an initialisation: the fine-tuning starts
#   near a good solution, and the layer-wise steps were cheap (layer 2 runs
#   several times faster than the stack), so for the same number of steps
#   the greedy route can match or beat end-to-end training.
# - End-to-end training needs no staging at all: with ReLUs, a sensible
#   init and Adam, the deep stack trains directly, which is why the slides
#   call greedy training "not used very well these days" (it was essential
#   with sigmoid units and plain SGD: Hinton & Salakhutdinov 2006 with RBMs,
#   Bengio et al. 2007 with autoencoders).
# - Untying doubles the weights: more freedom to fit, no built-in
#   regularisation, twice the memory.

# %%
sample = X_test[:10]
rows = [sample, recon_stacked_only] + [map_batches(m, sample, device=args.device) for m in (greedy, tied, untied)]
viz.save_image_rows([r.reshape(-1, 1, 28, 28) for r in rows], run.file("reconstructions.png"),
                    labels=["test", "greedy stack", "greedy + fine-tune", "end-to-end tied", "untied"],
                    title="Stacked autoencoder 784-256-64-256-784: test reconstructions")
skip = 0 if args.quick else 200  # the first steps fall from 0.17 and would flatten the rest
viz.plot_losses({k: [r for r in h if r["step"] > skip] for k, h in hist.items()}, run.file("losses.png"),
                title=f"Training MSE on pixels, after step {skip} (layer 2 alone is trained on h1)")

# %% [markdown]
# ## 5. Reuse as a pre-trained encoder: few labels
#
# The point of pre-training (slides 003: "can be used for pre-trained
# model") is that an autoencoder needs no labels. Suppose only a few
# training images per class are labelled (`--labels-per-class`, 10 and 100:
# 100 and 1,000 labels). Freeze the encoder, compute the 64-number codes of
# those images, and train only a linear softmax head on them, Linear(64, 10)
# with cross-entropy. The baseline is the same head on the raw 784 pixels,
# with the same labels and steps. Both inputs are standardised with the
# labelled set's mean and standard deviation. We report test accuracy on the
# whole test set, whichever wins. This is a *linear probe*; lesson 12b probes
# a GAN's discriminator with the workbench's copy of `train_head`
# (`tinygen.utils.probe.linear_probe`), which a test holds equal to this one.

# %%
def train_head(name, features, labels, features_test):
    """A linear softmax head on fixed features (n, d) with labels (n,); returns its test accuracy."""
    mean, std = features.mean(0), features.std(0) + 1e-2
    f, f_test = (features - mean) / std, (features_test - mean) / std
    head = nn.Linear(f.shape[1], 10).to(args.device)
    opt = optim.Adam(head.parameters(), lr=1e-3)

    def step(x, y):
        loss = F.cross_entropy(head(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    fit(step, Batches(f, labels, batch_size=min(100, len(f)), seed=args.seed), args.head_steps,
        run, name="head_" + name, models={"head": head}, optimizers={"adam": opt}, resume=args.resume,
        device=args.device, print_every=5 if args.quick else 1000)
    return evaluate(lambda x, y: {"acc": float((head(x).numpy().argmax(1) == y.numpy()).mean())},
                    f_test, y_test, device=args.device)["acc"]


rng = np.random.default_rng(args.seed)
encoders = {"greedy": greedy.encoder, "tied": tied.encoder}                # frozen: codes computed without a graph
codes = {name: map_batches(e, X, device=args.device) for name, e in encoders.items()}
codes_test = {name: map_batches(e, X_test, device=args.device) for name, e in encoders.items()}
accuracy = {}
for n in args.labels_per_class:
    labelled = np.concatenate([rng.permutation(np.flatnonzero(y_train == c))[:n] for c in np.unique(y_train)])
    y = y_train[labelled]
    accuracy[f"pixels_{n}"] = train_head(f"pixels_{n}", X[labelled], y, X_test)
    for name in ("greedy", "tied"):
        accuracy[f"codes_{name}_{n}"] = train_head(f"{name}_{n}", codes[name][labelled], y, codes_test[name])
    print(f"test accuracy with {len(labelled)} labels ({n} per class): pixels {accuracy[f'pixels_{n}']:.1%}, "
          f"greedy codes {accuracy[f'codes_greedy_{n}']:.1%}, end-to-end tied codes {accuracy[f'codes_tied_{n}']:.1%}")

# %% [markdown]
# On Fashion-MNIST the frozen codes and the raw pixels come out close, within
# a couple of points either way (the README lists a run). Why no clear win?
# - The codes were trained to keep what *reconstructs* the pixels (overall
#   shape, brightness, coarse texture), not what *separates* the classes. A
#   64-number code that reconstructs to MSE 0.007 keeps most of the pixels'
#   information, so it has about as much linearly usable class information
#   as the pixels: no more, since a frozen encoder cannot create information,
#   and not much less.
# - Much of what separates Fashion-MNIST classes (trousers vs bags vs shoes)
#   is already linear in the pixels, so a linear head on pixels is a strong
#   baseline even with 100 labels.
# - The codes' head is smaller (650 weights instead of 7,850), which helps
#   against overfitting, but the pixel head is also helped: its inputs are
#   highly correlated, which acts like fewer effective dimensions.
#
# Pre-training pays off more with a non-linear head, when the encoder is
# fine-tuned along with the head, or on data where the classes are not
# linearly separable in pixel space; the slides' "pre-trained model" use
# usually means exactly that fine-tuning.

# %%
metrics = {"steps": args.steps, "seed": args.seed, "train_seconds": train_seconds,
           "params_tied": n_params(tied), "params_untied": n_params(untied),
           "test_mse_greedy_no_finetune": results["greedy_no_finetune"], "test_mse_greedy": results["greedy"],
           "test_mse_tied": results["tied"], "test_mse_untied": results["untied"],
           **{"acc_head_" + k: v for k, v in accuracy.items()}}
run.save_metrics(metrics)
print(f"done in {train_seconds:.0f} s of training; outputs in {run.path}")

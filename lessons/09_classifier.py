# %% [markdown]
# # Lesson 09: the evaluation yardstick
#
# How good is a GAN? Its losses do not say (lesson 16's critic loss is a
# distance estimate that depends on the critic), and looking at samples does
# not scale. The course slides ("Evaluation of GAN performance") measure
# samples with a *classifier*: an accurate network trained on the real data
# judges whether each sample is clearly some class (saliency) and whether
# all classes appear (diversity). The Inception Score and the Fréchet
# Inception Distance both use the Inception network trained on ImageNet. Its
# weights cannot be fetched here and it has never seen a 28x28 garment, so
# this lesson trains our own: a small CNN on Fashion-MNIST, and defines the
# two scores on it. Every GAN lesson then scores 10,000 samples in seconds
# with `tinygen.utils.metrics.evaluate_samples`.
#
#     .venv/bin/python lessons/09_classifier.py             # 10 min on a 2-core CPU (9 of them training)
#     .venv/bin/python lessons/09_classifier.py --install   # ... and ship the weights
#     .venv/bin/python lessons/09_classifier.py --quick     # a few steps, for the tests
#     .venv/bin/python lessons/09_classifier.py --resume    # continue an interrupted run
#
# Outputs in `--out` (default `runs/09_classifier`): `classifier.npz` (the
# weights), `metrics.json` (test accuracy, per-class accuracy, the
# calibration table, FID against N), `train.jsonl` and a resumable
# `train.npz`. With `--install` the weights are copied over the shipped file
# `tinygen/utils/weights/fashion_mnist_classifier.npz` (never with `--quick`).

# %%
import os
import shutil
import time

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import optim
from tinygen.utils import metrics
from tinygen.utils.data import FASHION_MNIST_CLASSES, Batches, load_train_test
from tinygen.utils.run import RunDir, lesson_parser, parse_args, positive_float, positive_int
from tinygen.utils.train import fit

parser = lesson_parser("A Fashion-MNIST classifier, and the Inception Score and FID built on it",
                       steps=1800, batch_size=128, out=os.path.join("runs", "09_classifier"),
                       datasets=("fashion-mnist", "mnist"))
parser.add_argument("--lr", type=positive_float, default=2e-3, help="Adam's learning rate, cosine-annealed to 0")
parser.add_argument("--install", action="store_true",
                    help="copy the trained weights over the shipped tinygen/utils/weights file")
parser.add_argument("--n", type=positive_int, default=10_000, help="samples per row of the calibration table")
args = parse_args(parser, quick={"steps": 5, "batch_size": 16})
if args.install and (args.quick or args.dataset != "fashion-mnist"):
    parser.error("--install: ships only a Fashion-MNIST classifier from a full run, got "
                 + ("--quick" if args.quick else f"--dataset {args.dataset}"))
tg.manual_seed(args.seed)

# %% [markdown]
# ## 1. The data
#
# Fashion-MNIST in [-1, 1] (background -1): the range of a tanh generator,
# so GAN samples go into the classifier exactly as they come out.

# %%
x_train, y_train, x_test, y_test = load_train_test(args.dataset, args.data_dir, value_range=(-1.0, 1.0),
                                                   limit=300 if args.quick else None)
print(f"data: {len(x_train)} training and {len(x_test)} test images of 1x28x28, pixels in [-1, 1]")

# %% [markdown]
# ## 2. The classifier
#
# Three blocks of 3x3 convolution, 2x2 max-pool, batch normalisation and ReLU
# (28 -> 14 -> 7 -> 4 pixels, 32, 64, 64 maps), then a 128-unit layer and the
# 10 logits, with dropout (p = 0.25) before each linear layer. The 128
# activations before the last layer are the *features* the Fréchet distance
# compares, as FID uses Inception's last pooling layer.
#
# Pooling comes before BatchNorm and ReLU. With a positive BN scale both are
# increasing maps of each channel, and max(f(a), f(b)) = f(max(a, b)) for an
# increasing f, so this is the usual conv-BN-ReLU-pool, with the BN and ReLU
# done on a quarter of the pixels.

# %%
model = metrics.FashionMNISTClassifier().to(args.device)
params = sum(p.numel() for p in model.parameters())
h = tg.tensor(x_test[:2], device=args.device)
print(f"{'output shape':>16} {'params':>7}  layer")
with tg.no_grad():
    model.eval()
    for layer in [*model.features[0], *model.features[1], *model.features[2], *model.features[3:], *model.head]:
        h = layer(h)
        print(f"{str(tuple(h.shape)):>16} {sum(p.numel() for p in layer.parameters()):>7}  {layer!r}")
print(f"{params:,} parameters")

# %% [markdown]
# ## 3. Training
#
# Softmax cross-entropy, L = -log softmax(f(x))_y, with Adam, the learning
# rate annealed along a cosine to 0 (Loshchilov & Hutter 2017). 1800 steps
# of 128 images are 3.8 passes over the 60,000 training images.

# %%
opt = optim.Adam(model.parameters(), lr=args.lr)
schedule = optim.CosineAnnealingLR(opt, T_max=args.steps)


def step(x, y):
    """One Adam step on the cross-entropy of a batch x (N, 1, 28, 28), y (N,)."""
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    schedule.step()
    return {"loss": loss.item(), "acc": float((logits.numpy().argmax(axis=1) == y.numpy()).mean())}


run = RunDir(args.out)
history = fit(step, Batches(x_train, y_train, batch_size=args.batch_size, seed=args.seed), args.steps, run,
              name="train", models={"classifier": model}, optimizers={"adam": opt}, state={"schedule": schedule},
              resume=args.resume, device=args.device, print_every=1 if args.quick else 100, checkpoint_every=300)
train_seconds = history.seconds                # training seconds, over every --resume
model.eval()
weights = metrics.save_classifier(model, run.file("classifier.npz"))

# %% [markdown]
# ## 4. Is it accurate?
#
# The scores below mean something only if the classifier is right about
# real images. On the 10,000 test images:

# %%
t0 = time.perf_counter()
p_test, f_test = metrics.probs_and_features(x_test, classifier=model, device=args.device)
score_seconds = time.perf_counter() - t0
pred = p_test.argmax(axis=1)
test_accuracy = float((pred == y_test).mean())
per_class = [float((pred[y_test == c] == c).mean()) if (y_test == c).any() else None for c in range(10)]
print(f"test accuracy {test_accuracy:.2%} ({len(x_test)} images scored in {score_seconds:.1f} s)")
for name, acc in zip(FASHION_MNIST_CLASSES, per_class):
    print(f"  {name:>12}: " + ("-" if acc is None else f"{acc:.1%}"))
def same_weights(a, b):
    """True when the .npz files a and b hold the same arrays (a zip's bytes differ by its timestamps)."""
    if not os.path.isfile(b):
        return False
    with np.load(a) as fa, np.load(b) as fb:
        return sorted(fa.files) == sorted(fb.files) and all(np.array_equal(fa[k], fb[k]) for k in fa.files)


if args.install:
    if same_weights(weights, metrics.WEIGHTS_PATH):
        print(f"{metrics.WEIGHTS_PATH} already holds these weights")
    else:
        shutil.copyfile(weights, metrics.WEIGHTS_PATH)
        print(f"installed {metrics.WEIGHTS_PATH} ({os.path.getsize(metrics.WEIGHTS_PATH) / 1e6:.2f} MB)")

# %% [markdown]
# ## 5. The Inception Score: saliency and diversity
#
# Let p(y|x) be the classifier's softmax for a sample x, and
# p(y) = E_x p(y|x) the class distribution of all the samples. The score
# (Salimans et al. 2016) is
#
#     IS = exp E_x [ KL(p(y|x) ‖ p(y)) ],    KL(p ‖ q) = Σ_y p(y) log(p(y) / q(y)).
#
# Split the KL: E_x KL = H(y) - E_x H(y|x). It is large when
#
# * each sample is classified confidently, so H(y|x) is small (**saliency**: the
#   sample clearly is *something*), and
# * the samples spread over all classes, so H(y) is large (**diversity**).
#
# E_x KL is the mutual information between the sample and its class, which
# lies between 0 and H(y) ≤ log 10, so IS lies in [1, 10]: 1 for a single
# class (or for no confident prediction at all), 10 for confident
# predictions spread evenly over the 10 classes. Real test images score
# about 8.3, not 10: the classifier hesitates between shirt, T-shirt,
# pullover and coat.
#
# Its blind spots. It never looks at real data: a generator that outputs one
# perfect image per class scores 10, so diversity *within* a class and
# memorised training images are invisible to it, and so is any image that
# fools the classifier into a confident answer. As in the paper, the samples
# are cut into 10 splits and the mean and standard deviation over the splits
# are reported.
#
# Here it is by hand, next to the library's `metrics.inception_score`:

# %%
def inception_score_by_hand(p):
    """exp of the mean KL(p(y|x) ‖ p(y)) over rows of p (N, 10), one split."""
    p_y = p.mean(axis=0)
    kl = (p * (np.log(p + 1e-300) - np.log(p_y + 1e-300))).sum(axis=1)
    return float(np.exp(kl.mean()))


h_y = -(p_test.mean(axis=0) * np.log(p_test.mean(axis=0) + 1e-300)).sum()
h_y_x = -(p_test * np.log(p_test + 1e-300)).sum(axis=1).mean()
print(f"test set: H(y) = {h_y:.3f} nats (log 10 = {np.log(10):.3f}), E H(y|x) = {h_y_x:.3f}; "
      f"IS = exp(H(y) - E H(y|x)) = {np.exp(h_y - h_y_x):.3f}")
print(f"by hand (1 split) {inception_score_by_hand(p_test):.3f}; "
      f"metrics.inception_score_from_probs(splits=1) {metrics.inception_score_from_probs(p_test, 1)[0]:.3f}")

# %% [markdown]
# ## 6. The Fréchet distance: compare with real data
#
# FID (Heusel et al. 2017) fits a Gaussian to the features of the samples,
# N(μ1, Σ1), and one to those of real images, N(μ2, Σ2), and measures the
# Fréchet (Wasserstein-2) distance between the two Gaussians, which has a
# closed form (Dowson & Landau 1982):
#
#     d² = ‖μ1 - μ2‖² + Tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^½).
#
# For 1-D Gaussians that is (μ1 - μ2)² + (σ1 - σ2)²: the means must match
# and so must the spreads. It compares with real data, so it sees what IS
# misses: images unlike the real ones, and too little diversity within a
# class (a too-small Σ1). The reference is the 10,000 test images.
#
# The matrix square root. Σ1 Σ2 is not symmetric, and a general sqrtm of it
# is slow and numerically fragile. But Σ1 Σ2 = Σ1^½ (Σ1^½ Σ2 Σ1^½) Σ1^-½ is
# similar to the symmetric positive semi-definite M = Σ1^½ Σ2 Σ1^½, so both
# have the same eigenvalues λ ≥ 0 and Tr((Σ1 Σ2)^½) = Σ √λ. Two symmetric
# eigendecompositions (`np.linalg.eigh`) compute it, in float64, with any
# slightly negative λ from rounding clipped to 0:

# %%
def frechet_by_hand(mu1, s1, mu2, s2):
    w, v = np.linalg.eigh(s1)
    s1_half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T             # Σ1^½
    lam = np.linalg.eigvalsh(s1_half @ s2 @ s1_half)                # eigenvalues of M
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(lam, 0, None)).sum())


mu_test, sigma_test = metrics.gaussian_statistics(f_test)
reference = (mu_test, sigma_test)
sub = np.random.default_rng(args.seed).choice(len(x_train), min(args.n, len(x_train)), replace=False)
f_train = metrics.probs_and_features(x_train[sub], classifier=model, device=args.device)[1]
mu_tr, sigma_tr = metrics.gaussian_statistics(f_train)
print(f"FID(training sample, test set): by hand {frechet_by_hand(mu_tr, sigma_tr, mu_test, sigma_test):.4f}, "
      f"metrics {metrics.frechet_distance_from_statistics(mu_tr, sigma_tr, mu_test, sigma_test):.4f}")

# %% [markdown]
# **Why N matters.** μ and Σ are estimated from N samples. The noise in the
# estimated Σ1 adds to Tr Σ1 - 2 Tr(Σ1 Σ2)^½ on average (the square root is
# concave), so the estimate is biased *upwards*, by roughly a constant / N
# (Bińkowski et al. 2018; Chong & Forsyth 2020). Two sets of real images
# score worse at small N than at large N, so a figure means nothing without
# its N. Every figure in this project uses N = 10,000. Subsets of the
# training sample, each against the full test set:

# %%
fid_vs_n = {}
for n in (500, 1000, 2000, 5000, 10_000):
    if n <= len(f_train):
        fid_vs_n[n] = metrics.frechet_distance_from_statistics(
            *metrics.gaussian_statistics(f_train[:n]), mu_test, sigma_test)
        print(f"  N = {n:>6}: FID(training images, test set) = {fid_vs_n[n]:.3f}")

# %% [markdown]
# ## 7. Calibration: what a number means
#
# Each row is N = 10,000 images (`--n`) scored against the 10,000 test
# images by the classifier just trained:
#
# * the training set: real images, not the reference ones: the floor a
#   perfect generator could reach;
# * the test set blurred by a Gaussian of σ = 1 pixel: shapes right, detail
#   gone (what a VAE's samples look like);
# * the training set plus Gaussian noise of σ = 0.1 and 0.3 (in the [-1, 1]
#   units, clipped): right images, wrong texture;
# * 5 of the 10 classes, and 1 class (T-shirt/top, sampled with replacement
#   since it has 6,000 training images): mode dropping and mode collapse;
# * uniform noise on [-1, 1]: no garment at all.

# %%
def gaussian_blur(images, sigma):
    """Separable Gaussian blur of (N, 1, H, W) images, radius 3σ, edges repeated."""
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    out = images.astype(np.float64)
    for axis in (2, 3):
        pad = [(0, 0)] * 4
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode="edge")
        size = out.shape[axis]
        out = sum(w * np.take(padded, np.arange(i, i + size), axis=axis) for i, w in enumerate(k))
    return out.astype(np.float32)


rng = np.random.default_rng(args.seed + 1)
n = min(args.n, len(x_train))
x_sub = x_train[sub]
five = np.flatnonzero(y_train < 5)
one = np.flatnonzero(y_train == 0)
noisy = lambda s: np.clip(x_sub + s * rng.standard_normal(x_sub.shape).astype(np.float32), -1, 1)  # noqa: E731
rows = {
    "training set": x_sub,
    "test set blurred (σ = 1 px)": gaussian_blur(x_test[:n], 1.0),
    "training set + noise σ = 0.1": noisy(0.1),
    "training set + noise σ = 0.3": noisy(0.3),
    "5 of 10 classes": x_train[rng.choice(five, n, replace=len(five) < n)],
    "1 class (T-shirt/top)": x_train[rng.choice(one, n, replace=True)] if len(one) else x_sub[:0],
    "uniform noise": rng.uniform(-1, 1, x_sub.shape).astype(np.float32),
}
calibration = {}
print(f"| samples (N = {n:,}, against the {len(x_test):,} test images) | FID | IS | classes ≥ 1 % |")
print("| --- | --- | --- | --- |")
for name, images in rows.items():
    if len(images) < 10:  # a --quick subset may have no image of a class
        continue
    r = metrics.evaluate_samples(images, reference=reference, classifier=model, device=args.device)
    r["classes_seen"] = int((np.array(r["class_histogram"]) >= 0.01).sum())
    calibration[name] = r
    print(f"| {name} | {r['fid']:.2f} | {r['inception_score']:.2f} ± {r['inception_score_std']:.2f} "
          f"| {r['classes_seen']} |")

# %% [markdown]
# Reading the table (the default run's numbers). The floor is about 0.1:
# two sets of real images. FID sees the texture: noise of σ = 0.1, barely
# visible, already costs 3.4, and a 1-pixel blur 22, while IS drops less
# (8.3 -> 7.8 and 5.7). Dropping modes is what IS is built for: half the
# classes give IS 4.5 and FID 43, one class IS 1.3 and FID 99, as bad as
# uniform noise (96, IS 1.1). So FID is no ceiling-bounded scale: a
# collapsed generator of perfect T-shirts scores as badly as noise. The
# class histogram says which: its near-zero entries are the dropped modes
# (the one-class row spreads over 4 classes only because the classifier
# calls some T-shirts shirts). These FIDs are in the units of this
# classifier's 128 features: they compare within the project, not with
# Inception FIDs in papers.

# %%
run.save_metrics({"test_accuracy": test_accuracy, "test_accuracy_per_class": per_class, "params": params,
                  "steps": args.steps, "train_seconds": train_seconds,
                  "score_seconds_per_10000": score_seconds * 10_000 / len(x_test),
                  "weights_bytes": os.path.getsize(weights), "installed": args.install,
                  "calibration_n": n, "calibration": calibration,
                  "fid_training_vs_test_by_n": {str(k): v for k, v in fid_vs_n.items()}})
print(f"test accuracy {test_accuracy:.2%}, {params:,} parameters, trained in {train_seconds:.0f} s; "
      f"weights {os.path.getsize(weights) / 1e6:.2f} MB in {weights}")

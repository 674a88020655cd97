# %% [markdown]
# # Lesson 01: an undercomplete linear autoencoder is PCA
#
# The first autoencoder of the chapter, and the simplest: one linear encoder
# layer, one linear decoder layer, mean squared error. The course notes
# (slides 003, Hands-On ML ch. 17, "Undercomplete autoencoder") say:
# *"If autoencoder use only linear activation and MSE as cost function, it is
# the same as PCA."* This lesson checks that claim on real Fashion-MNIST, for a
# 2-D code and a 32-D code, against PCA computed here by an SVD.
#
#     .venv/bin/python lessons/01_linear_ae_pca.py            # 1.5 min on a 2-core CPU
#     .venv/bin/python lessons/01_linear_ae_pca.py --quick    # a few steps, for the tests
#     .venv/bin/python lessons/01_linear_ae_pca.py --resume   # continue an interrupted run
#
# Outputs in `--out` (default `runs/01_linear_ae_pca`): `codes.png` (the 2-D
# codes of the AE and of PCA, coloured by class), `reconstructions.png`,
# `losses.png`, `metrics.json`, and per stage a log `ae_k*.jsonl` and a
# resumable checkpoint `ae_k*.npz`.

# %%
import os
import time

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils import viz
from tinygen.utils.data import FASHION_MNIST_CLASSES, Batches, load_train_test
from tinygen.utils.run import RunDir, bounded, lesson_parser, parse_args, positive_float
from tinygen.utils.train import evaluate, fit, map_batches

parser = lesson_parser("Linear autoencoder vs PCA on Fashion-MNIST (slides 003)", steps=30000,
                       batch_size=256, out=os.path.join("runs", "01_linear_ae_pca"),
                       datasets=("fashion-mnist", "mnist"))  # labelled, with a test split
parser.add_argument("--k", type=bounded(int, 3, 783), default=32,
                    help="the larger code size, smaller than the 784 pixels (k = 2 is always trained too)")
parser.add_argument("--lr", type=positive_float, default=3e-3, help="Adam's initial learning rate (cosine decay to 0)")
args = parse_args(parser, quick={"steps": 20, "batch_size": 32})
tg.manual_seed(args.seed)
run = RunDir(args.out)

# %% [markdown]
# ## 1. The data
#
# Fashion-MNIST, pixels in [0, 1], each 28x28 image flattened to a row of
# 784 numbers: the training matrix X is (60000, 784).

# %%
x_train, y_train, x_test, y_test = load_train_test(args.dataset, args.data_dir, limit=300 if args.quick else None)
X, X_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
if args.k >= min(X.shape):  # section 5 also looks at component k + 1
    raise SystemExit(f"--k: expected k < {min(X.shape)} (PCA of {X.shape[0]} training images has at most "
                     f"{min(X.shape)} components), got k = {args.k}")
print(f"data: {args.dataset}, X {X.shape} train, {X_test.shape} test")

# %% [markdown]
# ## 2. PCA by the SVD
#
# PCA looks for the k-dimensional subspace that keeps the most variance, or
# equivalently loses the least squared error when every image is projected
# onto it:
#
#     min_{V: 784 x k, VᵀV = I}  Σ_n || (x_n - μ) - V Vᵀ (x_n - μ) ||²
#
# The mean μ is subtracted first because PCA is about variance *around the
# mean*: without centring, the first direction would mostly point at the
# average garment, which is better stored once as μ than spent on a component.
# Write the centred training matrix as the SVD X - μ = U S Vᵀ (rows of Vᵀ
# orthonormal, singular values s_1 >= s_2 >= ...). The best V is the first k
# right singular vectors V_k, the covariance eigenvalues are λ_i = s_i² / N,
# and the reconstruction is x̂ = μ + V_k V_kᵀ (x - μ) (Eckart-Young theorem).

# %%
t0 = time.perf_counter()
mu = X.mean(axis=0)
_, s, Vt = np.linalg.svd(X - mu, full_matrices=False)   # (784,), (784, 784) for N >= 784
eigvals = s ** 2 / len(X)
pca_seconds = time.perf_counter() - t0
print(f"SVD of the centred {X.shape} matrix: {pca_seconds:.1f} s; "
      f"top-2 components keep {eigvals[:2].sum() / eigvals.sum():.1%} of the variance, "
      f"top-{args.k} keep {eigvals[:args.k].sum() / eigvals.sum():.1%}")


def pca_codes(x, k):
    """x (N, 784) -> the first k principal coordinates (N, k)."""
    return (x - mu) @ Vt[:k].T


def pca_reconstruct(x, k):
    """x (N, 784) -> its projection onto the top-k principal subspace, (N, 784)."""
    return pca_codes(x, k) @ Vt[:k] + mu


# %% [markdown]
# ## 3. The linear autoencoder
#
# Encoder z = W_e x + b_e (k numbers), decoder x̂ = W_d z + b_d, loss
# MSE = mean (x̂ - x)². Put together, x̂ = W_d W_e x + (W_d b_e + b_d): a
# rank-k linear map plus a constant. PCA's x̂ = V_k V_kᵀ x + (μ - V_k V_kᵀ μ)
# has exactly that form, so the AE *can* represent PCA's reconstruction, and
# its biases play the role of the mean: the AE never subtracts μ, it learns
# the offset instead. Since PCA is the best rank-k reconstruction, the AE's
# optimum reaches the same error, and every optimum is of that form (Baldi &
# Hornik 1989: the linear AE's MSE has no local minima other than the global
# one, only saddles).
#
# But the AE does not have to find PCA's *basis*. For any invertible k x k
# matrix A, the pair (A W_e, W_d A⁻¹) reconstructs exactly as (W_e, W_d) does.
# The loss only pins down the *subspace* span(W_d), not the axes in it, and
# nothing makes the AE's axes orthogonal or sorted by variance. So we compare
# subspaces (section 5), not vectors.

# %%
class LinearAE(nn.Module):
    """x (N, 784) -> code (N, k) -> reconstruction (N, 784), both maps linear."""

    def __init__(self, k):
        super().__init__()
        self.encoder = nn.Linear(784, k)
        self.decoder = nn.Linear(k, 784)

    def forward(self, x):
        return self.decoder(self.encoder(x))


# %% [markdown]
# ## 4. Training, and why plain gradient descent would be slow
#
# The loss is quadratic in W_d for a fixed encoder (and vice versa); its
# curvature along principal direction i is proportional to that direction's
# variance λ_i. Gradient descent must take steps small enough for the
# steepest direction (λ_1), and then moves along direction i at a rate
# proportional to λ_i / λ_1: on Fashion-MNIST, λ_1 / λ_32 is over 100, so the
# 32nd direction needs over 100 times more steps than the first (printed
# below). Adam divides each weight's step by a running RMS of its gradient,
# which partly evens out these rates. We start it at lr 3e-3 and decay it to
# 0 with a cosine, so the minibatch noise dies out at the end and the last
# steps settle into the minimum instead of bouncing around it. The trailing
# directions need many steps of that settling: in tuning runs, 30,000 steps
# at lr 3e-3 brought them much closer to PCA's than 8,000 steps at a larger
# learning rate or batch did, while the MSE gap was already under 0.1% in all.

# %%
print(f"λ_1 / λ_2 = {eigvals[0] / eigvals[1]:.1f}, λ_1 / λ_{args.k} = {eigvals[0] / eigvals[args.k - 1]:.0f}: "
      f"how much slower plain gradient descent moves along the last kept direction")
batches = Batches(X, batch_size=args.batch_size, seed=args.seed)
results, histories, train_seconds = {}, {}, 0.0
for k, steps in ((2, max(args.steps // 4, 1)), (args.k, args.steps)):
    model = LinearAE(k).to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    schedule = optim.CosineAnnealingLR(opt, T_max=steps)    # lr 3e-3 -> 0

    def step(x, model=model, opt=opt, schedule=schedule):
        loss = F.mse_loss(model(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        return {"loss": loss.item()}

    histories[f"k={k}"] = fit(step, batches, steps, run, name=f"ae_k{k}", models={"ae": model},
                              optimizers={"adam": opt}, state={"schedule": schedule}, resume=args.resume,
                              device=args.device,
                              print_every=5 if args.quick else 1000)
    train_seconds += histories[f"k={k}"].seconds
    model.eval()
    ae_mse = evaluate(lambda x, model=model: {"mse": F.mse_loss(model(x), x)}, X_test, device=args.device)["mse"]
    pca_mse = float(np.mean((pca_reconstruct(X_test, k) - X_test) ** 2))
    results[k] = {"model": model, "ae_mse": ae_mse, "pca_mse": pca_mse, "gap": 100 * (ae_mse / pca_mse - 1)}
    print(f"k = {k:2d}: test MSE  linear AE {ae_mse:.5f}   PCA {pca_mse:.5f}   gap {results[k]['gap']:+.4f}%")

# %% [markdown]
# ## 5. Same subspace? Principal angles
#
# The angles between two k-dimensional subspaces are defined recursively: the
# first is the smallest angle between any vector of one and any vector of the
# other, the next the smallest among vectors orthogonal to those, and so on
# (Björck & Golub 1973). To compute them, take orthonormal bases Q_1, Q_2 of the
# two subspaces (here by QR of W_d and of V_k); the singular values of
# Q_1ᵀ Q_2 are the cosines of the k principal angles. All angles 0 means the
# same subspace.
#
# Expect the leading directions to match to a fraction of a degree, and the
# worst angle to be larger: directions whose eigenvalues are nearly equal
# (on Fashion-MNIST λ_32 and λ_33 differ by under 1%, printed below) cost
# almost the same error whichever of the two the AE keeps, so the gradient
# that separates them is tiny, minibatch noise swamps it, and they converge
# last. The error itself barely notices. To see where the mismatch sits, we
# also measure how far the top-j principal directions, j < k, are from the
# AE's subspace: the j angles between span(V_j) and span(W_d) (the same
# recipe works for subspaces of different dimension).

# %%
def principal_angles(A, B):
    """Principal angles in degrees between span(A) (784, a) and span(B) (784, b); min(a, b) of them, ascending."""
    Q1, _ = np.linalg.qr(A)
    Q2, _ = np.linalg.qr(B)
    cosines = np.linalg.svd(Q1.T @ Q2, compute_uv=False)
    return np.sort(np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0))))


print(f"λ_{args.k} = {eigvals[args.k - 1]:.4f}, λ_{args.k + 1} = {eigvals[args.k]:.4f}: "
      f"{100 * (1 - eigvals[args.k] / eigvals[args.k - 1]):.1f}% apart")
V64 = Vt.T.astype(np.float64)
for k, r in results.items():
    W_d = r["model"].decoder.weight.numpy().astype(np.float64)          # (784, k): the decoder's basis
    r["angles"] = principal_angles(W_d, V64[:, :k])
    r["top_j"] = {j: principal_angles(W_d, V64[:, :j]).max() for j in sorted({k // 2, 3 * k // 4, k - 2, k - 1})
                  if 0 < j < k}
    print(f"k = {k:2d}: principal angles between span(W_d) and the top-{k} PCA subspace: "
          f"max {r['angles'].max():.2f}°, mean {r['angles'].mean():.2f}°, median {np.median(r['angles']):.2f}°")
    print("        largest angle from the top-j principal directions to span(W_d): " +
          ", ".join(f"j = {j}: {a:.2f}°" for j, a in r["top_j"].items()))

# %% [markdown]
# ## 6. The 2-D codes
#
# With k = 2 both methods give every test image a point in the plane. The
# AE's plane is PCA's plane up to an invertible linear map (plus a shift),
# so the two scatter plots should show the same clusters, stretched, rotated
# or mirrored. We check that too: the best affine map from AE codes to PCA
# codes (least squares) should leave almost nothing unexplained.

# %%
ae2 = results[2]["model"]
codes_ae = map_batches(ae2.encoder, X_test, device=args.device)
codes_pca = pca_codes(X_test, 2)
design = np.hstack([codes_ae, np.ones((len(codes_ae), 1), np.float32)])
fit_map, *_ = np.linalg.lstsq(design, codes_pca, rcond=None)
code_map_r2 = 1 - np.sum((design @ fit_map - codes_pca) ** 2) / np.sum((codes_pca - codes_pca.mean(0)) ** 2)
print(f"an affine map from AE codes to PCA codes explains {code_map_r2:.4f} of their variance")
viz.plot_codes({f"linear AE, k = 2 (test MSE {results[2]['ae_mse']:.4f})": codes_ae,
                f"PCA, k = 2 (test MSE {results[2]['pca_mse']:.4f})": codes_pca},
               y_test, run.file("codes.png"), class_names=FASHION_MNIST_CLASSES,
               title="Fashion-MNIST test set in two dimensions")

# %% [markdown]
# ## 7. Reconstructions
#
# Ten test images, then PCA and the AE at k = 2 and at k = 32. At k = 2
# both give the same blurry class prototype (a "top", a "shoe"); at k = 32
# shapes and coarse patterns come back, and the two rows are near identical.

# %%
sample = X_test[:10]
rows, labels = [sample], ["test"]
for k, r in results.items():
    recon_ae = map_batches(r["model"], sample, device=args.device)
    rows += [pca_reconstruct(sample, k), recon_ae]
    labels += [f"PCA k={k}", f"AE k={k}"]
viz.save_image_rows([np.clip(r, 0, 1).reshape(-1, 1, 28, 28) for r in rows], run.file("reconstructions.png"),
                    labels=labels, title="Linear autoencoder vs PCA: test reconstructions")
viz.plot_losses(histories, run.file("losses.png"), title="Linear autoencoder, training MSE")

# %%
metrics = {"steps": args.steps, "seed": args.seed, "train_seconds": train_seconds, "pca_seconds": pca_seconds,
           "code_map_r2_k2": float(code_map_r2)}
for k, r in results.items():
    metrics.update({f"ae_test_mse_k{k}": r["ae_mse"], f"pca_test_mse_k{k}": r["pca_mse"],
                    f"gap_percent_k{k}": r["gap"], f"angle_max_deg_k{k}": float(r["angles"].max()),
                    f"angle_mean_deg_k{k}": float(r["angles"].mean())})
    metrics.update({f"angle_max_deg_k{k}_top{j}": float(a) for j, a in r["top_j"].items()})
run.save_metrics(metrics)
print(f"done in {train_seconds:.0f} s of training; outputs in {run.path}")

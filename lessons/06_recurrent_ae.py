# %% [markdown]
# # Lesson 06: a recurrent autoencoder, each image read as a sequence of rows
#
# An image need not be read all at once. Here a 28x28 garment is a sequence
# of 28 time steps of 28 pixels each, one row per step. A recurrent encoder
# reads the rows one by one and keeps a running summary, its hidden state. At
# the end, that state becomes the code. A recurrent decoder then writes the
# image back, one row per step (slide 003, Hands-On ML ch. 17, "Recurrent
# autoencoder": "Regard each row as a sequence; encoder is a
# sequence-to-vector RNN and decoder is a vector-to-sequence RNN").
#
#     .venv/bin/python lessons/06_recurrent_ae.py               # 3 min on a 2-core CPU
#     .venv/bin/python lessons/06_recurrent_ae.py --cell lstm   # the same with LSTM cells
#     .venv/bin/python lessons/06_recurrent_ae.py --quick       # a few steps, for the tests
#     .venv/bin/python lessons/06_recurrent_ae.py --resume      # continue an interrupted run
#
# Outputs in `--out` (default `runs/06_recurrent_ae`): `reconstructions.png`
# (test images and their reconstructions), `reading.png` (what the encoder
# knows after reading 7, 14, 21 and 28 rows), `losses.png`, `metrics.json`,
# and the training log `train.jsonl` with its resumable checkpoint `train.npz`.

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

parser = lesson_parser("Recurrent autoencoder on Fashion-MNIST rows (Hands-On ML ch. 17)", steps=1800,
                       batch_size=128, out=os.path.join("runs", "06_recurrent_ae"),
                       datasets=("fashion-mnist", "mnist"))  # labelled, with a test split
parser.add_argument("--cell", default="gru", choices=["gru", "lstm"], help="recurrent cell of both RNNs")
parser.add_argument("--hidden", type=positive_int, default=128, help="hidden state size of both RNNs")
parser.add_argument("--code", type=positive_int, default=32, help="code (bottleneck) size")
parser.add_argument("--lr", type=positive_float, default=2e-3)
args = parse_args(parser, quick={"steps": 4, "batch_size": 16, "hidden": 16})
tg.manual_seed(args.seed)

# %% [markdown]
# ## 1. The data: an image is a sequence of rows
#
# Real Fashion-MNIST with pixels in [0, 1]. A batch (N, 1, 28, 28) becomes
# (N, T=28, 28): at time step t the network sees row t, a vector of 28 pixels.

# %%
x_train, y_train, x_test, y_test = load_train_test(args.dataset, args.data_dir, limit=300 if args.quick else None)
T, ROW = x_train.shape[2], x_train.shape[3]     # 28 steps of 28 pixels
batches = Batches(x_train, batch_size=args.batch_size, seed=args.seed)
print(f"data: {args.dataset}, {len(x_train)} train / {len(x_test)} test images = sequences of {T} rows of {ROW}")

# %% [markdown]
# ## 2. The cells
#
# A recurrent cell maps (input x_t, state h_{t-1}) to the new state h_t with
# the same weights at every step. A plain RNN, h_t = tanh(W x_t + U h_{t-1} + b),
# forgets fast and its gradients vanish over many steps. Gated cells learn
# when to keep and when to overwrite the state. tinygen's cells follow
# PyTorch's equations and weight layouts (`tinygen/nn/recurrent.py`).
#
# **GRU** (Cho et al. 2014), the default (`--cell gru`):
#
#     r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)              reset gate
#     z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)              update gate
#     n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))   candidate state
#     h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
#
# When z_t ≈ 1 the state is carried over unchanged: that shortcut through
# time is what lets the gradient from the last row reach the first.
#
# **LSTM** (Hochreiter & Schmidhuber 1997; `--cell lstm`) keeps a separate
# memory cell c_t next to its output h_t:
#
#     i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)      input gate
#     f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)      forget gate
#     g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)   what to write
#     o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)      output gate
#     c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,    h_t = o_t ⊙ tanh(c_t)
#
# Each equation is a pair of matmuls and a gate, so tinygen differentiates
# the unrolled loop like any other graph (backpropagation through time).

# %%
def make_cell(input_size, hidden_size):
    return nn.GRUCell(input_size, hidden_size) if args.cell == "gru" else nn.LSTMCell(input_size, hidden_size)


def output_of(state):
    """The cell's output h (N, hidden): the GRU state itself, or h of the LSTM's (h, c)."""
    return state[0] if args.cell == "lstm" else state


# %% [markdown]
# ## 3. The model: sequence-to-vector, then vector-to-sequence
#
# **Encoder** (sequence to vector): the cell reads rows x_1 ... x_28. The last
# state h_28 summarises the whole image, and a linear map turns it into the
# code c = W_c h_28 + b_c.
#
# **Decoder** (vector to sequence): a second cell gets the code as its input
# at *every* step. This is Keras' `RepeatVector(28)` in Hands-On ML. Each
# state s_t becomes row t of the image:
#
#     s_t = cell(c, s_{t-1}),   x̂_t = σ(W_o s_t + b_o)  ∈ [0, 1]^28.
#
# The rows come out in order. Row t depends on rows < t only through the
# decoder's state, so the decoder has to remember where it is on the garment.
# The loss is the binary cross-entropy between x̂ and the grey levels x. It
# uses the logits W_o s_t + b_o for stability, and it is Hands-On ML's loss.
# We report the test MSE next to it.

# %%
class RecurrentAE(nn.Module):
    """Rows in, rows out: (N, 1, 28, 28) -> logits (N, 1, 28, 28), through a (N, code) vector."""

    def __init__(self, row, hidden, code):
        super().__init__()
        self.encoder_cell, self.to_code = make_cell(row, hidden), nn.Linear(hidden, code)
        self.decoder_cell, self.to_row = make_cell(code, hidden), nn.Linear(hidden, row)

    def encode(self, x, rows=None):
        """x (N, 1, T, row) -> code (N, code) from the state after the first ``rows`` rows (all by default)."""
        seq = x.reshape(x.shape[0], x.shape[2], x.shape[3])
        state = None
        for t in range(rows or seq.shape[1]):
            state = self.encoder_cell(seq[:, t, :], state)
        return self.to_code(output_of(state))

    def decode_logits(self, code, steps):
        """code (N, code) -> logits (N, 1, steps, row): the code is the input at every step."""
        state, outputs = None, []
        for _ in range(steps):
            state = self.decoder_cell(code, state)
            outputs.append(output_of(state))
        logits = self.to_row(tg.stack(outputs, dim=1))       # one Linear over all steps: (N, T, row)
        return logits.reshape(code.shape[0], 1, steps, logits.shape[2])

    def forward(self, x):
        return self.decode_logits(self.encode(x), x.shape[2])


model = RecurrentAE(ROW, args.hidden, args.code).to(args.device)
n_params = sum(p.numel() for p in model.parameters())
print(f"{args.cell.upper()} autoencoder: hidden {args.hidden}, code {args.code}, {n_params:,} parameters")

# %% [markdown]
# ## 4. Training
#
# Adam with lr 2e-3 and batch 128. Every step unrolls 2 x 28 cell steps of
# small matmuls, so a step costs far more Python than arithmetic. The
# default, 1800 steps (about 4 epochs), takes about 3 minutes on two cores.

# %%
opt = optim.Adam(model.parameters(), lr=args.lr)
run = RunDir(args.out)


def step(x):
    logits = model(x)
    loss = F.binary_cross_entropy_with_logits(logits, x)      # mean over pixels
    opt.zero_grad()
    loss.backward()
    opt.step()
    return {"loss": loss.item()}              # BCE per pixel


history = fit(step, batches, args.steps, run, name="train", models={"model": model}, optimizers={"opt": opt},
              resume=args.resume, device=args.device, print_every=5 if args.quick else 100,
              checkpoint_every=300)
train_seconds = history.seconds                # training seconds, over every --resume

# %% [markdown]
# ## 5. Results
#
# `reconstructions.png`: test images and what came back through the code of
# 32 numbers. `reading.png` looks inside the encoder. It decodes the state
# after only the first 7, 14, 21 or 28 rows. The code map and the decoder were
# trained on full sequences only, so the partial decodings are a probe, not a
# promise. Still, they show the summary growing. After the top 7 rows the
# decoder guesses a generic top, trouser or blob of a shoe. By row 14 it
# knows the kind of garment, and by row 21 most of its shape.

# %%
model.eval()


def test_losses(x):
    probs = F.sigmoid(model(x))
    return {"mse": F.mse_loss(probs, x), "bce": F.binary_cross_entropy(probs, x)}


test = evaluate(test_losses, x_test, device=args.device)
mean_image_mse = float(np.mean((x_test - x_train.mean(axis=0)) ** 2))  # what a code-free model gets
shown = x_test[:10]
recon = map_batches(lambda x: F.sigmoid(model(x)), shown, device=args.device)
viz.save_image_rows([shown, recon], run.file("reconstructions.png"), labels=["test", "reconstruction"],
                    title=f"{args.cell.upper()} autoencoder, code {args.code}: test MSE {test['mse']:.4f}")
partial = [T // 4, T // 2, 3 * T // 4, T]
reads = [map_batches(lambda x, k=k: F.sigmoid(model.decode_logits(model.encode(x, rows=k), T)), shown,
                     device=args.device) for k in partial]
viz.save_image_rows([shown] + reads, run.file("reading.png"),
                    labels=["test"] + [f"after {k} rows" for k in partial],
                    title="decoding the encoder's state after the first k rows")
viz.plot_losses(run.history("train"), run.file("losses.png"), title=f"recurrent ({args.cell}) autoencoder")

metrics = {"cell": args.cell, "hidden": args.hidden, "code_size": args.code, "params": n_params,
           "steps": args.steps, "batch_size": args.batch_size, "train_seconds": train_seconds,
           "test_mse": test["mse"], "test_bce": test["bce"], "mean_image_mse": mean_image_mse,
           "final_train_bce": history[-1]["loss"]}
run.save_metrics(metrics)
print(f"done in {train_seconds:.0f} s: test MSE {test['mse']:.4f} (the mean image: {mean_image_mse:.4f}), "
      f"test BCE {test['bce']:.4f}; pictures in {run.path}")

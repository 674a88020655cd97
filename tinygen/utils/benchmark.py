"""Benchmark: one WGAN-GP critic step and one generator step, batch 64, float32.

The model is the one of issue 2, section 8 (a DCGAN-style generator with
transposed convs and a two-conv critic on 28x28 images). Prints median
milliseconds per step and per-layer forward/backward times. If PyTorch
happens to be importable, the same model runs in PyTorch in this process,
interleaved, and the ratio is printed; PyTorch is never required.

    python3 -m tinygen.benchmark [--repeats 20] [--device cpu|cuda]
"""
import argparse
import os
import time

import numpy as np

import tinygen as tg
from tinygen import nn

LAMBDA = 10.0


def build_models(nn):
    """The issue-2 benchmark generator and critic, built from ``nn``: ``tinygen.nn``
    or ``torch.nn``, which share these names and weight layouts."""
    G = nn.Sequential(
        nn.Linear(100, 256 * 7 * 7), nn.BatchNorm1d(256 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (256, 7, 7)),
        nn.ConvTranspose2d(256, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 1, 4, 2, 1), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return G, D


def tinygen_steps(G, D, optG, optD, real, device):
    """Closures running one WGAN-GP critic step (penalty included) and one generator step."""
    xp = np if device == "cpu" else __import__("cupy")
    N = real.shape[0]

    def sync():
        if device == "cuda":
            xp.cuda.Device().synchronize()

    def critic_step():
        z = tg.randn(N, 100, device=device)
        with tg.no_grad():
            fake = G(z)
        alpha = tg.rand(N, 1, 1, 1, device=device)
        x_hat = (alpha * real + (1 - alpha) * fake).detach().requires_grad_()
        d_hat = D(x_hat)
        g, = tg.grad(d_hat.sum(), x_hat, create_graph=True)
        gp = ((g.reshape(N, -1) ** 2).sum(axis=1) ** 0.5 - 1) ** 2
        loss = D(fake).mean() - D(real).mean() + LAMBDA * gp.mean()
        optD.zero_grad()
        loss.backward()
        optD.step()
        sync()

    def generator_step():
        z = tg.randn(N, 100, device=device)
        loss = -D(G(z)).mean()
        optG.zero_grad()
        loss.backward()
        optG.step()
        sync()

    return critic_step, generator_step


def layer_times(model, x, repeats, device):
    """Median forward and backward ms of each layer, with a random cotangent."""
    rows = []
    for i, layer in enumerate(model):
        xin = tg.tensor(x.data, requires_grad=True)
        fw, bw = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            y = layer(xin)
            t1 = time.perf_counter()
            gy = tg.Tensor(np.random.default_rng(0).standard_normal(y.shape).astype(np.float32)) \
                if device == "cpu" else tg.randn(*y.shape, device=device)
            t2 = time.perf_counter()
            y.backward(gy)
            t3 = time.perf_counter()
            fw.append(t1 - t)
            bw.append(t3 - t2)
            xin.grad = None
        rows.append((f"{i}:{type(layer).__name__}", np.median(fw) * 1e3, np.median(bw) * 1e3))
        x = y.detach()
    return rows


def build_torch():
    """The same model and steps in PyTorch (only if it happens to be importable)."""
    import torch
    from torch import nn as tnn
    torch.set_num_threads(os.cpu_count())
    G, D = build_models(tnn)
    optG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
    optD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
    real = torch.rand(64, 1, 28, 28) * 2 - 1

    def critic_step():
        z = torch.randn(64, 100)
        with torch.no_grad():
            fake = G(z)
        alpha = torch.rand(64, 1, 1, 1)
        x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_()
        g, = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        gp = ((g.reshape(64, -1).norm(dim=1) - 1) ** 2).mean()
        loss = D(fake).mean() - D(real).mean() + LAMBDA * gp
        optD.zero_grad()
        loss.backward()
        optD.step()

    def generator_step():
        loss = -D(G(torch.randn(64, 100))).mean()
        optG.zero_grad()
        loss.backward()
        optG.step()

    return critic_step, generator_step


def timeit(fn, repeats):
    """Median milliseconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()  # warm up (allocations, kernel compilation)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return np.median(times) * 1e3


def main():
    """Print the step and per-layer timings."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds of tinygen and PyTorch")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    args = ap.parse_args()
    tg.manual_seed(0)
    G, D = build_models(nn)
    G.to(args.device), D.to(args.device)
    optG = tg.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
    optD = tg.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
    real = tg.rand(64, 1, 28, 28, device=args.device) * 2 - 1
    critic, gen = tinygen_steps(G, D, optG, optD, real, args.device)
    t_critic = None
    if not args.no_torch:
        try:
            t_critic, t_gen = build_torch()
        except Exception:  # not installed, or a broken install (e.g. missing CUDA libraries)
            pass
    results = {"critic": [], "generator": [], "torch_critic": [], "torch_generator": []}
    rounds = args.rounds  # interleave tinygen and PyTorch so both see the same machine state
    for _ in range(rounds):
        results["critic"].append(timeit(critic, args.repeats // rounds or 1))
        results["generator"].append(timeit(gen, args.repeats // rounds or 1))
        if t_critic is not None:
            results["torch_critic"].append(timeit(t_critic, args.repeats // rounds or 1))
            results["torch_generator"].append(timeit(t_gen, args.repeats // rounds or 1))
    med = {k: float(np.median(v)) for k, v in results.items() if v}
    print(f"device {args.device}, batch 64, float32, median of {args.repeats} steps")
    print(f"tinygen  WGAN-GP critic step (penalty included): {med['critic']:7.1f} ms")
    print(f"tinygen  generator step:                         {med['generator']:7.1f} ms")
    if t_critic is not None:
        print(f"PyTorch  critic step: {med['torch_critic']:7.1f} ms  -> tinygen/PyTorch "
              f"{med['critic'] / med['torch_critic']:.2f}x")
        print(f"PyTorch  generator step: {med['torch_generator']:7.1f} ms  -> tinygen/PyTorch "
              f"{med['generator'] / med['torch_generator']:.2f}x")
    else:
        print("PyTorch not importable: no comparison (it is never required)")
    print("\nper layer (median ms)        forward   backward")
    z = tg.randn(64, 100, device=args.device)
    for name, model, x in (("G", G, z), ("D", D, real)):
        for lname, f, b in layer_times(model, x, max(1, args.repeats // 4), args.device):
            print(f"  {name} {lname:24s} {f:8.2f} {b:9.2f}")


if __name__ == "__main__":
    main()

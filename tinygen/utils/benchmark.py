"""Benchmark: one WGAN-GP critic step and one generator step, batch 64, float32.

The model is a DCGAN-style generator with two stride-2 transposed convs and a
two-conv critic on 28x28 images (``build_models``). The critic step includes
the gradient penalty, so it double-backprops through the critic.

Method (an honest comparison):
- Each engine runs in **a process of its own**. Two engines interleaved in one
  process slow each other (measured: PyTorch's critic step about 2x slower),
  which flatters a ratio.
- Processes alternate, tinygen, PyTorch, tinygen, PyTorch, ... (``--processes``
  each), so slow drifts of the machine hit both engines alike.
- Each process warms up, then times ``--repeats`` steps of each kind; the
  figure is the median over processes of each process's median.
- Each process reports which OpenBLAS kernel NumPy runs, since environment
  variables such as OPENBLAS_CORETYPE can force a slower one.

    python3 -m tinygen.utils.benchmark [--repeats 20] [--processes 3]
        [--torch-python /path/to/python-with-torch] [--no-torch] [--device cpu|cuda]

PyTorch is never required: if ``--torch-python`` (default: this interpreter)
cannot import torch, tinygen is reported alone. The PyTorch child runs this
file as a script and never imports tinygen, so that interpreter needs only
torch and NumPy.
"""
import argparse
import ctypes
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np

LAMBDA = 10.0
BATCH = 64
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def build_models(nn):
    """The benchmark generator and critic, built from ``nn``: ``tinygen.nn``
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


def layer_flops(layer, x_shape, y_shape):
    """Multiply-add FLOPs (2 per MAC) of a layer's forward, from its shapes; 0 for
    elementwise layers. A backward with both gradients costs twice this."""
    name = type(layer).__name__
    if name == "Linear":
        return 2 * x_shape[0] * layer.in_features * layer.out_features
    if name == "Conv2d":
        c_out, c_in, kh, kw = layer.weight.shape
        return 2 * y_shape[0] * y_shape[2] * y_shape[3] * c_out * c_in * kh * kw
    if name == "ConvTranspose2d":  # the adjoint of a conv from y to x: same MACs
        c_in, c_out, kh, kw = layer.weight.shape
        return 2 * x_shape[0] * x_shape[2] * x_shape[3] * c_out * c_in * kh * kw
    return 0


# ---------------------------------------------------------------- BLAS report
def openblas_info():
    """The OpenBLAS core (kernel family) NumPy's BLAS runs, e.g. 'Haswell' or
    'SkylakeX', or a note saying why it is unknown. Uses threadpoolctl when it is
    importable, else asks the library NumPy bundles (``*_get_corename*``)."""
    try:
        import threadpoolctl
        for lib in threadpoolctl.threadpool_info():
            if lib.get("internal_api") == "openblas":
                return f"{lib.get('architecture')} ({lib.get('num_threads')} threads, threadpoolctl)"
    except ImportError:
        pass
    here = os.path.dirname(np.__file__)
    paths = glob.glob(os.path.join(here + ".libs", "*openblas*")) + glob.glob(os.path.join(here, ".dylibs", "*openblas*"))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename64_",
                    "openblas_get_corename"):
            f = getattr(lib, sym, None)
            if f is not None:
                f.restype = ctypes.c_char_p
                return f().decode()
    return "unknown (no bundled OpenBLAS found)"


def blas_env():
    """The OpenBLAS and OpenMP settings (``BLAS_VARS``: core type, L2 size, threads) set in this
    process's environment, as a dict name -> value (str)."""
    return {k: os.environ[k] for k in BLAS_VARS if k in os.environ}


# ---------------------------------------------------------------- engines
def _tinygen_engine(device):
    """(critic_step, generator_step, G, D, z, real, helpers) for tinygen."""
    import tinygen as tg
    from tinygen import nn
    tg.manual_seed(0)
    G, D = build_models(nn)
    G.to(device), D.to(device)
    optG = tg.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
    optD = tg.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
    real = tg.rand(BATCH, 1, 28, 28, device=device) * 2 - 1
    xp = np if device == "cpu" else __import__("cupy")

    def sync():
        if device == "cuda":
            xp.cuda.Device().synchronize()

    def critic_step():
        z = tg.randn(BATCH, 100, device=device)
        with tg.no_grad():
            fake = G(z)
        alpha = tg.rand(BATCH, 1, 1, 1, device=device)
        x_hat = (alpha * real + (1 - alpha) * fake).detach().requires_grad_()
        g, = tg.grad(D(x_hat).sum(), x_hat, create_graph=True)
        gp = ((g.reshape(BATCH, -1) ** 2).sum(dim=1) ** 0.5 - 1) ** 2
        loss = D(fake).mean() - D(real).mean() + LAMBDA * gp.mean()
        optD.zero_grad()
        loss.backward()
        optD.step()
        sync()

    def generator_step():
        loss = -D(G(tg.randn(BATCH, 100, device=device))).mean()
        optG.zero_grad()
        loss.backward()
        optG.step()
        sync()

    def leaf(a):  # a fresh leaf that requires grad, from a tensor's data
        return tg.tensor(a.data, requires_grad=True)

    def cotangent(shape):
        return tg.randn(*shape, device=device)

    def clear(x):
        x.grad = None

    return critic_step, generator_step, G, D, tg.randn(BATCH, 100, device=device), real, (leaf, cotangent, sync, clear)


def _torch_engine(device):
    """The same model and steps in PyTorch."""
    import torch
    from torch import nn as tnn
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    dev = torch.device(device)
    G, D = build_models(tnn)
    G.to(dev), D.to(dev)
    optG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
    optD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
    real = torch.rand(BATCH, 1, 28, 28, device=dev) * 2 - 1

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def critic_step():
        z = torch.randn(BATCH, 100, device=dev)
        with torch.no_grad():
            fake = G(z)
        alpha = torch.rand(BATCH, 1, 1, 1, device=dev)
        x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_()
        g, = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        gp = ((g.reshape(BATCH, -1).norm(dim=1) - 1) ** 2).mean()
        loss = D(fake).mean() - D(real).mean() + LAMBDA * gp
        optD.zero_grad()
        loss.backward()
        optD.step()
        sync()

    def generator_step():
        loss = -D(G(torch.randn(BATCH, 100, device=dev))).mean()
        optG.zero_grad()
        loss.backward()
        optG.step()
        sync()

    def leaf(a):
        return a.detach().clone().requires_grad_()

    def cotangent(shape):
        return torch.randn(*shape, device=dev)

    def clear(x):
        x.grad = None

    return critic_step, generator_step, G, D, torch.randn(BATCH, 100, device=dev), real, (leaf, cotangent, sync, clear)


def timeit(fn, repeats, warmup=2):
    """Median milliseconds of ``fn()`` over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def layer_times(model, x, repeats, helpers):
    """Per layer: (name, forward ms, backward ms, forward FLOPs), medians, with a
    random cotangent; the backward computes the input's and the weights' gradients."""
    leaf, cotangent, sync, clear = helpers
    rows = []
    for i, layer in enumerate(model):
        xin = leaf(x)
        fw, bw = [], []
        for r in range(repeats + 1):  # the first round warms up
            t = time.perf_counter()
            y = layer(xin)
            sync()
            t1 = time.perf_counter()
            gy = cotangent(tuple(y.shape))
            sync()
            t2 = time.perf_counter()
            y.backward(gy)
            sync()
            t3 = time.perf_counter()
            if r:
                fw.append(t1 - t)
                bw.append(t3 - t2)
            clear(xin)
            for p in layer.parameters():
                p.grad = None
        rows.append((f"{i}:{type(layer).__name__}", float(np.median(fw) * 1e3), float(np.median(bw) * 1e3),
                     layer_flops(layer, tuple(x.shape), tuple(y.shape))))
        x = y.detach()
    return rows


def child(engine, repeats, layer_repeats, device):
    """Run in a process of its own: time one engine and print one JSON line."""
    make = _tinygen_engine if engine == "tinygen" else _torch_engine
    critic, gen, G, D, z, real, helpers = make(device)
    out = {"engine": engine, "critic_ms": timeit(critic, repeats), "generator_ms": timeit(gen, repeats),
           "blas_core": openblas_info(), "blas_env": blas_env()}
    if engine == "torch":
        import torch
        out["version"] = torch.__version__
        out["threads"] = torch.get_num_threads()
    else:
        out["version"] = np.__version__
    if layer_repeats:
        out["layers"] = [("G",) + r for r in layer_times(G, z, layer_repeats, helpers)] + \
                        [("D",) + r for r in layer_times(D, real, layer_repeats, helpers)]
    print("BENCHMARK-RESULT " + json.dumps(out))


# ---------------------------------------------------------------- parent
def _run_child(python, engine, args, env):
    argv = [os.path.abspath(__file__), "--child", engine, "--repeats", str(args.repeats),
            "--layer-repeats", str(args.layer_repeats), "--device", args.device]
    # Run this file as a script, without putting its folder (tinygen/utils, whose
    # module names such as data.py could shadow others) on sys.path.
    cmd = [python, "-c", f"import runpy, sys; sys.argv = {argv!r}; runpy.run_path(sys.argv[0], run_name='__main__')"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in r.stdout.splitlines():
        if line.startswith("BENCHMARK-RESULT "):
            return json.loads(line[len("BENCHMARK-RESULT "):])
    raise RuntimeError(f"the {engine} benchmark process failed (exit {r.returncode}):\n{r.stderr[-3000:]}")


def _torch_available(python):
    try:
        r = subprocess.run([python, "-c", "import torch"], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def _print_layers(results, torch_results):
    """The per-layer table: medians over processes, with tinygen's GFLOP/s."""
    def med_layers(res):
        rows = [r["layers"] for r in res if "layers" in r]
        if not rows:
            return None
        out = []
        for i, row in enumerate(rows[0]):
            fw = float(np.median([rr[i][2] for rr in rows]))
            bw = float(np.median([rr[i][3] for rr in rows]))
            out.append((row[0], row[1], fw, bw, row[4]))
        return out

    tg_rows, th_rows = med_layers(results), med_layers(torch_results) if torch_results else None
    if tg_rows is None:
        return
    print("\nper layer, median ms (GFLOP/s: forward FLOPs / time; backward = 2x forward FLOPs / time)")
    head = f"  {'':2}{'layer':22s} {'fwd ms':>8} {'GFLOP/s':>8} {'bwd ms':>8} {'GFLOP/s':>8}"
    if th_rows:
        head += f" | {'torch fwd':>9} {'torch bwd':>9}"
    print(head)
    for i, (model, name, fw, bw, flops) in enumerate(tg_rows):
        gf = f"{flops / fw / 1e6:8.0f}" if flops else f"{'':8}"
        gb = f"{2 * flops / bw / 1e6:8.0f}" if flops else f"{'':8}"
        line = f"  {model} {name:22s} {fw:8.2f} {gf} {bw:8.2f} {gb}"
        if th_rows:
            line += f" | {th_rows[i][2]:9.2f} {th_rows[i][3]:9.2f}"
        print(line)
    for model in "GD":
        tf = sum(r[2] for r in tg_rows if r[0] == model)
        tb = sum(r[3] for r in tg_rows if r[0] == model)
        line = f"  {model} {'sum':22s} {tf:8.2f} {'':8} {tb:8.2f} {'':8}"
        if th_rows:
            line += (f" | {sum(r[2] for r in th_rows if r[0] == model):9.2f}"
                     f" {sum(r[3] for r in th_rows if r[0] == model):9.2f}")
        print(line)


def main(argv=None):
    """Run the benchmark from the command line (``python3 -m tinygen.utils.benchmark --help``);
    ``argv`` None reads ``sys.argv``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=20, help="timed steps of each kind per process")
    ap.add_argument("--processes", type=int, default=3, help="processes per engine (alternating)")
    ap.add_argument("--layer-repeats", type=int, default=5, help="timed rounds per layer (0: no per-layer table)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--torch-python", default=sys.executable,
                    help="the Python interpreter that has torch (default: this one)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    ap.add_argument("--child", choices=["tinygen", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.processes < 1 or args.layer_repeats < 0:
        ap.error("--repeats and --processes must be >= 1, --layer-repeats >= 0")
    if args.child:
        return child(args.child, args.repeats, args.layer_repeats, args.device)

    use_torch = not args.no_torch and _torch_available(args.torch_python)
    if not args.no_torch and not use_torch:
        print(f"PyTorch is not importable by {args.torch_python}: tinygen alone "
              "(pass --torch-python PATH for a comparison; torch is never required)")
    # The tinygen child runs this file by path; it must find the tinygen package.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    results, torch_results = [], []
    for p in range(args.processes):
        results.append(_run_child(sys.executable, "tinygen", args, env))
        print(f"  process {2 * p + 1}: tinygen critic {results[-1]['critic_ms']:6.1f} ms, "
              f"generator {results[-1]['generator_ms']:6.1f} ms", flush=True)
        if use_torch:
            torch_results.append(_run_child(args.torch_python, "torch", args, env))
            print(f"  process {2 * p + 2}: PyTorch critic {torch_results[-1]['critic_ms']:6.1f} ms, "
                  f"generator {torch_results[-1]['generator_ms']:6.1f} ms", flush=True)

    env_s = ", ".join(f"{k}={v}" for k, v in results[0]["blas_env"].items()) or "none set"
    print(f"\ndevice {args.device}, batch {BATCH}, float32; each engine in its own process, alternating, "
          f"{args.processes} process(es) each, {args.repeats} timed steps per process; "
          "median of the per-process medians")
    print(f"NumPy {results[0]['version']}, OpenBLAS kernel: {results[0]['blas_core']}; BLAS variables: {env_s}")
    if use_torch:
        print(f"PyTorch {torch_results[0]['version']}, {torch_results[0]['threads']} threads")
    med = lambda res, k: float(np.median([r[k] for r in res]))  # noqa: E731
    for label, key in (("WGAN-GP critic step (penalty included)", "critic_ms"), ("generator step", "generator_ms")):
        line = f"tinygen  {label + ':':40s} {med(results, key):7.1f} ms"
        if use_torch:
            t = med(torch_results, key)
            line += f"   PyTorch {t:7.1f} ms   tinygen/PyTorch {med(results, key) / t:.2f}x"
        print(line)
    _print_layers(results, torch_results)


if __name__ == "__main__":
    main()

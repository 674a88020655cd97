"""Shared test fixtures: the backend parametrisation and float64 random inputs.

Every gradient test takes the ``device`` fixture, so it runs on NumPy and,
where CuPy sees a GPU, on CuPy; without one the CuPy cases skip cleanly.
"""
import ast
import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import tinygen as tg
from tinygen.backend import cuda_available

BACKENDS = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not cuda_available(), reason="needs CuPy and a CUDA GPU"))]


@pytest.fixture(params=BACKENDS)
def device(request):
    """"cpu", and "cuda" where a GPU is present."""
    return request.param


def rand64(*shape, device="cpu", seed=0, low=None, high=None, away_from=None, requires_grad=True):
    """A float64 tensor of random values for gradient checks.

    Normal by default; uniform on [low, high) if given. ``away_from`` (a float)
    pushes values at least 0.1 away from that point (kinks such as ReLU at 0).
    """
    rng = np.random.default_rng(seed)
    if low is not None:
        data = rng.uniform(low, high, shape)
    else:
        data = rng.standard_normal(shape)
    if away_from is not None:
        d = data - away_from
        data = away_from + np.where(d >= 0, 1, -1) * (np.abs(d) + 0.1)
    return tg.tensor(data, dtype="float64", device=device, requires_grad=requires_grad)


# ------------------------------------------------ lessons: fake datasets and a subprocess runner
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(arr):
    """Encode ``arr`` in the IDX format (big-endian), independently of read_idx."""
    arr = np.asarray(arr)
    code = IDX_CODES[arr.dtype.type]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path, arr, compress=False):
    """Write ``arr`` as an IDX file (gzipped if ``compress``); returns ``path``."""
    raw = idx_bytes(arr)
    Path(path).write_bytes(gzip.compress(raw) if compress else raw)
    return path


@pytest.fixture(scope="module")
def data_env(tmp_path_factory):
    """$TINYGEN_DATA with fake Fashion-MNIST and MNIST (300 train / 50 test images)."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for name in ("fashion-mnist", "mnist"):
        d = root / name
        d.mkdir()
        for split, n in (("train", 300), ("t10k", 50)):
            images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
            write_idx(d / f"{split}-images-idx3-ubyte.gz", images, compress=True)
            write_idx(d / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8), compress=True)
    env = dict(os.environ, TINYGEN_DATA=str(root), TINYGEN_CACHE=str(root / "cache"),
               PYTHONUNBUFFERED="1")
    return env


def run(args, env, cwd):
    return subprocess.run([sys.executable] + args, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def assert_flag_error(lesson, flags, message, env, tmp_path):
    """A lesson run with bad ``flags`` ends in one argparse line naming ``message``: status 2, no traceback."""
    r = run([lesson, "--quick", *flags, "--out", str(tmp_path / "o")], env, tmp_path)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr[-1000:]


def lesson_definitions(path, *names):
    """The functions and classes ``names`` of a lesson script, without running it.

    Only the lesson's imports and the named top-level ``def``/``class``
    statements are executed, so no flags are parsed, no data is loaded and
    nothing trains; the test gets the very code the lesson runs. A name the
    definitions use but do not import (a global the lesson sets later) is
    unavailable, so keep tested definitions free of such globals.

    Raises:
        LookupError: a name is not defined at the top level of the lesson.
    """
    tree = ast.parse(Path(path).read_text(), filename=str(path))
    keep = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
            or (isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names)]
    found = {node.name for node in keep if not isinstance(node, (ast.Import, ast.ImportFrom))}
    if set(names) - found:
        raise LookupError(f"names: {sorted(set(names) - found)} not defined at the top level of {path}")
    namespace = {"__name__": "lesson_definitions"}
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(path), "exec"), namespace)
    return SimpleNamespace(**{n: namespace[n] for n in names})


# ------------------------------------------------ lessons run cell by cell, and a stub optimizer
CELL_RUNNER = r"""
import re, sys
lesson, out, check = sys.argv[1], sys.argv[2], sys.argv[3]
sys.argv = ["ipykernel_launcher.py", "--quick", "--out", out]
namespace = {"__name__": "__main__"}
for i, cell in enumerate(re.split(r"^# %%.*$", open(lesson).read(), flags=re.M)):
    if cell.strip():
        exec(compile(cell, f"<cell {i}>", "exec"), namespace)
exec(compile(check, "<check>", "exec"), namespace)
"""
"""A program for ``python -c``: runs a lesson's cells in ``--quick`` mode in one namespace, as a
notebook would, then the code ``check`` in that namespace (argv: lesson, out folder, check)."""


class RecordingOptimizer:
    """Stands in for Adam: ``step`` records the gradients and changes nothing."""

    def __init__(self, params):
        self.params, self.seen = list(params), []

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.seen.append([None if p.grad is None else p.grad.numpy().copy() for p in self.params])

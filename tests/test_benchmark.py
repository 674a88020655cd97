"""The benchmark runs and reports its figures (no timing is asserted: speed
goals belong in the benchmark, not in tests)."""
import os
import subprocess
import sys

from tinygen.utils.benchmark import openblas_info

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_benchmark_runs():
    """One process, one step, tinygen alone: the separate-process machinery,
    the BLAS report and the per-layer table with GFLOP/s."""
    r = subprocess.run([sys.executable, "-m", "tinygen.utils.benchmark", "--repeats", "1", "--processes", "1",
                        "--layer-repeats", "1", "--no-torch"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "WGAN-GP critic step (penalty included)" in r.stdout and "generator step" in r.stdout
    assert "its own process" in r.stdout and "OpenBLAS kernel:" in r.stdout
    assert "ConvTranspose2d" in r.stdout and "GFLOP/s" in r.stdout  # the per-layer table


def test_missing_torch_is_reported_not_required(tmp_path):
    """A --torch-python that cannot import torch: tinygen is reported alone."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    r = subprocess.run([sys.executable, "-m", "tinygen.utils.benchmark", "--repeats", "1", "--processes", "1",
                        "--layer-repeats", "0", "--torch-python", str(fake)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "PyTorch is not importable" in r.stdout and "tinygen/PyTorch" not in r.stdout


def test_openblas_info_names_a_kernel():
    assert isinstance(openblas_info(), str) and openblas_info()

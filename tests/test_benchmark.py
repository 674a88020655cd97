"""The benchmark runs and reports its figures (no timing is asserted: speed
goals belong in the benchmark, not in tests)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_benchmark_runs():
    r = subprocess.run([sys.executable, "-m", "tinygen.utils.benchmark", "--repeats", "1", "--rounds", "1",
                        "--no-torch"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "WGAN-GP critic step (penalty included)" in r.stdout and "generator step" in r.stdout
    assert "ConvTranspose2d" in r.stdout  # the per-layer table

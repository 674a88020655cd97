"""A lesson opened as a notebook: its ``# %%`` cells run one after another in
one namespace, with no ``__file__`` and a Jupyter kernel's argv, and tinygen
imported as an installed package (no ``sys.path`` games in the lesson)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Run by a fresh interpreter started with -c, so that not even __main__ has a __file__.
RUNNER = r"""
import re, sys
lesson, out = sys.argv[1], sys.argv[2]
sys.argv = ["ipykernel_launcher.py", "-f", "/tmp/kernel-1234.json", "--quick", "--out", out]
cells = re.split(r"^# %%.*$", open(lesson).read(), flags=re.M)
namespace = {"__name__": "__main__"}
ran = 0
for cell in cells:
    if cell.strip():
        exec(compile(cell, f"<cell {ran}>", "exec"), namespace)
        ran += 1
assert "__file__" not in namespace
print(f"ran {ran} cells")
"""


@pytest.mark.parametrize("lesson", ["16_wgan_gp.py", "07_vae.py"])
def test_lesson_runs_cell_by_cell_without_file(lesson, data_env, tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", RUNNER, os.path.join(ROOT, "lessons", lesson), str(out)],
                       env=data_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    cells = int(r.stdout.strip().splitlines()[-1].split()[1])
    assert cells >= 8, r.stdout[-500:]
    assert (out / "metrics.json").exists()

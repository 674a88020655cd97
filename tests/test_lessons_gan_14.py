"""Lesson 14 (the conditional GAN): the 10x10 class grid at start, middle and
end, class accuracy in the metrics, labelled sample export, resume, and that
the generator's rows really depend on the label they were asked for."""
import json
import os

import imageio.v3 as iio
import numpy as np

from conftest import run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "lessons", "14_conditional_gan.py")


def rows_of(grid, n=10, size=28, pad=2):
    """The 10 rows of a 10x10 grid image as (10, 10, 28, 28) grey arrays."""
    g = grid[..., 0] if grid.ndim == 3 else grid
    cells = [[g[pad + r * (size + pad):pad + r * (size + pad) + size, pad + c * (size + pad):pad + c * (size + pad) + size]
              for c in range(n)] for r in range(n)]
    return np.array(cells, dtype=np.float64)


def test_conditional_gan_grids_accuracy_export_and_resume(data_env, tmp_path):
    out = tmp_path / "run"
    r = run([LESSON, "--quick", "--steps", "8", "--export-samples", "25", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for name in ("grid_start.png", "grid_middle.png", "grid_end.png", "training.gif", "losses.png",
                 "samples.png", "metrics.json", "train.npz"):
        assert (out / name).stat().st_size > 0, name
    grid = iio.imread(out / "grid_end.png")
    scale = grid.shape[0] // (10 * 30 + 2)  # save_grid may enlarge small grids by a whole factor
    assert scale >= 1 and grid.shape[:2] == ((10 * 30 + 2) * scale,) * 2
    grid = grid[::scale, ::scale]
    rows = rows_of(grid)
    # Every row uses the same 10 z's, so rows differ only through the label.
    assert min(np.abs(rows[i] - rows[j]).mean() for i in range(10) for j in range(i)) > 0.5
    assert not np.array_equal(iio.imread(out / "grid_start.png")[::scale, ::scale], grid)  # training changed G
    m = json.load(open(out / "metrics.json"))
    assert 0 <= m["class_accuracy"] <= 1 and len(m["class_accuracy_per_class"]) == 10
    assert m["fid"] >= 0 and 1 <= m["inception_score"] <= 10
    samples, labels = np.load(out / "samples.npy"), np.load(out / "labels.npy")
    assert samples.shape == (25, 1, 28, 28) and labels.shape == (25,)
    assert set(labels.tolist()) == set(range(10))

    r = run([LESSON, "--quick", "--steps", "10", "--resume", "--out", str(out)], data_env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resumed at step 8" in r.stdout
    assert [json.loads(line)["step"] for line in open(out / "train.jsonl")] == list(range(1, 11))

"""What a lesson teaches and defines in its own cells, and the workbench also holds, is held equal.

* Lesson 12's ``make_generator`` and ``make_discriminator`` against
  ``tinygen.utils.gan_models.dcgan_generator`` and ``dcgan_critic`` (which
  lessons 12b, 13, 15 and 17-19 build): the same parameters after the same seed,
  the same outputs and the same gradients on a fixed input, and lesson 12's
  trained pair loaded into the shared copies gives the same outputs.
* Lesson 02's linear probe ``train_head`` against
  ``tinygen.utils.probe.linear_probe`` (which lesson 12b imports): the same
  loss at every step and the same test accuracy on the same inputs.

Each lesson runs cell by cell in ``--quick`` mode, as in
tests/test_notebook.py, in a fresh interpreter; a check then runs in the
lesson's namespace and writes what it computed with both copies to an
``.npz``, which the test compares.
"""
import json
import os
import subprocess
import sys

import numpy as np
from conftest import CELL_RUNNER

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RUNNER = CELL_RUNNER  # tests/conftest.py

CHECK_DCGAN = r"""
import numpy as np
import tinygen as tg
from tinygen.utils.gan import dcgan_init
from tinygen.utils.gan_models import dcgan_critic, dcgan_generator

found = {}
x_fixed = {"G": np.random.default_rng(1).standard_normal((6, 100)).astype(np.float32),
           "D": np.random.default_rng(2).uniform(-1, 1, (6, 1, 28, 28)).astype(np.float32)}
weights = {"G": np.random.default_rng(3).standard_normal((6, 1, 28, 28)).astype(np.float32),
           "D": np.random.default_rng(4).standard_normal((6, 1)).astype(np.float32)}
copies = {"G": {"lesson": lambda: make_generator(100, 16), "shared": lambda: dcgan_generator(100, 16)},
          "D": {"lesson": lambda: make_discriminator(8), "shared": lambda: dcgan_critic(8)}}
for net, makers in copies.items():
    for copy, make in makers.items():
        tg.manual_seed(5)
        m = make().apply(dcgan_init)
        key = f"{net}/{copy}"
        found.update({f"{key}/param/{k}": v.numpy() for k, v in m.named_parameters()})
        x = tg.tensor(x_fixed[net], requires_grad=True)
        y = m(x)                                          # training mode: BatchNorm on the batch
        (y * tg.tensor(weights[net])).sum().backward()
        found[f"{key}/out"], found[f"{key}/grad/input"] = y.numpy(), x.grad.numpy()
        found.update({f"{key}/grad/{k}": v.grad.numpy() for k, v in m.named_parameters()})
        found.update({f"{key}/buffer/{k}": v.numpy() for k, v in m.named_buffers()})   # running stats
        m.eval()
        found[f"{key}/eval_out"] = m(tg.tensor(x_fixed[net])).numpy()
# lesson 12's trained pair, loaded into the shared copies as lesson 12b loads it
G_shared, D_shared = dcgan_generator(args.z_dim, args.g_width), dcgan_critic(args.d_width)
G_shared.load_state_dict(G.state_dict())
D_shared.load_state_dict(D.state_dict())
z, x = tg.randn(8, args.z_dim), tg.tensor(x_fixed["D"])
for name, m in (("G/lesson", G), ("G/shared", G_shared), ("D/lesson", D), ("D/shared", D_shared)):
    m.eval()
    found[f"{name}/trained_out"] = m(z if name[0] == "G" else x).numpy()
np.savez(args.out + "/copies.npz", **found)
"""

CHECK_PROBE = r"""
import json
import numpy as np
import tinygen as tg
from tinygen.utils.probe import linear_probe

labelled = np.random.default_rng(5).permutation(len(X))[:60]
inputs = {"codes": (codes["tied"][labelled], codes_test["tied"]), "pixels": (X[labelled], X_test)}
found = {}
for kind, (feats, feats_test) in inputs.items():
    before = feats.copy()
    tg.manual_seed(7)
    found[f"{kind}/lesson"] = train_head(f"copy_{kind}_lesson", feats, y_train[labelled], feats_test)
    for overwrite in (False, True):
        tg.manual_seed(7)
        f = feats.copy() if overwrite else feats
        found[f"{kind}/shared_{overwrite}"] = linear_probe(
            f, y_train[labelled], feats_test, y_test, run, f"head_copy_{kind}_shared_{overwrite}", args.head_steps,
            seed=args.seed, device=args.device, print_every=5)
    found[f"{kind}/input_kept"] = bool(np.array_equal(feats, before))
json.dump(found, open(args.out + "/probe.json", "w"))
"""


def _run_cells(lesson, check, env, tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", RUNNER, os.path.join(ROOT, "lessons", lesson), str(out), check],
                       env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return out


def test_lesson_12s_networks_equal_the_shared_dcgan_pair(data_env, tmp_path):
    with np.load(_run_cells("12_dcgan.py", CHECK_DCGAN, data_env, tmp_path) / "copies.npz") as f:
        found = {k: f[k] for k in f.files}
    for net in ("G", "D"):
        lesson = {k[len(f"{net}/lesson/"):]: v for k, v in found.items() if k.startswith(f"{net}/lesson/")}
        shared = {k[len(f"{net}/shared/"):]: v for k, v in found.items() if k.startswith(f"{net}/shared/")}
        assert sorted(lesson) == sorted(shared), net          # the same parameter and buffer names
        assert any(k.startswith("grad/") for k in lesson) and "out" in lesson and "trained_out" in lesson
        for k in lesson:
            assert lesson[k].shape == shared[k].shape and np.array_equal(lesson[k], shared[k]), f"{net}: {k}"
    assert found["G/lesson/out"].shape == (6, 1, 28, 28) and found["D/lesson/out"].shape == (6, 1)


def test_lesson_02s_probe_equals_the_shared_linear_probe(data_env, tmp_path):
    out = _run_cells("02_stacked_ae.py", CHECK_PROBE, data_env, tmp_path)
    found = json.load(open(out / "probe.json"))
    for kind in ("codes", "pixels"):
        assert found[f"{kind}/lesson"] == found[f"{kind}/shared_False"] == found[f"{kind}/shared_True"], kind
        assert found[f"{kind}/input_kept"], kind               # overwrite=False leaves the features alone
        logs = [[json.loads(line)["loss"] for line in open(out / f"{name}.jsonl")]
                for name in (f"head_copy_{kind}_lesson", f"head_copy_{kind}_shared_False",
                             f"head_copy_{kind}_shared_True")]
        assert len(logs[0]) == 5 and logs[0] == logs[1] == logs[2], kind   # --quick: 5 steps, the same losses

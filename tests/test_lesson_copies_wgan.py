"""The WGAN lessons' own copies of weight clipping and the gradient penalty equal the shared ones.

* Lesson 13 defines ``clip_weights`` (Arjovsky et al. 2017, Algorithm 1,
  line 7) in its own cell; lessons 16 and 19 import
  ``tinygen.utils.gan.clip_weights``. On the same critics (lesson 13's
  trained one and a LayerNorm one), with every parameter, biases included,
  pushed past ±c, both leave every parameter bit for bit the same.
* Lesson 16 defines ``gradient_penalty`` (Gulrajani et al. 2017, Algorithm
  1, lines 4-8) in its own cell; lessons 13 and 19 import
  ``tinygen.utils.gan.gradient_penalty``. On lesson 16's trained critic,
  with the same seeded ε, both give the same value and the same gradient
  with respect to every critic parameter.

Each lesson runs cell by cell in ``--quick`` mode, as tests/test_notebook.py
runs them, in a fresh interpreter; a check then runs in the lesson's
namespace and writes what both copies computed to an ``.npz``, which the
test compares.
"""
import os
import subprocess
import sys

import numpy as np
from conftest import CELL_RUNNER

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RUNNER = CELL_RUNNER  # tests/conftest.py

CHECK_CLIP = r"""
import numpy as np
import tinygen as tg
from tinygen.utils import gan
from tinygen.utils.gan_models import dcgan_critic

found, c = {}, args.clip
critics = {"trained": lambda: dcgan_critic(args.width, norm="none"), "layernorm": lambda: dcgan_critic(4, norm="layer")}
for name, make in critics.items():
    rng = np.random.default_rng(3)
    start = {k: (rng.standard_normal(p.shape) * 5 * c).astype(np.float32) for k, p in make().named_parameters()}
    for copy, clip in (("lesson", clip_weights), ("shared", gan.clip_weights)):
        tg.manual_seed(5)                             # the same critic for both copies
        critic = make()
        if name == "trained":
            critic.load_state_dict(D.state_dict())    # lesson 13's critic after its clipping run
        for k, p in critic.named_parameters():      # then moved: every entry beyond ±c, on its side
            w = p.numpy() + start[k]
            p.data = tg.tensor(w + np.sign(w) * c).data
        found.update({f"{name}/before_{copy}/{k}": p.numpy().copy() for k, p in critic.named_parameters()})
        clip(critic.parameters(), c)
        found.update({f"{name}/{copy}/{k}": p.numpy() for k, p in critic.named_parameters()})
np.savez(args.out + "/clip_copies.npz", c=np.float32(c), **found)
"""

CHECK_PENALTY = r"""
import numpy as np
import tinygen as tg
from tinygen.utils import gan

real = tg.tensor(images[:8], device=args.device)
with tg.no_grad():
    fake = G(tg.randn(8, args.z_dim, device=args.device))
found = {}
for copy, penalty in (("lesson", gradient_penalty), ("shared", gan.gradient_penalty)):
    for seed in (11, 12):
        D.zero_grad()
        tg.manual_seed(seed)                      # the same ε for both copies
        gp = penalty(D, real, fake)
        if gp.requires_grad:                      # a penalty whose graph stops at the gradient has none here
            gp.backward()
        found[f"{copy}/{seed}/value"] = gp.numpy()
        # a parameter the input gradient does not depend on (the last bias) gets no gradient: None is kept as such
        found.update({f"{copy}/{seed}/grad/{k}": p.grad.numpy() if p.grad is not None else np.array("none")
                      for k, p in D.named_parameters()})
np.savez(args.out + "/penalty_copies.npz", **found)
"""


def _run_cells(lesson, check, name, env, tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", RUNNER, os.path.join(ROOT, "lessons", lesson), str(out), check],
                       env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    with np.load(out / name) as f:
        return {k: f[k] for k in f.files}


def _copies(found, prefix):
    return {k[len(prefix):]: v for k, v in found.items() if k.startswith(prefix)}


def test_lesson_13s_clipping_equals_the_shared_clip_weights(data_env, tmp_path):
    found = _run_cells("13_wgan_clip.py", CHECK_CLIP, "clip_copies.npz", data_env, tmp_path)
    c = found.pop("c")
    for critic in ("trained", "layernorm"):
        before, other, lesson, shared = (_copies(found, f"{critic}/{copy}/")
                                         for copy in ("before_lesson", "before_shared", "lesson", "shared"))
        assert sorted(lesson) == sorted(shared) == sorted(before) and any(k.endswith("bias") for k in lesson)
        assert all(np.array_equal(before[k], other[k]) for k in before)   # both copies got the same critic
        if critic == "layernorm":
            assert any(k.endswith("weight") and before[k].ndim == 3 for k in before)   # LayerNorm's scale
        for k in lesson:
            # every entry of every parameter lay beyond ±c: a copy that skipped any (a bias, a norm's scale) differs
            assert np.abs(before[k]).min() > c, f"{critic}: {k}"
            np.testing.assert_array_equal(lesson[k], shared[k], err_msg=f"{critic}: {k}")
            np.testing.assert_array_equal(lesson[k], np.clip(before[k], -c, c), err_msg=f"{critic}: {k}")


def test_lesson_16s_penalty_equals_the_shared_gradient_penalty(data_env, tmp_path):
    found = _run_cells("16_wgan_gp.py", CHECK_PENALTY, "penalty_copies.npz", data_env, tmp_path)
    for seed in (11, 12):
        lesson, shared = _copies(found, f"lesson/{seed}/"), _copies(found, f"shared/{seed}/")
        assert sorted(lesson) == sorted(shared) and len(lesson) > 4
        for k in lesson:
            np.testing.assert_array_equal(lesson[k], shared[k], err_msg=f"seed {seed}: {k}")
        weights = [v for k, v in lesson.items() if k.startswith("grad/") and k.endswith("weight")]
        assert len(weights) >= 3 and all(w.dtype.kind == "f" and np.isfinite(w).all() and np.abs(w).max() > 0
                                         for w in weights)         # the penalty reaches every weight
    assert found["lesson/11/value"] != found["lesson/12/value"]      # the check sees ε: another seed, another value

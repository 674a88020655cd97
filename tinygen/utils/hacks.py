"""The plumbing of lesson 23, the GAN hacks measured: the replay buffer of
generated images, the study's table sorted by effect, and its sample sheets.

The lesson keeps its networks (each hack a switch of them), its loss and its
training step in view; each (hack, seed) run is stored as lesson 19's are
(:func:`tinygen.utils.loss_chapter.save_result`: ``<hack>_s<seed>/result.json``
with ``"hack"``, ``"seed"``, ``"fid"``, ``"inception_score"``,
``"class_histogram"``, ``"train_seconds"``, and ``grid.npy``, 16 samples).

Images are NumPy float32 (N, 1, 28, 28) in [-1, 1]; a FID is the project's
(the Fashion-MNIST classifier's features, 10,000 samples).
"""
import json
import os

import numpy as np

from .. import creation
from ..autograd import Tensor
from . import viz
from .run import RunDir


# ---------------------------------------------------------------- the replay buffer
class ImagePool:
    """A buffer of earlier generated images that D also sees (Shrivastava et al. 2017,
    "Learning from Simulated and Unsupervised Images through Adversarial Training",
    section 2.3, "Updating the discriminator using a history of refined images").

    :meth:`mix` takes the current fake batch of b images and returns b images:
    the first b/2 (rounded up) of the current batch and b/2 drawn at random
    from the buffer; then b/2 random slots of the buffer are overwritten by
    the current batch's other half. While the buffer is not yet full, the
    current images fill it and are returned as they are. D thus keeps seeing
    samples of earlier generators, so that G cannot win by jumping back to
    a mode D has forgotten.

    Args:
        capacity: int >= 1, the number of images kept (B in the paper).
        seed: int, the seed of the buffer's own draws (``numpy.random.default_rng``).

    Raises:
        ValueError: capacity not an int >= 1.

    Use it as an entry of :func:`tinygen.utils.train.fit`'s ``state=`` dict:
    :meth:`state_dict` / :meth:`load_state_dict` carry the images and the
    generator's state over a ``--resume``.
    """

    def __init__(self, capacity, seed=0):
        if not isinstance(capacity, (int, np.integer)) or isinstance(capacity, bool) or capacity < 1:
            raise ValueError(f"capacity: expected an int >= 1, got {capacity!r}")
        self.capacity = int(capacity)
        self.images = None                              # NumPy (filled, C, H, W)
        self.rng = np.random.default_rng(seed)

    def mix(self, fake):
        """Half the fake batch (N, C, H, W) replaced by buffered images; returns a Tensor of fake's shape,
        dtype and device (no graph: the buffer holds values)."""
        x = fake.numpy() if isinstance(fake, Tensor) else np.asarray(fake)
        device = fake.device if isinstance(fake, Tensor) else "cpu"
        n = len(x)
        if self.images is None or len(self.images) < self.capacity:      # filling up
            self.images = x.copy() if self.images is None else np.concatenate([self.images, x])[:self.capacity]
            return creation.tensor(x, device=device)
        half = n // 2
        old = self.rng.choice(self.capacity, size=half, replace=False)
        out = np.concatenate([x[:n - half], self.images[old]])
        self.images[self.rng.choice(self.capacity, size=half, replace=False)] = x[n - half:]
        return creation.tensor(out, device=device)

    def state_dict(self):
        """The buffer's images (an empty (0,) array before the first batch) and its generator's state."""
        state = self.rng.bit_generator.state
        return {"images": np.zeros(0, np.float32) if self.images is None else self.images,
                "rng": np.frombuffer(json.dumps(state).encode(), dtype=np.uint8)}

    def load_state_dict(self, state):
        """Restore :meth:`state_dict`'s dict."""
        images = np.asarray(state["images"])
        self.images = None if images.size == 0 else images.copy()
        self.rng.bit_generator.state = json.loads(bytes(np.asarray(state["rng"], dtype=np.uint8)).decode())


# ---------------------------------------------------------------- the table, sorted by effect
def hack_effects(results, hacks, baseline="baseline"):
    """Each hack's effect on FID, paired by seed against the baseline, sorted best first.

    A variant either adds a hack to the baseline (e.g. label smoothing) or
    removes one the baseline has (e.g. Gaussian z -> uniform z). The hack's
    effect on a seed is FID(without the hack) − FID(with it), so a positive
    effect means the hack helps. With two or more seeds the verdict is
    "helps" (every seed's effect > 0), "hurts" (every seed's < 0) or
    "within the seed spread" (the signs disagree, or an effect is 0); with
    one seed it is "one seed: helps" / "one seed: hurts" / "one seed: no change".

    Args:
        results: list of result dicts with ``"hack"``, ``"seed"``, ``"fid"``,
            ``"inception_score"`` and ``"class_histogram"`` (10 fractions).
        hacks: dict name -> (description, removes), ``removes`` True when the
            variant removes a hack the baseline has; must hold ``baseline``.
        baseline: the baseline's name.

    Returns:
        list of dicts, one per hack other than the baseline that has runs,
        sorted by mean effect (largest first), each {"hack", "description",
        "seeds", "fid" (per seed), "fid_mean", "fid_min", "fid_max",
        "is_mean", "rarest_class_mean", "effect" (per seed), "effect_mean",
        "verdict"}; the baseline first, with effect 0 and verdict "baseline".

    Raises:
        ValueError: a variant's seed has no baseline run, or ``baseline`` is not in ``hacks``.
    """
    if baseline not in hacks:
        raise ValueError(f"hacks: expected the baseline {baseline!r} among them, got {sorted(hacks)}")
    base = {r["seed"]: r["fid"] for r in results if r["hack"] == baseline}
    rows = []
    for name, (description, removes) in hacks.items():
        rs = sorted((r for r in results if r["hack"] == name), key=lambda r: r["seed"])
        if not rs:
            continue
        missing = [r["seed"] for r in rs if r["seed"] not in base]
        if missing:
            raise ValueError(f"results: seeds {missing} of {name!r} have no {baseline!r} run to pair with")
        fid = [r["fid"] for r in rs]
        effect = [0.0 if name == baseline else (f - base[r["seed"]]) * (1 if removes else -1) for r, f in zip(rs, fid)]
        if name == baseline:
            verdict = "baseline"
        elif len(rs) == 1:
            verdict = "one seed: " + ("helps" if effect[0] > 0 else "hurts" if effect[0] < 0 else "no change")
        else:
            verdict = "helps" if min(effect) > 0 else "hurts" if max(effect) < 0 else "within the seed spread"
        rows.append({"hack": name, "description": description, "seeds": [r["seed"] for r in rs], "fid": fid,
                     "fid_mean": float(np.mean(fid)), "fid_min": float(min(fid)), "fid_max": float(max(fid)),
                     "is_mean": float(np.mean([r["inception_score"] for r in rs])),
                     "rarest_class_mean": float(np.mean([min(r["class_histogram"]) for r in rs])),
                     "effect": effect, "effect_mean": float(np.mean(effect)), "verdict": verdict})
    return sorted(rows, key=lambda r: (r["hack"] != baseline, -r["effect_mean"]))


def effects_table(rows):
    """:func:`hack_effects`' rows as a Markdown table (a str ending in a newline): the run, what it
    changes, FID mean [min, max] over seeds, the hack's effect (FID points, + helps), IS, rarest class, verdict."""
    lines = ["| run | what it changes | FID mean [min, max] | effect of the hack | IS | rarest class | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['hack']} | {r['description']} | {r['fid_mean']:.1f} [{r['fid_min']:.1f}, "
                     f"{r['fid_max']:.1f}] | {r['effect_mean']:+.1f} | {r['is_mean']:.2f} | "
                     f"{100 * r['rarest_class_mean']:.1f} % | {r['verdict']} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the sample sheets
def save_sheets(grids, path, title=None, ncols=5):
    """One 4x4 sample sheet per run in one figure, labelled (the study's ``sheets.png``).

    Args:
        grids: dict label -> NumPy (16, 1, 28, 28) in [-1, 1] (a run's ``grid.npy``), in the order drawn.
        path: the ``.png`` to write. title: optional figure title. ncols: sheets per row.

    Returns:
        ``pathlib.Path`` of the file.

    Raises:
        ValueError: no grids, or one not of 16 images.
    """
    import matplotlib.pyplot as plt
    if not grids:
        raise ValueError("grids: expected at least one run's samples, got none")
    for label, g in grids.items():
        if np.shape(g)[0] != 16:
            raise ValueError(f"grids: expected 16 images for {label!r}, got shape {np.shape(g)}")
    nrows = -(-len(grids) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.2 * ncols, 2.45 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, g) in zip(axes.flat, grids.items()):
        ax.imshow(viz.make_grid(np.asarray(g), nrow=4, value_range=(-1, 1)), cmap="gray")
        ax.set_title(label, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return viz.save_figure(fig, path)


def run_folder(out, hack, seed):
    """The folder of one (hack, seed) run: ``<out>/<hack>_s<seed>`` (a :class:`RunDir`)."""
    return RunDir(os.path.join(out, f"{hack}_s{seed}"))

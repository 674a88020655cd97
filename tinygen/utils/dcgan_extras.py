"""The plumbing of lessons 12 and 12b (DCGAN): the rule checker, their figures,
and the trained pair that lesson 12 hands to lesson 12b.

* ``dcgan_rules``: Radford et al. 2015's architecture rules (section 3),
  checked on the layer sequence of a generator and a discriminator.
* ``plot_good_vs_bad``: lesson 12's healthy run beside its too-strong-D run.
* ``plot_panels``: rows of captioned images (lesson 12b's latent arithmetic).
* ``load_dcgan`` / ``run_lesson_12_quick``: lesson 12 saves its trained pair
  as ``dcgan.npz`` (``save_checkpoint`` with ``z_dim``, ``g_width``,
  ``d_width``, ``eval_samples`` in ``extra``); lesson 12b loads it into
  :func:`tinygen.utils.gan_models.dcgan_generator` and
  :func:`~tinygen.utils.gan_models.dcgan_critic`, the copies that
  ``tests/test_lesson_copies.py`` holds equal to lesson 12's own networks.
"""
import json
import os
import subprocess
import sys

import numpy as np

from .. import nn
from .checkpoint import load_checkpoint
from .gan_models import dcgan_critic, dcgan_generator

LESSON_12 = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "lessons", "12_dcgan.py")
"""Path of lesson 12's script in a source checkout (the editable install)."""


def dcgan_rules(G, D):
    """Check the DCGAN rules (Radford et al. 2015, section 3) on the layers of a generator and a discriminator.

    The rules: no dense layers and no pooling; G upsamples by transposed
    convs and D downsamples by strided convs (its last conv, the head, may
    have any stride); BatchNorm after every conv except G's output and D's
    input and head, and no bias before a BatchNorm; ReLU in G with a tanh
    output; LeakyReLU(0.2) in D.

    Args:
        G, D: Modules; their leaf layers, in ``modules()`` order, are checked.

    Returns:
        dict rule name -> bool (True when the rule holds), JSON-ready.
    """
    def leaves(model):
        return [m for m in model.modules() if not m._modules]

    g, d = leaves(G), leaves(D)
    convs = (nn.Conv2d, nn.ConvTranspose2d)

    def after(layers, i):
        return layers[i + 1] if i + 1 < len(layers) else None

    def bn_after_each_conv_but(layers, skip):
        # every conv, except the listed positions, is followed by BatchNorm and has no bias
        idx = [i for i, m in enumerate(layers) if isinstance(m, convs)]
        keep = [i for j, i in enumerate(idx) if j not in skip and j - len(idx) not in skip]
        return all(isinstance(after(layers, i), nn.BatchNorm2d) and layers[i].bias is None for i in keep)

    g_convs = [m for m in g if isinstance(m, convs)]
    d_convs = [m for m in d if isinstance(m, convs)]
    return {
        "no_linear_layers": not any(isinstance(m, nn.Linear) for m in g + d),
        "no_pooling": not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.Upsample)) for m in g + d),
        "g_upsamples_by_transposed_conv": bool(g_convs) and all(isinstance(m, nn.ConvTranspose2d) for m in g_convs),
        "d_downsamples_by_strided_conv": all(isinstance(m, nn.Conv2d) for m in d_convs)
                                         and all(m.stride == (2, 2) for m in d_convs[:-1]),
        "bn_not_on_d_input": bool(d_convs) and not isinstance(after(d, d.index(d_convs[0])), nn.BatchNorm2d),
        "bn_not_on_g_output": bool(g_convs) and isinstance(after(g, g.index(g_convs[-1])), nn.Tanh),
        "bn_elsewhere_without_bias": bn_after_each_conv_but(g, {-1}) and bn_after_each_conv_but(d, {0, -1}),
        "g_relu_and_tanh_output": isinstance(g[-1], nn.Tanh)
                                  and all(isinstance(m, nn.ReLU) for m in g if isinstance(m, (nn.ReLU, nn.LeakyReLU))),
        "d_leaky_relu_0.2": all(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2
                                for m in d if isinstance(m, (nn.ReLU, nn.LeakyReLU))),
    }


def plot_good_vs_bad(runs, path):
    """Columns of GAN runs, each: L_D and L_G, then D(x) and D(G(z)) (smoothed), then a sample grid.

    Args:
        runs: list of (title, history, grid uint8 (H, W, 3), grid caption);
            ``history`` is ``fit``'s log, records with ``step``, ``loss_D``,
            ``loss_G``, ``D_real`` and ``D_fake``.
        path: the ``.png`` to write.

    Returns:
        ``path``.
    """
    import matplotlib.pyplot as plt

    from . import viz
    fig, axes = plt.subplots(3, len(runs), figsize=(4.6 * len(runs), 11), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 1, 1.5]})
    for col, (title, hist, grid, caption) in enumerate(runs):
        steps = np.array([r["step"] for r in hist])
        window = max(1, len(hist) // 50)
        for row, keys in enumerate((("loss_D", "loss_G"), ("D_real", "D_fake"))):
            ax = axes[row, col]
            for k, label in zip(keys, (("L_D", "L_G"), ("D(x)", "D(G(z))"))[row]):
                viz.plot_smoothed(ax, steps, [r[k] for r in hist], window, label=label)
            ax.grid(True, alpha=0.3)
            ax.legend(loc="best", fontsize=8)
            ax.set_ylim(0, None if row == 0 else 1)
            if row == 0:
                ax.set_title(title, fontsize=10)
        axes[1, col].set_xlabel("generator step")
        axes[2, col].imshow(grid, interpolation="nearest")
        axes[2, col].set_title(caption, fontsize=9)
        axes[2, col].axis("off")
    return viz.save_figure(fig, path)


def plot_panels(panels, path, title):
    """Rows of captioned 28x28 images in [-1, 1], e.g. "A − B + C = result" per row.

    Args:
        panels: list of rows, each a list of (image float32 (1, 28, 28), caption str).
        path: the ``.png`` to write. title: the figure's title.

    Returns:
        ``path``.
    """
    import matplotlib.pyplot as plt

    from . import viz
    cols = max(len(row) for row in panels)
    fig, axes = plt.subplots(len(panels), cols, figsize=(1.05 * cols, 1.45 * len(panels) + 0.4), squeeze=False)
    for r, row in enumerate(panels):
        for col in range(cols):
            ax = axes[r, col]
            ax.axis("off")
            if col < len(row):
                ax.imshow(row[col][0][0], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
                ax.set_title(row[col][1], fontsize=7)
    fig.suptitle(title, fontsize=9)
    return viz.save_figure(fig, path)


def load_dcgan(path, device="cpu"):
    """Lesson 12's trained pair, from its ``dcgan.npz``, with the RNG where lesson 12 left it.

    The networks are the workbench's copies of lesson 12's (``dcgan_generator``
    and ``dcgan_critic`` with BatchNorm: the same layers in the same order,
    so the same state-dict keys), sized by the ``z_dim``, ``g_width`` and
    ``d_width`` saved with them. Like every checkpoint, the file also
    restores tinygen's global RNG, so the next codes drawn are the ones
    lesson 12 drew after saving (its evaluation samples).

    Args:
        path: a ``dcgan.npz`` written by lesson 12, or the folder holding it.
        device: "cpu" or "cuda".

    Returns:
        (G, D, info): the Modules (in training mode) and the saved ``extra``
        dict (``z_dim``, ``g_width``, ``d_width``, ``eval_samples``, ``steps``,
        ``seed``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a checkpoint of lesson 12's pair (see ``load_checkpoint``).
    """
    if os.path.isdir(path):
        path = os.path.join(path, "dcgan.npz")
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: no checkpoint at {path} (run lessons/12_dcgan.py first)")
    try:
        with np.load(path) as f:
            info = json.loads(bytes(f["meta"]).decode())["extra"]
        G, D = dcgan_generator(info["z_dim"], info["g_width"]), dcgan_critic(info["d_width"])
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(f"path: {path} is not lesson 12's dcgan.npz ({type(e).__name__}: {e})") from e
    saved = load_checkpoint(path, {"G": G, "D": D})
    return G.to(device), D.to(device), {**info, "steps": saved["step"]}


def run_lesson_12_quick(out, *flags):
    """Train lesson 12 briefly: run ``lessons/12_dcgan.py --quick --out out *flags``; returns its ``dcgan.npz``.

    For lesson 12b's ``--quick`` when no trained pair exists yet. The lesson
    runs in a child interpreter (``sys.executable``); its output is printed
    when it ends.

    Args:
        out: lesson 12's output folder. flags: more command-line strings
            (e.g. ``"--seed", "1"``).

    Returns:
        the path of the ``dcgan.npz`` it wrote.

    Raises:
        FileNotFoundError: lesson 12's script is not at :data:`LESSON_12`.
        RuntimeError: lesson 12 failed (its exit status).
    """
    if not os.path.exists(LESSON_12):
        raise FileNotFoundError(f"lesson 12's script is not at {LESSON_12}")
    r = subprocess.run([sys.executable, LESSON_12, "--quick", "--out", str(out), *map(str, flags)],
                       capture_output=True, text=True)
    print(r.stdout, end="")
    if r.returncode != 0:
        raise RuntimeError(f"lessons/12_dcgan.py --quick failed with exit status {r.returncode}: {r.stderr[-2000:]}")
    return os.path.join(out, "dcgan.npz")

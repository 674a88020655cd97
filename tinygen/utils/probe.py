"""The linear probe: how much a frozen network's features know about the labels.

A linear softmax classifier, Linear(d, 10) with cross-entropy, is trained on
fixed features of a few labelled images and scored on the test set; the same
head on the raw pixels is the baseline. Radford et al. 2015 (section 5.1)
scored DCGAN's discriminator this way; Alain & Bengio 2016, "Understanding
intermediate layers using linear classifier probes", named it. Lesson 02
teaches it (``train_head``, on a stacked autoencoder's codes) and defines
its own copy; lesson 12b imports this one, which
``tests/test_lesson_copies.py`` holds equal to lesson 02's.
"""
import numpy as np

from .. import nn, optim
from ..nn import functional as F
from .data import Batches
from .train import evaluate, fit


def linear_probe(features, labels, features_test, labels_test, run, name, steps, *, seed=0, resume=False,
                 device="cpu", print_every=500, n_classes=10, overwrite=False):
    """Train a linear softmax head on frozen features; return its test accuracy.

    Both feature sets are standardised with the mean and standard deviation
    (plus 0.01) of ``features``, the labelled set. The head, Linear(d,
    n_classes), takes ``steps`` Adam steps (lr 1e-3) on cross-entropy over
    shuffled batches of min(100, n) rows, through :func:`tinygen.utils.train.fit`:
    the stage is logged to ``<run>/<name>.jsonl``, checkpointed to
    ``<name>.npz`` and resumable. ``features`` is standardised in a copy,
    or in place with ``overwrite=True`` (60,000 x 3,072 float32 features
    are 0.7 GB); the other inputs are never changed.

    Args:
        features: float32 NumPy (n, d), n >= 1, e.g. a frozen encoder's codes.
        labels: int NumPy (n,), classes in [0, n_classes).
        features_test: float32 NumPy (m, d). labels_test: int NumPy (m,).
        run: a :class:`tinygen.utils.run.RunDir`. name: the stage's name.
        steps: int >= 0, training steps of the head.
        seed: the batch order's seed. resume: continue from ``<name>.npz``.
        device: "cpu" or "cuda". print_every: steps between progress lines.
        n_classes: outputs of the head. overwrite: standardise ``features`` in place.

    Returns:
        float, the accuracy on (``features_test``, ``labels_test``), in [0, 1].

    Raises:
        ValueError: features not 2-D, a different d in the two sets, or
            labels not one per row.
    """
    features, features_test = np.asarray(features), np.asarray(features_test)
    if features.ndim != 2 or features_test.ndim != 2 or features.shape[1] != features_test.shape[1]:
        raise ValueError(f"features, features_test: expected (n, d) and (m, d), "
                         f"got {features.shape} and {features_test.shape}")
    if len(labels) != len(features) or len(labels_test) != len(features_test) or len(features) == 0:
        raise ValueError(f"labels, labels_test: expected one per row of features (n >= 1), got {len(labels)} for "
                         f"{len(features)} rows and {len(labels_test)} for {len(features_test)}")
    mean, std = features.mean(0), features.std(0) + 1e-2
    f, f_test = features if overwrite else features.copy(), (features_test - mean) / std
    f -= mean
    f /= std
    head = nn.Linear(f.shape[1], n_classes).to(device)
    opt = optim.Adam(head.parameters(), lr=1e-3)

    def step(x, y):
        loss = F.cross_entropy(head(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    fit(step, Batches(f, labels, batch_size=min(100, len(f)), seed=seed), steps, run, name=name,
        models={"head": head}, optimizers={"adam": opt}, resume=resume, device=device, print_every=print_every)
    return evaluate(lambda x, y: {"acc": float((head(x).numpy().argmax(1) == y.numpy()).mean())},
                    f_test, labels_test, device=device)["acc"]

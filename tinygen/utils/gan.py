"""What the GAN lessons share, written once: the flags, DCGAN's init, weight
clipping, the gradient penalty, the fixed-z GIF, sampling (best of k, in batches), the
closing scores and sample export.

Each lesson keeps its models, its losses and its training step in view;
this module is the plumbing around them. ``dcgan_init`` lives here, not in
``tinygen.nn.init``, because it has to know the layer classes and
``nn.init`` is what the layers themselves import.
"""
import numpy as np

from .. import creation
from ..autograd import Tensor, _describe, grad, no_grad
from ..nn import init
from ..nn.layers import Conv2d, ConvTranspose2d, Linear, UpsampleConv2d
from ..nn.norm import BatchNorm1d, BatchNorm2d, LayerNorm
from . import viz
from .fileio import atomic_open
from .run import nonnegative_int, positive_int
from .train import fit


# ---------------------------------------------------------------- flags
def add_gan_flags(parser, sample_every=100, checkpoint_every=200, z_dim=100):
    """Add the flags every GAN lesson takes to a ``lesson_parser``; returns the parser.

    --z-dim, --sample-every (steps between GIF frames), --checkpoint-every,
    --eval-samples (how many samples the closing FID/IS use; 10,000 for every
    figure the project reports, since FID depends on N), all integers >= 1,
    and --export-samples N >= 0 (also write N samples as ``.npy``; 0 writes
    none). A value out of range ends in argparse's one-line error.
    """
    parser.add_argument("--z-dim", type=positive_int, default=z_dim, help="latent dimension")
    parser.add_argument("--sample-every", type=positive_int, default=sample_every, help="steps between GIF frames")
    parser.add_argument("--checkpoint-every", type=positive_int, default=checkpoint_every)
    parser.add_argument("--eval-samples", type=positive_int, default=10_000,
                        help="samples scored by FID, IS and the class histogram at the end")
    parser.add_argument("--export-samples", type=nonnegative_int, default=0, metavar="N",
                        help="write N samples to samples.npy in [-1, 1] (and labels.npy when conditional)")
    return parser


GAN_QUICK = {"sample_every": 2, "checkpoint_every": 2, "eval_samples": 200}
"""``--quick`` values of the GAN flags, for ``parse_args(quick={**GAN_QUICK, ...})``."""


# ---------------------------------------------------------------- training
def fit_gan(step, batches, run, models, optimizers, gif, *, steps, sample_every, checkpoint_every, resume=False,
            device="cpu", print_every=250, callback=None, extra_steps=(), state=None, name="train"):
    """:func:`tinygen.utils.train.fit` with the GAN lessons' conventions.

    ``step(next_batch)`` pulls its own batches (``pull=True``); ``gif`` (a
    :class:`SampleGif`) is checkpointed with the models and gets a frame after
    every multiple of ``sample_every`` and after step ``steps`` (a multiple or
    not; e.g. steps 7, sample_every 3: frames after steps 3, 6 and 7).

    Args:
        step, batches, run: as for ``fit``.
        models, optimizers: dicts name -> Module / Optimizer.
        gif: the :class:`SampleGif`, or None for a run without one (then
            ``callback``, if any, runs at those steps all the same).
        steps: generator steps (``fit``'s ``steps``).
        sample_every: steps between GIF frames.
        checkpoint_every, resume, device, print_every: as for ``fit`` (a
            checkpoint after every multiple and after the last step).
        callback: runs instead of ``gif`` at those steps (it should call
            ``gif`` itself), e.g. to save extra snapshots; if it has
            ``state_dict()``/``load_state_dict()``, ``fit`` checkpoints it too.
        extra_steps: further steps at which the callback runs (0 is before
            the first step).
        state: optional dict name -> object with ``state_dict()`` and
            ``load_state_dict(d)``, checkpointed beside ``gif`` and restored
            through them on resume (e.g. BEGAN's k_t).
        name: the stage's name, as ``fit``'s (``<name>.jsonl``, ``<name>.npz``),
            for a lesson that trains more than one GAN.

    Returns:
        the run's log, a :class:`tinygen.utils.train.History` as ``fit``
        returns it (its ``seconds``: training time over all resumes).

    Raises:
        as ``fit``: ``NonFiniteLoss``, ``CannotResume``, ``ValueError``.
    """
    at = {s for s in range(1, steps + 1) if s % sample_every == 0} | {steps} | set(extra_steps)
    kept = {**({"gif": gif} if gif is not None else {}), **(state or {})}
    return fit(step, batches, steps, run, name=name, models=models, optimizers=optimizers, state=kept,
               resume=resume, device=device, pull=True, print_every=print_every, checkpoint_every=checkpoint_every,
               callback=callback or gif, callback_steps=sorted(at))


# ---------------------------------------------------------------- init
def dcgan_init(module):
    """DCGAN's init (Radford et al. 2015, section 4) of one module, in place.

    Conv, transposed-conv and linear weights ~ N(0, 0.02), their biases 0;
    normalisation scales ~ N(1, 0.02), shifts 0. Other modules are left
    alone. Use as ``model.apply(dcgan_init)``; draws from tinygen's global
    generator (``tg.manual_seed``).
    """
    if isinstance(module, (Conv2d, ConvTranspose2d, Linear, UpsampleConv2d)):
        init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            init.zeros_(module.bias)
    elif isinstance(module, (BatchNorm1d, BatchNorm2d, LayerNorm)) and module.weight is not None:
        init.normal_(module.weight, 1.0, 0.02)
        init.zeros_(module.bias)


# ---------------------------------------------------------------- weight clipping
def clip_weights(parameters, c):
    """WGAN's weight clipping (Arjovsky et al. 2017, Algorithm 1, line 7): w <- clip(w, -c, c), in place.

    Every parameter, weights and biases alike, is clipped elementwise; use
    after each critic update, as ``clip_weights(D.parameters(), c)``. The
    shared copy of the clipping that lesson 13 writes out in its own cell.

    Args:
        parameters: an iterable of Tensors (e.g. ``D.parameters()``) or one Tensor.
        c: float >= 0, the bound.

    Returns:
        None; the parameters' data are replaced (no graph is recorded).

    Raises:
        ValueError: c is negative or not finite.
    """
    if not np.isfinite(c) or c < 0:
        raise ValueError(f"c: expected a finite float >= 0, got {c}")
    for p in ([parameters] if hasattr(parameters, "data") else parameters):
        p.data = p.data.clip(-c, c)


# ---------------------------------------------------------------- the gradient penalty
def critic_grad_norms(D, real, fake, create_graph=False):
    """‖∇_x̂ D(x̂)‖₂ per sample at x̂ = ε·real + (1 − ε)·fake (Gulrajani et al. 2017, Algorithm 1, lines 4-7).

    One ε ~ U[0, 1] per sample, shape (N, 1, ..., 1); the norm is taken per
    sample over all non-batch axes, e.g. (C, H, W).

    Args:
        D: the critic, any callable (N, ...) -> scores (N, 1) or (N,); a
            conditional critic is passed as ``lambda x: D(x, y)``.
        real, fake: Tensors of the same shape (N, ...), the same dtype and device.
        create_graph: True records the gradient's graph, so that a loss built
            from the norms can be differentiated again (double backprop).

    Returns:
        Tensor (N,) of norms.

    Raises:
        ValueError: real and fake differ in shape.
    """
    if real.shape != fake.shape:
        raise ValueError(f"fake: expected the shape of real {real.shape}, got {fake.shape}")
    n = real.shape[0]
    eps = creation.rand(n, *([1] * (real.ndim - 1)), dtype=real.dtype, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_()
    scores = D(x_hat)
    ones = creation.ones(*scores.shape, dtype=scores.dtype, device=real.device)
    grad_x, = grad(scores, x_hat, grad_outputs=ones, create_graph=create_graph)
    return ((grad_x.reshape(n, -1) ** 2).sum(dim=1) + 1e-12) ** 0.5  # 1e-12: finite gradient at 0


def gradient_penalty(D, real, fake):
    """E[(‖∇_x̂ D(x̂)‖₂ − 1)²] on random interpolates, without the weight λ (Gulrajani et al. 2017, eq. 3).

    The gradient is recorded with ``create_graph=True``, so ``backward()`` of
    a loss that contains this penalty reaches the critic's parameters through
    the gradient itself. Same arguments as :func:`critic_grad_norms`.

    Returns:
        scalar Tensor.
    """
    return ((critic_grad_norms(D, real, fake, create_graph=True) - 1) ** 2).mean()


def r1_penalty(D, real):
    """R1: E[‖∇_x D(x)‖₂²] over real samples x, without the weight γ/2 (Mescheder et al. 2018, eq. 9).

    Mescheder, Geiger & Nowozin 2018, "Which Training Methods for GANs do
    actually Converge?", section 4.1, eq. 9: R1(ψ) = (γ/2) E_{p_D}[‖∇D_ψ(x)‖²],
    the penalty StyleGAN's discriminator is trained with (Karras et al. 2019,
    appendix C: γ = 10). This returns the expectation only, the batch mean of
    the squared norms, so the caller writes ``loss_D + (gamma / 2) * r1_penalty(D, real)``
    (as WGAN-GP's λ is left to the caller of :func:`gradient_penalty`).
    Unlike WGAN-GP it is taken at the real samples, not at interpolates, and
    pushes the gradient to 0, not to norm 1; no square root, so no epsilon.

    The gradient is recorded with ``create_graph=True``, so ``backward()`` of
    a loss that contains the penalty reaches D's parameters through the
    gradient itself (double backprop).

    Args:
        D: the discriminator, any callable (N, ...) -> scores (N, 1) or (N,)
            (logits); a conditional one is passed as ``lambda x: D(x, y)``.
        real: Tensor (N, ...), the real batch (a constant: it is detached).

    Returns:
        scalar Tensor.

    Raises:
        ValueError: real is not a Tensor with a batch dim, or D does not return
            one score per sample.
    """
    if not isinstance(real, Tensor) or real.ndim < 1:
        raise ValueError(f"real: expected a tensor (N, ...), got {_describe(real)}")
    n = real.shape[0]
    x = real.detach().requires_grad_()
    scores = D(x)
    if scores.shape not in ((n,), (n, 1)):
        raise ValueError(f"D: expected one score per sample, shape ({n},) or ({n}, 1), got shape {scores.shape}")
    ones = creation.ones(*scores.shape, dtype=scores.dtype, device=real.device)
    grad_x, = grad(scores, x, grad_outputs=ones, create_graph=True)
    return (grad_x.reshape(n, -1) ** 2).sum(dim=1).mean()


# ---------------------------------------------------------------- sampling
def generate(G, inputs, batch_size=500):
    """``G(*inputs)`` in eval mode, in batches, without a graph, as a NumPy array.

    Args:
        G: the generator, a Module. inputs: a Tensor (e.g. z, (N, z_dim)) or
            a tuple of Tensors with N rows each (e.g. (z, labels)).
        batch_size: rows per forward pass.

    Returns:
        NumPy array (N, ...), G's output rows in order. G goes back to
        training mode if it was in it.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    was_training = G.training
    G.eval()
    out = []
    with no_grad():
        for i in range(0, inputs[0].shape[0], batch_size):
            out.append(G(*(x[i:i + batch_size] for x in inputs)).numpy())
    G.train(was_training)
    return np.concatenate(out)


def best_of_k(G, D, z, k=4):
    """From each group of k consecutive samples G(z), the one D scores highest.

    Screening by the critic removes failed samples but keeps the variety:
    ranking all samples at once instead picks D's favourite kind over and over.

    Args:
        G, D: generator and discriminator (or critic); D(x) -> (M, 1) scores.
        z: Tensor (n·k, z_dim).
        k: int >= 1, the group size.

    Returns:
        NumPy array (n, C, H, W).

    Raises:
        ValueError: k < 1, or z's rows are not a multiple of k.
    """
    if k < 1 or z.shape[0] % k:
        raise ValueError(f"k: expected an int >= 1 dividing z's {z.shape[0]} rows, got {k}")
    images = generate(G, z)
    was_training = D.training
    D.eval()
    with no_grad():
        scores = D(creation.tensor(images, device=z.device)).numpy().reshape(-1, k)
    D.train(was_training)
    return images[np.argmax(scores, axis=1) + k * np.arange(scores.shape[0])]


class SampleGif:
    """The fixed-input GIF: one frame of ``render(G(*inputs))`` per call, G in eval mode.

    Use as ``fit``'s ``callback`` and put it in ``fit``'s ``state``: its
    frames and its fixed inputs are then saved in every checkpoint and come
    back on ``--resume``, so a resumed GIF continues with the same z's.

    Args:
        path: the ``.gif`` to write (rewritten atomically after each frame).
        G: the generator (a Module).
        inputs: a Tensor of fixed latents (e.g. (64, z_dim)) or a tuple of
            Tensors (z, labels) for a conditional G.
        render: NumPy outputs -> uint8 (H, W, 3) frame; default a grid of
            images in [-1, 1], ``nrow`` per row.
        duration: seconds per frame.
    """

    def __init__(self, path, G, inputs, render=None, duration=0.25, nrow=8):
        self.G = G
        self.inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        self.render = render or (lambda x: viz.make_grid(x, nrow=nrow))
        self.writer = viz.GifWriter(path, duration=duration)

    def __call__(self, step=None):
        """Append the current frame and rewrite the GIF. ``step`` is ignored (``fit`` passes it)."""
        self.writer.append(self.render(generate(self.G, self.inputs)))
        self.writer.save()

    @property
    def frames(self):
        """The frames so far: a list of uint8 (H, W, 3) arrays."""
        return self.writer.frames

    def state_dict(self):
        """``{"input0": ..., "input1": ..., "frames": uint8 (F, H, W, 3)}`` as NumPy arrays."""
        state = {f"input{i}": x.numpy() for i, x in enumerate(self.inputs)}
        if self.frames:
            state["frames"] = np.stack(self.frames)
        return state

    def load_state_dict(self, state):
        """Restore frames and fixed inputs saved by :meth:`state_dict`.

        Raises:
            ValueError: the saved inputs' shapes differ from this GIF's.
        """
        for i, x in enumerate(self.inputs):
            saved = np.asarray(state[f"input{i}"])
            if saved.shape != x.shape:
                raise ValueError(f"state: input{i} has shape {saved.shape}, this GIF's has {x.shape}")
            x.data = creation.tensor(saved, dtype=x.dtype, device=x.device).data
        self.writer.frames = [np.asarray(f) for f in state.get("frames", [])]


def closing_scores(G, inputs, to_images=None, labels=None):
    """Sample ``G(*inputs)`` and score the samples with the Fashion-MNIST classifier.

    Every GAN lesson ends with this on ``--eval-samples`` (10,000) samples,
    so that its figures are comparable: FID against the 10,000 test images
    (Heusel et al. 2017), the Inception Score (Salimans et al. 2016) and the
    class histogram; see :mod:`tinygen.utils.metrics`.

    Args:
        G: the generator. inputs: Tensor z (N, z_dim), or a tuple (z, labels).
        to_images: optional NumPy (N, ...) -> (N, 1, 28, 28), e.g. a reshape
            for an MLP generator's (N, 784) rows.
        labels: NumPy (N,) ints, the classes a conditional G was asked for;
            adds the class accuracy.

    Returns:
        (samples, scores): NumPy (N, 1, 28, 28) in [-1, 1], and the dict of
        ``metrics.evaluate_samples``.
    """
    from .metrics import evaluate_samples  # loads the classifier's weights on first use
    samples = generate(G, inputs)
    if to_images is not None:
        samples = to_images(samples)
    return samples, evaluate_samples(samples, labels=labels)


def export_samples(run, images, labels=None):
    """Write samples (and, for a conditional model, their labels) as ``.npy`` in the run folder.

    Args:
        run: a :class:`tinygen.utils.run.RunDir`.
        images: NumPy (N, C, H, W) in [-1, 1], or (N, 2) points for a 2-D toy.
        labels: NumPy (N,) ints, the class each sample was drawn for, or None.

    Returns:
        list of the written paths: ``samples.npy`` (float32) and ``labels.npy`` (int64).

    Raises:
        ValueError: labels do not have N entries.
    """
    images = np.asarray(images, dtype=np.float32)
    paths = [run.file("samples.npy")]
    with atomic_open(paths[0]) as f:
        np.save(f, images)
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != (len(images),):
            raise ValueError(f"labels: expected shape ({len(images)},), got {labels.shape}")
        paths.append(run.file("labels.npy"))
        with atomic_open(paths[1]) as f:
            np.save(f, labels)
    return paths

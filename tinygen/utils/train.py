"""The parts of a training run that are the same in every lesson.

A lesson writes its own ``step`` function (forward, loss, ``backward()``,
``optimizer.step()``): that is what it teaches. :func:`fit` calls it on
successive batches, or hands it the batch source so that it can pull several
(a GAN's critic updates), and does the rest: the progress line, the loss log,
the checkpoints and resuming. Both chapters train through it; :class:`Recorder` is a
callback that measures at chosen steps and resumes with the run. :func:`evaluate` and :func:`map_batches` run a
model over a whole array in batches without recording a graph; :func:`tail_means` averages the end of a
run's log.
"""
import math
import os
import sys
from time import perf_counter

import numpy as np

from ..autograd import no_grad
from .checkpoint import load_checkpoint, save_checkpoint
from ..creation import tensor
from .progress import Progress
from .run import in_notebook


def _to_tensors(batch, device):
    batch = batch if isinstance(batch, tuple) else (batch,)
    return [tensor(a, device=device) for a in batch]


def _chunks(arrays, batch_size, device):
    """Tensors of rows [i, i + batch_size) of every array, for i = 0, batch_size, ..."""
    if not arrays or len({len(a) for a in arrays}) != 1:
        raise ValueError(f"arrays: expected one or more arrays of equal length, got "
                         f"{[len(a) for a in arrays]}")
    for i in range(0, len(arrays[0]), batch_size):
        yield _to_tensors(tuple(a[i:i + batch_size] for a in arrays), device)


class RunStopped(SystemExit):
    """A run that cannot go on: raised by :func:`fit`, never meant to be caught by a lesson.

    It is a ``SystemExit`` whose argument is one line of text, so a lesson
    run from the command line ends with that line on stderr, no traceback,
    and exit status 1; a notebook shows the line under the cell. Code that
    wants to go on catches it (``except RunStopped``); ``except Exception``
    does not, by design.
    """


class NonFiniteLoss(RunStopped):
    """A number that ``step`` returned is NaN or infinite (the run diverged); see :func:`fit`.

    Attributes: ``step`` (int, the step that produced it), ``key`` (str, e.g.
    ``"loss_D"``), ``value`` (float), ``checkpoint`` (path of the checkpoint,
    which holds the last good step ``checkpoint_step``, or None when this
    run has written none yet).
    """

    def __init__(self, message, step, key, value, checkpoint, checkpoint_step):
        super().__init__(message)
        self.step, self.key, self.value = step, key, value
        self.checkpoint, self.checkpoint_step = checkpoint, checkpoint_step


class CannotResume(RunStopped):
    """``resume=True`` found a checkpoint that cannot be loaded into this run; see :func:`fit`.

    Attributes: ``path`` (the checkpoint), ``reason`` (str, what did not match).
    """

    def __init__(self, message, path, reason):
        super().__init__(message)
        self.path, self.reason = path, reason


class History(list):
    """What :func:`fit` returns: the stage's log, a list of dicts (one per step, oldest first).

    Attribute ``seconds`` (float): the stage's training seconds over the whole
    run, interruptions and resumes included (see :func:`fit`).
    """

    seconds = 0.0


def fit(step, batches, steps, run, name="train", models=None, optimizers=None, state=None,
        resume=False, device="cpu", print_every=100, checkpoint_every=1000,
        callback=None, callback_steps=(), pull=False):
    """Train for ``steps`` iterations of ``step(*batch) -> {"loss": float, ...}``.

    Each iteration takes the next batch from ``batches`` (a
    :class:`tinygen.utils.data.Batches`), turns its arrays into Tensors on
    ``device`` and calls ``step`` with them. With ``pull=True`` it calls
    ``step(next_batch)`` instead, where ``next_batch()`` returns the next
    batch's Tensor (a tuple of Tensors when ``batches`` holds several
    arrays), so one iteration can draw as many batches as it needs: WGAN's
    n_critic critic updates per generator update. The returned numbers are logged
    to ``<run>/<name>.jsonl`` with the step and shown on the progress line
    (``[name] step 200/2000 | loss 0.0213 | 41.2 it/s | ETA 0m43s``).

    At every multiple of ``checkpoint_every`` and at step ``steps`` (whether
    or not it is a multiple), ``<run>/<name>.npz`` stores the models, the
    optimizers, the RNG, the data order, ``state``, the callback's state and
    the training seconds so far, atomically. With ``resume=True`` a run
    picks up from that file (a stage with no file yet starts at step 0), and
    a stage that had finished is loaded instead of retrained: no step runs,
    no callback, and neither the log nor the checkpoint is rewritten, so a
    lesson that trains several models resumes where it stopped.

    A step whose numbers include a NaN or an infinity stops the run there,
    before it is logged, called back or checkpointed: the checkpoint keeps
    the last good step, and :class:`NonFiniteLoss` says so in one line
    (``[train] step 37: loss_D is nan; stopping. The last good checkpoint
    (step 20 of 200) is kept in runs/x/train.npz``).

    Args:
        step: the lesson's training step; called with one Tensor per array in
            ``batches``; returns a dict of floats.
        batches: ``Batches`` over the training arrays.
        steps: int >= 0, the number of iterations.
        run: a :class:`tinygen.run.RunDir`.
        name: this stage's name (file names, progress prefix).
        models, optimizers: dicts name -> Module / Optimizer to checkpoint.
        state: optional dict of what the lesson keeps across a resume: NumPy
            arrays or JSON values (e.g. reconstruction snapshots), updated in
            place when resuming; or objects with ``state_dict()`` (a dict of
            arrays or JSON values) and ``load_state_dict(d)``, such as
            :class:`tinygen.utils.gan.SampleGif`, restored through them.
            The names ``batches`` and ``_seconds`` are fit's own.
        callback, callback_steps: ``callback(step)`` runs after each listed
            step (0 means before the first one), e.g. to snapshot samples.
            The models are put back in training mode after it. A callback
            with ``state_dict()`` and ``load_state_dict(d)`` that is not
            already in ``state`` is checkpointed and restored as if it were
            (as ``state["callback"]``).
        pull: False calls ``step(*tensors)`` with one batch; True calls
            ``step(next_batch)`` with the batch source.

    Returns:
        a :class:`History`: the stage's log (a list of dicts, one per step,
        read back from ``<name>.jsonl``) whose ``seconds`` is the training
        time of all ``steps`` steps: the seconds before the checkpoint it
        resumed from plus this call's, measured (``time.perf_counter``) from
        the first step (or the step-0 callback) to the last checkpoint.

    Raises:
        ValueError: steps < 0, checkpoint_every < 1, or ``step`` did not return a dict of numbers.
        NonFiniteLoss: a returned number is NaN or infinite (see above).
        CannotResume: ``resume`` and the checkpoint cannot be read or does
            not match the models, optimizers, data or state (another
            architecture, other flags, a truncated file); its one line names
            the file and what did not match. Nothing has been trained then.
    """
    if steps < 0:
        raise ValueError(f"steps: expected an int >= 0, got {steps}")
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every: expected an int >= 1, got {checkpoint_every}")
    models, optimizers = models or {}, optimizers or {}
    ckpt = run.file(name + ".npz")
    state = {} if state is None else state
    objects = {k: v for k, v in state.items() if hasattr(v, "state_dict")}
    if hasattr(callback, "state_dict") and not any(v is callback for v in objects.values()):
        objects["callback"] = callback
    start, before, saved_at = 0, 0.0, None   # first step, seconds before it, step of the last checkpoint
    if resume and os.path.exists(ckpt):
        start, before = _resume(ckpt, name, models, optimizers, batches, state, objects)
        saved_at = start
        print(f"[{name}] resumed at step {start}" + (" (finished)" if start >= steps else ""))
        for m in models.values():
            m.train()
        if start >= steps:
            history = History(run.history(name))
            history.seconds = before
            return history
    elif resume:
        print(f"[{name}] no checkpoint {ckpt} yet: starting at step 0")
        resume = False
    run.reset_log(name, start if resume else None)
    callback_steps = set(callback_steps)
    t0 = perf_counter()
    seconds = before

    def save(s):
        nonlocal seconds, saved_at
        seconds, saved_at = before + perf_counter() - t0, s
        save_checkpoint(ckpt, s, models, optimizers, extra={"batches": batches.state_dict(), "_seconds": seconds,
                                                             **_flat_state(state, objects)})

    def next_batch():
        tensors = _to_tensors(batches.next_batch(), device)
        return tensors[0] if len(tensors) == 1 else tuple(tensors)

    def call_back(s):
        if callback is not None and s in callback_steps:
            callback(s)
            for m in models.values():
                m.train()

    for m in models.values():
        m.train()
    if start == 0:
        call_back(0)
    progress = Progress(steps, start=start, every=print_every, prefix=name)
    for s in range(start + 1, steps + 1):
        values = step(next_batch) if pull else step(*_to_tensors(batches.next_batch(), device))
        if not isinstance(values, dict):
            raise ValueError(f"step: expected a dict of floats, got {type(values).__name__}")
        record = {"step": s, **{k: float(v) for k, v in values.items()}}
        bad = next((k for k, v in record.items() if not math.isfinite(v)), None)
        if bad is not None:
            raise NonFiniteLoss(f"[{name}] step {s}: {bad} is {record[bad]}; stopping. " + (
                f"The last good checkpoint (step {saved_at} of {steps}) is kept in {ckpt}" if saved_at is not None
                else f"No checkpoint of this run was written yet (the first is due at step "
                     f"{min(checkpoint_every, steps)})"), s, bad, record[bad], ckpt if saved_at is not None else None,
                saved_at)
        run.log(record, name)
        progress.update(s, **values)
        call_back(s)
        if s % checkpoint_every == 0 or s == steps:
            save(s)
    if steps == 0:
        save(0)
    history = History(run.history(name))
    history.seconds = seconds
    return history


def _resume(ckpt, name, models, optimizers, batches, state, objects):
    """Load ``ckpt`` into everything fit keeps; returns (step, seconds before it). Raises CannotResume."""
    try:
        saved = load_checkpoint(ckpt, models, optimizers)
        extra = saved["extra"]
        batches.load_state_dict(extra.pop("batches"))
        before = float(extra.pop("_seconds", 0.0))   # 0 for a checkpoint of an older tinygen
        _restore_state(state, objects, extra)
    except (KeyError, TypeError, ValueError) as e:
        reason = str(e) if not isinstance(e, KeyError) else f"no saved entry {e}"
        prog = "" if in_notebook() else os.path.basename(sys.argv[0]) + ": error: "
        raise CannotResume(f"{prog}--resume: cannot continue [{name}] from {ckpt}: {reason} (resume with the "
                           f"model and flags that wrote it, or start afresh: another --out, or no --resume)",
                           ckpt, reason) from None
    return saved["step"], before


def _flat_state(state, objects):
    # An object's state_dict() entries are stored as "<name>.<key>" beside the plain values.
    flat = {k: v for k, v in state.items() if k not in objects}
    for k, obj in objects.items():
        flat.update({f"{k}.{kk}": vv for kk, vv in obj.state_dict().items()})
    return flat


def _restore_state(state, objects, saved):
    orphans = sorted({k.split(".")[0] for k in saved if "." in k} - set(objects))
    if orphans:  # saved by an object this run does not have (another lesson version, another callback)
        raise ValueError(f"state: the checkpoint holds the state of {orphans}, which this run does not keep")
    for k, obj in objects.items():
        prefix = k + "."
        obj.load_state_dict({kk[len(prefix):]: saved.pop(kk) for kk in list(saved) if kk.startswith(prefix)})
    state.update(saved)


def map_batches(fn, *arrays, batch_size=500, device="cpu"):
    """``fn`` over ``arrays`` in chunks of ``batch_size``, without a graph.

    Args:
        fn: takes one Tensor per array (a chunk of rows), returns a Tensor or a
            tuple of Tensors with the chunk's rows first.
        arrays: NumPy arrays with the same first dimension N.

    Returns:
        NumPy array (N, ...), or a tuple of them, the chunks concatenated.

    Raises:
        ValueError: no arrays, or first dimensions differ.
    """
    outs = []
    with no_grad():
        for chunk in _chunks(arrays, batch_size, device):
            out = fn(*chunk)
            outs.append(tuple(o.numpy() for o in out) if isinstance(out, tuple) else out.numpy())
    if outs and isinstance(outs[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*outs))
    return np.concatenate(outs)


def evaluate(fn, *arrays, batch_size=500, device="cpu"):
    """The mean over all rows of the per-batch means ``fn`` returns.

    Args:
        fn: takes one Tensor per array (a chunk), returns a dict name -> the
            chunk's mean (a float or a scalar Tensor), e.g. the test MSE.
        arrays: NumPy arrays with the same first dimension N.

    Returns:
        dict name -> float, each chunk weighted by its number of rows, so the
        result is the exact mean over all N rows.

    Raises:
        ValueError: as for :func:`map_batches`.
    """
    totals = {}
    with no_grad():
        for chunk in _chunks(arrays, batch_size, device):
            rows = chunk[0].shape[0]
            for k, v in fn(*chunk).items():
                totals[k] = totals.get(k, 0.0) + float(v.item() if hasattr(v, "item") else v) * rows
    return {k: v / len(arrays[0]) for k, v in totals.items()}


def tail_means(history, keys, fraction=0.1):
    """The mean of each of ``keys`` over the last ``fraction`` of a training log.

    What a lesson reports as where a run ended, less noisy than the last
    step: e.g. D's outputs over the last 10% of a GAN's steps.

    Args:
        history: the list of per-step records (dicts) that :func:`fit` returns.
        keys: the record keys to average, each a float in every record.
        fraction: in (0, 1]; at least the last record is used.

    Returns:
        dict key -> float.

    Raises:
        ValueError: an empty history, or ``fraction`` outside (0, 1].
        KeyError: a key missing from a record of the tail.
    """
    if not history:
        raise ValueError("history: expected at least one record, got none")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction: expected a number in (0, 1], got {fraction!r}")
    tail = history[-max(1, int(len(history) * fraction + 1e-9)):]   # 1e-9: 0.29 * 100 is just under 29
    return {k: float(np.mean([r[k] for r in tail])) for k in keys}


class Recorder:
    """A :func:`fit` callback that takes measurements at chosen steps and keeps them over ``--resume``.

    ``fit`` checkpoints a callback's ``state_dict()`` and restores it on
    resume, so a lesson's curves over training (FID points, weight
    snapshots) continue where they stopped instead of starting again.

    Args:
        probes: dict name -> (steps, fn): at each of ``steps`` (0 is before
            the first step) ``fn(step)`` is called and its value recorded: a
            float, or a NumPy array of one shape at every step.
        also: optional callable(step) run first at every call, e.g. a
            :class:`tinygen.utils.gan.SampleGif` (checkpointed by ``fit``'s
            ``state``, not here).

    Give ``fit`` ``callback_steps`` that include :attr:`due`, every probe's steps.
    """

    def __init__(self, probes, also=None):
        self.probes = {name: (set(steps), fn) for name, (steps, fn) in probes.items()}
        self.also = also
        self.records = {name: [] for name in probes}

    def __call__(self, step):
        """Run ``also``, then record each probe due at ``step``."""
        if self.also is not None:
            self.also(step)
        for name, (steps, fn) in self.probes.items():
            if step in steps:
                self.records[name].append((step, fn(step)))

    @property
    def due(self):
        """Every step at which some probe is due, sorted: ``fit``'s ``callback_steps`` (with any others)."""
        return sorted(set().union(*(steps for steps, _ in self.probes.values())))

    def steps(self, name):
        """The steps at which probe ``name`` was recorded, in order (list of ints)."""
        return [s for s, _ in self.records[name]]

    def values(self, name):
        """Probe ``name``'s values, in step order (floats or NumPy arrays)."""
        return [v for _, v in self.records[name]]

    def state_dict(self):
        """``{"<name>.steps": [ints], "<name>.values": [floats] or NumPy (S, ...)}`` per probe.

        Raises:
            ValueError: a probe's values mix floats and arrays, or arrays of different shapes.
        """
        state = {}
        for name, rec in self.records.items():
            values = self.values(name)
            if any(isinstance(v, np.ndarray) for v in values):
                if len({np.shape(v) for v in values}) != 1 or not all(isinstance(v, np.ndarray) for v in values):
                    shapes = [np.shape(v) for v in values]
                    raise ValueError(f"probe {name!r}: expected arrays of one shape, got {shapes}")
                values = np.stack(values)
            else:
                values = [float(v) for v in values]
            state[f"{name}.steps"], state[f"{name}.values"] = [int(s) for s in self.steps(name)], values
        return state

    def load_state_dict(self, state):
        """Restore the records that :meth:`state_dict` saved.

        Raises:
            KeyError: a probe has no saved entries.
        """
        for name in self.records:
            values = state[f"{name}.values"]
            values = list(values) if isinstance(values, np.ndarray) else [float(v) for v in values]
            self.records[name] = list(zip([int(s) for s in state[f"{name}.steps"]], values))

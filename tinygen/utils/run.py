"""Plumbing shared by the lesson scripts: command-line flags and the output folder.

Each lesson keeps its model and training loop in view; what is the same in
every lesson (flags, a JSONL loss log that survives a resume, where files go)
lives here.

A lesson's numeric flags are checked where they are declared, by the
``type=`` of ``add_argument``: :func:`positive_int`, :func:`nonnegative_int`,
:func:`positive_float`, :func:`nonnegative_float`, :func:`probability`,
:func:`open_unit`, :func:`beta`, or :func:`bounded` and :func:`int_list` for
other ranges. Each rejects NaN and infinities, so a bad value ends in
argparse's one line ``prog: error: argument --flag: expected ..., got ...``
(exit status 2) before anything is loaded.
"""
import argparse
import functools
import json
import math
import os
import sys

from ..backend import cuda_available
from .fileio import atomic_write_bytes
from .viz import append_jsonl, read_jsonl


# ---------------------------------------------------------------- flag types
def _interval(low, high, open_low, open_high):
    if high is None:
        return f"{'>' if open_low else '>='} {low:g}"
    if low is None:
        return f"{'<' if open_high else '<='} {high:g}"
    return f"in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"


def _shown(text):
    return text if text.strip() == text and text else repr(text)


def bounded(kind=float, low=None, high=None, open_low=False, open_high=False):
    """An argparse ``type=`` for a finite number in a range, e.g. ``bounded(float, 0, 4, True, True)`` for (0, 4).

    Args:
        kind: ``int`` or ``float``, what the flag's text is parsed as.
        low, high: the bounds (None: unbounded on that side).
        open_low, open_high: True excludes that bound.

    Returns:
        a function str -> ``kind`` for ``parser.add_argument(..., type=...)``.
        It raises ``argparse.ArgumentTypeError("expected an integer >= 1,
        got 0")`` (NaN and infinities are never accepted), which argparse
        prints as ``prog: error: argument --flag: expected ..., got ...``
        and exits with status 2.
    """
    expected = ("an integer " if kind is int else "a finite number ") + _interval(low, high, open_low, open_high)

    def check(text):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            value = None
        if (value is None or not math.isfinite(value)
                or (low is not None and (value <= low if open_low else value < low))
                or (high is not None and (value >= high if open_high else value > high))):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {_shown(text)}")
        return value

    check.__name__ = check.__qualname__ = f"{kind.__name__}_{_interval(low, high, open_low, open_high)}"
    check.__doc__ = f"Flag type: the text as {expected}; else ``argparse.ArgumentTypeError``."
    return check


def int_list(low=None):
    """An argparse ``type=`` for comma-separated integers, each >= ``low``: ``"10,100"`` -> ``[10, 100]``.

    Returns:
        a function str -> list of int, raising ``argparse.ArgumentTypeError``
        (``expected comma-separated integers >= 10, got 5,100``) on an
        empty item, a non-integer or one below ``low``.
    """
    item = bounded(int, low)
    expected = "comma-separated integers" + ("" if low is None else f" >= {low}")

    def check(text):
        try:
            return [item(v) for v in text.split(",")]
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {_shown(text)}") from None

    check.__name__ = check.__qualname__ = "int_list"
    check.__doc__ = f"Flag type: the text as {expected}; else ``argparse.ArgumentTypeError``."
    return check


def _named(name, doc, check):
    check.__name__ = check.__qualname__ = name
    check.__doc__ = doc
    return check


positive_int = _named("positive_int", "Flag type: an integer >= 1 (a count, a size, a number of steps).",
                      bounded(int, 1))
nonnegative_int = _named("nonnegative_int", "Flag type: an integer >= 0 (a seed; a count where 0 means none).",
                         bounded(int, 0))
positive_float = _named("positive_float", "Flag type: a finite number > 0 (a learning rate, a noise scale).",
                        bounded(float, 0, open_low=True))
nonnegative_float = _named("nonnegative_float", "Flag type: a finite number >= 0 (a loss weight; 0 switches "
                           "the term off).", bounded(float, 0))
probability = _named("probability", "Flag type: a number in [0, 1].", bounded(float, 0, 1))
open_unit = _named("open_unit", "Flag type: a number in (0, 1), e.g. a probability whose log and log(1 - p) "
                   "are taken.", bounded(float, 0, 1, open_low=True, open_high=True))
beta = _named("beta", "Flag type: a number in [0, 1), e.g. Adam's β1, a decay rate (1 would never forget).",
              bounded(float, 0, 1, open_high=True))


def _error(parser, message):
    # The parser's error(): argparse's on the command line (usage, "prog: error: message",
    # exit status 2); a ValueError in a notebook, where exiting would only print "SystemExit: 2".
    if in_notebook():
        raise ValueError(message) from None
    argparse.ArgumentParser.error(parser, message)


def lesson_parser(description, steps, batch_size=64, out=None, datasets=("fashion-mnist", "mnist", "folder")):
    """An ``argparse.ArgumentParser`` with the flags every lesson takes.

    --steps and --batch-size (integers >= 1), --device {cpu,cuda}, --seed
    (an integer >= 0), --quick, --out, --resume, --dataset (one of
    ``datasets``), --data-dir, --image-size (an integer >= 1). Lessons add
    their own flags to the returned parser, each with one of this module's
    checking types. A lesson that needs labels and a test split passes
    ``datasets=("fashion-mnist", "mnist")``.

    Its ``error()`` (argparse's, and every check of :func:`parse_args`)
    prints usage and ``prog: error: message`` and exits with status 2 on the
    command line, and raises ``ValueError(message)`` in a notebook
    (:func:`in_notebook`), where exiting would only print ``SystemExit: 2``.
    """
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.error = functools.partial(_error, p)
    p.add_argument("--steps", type=positive_int, default=steps, help="training iterations")
    p.add_argument("--batch-size", type=positive_int, default=batch_size)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--quick", action="store_true", help="a few steps on a small subset (for tests)")
    p.add_argument("--out", default=out, help="output folder (default: runs/<lesson>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint(s) in --out")
    p.add_argument("--dataset", default=datasets[0], choices=list(datasets))
    p.add_argument("--data-dir", default=None, help="folder holding the dataset (required for 'folder')")
    p.add_argument("--image-size", type=positive_int, default=None,
                   help="side length for --dataset folder (default 64)")
    return p


def in_notebook():
    """True when the code runs in Jupyter/IPython or cell by cell (``__main__`` has no ``__file__``)."""
    ipython = sys.modules.get("IPython")
    if ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None:
        return True
    return not hasattr(sys.modules.get("__main__"), "__file__")


def flag_error(parser, flag, message, exc_type=ValueError):
    """Report a bad command-line flag that no ``type=`` can check alone (it depends on other flags):
    as argparse does on the command line (usage, then ``prog: error: --flag:
    message``, exit status 2, no traceback); as an exception in a notebook,
    where exiting would only print ``SystemExit: 2``.

    Raises:
        SystemExit: (command line) status 2, via ``parser.error``.
        exc_type: (notebook) with the message ``"--flag: message"``.
    """
    text = f"{flag}: {message}"
    if in_notebook():
        raise exc_type(text)
    parser.error(text)


def parse_args(parser, argv=None, quick=None):
    """Parse flags, ignoring unknown ones (so a lesson also runs cell by cell in an editor/Jupyter),
    and check the set-up they describe before anything is loaded or built.

    Args:
        parser: from :func:`lesson_parser`. argv: None reads ``sys.argv``.
        quick: dict flag name -> value that ``--quick`` uses instead of the
            default (e.g. ``{"steps": 5, "batch_size": 16}``); a flag given
            explicitly on the command line still wins.

    Each flag's own range is checked by its ``type=`` while parsing. Then:
    ``--device cuda`` needs a usable GPU; ``--dataset folder`` needs
    ``--data-dir``; a given ``--data-dir`` must be a folder; ``--image-size``
    must be 28 (or absent) for the 28x28 IDX datasets; ``--resume`` needs a
    checkpoint (a ``.npz`` file) somewhere in ``--out``.

    Raises:
        SystemExit: (command line, via :func:`flag_error` or argparse) a check
            fails; the one error line names the flag, what was expected and
            what was given; exit status 2.
        ValueError, RuntimeError, FileNotFoundError: (notebook) the same message.
    """
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        for name, value in (quick or {}).items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    _check_setup(parser, args)
    return args


def _has_checkpoint(folder):
    return any(name.endswith(".npz") for _, _, names in os.walk(folder) for name in names)


def _check_setup(parser, args):
    # What would otherwise fail later, with a traceback, in model.to() or the data loader.
    if getattr(args, "device", "cpu") == "cuda" and not cuda_available():
        flag_error(parser, "--device", "expected cpu or a usable GPU, got cuda, but CuPy or an NVIDIA GPU "
                   "is missing here (install cupy-cuda12x, see README, or use --device cpu)", RuntimeError)
    dataset, data_dir = getattr(args, "dataset", None), getattr(args, "data_dir", None)
    if dataset == "folder" and data_dir is None:
        flag_error(parser, "--data-dir", "expected a folder of JPEG/PNG images with --dataset folder, got none")
    if data_dir is not None and not os.path.isdir(data_dir):
        flag_error(parser, "--data-dir", f"expected a folder, got {data_dir!r}, which "
                   + ("is not a folder" if os.path.exists(data_dir) else "does not exist"), FileNotFoundError)
    size = getattr(args, "image_size", None)
    if dataset in ("fashion-mnist", "mnist") and size not in (None, 28):
        flag_error(parser, "--image-size", f"expected 28 (or no --image-size) for --dataset {dataset}, "
                   f"whose images are 28x28, got {size}; resizing applies to --dataset folder")
    out = getattr(args, "out", None)
    if getattr(args, "resume", False) and out is not None and not _has_checkpoint(out):
        flag_error(parser, "--resume", f"expected a checkpoint (.npz) in --out {out} to continue from, got none"
                   f" (run without --resume to start)", FileNotFoundError)


class RunDir:
    """An output folder: JSON-lines logs, checkpoints and the pictures.

    Args:
        path: the folder (created). resume_step: when resuming from a
            checkpoint taken at this step, records of ``log.jsonl`` after it
            (written by the interrupted run after its last checkpoint) are
            dropped, so the log has each step once. None starts a fresh log.
    """

    def __init__(self, path, resume_step=None):
        self.path = path
        os.makedirs(path, exist_ok=True)
        self.reset_log("log", resume_step)

    def file(self, name):
        """Path of ``name`` inside the run folder."""
        return os.path.join(self.path, name)

    @property
    def checkpoint(self):
        """Path (str) of the run's resumable checkpoint, ``<path>/checkpoint.npz`` (it may not exist yet)."""
        return self.file("checkpoint.npz")

    def reset_log(self, name="log", resume_step=None):
        """Start ``<name>.jsonl`` afresh (resume_step None) or keep its records up to ``resume_step``."""
        path = self.file(name + ".jsonl")
        if not os.path.exists(path):
            return
        if resume_step is None:
            os.remove(path)
        else:
            kept = [r for r in read_jsonl(path) if r.get("step", 0) <= resume_step]
            atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in kept).encode())

    def log(self, record, name="log"):
        """Append one JSON record (a dict of numbers) to ``<name>.jsonl``."""
        append_jsonl(self.file(name + ".jsonl"), record)

    def save_metrics(self, metrics):
        """Write ``metrics`` (a dict of numbers) to ``metrics.json``, atomically; returns the path."""
        return atomic_write_bytes(self.file("metrics.json"), (json.dumps(metrics, indent=2) + "\n").encode())

    def history(self, name="log"):
        """All records in ``<name>.jsonl``, oldest first."""
        path = self.file(name + ".jsonl")
        return read_jsonl(path) if os.path.exists(path) else []

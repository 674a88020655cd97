"""Plumbing shared by the lesson scripts: command-line flags and the output folder.

Each lesson keeps its model and training loop in view; what is the same in
every lesson (flags, a JSONL loss log that survives a resume, where files go)
lives here.
"""
import argparse
import json
import os
import sys

from ..backend import cuda_available
from .fileio import atomic_write_bytes
from .viz import append_jsonl, read_jsonl


def lesson_parser(description, steps, batch_size=64, out=None, datasets=("fashion-mnist", "mnist", "folder")):
    """An ``argparse`` parser with the flags every lesson takes.

    --steps, --batch-size, --device {cpu,cuda}, --seed, --quick, --out,
    --resume, --dataset (one of ``datasets``), --data-dir, --image-size.
    Lessons add their own flags to the returned parser. A lesson that needs
    labels and a test split passes ``datasets=("fashion-mnist", "mnist")``.
    """
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--steps", type=int, default=steps, help="training iterations")
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a few steps on a small subset (for tests)")
    p.add_argument("--out", default=out, help="output folder (default: runs/<lesson>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.add_argument("--dataset", default=datasets[0], choices=list(datasets))
    p.add_argument("--data-dir", default=None, help="folder holding the dataset (required for 'folder')")
    p.add_argument("--image-size", type=int, default=None, help="side length for --dataset folder (default 64)")
    return p


def in_notebook():
    """True when the code runs in Jupyter/IPython or cell by cell (``__main__`` has no ``__file__``)."""
    ipython = sys.modules.get("IPython")
    if ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None:
        return True
    return not hasattr(sys.modules.get("__main__"), "__file__")


def flag_error(parser, flag, message, exc_type=ValueError):
    """Report a bad command-line flag: as argparse does on the command line
    (usage, then ``prog: error: --flag: message``, exit status 2, no
    traceback); as an exception in a notebook, where exiting would only
    print ``SystemExit: 2``.

    Raises:
        SystemExit: (command line) status 2, via ``parser.error``.
        exc_type: (notebook) with the message ``"--flag: message"``.
    """
    text = f"{flag}: {message}"
    if in_notebook():
        raise exc_type(text)
    parser.error(text)


def parse_args(parser, argv=None, quick=None, positive=()):
    """Parse flags, ignoring unknown ones (so a lesson also runs cell by cell in an editor/Jupyter),
    and check the set-up they describe before anything is loaded or built.

    Args:
        parser: from :func:`lesson_parser`. argv: None reads ``sys.argv``.
        quick: dict flag name -> value that ``--quick`` uses instead of the
            default (e.g. ``{"steps": 5, "batch_size": 16}``); a flag given
            explicitly on the command line still wins.
        positive: names of further integer flags that must be >= 1
            (``steps`` and ``batch_size`` always are checked).

    Checks: ``--device cuda`` needs a usable GPU; ``--dataset folder`` needs
    ``--data-dir``; a given ``--data-dir`` must be a folder; ``--image-size``
    must be 28 (or absent) for the 28x28 IDX datasets, and >= 1 for a folder.

    Raises:
        SystemExit: (command line, via :func:`flag_error`) a check fails; the
            one error line names the flag, what was expected and what was given.
        ValueError, RuntimeError, FileNotFoundError: (notebook) the same message.
    """
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        for name, value in (quick or {}).items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    for name in ("steps", "batch_size", *positive):
        if getattr(args, name) < 1:
            flag_error(parser, f"--{name.replace('_', '-')}", f"expected an integer >= 1, got {getattr(args, name)}")
    _check_setup(parser, args)
    return args


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
    if dataset == "folder" and size is not None and size < 1:
        flag_error(parser, "--image-size", f"expected an integer >= 1, got {size}")


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

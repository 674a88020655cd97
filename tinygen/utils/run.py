"""Plumbing shared by the lesson scripts: command-line flags and the output folder.

Each lesson keeps its model and training loop in view; what is the same in
every lesson (flags, a JSONL loss log that survives a resume, where files go)
lives here.
"""
import argparse
import json
import os

from .fileio import atomic_write_bytes
from .viz import append_jsonl, read_jsonl


def lesson_parser(description, steps, batch_size=64, out=None):
    """An ``argparse`` parser with the flags every lesson takes.

    --steps, --batch-size, --device {cpu,cuda}, --seed, --quick, --out,
    --resume, --dataset {fashion-mnist,mnist,folder}, --data-dir, --image-size.
    Lessons add their own flags to the returned parser.
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
    p.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist", "folder"])
    p.add_argument("--data-dir", default=None, help="folder holding the dataset (required for 'folder')")
    p.add_argument("--image-size", type=int, default=None, help="side length for --dataset folder (default 64)")
    return p


def parse_args(parser, argv=None, quick=None, positive=()):
    """Parse flags, ignoring unknown ones (so a lesson also runs cell by cell in an editor/Jupyter).

    Args:
        parser: from :func:`lesson_parser`. argv: None reads ``sys.argv``.
        quick: dict flag name -> value that ``--quick`` uses instead of the
            default (e.g. ``{"steps": 5, "batch_size": 16}``); a flag given
            explicitly on the command line still wins.
        positive: names of further integer flags that must be >= 1
            (``steps`` and ``batch_size`` always are checked).

    Raises:
        SystemExit (via ``parser.error``): a checked flag is < 1; the message
        names the flag and the value given.
    """
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        for name, value in (quick or {}).items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    for name in ("steps", "batch_size", *positive):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: expected an integer >= 1, got {getattr(args, name)}")
    return args


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

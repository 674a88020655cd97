"""Atomic file writes: nothing is lost if a run is killed mid-save.

The data goes to a temporary file in the target's folder, is flushed to
disk, then renamed over the target with ``os.replace``, which is atomic on
POSIX. A reader sees the old file or the new one, never half of one.
"""
import contextlib
import os
import pathlib
import tempfile


@contextlib.contextmanager
def atomic_open(path):
    """``with atomic_open(path) as f: f.write(...)``: binary file object; the
    target appears (or is replaced) only if the block completes.

    Parent folders are created. The file gets the usual permissions
    (0666 minus the umask), not mkstemp's 0600.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes) to ``path`` atomically; returns the path as a ``pathlib.Path``."""
    with atomic_open(path) as f:
        f.write(data)
    return pathlib.Path(path)

"""Both cores for NumPy's memory-bound work: the one place the engine uses threads.

NumPy runs every ufunc and copy on one thread, at memory speed. The GEMMs
already use every core (OpenBLAS has its own threads), but between them the
engine copies columns (im2col, col2im), applies masks (ReLU, LeakyReLU) and
updates Adam's moments on one core while the other idles. NumPy's ufuncs and
slice copies release the GIL, so two Python threads, each working on its own
slab of the same arrays through ``out=`` slices, run on two cores at once.
This is what PyTorch does with its intra-op thread pool (``torch.set_num_threads``).

:func:`parallel_for` is the whole mechanism: it cuts ``range(n)`` into one
contiguous chunk per thread and calls ``body(lo, hi)`` for each, the calling
thread doing the first. A body must touch only its own chunk, so the result is
the same, bit for bit, as one call ``body(0, n)``: each element is computed by
the same ufunc on the same inputs whichever thread does it
(tests/test_threads.py checks this for every kernel that uses it).

Work below ``min_items`` elements stays on one thread: handing a chunk to
another thread costs tens of microseconds, more than a small copy.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

MIN_ITEMS = 1 << 16   # elements below which splitting costs more than it saves (64K float32 = 256 KB)


def _default_threads():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not Linux
        return max(1, os.cpu_count() or 1)


_num_threads = _default_threads()
_pool = None
_pool_lock = threading.Lock()


def get_num_threads():
    """The number of threads the engine's memory-bound kernels use (an int >= 1), as
    ``torch.get_num_threads``. Defaults to the cores this process may run on."""
    return _num_threads


def set_num_threads(n):
    """Use ``n`` threads for the engine's memory-bound kernels, as ``torch.set_num_threads``.

    1 runs everything on the calling thread. It does not change how many threads
    the BLAS library uses for matrix products (``OPENBLAS_NUM_THREADS`` does).

    Raises:
        ValueError: ``n`` is not an int >= 1.
    """
    global _num_threads, _pool
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected an int >= 1, got {n!r}")
    with _pool_lock:
        if _pool is not None and n != _num_threads:
            _pool.shutdown(wait=True)
            _pool = None
        _num_threads = n


def _forget_pool():   # a forked child has the pool object but not its threads: start afresh
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _get_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_num_threads - 1, thread_name_prefix="tinygen")
        return _pool


_inside = threading.local()   # .active (unset: False): this thread is running a chunk of a parallel_for


def _marked(body, lo, hi):
    was = getattr(_inside, "active", False)
    _inside.active = True
    try:
        body(lo, hi)
    finally:
        _inside.active = was


def parallel_for(n, body, work=None, min_items=MIN_ITEMS):
    """Call ``body(lo, hi)`` over contiguous chunks that cover ``range(n)``, one per thread.

    Args:
        n: int >= 0, the length of the axis being split (for example an array's first axis).
        body: callable(lo, hi) that works on items lo..hi-1 only and returns nothing.
        work: the total number of elements the call touches (default ``n``); with fewer
            than ``min_items``, or one thread, or n < 2, ``body(0, n)`` runs on the calling thread.
        min_items: the threshold for splitting.

    Raises:
        whatever a body raises (the first, after every chunk has finished).
    """
    threads = min(_num_threads, n)
    if threads < 2 or (n if work is None else work) < min_items or getattr(_inside, "active", False):
        # (a body that itself calls parallel_for runs its loop alone: waiting there on
        # the pool's threads, which may all be busy with this very call, could never end)
        if n:
            body(0, n)
        return
    bounds = [n * i // threads for i in range(threads + 1)]
    futures = [_get_pool().submit(_marked, body, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:])]
    try:
        _marked(body, bounds[0], bounds[1])
    finally:
        errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e


def split_axis(a):
    """The axis of ``a`` to split so that each chunk is one block of memory: the one with the
    largest stride (among axes longer than 1; 0 for a 0-d or 1-element array)."""
    best, best_stride = 0, -1
    for axis, (size, stride) in enumerate(zip(a.shape, a.strides)):
        if size > 1 and abs(stride) > best_stride:
            best, best_stride = axis, abs(stride)
    return best


def elementwise(fn, *arrays, out):
    """``fn(*chunks, out=out_chunk)`` over matching slabs of same-shape arrays, in parallel.

    Args:
        fn: a ufunc-like callable(*inputs, out=...) that writes its result into ``out``.
        arrays: NumPy arrays of ``out``'s shape (no broadcasting), or scalars, passed whole.
        out: the NumPy array that receives the result; the split follows its memory layout.

    Returns:
        out.
    """
    if out.ndim == 0 or any(getattr(a, "shape", out.shape) != out.shape for a in arrays if getattr(a, "ndim", 0)):
        fn(*arrays, out=out)
        return out
    axis = split_axis(out)

    def body(lo, hi):
        idx = tuple(slice(lo, hi) if i == axis else slice(None) for i in range(out.ndim))
        fn(*(a[idx] if getattr(a, "ndim", 0) else a for a in arrays), out=out[idx])   # scalars whole

    parallel_for(out.shape[axis], body, work=out.size)
    return out

"""Keep freed memory for reuse instead of handing it back to the OS (Linux with glibc).

A training step allocates and frees the same large arrays every time: the
column matrices of im2col (25 MB for the benchmark's big transposed conv),
GEMM outputs, activations and their gradients. glibc's malloc serves blocks
above a threshold with a fresh ``mmap`` and returns them with ``munmap`` when
freed, so every step faults the same pages in again, one 4 KB page at a time,
and the kernel zeroes each one. PyTorch avoids this with its caching
allocators. tinygen asks glibc for the same effect through ``mallopt``:
blocks come from the heap (``M_MMAP_MAX`` 0), and freed memory at its top
stays mapped up to 2 GB (``M_TRIM_THRESHOLD``, with ``M_TOP_PAD`` 64 MB of
slack), so the next step reuses pages that are already there. On the
project's 2-core CPU this took the benchmark's generator step from 73 to
62 ms and its critic step from 68 to 60 ms (README, Benchmark).

The cost: the process keeps its peak heap, as PyTorch's allocators do. Set
the environment variable ``TINYGEN_KEEP_MEMORY=0`` before importing tinygen
to leave malloc as it is. Elsewhere (no glibc) this does nothing.
"""
import ctypes
import os

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4   # glibc's malloc.h
SETTINGS = ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2 ** 31 - 1), (M_TOP_PAD, 64 << 20))


def keep_freed_memory():
    """Apply :data:`SETTINGS` with glibc's ``mallopt``, once per process.

    Returns:
        True when glibc accepted every setting; False when it is switched off
        (``TINYGEN_KEEP_MEMORY=0``) or this is not glibc.
    """
    if os.environ.get("TINYGEN_KEEP_MEMORY", "1") == "0":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):   # not glibc: musl, macOS, Windows
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in SETTINGS)


KEPT = keep_freed_memory()

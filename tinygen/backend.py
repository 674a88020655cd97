"""Array backends: NumPy on the CPU, CuPy on an NVIDIA GPU.

Every op is written once against an *array module* ``xp`` (``numpy`` or
``cupy``); :func:`get_array_module` picks it from the data. The random number
generator lives here too, so that :func:`manual_seed` makes a run reproducible
and a checkpoint can save and restore its state.
"""
import numpy as np

try:  # CuPy is optional: only GPU machines install it.
    import cupy as _cupy
except Exception:  # ImportError, or a CUDA library that fails to load
    _cupy = None


def cuda_available():
    """True when CuPy imports and sees at least one CUDA device."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver
        return False


def get_array_module(array):
    """Return ``cupy`` for a CuPy array, else ``numpy``."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def device_of(array):
    """``"cuda"`` for a CuPy array, ``"cpu"`` for anything else."""
    return "cuda" if get_array_module(array) is not np else "cpu"


def as_device(array, device):
    """Move ``array`` to ``device`` (``"cpu"`` or ``"cuda"``), copying only if needed.

    Raises:
        ValueError: ``device`` is neither ``"cpu"`` nor ``"cuda"``.
        RuntimeError: ``"cuda"`` was asked for but no GPU is usable.
    """
    if device in (None, "cpu"):
        return array.get() if device_of(array) == "cuda" else np.asarray(array)
    if device == "cuda":
        if not cuda_available():
            raise RuntimeError("device='cuda' needs CuPy and an NVIDIA GPU; "
                               "install cupy-cuda12x (see README) or use device='cpu'")
        return _cupy.asarray(array)
    raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")


def xp_for(device):
    """The array module for ``device`` (``"cpu"`` or ``"cuda"``)."""
    if device == "cuda":
        as_device(np.zeros(0), "cuda")  # raises a clear error if unusable
        return _cupy
    return np


# ---------------------------------------------------------------- randomness
class _RNG:
    """The global random state: one NumPy PCG64 generator, for both backends.

    There is no CuPy generator: random tensors (``randn``, ``rand``, layer
    init, dropout masks) are drawn on the CPU and moved to the device, so a
    seed gives the same numbers on NumPy and CuPy, and a checkpoint holds
    one state. The price is a host-to-device copy per random tensor.
    """

    def __init__(self, seed=0):
        self.generator = np.random.default_rng(seed)


_rng = _RNG()


def manual_seed(seed):
    """Seed tinygen's global generator (used by ``randn``, ``rand``, layer init,
    dropout) so that a run is reproducible.

    Args:
        seed: int >= 0.
    """
    _rng.generator = np.random.default_rng(seed)


def default_generator():
    """The global ``numpy.random.Generator`` that tinygen draws from."""
    return _rng.generator


def get_rng_state():
    """The global generator's state as a JSON-serialisable dict (for checkpoints)."""
    return _rng.generator.bit_generator.state


def set_rng_state(state):
    """Restore a state returned by :func:`get_rng_state`."""
    g = np.random.default_rng()
    g.bit_generator.state = state
    _rng.generator = g

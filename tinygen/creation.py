"""Making tensors: from data, constant-filled, or random."""
import numpy as np

from .autograd import Tensor
from .backend import as_device, default_generator, device_of, get_array_module


def _dtype(dtype, default="float32"):
    return np.dtype(dtype if dtype is not None else default)


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new leaf Tensor holding a copy of ``data``.

    Args:
        data: nested lists, a scalar, a NumPy/CuPy array, or a Tensor.
        requires_grad: record ops on it and give it a ``.grad``.
        dtype: e.g. ``"float32"`` (the default for Python floats) or
            ``"float64"``. An array's own dtype is kept when None.
        device: ``"cpu"`` (default) or ``"cuda"``.

    Raises:
        ValueError: unknown device. RuntimeError: ``"cuda"`` without a GPU.
    """
    if isinstance(data, Tensor):
        data = data.data
    if hasattr(data, "dtype"):  # an array: keep its dtype and device unless told
        device = device or device_of(data)
        arr = get_array_module(data).array(data, dtype=dtype, copy=True)
    else:
        arr = np.array(data, dtype=dtype)
        if dtype is None and arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
    return Tensor(as_device(arr, device or "cpu"), requires_grad=requires_grad)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros; ``zeros(2, 3)`` or ``zeros((2, 3))``. float32 by default."""
    return tensor(np.zeros(_shape(shape), _dtype(dtype)), requires_grad, device=device)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of ones; float32 by default."""
    return tensor(np.ones(_shape(shape), _dtype(dtype)), requires_grad, device=device)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal samples N(0, 1) from the global generator (see ``manual_seed``)."""
    data = default_generator().standard_normal(_shape(shape), dtype=np.float64).astype(_dtype(dtype))
    return tensor(data, requires_grad, device=device)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform samples on [0, 1) from the global generator."""
    data = default_generator().random(_shape(shape), dtype=np.float64).astype(_dtype(dtype))
    return tensor(data, requires_grad, device=device)


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)

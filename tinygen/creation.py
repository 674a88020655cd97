"""Making tensors: from data, constant-filled, ranges, or random (PyTorch's names and defaults)."""
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


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros; ``zeros(2, 3)`` or ``zeros((2, 3))``. float32 by default."""
    return tensor(np.zeros(_shape(size), _dtype(dtype)), requires_grad, device=device)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones; ``ones(2, 3)`` or ``ones((2, 3))``. float32 by default."""
    return tensor(np.ones(_shape(size), _dtype(dtype)), requires_grad, device=device)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal samples N(0, 1) from the global generator (see ``manual_seed``)."""
    data = default_generator().standard_normal(_shape(size), dtype=np.float64).astype(_dtype(dtype))
    return tensor(data, requires_grad, device=device)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform samples on [0, 1) from the global generator."""
    data = default_generator().random(_shape(size), dtype=np.float64).astype(_dtype(dtype))
    return tensor(data, requires_grad, device=device)


def _shape(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ``size`` whose values are not set (zeros here; never rely on them)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of shape ``size`` filled with ``fill_value``, as ``torch.full``.

    The dtype follows the value when not given: float32 for a float, int64 for
    an int, bool for a bool.
    """
    if dtype is None:
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64 if isinstance(fill_value, int) else "float32"
    return tensor(np.full(_shape((size,)), fill_value, _dtype(dtype)), requires_grad, device=device)


def _like(input, dtype, device):
    return dict(dtype=input.dtype if dtype is None else dtype, device=input.device if device is None else device)


def zeros_like(input, dtype=None, device=None, requires_grad=False):
    """Zeros of ``input``'s shape, dtype and device (unless given), as ``torch.zeros_like``."""
    return zeros(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def ones_like(input, dtype=None, device=None, requires_grad=False):
    """Ones of ``input``'s shape, dtype and device (unless given), as ``torch.ones_like``."""
    return ones(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def empty_like(input, dtype=None, device=None, requires_grad=False):
    """An unset tensor of ``input``'s shape, dtype and device (zeros here), as ``torch.empty_like``."""
    return zeros_like(input, dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    """``fill_value`` in ``input``'s shape, dtype and device (unless given), as ``torch.full_like``."""
    like = _like(input, dtype, device)
    return full(input.shape, fill_value, dtype=like["dtype"], device=like["device"], requires_grad=requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad=False):
    """N(0, 1) samples of ``input``'s shape, dtype and device, as ``torch.randn_like``."""
    return randn(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def rand_like(input, dtype=None, device=None, requires_grad=False):
    """U[0, 1) samples of ``input``'s shape, dtype and device, as ``torch.rand_like``."""
    return rand(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """The numbers start, start + step, ... below ``end``, as ``torch.arange``
    (``arange(n)`` is 0..n-1). int64 when every argument is an int, else float32.

    Raises:
        ValueError: ``step`` is 0.
    """
    if step == 0:
        raise ValueError("step: expected a non-zero step, got 0")
    if end is None:
        start, end = 0, start
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dtype = _dtype(dtype, np.int64 if ints else "float32")
    return tensor(np.arange(start, end, step).astype(dtype), requires_grad, device=device)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced numbers from ``start`` to ``end`` inclusive, float32 by
    default, as ``torch.linspace``.

    Raises:
        ValueError: ``steps`` below 0.
    """
    if steps < 0:
        raise ValueError(f"steps: expected an int >= 0, got {steps}")
    return tensor(np.linspace(start, end, steps).astype(_dtype(dtype)), requires_grad, device=device)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The n x m identity matrix (m defaults to n), float32 by default, as ``torch.eye``."""
    return tensor(np.eye(n, m, dtype=_dtype(dtype)), requires_grad, device=device)


def randint(low, high=None, size=None, dtype=None, device=None):
    """Integers drawn uniformly from [low, high) (``randint(high, size)`` starts at 0),
    int64 by default, from the global generator, as ``torch.randint``.

    Raises:
        ValueError: no ``size``, or ``high <= low``.
    """
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if size is None:
        raise ValueError("size: expected a shape tuple, got None")
    if high <= low:
        raise ValueError(f"high: expected a value above low = {low}, got {high}")
    data = default_generator().integers(low, high, _shape((size,)))
    return tensor(data.astype(_dtype(dtype, np.int64)), device=device)


def randperm(n, dtype=None, device=None):
    """A random permutation of 0..n-1 (int64 by default) from the global generator, as ``torch.randperm``."""
    return tensor(default_generator().permutation(n).astype(_dtype(dtype, np.int64)), device=device)


def from_numpy(ndarray):
    """A Tensor sharing ``ndarray``'s memory and dtype (no copy), as ``torch.from_numpy``.

    Raises:
        TypeError: ``ndarray`` is not a NumPy array.
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"ndarray: expected a numpy.ndarray, got {type(ndarray).__name__}")
    return Tensor(ndarray)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a Tensor, without a copy when it already is an array (or a Tensor)
    of that dtype and device, as ``torch.as_tensor``."""
    if isinstance(data, Tensor):
        data = data.data
    if hasattr(data, "dtype") and (dtype is None or np.dtype(dtype) == data.dtype) \
            and (device is None or device == device_of(data)):
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device)

"""tinygen: a small deep-learning engine, written to teach autoencoders and GANs.

    import tinygen as tg
    x = tg.randn(4, 3, requires_grad=True)
    y = (x * x).sum()
    y.backward()           # x.grad == 2 x

The names are PyTorch's: ``tg.cat``, ``tg.float32``, ``x.sum(dim=1, keepdim=True)``,
``x.transpose(0, 1)``, ``import tinygen.nn.functional as F``. The README's table
lists the few places where tinygen differs, and why.

The package map. **The engine** (what a textbook reader studies):

``autograd.py``    ``Tensor``, ``Function``, the backward pass, ``grad()``, ``no_grad()``
``backend.py``     NumPy or CuPy, devices, the random generator
``creation.py``    ``tensor``, ``zeros``, ``arange``, ``randn``, ``zeros_like``, ...
``ops/``           one file per op family, each backward beside its forward;
                   ``ops/__init__.py`` attaches them to Tensor as methods
``kernels/``       im2col/col2im for NumPy and for CUDA
``functional.py``  ``torch.nn.functional``'s functions with their argument checks
                   (also importable as ``tinygen.nn.functional``)
``nn/``            ``Module``, ``Parameter``, layers, normalisation, recurrent cells, init
``optim/``         SGD, Adam, RMSprop, ``lr_scheduler``
``gradcheck.py``   ``gradcheck`` and ``gradgradcheck`` (finite differences, float64)

**The workbench** (``tinygen.utils``: data, pictures, checkpoints, the
lessons' training loop, benchmark) sits apart; the engine never imports it.
"""
import numpy as _np

from .kernels import memory as _memory  # noqa: F401  (keeps freed memory for reuse: see its docstring)
from . import ops  # noqa: F401  (attaches Tensor operators)
from . import autograd  # noqa: F401  (tg.autograd.grad, as torch.autograd.grad)
from .autograd import (Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad,  # noqa: F401
                       set_grad_enabled)
from .backend import cuda_available, get_rng_state, manual_seed, set_rng_state  # noqa: F401
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,  # noqa: F401
                       linspace, ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm,
                       tensor, zeros, zeros_like)
from .ops.activation import clamp, logsumexp, maximum, minimum, relu, sigmoid, tanh, where  # noqa: F401
from .ops.arith import abs, bmm, exp, log, matmul, pow, sqrt  # noqa: F401
from .ops.reduce import amax, amin, argmax, argmin, broadcast_to, mean, std, sum, var  # noqa: F401
from .ops.select import max, min  # noqa: F401
from .ops.shape import (cat, chunk, clone, flatten, permute, reshape, split, squeeze, stack,  # noqa: F401
                        transpose, unflatten, unsqueeze)
from . import functional, nn, optim  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from .kernels.threads import get_num_threads, set_num_threads  # noqa: F401

# dtypes, as torch.float32 etc. (NumPy dtypes: ``x.dtype == tg.float32`` holds)
float16 = half = _np.dtype("float16")
float32 = float = _np.dtype("float32")
float64 = double = _np.dtype("float64")
int32 = int = _np.dtype("int32")
int64 = long = _np.dtype("int64")
uint8 = _np.dtype("uint8")
bool = _np.dtype("bool")

concat = concatenate = cat  # PyTorch's aliases of cat
clip = clamp
mm = matmul


def numel(input):
    """The number of elements of ``input``, as ``torch.numel``."""
    return input.numel()


def is_tensor(obj):
    """True if ``obj`` is a tinygen Tensor, as ``torch.is_tensor``."""
    return isinstance(obj, Tensor)


def softmax(input, dim):
    """``F.softmax(input, dim)``, as ``torch.softmax``."""
    return functional.softmax(input, dim)


def log_softmax(input, dim):
    """``F.log_softmax(input, dim)``, as ``torch.log_softmax``."""
    return functional.log_softmax(input, dim)


def lerp(input, end, weight):
    """``input + weight (end - input)``, as ``torch.lerp``."""
    return input.lerp(end, weight)


def isfinite(input):
    """A bool tensor: True where ``input`` is neither inf nor nan, as ``torch.isfinite``."""
    from .backend import get_array_module
    return Tensor(get_array_module(input.data).isfinite(input.data))


def isnan(input):
    """A bool tensor: True where ``input`` is nan, as ``torch.isnan``."""
    from .backend import get_array_module
    return Tensor(get_array_module(input.data).isnan(input.data))

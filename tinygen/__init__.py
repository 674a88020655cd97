"""tinygen: a small deep-learning engine, written to teach autoencoders and GANs.

    import tinygen as tg
    x = tg.randn(4, 3, requires_grad=True)
    y = (x * x).sum()
    y.backward()           # x.grad == 2 x

Map: ``autograd.py`` (Tensor, Function, backward), ``ops/`` (one file per op
family), ``kernels/`` (im2col/col2im for NumPy and CuPy), ``functional.py``,
``nn/`` (layers), ``optim.py``, ``gradcheck.py``, ``checkpoint.py``,
``data.py``, ``viz.py``.
"""
from . import ops  # noqa: F401  (attaches Tensor operators)
from .autograd import Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad  # noqa: F401
from .backend import cuda_available, get_rng_state, manual_seed, set_rng_state  # noqa: F401
from .creation import ones, rand, randn, tensor, zeros  # noqa: F401
from . import functional, nn, optim  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from .ops.activation import maximum, where  # noqa: F401
from .ops.shape import concatenate, stack  # noqa: F401

"""tinygen: a small deep-learning engine, written to teach autoencoders and GANs.

    import tinygen as tg
    x = tg.randn(4, 3, requires_grad=True)
    y = (x * x).sum()
    y.backward()           # x.grad == 2 x

The package map. **The engine** (what a textbook reader studies):

``autograd.py``    ``Tensor``, ``Function``, the backward pass, ``grad()``, ``no_grad()``
``backend.py``     NumPy or CuPy, devices, the random generator
``creation.py``    ``tensor``, ``zeros``, ``ones``, ``rand``, ``randn``
``ops/``           one file per op family, each backward beside its forward
``kernels/``       im2col/col2im for NumPy and for CUDA
``functional.py``  the functional API with its argument checks (``F.conv2d``, losses, ...)
``nn/``            ``Module``, ``Parameter``, layers, normalisation, recurrent cells, init
``optim.py``       SGD, Adam, RMSprop, the cosine schedule
``gradcheck.py``   ``gradcheck`` and ``gradgradcheck`` (finite differences, float64)

**The workbench** (``tinygen.utils``: data, pictures, checkpoints, the
lessons' training loop, benchmark) sits apart; the engine never imports it.
"""
from . import ops  # noqa: F401  (attaches Tensor operators)
from .autograd import Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad  # noqa: F401
from .backend import cuda_available, get_rng_state, manual_seed, set_rng_state  # noqa: F401
from .creation import ones, rand, randn, tensor, zeros  # noqa: F401
from . import functional, nn, optim  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from .ops.activation import maximum, where  # noqa: F401
from .ops.shape import concatenate, stack  # noqa: F401

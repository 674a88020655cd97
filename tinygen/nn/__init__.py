"""Layers, PyTorch-shaped: ``from tinygen import nn`` (``torch.nn``).

``tinygen.nn.functional`` is ``tinygen.functional`` (as ``torch.nn.functional``),
and ``nn.init`` holds the initialisers. ProGAN's layers (``nn.PixelNorm``,
``nn.MinibatchStdDev``, ``nn.EqualizedLinear``, ``nn.EqualizedConv2d`` and the
functions ``nn.pixel_norm``, ``nn.minibatch_std``) are in ``nn/progan.py``;
StyleGAN's (``nn.AdaIN``, ``nn.NoiseInjection``, ``nn.MappingNetwork`` and
``nn.adaptive_instance_norm``) in ``nn/stylegan.py``.
"""
import sys as _sys

from .. import functional  # noqa: F401  (tinygen.nn.functional, as torch.nn.functional)
from . import init  # noqa: F401
from .layers import (ELU, AvgPool2d, BCELoss, BCEWithLogitsLoss, Conv2d, ConvTranspose2d,  # noqa: F401
                     CrossEntropyLoss, Dropout, Embedding, Flatten, Identity, L1Loss, LeakyReLU, Linear,
                     LogSoftmax, MaxPool2d, ModuleDict, ModuleList, MSELoss, NLLLoss, PixelShuffle, PixelUnshuffle,
                     ReLU, Sequential,
                     Sigmoid, Softmax, Softplus, Tanh, Unflatten, Upsample, UpsampleConv2d)
from .module import Module, Parameter  # noqa: F401
from .norm import BatchNorm1d, BatchNorm2d, InstanceNorm2d, LayerNorm  # noqa: F401
from .progan import (EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm, minibatch_std,  # noqa: F401
                     pixel_norm)
from .recurrent import GRUCell, LSTMCell  # noqa: F401
from .stylegan import AdaIN, MappingNetwork, NoiseInjection, adaptive_instance_norm  # noqa: F401

_sys.modules.setdefault(__name__ + ".functional", functional)

"""Layers, PyTorch-shaped: ``from tinygen import nn``."""
from . import init  # noqa: F401
from .layers import (AvgPool2d, Conv2d, ConvTranspose2d, Flatten, LeakyReLU, Linear, ReLU,  # noqa: F401
                     Sequential, Sigmoid, Tanh, Unflatten, Upsample, UpsampleConv2d)
from .module import Module, Parameter  # noqa: F401
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm  # noqa: F401

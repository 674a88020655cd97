"""Layers, PyTorch-shaped: ``from tinygen import nn``."""
from . import init  # noqa: F401
from .layers import (AvgPool2d, Conv2d, ConvTranspose2d, Dropout, Embedding, Flatten, LeakyReLU,  # noqa: F401
                     Linear, MaxPool2d, ReLU, Sequential, Sigmoid, Tanh, Unflatten, Upsample, UpsampleConv2d)
from .module import Module, Parameter  # noqa: F401
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm  # noqa: F401
from .recurrent import GRUCell, LSTMCell  # noqa: F401

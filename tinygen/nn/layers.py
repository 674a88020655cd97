"""Layers with parameters, activations and containers."""
import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..backend import as_device, get_array_module
from ..ops.activation import check_probability
from .init import default_uniform_, normal_
from .module import Module, Parameter


def _param(*shape):
    return Parameter(np.empty(shape, dtype=np.float32))


def _weight_and_bias(module, weight_shape, out_features, bias):
    """Give ``module`` a weight and an optional bias, with PyTorch's default init."""
    module.weight = _param(*weight_shape)
    module.bias = _param(out_features) if bias else None
    default_uniform_(module.weight, module.bias)


class Linear(Module):
    """y = x Wᵀ + b. x: (..., in_features) -> (..., out_features).

    weight: (out_features, in_features); bias: (out_features,). PyTorch's default init.
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        _weight_and_bias(self, (out_features, in_features), out_features, bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class Conv2d(Module):
    """2-D convolution, (N, C_in, H, W) -> (N, C_out, Ho, Wo); see ``functional.conv2d``.

    weight: (out_channels, in_channels, kH, kW); bias: (out_channels,).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), stride, padding
        _weight_and_bias(self, (out_channels, in_channels, *self.kernel_size), out_channels, bias)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class ConvTranspose2d(Module):
    """Transposed convolution, (N, C_in, H, W) -> (N, C_out, Ho, Wo); see ``functional.conv_transpose2d``.

    weight: (in_channels, out_channels, kH, kW) (PyTorch's layout); bias: (out_channels,).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), stride, padding
        self.output_padding = output_padding
        _weight_and_bias(self, (in_channels, out_channels, *self.kernel_size), out_channels, bias)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class UpsampleConv2d(Module):
    """Nearest x2 upsampling then a 3x3 conv (padding 1): (N, C_in, H, W) -> (N, C_out, 2H, 2W).

    The same function, parameters and initialisation as
    ``Sequential(Upsample(2), Conv2d(in_channels, out_channels, 3, padding=1))``,
    computed at the cost of one transposed conv; see ``functional.upsample_conv2d``.
    weight: (out_channels, in_channels, 3, 3); bias: (out_channels,).
    """

    def __init__(self, in_channels, out_channels, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        _weight_and_bias(self, (out_channels, in_channels, 3, 3), out_channels, bias)

    def forward(self, x):
        return F.upsample_conv2d(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}"


class ReLU(Module):
    """max(x, 0), any shape."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x, any shape."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """tanh(x), any shape; the DCGAN generator's output layer."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + e^-x), any shape."""

    def forward(self, x):
        return F.sigmoid(x)


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W) (dims start_dim..end_dim merged)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)


class Unflatten(Module):
    """Split dim ``dim`` into ``sizes``: e.g. (N, 256*7*7) -> (N, 256, 7, 7).

    Raises:
        ValueError: the product of ``sizes`` differs from that dim.
    """

    def __init__(self, dim, sizes):
        super().__init__()
        self.dim, self.sizes = dim, tuple(sizes)

    def forward(self, x):
        d = self.dim % x.ndim
        if int(np.prod(self.sizes)) != x.shape[d]:
            raise ValueError(f"x: expected dim {d} of size {int(np.prod(self.sizes))} "
                             f"(= prod{self.sizes}), got shape {x.shape}")
        return F.reshape(x, x.shape[:d] + self.sizes + x.shape[d + 1:])


class Upsample(Module):
    """Nearest-neighbour upsampling by ``scale_factor``; see ``functional.upsample``."""

    def __init__(self, scale_factor=2, mode="nearest"):
        super().__init__()
        self.scale_factor, self.mode = scale_factor, mode

    def forward(self, x):
        return F.upsample(x, self.scale_factor, self.mode)


class _Pool2d(Module):
    _pool = None  # the functional op, set by each subclass

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return type(self)._pool(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Average pooling; see ``functional.avg_pool2d``."""
    _pool = staticmethod(F.avg_pool2d)


class MaxPool2d(_Pool2d):
    """Max pooling; see ``functional.max_pool2d``."""
    _pool = staticmethod(F.max_pool2d)


class Dropout(Module):
    """Inverted dropout with probability p in train mode, identity in eval mode; any shape."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = check_probability(p)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Embedding(Module):
    """A lookup table: integer ids (any shape) -> vectors (..., embedding_dim).

    weight: (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch.
    The gradient adds up over repeated ids. Conditional GANs embed their class
    labels this way (Mirza & Osindero 2014; slide 002).

    Raises:
        ValueError: an id outside [0, num_embeddings).
    """

    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = _param(num_embeddings, embedding_dim)
        normal_(self.weight)

    def forward(self, ids):
        ids = ids.data if isinstance(ids, Tensor) else ids
        ids = as_device(get_array_module(ids).asarray(ids), self.weight.device)
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.num_embeddings):
            raise ValueError(f"ids: expected integers in [0, {self.num_embeddings}), "
                             f"got values from {int(ids.min())} to {int(ids.max())}")
        return self.weight[ids.astype(np.int64)]

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Sequential(Module):
    """Run modules in order. Indexable; submodules are named "0", "1", ..."""

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

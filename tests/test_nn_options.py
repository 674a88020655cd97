"""Tests for the PyTorch options of tinygen.nn's conv and pooling modules:
Conv2d(dilation, groups, padding_mode), ConvTranspose2d(groups, dilation),
AvgPool2d(ceil_mode, count_include_pad, divisor_override) and
MaxPool2d(return_indices, ceil_mode).

Each module is compared with the functional call on the same weights (and
padding_mode with an independent np.pad reference), its grouped weight shapes
and init, its errors and extra_repr (PyTorch's strings), and its first and
second derivatives in float64 through the module.
"""
import math

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn

from conftest import rand64

NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _x(*shape, seed=0):
    return rand64(*shape, seed=seed, requires_grad=False)


def _module(factory, seed=0):
    tg.manual_seed(seed)
    return factory().double()


# ---------------------------------------------------------------- values against the functional layer
@pytest.mark.parametrize("kwargs, shape", [
    (dict(groups=2), (2, 4, 5, 6)),
    (dict(groups=4, stride=2, padding=1), (2, 4, 5, 6)),           # depthwise
    (dict(dilation=2, padding=(2, 1)), (2, 4, 7, 6)),
    (dict(dilation=(2, 1), groups=2, stride=(1, 2)), (1, 4, 7, 8)),
    (dict(padding="same", dilation=2), (2, 4, 6, 7)),
    (dict(padding="valid", groups=2, bias=False), (2, 4, 5, 5)),
], ids=["groups2", "depthwise_s2p1", "dilation2", "dilation21_groups_stride", "same_dilated", "valid_groups"])
def test_conv2d_options_match_functional(kwargs, shape):
    m = _module(lambda: nn.Conv2d(4, 8, 3, **kwargs))
    x = _x(*shape)
    ref = F.conv2d(x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups)
    np.testing.assert_array_equal(m(x).numpy(), ref.numpy())


def test_conv2d_same_padding_even_dilated_kernel():
    # Total padding d (k - 1) = 6 and 3: the odd one puts its extra column right, as PyTorch.
    m = _module(lambda: nn.Conv2d(2, 3, (4, 2), padding="same", dilation=(2, 3)))
    x = _x(2, 2, 7, 9)
    y = m(x)
    assert y.shape == (2, 3, 7, 9)
    ref = F.conv2d(F.pad(x, (1, 2, 3, 3)), m.weight, m.bias, dilation=(2, 3))
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding, dilation, groups", [((1, 2), 1, 1), ((2, 1), (1, 2), 2), (1, 2, 1)])
def test_conv2d_padding_mode_pads_then_convolves(mode, padding, dilation, groups):
    """padding_mode = F.pad(x, (pW, pW, pH, pH), mode) then conv with padding 0, as PyTorch;
    checked against np.pad (H and W padded differently, non-square input)."""
    m = _module(lambda: nn.Conv2d(4, 6, 3, stride=(1, 2), padding=padding, dilation=dilation, groups=groups,
                                  padding_mode=mode))
    x = _x(2, 4, 5, 7)
    ph, pw = m.padding
    xp = tg.tensor(np.pad(x.numpy(), ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode=NP_MODE[mode]))
    ref = F.conv2d(xp, m.weight, m.bias, m.stride, 0, m.dilation, m.groups)
    y = m(x)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)
    # zeros padding differs (the test above is not vacuous)
    zeros = F.conv2d(x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups)
    assert not np.allclose(y.numpy(), zeros.numpy())
    # unbatched input: the same per sample
    np.testing.assert_allclose(m(x[0]).numpy(), y.numpy()[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "circular"])
def test_conv2d_padding_mode_same_is_asymmetric_as_pytorch(mode):
    # kernel (2, 4): totals 1 and 3 -> (left, right, top, bottom) = (1, 2, 0, 1).
    m = _module(lambda: nn.Conv2d(2, 3, (2, 4), padding="same", padding_mode=mode))
    assert m._reversed_padding_repeated_twice == (1, 2, 0, 1)
    x = _x(1, 2, 5, 6)
    xp = tg.tensor(np.pad(x.numpy(), ((0, 0), (0, 0), (0, 1), (1, 2)), mode=NP_MODE[mode]))
    y = m(x)
    assert y.shape == (1, 3, 5, 6)
    np.testing.assert_allclose(y.numpy(), F.conv2d(xp, m.weight, m.bias).numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs", [dict(groups=2), dict(dilation=2), dict(groups=2, dilation=(2, 1)),
                                    dict(groups=3, stride=2, padding=1, output_padding=1, dilation=2)],
                         ids=["groups", "dilation", "groups_dilation", "all"])
def test_conv_transpose2d_options_match_functional(kwargs):
    m = _module(lambda: nn.ConvTranspose2d(6, 12, 3, **kwargs))
    x = _x(2, 6, 4, 5)
    ref = F.conv_transpose2d(x, m.weight, m.bias, m.stride, m.padding, m.output_padding, m.groups, m.dilation)
    np.testing.assert_array_equal(m(x).numpy(), ref.numpy())


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, divisor_override=3),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True, divisor_override=5),
])
def test_avg_pool2d_options_match_functional(kwargs):
    m = nn.AvgPool2d(**kwargs)
    x = _x(2, 3, 6, 7)
    k = kwargs.pop("kernel_size")
    np.testing.assert_array_equal(m(x).numpy(), F.avg_pool2d(x, k, **kwargs).numpy())
    assert m(x[0]).shape == m(x).shape[1:]


def test_avg_pool2d_options_change_the_result():
    x = _x(1, 1, 5, 5)
    assert nn.AvgPool2d(2, ceil_mode=True)(x).shape == (1, 1, 3, 3)
    assert nn.AvgPool2d(2)(x).shape == (1, 1, 2, 2)
    np.testing.assert_allclose(nn.AvgPool2d(2, divisor_override=1)(x).numpy(),
                               4 * nn.AvgPool2d(2)(x).numpy(), rtol=1e-12)
    corner = nn.AvgPool2d(3, 1, 1, count_include_pad=False)(x).numpy()[0, 0, 0, 0]
    np.testing.assert_allclose(corner, x.numpy()[0, 0, :2, :2].mean(), rtol=1e-12)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=2, ceil_mode=True),
                                    dict(kernel_size=2, return_indices=True),
                                    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, return_indices=True)])
def test_max_pool2d_options_match_functional(kwargs):
    m = nn.MaxPool2d(**kwargs)
    x = _x(2, 3, 6, 7)
    k = kwargs.pop("kernel_size")
    y, ref = m(x), F.max_pool2d(x, k, **kwargs)
    if kwargs.get("return_indices"):
        assert isinstance(y, tuple) and len(y) == 2 and y[1].dtype == np.int64
        for a, b in zip(y, ref):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        # the indices point at the maxima
        flat = x.numpy().reshape(2, 3, -1)
        np.testing.assert_array_equal(np.take_along_axis(flat, y[1].numpy().reshape(2, 3, -1), 2),
                                      y[0].numpy().reshape(2, 3, -1))
    else:
        np.testing.assert_array_equal(y.numpy(), ref.numpy())
        assert y.shape == (2, 3, 3, 3) and nn.MaxPool2d(3, 2)(x).shape == (2, 3, 2, 3)  # ceil: H 6 -> 3, not 2


# ---------------------------------------------------------------- weights and init with groups
@pytest.mark.parametrize("factory, shape", [
    (lambda: nn.Conv2d(4, 6, 3, groups=2), (6, 2, 3, 3)),
    (lambda: nn.Conv2d(4, 8, (3, 5), groups=4), (8, 1, 3, 5)),
    (lambda: nn.Conv2d(6, 9, 1, groups=3, bias=False), (9, 2, 1, 1)),
    (lambda: nn.ConvTranspose2d(4, 6, 3, groups=2), (4, 3, 3, 3)),
    (lambda: nn.ConvTranspose2d(6, 3, 4, groups=3), (6, 1, 4, 4)),
])
def test_grouped_weight_shapes(factory, shape):
    m = factory()
    assert m.weight.shape == shape
    assert m.bias is None or m.bias.shape == (m.out_channels,)


@pytest.mark.parametrize("factory, fan_in", [(lambda: nn.Conv2d(8, 64, 3, groups=8), 9),
                                             (lambda: nn.Conv2d(8, 64, 3, groups=2), 36),
                                             (lambda: nn.ConvTranspose2d(64, 8, 3, groups=8), 9)])
def test_grouped_default_init_uses_grouped_fan_in(factory, fan_in):
    """PyTorch's default init: weight and bias ~ U(-b, b), b = 1 / sqrt(fan_in), fan_in from
    the grouped weight ((C_in / groups) kH kW; transposed: (C_out / groups) kH kW)."""
    tg.manual_seed(0)
    m = factory()
    bound = 1 / math.sqrt(fan_in)
    w = np.abs(m.weight.numpy())
    assert w.max() <= bound and w.max() > 0.95 * bound
    assert np.abs(m.bias.numpy()).max() <= bound


def test_default_init_unchanged_for_groups_1():
    # groups=1 gives the old layout and the same draws as before the options existed.
    tg.manual_seed(7)
    a = nn.Conv2d(3, 5, 3)
    tg.manual_seed(7)
    b = nn.Conv2d(3, 5, 3, dilation=2, groups=1, padding_mode="reflect")
    assert a.weight.shape == (5, 3, 3, 3)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("factory, message", [
    (lambda: nn.Conv2d(4, 6, 3, groups=3), r"in_channels: expected a multiple of groups = 3, got 4"),
    (lambda: nn.Conv2d(6, 4, 3, groups=3), r"out_channels: expected a multiple of groups = 3, got 4"),
    (lambda: nn.ConvTranspose2d(4, 6, 3, groups=3), r"in_channels: expected a multiple of groups = 3, got 4"),
    (lambda: nn.ConvTranspose2d(6, 4, 3, groups=3), r"out_channels: expected a multiple of groups = 3, got 4"),
    (lambda: nn.Conv2d(4, 4, 3, groups=0), r"groups: expected an int >= 1, got 0"),
    (lambda: nn.Conv2d(4, 4, 3, groups=2.0), r"groups: expected an int >= 1, got 2.0"),
    (lambda: nn.Conv2d(4, 4, 3, dilation=0), r"dilation: expected an int >= 1"),
    (lambda: nn.ConvTranspose2d(4, 4, 3, dilation=(1, 0)), r"dilation: expected an int >= 1"),
    (lambda: nn.Conv2d(4, 4, 3, padding_mode="mirror"), r"padding_mode: expected one of \('zeros', 'reflect'"),
    (lambda: nn.Conv2d(4, 4, 3, stride=2, padding="same"), r"padding: 'same' needs stride 1"),
    (lambda: nn.ConvTranspose2d(4, 4, 3, padding_mode="circular"),
     r"padding_mode: tinygen supports only padding_mode='zeros'"),
    (lambda: nn.MaxPool2d(2, dilation=2), r"dilation: tinygen supports only dilation=\(1, 1\), got \(2, 2\)"),
    (lambda: nn.MaxPool2d(2, return_indices="yes"), r"return_indices: expected True or False"),
    (lambda: nn.MaxPool2d(2, ceil_mode=1), r"ceil_mode: expected True or False"),
    (lambda: nn.AvgPool2d(2, ceil_mode=None), r"ceil_mode: expected True or False"),
    (lambda: nn.AvgPool2d(2, count_include_pad=0), r"count_include_pad: expected True or False"),
    (lambda: nn.AvgPool2d(2, divisor_override=0), r"divisor_override: expected None or an int >= 1, got 0"),
])
def test_option_errors(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_reflect_padding_too_large_raises_in_forward():
    m = nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect")
    with pytest.raises(ValueError, match="reflect padding must be smaller"):
        m(tg.zeros(1, 1, 3, 8))


# ---------------------------------------------------------------- extra_repr, as PyTorch prints it
@pytest.mark.parametrize("factory, text", [
    (lambda: nn.Conv2d(3, 8, 3), "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))"),
    (lambda: nn.Conv2d(4, 6, 3, padding=1, dilation=2, groups=2, bias=False, padding_mode="reflect"),
     "Conv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(2, 2), groups=2, bias=False, "
     "padding_mode=reflect)"),
    (lambda: nn.Conv2d(2, 2, 4, padding="same", dilation=(1, 2)),
     "Conv2d(2, 2, kernel_size=(4, 4), stride=(1, 1), padding=same, dilation=(1, 2))"),
    (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1, groups=2, dilation=2),
     "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), dilation=(2, 2), output_padding=(1, 1), groups=2)"),
    (lambda: nn.MaxPool2d(2), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"),
    (lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True, return_indices=True),
     "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)"),
    (lambda: nn.AvgPool2d(3, 2, ceil_mode=True, count_include_pad=False, divisor_override=2),
     "AvgPool2d(kernel_size=3, stride=2, padding=0)"),
])
def test_extra_repr_as_pytorch(factory, text):
    assert repr(factory()) == text


# ---------------------------------------------------------------- derivatives through the module (float64)
# (id, module factory, input shape)
OPTION_LAYERS = [
    ("conv2d_groups", lambda: nn.Conv2d(4, 2, 2, groups=2), (2, 4, 3, 3)),
    ("conv2d_dilation", lambda: nn.Conv2d(2, 2, 2, dilation=(2, 1), padding=(1, 0)), (2, 2, 3, 4)),
    ("conv2d_reflect", lambda: nn.Conv2d(2, 2, 3, padding=(1, 2), padding_mode="reflect"), (2, 2, 3, 4)),
    ("conv2d_replicate_same", lambda: nn.Conv2d(1, 2, 2, padding="same", padding_mode="replicate"), (2, 1, 3, 4)),
    ("conv2d_circular_groups", lambda: nn.Conv2d(2, 2, 3, padding=1, groups=2, padding_mode="circular"),
     (2, 2, 3, 3)),
    ("conv_transpose2d_groups_dilation", lambda: nn.ConvTranspose2d(4, 2, 2, stride=2, groups=2, dilation=2),
     (1, 4, 2, 3)),
    ("avgpool2d_ceil", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 2, 4, 5)),
    ("avgpool2d_divisor", lambda: nn.AvgPool2d(2, ceil_mode=True, divisor_override=3), (2, 2, 3, 5)),
    ("maxpool2d_ceil", lambda: nn.MaxPool2d(2, ceil_mode=True), (2, 2, 3, 5)),
    ("maxpool2d_indices", lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True, return_indices=True), (2, 2, 4, 4)),
]


def _setup(factory, shape, device, seed=0):
    tg.manual_seed(seed)
    m = factory().double().to(device)
    x = rand64(*shape, device=device, seed=seed + 10)
    # A pool returning (output, indices) is checked through its output.
    f = (lambda x, *ps: m(x)[0]) if getattr(m, "return_indices", False) else (lambda x, *ps: m(x))
    return f, [x, *m.parameters()]


@pytest.mark.parametrize("factory, shape", [p[1:] for p in OPTION_LAYERS], ids=[p[0] for p in OPTION_LAYERS])
def test_option_layer_gradcheck(factory, shape, device):
    f, inputs = _setup(factory, shape, device)
    assert all(p.dtype == np.float64 for p in inputs)
    assert tg.gradcheck(f, inputs, max_full=400)


@pytest.mark.parametrize("factory, shape", [p[1:] for p in OPTION_LAYERS], ids=[p[0] for p in OPTION_LAYERS])
def test_option_layer_gradgradcheck(factory, shape, device):
    f, inputs = _setup(factory, shape, device)
    assert tg.gradgradcheck(f, inputs, max_full=1000)

"""ProGAN's layers (tinygen/nn/progan.py; Karras et al. 2018) and the resampling its growing uses.

- minibatch_std (section 3): values against an explicit loop over the groups,
  for several batch and group sizes, and a hand-computed batch whose answer
  differs if samples were grouped consecutively instead of n % M (the
  authors' reshape); eps inside the square root; errors.
- pixel_norm (section 4.2, eq. 3): values, a mean square of 1 over channels.
- EqualizedLinear / EqualizedConv2d (section 4.1): N(0, 1) weights, zero
  biases, the runtime scale gain / sqrt(fan_in) (kernel included), outputs
  equal to F.linear / F.conv2d with the scaled weight, lr_multiplier
  (StyleGAN), and the point of the method: one Adam step changes the
  effective weights of a fan-in 4 and a fan-in 400 layer by the same relative
  amount (a plain Linear's differ tenfold).
- F.avg_pool2d(x, 2) and F.interpolate(x, scale_factor=2, mode="nearest"),
  the exact calls of the growing and the fade-in, and the fade-in itself.

Every op and layer: first and second derivatives against finite differences
in float64 with random cotangents (tg.gradcheck, tg.gradgradcheck), and the
WGAN-GP penalty's gradient through a critic with a minibatch-std layer.
"""
import math

import numpy as np
import pytest
from conftest import rand64

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils.gan import gradient_penalty


# ---------------------------------------------------------------- references
def np_minibatch_std(x, group_size, eps=1e-8):
    """The minibatch-std channel by an explicit loop: group m holds the samples n with n % M == m."""
    N = x.shape[0]
    G = min(group_size, N)
    M = N // G
    out = np.empty((N, 1) + x.shape[2:])
    for m in range(M):
        members = [n for n in range(N) if n % M == m]
        assert len(members) == G
        group = x[members]                                    # (G, C, H, W)
        dev = group - group.mean(axis=0)
        value = np.sqrt((dev ** 2).mean(axis=0) + eps).mean()
        for n in members:
            out[n] = value
    return np.concatenate([x, out], axis=1)


def np_pixel_norm(x, eps=1e-8):
    return x / np.sqrt((x ** 2).mean(axis=1, keepdims=True) + eps)


# ---------------------------------------------------------------- minibatch_std: values
@pytest.mark.parametrize("shape, group_size", [
    ((8, 3, 2, 3), 2), ((8, 3, 2, 3), 4), ((6, 2, 3, 3), 2), ((6, 2, 3, 3), 3), ((6, 2, 1, 1), 6),
    ((3, 2, 2, 2), 4),   # N < group_size: one group of all 3
    ((4, 2, 2, 2), 1),   # groups of one: sqrt(eps) everywhere
], ids=["N8_G2", "N8_G4", "N6_G2", "N6_G3", "N6_G6", "N3_G4_whole_batch", "N4_G1"])
def test_minibatch_std_matches_the_loop(shape, group_size):
    x = rand64(*shape, seed=1, requires_grad=False)
    y = nn.minibatch_std(x, group_size)
    assert y.shape == (shape[0], shape[1] + 1) + shape[2:] and y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), np_minibatch_std(x.numpy(), group_size), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(y.numpy()[:, :shape[1]], x.numpy())   # the input channels pass through


def test_minibatch_std_groups_samples_n_mod_m_by_hand():
    """N = 4, G = 2, M = 2: group 0 is samples {0, 2}, group 1 is {1, 3} (the authors'
    reshape (G, M, ...)). Values 0, 10, 2, 16: group 0 has std 1, group 1 std 3.
    Consecutive groups {0, 1}, {2, 3} would give 5, 5, 7, 7."""
    x = tg.tensor(np.array([0.0, 10.0, 2.0, 16.0]).reshape(4, 1, 1, 1), dtype="float64")
    y = nn.minibatch_std(x, group_size=2, eps=0.0)
    np.testing.assert_array_equal(y.numpy()[:, 1, 0, 0], [1.0, 3.0, 1.0, 3.0])
    # The value is tiled over the pixels.
    x = tg.tensor(np.array([0.0, 10.0, 2.0, 16.0])[:, None, None, None] * np.ones((4, 2, 3, 2)), dtype="float64")
    y = nn.minibatch_std(x, group_size=2, eps=0.0)
    expected = np.array([1.0, 3.0, 1.0, 3.0])[:, None, None] * np.ones((4, 3, 2))
    np.testing.assert_array_equal(y.numpy()[:, 2], expected)


def test_minibatch_std_puts_eps_inside_the_square_root():
    """Identical samples: the std is sqrt(0 + eps) (1e-4 for the default 1e-8; 0.5 for eps = 0.25),
    not sqrt(0) + eps."""
    x = tg.ones(4, 2, 3, 3, dtype="float64") * 0.7
    np.testing.assert_allclose(nn.minibatch_std(x).numpy()[:, 2], 1e-4, rtol=1e-12)
    np.testing.assert_allclose(nn.minibatch_std(x, eps=0.25).numpy()[:, 2], 0.5, rtol=1e-12)
    # And per element before the average over (C, H, W): two features with std 0 and 2.
    a = np.zeros((2, 2, 1, 1))
    a[:, 1, 0, 0] = [-2.0, 2.0]
    y = nn.minibatch_std(tg.tensor(a, dtype="float64"), group_size=2, eps=0.25)
    np.testing.assert_allclose(y.numpy()[:, 2, 0, 0], (math.sqrt(0.25) + math.sqrt(4.25)) / 2, rtol=1e-12)


def test_minibatch_std_keeps_float32():
    x = tg.randn(4, 3, 2, 2)
    assert nn.minibatch_std(x).dtype == np.float32
    assert nn.pixel_norm(x).dtype == np.float32


@pytest.mark.parametrize("call, match", [
    (lambda: nn.minibatch_std(tg.randn(6, 2, 3, 3), 4), r"group_size: expected a group size dividing the batch "
                                                         r"of 6, got 4"),
    (lambda: nn.minibatch_std(tg.randn(8, 2, 3, 3), 0), r"group_size: expected an int >= 1, got 0"),
    (lambda: nn.minibatch_std(tg.randn(8, 2, 3, 3), 2.0), r"group_size: expected an int >= 1, got 2.0"),
    (lambda: nn.minibatch_std(tg.randn(8, 2, 3), 2),
     r"x: expected a 4-D tensor \(N, C, H, W\), got shape \(8, 2, 3\)"),
    (lambda: nn.minibatch_std(np.zeros((8, 2, 3, 3)), 2), r"x: expected a 4-D tensor"),
    (lambda: nn.minibatch_std(tg.randn(8, 2, 3, 3), 2, eps=-1.0), r"eps: expected a finite number >= 0, got -1.0"),
    (lambda: nn.MinibatchStdDev(group_size=-2), r"group_size: expected an int >= 1, got -2"),
    (lambda: nn.MinibatchStdDev(4)(tg.randn(10, 2, 2, 2)), r"group_size: expected a group size dividing the "
                                                           r"batch of 10, got 4"),
    (lambda: nn.pixel_norm(tg.randn(5)), r"x: expected a tensor \(N, C\) or \(N, C, H, W\), got shape \(5,\)"),
    (lambda: nn.PixelNorm(eps="small"), r"eps: expected a finite number >= 0, got 'small'"),
])
def test_function_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- pixel_norm: values
@pytest.mark.parametrize("shape", [(4, 6), (2, 5, 3, 4)])
def test_pixel_norm_values_and_unit_mean_square(shape):
    x = rand64(*shape, seed=2, requires_grad=False) * 3
    y = nn.pixel_norm(x)
    np.testing.assert_allclose(y.numpy(), np_pixel_norm(x.numpy()), rtol=1e-12)
    np.testing.assert_allclose((y.numpy() ** 2).mean(axis=1), 1.0, rtol=1e-7)
    np.testing.assert_allclose((nn.pixel_norm(x, eps=0.0).numpy() ** 2).mean(axis=1), 1.0, rtol=1e-12)
    # Invariant to the scale of each pixel's feature vector (eps aside).
    np.testing.assert_allclose(nn.pixel_norm(x * 7.0, eps=0.0).numpy(), nn.pixel_norm(x, eps=0.0).numpy(),
                               rtol=1e-12)


def test_pixel_norm_eps_is_inside_the_square_root():
    x = tg.zeros(2, 3, dtype="float64")
    x.data[0] = [1.0, 1.0, 1.0]
    y = nn.pixel_norm(x, eps=3.0).numpy()   # mean square 1: 1 / sqrt(1 + 3) = 0.5
    np.testing.assert_allclose(y, [[0.5, 0.5, 0.5], [0.0, 0.0, 0.0]], rtol=1e-12)


def test_modules_equal_the_functions_and_print():
    x = rand64(4, 3, 2, 2, seed=3, requires_grad=False)
    np.testing.assert_array_equal(nn.MinibatchStdDev(2)(x).numpy(), nn.minibatch_std(x, 2).numpy())
    np.testing.assert_array_equal(nn.PixelNorm(1e-3)(x).numpy(), nn.pixel_norm(x, 1e-3).numpy())
    assert repr(nn.MinibatchStdDev()) == "MinibatchStdDev(group_size=4)"
    assert repr(nn.PixelNorm()) == "PixelNorm(eps=1e-08)"
    assert list(nn.MinibatchStdDev().parameters()) == [] and list(nn.PixelNorm().parameters()) == []


# ---------------------------------------------------------------- derivatives of the functions
FUNCTIONS = [
    ("minibatch_std_G2", lambda x: nn.minibatch_std(x, 2), (4, 2, 3, 3)),
    ("minibatch_std_G3", lambda x: nn.minibatch_std(x, 3), (6, 2, 2, 3)),
    ("minibatch_std_whole_batch", lambda x: nn.minibatch_std(x, 4), (3, 2, 2, 2)),
    ("minibatch_std_G4_two_groups", lambda x: nn.minibatch_std(x), (8, 1, 2, 2)),
    ("pixel_norm_2d", lambda x: nn.pixel_norm(x), (4, 5)),
    ("pixel_norm_4d", lambda x: nn.pixel_norm(x), (2, 4, 3, 3)),
    ("avg_pool2d_2", lambda x: F.avg_pool2d(x, 2), (2, 3, 4, 6)),
    ("interpolate_nearest_x2", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), (2, 2, 3, 4)),
]


@pytest.mark.parametrize("fn, shape", [f[1:] for f in FUNCTIONS], ids=[f[0] for f in FUNCTIONS])
def test_function_gradcheck(fn, shape, device):
    x = rand64(*shape, device=device, seed=4)
    assert tg.gradcheck(fn, [x])


@pytest.mark.parametrize("fn, shape", [f[1:] for f in FUNCTIONS], ids=[f[0] for f in FUNCTIONS])
def test_function_gradgradcheck(fn, shape, device):
    x = rand64(*shape, device=device, seed=4)
    assert tg.gradgradcheck(fn, [x], max_full=400)


# ---------------------------------------------------------------- the growing's resampling
def test_avg_pool2d_2_and_nearest_x2_values():
    """The exact calls ProGAN's growing makes: 2x2 average pooling down, nearest x2 up."""
    x = rand64(2, 3, 4, 6, seed=5, requires_grad=False)
    a = x.numpy()
    np.testing.assert_allclose(F.avg_pool2d(x, 2).numpy(), a.reshape(2, 3, 2, 2, 3, 2).mean(axis=(3, 5)),
                               rtol=1e-12)
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=2, mode="nearest").numpy(),
                                  a.repeat(2, axis=2).repeat(2, axis=3))
    # Pooling undoes the upsampling exactly.
    np.testing.assert_array_equal(F.avg_pool2d(F.interpolate(x, scale_factor=2, mode="nearest"), 2).numpy(), a)


def test_fade_in_derivatives():
    """The fade-in of a new generator block (section 2, figure 2): (1 - alpha) toRGB_old(up(h))
    + alpha toRGB_new(block(up(h))), and the discriminator's mirror of it, to second order
    in the input and every weight."""
    tg.manual_seed(0)
    block = nn.EqualizedConv2d(3, 2, 3, padding=1).double()
    old_rgb, new_rgb = nn.EqualizedConv2d(3, 1, 1).double(), nn.EqualizedConv2d(2, 1, 1).double()
    for m in (block, old_rgb, new_rgb):
        m.bias.data = m.bias.data + 0.1
    alpha = 0.3

    def grow(h, *params):
        up = F.interpolate(h, scale_factor=2, mode="nearest")
        return (1 - alpha) * old_rgb(up) + alpha * new_rgb(nn.pixel_norm(F.leaky_relu(block(up), 0.2)))

    def shrink(img, *params):
        return (1 - alpha) * F.avg_pool2d(img, 2) + alpha * F.avg_pool2d(F.leaky_relu(old_rgb(img), 0.2), 2)

    params = [*block.parameters(), *old_rgb.parameters(), *new_rgb.parameters()]
    h = rand64(2, 3, 2, 2, seed=6, away_from=0.0)
    assert tg.gradcheck(grow, [h, *params])
    assert tg.gradgradcheck(grow, [h, *params], max_full=300)
    img = rand64(2, 3, 4, 4, seed=7, away_from=0.0)
    assert tg.gradcheck(shrink, [img, *old_rgb.parameters()])
    assert tg.gradgradcheck(shrink, [img, *old_rgb.parameters()], max_full=300)


# ---------------------------------------------------------------- equalised layers: init and values
def test_equalized_init_is_unit_normal_with_zero_bias():
    tg.manual_seed(0)
    lin = nn.EqualizedLinear(512, 256)
    conv = nn.EqualizedConv2d(64, 128, 3)
    for m in (lin, conv):
        w = m.weight.numpy()
        assert w.dtype == np.float32
        assert abs(w.std() - 1) < 0.01 and abs(w.mean()) < 0.01
        np.testing.assert_array_equal(m.bias.numpy(), 0.0)
    assert lin.weight.shape == (256, 512) and conv.weight.shape == (128, 64, 3, 3)
    # The draw is tinygen's global generator's: a seed reproduces it.
    tg.manual_seed(0)
    np.testing.assert_array_equal(nn.EqualizedLinear(512, 256).weight.numpy(), lin.weight.numpy())
    # The effective weights have He's std gain / sqrt(fan_in).
    assert abs((lin.weight.numpy() * lin.scale).std() / (math.sqrt(2) / math.sqrt(512)) - 1) < 0.01


@pytest.mark.parametrize("factory, fan_in, gain", [
    (lambda: nn.EqualizedLinear(7, 3), 7, math.sqrt(2)),
    (lambda: nn.EqualizedLinear(50, 3, gain=1.0), 50, 1.0),
    (lambda: nn.EqualizedConv2d(5, 4, 3), 5 * 3 * 3, math.sqrt(2)),
    (lambda: nn.EqualizedConv2d(6, 4, 1, gain=1.0), 6, 1.0),
    (lambda: nn.EqualizedConv2d(2, 4, (3, 5), gain=0.5), 2 * 3 * 5, 0.5),
], ids=["linear", "linear_gain1", "conv3x3", "conv1x1_torgb", "conv3x5"])
def test_runtime_scale_is_gain_over_sqrt_fan_in(factory, fan_in, gain):
    m = factory()
    assert m.scale == pytest.approx(gain / math.sqrt(fan_in), rel=1e-15)
    assert m.gain == gain


def test_equalized_linear_output_is_linear_with_the_scaled_weight():
    tg.manual_seed(1)
    m = nn.EqualizedLinear(6, 4).double()
    m.bias.data = rand64(4, seed=8).data
    x = rand64(5, 6, seed=9, requires_grad=False)
    ref = F.linear(x, m.weight * (math.sqrt(2) / math.sqrt(6)), m.bias)
    np.testing.assert_allclose(m(x).numpy(), ref.numpy(), rtol=1e-14)
    np.testing.assert_allclose(m(x).numpy(), x.numpy() @ (m.weight.numpy() * m.scale).T + m.bias.numpy(), rtol=1e-12)
    # (..., in) inputs, as Linear.
    assert m(rand64(2, 3, 6, seed=10)).shape == (2, 3, 4)
    nobias = nn.EqualizedLinear(6, 4, bias=False).double()
    assert nobias.bias is None
    np.testing.assert_allclose(nobias(x).numpy(), x.numpy() @ (nobias.weight.numpy() * nobias.scale).T, rtol=1e-12)


@pytest.mark.parametrize("kwargs, shape", [(dict(), (2, 3, 5, 6)), (dict(padding=1), (2, 3, 4, 4)),
                                           (dict(stride=2, padding=1, bias=False), (1, 3, 5, 7))])
def test_equalized_conv2d_output_is_conv2d_with_the_scaled_weight(kwargs, shape):
    tg.manual_seed(2)
    m = nn.EqualizedConv2d(3, 4, 3, **kwargs).double()
    if m.bias is not None:
        m.bias.data = rand64(4, seed=11).data
    x = rand64(*shape, seed=12, requires_grad=False)
    ref = F.conv2d(x, m.weight * (math.sqrt(2) / math.sqrt(3 * 9)), m.bias, m.stride, m.padding)
    np.testing.assert_allclose(m(x).numpy(), ref.numpy(), rtol=1e-13, atol=1e-15)


def test_lr_multiplier_scales_init_weight_and_bias():
    """StyleGAN's mapping layers: W ~ N(0, 1) / lr_multiplier, used as W (gain / sqrt(in)) lr_multiplier,
    and b lr_multiplier: the same effective init as lr_multiplier = 1."""
    tg.manual_seed(3)
    m = nn.EqualizedLinear(256, 256, lr_multiplier=0.01)
    assert abs(m.weight.numpy().std() - 100) < 1.0
    assert m.scale == pytest.approx(math.sqrt(2) / 16 * 0.01, rel=1e-15)
    tg.manual_seed(3)
    plain = nn.EqualizedLinear(256, 256)
    np.testing.assert_allclose(m.weight.numpy() * m.scale, plain.weight.numpy() * plain.scale, rtol=1e-5)
    m = m.double()
    m.bias.data = rand64(256, seed=13).data
    x = rand64(3, 256, seed=14, requires_grad=False)
    np.testing.assert_allclose(m(x).numpy(), x.numpy() @ (m.weight.numpy() * m.scale).T + 0.01 * m.bias.numpy(),
                               rtol=1e-10, atol=1e-14)


def test_dtype_device_and_repr():
    m = nn.EqualizedLinear(3, 2, dtype=tg.float64, device="cpu")
    assert m.weight.dtype == np.float64 and m.bias.dtype == np.float64 and m.weight.device == "cpu"
    assert nn.EqualizedConv2d(3, 2, 3, dtype="float64").weight.dtype == np.float64
    assert repr(nn.EqualizedLinear(3, 2)) == "EqualizedLinear(in_features=3, out_features=2, bias=True, gain=1.414)"
    assert repr(nn.EqualizedLinear(3, 2, bias=False, gain=1, lr_multiplier=0.01)) == \
        "EqualizedLinear(in_features=3, out_features=2, bias=False, gain=1, lr_multiplier=0.01)"
    assert repr(nn.EqualizedConv2d(3, 8, 3, padding=1)) == \
        "EqualizedConv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), gain=1.414)"
    assert repr(nn.EqualizedConv2d(3, 8, 1, bias=False, gain=1.0)) == \
        "EqualizedConv2d(3, 8, kernel_size=(1, 1), stride=(1, 1), bias=False, gain=1)"


@pytest.mark.parametrize("factory, match", [
    (lambda: nn.EqualizedLinear(0, 3), r"in_features: expected an int >= 1, got 0"),
    (lambda: nn.EqualizedLinear(3, -1), r"out_features: expected an int >= 1, got -1"),
    (lambda: nn.EqualizedLinear(3.0, 2), r"in_features: expected an int >= 1, got 3.0"),
    (lambda: nn.EqualizedLinear(3, 2, gain=0), r"gain: expected a finite number > 0, got 0"),
    (lambda: nn.EqualizedLinear(3, 2, gain=-1.0), r"gain: expected a finite number > 0, got -1.0"),
    (lambda: nn.EqualizedLinear(3, 2, gain=float("inf")), r"gain: expected a finite number > 0, got inf"),
    (lambda: nn.EqualizedLinear(3, 2, lr_multiplier=0.0), r"lr_multiplier: expected a finite number > 0, got 0.0"),
    (lambda: nn.EqualizedLinear(3, 2, dtype="int32"), r"dtype: expected a floating dtype"),
    (lambda: nn.EqualizedConv2d(0, 3, 3), r"in_channels: expected an int >= 1, got 0"),
    (lambda: nn.EqualizedConv2d(3, 0, 3), r"out_channels: expected an int >= 1, got 0"),
    (lambda: nn.EqualizedConv2d(3, 2, 0), r"kernel_size: expected an int >= 1"),
    (lambda: nn.EqualizedConv2d(3, 2, 3, stride=0), r"stride: expected an int >= 1"),
    (lambda: nn.EqualizedConv2d(3, 2, 3, padding=-1), r"padding: expected an int >= 0"),
    (lambda: nn.EqualizedConv2d(3, 2, 3, gain=-2), r"gain: expected a finite number > 0, got -2"),
    (lambda: nn.EqualizedConv2d(3, 2, 3)(tg.randn(1, 4, 5, 5)), r"weight: expected C_in = 4"),
])
def test_equalized_errors(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


# ---------------------------------------------------------------- the point of section 4.1
def _relative_change_after_one_adam_step(layers, lr=1e-3):
    """For each layer, mean |Δ(effective weight)| / std(effective weight) after one Adam step."""
    opt = optim.Adam([p for m in layers for p in m.parameters()], lr=lr)
    before = [m.weight.numpy().copy() for m in layers]
    loss = sum((m(tg.randn(16, m.in_features)) * tg.randn(16, m.out_features)).sum() for m in layers)
    opt.zero_grad()
    loss.backward()
    opt.step()
    scale = [getattr(m, "scale", 1.0) for m in layers]
    return [np.abs((m.weight.numpy() - b) * c).mean() / (b * c).std() for m, b, c in zip(layers, before, scale)]


def test_one_adam_step_moves_equalized_layers_alike_whatever_their_fan_in():
    """Adam's first step is about lr per weight (its update divides by the gradient's scale),
    so a stored weight of std 1 moves by lr / 1 relative to itself whatever the fan-in: the
    equalised layers of fan-in 4 and 400 change their effective weights alike. PyTorch-style
    init (std ~ 1 / sqrt(3 fan_in)) makes the wide layer's relative step 10 times larger."""
    tg.manual_seed(4)
    narrow, wide = _relative_change_after_one_adam_step([nn.EqualizedLinear(4, 64), nn.EqualizedLinear(400, 64)])
    assert narrow == pytest.approx(wide, rel=0.05)
    assert narrow == pytest.approx(1e-3, rel=0.05)
    tg.manual_seed(4)
    narrow, wide = _relative_change_after_one_adam_step([nn.Linear(4, 64), nn.Linear(400, 64)])
    assert wide / narrow == pytest.approx(10, rel=0.1)


# ---------------------------------------------------------------- derivatives of the layers
LAYERS = [
    ("equalized_linear", lambda: nn.EqualizedLinear(4, 3), (3, 4)),
    ("equalized_linear_lrmul", lambda: nn.EqualizedLinear(4, 3, lr_multiplier=0.1, gain=1.0), (3, 4)),
    ("equalized_conv2d", lambda: nn.EqualizedConv2d(2, 2, 3, padding=1), (2, 2, 3, 3)),
    ("equalized_conv2d_strided", lambda: nn.EqualizedConv2d(2, 3, 2, stride=2, bias=False), (1, 2, 4, 4)),
    ("minibatch_std_module", lambda: nn.MinibatchStdDev(2), (4, 2, 2, 2)),
    ("pixel_norm_module", lambda: nn.PixelNorm(), (2, 3, 2, 2)),
]


def _layer_setup(factory, shape, device, seed=0):
    tg.manual_seed(seed)
    m = factory().double().to(device)
    if getattr(m, "bias", None) is not None:   # non-zero biases, so that their terms matter
        m.bias.data = m.bias.data + rand64(*m.bias.shape, device=device, seed=seed + 20).data
    return (lambda x, *ps: m(x)), [rand64(*shape, device=device, seed=seed + 10), *m.parameters()]


@pytest.mark.parametrize("factory, shape", [p[1:] for p in LAYERS], ids=[p[0] for p in LAYERS])
def test_layer_gradcheck(factory, shape, device):
    f, inputs = _layer_setup(factory, shape, device)
    assert all(p.dtype == np.float64 for p in inputs)
    assert tg.gradcheck(f, inputs, max_full=400)


@pytest.mark.parametrize("factory, shape", [p[1:] for p in LAYERS], ids=[p[0] for p in LAYERS])
def test_layer_gradgradcheck(factory, shape, device):
    f, inputs = _layer_setup(factory, shape, device)
    assert tg.gradgradcheck(f, inputs, max_full=400)


def _progan_critic(device):
    tg.manual_seed(0)
    D = nn.Sequential(nn.EqualizedConv2d(2, 3, 3, padding=1), nn.LeakyReLU(0.2), nn.MinibatchStdDev(2),
                      nn.EqualizedConv2d(4, 3, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                      nn.Flatten(), nn.EqualizedLinear(3 * 2 * 2, 1, gain=1.0))
    D.double().to(device)
    for m in D:
        if getattr(m, "bias", None) is not None:
            m.bias.data = m.bias.data + 0.1 * rand64(*m.bias.shape, device=device, seed=30).data
    return D


def test_gradient_penalty_through_minibatch_std(device):
    """WGAN-GP's λ(‖∇ₓD(x̂)‖ − 1)² through a ProGAN critic (equalised convs, minibatch std):
    its gradient with respect to every critic weight against finite differences, which
    needs the second derivative of every layer, minibatch_std's included."""
    D = _progan_critic(device)
    real = rand64(4, 2, 4, 4, device=device, seed=31, requires_grad=False)
    fake = rand64(4, 2, 4, 4, device=device, seed=32, requires_grad=False)

    def penalty(*params):
        tg.manual_seed(7)  # the same interpolation weights at every evaluation
        return 10.0 * gradient_penalty(D, real, fake)

    assert tg.gradcheck(penalty, list(D.parameters()), max_full=400)

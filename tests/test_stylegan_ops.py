"""StyleGAN's ops (tinygen/nn/stylegan.py; Karras, Laine & Aila 2019), instance
normalisation (F.instance_norm, nn.InstanceNorm2d) and the R1 penalty
(tinygen/utils/gan.py; Mescheder et al. 2018).

- F.instance_norm / nn.InstanceNorm2d: values against NumPy (per sample, per
  channel, biased variance, eps inside the square root), hand-computed cases
  that the wrong axes or eps outside the root fail, PyTorch's running
  statistics (per-sample updates averaged over the batch, unbiased variance),
  eval mode, unbatched input, the fused module equal to the composite function.
- adaptive_instance_norm (eq. 1): each output channel has mean y_b and std
  |y_s|; AdaIN's affine starts at y_s = 1, y_b = 0.
- NoiseInjection (section 3.2): identity at init; the drawn noise is one
  image per sample, shared by the channels, different per sample and pixel.
- MappingNetwork (appendix C): a NumPy reference, invariance to the scale of
  z (pixel norm), lr multiplier 0.01 in every layer.
- r1_penalty (eq. 9): ‖w‖² for a linear critic, a quadratic critic by hand,
  and its gradient with respect to a critic's weights against finite
  differences (which needs create_graph=True).

Every op and layer: first and second derivatives against finite differences
in float64 with random cotangents (tg.gradcheck, tg.gradgradcheck).
"""
import inspect
import math

import numpy as np
import pytest
from conftest import rand64

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn, optim
from tinygen.utils.gan import r1_penalty


# ---------------------------------------------------------------- references
def np_instance_norm(x, eps=1e-5, weight=None, bias=None):
    """Per sample and channel over the spatial dims: biased variance, eps inside the square root."""
    axes = tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def np_adain(x, ys, yb, eps=1e-8):
    return ys[:, :, None, None] * np_instance_norm(x, eps) + yb[:, :, None, None]


def np_leaky(x):
    return np.where(x > 0, x, 0.2 * x)


# ---------------------------------------------------------------- instance_norm: values
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 2, 7), (1, 4, 3, 3), (2, 2, 2, 3, 2)],
                         ids=["NCHW", "NCL", "N1", "NCDHW"])
def test_instance_norm_matches_numpy(shape):
    x = rand64(*shape, seed=1, requires_grad=False) * 3 + 1
    y = F.instance_norm(x)
    assert y.shape == shape and y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), np_instance_norm(x.numpy()), rtol=1e-12, atol=1e-14)
    w = rand64(shape[1], seed=2, requires_grad=False)
    b = rand64(shape[1], seed=3, requires_grad=False)
    np.testing.assert_allclose(F.instance_norm(x, weight=w, bias=b, eps=0.1).numpy(),
                               np_instance_norm(x.numpy(), 0.1, w.numpy(), b.numpy()), rtol=1e-12, atol=1e-14)


def test_instance_norm_is_per_sample_and_channel_by_hand():
    """Sample 0 holds (0, 2), sample 1 (10, 30), channel 1 (5, 5, 5, -5)-free: each (n, c) normalises
    alone to (-1, 1) with eps = 0. Statistics over the batch too (BatchNorm's axes) would give
    (-0.71, -0.60) for sample 0; over the channels too (LayerNorm's), other values again."""
    a = np.zeros((2, 2, 1, 2))
    a[0, 0, 0] = [0.0, 2.0]
    a[1, 0, 0] = [10.0, 30.0]
    a[0, 1, 0] = [-7.0, -3.0]
    a[1, 1, 0] = [100.0, 99.0]
    x = tg.tensor(a, dtype="float64")
    expected = np.array([[[[-1.0, 1.0]], [[-1.0, 1.0]]], [[[-1.0, 1.0]], [[1.0, -1.0]]]])
    np.testing.assert_allclose(F.instance_norm(x, eps=0.0).numpy(), expected, rtol=1e-14)
    np.testing.assert_allclose(nn.InstanceNorm2d(2, eps=0.0)(x).numpy(), expected, rtol=1e-14)


def test_instance_norm_puts_eps_inside_the_square_root():
    """Pixels (-1, 1): biased variance 1, so with eps = 3 the output is ±1 / sqrt(1 + 3) = ±0.5
    (eps outside the root would give ±1 / (1 + 3) = ±0.25; the unbiased variance 2, ±1 / sqrt(5))."""
    x = tg.tensor(np.array([-1.0, 1.0]).reshape(1, 1, 1, 2), dtype="float64")
    np.testing.assert_allclose(F.instance_norm(x, eps=3.0).numpy().ravel(), [-0.5, 0.5], rtol=1e-14)
    np.testing.assert_allclose(nn.InstanceNorm2d(1, eps=3.0)(x).numpy().ravel(), [-0.5, 0.5], rtol=1e-14)


def test_instance_norm_running_statistics_as_pytorch():
    """use_input_stats with running stats: r <- (1 - m) r + m mean_n(s_n), s_n each sample's mean
    and unbiased variance; the output still uses the sample's own statistics."""
    x = rand64(3, 2, 2, 3, seed=4, requires_grad=False) * 2 + 0.5
    a = x.numpy()
    rm = tg.tensor(np.array([0.3, -0.2]), dtype="float64")
    rv = tg.tensor(np.array([1.5, 0.7]), dtype="float64")
    y = F.instance_norm(x, rm, rv, momentum=0.25)
    np.testing.assert_allclose(y.numpy(), np_instance_norm(a), rtol=1e-12)
    mean_n = a.mean(axis=(2, 3))                         # (N, C)
    var_n = a.var(axis=(2, 3), ddof=1)                   # unbiased, over 6 pixels
    np.testing.assert_allclose(rm.numpy(), 0.75 * np.array([0.3, -0.2]) + 0.25 * mean_n.mean(0), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.75 * np.array([1.5, 0.7]) + 0.25 * var_n.mean(0), rtol=1e-12)
    # use_input_stats=False: normalise with the running statistics, which stay as they are.
    before = rm.numpy().copy(), rv.numpy().copy()
    y = F.instance_norm(x, rm, rv, use_input_stats=False, eps=1e-3)
    ref = (a - before[0][None, :, None, None]) / np.sqrt(before[1][None, :, None, None] + 1e-3)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12)
    np.testing.assert_array_equal(rm.numpy(), before[0])
    np.testing.assert_array_equal(rv.numpy(), before[1])


def test_instance_norm2d_module_modes_and_buffers():
    tg.manual_seed(0)
    m = nn.InstanceNorm2d(3, affine=True, track_running_stats=True).double()
    assert sorted(m.state_dict()) == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"]
    m.weight.data = rand64(3, seed=5).data
    m.bias.data = rand64(3, seed=6).data
    x = rand64(4, 3, 3, 3, seed=7, requires_grad=False)
    y = m(x)   # training: the input's statistics, and the running ones move
    np.testing.assert_allclose(y.numpy(), np_instance_norm(x.numpy(), 1e-5, m.weight.numpy(), m.bias.numpy()),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.running_mean.numpy(), 0.1 * x.numpy().mean(axis=(2, 3)).mean(0), rtol=1e-12)
    np.testing.assert_allclose(m.running_var.numpy(), 0.9 + 0.1 * x.numpy().var(axis=(2, 3), ddof=1).mean(0),
                               rtol=1e-12)
    m.eval()   # eval: the running statistics
    rm, rv = m.running_mean.numpy(), m.running_var.numpy()
    ref = (x.numpy() - rm[:, None, None]) / np.sqrt(rv[:, None, None] + 1e-5) * m.weight.numpy()[:, None, None] \
        + m.bias.numpy()[:, None, None]
    np.testing.assert_allclose(m(x).numpy(), ref, rtol=1e-12)
    # Without running statistics (the default), eval mode uses the input's, as PyTorch.
    plain = nn.InstanceNorm2d(3).double().eval()
    assert plain.weight is None and plain.running_mean is None and list(plain.parameters()) == []
    np.testing.assert_allclose(plain(x).numpy(), np_instance_norm(x.numpy()), rtol=1e-12, atol=1e-14)
    # momentum=None passes 0.0, as PyTorch: the running statistics stay put.
    frozen = nn.InstanceNorm2d(3, momentum=None, track_running_stats=True).double()
    frozen(x)
    np.testing.assert_array_equal(frozen.running_mean.numpy(), 0.0)
    np.testing.assert_array_equal(frozen.running_var.numpy(), 1.0)


def test_instance_norm2d_unbatched_float32_repr_and_fused_equals_composite():
    x = rand64(2, 3, 4, 4, seed=8, requires_grad=False)
    m = nn.InstanceNorm2d(3).double()
    np.testing.assert_allclose(m(x).numpy(), F.instance_norm(x).numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(m(x[1]).numpy(), F.instance_norm(x).numpy()[1], rtol=1e-13, atol=1e-15)
    assert m(x[1]).shape == (3, 4, 4)
    assert nn.InstanceNorm2d(3)(tg.randn(2, 3, 4, 4)).dtype == np.float32
    assert F.instance_norm(tg.randn(2, 3, 4, 4)).dtype == np.float32
    assert repr(nn.InstanceNorm2d(3)) == \
        "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)"
    assert F.instance_norm is tg.functional.instance_norm and "instance_norm" in F.__all__
    assert list(inspect.signature(F.instance_norm).parameters) == [
        "input", "running_mean", "running_var", "weight", "bias", "use_input_stats", "momentum", "eps"]
    assert list(inspect.signature(nn.InstanceNorm2d).parameters)[:5] == [
        "num_features", "eps", "momentum", "affine", "track_running_stats"]


@pytest.mark.parametrize("call, match", [
    (lambda: F.instance_norm(tg.randn(4, 3)), r"input: expected a tensor \(N, C, \*spatial\)"),
    (lambda: F.instance_norm(np.zeros((2, 3, 4, 4))), r"input: expected a tensor"),
    (lambda: F.instance_norm(tg.randn(2, 3, 1, 1)), r"input: expected more than 1 spatial element"),
    (lambda: F.instance_norm(tg.randn(2, 3, 4), weight=tg.ones(4)), r"weight: expected None or a tensor of "
                                                                     r"shape \(3,\)"),
    (lambda: F.instance_norm(tg.randn(2, 3, 4), bias=tg.ones(3, dtype="float64")), r"bias: expected dtype float32"),
    (lambda: F.instance_norm(tg.randn(2, 3, 4), tg.zeros(3)), r"running_var: expected running_mean and "
                                                               r"running_var both or neither"),
    (lambda: F.instance_norm(tg.randn(2, 3, 4), use_input_stats=False), r"running_mean: expected running "
                                                                        r"statistics"),
    (lambda: F.instance_norm(tg.randn(2, 3, 4), use_input_stats=1), r"use_input_stats: expected True or False"),
    (lambda: F.instance_norm(tg.randn(2, 3, 4), momentum=1.5), r"momentum: expected a number in \[0, 1\]"),
    (lambda: F.instance_norm(tg.randn(2, 3, 4), eps=-1e-5), r"eps: expected a finite number >= 0"),
    (lambda: nn.InstanceNorm2d(3)(tg.randn(2, 4, 5, 5)), r"input: expected \(N, C, H, W\) or unbatched "
                                                         r"\(C, H, W\) with C = 3, got shape \(2, 4, 5, 5\)"),
    (lambda: nn.InstanceNorm2d(3)(tg.randn(2, 3, 5)), r"input: expected \(N, C, H, W\)"),
    (lambda: nn.InstanceNorm2d(0), r"num_features: expected an int >= 1"),
    (lambda: nn.InstanceNorm2d(3, eps=-1), r"eps: expected a number >= 0"),
    (lambda: nn.InstanceNorm2d(3, momentum=2), r"momentum: expected a number in \[0, 1\]"),
])
def test_instance_norm_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- adaptive_instance_norm: values
def test_adain_matches_numpy():
    x = rand64(3, 4, 5, 2, seed=10, requires_grad=False) * 2 - 1
    ys, yb = rand64(3, 4, seed=11, requires_grad=False), rand64(3, 4, seed=12, requires_grad=False)
    y = nn.adaptive_instance_norm(x, ys, yb)
    assert y.shape == x.shape and y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), np_adain(x.numpy(), ys.numpy(), yb.numpy()), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(nn.adaptive_instance_norm(x, ys, yb, eps=0.5).numpy(),
                               np_adain(x.numpy(), ys.numpy(), yb.numpy(), 0.5), rtol=1e-12, atol=1e-14)
    assert nn.adaptive_instance_norm(tg.randn(2, 3, 2, 2), tg.randn(2, 3), tg.randn(2, 3)).dtype == np.float32


def test_adain_output_has_mean_y_b_and_std_abs_y_s():
    """Eq. 1: over the pixels of channel c of sample n the output has mean y_b[n, c] and
    (biased) std |y_s[n, c]| (exactly with eps = 0). Scale and bias differ everywhere, so
    swapping them, or taking statistics over other axes, fails."""
    x = rand64(2, 3, 4, 4, seed=13, requires_grad=False) * 5 + 2
    ys = tg.tensor(np.array([[2.0, -0.5, 3.0], [0.25, 1.0, -4.0]]), dtype="float64")
    yb = tg.tensor(np.array([[-1.0, 7.0, 0.0], [5.0, -2.0, 0.5]]), dtype="float64")
    y = nn.adaptive_instance_norm(x, ys, yb, eps=0.0).numpy()
    np.testing.assert_allclose(y.mean(axis=(2, 3)), yb.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(y.std(axis=(2, 3)), np.abs(ys.numpy()), rtol=1e-12)
    y = nn.adaptive_instance_norm(x, ys, yb).numpy()   # default eps 1e-8: the same up to ~1e-9
    np.testing.assert_allclose(y.std(axis=(2, 3)), np.abs(ys.numpy()), rtol=1e-8)
    # The input's own statistics are gone: x and 10 x + 3 give the same output.
    np.testing.assert_allclose(nn.adaptive_instance_norm(x * 10 + 3, ys, yb, eps=0.0).numpy(),
                               nn.adaptive_instance_norm(x, ys, yb, eps=0.0).numpy(), rtol=1e-12, atol=1e-13)


def test_adain_eps_is_inside_the_square_root():
    """Pixels (-1, 1): variance 1; y_s = 1, y_b = 0, eps = 3 -> ±0.5."""
    x = tg.tensor(np.array([-1.0, 1.0]).reshape(1, 1, 2, 1), dtype="float64")
    one, zero = tg.ones(1, 1, dtype="float64"), tg.zeros(1, 1, dtype="float64")
    np.testing.assert_allclose(nn.adaptive_instance_norm(x, one, zero, eps=3.0).numpy().ravel(), [-0.5, 0.5],
                               rtol=1e-14)


def test_adain_module_init_and_values():
    """A's bias starts at 1 for y_s and 0 for y_b (gain 1, N(0, 1) weights), and forward is
    adaptive_instance_norm with the first C outputs of A as y_s, the last C as y_b."""
    tg.manual_seed(0)
    m = nn.AdaIN(3, 5)
    assert isinstance(m.affine, nn.EqualizedLinear) and m.affine.weight.shape == (6, 5)
    assert m.affine.gain == 1.0 and m.affine.scale == pytest.approx(1 / math.sqrt(5), rel=1e-15)
    np.testing.assert_array_equal(m.affine.bias.numpy(), [1, 1, 1, 0, 0, 0])
    m = m.double()
    x = rand64(2, 3, 3, 4, seed=14, requires_grad=False)
    # w = 0: y_s = 1, y_b = 0, plain instance normalisation.
    np.testing.assert_allclose(m(x, tg.zeros(2, 5, dtype="float64")).numpy(), np_instance_norm(x.numpy(), 1e-8),
                               rtol=1e-12, atol=1e-14)
    # Hand-set A: weight 0, bias (y_s, y_b) = (2, -3, 0.5 | 4, 0, -1): channel stats by hand.
    m.affine.weight.data[...] = 0
    m.affine.bias.data = np.array([2.0, -3.0, 0.5, 4.0, 0.0, -1.0])
    y = m(x, rand64(2, 5, seed=15, requires_grad=False)).numpy()
    np.testing.assert_allclose(y.mean(axis=(2, 3)), [[4.0, 0.0, -1.0]] * 2, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(2, 3)), [[2.0, 3.0, 0.5]] * 2, rtol=1e-7)
    # General A against the NumPy reference.
    m.affine.weight.data = rand64(6, 5, seed=16).data
    w = rand64(2, 5, seed=17, requires_grad=False)
    styles = w.numpy() @ (m.affine.weight.numpy() * m.affine.scale).T + m.affine.bias.numpy()
    np.testing.assert_allclose(m(x, w).numpy(), np_adain(x.numpy(), styles[:, :3], styles[:, 3:]), rtol=1e-11,
                               atol=1e-13)
    assert repr(nn.AdaIN(3, 5)).startswith("AdaIN(\n  num_features=3, w_dim=5\n  (affine): EqualizedLinear(")


@pytest.mark.parametrize("call, match", [
    (lambda: nn.adaptive_instance_norm(tg.randn(2, 3, 4), tg.randn(2, 3), tg.randn(2, 3)),
     r"x: expected a 4-D tensor \(N, C, H, W\), got shape \(2, 3, 4\)"),
    (lambda: nn.adaptive_instance_norm(tg.randn(2, 3, 1, 1), tg.randn(2, 3), tg.randn(2, 3)),
     r"x: expected more than one pixel per feature map"),
    (lambda: nn.adaptive_instance_norm(tg.randn(2, 3, 4, 4), tg.randn(2, 4), tg.randn(2, 3)),
     r"style_scale: expected a tensor of shape \(2, 3\) \(x's N, C\), got shape \(2, 4\)"),
    (lambda: nn.adaptive_instance_norm(tg.randn(2, 3, 4, 4), tg.randn(2, 3), tg.randn(3)),
     r"style_bias: expected a tensor of shape \(2, 3\) \(x's N, C\), got shape \(3,\)"),
    (lambda: nn.adaptive_instance_norm(tg.randn(2, 3, 4, 4), tg.randn(1, 3), tg.randn(2, 3)),
     r"style_scale: expected a tensor of shape \(2, 3\)"),
    (lambda: nn.adaptive_instance_norm(tg.randn(2, 3, 4, 4), tg.randn(2, 3, dtype="float64"), tg.randn(2, 3)),
     r"style_scale: expected dtype float32 \(x's\), got float64"),
    (lambda: nn.adaptive_instance_norm(tg.randn(2, 3, 4, 4), tg.randn(2, 3), tg.randn(2, 3), eps=-1.0),
     r"eps: expected a finite number >= 0, got -1.0"),
    (lambda: nn.AdaIN(0, 4), r"num_features: expected an int >= 1, got 0"),
    (lambda: nn.AdaIN(3, 2.5), r"w_dim: expected an int >= 1, got 2.5"),
    (lambda: nn.AdaIN(3, 4)(tg.randn(2, 3, 4, 4), tg.randn(2, 5)),
     r"w: expected a tensor of shape \(2, 4\) \(x's N, w_dim\), got shape \(2, 5\)"),
    (lambda: nn.AdaIN(3, 4)(tg.randn(2, 3, 4, 4), tg.randn(3, 4)), r"w: expected a tensor of shape \(2, 4\)"),
    (lambda: nn.AdaIN(3, 4)(tg.randn(2, 5, 4, 4), tg.randn(2, 4)),
     r"x: expected \(N, C, H, W\) with C = 3, got shape \(2, 5, 4, 4\)"),
])
def test_adain_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- NoiseInjection
def test_noise_scale_is_zero_at_init_so_the_layer_is_the_identity():
    tg.manual_seed(0)
    m = nn.NoiseInjection(4)
    np.testing.assert_array_equal(m.weight.numpy(), np.zeros(4, np.float32))
    assert [n for n, _ in m.named_parameters()] == ["weight"] and m.weight.dtype == np.float32
    x = tg.randn(3, 4, 5, 5)
    np.testing.assert_array_equal(m(x).numpy(), x.numpy())
    assert repr(m) == "NoiseInjection(num_channels=4)"


def test_noise_injection_values_with_given_noise():
    m = nn.NoiseInjection(3).double()
    m.weight.data = np.array([0.5, -2.0, 0.0])
    x = rand64(2, 3, 2, 2, seed=20, requires_grad=False)
    noise = rand64(2, 1, 2, 2, seed=21, requires_grad=False)
    ref = x.numpy() + np.array([0.5, -2.0, 0.0])[None, :, None, None] * noise.numpy()
    np.testing.assert_allclose(m(x, noise).numpy(), ref, rtol=1e-15)
    # A (1, 1, H, W) noise image is shared by the batch.
    np.testing.assert_allclose(m(x, noise[:1]).numpy(),
                               x.numpy() + m.weight.numpy()[None, :, None, None] * noise.numpy()[:1], rtol=1e-15)


def test_drawn_noise_is_per_sample_and_pixel_and_shared_by_channels():
    """The drawn noise (x + B[c] noise with noise (N, 1, H, W)): the same image in every channel
    (up to B[c]), a different image for every sample, varying over the pixels, N(0, 1), from the
    global generator (reproducible with manual_seed, and equal to randn(N, 1, H, W))."""
    m = nn.NoiseInjection(3).double()
    m.weight.data = np.array([1.0, -3.0, 0.5])
    x = tg.zeros(64, 3, 16, 16, dtype="float64")
    tg.manual_seed(5)
    y = m(x).numpy()
    noise = y / m.weight.numpy()[None, :, None, None]            # (N, C, H, W): the image per channel
    np.testing.assert_allclose(noise[:, 1], noise[:, 0], rtol=1e-12)  # shared by the channels
    np.testing.assert_allclose(noise[:, 2], noise[:, 0], rtol=1e-12)
    img = noise[:, 0]
    assert np.abs(img[0] - img[1]).min() > 0                       # not shared by the samples
    assert img.std(axis=(1, 2)).min() > 0.5                        # varies over the pixels of a sample
    assert img.std(axis=0).mean() > 0.9                            # and over the samples at a pixel
    assert abs(img.mean()) < 0.02 and abs(img.std() - 1) < 0.02    # N(0, 1)
    tg.manual_seed(5)
    np.testing.assert_array_equal(img, tg.randn(64, 1, 16, 16, dtype="float64").numpy()[:, 0])
    tg.manual_seed(5)
    np.testing.assert_array_equal(m(x).numpy(), y)
    assert nn.NoiseInjection(3)(tg.zeros(2, 3, 4, 4)).dtype == np.float32


@pytest.mark.parametrize("call, match", [
    (lambda: nn.NoiseInjection(0), r"num_channels: expected an int >= 1, got 0"),
    (lambda: nn.NoiseInjection(3)(tg.randn(2, 4, 5, 5)), r"x: expected a 4-D tensor \(N, C, H, W\) with C = 3, "
                                                         r"got shape \(2, 4, 5, 5\)"),
    (lambda: nn.NoiseInjection(3)(tg.randn(2, 3, 5)), r"x: expected a 4-D tensor"),
    (lambda: nn.NoiseInjection(3)(tg.randn(2, 3, 4, 4), tg.randn(2, 3, 4, 4)),
     r"noise: expected a tensor of shape \(2, 1, 4, 4\) \(or \(1, 1, 4, 4\)\), got shape \(2, 3, 4, 4\)"),
    (lambda: nn.NoiseInjection(3)(tg.randn(2, 3, 4, 4), tg.randn(2, 1, 2, 2)), r"noise: expected a tensor"),
    (lambda: nn.NoiseInjection(3)(tg.randn(2, 3, 4, 4), tg.randn(2, 1, 4, 4, dtype="float64")),
     r"noise: expected dtype float32 \(x's\), got float64"),
])
def test_noise_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- MappingNetwork
def test_mapping_network_matches_numpy():
    tg.manual_seed(1)
    m = nn.MappingNetwork(5, 6, num_layers=3).double()
    for layer in m.layers:
        layer.bias.data = rand64(6, seed=30).data * 50   # stored bias, used as 0.01 b
    z = rand64(4, 5, seed=31, requires_grad=False)
    h = z.numpy() / np.sqrt((z.numpy() ** 2).mean(axis=1, keepdims=True) + 1e-8)
    for layer in m.layers:
        h = np_leaky(h @ (layer.weight.numpy() * math.sqrt(2) / math.sqrt(layer.in_features) * 0.01).T
                     + 0.01 * layer.bias.numpy())
    w = m(z)
    assert w.shape == (4, 6) and w.dtype == np.float64
    np.testing.assert_allclose(w.numpy(), h, rtol=1e-10, atol=1e-14)
    # Pixel norm first: f(c z) = f(z) for any c > 0.
    np.testing.assert_allclose(m(z * 7.5).numpy(), w.numpy(), rtol=1e-7)   # eps 1e-8 aside
    assert nn.MappingNetwork(5, 6, 2)(tg.randn(3, 5)).dtype == np.float32


def test_mapping_network_structure_and_lr_multiplier():
    """Appendix C: 8 EqualizedLinear layers with lr multiplier 0.01 by default (stored weights
    ~ N(0, 1/0.01^2), effective weights of He's std sqrt(2 / fan_in)), z_dim -> w_dim first."""
    tg.manual_seed(2)
    m = nn.MappingNetwork(64, 128)
    assert len(m.layers) == 8 and all(isinstance(layer, nn.EqualizedLinear) for layer in m.layers)
    assert [(layer.in_features, layer.out_features) for layer in m.layers] == [(64, 128)] + [(128, 128)] * 7
    for layer in m.layers:
        assert layer.lr_multiplier == 0.01 and layer.gain == pytest.approx(math.sqrt(2))
        assert layer.scale == pytest.approx(math.sqrt(2) / math.sqrt(layer.in_features) * 0.01, rel=1e-12)
        assert abs(layer.weight.numpy().std() - 100) < 3
        np.testing.assert_array_equal(layer.bias.numpy(), 0.0)
    assert all(layer.lr_multiplier == 0.5 for layer in nn.MappingNetwork(4, 4, 2, lr_multiplier=0.5).layers)
    assert repr(nn.MappingNetwork(4, 6, 2)).startswith(
        "MappingNetwork(\n  z_dim=4, w_dim=6, num_layers=2, lr_multiplier=0.01\n  (layers): ModuleList(")


def test_mapping_network_adam_step_is_lr_multiplier_times_smaller():
    """What the multiplier is for: one Adam step of size lr moves each effective weight
    (stored weight x scale) by about lr x scale, and relative to the effective weights'
    std that is lr x lr_multiplier: 100 times less than a synthesis layer's."""
    tg.manual_seed(3)
    m = nn.MappingNetwork(32, 32, num_layers=2)
    before = [layer.weight.numpy().copy() for layer in m.layers]
    opt = optim.Adam(m.parameters(), lr=1e-2)
    (m(tg.randn(16, 32)) * tg.randn(16, 32)).sum().backward()
    opt.step()
    for layer, b in zip(m.layers, before):
        rel = np.abs(layer.weight.numpy() - b).mean() * layer.scale / (b * layer.scale).std()
        assert rel == pytest.approx(1e-2 * 0.01, rel=0.1)


@pytest.mark.parametrize("call, match", [
    (lambda: nn.MappingNetwork(0, 4), r"z_dim: expected an int >= 1, got 0"),
    (lambda: nn.MappingNetwork(4, -1), r"w_dim: expected an int >= 1, got -1"),
    (lambda: nn.MappingNetwork(4, 4, num_layers=0), r"num_layers: expected an int >= 1, got 0"),
    (lambda: nn.MappingNetwork(4, 4, lr_multiplier=0), r"lr_multiplier: expected a finite number > 0, got 0"),
    (lambda: nn.MappingNetwork(4, 4, 2)(tg.randn(3, 5)), r"z: expected a tensor \(N, 4\), got shape \(3, 5\)"),
    (lambda: nn.MappingNetwork(4, 4, 2)(tg.randn(4)), r"z: expected a tensor \(N, 4\), got shape \(4,\)"),
])
def test_mapping_network_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- derivatives
def _adain_module(seed=0):
    tg.manual_seed(seed)
    m = nn.AdaIN(2, 3).double()
    m.affine.bias.data = m.affine.bias.data + 0.3 * rand64(4, seed=seed + 40).data
    return m


def _noise_module():
    m = nn.NoiseInjection(3).double()
    m.weight.data = rand64(3, seed=41).data   # non-zero, so the noise term matters
    return m


def _mapping(seed=0):
    tg.manual_seed(seed)
    m = nn.MappingNetwork(3, 4, num_layers=3).double()
    for layer in m.layers:
        layer.bias.data = rand64(4, seed=42).data * 20
    return m


def _instance_norm_module():
    m = nn.InstanceNorm2d(2, affine=True).double()
    m.weight.data = rand64(2, seed=43).data
    m.bias.data = rand64(2, seed=44).data
    return m


_NOISE = rand64(2, 1, 3, 3, seed=45, requires_grad=False)
_IN_MODULE, _ADAIN, _NOISE_MODULE, _MAPPING = _instance_norm_module(), _adain_module(), _noise_module(), _mapping()

# (id, fn, shapes of the random inputs, extra inputs (parameters))
CASES = [
    ("instance_norm", lambda x: F.instance_norm(x), [(2, 3, 3, 3)], []),
    ("instance_norm_3d_eps", lambda x: F.instance_norm(x, eps=0.3), [(2, 2, 5)], []),
    ("instance_norm_affine", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 2, 2, 3), (2,), (2,)], []),
    ("instance_norm_running_stats", lambda x: F.instance_norm(x, tg.zeros(2, dtype="float64", device=x.device),
                                                              tg.ones(2, dtype="float64", device=x.device)),
     [(2, 2, 2, 2)], []),
    ("InstanceNorm2d_affine", lambda x, *p: _IN_MODULE(x), [(2, 2, 3, 2)], list(_IN_MODULE.parameters())),
    ("adaptive_instance_norm", lambda x, s, b: nn.adaptive_instance_norm(x, s, b), [(2, 3, 2, 3), (2, 3), (2, 3)],
     []),
    ("adaptive_instance_norm_eps", lambda x, s, b: nn.adaptive_instance_norm(x, s, b, eps=0.2),
     [(2, 2, 3, 3), (2, 2), (2, 2)], []),
    ("AdaIN", lambda x, w, *p: _ADAIN(x, w), [(2, 2, 3, 2), (2, 3)], list(_ADAIN.parameters())),
    ("NoiseInjection_fixed_noise", lambda x, n, *p: _NOISE_MODULE(x, n), [(2, 3, 3, 3), (2, 1, 3, 3)],
     list(_NOISE_MODULE.parameters())),
    ("NoiseInjection_given_constant", lambda x, *p: _NOISE_MODULE(x, _NOISE), [(2, 3, 3, 3)],
     list(_NOISE_MODULE.parameters())),
    ("MappingNetwork", lambda z, *p: _MAPPING(z), [(3, 3)], list(_MAPPING.parameters())),
]


def _inputs(shapes, params, device, seed=50):
    xs = [rand64(*s, device=device, seed=seed + i) for i, s in enumerate(shapes)]
    for p in params:
        p.data = tg.tensor(p.numpy(), dtype="float64", device=device).data
    return xs + params


@pytest.mark.parametrize("fn, shapes, params", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gradcheck(fn, shapes, params, device):
    inputs = _inputs(shapes, params, device)
    assert all(t.dtype == np.float64 for t in inputs)
    assert tg.gradcheck(fn, inputs, max_full=400)


@pytest.mark.parametrize("fn, shapes, params", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gradgradcheck(fn, shapes, params, device):
    assert tg.gradgradcheck(fn, _inputs(shapes, params, device), max_full=400)


# ---------------------------------------------------------------- R1
def test_r1_of_a_linear_critic_is_the_squared_norm_of_w():
    """D(x) = w . x has ∇_x D = w at every x: R1 = ‖w‖² exactly, whatever the batch."""
    w = rand64(2, 3, 2, seed=60, requires_grad=False)

    def D(x):
        return (x * w).sum(dim=(1, 2, 3))

    real = rand64(5, 2, 3, 2, seed=61, requires_grad=False)
    np.testing.assert_allclose(r1_penalty(D, real).item(), (w.numpy() ** 2).sum(), rtol=1e-14)
    # (N, 1) scores, an nn.Linear critic: ‖weight‖².
    lin = nn.Linear(6, 1).double()
    np.testing.assert_allclose(r1_penalty(lin, rand64(4, 6, seed=62)).item(), (lin.weight.numpy() ** 2).sum(),
                               rtol=1e-14)


def test_r1_of_a_quadratic_critic_by_hand():
    """D(x) = sum(a x²): ∇ = 2 a x, R1 = mean over the batch of sum(4 a² x²)."""
    a = rand64(4, seed=63, requires_grad=False)
    real = rand64(3, 4, seed=64, requires_grad=False)
    r1 = r1_penalty(lambda x: (a * x * x).sum(dim=1), real).item()
    np.testing.assert_allclose(r1, (4 * a.numpy() ** 2 * real.numpy() ** 2).sum(axis=1).mean(), rtol=1e-13)


def test_r1_backward_reaches_the_critic_weights():
    """For D(x) = w . x + b, R1 = ‖w‖², so dR1/dw = 2 w and dR1/db = 0: only through the gradient."""
    lin = nn.Linear(6, 1).double()
    r1_penalty(lin, rand64(4, 6, seed=65, requires_grad=False)).backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), 2 * lin.weight.numpy(), rtol=1e-14)
    assert lin.bias.grad is None or np.all(lin.bias.grad.numpy() == 0)


def _small_critic(device):
    tg.manual_seed(0)
    D = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 3 * 3, 4),
                      nn.LeakyReLU(0.2), nn.Linear(4, 1))
    return D.double().to(device)


def test_r1_penalty_gradient_against_finite_differences(device):
    """The gradient of R1 with respect to every critic weight (double backprop: it needs
    the second derivative of every layer, and create_graph=True in r1_penalty)."""
    D = _small_critic(device)
    real = rand64(3, 2, 3, 3, device=device, seed=66, requires_grad=False)
    penalty = r1_penalty(D, real)
    assert penalty.shape == () and penalty.requires_grad
    assert tg.gradcheck(lambda *params: 5.0 * r1_penalty(D, real), list(D.parameters()), max_full=400)


def test_r1_penalty_matches_its_definition():
    D = _small_critic("cpu")
    real = rand64(3, 2, 3, 3, seed=67, requires_grad=False)
    x = real.detach().requires_grad_()
    g, = tg.grad(D(x).sum(), x)
    np.testing.assert_allclose(r1_penalty(D, real).item(), (g.numpy() ** 2).sum(axis=(1, 2, 3)).mean(), rtol=1e-13)


@pytest.mark.parametrize("call, match", [
    (lambda: r1_penalty(lambda x: x.sum(dim=1), tg.randn(3, 4, 2)),
     r"D: expected one score per sample, shape \(3,\) or \(3, 1\), got shape \(3, 2\)"),
    (lambda: r1_penalty(lambda x: x.sum(), tg.randn(3, 4)), r"D: expected one score per sample"),
    (lambda: r1_penalty(lambda x: x, 3.0), r"real: expected a tensor \(N, ...\)"),
])
def test_r1_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()

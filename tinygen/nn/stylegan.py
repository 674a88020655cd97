"""StyleGAN's generator layers: adaptive instance normalisation, the learned
affine that turns w into styles, per-pixel noise and the mapping network.

Karras, Laine & Aila 2019, "A Style-Based Generator Architecture for
Generative Adversarial Networks" (CVPR), section 2 (eq. 1, figure 1),
section 3.2 (noise) and appendix C (the mapping network's 8 layers and its
learning-rate multiplier 0.01); the details (epsilons, initialisation, the
gains) follow the authors' code (``training/networks_stylegan.py`` of
NVlabs/stylegan).

The equalised learning rate is ProGAN's :class:`~tinygen.nn.progan.EqualizedLinear`.
Everything here is a composite of tinygen's differentiable ops and the fused
``nn.norm.Normalize`` Function (exact to every order), so every layer has
exact derivatives of every order. The R1 penalty that StyleGAN's
discriminator is trained with is ``tinygen.utils.gan.r1_penalty``.
"""
import numpy as np

from .. import functional as F
from ..autograd import Tensor, _describe
from ..creation import randn
from .layers import ModuleList, _float_dtype, _placed, _positive_int
from .module import Module, Parameter
from .norm import Normalize
from .progan import EqualizedLinear, _number, pixel_norm

__all__ = ["adaptive_instance_norm", "AdaIN", "NoiseInjection", "MappingNetwork"]


# ---------------------------------------------------------------- AdaIN
def adaptive_instance_norm(x, style_scale, style_bias, eps=1e-8):
    """Adaptive instance normalisation (StyleGAN, section 2, eq. 1):
    AdaIN(x_i, y) = y_s,i (x_i - mu(x_i)) / sigma(x_i) + y_b,i.

    Every feature map x_i (one channel of one sample) is normalised over its
    H x W pixels, mu the mean and sigma = sqrt(var + eps) with the biased
    variance (eps inside the square root, 1e-8 as the authors' code), and then
    scaled and shifted by that sample's style. So each output channel has mean
    y_b and standard deviation |y_s| over its pixels (up to eps): the style
    sets the statistics, the input keeps only its spatial pattern.

    This is eq. 1 as the paper writes it, scale y_s itself. The authors' code
    (``style_mod``) multiplies by (1 + y_s') instead; that is the same family
    with y_s = 1 + y_s', i.e. a different parametrisation of the affine A.
    Here :class:`AdaIN` gets the same starting point by initialising the
    scale half of A's bias to 1 (its weight gives the spread around it).

    Args:
        x: (N, C, H, W) with H W > 1, float32 or float64.
        style_scale: y_s, (N, C), x's dtype.
        style_bias: y_b, (N, C), x's dtype.
        eps: number >= 0 added to the variance before the square root.

    Returns:
        (N, C, H, W), x's dtype.

    Raises:
        ValueError: x not a 4-D Tensor, or with a single pixel (H W = 1: every
            feature map would normalise to 0); style_scale or style_bias not a
            Tensor of shape (N, C) or not of x's dtype; eps not a number >= 0.

    Source: Karras et al. 2019, section 2, eq. 1 (after Huang & Belongie 2017,
    "Arbitrary Style Transfer in Real-Time with Adaptive Instance
    Normalization", eq. 8); ``instance_norm`` and ``style_mod`` of the
    authors' ``networks_stylegan.py``.
    """
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"x: expected a 4-D tensor (N, C, H, W), got {_describe(x)}")
    N, C, H, W = x.shape
    if H * W == 1:
        raise ValueError(f"x: expected more than one pixel per feature map (each would normalise to 0), "
                         f"got shape {x.shape}")
    for name, s in (("style_scale", style_scale), ("style_bias", style_bias)):
        if not isinstance(s, Tensor) or s.shape != (N, C):
            raise ValueError(f"{name}: expected a tensor of shape ({N}, {C}) (x's N, C), got {_describe(s)}")
        if s.dtype != x.dtype:
            raise ValueError(f"{name}: expected dtype {x.dtype} (x's), got {s.dtype}")
    eps = _number(eps, "eps", minimum=0)
    x_hat = Normalize((2, 3), eps)(x)
    return x_hat * style_scale.reshape(N, C, 1, 1) + style_bias.reshape(N, C, 1, 1)


class AdaIN(Module):
    """AdaIN with its learned affine A (StyleGAN, figure 1b): forward(x, w) with
    x (N, C, H, W) and w (N, w_dim) -> (N, C, H, W).

    A = ``affine``, an :class:`EqualizedLinear` (w_dim, 2 C) with gain 1 (the
    authors' ``style_mod``), maps w to the styles: the first C outputs are
    y_s, the last C are y_b, and :func:`adaptive_instance_norm` applies them.
    A's bias starts at 1 for y_s and 0 for y_b, so a style starts as
    y_s = 1 + (A's weight) w: the paper's eq. 1 with the authors' starting
    point (their (1 + y_s') form; see :func:`adaptive_instance_norm`).

    Parameters: ``affine.weight`` (2 C, w_dim) ~ N(0, 1), ``affine.bias`` (2 C,).
    ``eps`` as :func:`adaptive_instance_norm`; ``device``, ``dtype`` as
    :class:`Linear`. The draw uses tinygen's global generator.

    Raises:
        ValueError: (constructor) num_features or w_dim not an int >= 1, eps not a
            number >= 0, a non-floating dtype; (forward) w not a Tensor (N, w_dim)
            with x's N, or as :func:`adaptive_instance_norm`.

    Source: Karras et al. 2019, section 2 and figure 1b; ``style_mod`` of the
    authors' ``networks_stylegan.py``.
    """

    def __init__(self, num_features, w_dim, eps=1e-8, device=None, dtype=None):
        super().__init__()
        self.num_features = _positive_int(num_features, "num_features")
        self.w_dim = _positive_int(w_dim, "w_dim")
        self.eps = _number(eps, "eps", minimum=0)
        self.affine = EqualizedLinear(self.w_dim, 2 * self.num_features, gain=1.0, dtype=dtype)
        self.affine.bias.data[:self.num_features] = 1.0   # y_s starts around 1, y_b around 0
        _placed(self, device)

    def forward(self, x, w):
        """AdaIN(x, A(w)): x (N, C, H, W), w (N, w_dim) -> (N, C, H, W)."""
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"x: expected (N, C, H, W) with C = {self.num_features}, got {_describe(x)}")
        n = x.shape[0]
        if not isinstance(w, Tensor) or w.shape != (n, self.w_dim):
            raise ValueError(f"w: expected a tensor of shape ({n}, {self.w_dim}) (x's N, w_dim), "
                             f"got {_describe(w)}")
        styles = self.affine(w)
        C = self.num_features
        return adaptive_instance_norm(x, styles[:, :C], styles[:, C:], self.eps)

    def extra_repr(self):
        return f"num_features={self.num_features}, w_dim={self.w_dim}"


# ---------------------------------------------------------------- noise
class NoiseInjection(Module):
    """StyleGAN's per-pixel noise input (sections 2 and 3.2, figure 1b "B"):
    forward(x, noise=None) = x + weight[c] noise, x (N, C, H, W).

    The noise is one N(0, 1) image per sample, (N, 1, H, W), the same for every
    channel of that sample and scaled per channel by the learned ``weight`` (C,),
    zeros at initialisation as in the authors' code (so the layer starts as
    the identity). Not given, it is drawn from tinygen's global generator
    (``tinygen.manual_seed``) on every call, independently for every sample
    and pixel; it is a constant, not a parameter.

    Args (forward):
        x: (N, C, H, W), float32 or float64.
        noise: None, or a tensor (N, 1, H, W) of x's dtype; (1, 1, H, W) is
            also accepted and shared by every sample (a fixed noise image).

    Parameters: ``weight`` (num_channels,) = 0. ``device``, ``dtype`` as :class:`Linear`.

    Raises:
        ValueError: (constructor) num_channels not an int >= 1, a non-floating dtype;
            (forward) x not a 4-D Tensor with C = num_channels, or noise not of
            shape (N, 1, H, W) / (1, 1, H, W) or not of x's dtype.

    Source: Karras et al. 2019, sections 2 and 3.2 and figure 1b; ``apply_noise`` of
    the authors' ``networks_stylegan.py``.
    """

    def __init__(self, num_channels, device=None, dtype=None):
        super().__init__()
        self.num_channels = _positive_int(num_channels, "num_channels")
        self.weight = Parameter(np.zeros(self.num_channels, _float_dtype(dtype)))
        _placed(self, device)

    def forward(self, x, noise=None):
        """x + weight[c] noise, noise (N, 1, H, W) drawn when not given."""
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.num_channels:
            raise ValueError(f"x: expected a 4-D tensor (N, C, H, W) with C = {self.num_channels}, "
                             f"got {_describe(x)}")
        N, C, H, W = x.shape
        if noise is None:
            noise = randn(N, 1, H, W, dtype=x.dtype, device=x.device)
        elif not isinstance(noise, Tensor) or noise.shape not in ((N, 1, H, W), (1, 1, H, W)):
            raise ValueError(f"noise: expected a tensor of shape ({N}, 1, {H}, {W}) (or (1, 1, {H}, {W})), "
                             f"got {_describe(noise)}")
        elif noise.dtype != x.dtype:
            raise ValueError(f"noise: expected dtype {x.dtype} (x's), got {noise.dtype}")
        return x + self.weight.reshape(1, C, 1, 1) * noise

    def extra_repr(self):
        return f"num_channels={self.num_channels}"


# ---------------------------------------------------------------- the mapping network
class MappingNetwork(Module):
    """StyleGAN's mapping network f: z (N, z_dim) -> w (N, w_dim) (section 2, figure 1b).

    z is normalised with :func:`pixel_norm` (the authors' ``normalize_latents``:
    z / sqrt(mean z^2 + 1e-8)), then passes through ``num_layers``
    :class:`EqualizedLinear` layers (z_dim -> w_dim, then w_dim -> w_dim; gain
    sqrt(2)), each followed by a LeakyReLU of slope 0.2, the last one included.
    Every layer has the learning-rate multiplier ``lr_multiplier`` (0.01 in
    the paper): its effective weights and biases move 100 times more slowly
    than the synthesis network's, which stabilises the mapping.

    Parameters: ``layers`` (a ModuleList of the EqualizedLinear layers; their
    weights are drawn N(0, 1) / lr_multiplier from tinygen's global
    generator, their biases zero). ``device``, ``dtype`` as :class:`Linear`.

    Raises:
        ValueError: (constructor) z_dim, w_dim or num_layers not an int >= 1,
            lr_multiplier not a finite number > 0, a non-floating dtype;
            (forward) z not a Tensor (N, z_dim).

    Source: Karras et al. 2019, section 2 and appendix C (8 layers, 512
    features, lr multiplier 0.01 for the mapping network); ``G_mapping`` of
    the authors' ``networks_stylegan.py``.
    """

    def __init__(self, z_dim, w_dim, num_layers=8, lr_multiplier=0.01, device=None, dtype=None):
        super().__init__()
        self.z_dim = _positive_int(z_dim, "z_dim")
        self.w_dim = _positive_int(w_dim, "w_dim")
        self.num_layers = _positive_int(num_layers, "num_layers")
        self.lr_multiplier = _number(lr_multiplier, "lr_multiplier", above=0)
        self.layers = ModuleList([EqualizedLinear(self.z_dim if i == 0 else self.w_dim, self.w_dim,
                                                  lr_multiplier=self.lr_multiplier, dtype=dtype)
                                  for i in range(self.num_layers)])
        _placed(self, device)

    def forward(self, z):
        """w = f(z): pixel norm, then ``num_layers`` x (EqualizedLinear, LeakyReLU(0.2))."""
        if not isinstance(z, Tensor) or z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z: expected a tensor (N, {self.z_dim}), got {_describe(z)}")
        x = pixel_norm(z)
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)
        return x

    def extra_repr(self):
        return (f"z_dim={self.z_dim}, w_dim={self.w_dim}, num_layers={self.num_layers}, "
                f"lr_multiplier={self.lr_multiplier}")

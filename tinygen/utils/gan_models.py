"""The 28x28 GAN networks that several lessons share: lesson 12's DCGAN pair, with
the critic's normalisation as an option, and an autoencoder discriminator.

Lesson 13 (WGAN with clipping) and lessons 15 and 17-19 (the loss chapter)
compare objectives, not architectures, so they all build their networks
here (lesson 16, WGAN-GP, keeps networks of its own); lesson 12 keeps its
own copy of the DCGAN pair in view because the architecture is what it
teaches, and lesson 17 its own copy of the autoencoder (``norm="none"``),
which is what it teaches (``tests/test_lessons_gan_17.py`` holds the two
equal).

Shapes: images float32 (N, 1, 28, 28) in [-1, 1]; z float32 (N, z_dim).
"""
from .. import nn

NORMS = ("batch", "layer", "none")


def dcgan_generator(z_dim=100, width=64):
    """DCGAN's generator (Radford et al. 2015) for 28x28: z (N, z_dim) -> images (N, 1, 28, 28) in [-1, 1].

    z as a 1x1 image -> ConvT 7x7 to 2w x 7 x 7 -> ConvT 4/2 to w x 14 x 14 ->
    ConvT 4/2 to 1 x 28 x 28 -> tanh, with BatchNorm and ReLU between.
    Initialise with ``.apply(tinygen.utils.gan.dcgan_init)``.
    """
    return nn.Sequential(
        nn.Unflatten(1, (z_dim, 1, 1)),
        nn.ConvTranspose2d(z_dim, 2 * width, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())


def _norm(kind, channels, side):
    if kind not in NORMS:
        raise ValueError(f"norm: expected one of {NORMS}, got {kind!r}")
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.LayerNorm((channels, side, side))
    return None


def dcgan_critic(width=64, norm="batch"):
    """DCGAN's discriminator for 28x28: images (N, 1, 28, 28) -> scores (N, 1) (a logit, or a critic's score).

    Conv 4/2 to w x 14 x 14 -> LeakyReLU(0.2) -> Conv 4/2 to 2w x 7 x 7 ->
    [norm] -> LeakyReLU(0.2) -> Conv 7x7 to one score. ``norm`` is
    ``"batch"`` (DCGAN), ``"layer"`` or ``"none"``: a gradient penalty is per
    sample, and BatchNorm couples the samples of a batch, so WGAN-GP's
    critic takes LayerNorm or none (Gulrajani et al. 2017, section 4).

    Raises:
        ValueError: unknown ``norm``.
    """
    layer = _norm(norm, 2 * width, 7)
    return nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, 2, 1, bias=layer is None), *([layer] if layer else []), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * width, 1, 7, 1, 0), nn.Flatten())


class AutoencoderDiscriminator(nn.Module):
    """An autoencoder as the discriminator, for EBGAN (Zhao et al. 2017) and BEGAN (Berthelot et al. 2017).

    ``encode``: images (N, 1, 28, 28) -> codes (N, code_dim), with the DCGAN
    critic's two strided convs and a linear layer; ``forward``: images ->
    reconstructions (N, 1, 28, 28) in [-1, 1], through a decoder shaped like
    the DCGAN generator. The energy is the reconstruction error
    (``tinygen.gan_losses.reconstruction_energy``), not a score. Lesson 17
    writes the ``norm="none"`` network out in its own cell; with the same
    seed the two have the same parameters (same names, same order, same
    initial draws), energies and gradients, which a test checks.

    Args:
        width: channels of the first conv (the second has 2 * width).
        code_dim: size of the bottleneck code.
        norm: ``"batch"``, ``"layer"`` or ``"none"`` after the second conv and
            the decoder's first transposed conv.

    Raises:
        ValueError: unknown ``norm``.
    """

    def __init__(self, width=64, code_dim=64, norm="none"):
        super().__init__()
        enc_norm, dec_norm = _norm(norm, 2 * width, 7), _norm(norm, width, 14)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), *([enc_norm] if enc_norm else []), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 49, code_dim))
        self.decoder = nn.Sequential(
            nn.Linear(code_dim, 2 * width * 49), nn.Unflatten(1, (2 * width, 7, 7)), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), *([dec_norm] if dec_norm else []), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())

    def encode(self, x):
        """images (N, 1, 28, 28) -> codes (N, code_dim), e.g. for EBGAN's pulling-away term."""
        return self.encoder(x)

    def forward(self, x):
        return self.decoder(self.encoder(x))

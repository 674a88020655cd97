"""The shared 28x28 GAN networks: shapes, the critic's normalisation options,
and the autoencoder discriminator's code and reconstruction."""
import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.utils.gan import dcgan_init
from tinygen.utils.gan_models import AutoencoderDiscriminator, dcgan_critic, dcgan_generator


def test_generator_and_critic_shapes():
    tg.manual_seed(0)
    G = dcgan_generator(z_dim=8, width=4).apply(dcgan_init)
    z = tg.randn(3, 8)
    x = G(z)
    assert x.shape == (3, 1, 28, 28) and isinstance(G[-1], nn.Tanh)
    np.testing.assert_allclose(x.numpy(), np.tanh(G[:-1](z).numpy()), rtol=1e-5, atol=1e-6)   # tanh of the last conv
    G.eval()                                           # fresh BN: identity in eval mode, so large codes saturate
    big = G(tg.randn(3, 8) * 1e4).numpy()
    assert np.abs(big).max() == pytest.approx(1.0, abs=1e-3)
    for norm, kind in (("batch", nn.BatchNorm2d), ("layer", nn.LayerNorm), ("none", None)):
        D = dcgan_critic(width=4, norm=norm)
        assert D(x).shape == (3, 1)
        norms = [m for m in D.modules() if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm))]
        assert [type(m) for m in norms] == ([kind] if kind else [])


def test_critic_without_batchnorm_scores_each_sample_alone():
    """What a gradient penalty needs: a sample's score does not depend on its batch."""
    tg.manual_seed(1)
    x = tg.randn(4, 1, 28, 28)
    for norm in ("layer", "none"):
        D = dcgan_critic(width=4, norm=norm)
        np.testing.assert_allclose(D(x).numpy()[:2], D(x[:2]).numpy(), rtol=1e-5, atol=1e-6)


def test_autoencoder_discriminator():
    tg.manual_seed(2)
    A = AutoencoderDiscriminator(width=4, code_dim=6)
    x = tg.randn(3, 1, 28, 28)
    code = A.encode(x)
    assert code.shape == (3, 6)
    r = A(x)
    assert r.shape == x.shape and isinstance(A.decoder[-1], nn.Tanh)
    # the forward pass is decode(encode(x)): the code EBGAN's pulling-away term takes is the one reconstructed
    np.testing.assert_allclose(r.numpy(), np.tanh(A.decoder[:-1](code).numpy()), rtol=1e-5, atol=1e-6)


def test_unknown_norm_is_a_clear_error():
    with pytest.raises(ValueError, match="norm: expected one of"):
        dcgan_critic(norm="group")
    with pytest.raises(ValueError, match="norm: expected one of"):
        AutoencoderDiscriminator(norm="spectral")

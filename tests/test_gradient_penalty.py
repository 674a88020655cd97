"""The WGAN-GP gradient penalty end to end (Gulrajani et al. 2017, Algorithm 1).

``tinygen.utils.gan.gradient_penalty`` is the one lessons 13, 16 and 19 call
(the benchmark writes the same formula out in its own step). For a small critic (conv, leaky_relu, LayerNorm, linear),
the gradient with respect to the critic's parameters of λ(||∇ₓD(x̂)||₂ − 1)²
(which needs double backprop through every layer) is compared with finite
differences. A penalty computed without ``create_graph=True`` fails here: its
value is right but the critic gets no gradient from it.
"""
import numpy as np
import pytest
from conftest import rand64

import tinygen as tg
from tinygen import nn
from tinygen.utils.gan import critic_grad_norms, gradient_penalty


def small_critic(device):
    tg.manual_seed(0)
    D = nn.Sequential(nn.Conv2d(2, 3, 3, 2, 1), nn.LeakyReLU(0.2), nn.LayerNorm((3, 3, 3)),
                      nn.Flatten(), nn.Linear(27, 1))
    D.double().to(device)
    # Non-trivial LayerNorm affine parameters, so that their terms matter.
    ln = D[2]
    ln.weight.data = ln.weight.data + 0.3 * rand64(3, 3, 3, device=device, seed=5).data
    ln.bias.data = ln.bias.data + 0.3 * rand64(3, 3, 3, device=device, seed=6).data
    return D


def interpolates(device, n=4):
    real = rand64(n, 2, 6, 6, device=device, seed=1, requires_grad=False)
    fake = rand64(n, 2, 6, 6, device=device, seed=2, requires_grad=False)
    alpha = rand64(n, 1, 1, 1, device=device, seed=3, low=0.0, high=1.0, requires_grad=False)
    return real, fake, alpha * real + (1 - alpha) * fake


def penalty(D, real, fake, lam=10.0):
    tg.manual_seed(7)  # the same α on every call, so finite differences see one function
    return lam * gradient_penalty(D, real, fake)


def test_penalty_gradient_wrt_critic_parameters(device):
    D = small_critic(device)
    real, fake, _ = interpolates(device)
    assert tg.gradcheck(lambda *ps: penalty(D, real, fake), D.parameters(), max_full=400)


def test_full_critic_loss_gradient(device):
    D = small_critic(device)
    real, fake, _ = interpolates(device)
    loss = lambda *ps: D(fake).mean() - D(real).mean() + penalty(D, real, fake)  # noqa: E731
    assert tg.gradcheck(loss, D.parameters())


def test_penalty_is_per_sample_at_per_sample_alpha():
    """The penalty equals λ·mean((‖g_i‖ − 1)²) with g_i the input gradient at
    x̂_i = α_i real_i + (1 − α_i) fake_i, α_i ~ U[0, 1] one per sample, and the
    norm per sample over (C, H, W), recomputed here from NumPy pieces."""
    D = small_critic("cpu")
    real, fake, _ = interpolates("cpu", n=3)
    tg.manual_seed(7)
    alpha = tg.rand(3, 1, 1, 1, dtype="float64").numpy()
    assert len(np.unique(alpha)) == 3                   # one α per sample, drawn as U[0, 1) by NumPy's PCG64
    np.testing.assert_array_equal(alpha.ravel(), np.random.default_rng(7).random(3))
    x = tg.tensor(alpha * real.numpy() + (1 - alpha) * fake.numpy(), requires_grad=True)
    g, = tg.grad(D(x).sum(), x)
    norms = np.sqrt((g.numpy().reshape(3, -1) ** 2).sum(axis=1))
    np.testing.assert_allclose(penalty(D, real, fake).item(), 10 * np.mean((norms - 1) ** 2), rtol=1e-9)
    tg.manual_seed(7)
    np.testing.assert_allclose(critic_grad_norms(D, real, fake).numpy(), norms, rtol=1e-9)


def test_penalty_rejects_mismatched_batches():
    D = small_critic("cpu")
    real, fake, _ = interpolates("cpu", n=3)
    with pytest.raises(ValueError, match="fake"):
        gradient_penalty(D, real, fake[:2])

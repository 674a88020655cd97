"""The WGAN-GP gradient penalty end to end (Gulrajani et al. 2017, Algorithm 1).

For a small critic (conv, leaky_relu, LayerNorm, linear), the gradient with
respect to the critic's parameters of λ(||∇ₓD(x̂)||₂ − 1)² (which needs double
backprop through every layer) is compared with finite differences.
"""
import numpy as np
from conftest import rand64

import tinygen as tg
from tinygen import nn


def small_critic(device):
    tg.manual_seed(0)
    D = nn.Sequential(nn.Conv2d(2, 3, 3, 2, 1), nn.LeakyReLU(0.2), nn.LayerNorm((3, 3, 3)),
                      nn.Flatten(), nn.Linear(27, 1))
    D.astype("float64").to(device)
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


def penalty(D, x_hat, lam=10.0):
    x_hat = x_hat.detach().requires_grad_()
    scores = D(x_hat)
    g, = tg.grad(scores, x_hat, grad_outputs=tg.ones(*scores.shape, dtype="float64", device=x_hat.device),
                 create_graph=True)
    norms = (g.reshape(g.shape[0], -1) ** 2).sum(axis=1) ** 0.5  # per sample, over (C, H, W)
    return lam * ((norms - 1) ** 2).mean()


def test_penalty_gradient_wrt_critic_parameters(device):
    D = small_critic(device)
    _, _, x_hat = interpolates(device)
    params = D.parameters()
    assert tg.gradcheck(lambda *ps: penalty(D, x_hat), params, max_full=400)


def test_full_critic_loss_gradient(device):
    D = small_critic(device)
    real, fake, x_hat = interpolates(device)
    loss = lambda *ps: D(fake).mean() - D(real).mean() + penalty(D, x_hat)  # noqa: E731
    assert tg.gradcheck(loss, D.parameters())


def test_penalty_is_per_sample():
    """The penalty equals a per-sample norm over (C, H, W) computed in NumPy,
    not one norm over the whole batch."""
    D = small_critic("cpu")
    _, _, x_hat = interpolates("cpu", n=3)
    x = x_hat.detach().requires_grad_()
    g, = tg.grad(D(x).sum(), x)
    norms = np.sqrt((g.numpy().reshape(3, -1) ** 2).sum(axis=1))
    expected = 10 * np.mean((norms - 1) ** 2)
    np.testing.assert_allclose(penalty(D, x_hat).item(), expected, rtol=1e-12)

"""The GAN objectives of ``tinygen.gan_losses``: values on hand-computed cases,
and first- and second-order finite-difference checks in float64 with random
cotangents (``gradcheck``/``gradgradcheck`` draw them)."""
import math

import numpy as np
import pytest
from conftest import rand64

import tinygen as tg
from tinygen import gan_losses as L


def t(values):
    return tg.tensor(np.asarray(values, dtype=np.float64))


# ---------------------------------------------------------------- values, by hand
def softplus(v):
    return math.log1p(math.exp(v))


def test_minimax_and_nonsaturating_values():
    real, fake = t([[2.0], [-1.0]]), t([[0.5], [-3.0]])
    want_d = (softplus(-2.0) + softplus(1.0)) / 2 + (softplus(0.5) + softplus(-3.0)) / 2
    assert L.minimax_d_loss(real, fake).item() == pytest.approx(want_d, rel=1e-12)
    # log(1 - σ(l)) = -softplus(l); -log σ(l) = softplus(-l)
    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    want_mm = (math.log(1 - s(0.5)) + math.log(1 - s(-3.0))) / 2
    assert L.minimax_g_loss(fake).item() == pytest.approx(want_mm, rel=1e-12)
    want_ns = -(math.log(s(0.5)) + math.log(s(-3.0))) / 2
    assert L.nonsaturating_g_loss(fake).item() == pytest.approx(want_ns, rel=1e-12)


def test_minimax_equilibrium_is_2_log_2():
    zeros = t(np.zeros((5, 1)))
    assert L.minimax_d_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2), rel=1e-12)


def test_lsgan_values_both_codings():
    real, fake = t([0.9, 0.2]), t([0.1, -0.5])
    # (a, b, c) = (0, 1, 1): ½·mean((D(x)−1)²) + ½·mean(D(G(z))²)
    want = 0.5 * (0.01 + 0.64) / 2 + 0.5 * (0.01 + 0.25) / 2
    assert L.lsgan_d_loss(real, fake).item() == pytest.approx(want, rel=1e-12)
    assert L.lsgan_g_loss(fake).item() == pytest.approx(0.5 * (0.81 + 2.25) / 2, rel=1e-12)
    # (a, b, c) = (−1, 1, 0)
    want = 0.5 * (0.01 + 0.64) / 2 + 0.5 * (1.21 + 0.25) / 2
    assert L.lsgan_d_loss(real, fake, a=-1.0, b=1.0).item() == pytest.approx(want, rel=1e-12)
    assert L.lsgan_g_loss(fake, c=0.0).item() == pytest.approx(0.5 * (0.01 + 0.25) / 2, rel=1e-12)


def test_lsgan_generator_gradient_grows_with_distance():
    """The point of LSGAN: dL_G/dD(G(z)) = (D(G(z)) − c)/N, not saturating far from c."""
    out = t([3.0, 1.5, 1.0]).requires_grad_()
    L.lsgan_g_loss(out, c=1.0).backward()
    np.testing.assert_allclose(out.grad.numpy(), [2.0 / 3, 0.5 / 3, 0.0], rtol=1e-12)


def test_wasserstein_values():
    real, fake = t([1.0, 3.0]), t([-2.0, 0.0])
    assert L.wasserstein_d_loss(real, fake).item() == pytest.approx(-1.0 - 2.0)
    assert L.wasserstein_g_loss(fake).item() == pytest.approx(1.0)


def test_reconstruction_energy_values():
    x = t(np.zeros((2, 1, 2, 2)))
    r = t([[[[1.0, -1.0], [2.0, 0.0]]], [[[0.5, 0.5], [0.5, 0.5]]]])
    np.testing.assert_allclose(L.reconstruction_energy(x, r, p=2).numpy(), [6 / 4, 0.25])
    np.testing.assert_allclose(L.reconstruction_energy(x, r, p=1).numpy(), [1.0, 0.5])
    with pytest.raises(ValueError, match="p: expected 1 or 2"):
        L.reconstruction_energy(x, r, p=3)
    with pytest.raises(ValueError, match="reconstruction: expected the shape"):
        L.reconstruction_energy(x, r[:1], p=1)


def test_ebgan_values_and_margin():
    real, fake = t([0.2, 0.4]), t([0.5, 1.5])
    # E[D(x)] + E[max(0, m − D(G(z)))] with m = 1: 0.3 + (0.5 + 0)/2
    assert L.ebgan_d_loss(real, fake, margin=1.0).item() == pytest.approx(0.55)
    assert L.ebgan_g_loss(fake).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="margin: expected a number > 0"):
        L.ebgan_d_loss(real, fake, margin=0)


def test_pulling_away_term_values():
    orthogonal = t(np.eye(3) * [1.0, 2.0, 5.0])
    assert L.pulling_away_term(orthogonal).item() == pytest.approx(0.0, abs=1e-12)
    parallel = t([[1.0, 1.0], [2.0, 2.0], [-3.0, -3.0]])
    assert L.pulling_away_term(parallel).item() == pytest.approx(1.0, rel=1e-9)
    # two codes at 60 degrees: cos² = 1/4, for both ordered pairs -> 1/4
    two = t([[1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    assert L.pulling_away_term(two).item() == pytest.approx(0.25, rel=1e-9)
    # codes of any shape are flattened
    assert L.pulling_away_term(t(np.eye(4).reshape(4, 2, 2))).item() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="codes: expected at least 2 rows"):
        L.pulling_away_term(t([[1.0, 2.0]]))


def test_began_values():
    real, fake = t([0.2, 0.4]), t([0.1, 0.3])
    assert L.began_d_loss(real, fake, k=0.5).item() == pytest.approx(0.3 - 0.5 * 0.2)
    assert L.began_g_loss(fake).item() == pytest.approx(0.2)
    # k_{t+1} = clip(k + λ(γ L(x) − L(G(z))), 0, 1)
    assert L.began_update_k(0.1, 0.3, 0.1, gamma=0.5, lambda_k=0.001) == pytest.approx(0.1 + 0.001 * 0.05)
    assert L.began_update_k(0.0, 0.1, 0.3, gamma=0.5, lambda_k=0.01) == 0.0
    assert L.began_update_k(0.999, 1.0, 0.0, gamma=1.0, lambda_k=0.01) == 1.0
    assert L.began_convergence(0.3, 0.1, gamma=0.5) == pytest.approx(0.3 + 0.05)
    assert L.began_convergence(0.3, 0.2, gamma=0.5) == pytest.approx(0.3 + 0.05)


# ---------------------------------------------------------------- gradients, both orders
def _two(n=5, seed=0, **kw):
    return rand64(n, 1, seed=seed, **kw), rand64(n, 1, seed=seed + 1, **kw)


CASES = {
    "minimax_d": (lambda r, f: L.minimax_d_loss(r, f), _two),
    "minimax_g": (lambda r, f: L.minimax_g_loss(f), _two),
    "nonsaturating_g": (lambda r, f: L.nonsaturating_g_loss(f), _two),
    "lsgan_d_010": (lambda r, f: L.lsgan_d_loss(r, f), _two),
    "lsgan_d_-110": (lambda r, f: L.lsgan_d_loss(r, f, a=-1.0, b=1.0), _two),
    "lsgan_g": (lambda r, f: L.lsgan_g_loss(f, c=0.0), _two),
    "wasserstein_d": (lambda r, f: L.wasserstein_d_loss(r, f), _two),
    "wasserstein_g": (lambda r, f: L.wasserstein_g_loss(f), _two),
    # energies in (0, 2) and margin 1.1: both sides of the hinge, away from its kink
    "ebgan_d": (lambda r, f: L.ebgan_d_loss(r, f, margin=1.1),
                lambda: (rand64(6, seed=3, low=0.0, high=2.0), t([0.2, 0.5, 0.8, 1.5, 1.7, 1.9]).requires_grad_())),
    "ebgan_g": (lambda r, f: L.ebgan_g_loss(f), _two),
    "pulling_away": (lambda r, f: L.pulling_away_term(r), lambda: (rand64(4, 3, seed=4), rand64(1, seed=5))),
    "began_d": (lambda r, f: L.began_d_loss(r, f, k=0.3), _two),
    "began_g": (lambda r, f: L.began_g_loss(f), _two),
    "energy_l2": (lambda r, f: L.reconstruction_energy(r, f, p=2), lambda: (rand64(3, 1, 2, 2, seed=6),
                                                                        rand64(3, 1, 2, 2, seed=7))),
    "energy_l1": (lambda r, f: L.reconstruction_energy(r, f, p=1),
                  lambda: (rand64(3, 1, 2, 2, seed=6), rand64(3, 1, 2, 2, seed=7) + 3.0)),
}


@pytest.mark.parametrize("check", [tg.gradcheck, tg.gradgradcheck], ids=["first", "second"])
@pytest.mark.parametrize("name", CASES)
def test_gradient(name, check):
    fn, make = CASES[name]
    assert check(fn, [x.detach().requires_grad_() for x in make()])


def test_pulling_away_second_order_reaches_the_encoder():
    """The term as EBGAN-PT uses it: on codes of a linear encoder, checked
    with respect to the encoder's weight, to second order."""
    x = rand64(5, 4, seed=8, requires_grad=False)
    w = rand64(3, 4, seed=9)
    fn = lambda w: L.pulling_away_term(x @ w.T)  # noqa: E731
    assert tg.gradcheck(fn, [w])
    assert tg.gradgradcheck(fn, [w])

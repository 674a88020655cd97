"""The GAN objectives, one pair (the discriminator's loss, the generator's loss) per paper.

Every loss is a composite of differentiable ops, so its gradient, and the
gradient of that gradient, come from the ops' own backwards (the tests check
both orders against finite differences). Each takes the discriminator's
outputs, not the networks, so a lesson shows the forward passes itself:

    logit_real, logit_fake = D(x), D(G(z).detach())
    loss_D = gan_losses.minimax_d_loss(logit_real, logit_fake)
    loss_G = gan_losses.nonsaturating_g_loss(D(G(z)))

Shapes: the discriminator's outputs are (N,) or (N, 1) (any shape works;
means are over all elements); floats. Every loss returns a scalar Tensor.
The autoencoder discriminators of EBGAN and BEGAN first turn images into
per-sample energies with :func:`reconstruction_energy`.

The WGAN-GP gradient penalty lives in ``tinygen.utils.gan.gradient_penalty``
because it needs the critic itself, not only its outputs.
"""
from .ops.activation import relu, softplus
from .ops.arith import abs as _abs
from .ops.reduce import mean, sum as _sum


# ---------------------------------------------------------------- Goodfellow et al. 2014
def minimax_d_loss(logit_real, logit_fake):
    """The discriminator's loss of the original GAN (Goodfellow et al. 2014, eq. 1).

    -E[log D(x)] - E[log(1 - D(G(z)))] with D = σ(logit), i.e. binary
    cross-entropy with label 1 for real and 0 for generated samples:
    E[softplus(-logit_real)] + E[softplus(logit_fake)], stable for any logit.
    Its minimum, 2 log 2 ≈ 1.386 at D = 1/2 everywhere, is the game's equilibrium.
    """
    return mean(softplus(-logit_real)) + mean(softplus(logit_fake))


def minimax_g_loss(logit_fake):
    """The generator's side of the minimax game: E[log(1 - D(G(z)))] (Goodfellow et al. 2014, eq. 1).

    Equals -E[softplus(logit_fake)]. It *saturates*: its gradient with respect
    to the logit is -D(G(z)), which vanishes when D rejects the samples.
    """
    return -mean(softplus(logit_fake))


def nonsaturating_g_loss(logit_fake):
    """The non-saturating generator loss -E[log D(G(z))] (Goodfellow et al. 2014, section 3).

    Equals E[softplus(-logit_fake)]; its gradient with respect to the logit,
    -(1 - D(G(z))), is strongest when D rejects the samples.
    """
    return mean(softplus(-logit_fake))


# ---------------------------------------------------------------- Mao et al. 2017
def lsgan_d_loss(out_real, out_fake, a=0.0, b=1.0):
    """LSGAN's discriminator loss ½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²] (Mao et al. 2017, eq. 2).

    ``out_*`` are D's raw outputs (no sigmoid). The codings of the paper:
    (a, b, c) = (0, 1, 1) (section 3.2.3, eq. 9) or (−1, 1, 0), which makes
    the objective the Pearson χ² divergence (eq. 8, with b − c = 1, b − a = 2).
    """
    return 0.5 * mean((out_real - b) ** 2) + 0.5 * mean((out_fake - a) ** 2)


def lsgan_g_loss(out_fake, c=1.0):
    """LSGAN's generator loss ½E[(D(G(z)) − c)²] (Mao et al. 2017, eq. 2).

    Its gradient with respect to D's output, D(G(z)) − c, grows with the
    distance from c, so samples on the right side of the boundary but far
    from it still get pulled: the loss does not saturate.
    """
    return 0.5 * mean((out_fake - c) ** 2)


# ---------------------------------------------------------------- Arjovsky et al. 2017
def wasserstein_d_loss(score_real, score_fake):
    """The critic's loss E[f(G(z))] − E[f(x)] (Arjovsky et al. 2017, Algorithm 1, line 5).

    Minimising it maximises E[f(x)] − E[f(G(z))], the Kantorovich-Rubinstein
    estimate of the Wasserstein-1 distance when f is 1-Lipschitz (kept so by
    weight clipping in WGAN, by a gradient penalty in WGAN-GP). ``-loss`` is
    the Wasserstein estimate the lessons plot.
    """
    return mean(score_fake) - mean(score_real)


def wasserstein_g_loss(score_fake):
    """The generator's loss −E[f(G(z))] (Arjovsky et al. 2017, Algorithm 1, line 10)."""
    return -mean(score_fake)


# ---------------------------------------------------------------- autoencoder discriminators
def reconstruction_energy(x, reconstruction, p=2):
    """Per-sample mean reconstruction error mean_i |x_i − D(x)_i|^p over all non-batch axes.

    The energy of an autoencoder discriminator: p = 2 is EBGAN's mean squared
    error (Zhao et al. 2017, section 2.3), p = 1 BEGAN's L(v) = |v − D(v)|^η
    with η = 1 (Berthelot et al. 2017, eq. 1). Averaging over pixels (rather
    than summing) keeps the energy, and so EBGAN's margin, independent of
    the image size.

    Args:
        x, reconstruction: Tensors (N, ...) of the same shape, floats.
        p: 1 or 2.

    Returns:
        Tensor (N,).

    Raises:
        ValueError: shapes differ, or p is not 1 or 2.
    """
    if x.shape != reconstruction.shape:
        raise ValueError(f"reconstruction: expected the shape of x {x.shape}, got {reconstruction.shape}")
    if p not in (1, 2):
        raise ValueError(f"p: expected 1 or 2, got {p!r}")
    d = (reconstruction - x).reshape(x.shape[0], -1)
    err = _abs(d) if p == 1 else d * d
    return mean(err, dim=1)


# ---------------------------------------------------------------- Zhao et al. 2017
def ebgan_d_loss(energy_real, energy_fake, margin):
    """EBGAN's discriminator loss E[D(x)] + E[[m − D(G(z))]⁺] (Zhao et al. 2017, eq. 1).

    ``energy_*`` are per-sample energies (N,), e.g. from
    :func:`reconstruction_energy`; ``margin`` m > 0 in the same units. A
    generated sample whose energy is already above m costs D nothing.

    Raises:
        ValueError: margin is not positive.
    """
    if not margin > 0:
        raise ValueError(f"margin: expected a number > 0, got {margin!r}")
    return mean(energy_real) + mean(relu(margin - energy_fake))


def ebgan_g_loss(energy_fake):
    """EBGAN's generator loss E[D(G(z))] (Zhao et al. 2017, eq. 2)."""
    return mean(energy_fake)


def pulling_away_term(codes):
    """EBGAN's pulling-away term: the mean squared cosine similarity between distinct codes.

    f_PT(S) = 1 / (N(N − 1)) Σ_i Σ_{j≠i} (S_iᵀ S_j / (‖S_i‖ ‖S_j‖))²
    (Zhao et al. 2017, section 2.4), on the encoder's codes of a generated batch.
    It is 0 for mutually orthogonal codes and 1 for parallel ones; added to
    the generator's loss (weight 0.1 in the paper), it pushes a batch's codes
    apart, against mode collapse.

    Args:
        codes: Tensor (N, ...), N >= 2; flattened to (N, d).

    Returns:
        scalar Tensor.

    Raises:
        ValueError: fewer than 2 codes.
    """
    n = codes.shape[0]
    if n < 2:
        raise ValueError(f"codes: expected at least 2 rows, got shape {codes.shape}")
    s = codes.reshape(n, -1)
    s = s / (_sum(s * s, dim=1, keepdim=True) + 1e-12) ** 0.5   # 1e-12: a zero code stays finite
    cos2 = (s @ s.T) ** 2
    return (_sum(cos2) - _sum(_sum(s * s, dim=1) ** 2)) / (n * (n - 1))   # drop the diagonal's 1s


# ---------------------------------------------------------------- Berthelot et al. 2017
def began_d_loss(loss_real, loss_fake, k):
    """BEGAN's discriminator loss L(x) − k_t L(G(z)) (Berthelot et al. 2017, eq. 4).

    ``loss_*`` are per-sample autoencoder losses (N,) (:func:`reconstruction_energy`
    with p = 1); ``k`` the float k_t in [0, 1] from :func:`began_update_k`.
    """
    return mean(loss_real) - k * mean(loss_fake)


def began_g_loss(loss_fake):
    """BEGAN's generator loss L(G(z)) (Berthelot et al. 2017, eq. 4)."""
    return mean(loss_fake)


def began_update_k(k, loss_real, loss_fake, gamma=0.5, lambda_k=0.001):
    """BEGAN's equilibrium control k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z))), 0, 1) (eq. 4).

    Args:
        k: float, k_t. loss_real, loss_fake: floats, the batch means L(x) and L(G(z)).
        gamma: the diversity ratio γ = E[L(G(z))] / E[L(x)] the control aims for, in (0, 1].
        lambda_k: the proportional gain λ_k (0.001 in the paper).

    Returns:
        float, k_{t+1}.
    """
    return min(max(k + lambda_k * (gamma * loss_real - loss_fake), 0.0), 1.0)


def began_convergence(loss_real, loss_fake, gamma=0.5):
    """BEGAN's convergence measure M_global = L(x) + |γ L(x) − L(G(z))| (Berthelot et al. 2017, section 3.4.1).

    Args and units as :func:`began_update_k`; returns a float (lower is better).
    """
    return loss_real + abs(gamma * loss_real - loss_fake)

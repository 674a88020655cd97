"""Losses, as composites of differentiable ops."""
from .activation import clamp, softplus
from .arith import exp, log
from .reduce import mean, sum as _sum


def _reduce(loss, reduction):
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return _sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"reduction: expected 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(input, target):
    if input.shape != target.shape:
        raise ValueError(f"target: expected shape {input.shape} (the input's), got {target.shape}")


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """Binary cross-entropy on logits, numerically stable.

    -[t log s(x) + (1-t) log(1 - s(x))] = softplus(x) - t x, which never
    evaluates log(0) or e^{large}. Shapes: logits and target alike, any shape;
    floats; target in [0, 1]. Returns a scalar ('mean', 'sum') or the
    elementwise loss ('none'). Source: Goodfellow et al. 2014, eq. 1 (the GAN
    discriminator's loss).

    Raises:
        ValueError: shapes differ, or ``reduction`` is unknown.
    """
    from ._util import as_tensor
    target = as_tensor(target, logits)
    _check_same_shape(logits, target)
    return _reduce(softplus(logits) - logits * target, reduction)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error, mean((input - target)^2). Shapes alike; floats.

    Raises:
        ValueError: shapes differ, or ``reduction`` is unknown.
    """
    from ._util import as_tensor
    target = as_tensor(target, input)
    _check_same_shape(input, target)
    d = input - target
    return _reduce(d * d, reduction)


def binary_cross_entropy(probs, target, reduction="mean", eps=1e-7):
    """Binary cross-entropy on probabilities: -[t log p + (1-t) log(1-p)].

    p is clamped into [eps, 1 - eps] before the logs, so a saturated sigmoid
    gives a large finite loss instead of inf; inside the bounds the gradient
    (and the second derivative) is the exact one. Prefer
    :func:`binary_cross_entropy_with_logits` when you have the logits.
    Shapes alike; floats; target in [0, 1]. Source: the Bernoulli decoder of a
    VAE (Kingma & Welling 2014, appendix C.1; slide 002).

    Raises:
        ValueError: shapes differ, or ``reduction`` is unknown.
    """
    from ._util import as_tensor
    target = as_tensor(target, probs)
    _check_same_shape(probs, target)
    p = clamp(probs, eps, 1 - eps)
    return _reduce(-(target * log(p) + (1 - target) * log(1 - p)), reduction)


def kl_divergence(mu, logvar, mu_prior=None, logvar_prior=None, reduction="batchmean"):
    """KL(N(mu, diag e^logvar) || N(mu_prior, diag e^logvar_prior)), closed form.

        KL = 1/2 sum_j [ logvar_p - logvar + (e^logvar + (mu - mu_p)^2) / e^logvar_p - 1 ]

    With the default prior N(0, I) this is -1/2 sum_j (1 + logvar - mu^2 - e^logvar),
    the VAE's regulariser (Kingma & Welling 2014, appendix B; slides 002, 003).

    Args:
        mu, logvar: (N, D) (or any shape whose first dim is the batch).
        mu_prior, logvar_prior: same shape or broadcastable; None means 0.
        reduction: "batchmean" (sum over all but dim 0, mean over the batch:
            nats per sample), "sum", "mean" (per element) or "none".

    Raises:
        ValueError: mu and logvar shapes differ, or ``reduction`` is unknown.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"logvar: expected shape {mu.shape} (mu's), got {logvar.shape}")
    d = mu if mu_prior is None else mu - mu_prior
    if logvar_prior is None:
        kl = 0.5 * (exp(logvar) + d * d - 1 - logvar)
    else:
        kl = 0.5 * (logvar_prior - logvar + (exp(logvar) + d * d) / exp(logvar_prior) - 1)
    if reduction == "batchmean":
        return _sum(kl) * (1.0 / kl.shape[0])
    return _reduce(kl, reduction)


def log_softmax(x, axis=-1):
    """log softmax(x) = x - logsumexp(x) along ``axis``, stable. Any shape; floats."""
    from .activation import logsumexp
    return x - logsumexp(x, axis=axis, keepdims=True)


def cross_entropy(logits, target, reduction="mean"):
    """Multi-class cross-entropy -log softmax(logits)[target], from logits.

    Args:
        logits: (N, C) float scores. target: (N,) integer class indices in
            [0, C) (an array or a Tensor; it gets no gradient).
        reduction: "mean" (default), "sum" or "none" (shape (N,)).

    Returns:
        Cross-entropy in nats. Source: the softmax classifier's negative log
        likelihood (Goodfellow, Bengio & Courville, Deep Learning, eq. 6.30).

    Raises:
        ValueError: logits not 2-D, target not (N,), a class index out of
            range, or an unknown ``reduction``.
    """
    from ..backend import get_array_module
    from ..autograd import Tensor
    if logits.ndim != 2:
        raise ValueError(f"logits: expected shape (N, C), got {logits.shape}")
    xp = get_array_module(logits.data)
    t = xp.asarray(target.data if isinstance(target, Tensor) else target)
    n, c = logits.shape
    if t.shape != (n,) or t.dtype.kind not in "iu":
        raise ValueError(f"target: expected integer class indices of shape ({n},), got {t.dtype} {t.shape}")
    if n and (int(t.min()) < 0 or int(t.max()) >= c):
        raise ValueError(f"target: class indices must lie in [0, {c}), got [{int(t.min())}, {int(t.max())}]")
    one_hot = Tensor((t[:, None] == xp.arange(c)[None, :]).astype(logits.dtype))
    return _reduce(-_sum(one_hot * log_softmax(logits, axis=1), axis=1), reduction)

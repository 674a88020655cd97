"""Losses, as composites of differentiable ops (BCE on probabilities as one Function)."""
import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from .activation import maximum, softplus, where
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


_LOG_FLOOR = -100.0   # PyTorch clamps each log term of BCE at -100
_GRAD_EPS = 1e-12     # ...and caps 1 / (p (1 - p)) in its backward at 1e12


def _floored_log(x):
    """max(log x, -100) as a composite: log where log x >= -100, else the constant -100.

    The inner ``where`` keeps log(0) out of the graph, so the gradient is
    1/x inside and exactly 0 (not nan) where the floor applies.
    """
    xp = get_array_module(x.data)
    with np.errstate(divide="ignore"):
        inside = xp.log(x.data) >= _LOG_FLOOR
    return where(inside, log(where(inside, x, 1.0)), _LOG_FLOOR)


class BinaryCrossEntropy(Function):
    """l = -[t max(log p, -100) + (1 - t) max(log(1 - p), -100)], elementwise.

    dl/dp = (p - t) / max(p (1 - p), 1e-12) and dl/dt = max(log(1 - p), -100)
    - max(log p, -100), both written in tinygen ops so that they can be
    differentiated again. These are PyTorch's value and backward
    (``torch.nn.functional.binary_cross_entropy``).
    """

    def forward(self, p, t):
        xp = get_array_module(p)
        with np.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), _LOG_FLOOR)
            log_1mp = xp.maximum(xp.log(1 - p), _LOG_FLOOR)
        return -(t * log_p + (1 - t) * log_1mp)

    def backward(self, gy):
        p, t = self.inputs
        gp = gy * (p - t) / maximum(p * (1 - p), _GRAD_EPS) if self.needs_grad[0] else None
        gt = gy * (_floored_log(1 - p) - _floored_log(p)) if self.needs_grad[1] else None
        return gp, gt


def binary_cross_entropy(probs, target, reduction="mean"):
    """Binary cross-entropy on probabilities: -[t log p + (1-t) log(1-p)], as PyTorch.

    Each log is clamped from below at -100, so p = 0 or 1 gives a finite loss
    (100 per element at most) instead of inf. The gradient is PyTorch's,
    (p - t) / max(p (1 - p), 1e-12): the exact derivative whenever
    p (1 - p) >= 1e-12, so a nearly saturated sigmoid still passes a
    gradient back (a GAN discriminator keeps teaching the generator).
    Clamping p itself would zero it instead. Through a sigmoid that saturates
    all the way to p = 1.0 in floating point the logit gradient is 0, as in
    PyTorch: prefer :func:`binary_cross_entropy_with_logits` when you have
    the logits.

    Args:
        probs: any shape, float32/float64, values in [0, 1].
        target: same shape and dtype (an array is cast to probs' dtype),
            values in [0, 1].
        reduction: "mean" (default), "sum" or "none" (elementwise).

    Returns:
        A scalar Tensor, or the elementwise loss for "none", in nats.
        Differentiable to any order in probs and target.

    Raises:
        ValueError: shapes differ, or ``reduction`` is unknown.

    Source: the Bernoulli decoder of a VAE (Kingma & Welling 2014, appendix
    C.1); the clamp and backward follow PyTorch's ``binary_cross_entropy``.
    """
    from ._util import as_tensor
    target = as_tensor(target, probs)
    _check_same_shape(probs, target)
    return _reduce(BinaryCrossEntropy()(probs, target), reduction)


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

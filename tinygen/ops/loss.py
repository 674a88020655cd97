"""Losses with ``torch.nn.functional``'s signatures, as composites of differentiable
ops (BCE on probabilities as one Function, whose backward is in tinygen ops).

Each takes ``reduction`` ("mean", "sum" or "none") and PyTorch's deprecated
``size_average``/``reduce`` pair in PyTorch's positions (mapped to a
reduction as PyTorch does, with its warning). Targets may be arrays; they are
wrapped as constants of the input's dtype.
"""
import warnings

import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module
from ._util import as_tensor
from .activation import maximum, softplus, where
from .arith import abs as _abs, exp, log
from .nonlinear import log_softmax
from .reduce import mean, sum as _sum
from .shape import reshape

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(size_average, reduce, reduction, name="size_average"):
    """The reduction, from PyTorch's deprecated pair if either is given (its legacy rule)."""
    for arg, value in (("size_average", size_average), ("reduce", reduce)):
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{arg}: expected a bool or None (PyTorch's deprecated argument in this "
                             f"position), got {value!r}; pass reduction={value!r} by keyword")
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                      "instead.", stacklevel=3)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


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


def _check_broadcast(input, value, name):
    """``value`` as a Tensor that broadcasts to input's shape without enlarging it (else ValueError)."""
    if value is None:
        return None
    if isinstance(value, str):
        raise ValueError(f"{name}: expected a Tensor or None, got {value!r} (PyTorch's third "
                         "argument is weight; pass reduction= by keyword)")
    value = as_tensor(value, input)
    try:
        shape = np.broadcast_shapes(value.shape, input.shape)
    except ValueError:
        shape = None
    if shape != input.shape:
        raise ValueError(f"{name}: expected a shape that broadcasts to {input.shape} (the input's), "
                         f"got {value.shape}")
    return value


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy on logits, numerically stable.

    -[t log s(x) + (1-t) log(1 - s(x))] = softplus(x) - t x, which never
    evaluates log(0) or e^{large}. With ``pos_weight`` p (weighting the
    positive term, PyTorch's formula): (1 - t) x + (1 + (p - 1) t) softplus(-x).

    Args:
        input: logits, any shape, float32/float64.
        target: same shape (an array is cast to input's dtype), values in [0, 1].
        weight: None, or a Tensor broadcasting to input's shape: multiplies
            each element's loss.
        size_average, reduce: PyTorch's deprecated pair (use ``reduction``).
        reduction: "mean" (default), "sum" or "none" (elementwise).
        pos_weight: None, or a Tensor broadcasting to input's shape (usually
            (C,), one per class along the last dim): weight of the positive term.

    Returns:
        A scalar, or the elementwise loss for "none". Differentiable to any
        order in input, target, weight and pos_weight.

    Raises:
        ValueError: shapes differ, weight/pos_weight does not broadcast to
            input's shape, or an unknown ``reduction``.

    Source: Goodfellow et al. 2014, eq. 1 (the GAN discriminator's loss);
    ``torch.nn.functional.binary_cross_entropy_with_logits``.
    """
    weight = _check_broadcast(input, weight, "weight")
    reduction = _reduction(size_average, reduce, reduction)
    target = as_tensor(target, input)
    _check_same_shape(input, target)
    pos_weight = _check_broadcast(input, pos_weight, "pos_weight")
    if pos_weight is None:
        loss = softplus(input) - input * target
    else:
        loss = (1 - target) * input + ((pos_weight - 1) * target + 1) * softplus(-input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean squared error: (input - target)^2, averaged ('mean'), summed or elementwise.

    Args:
        input: any shape, float32/float64. target: the same shape (an array
            is cast to input's dtype). size_average, reduce: PyTorch's
            deprecated pair. reduction: "mean" (default), "sum" or "none".

    Raises:
        ValueError: shapes differ (PyTorch broadcasts with a warning), or an
            unknown ``reduction``.

    Source: ``torch.nn.functional.mse_loss``.
    """
    reduction = _reduction(size_average, reduce, reduction)
    target = as_tensor(target, input)
    _check_same_shape(input, target)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean absolute error |input - target| (its gradient at 0 is 0, as PyTorch's).

    Shapes, arguments and errors as :func:`mse_loss`. Source:
    ``torch.nn.functional.l1_loss``.
    """
    reduction = _reduction(size_average, reduce, reduction)
    target = as_tensor(target, input)
    _check_same_shape(input, target)
    return _reduce(_abs(input - target), reduction)


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


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
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
        input: the probabilities p, any shape, float32/float64, values in [0, 1].
        target: same shape and dtype (an array is cast to input's dtype),
            values in [0, 1].
        weight: None, or a Tensor broadcasting to input's shape: multiplies
            each element's loss.
        size_average, reduce: PyTorch's deprecated pair (use ``reduction``).
        reduction: "mean" (default), "sum" or "none" (elementwise).

    Returns:
        A scalar Tensor, or the elementwise loss for "none", in nats.
        Differentiable to any order in input and target.

    Raises:
        ValueError: shapes differ, weight does not broadcast to input's shape,
            or ``reduction`` is unknown.

    Source: the Bernoulli decoder of a VAE (Kingma & Welling 2014, appendix
    C.1); the clamp and backward follow PyTorch's ``binary_cross_entropy``.
    """
    weight = _check_broadcast(input, weight, "weight")
    reduction = _reduction(size_average, reduce, reduction)
    target = as_tensor(target, input)
    _check_same_shape(input, target)
    loss = BinaryCrossEntropy()(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_divergence(mu, logvar, mu_prior=None, logvar_prior=None, reduction="batchmean"):
    """KL(N(mu, diag e^logvar) || N(mu_prior, diag e^logvar_prior)), closed form.

    tinygen's own: the Gaussian KL of a VAE, from the encoder's mean and log
    variance. It is *not* PyTorch's ``F.kl_div`` (which takes log-probabilities
    and probabilities of two discrete distributions).

        KL = 1/2 sum_j [ logvar_p - logvar + (e^logvar + (mu - mu_p)^2) / e^logvar_p - 1 ]

    With the default prior N(0, I) this is -1/2 sum_j (1 + logvar - mu^2 - e^logvar),
    the VAE's regulariser (Kingma & Welling 2014, appendix B; slides 002, 003).

    Args:
        mu, logvar: (N, D) (or any shape whose first dim is the batch), floats.
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


# ---------------------------------------------------------------- class targets
def _class_weight(input, weight, n_classes):
    """The class weights as a constant array of input's dtype, or None."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise ValueError(f"weight: expected a Tensor of shape ({n_classes},) or None, got {weight!r} "
                         "(PyTorch's third argument is weight; pass reduction= by keyword)")
    xp = get_array_module(input.data)
    w = xp.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=input.dtype)
    if w.shape != (n_classes,):
        raise ValueError(f"weight: expected shape ({n_classes},) (one per class), got {w.shape}")
    return w


def _index_target(input, target, ignore_index, probabilities_ok):
    """(t, valid) integer class indices and their not-ignored mask, or None for a
    class-probability target (floats of input's shape) where ``probabilities_ok``."""
    xp = get_array_module(input.data)
    if input.ndim == 0:
        raise ValueError("input: expected shape (N, C), (N, C, d1, ...) or (C,), got a 0-d tensor")
    batched = input.ndim >= 2
    n_classes = input.shape[1] if batched else input.shape[0]
    expected = (input.shape[0],) + input.shape[2:] if batched else ()
    t = xp.asarray(target.data if isinstance(target, Tensor) else target)
    if probabilities_ok and t.dtype.kind == "f" and t.shape == input.shape:
        return None
    if t.shape != expected or t.dtype.kind not in "iu":
        also = f" or class probabilities of shape {input.shape}" if probabilities_ok else ""
        raise ValueError(f"target: expected integer class indices of shape {expected}{also} "
                         f"for input of shape {input.shape}, got {t.dtype} {t.shape}")
    valid = t != ignore_index
    if valid.any():
        lo, hi = int(t[valid].min()), int(t[valid].max())
        if lo < 0 or hi >= n_classes:
            raise ValueError(f"target: class indices must lie in [0, {n_classes}) (or equal ignore_index "
                             f"{ignore_index}), got values in [{lo}, {hi}]")
    return t, valid


def _nll(logp, t, valid, w, reduction):
    """-w[t] logp[t] per sample from (N, C, *d) log-probabilities, with PyTorch's
    weighted mean (sum / sum of the counted samples' weights)."""
    xp = get_array_module(logp.data)
    n_classes = logp.shape[1]
    classes = xp.arange(n_classes).reshape((1, n_classes) + (1,) * (logp.ndim - 2))
    hit = xp.expand_dims(t, 1) == classes                     # (N, C, *d) one-hot
    all_valid = bool(valid.all())
    if not all_valid:
        hit &= xp.expand_dims(valid, 1)
    mask = hit.astype(logp.dtype) if w is None else hit * w.reshape(classes.shape)
    loss = -_sum(Tensor(mask) * logp, 1)
    if reduction != "mean" or (w is None and all_valid):
        return _reduce(loss, reduction)
    total = float(mask.sum())  # the counted samples' weights; 0 gives nan, as PyTorch
    return _sum(loss) * (1.0 / total if total else float("nan"))


def _unbatch(input):
    """An unbatched (C,) input seen as (1, C)."""
    return reshape(input, (1,) + input.shape)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log likelihood -w[t] input[t] of log-probabilities, PyTorch's ``F.nll_loss``.

    Args:
        input: log-probabilities, (N, C), (N, C, d1, ...) or unbatched (C,); floats.
        target: integer class indices, (N,), (N, d1, ...) or () to match, in
            [0, C) or equal to ``ignore_index``; an array or Tensor (no gradient).
        weight: None or (C,): each class's weight (a constant: it gets no gradient, as in PyTorch).
        size_average, reduce: PyTorch's deprecated pair (use ``reduction``).
        ignore_index: targets equal to it add nothing, and do not count in the mean.
        reduction: "mean" (the weighted mean: sum / sum of w[target] over the
            counted samples; nan if none counts), "sum" or "none" (target's shape).

    Raises:
        ValueError: bad shapes, non-integer targets, a class index out of range,
            a weight not (C,), or an unknown ``reduction``.

    Source: ``torch.nn.functional.nll_loss``.
    """
    reduction = _reduction(size_average, reduce, reduction)
    t, valid = _index_target(input, target, ignore_index, probabilities_ok=False)
    w = _class_weight(input, weight, input.shape[1] if input.ndim >= 2 else input.shape[0])
    if input.ndim == 1:
        loss = _nll(_unbatch(input), t.reshape(1), valid.reshape(1), w, reduction)
        return reshape(loss, ()) if reduction == "none" else loss
    return _nll(input, t, valid, w, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Multi-class cross-entropy from logits: -sum_c q_c log softmax(input)_c, PyTorch's ``F.cross_entropy``.

    q is one-hot at the target class (class-index targets) or the given
    distribution (class-probability targets); with label smoothing e it is
    mixed with the uniform distribution: (1 - e) q + e / C.

    Args:
        input: logits, (N, C), (N, C, d1, ...) or unbatched (C,); float32/float64.
        target: integer class indices of shape (N,), (N, d1, ...) or () (an
            array or Tensor, no gradient), or class probabilities: floats of
            input's shape (differentiable).
        weight: None or (C,) class weights (constants).
        size_average, reduce: PyTorch's deprecated pair (use ``reduction``).
        ignore_index: index targets equal to it add nothing and are not
            counted in the mean (not used with probability targets).
        reduction: "mean", "sum" or "none" (one value per sample). The mean of
            index targets is weighted as in :func:`nll_loss`; of probability
            targets it divides by the number of samples N * d1 * ..., as PyTorch.
        label_smoothing: e in [0, 1].

    Returns:
        Cross-entropy in nats; differentiable to any order in input (and in a
        probability target).

    Raises:
        ValueError: bad shapes or dtypes of input or target, a class index out
            of range, a weight not (C,), label_smoothing outside [0, 1], or an
            unknown ``reduction``.

    Source: the softmax classifier's negative log likelihood (Goodfellow,
    Bengio & Courville, Deep Learning, eq. 6.30); label smoothing: Szegedy et
    al. 2016, section 7; weights, reductions and smoothing as PyTorch's.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
            or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing: expected a number in [0, 1], got {label_smoothing!r}")
    index = _index_target(input, target, ignore_index, probabilities_ok=True)
    unbatched = input.ndim == 1
    n_classes = input.shape[0] if unbatched else input.shape[1]
    w = _class_weight(input, weight, n_classes)
    if unbatched:
        input = _unbatch(input)
    logp = log_softmax(input, 1)
    w_b = None if w is None else Tensor(w.reshape((1, n_classes) + (1,) * (logp.ndim - 2)))
    if index is None:  # class probabilities
        q = as_tensor(target, logp)
        q = reshape(q, logp.shape) if unbatched else q
        if label_smoothing > 0:
            q = q * (1 - label_smoothing) + label_smoothing / n_classes
        terms = logp * q if w_b is None else logp * q * w_b
        if reduction == "none":
            loss = -_sum(terms, 1)
            return reshape(loss, ()) if unbatched else loss
        if reduction == "sum":
            return -_sum(terms)
        return -_sum(terms) * (1.0 / (logp.data.size / n_classes))
    t, valid = index
    if unbatched:
        t, valid = t.reshape(1), valid.reshape(1)
    loss = _nll(logp, t, valid, w, reduction)
    if label_smoothing > 0:
        smooth = -_sum(logp if w_b is None else logp * w_b, 1)
        if not bool(valid.all()):
            smooth = smooth * Tensor(valid.astype(logp.dtype))
        if reduction == "mean":
            counted = float(valid.sum()) if w is None else float(w[t[valid]].sum())
            smooth = _sum(smooth) * (1.0 / counted if counted else float("nan"))
        elif reduction == "sum":
            smooth = _sum(smooth)
        loss = loss * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)
    return reshape(loss, ()) if unbatched and reduction == "none" else loss

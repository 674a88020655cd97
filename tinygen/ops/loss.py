"""Losses, as composites of differentiable ops."""
from .activation import softplus
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

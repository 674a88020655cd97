"""Finite-difference checks of first and second derivatives.

After Chainer's ``gradient_check``: float64 only (in float32 the rounding
error of a central difference, about 1e-7 |L| / eps, is as large as the
derivative for any usable eps), a random cotangent v so that the checked scalar is
L = sum(v * f(x)) (an all-ones cotangent hides bugs in normalising ops), and
central differences (L(x + eps d) - L(x - eps d)) / (2 eps) compared with the
analytic directional derivative grad L . d.

Small inputs are checked element by element (the whole gradient); large ones
along a few random directions, which costs 2 evaluations per direction.
"""
import numpy as np

from .autograd import Tensor, grad
from .backend import get_array_module


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with finite differences."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, max_full=256,
              n_directions=3, raise_exception=True):
    """Check the gradient of ``fn`` at ``inputs`` against central finite differences.

    Args:
        fn: callable taking ``*inputs`` and returning a Tensor or a tuple of Tensors.
        inputs: sequence of Tensors; those with ``requires_grad`` are checked
            and must be float64 (cast every input and parameter, not just x).
        eps: finite-difference step. atol, rtol: pass if
            |analytic - numeric| <= atol + rtol * |numeric| everywhere.
        seed: seeds the random cotangent and directions.
        max_full: at most this many checked elements in all -> compare every
            partial derivative; more -> ``n_directions`` random directions.
        raise_exception: raise on failure (else return False).

    Returns:
        True if every comparison passes.

    Raises:
        ValueError: a checked input is not float64.
        GradcheckError: a mismatch; the message gives the largest absolute and
            relative error and where it occurred.
    """
    inputs = list(inputs)
    targets = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    for i, x in enumerate(targets):
        if x.dtype != np.float64:
            raise ValueError(f"inputs: gradcheck needs float64 tensors, got {x.dtype} for checked input {i} "
                             f"(shape {x.shape}); cast every input and parameter with .double()")
    rng = np.random.default_rng(seed)
    outs = _as_tuple(fn(*inputs))
    xp = get_array_module(outs[0].data)
    cot = [xp.asarray(rng.standard_normal(o.shape)) for o in outs]

    def objective():
        # Not under no_grad: fn may itself call grad() (see gradgradcheck).
        return float(sum((o.data * v).sum() for o, v in zip(_as_tuple(fn(*inputs)), cot)))

    graded = [o for o in outs if o.requires_grad]
    if graded:
        gs = grad(graded, targets, grad_outputs=[Tensor(v) for o, v in zip(outs, cot) if o.requires_grad],
                  allow_unused=True)
    else:
        gs = [None] * len(targets)
    analytic = [xp.zeros(x.shape) if g is None else g.data for x, g in zip(targets, gs)]

    worst = {"abs": 0.0, "rel": 0.0, "where": None}
    failures = []

    def compare(a, n, where):
        err = abs(a - n)
        rel = err / max(abs(n), 1e-12)
        if err > worst["abs"]:
            worst.update({"abs": err, "where": where})
        worst["rel"] = max(worst["rel"], rel if err > atol else 0.0)
        if err > atol + rtol * abs(n):
            failures.append((where, a, n))

    total = sum(x.numel() for x in targets)
    if total <= max_full:
        for k, x in enumerate(targets):
            flat = x.data.reshape(-1)  # a view: perturb in place
            for j in range(x.numel()):
                orig = float(flat[j])
                flat[j] = orig + eps
                hi = objective()
                flat[j] = orig - eps
                lo = objective()
                flat[j] = orig
                compare(float(analytic[k].reshape(-1)[j]), (hi - lo) / (2 * eps),
                        f"input {k} (shape {x.shape}), element {tuple(int(i) for i in np.unravel_index(j, x.shape))}")
    else:
        for d in range(n_directions):
            dirs = [xp.asarray(rng.standard_normal(x.shape)) for x in targets]
            norm = float(np.sqrt(sum(float((r * r).sum()) for r in dirs)))
            dirs = [r / norm for r in dirs]
            origs = [x.data for x in targets]
            for x, o, r in zip(targets, origs, dirs):
                x.data = o + eps * r
            hi = objective()
            for x, o, r in zip(targets, origs, dirs):
                x.data = o - eps * r
            lo = objective()
            for x, o in zip(targets, origs):
                x.data = o
            a = float(sum(float((g * r).sum()) for g, r in zip(analytic, dirs)))
            compare(a, (hi - lo) / (2 * eps), f"random direction {d} over all {len(targets)} inputs")

    if failures:
        where, a, n = failures[0]
        msg = (f"gradient check failed at {len(failures)} point(s); largest absolute error "
               f"{worst['abs']:.3e} at {worst['where']}, largest relative error {worst['rel']:.3e}; "
               f"first failure at {where}: analytic {a:.8g} vs numeric {n:.8g} "
               f"(atol={atol}, rtol={rtol})")
        if raise_exception:
            raise GradcheckError(msg)
        return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, **kwargs):
    """Check second derivatives of ``fn`` by finite differences of its gradient.

    It runs :func:`gradcheck` on x, v -> grad(fn(x), x, grad_outputs=v,
    create_graph=True) for a random cotangent v, so the double backward is
    checked with respect to both the inputs and the cotangent (as PyTorch's
    gradgradcheck does). Arguments and errors as for :func:`gradcheck`.
    """
    inputs = list(inputs)
    rng = np.random.default_rng(seed + 1)
    outs = _as_tuple(fn(*inputs))
    xp = get_array_module(outs[0].data)
    vs = [Tensor(xp.asarray(rng.standard_normal(o.shape)), requires_grad=True) for o in outs]
    n = len(inputs)

    def first_derivative(*args):
        xs, cot = args[:n], args[n:]
        ys = _as_tuple(fn(*xs))
        pairs = [(y, v) for y, v in zip(ys, cot) if y.requires_grad]
        checked = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        gs = grad([y for y, _ in pairs], checked, grad_outputs=[v for _, v in pairs],
                  create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, inputs + vs, eps=eps, atol=atol, rtol=rtol, seed=seed, **kwargs)

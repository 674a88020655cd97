"""An exponential moving average of a model's weights (``EMA``).

ProGAN samples from a generator whose weights are a running average of the
trained generator's (Karras et al. 2018, "Progressive Growing of GANs for
Improved Quality, Stability, and Variation", appendix A.1: "an exponential
running average for the weights of the generator ... with decay 0.999"):
the average smooths out the last steps' oscillation, and its samples are
better than the raw generator's. Yazıcı et al. 2019 ("The Unusual
Effectiveness of Averaging in GAN Training") measure the gain.
"""
import copy
import math

import numpy as np

from ..backend import get_array_module
from ..nn.module import Module


class EMA:
    """An exponential moving average of ``model``'s parameters, kept in a copy of the model.

    ``ema.module`` is a deep copy of ``model`` taken at construction, in eval
    mode, its parameters with ``requires_grad`` False (sample from it with
    ``ema.module(z)``). After each optimiser step of ``model`` call
    :meth:`update`: every averaged parameter becomes

        avg <- b avg + (1 - b) param,   b = min(beta, (1 + t) / (10 + t)) with ``warmup``, else beta,

    where t is the number of updates made before this one (TensorFlow's
    ``ExponentialMovingAverage`` with ``num_updates``: early on, while the
    copy still holds the initial weights, the average follows the model
    faster). Buffers (BatchNorm's running statistics) are copied as they are.

    Use it as an entry of :func:`tinygen.utils.train.fit`'s ``state=`` dict:
    :meth:`state_dict` and :meth:`load_state_dict` carry it over a resume.

    Args:
        model: the Module being trained (its parameters and buffers of any
            float dtype and device; the copy has the same).
        beta: the decay, a number in [0, 1) (0.999 as ProGAN; 0 copies the weights).
        warmup: bool, use the num_updates warm-up above.

    Attributes:
        module: the averaged copy (a Module of ``model``'s class).
        beta, warmup: as given. num_updates: int, the number of updates so far.

    Raises:
        TypeError: ``model`` is not a Module.
        ValueError: ``beta`` outside [0, 1), or ``warmup`` not a bool.

    Source: Karras et al. 2018, appendix A.1; the warm-up is TensorFlow's
    ``tf.train.ExponentialMovingAverage(decay, num_updates)``.
    """

    def __init__(self, model, beta=0.999, warmup=True):
        if not isinstance(model, Module):
            raise TypeError(f"model: expected a tinygen Module, got {type(model).__name__}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating)) \
                or not 0 <= beta < 1:
            raise ValueError(f"beta: expected a number in [0, 1), got {beta!r}")
        if not isinstance(warmup, (bool, np.bool_)):
            raise ValueError(f"warmup: expected True or False, got {warmup!r}")
        self.beta, self.warmup, self.num_updates = float(beta), bool(warmup), 0
        self.model = model
        self.module = copy.deepcopy(model)
        self.module.eval()
        for p in self.module.parameters():
            p.grad = None
        self.module.requires_grad_(False)

    def decay(self):
        """The b the next :meth:`update` uses: min(beta, (1 + t) / (10 + t)), t = ``num_updates``,
        with ``warmup``; else beta. A float in [0, 1)."""
        if not self.warmup:
            return self.beta
        t = self.num_updates
        return min(self.beta, (1.0 + t) / (10.0 + t))

    def _pairs(self, kind):
        """[(name, averaged tensor, model's tensor)] for ``kind`` "parameters" or "buffers"."""
        mine = list(getattr(self.module, f"named_{kind}")())
        theirs = list(getattr(self.model, f"named_{kind}")())
        if [n for n, _ in mine] != [n for n, _ in theirs] or \
                any(a.shape != b.shape for (_, a), (_, b) in zip(mine, theirs)):
            raise ValueError(f"model: its {kind} no longer match the averaged copy's "
                             f"({[(n, t.shape) for n, t in theirs]} vs {[(n, t.shape) for n, t in mine]}); "
                             f"was the model changed after the EMA was made?")
        return [(n, a, b) for (n, a), (_, b) in zip(mine, theirs)]

    def update(self):
        """Fold the model's current parameters into the average; copy its buffers.

        Call after each optimiser step. Works on the arrays directly, so no
        graph is recorded. Increments ``num_updates``.

        Raises:
            ValueError: the model's parameters or buffers no longer match the copy's
                (names or shapes changed since the EMA was made).
        """
        b = self.decay()
        for _, avg, p in self._pairs("parameters"):
            avg.data = b * avg.data + (1.0 - b) * p.data.astype(avg.dtype, copy=False)
        for _, avg, buf in self._pairs("buffers"):
            avg.data = get_array_module(buf.data).array(buf.data, copy=True)
        self.num_updates += 1

    def state_dict(self):
        """``{"num_updates": int, "module.<name>": NumPy array, ...}``: the update count and
        a copy of every averaged parameter and persistent buffer (``module.state_dict()``'s
        keys, prefixed), ready for ``fit``'s checkpoints."""
        state = {"num_updates": int(self.num_updates)}
        state.update({f"module.{k}": v for k, v in self.module.state_dict().items()})
        return state

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned, all or nothing (checked before anything is written).

        Args:
            state: dict as :meth:`state_dict` returns (arrays may be NumPy or CuPy;
                they are cast to each parameter's dtype and device).

        Raises:
            ValueError: a key is missing or unexpected, an array's shape differs from
                the averaged copy's, or ``num_updates`` is not an int >= 0.
        """
        if not hasattr(state, "keys"):
            raise ValueError(f"state: expected a dict, got {type(state).__name__}")
        expected = ["num_updates"] + [f"module.{k}" for k in self.module.state_dict(keep_vars=True)]
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing or unexpected:
            raise ValueError(f"state: missing keys {missing}, unexpected keys {unexpected}")
        n = state["num_updates"]
        n = n.item() if isinstance(n, np.ndarray) and n.shape == () else n
        if isinstance(n, bool) or not isinstance(n, (int, np.integer, float)) or \
                (isinstance(n, float) and not (math.isfinite(n) and n.is_integer())) or n < 0:
            raise ValueError(f"state['num_updates']: expected an int >= 0, got {state['num_updates']!r}")
        module_state = {k[len("module."):]: state[k] for k in expected[1:]}
        try:
            self.module.check_state_dict(module_state)
        except (KeyError, ValueError) as e:
            raise ValueError(f"state: does not match the averaged model: {e}") from None
        self.module.load_state_dict(module_state)
        self.num_updates = int(n)

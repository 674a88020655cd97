"""Optimizers, as ``torch.optim``: SGD, Adam, RMSprop, and ``lr_scheduler``.

PyTorch's semantics: ``opt.param_groups`` is a list of dicts, each holding
``"params"`` and every hyperparameter (per-group values override the
constructor's defaults, which are in ``opt.defaults``); ``opt.state`` maps
each Parameter (by identity) to its state dict; ``state_dict()`` /
``load_state_dict()`` use PyTorch's layout, with NumPy arrays.

The updates write into the parameter arrays in place and never build a graph.
Per-parameter state is kept in arrays of the parameter's own dtype, and the
hyperparameters are Python floats, so float32 stays float32.
"""
from collections import defaultdict

import numpy as np

from ..autograd import Tensor, enable_grad
from ..backend import as_device, get_array_module
from ..kernels.threads import parallel_for
from . import lr_scheduler  # noqa: F401
from .lr_scheduler import CosineAnnealingLR, LRScheduler  # noqa: F401


def _check_number(value, name, low=0.0, high=None, closed_high=True):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if value < low or (high is not None and (value > high if closed_high else value >= high)):
        interval = f"[{low}, {high}{']' if closed_high else ')'}" if high is not None else f">= {low}"
        raise ValueError(f"{name}: expected a value in {interval}, got {value!r}")


class Optimizer:
    """Base class, as ``torch.optim.Optimizer``: parameter groups and per-parameter state.

    Args:
        params: an iterable of Parameters (e.g. ``model.parameters()``), or of
            dicts ``{"params": [...], "lr": ..., ...}``, one per parameter group,
            whose options override ``defaults`` for that group.
        defaults: dict of hyperparameter name -> default value.

    Attributes:
        param_groups: list of dicts, each with "params" (a list of Parameters) and
            every hyperparameter; change ``group["lr"]`` to change the learning rate.
        defaults: the constructor's hyperparameters.
        state: dict Parameter -> dict of its state (e.g. Adam's "exp_avg"), keyed
            by identity; empty until the parameter's first update.

    Raises:
        ValueError: an empty parameter list; a Parameter listed twice or in two
            groups (it would be updated twice per step; ``Module.parameters()``
            lists a shared, tied Parameter once); a non-leaf tensor; a bad
            hyperparameter value.
        TypeError: params is a single set (unordered) or holds a non-Tensor.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            params = [params]
        if isinstance(params, (set, frozenset)):
            raise TypeError("params: expected an ordered iterable of Parameters or of dicts, got a set")
        groups = list(params)
        if not groups:
            raise ValueError("params: expected at least one parameter, got an empty list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group):
        """Add a group ``{"params": [...], option: value, ...}``; options it lacks
        take the optimizer's defaults. Use it to start training more parameters
        (e.g. a newly unfrozen layer) with their own learning rate.

        Raises:
            TypeError: ``param_group`` is not a dict, or "params" holds a non-Tensor or is a set.
            ValueError: "params" is empty, a tensor is not a leaf, a Parameter is listed
                twice or is already in another group, or an option has a bad value.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group: expected a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError("param_group: expected a 'params' entry")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("param_group['params']: expected an ordered iterable of Parameters, got a set")
        params = list(params)
        if not params:
            raise ValueError("params: expected at least one parameter, got an empty list")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"params: expected Tensors (Parameters), got a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("params: can't optimize a non-leaf Tensor (one computed by an op)")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError("params: a Parameter appears more than once; each must be listed once")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if taken & set(ids):
            raise ValueError("params: some parameters appear in more than one parameter group")
        group["params"] = params
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        """Validate one group's hyperparameters (subclasses check theirs)."""
        _check_number(group["lr"], "lr")
        _check_number(group.get("weight_decay", 0.0), "weight_decay")

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's ``.grad``: to None (default, as PyTorch; this also
        frees any graph hanging off it), or to zeros with ``set_to_none=False``."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = Tensor(get_array_module(p.grad.data).zeros_like(p.grad.data))

    def step(self, closure=None):
        """Apply one update to every parameter that has a gradient; returns the
        closure's loss (or None).

        Args:
            closure: optional callable that re-evaluates the model and returns the
                loss; called (with gradients enabled) before the update, as PyTorch.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if group.get("maximize", False):
                    g = -g
                if group.get("weight_decay", 0.0):  # L2 added to the gradient, as PyTorch
                    g = g + group["weight_decay"] * p.data
                self._update(p.data, g, self.state[p], group, get_array_module(p.data))
        return loss

    def _update(self, w, g, state, group, xp):
        raise NotImplementedError

    # ------------------------------------------------ state
    def _index(self):
        # Parameter id -> its index across all groups, in order (PyTorch's numbering)
        out, i = {}, 0
        for group in self.param_groups:
            for p in group["params"]:
                out[id(p)] = i
                i += 1
        return out

    def state_dict(self):
        """The optimizer's state in PyTorch's layout:

            {"state": {index: {"step": int, "exp_avg": array, ...}, ...},
             "param_groups": [{"lr": ..., ..., "params": [index, ...]}, ...]}

        Parameters are numbered 0, 1, ... across the groups in order. The arrays are
        NumPy copies (off the GPU), and a step counter is a Python int (PyTorch
        keeps tensors), so the dict can be saved with ``numpy.savez`` plus JSON.
        """
        index = self._index()
        state = {}
        for p, s in self.state.items():
            if s and id(p) in index:
                state[index[id(p)]] = {k: np.array(as_device(v, "cpu"), copy=True) if hasattr(v, "shape") else v
                                       for k, v in s.items()}
        groups = []
        for group in self.param_groups:
            g = {k: v for k, v in group.items() if k != "params"}
            g["params"] = [index[id(p)] for p in group["params"]]
            groups.append(g)
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def _check_state(self, state_dict):
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"state_dict: expected a dict with 'state' and 'param_groups' "
                             f"(Optimizer.state_dict's layout), got {keys}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"state_dict['param_groups']: expected {len(self.param_groups)} parameter groups, "
                             f"got {len(saved_groups)}")
        params = [p for g in self.param_groups for p in g["params"]]
        mapping, required = {}, set(self.defaults)
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            names = set(saved) - {"params"}
            if not required <= names:
                raise ValueError(f"state_dict['param_groups'][{i}]: expected the hyperparameters "
                                 f"{sorted(required)} of {type(self).__name__}, got {sorted(names)}")
            if len(saved["params"]) != len(mine["params"]):
                raise ValueError(f"state_dict['param_groups'][{i}]['params']: expected "
                                 f"{len(mine['params'])} parameters (this optimizer's group {i}), "
                                 f"got {len(saved['params'])}")
            for saved_id, p in zip(saved["params"], mine["params"]):
                mapping[int(saved_id)] = p
        for k, s in state_dict["state"].items():
            try:
                p = mapping[int(k)]
            except (KeyError, ValueError, TypeError):
                raise ValueError(f"state_dict['state'][{k!r}]: no parameter with that index in "
                                 f"state_dict['param_groups'] (indices {sorted(mapping)})") from None
            for name, v in s.items():
                if np.ndim(v) != 0 and tuple(np.shape(v)) != tuple(p.shape):
                    raise ValueError(f"state_dict['state'][{k}][{name!r}]: expected shape {tuple(p.shape)} "
                                     f"(parameter {k}'s), got {tuple(np.shape(v))}")
        for i, saved in enumerate(saved_groups):
            self._check_group({**self.defaults, **{k: v for k, v in saved.items() if k != "params"}})
        return mapping

    def check_state_dict(self, state_dict):
        """Raise exactly as :meth:`load_state_dict` would, without changing anything
        (tinygen's checkpoints check every optimizer before loading any).

        Raises:
            ValueError: as :meth:`load_state_dict`.
        """
        self._check_state(state_dict)

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned, all or nothing: everything is
        checked before anything changes. Saved indices map onto this optimizer's
        parameters in order; each group's hyperparameters (including a scheduler's
        ``initial_lr``) replace the current ones; state arrays are cast to their
        parameter's dtype and copied to its device, a 0-d value (the ``step``
        counter) becomes a Python number.

        Raises:
            ValueError: a different number of groups or of parameters in a group,
                hyperparameters of another optimizer class, a state index with no
                parameter, or a state array of the wrong shape.
        """
        mapping = self._check_state(state_dict)
        state = defaultdict(dict)
        for k, s in state_dict["state"].items():
            p = mapping[int(k)]
            state[p] = {name: (np.asarray(v).item() if np.ndim(v) == 0 else
                               as_device(np.array(as_device(v, "cpu"), dtype=p.dtype), p.device))
                        for name, v in s.items()}
        groups = []
        for mine, saved in zip(self.param_groups, state_dict["param_groups"]):
            g = {}
            for k, v in saved.items():
                if k == "params":
                    continue
                if isinstance(mine.get(k), tuple) and isinstance(v, list):
                    v = tuple(v)  # JSON turned a tuple (betas) into a list
                g[k] = v
            g["params"] = mine["params"]
            groups.append(g)
        self.state = state
        self.param_groups[:] = groups

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``:

        g = grad + weight_decay w
        b = g (first step), else b = momentum b + (1 - dampening) g
        g = g + momentum b (nesterov) or g = b
        w -= lr g

    Nesterov momentum in the form of Sutskever et al. 2013, eq. 3-4, rewritten
    as PyTorch does. ``maximize`` ascends instead.

    Raises:
        ValueError: a negative lr, momentum, dampening or weight_decay, or nesterov
            without momentum > 0 and dampening 0.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _check_group(self, group):
        super()._check_group(group)
        _check_number(group["momentum"], "momentum")
        _check_number(group["dampening"], "dampening")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"nesterov: needs momentum > 0 and dampening 0, got momentum {group['momentum']} "
                             f"and dampening {group['dampening']}")

    def _update(self, w, g, state, group, xp):
        lr, mu = group["lr"], group["momentum"]
        if mu:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = xp.array(g, dtype=w.dtype, copy=True)
            else:
                b *= mu
                b += (1 - group["dampening"]) * g if group["dampening"] else g
            g = g + mu * b if group["nesterov"] else b
        w -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1), as ``torch.optim.Adam``:

        g = grad + weight_decay w            (L2, as PyTorch's Adam; not AdamW)
        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
        w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)

    with t each parameter's own update count (``state[p]["step"]``, a Python int;
    PyTorch keeps a tensor). ``amsgrad`` uses the running maximum of v (Reddi et
    al. 2018, Algorithm 2, with PyTorch's bias correction); ``maximize`` ascends.
    The update runs in place through two reused scratch arrays.

    WGAN-GP uses lr 1e-4, betas (0, 0.9) (Gulrajani et al. 2017, Alg. 1);
    DCGAN uses lr 2e-4, betas (0.5, 0.999).

    Raises:
        ValueError: a negative lr, eps or weight_decay, or a beta outside [0, 1).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _check_group(self, group):
        super()._check_group(group)
        _check_number(group["eps"], "eps")
        betas = tuple(group["betas"])
        if len(betas) != 2:
            raise ValueError(f"betas: expected a pair (beta1, beta2), got {group['betas']!r}")
        for i, b in enumerate(betas):
            _check_number(b, f"betas[{i}]", 0.0, 1.0, closed_high=False)

    def _update(self, w, g, state, group, xp):
        (b1, b2), lr, eps = group["betas"], group["lr"], group["eps"]
        # Each parameter counts its own updates, for the bias correction (as PyTorch).
        state["step"] = t = state.get("step", 0) + 1
        m = state.setdefault("exp_avg", xp.zeros_like(w))
        v = state.setdefault("exp_avg_sq", xp.zeros_like(w))
        # In place, through two scratch arrays instead of a fresh temporary per
        # operation (each full-size temporary is a memory pass plus page faults).
        # The scratch is kept across parameters and steps: a fresh large array
        # is fresh pages from the OS, faulted in one by one on first write.
        a, b = _scratch(self, w, 0, xp), _scratch(self, w, 1, xp)
        v_max = state.setdefault("max_exp_avg_sq", xp.zeros_like(w)) if group["amsgrad"] else None

        def update(i):   # the arrays at index i: all of them, or one core's slab
            # (bound to names first: ``m[i] *= b1`` would also copy the slab onto itself)
            wi, gi, mi, vi, ai, bi = w[i], g[i], m[i], v[i], a[i], b[i]
            mi *= b1
            mi += xp.multiply(gi, 1 - b1, out=ai)                 # m = b1 m + (1-b1) g
            vi *= b2
            xp.multiply(gi, gi, out=ai)
            ai *= 1 - b2
            vi += ai                                              # v = b2 v + (1-b2) g^2
            if v_max is not None:
                vi = xp.maximum(v_max[i], vi, out=v_max[i])
            xp.sqrt(xp.divide(vi, 1 - b2 ** t, out=ai), out=ai)
            ai += eps                                             # sqrt(v / (1-b2^t)) + eps
            xp.multiply(mi, lr / (1 - b1 ** t), out=bi)
            wi -= xp.divide(bi, ai, out=bi)

        _on_cores(update, w, xp)


def _on_cores(update, w, xp):
    """Run ``update(index)`` over all of ``w``'s arrays: on NumPy, each core a slab of the first
    axis (:func:`tinygen.kernels.threads.parallel_for`; elementwise, so the result is the same
    bit for bit); on CuPy or for a 0-d parameter, ``update(...)`` once."""
    if xp is not np or w.ndim == 0:
        update(...)
    else:
        parallel_for(w.shape[0], lambda lo, hi: update(slice(lo, hi)), work=w.size)


def _scratch(opt, w, k, xp):
    """The k-th scratch array of ``opt``, seen with w's shape and dtype (contents undefined).

    One flat buffer per (k, dtype, array module, device), grown to the largest
    parameter it has served; not part of the optimizer's state.
    """
    bufs = opt.__dict__.setdefault("_scratch", {})
    key = (k, w.dtype, xp.__name__, str(getattr(w, "device", "")))
    buf = bufs.get(key)
    if buf is None or buf.size < w.size:
        buf = bufs[key] = xp.empty(w.size, dtype=w.dtype)
    return buf[:w.size].reshape(w.shape)


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton 2012, lecture 6.5), as ``torch.optim.RMSprop``:

        v = alpha v + (1-alpha) g^2
        centered:  ḡ = alpha ḡ + (1-alpha) g,  v' = v - ḡ^2   (Graves 2013, eq. 38-40)
        momentum:  b = momentum b + g / (sqrt(v') + eps);  w -= lr b
        else:      w -= lr g / (sqrt(v') + eps)

    with g = grad + weight_decay w. The original WGAN uses it with lr 5e-5
    (Arjovsky et al. 2017, Algorithm 1).

    Raises:
        ValueError: a negative lr, eps, weight_decay or momentum, or alpha outside [0, 1].
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _check_group(self, group):
        super()._check_group(group)
        _check_number(group["eps"], "eps")
        _check_number(group["momentum"], "momentum")
        _check_number(group["alpha"], "alpha", 0.0, 1.0)

    def _update(self, w, g, state, group, xp):
        a, lr, eps = group["alpha"], group["lr"], group["eps"]
        state["step"] = state.get("step", 0) + 1
        v = state.setdefault("square_avg", xp.zeros_like(w))
        v *= a
        v += (1 - a) * (g * g)
        if group["centered"]:
            g_avg = state.setdefault("grad_avg", xp.zeros_like(w))
            g_avg *= a
            g_avg += (1 - a) * g
            denom = xp.sqrt(v - g_avg * g_avg) + eps
        else:
            denom = xp.sqrt(v) + eps
        if group["momentum"] > 0:
            buf = state.setdefault("momentum_buffer", xp.zeros_like(w))
            buf *= group["momentum"]
            buf += g / denom
            w -= lr * buf
        else:
            w -= lr * g / denom


__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "lr_scheduler", "LRScheduler", "CosineAnnealingLR"]

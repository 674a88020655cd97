"""Optimizers. They update parameter arrays in place and never build a graph.

Each keeps per-parameter state in arrays of the parameter's own dtype, and
uses Python floats for hyperparameters, so float32 stays float32.
"""
import numpy as np

from .backend import as_device, get_array_module


class Optimizer:
    """Base class: holds the parameter list and per-parameter state.

    Args:
        params: iterable of Parameters (e.g. ``model.parameters()``).
    Raises:
        ValueError: an empty parameter list, or a Parameter listed twice (it
            would be updated twice per step; ``Module.parameters()`` lists a
            shared, tied Parameter once).
    """

    def __init__(self, params, defaults):
        self.params = list(params)
        if not self.params:
            raise ValueError("params: expected at least one parameter, got an empty list")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("params: a Parameter appears more than once; each must be listed once")
        self.defaults = dict(defaults)
        self.state = [{} for _ in self.params]
        self.step_count = 0

    def zero_grad(self):
        """Drop every parameter's ``.grad`` (also breaks any graph hanging off it)."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Apply one update to every parameter that has a gradient."""
        self.step_count += 1
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                g = p.grad.data
                if self.defaults.get("weight_decay", 0.0):
                    g = g + self.defaults["weight_decay"] * p.data
                self._update(p.data, g, state, get_array_module(p.data))

    def _update(self, w, g, state, xp):
        raise NotImplementedError

    def state_dict(self):
        """Hyperparameters, step count and state arrays (NumPy copies), for checkpoints."""
        return {"defaults": dict(self.defaults), "step_count": self.step_count,
                "state": [{k: as_device(v, "cpu").copy() if hasattr(v, "shape") else v for k, v in s.items()}
                          for s in self.state]}

    def check_state_dict(self, state):
        """Raise exactly as :meth:`load_state_dict` would, without changing anything.

        Raises:
            ValueError: the hyperparameter names, the number of parameters, or
                a state array's shape differs.
        """
        if set(state["defaults"]) != set(self.defaults):
            raise ValueError(f"state['defaults']: expected the hyperparameters {sorted(self.defaults)} "
                             f"of {type(self).__name__}, got {sorted(state['defaults'])}")
        if len(state["state"]) != len(self.params):
            raise ValueError(f"state: expected state for {len(self.params)} parameters, "
                             f"got {len(state['state'])}")
        for i, (p, s) in enumerate(zip(self.params, state["state"])):
            for k, v in s.items():
                if np.ndim(v) != 0 and np.shape(v) != p.shape:
                    raise ValueError(f"state[{i}][{k!r}]: expected shape {p.shape}, got {np.shape(v)}")

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned, all or nothing: everything
        is checked before anything changes.

        Raises:
            ValueError: as :meth:`check_state_dict`.
        """
        self.check_state_dict(state)
        restored = []
        for p, s in zip(self.params, state["state"]):
            # a 0-d value is a counter, e.g. Adam's per-parameter step
            restored.append({k: int(v) if np.ndim(v) == 0 else as_device(np.asarray(v, dtype=p.dtype), p.device)
                             for k, v in s.items()})
        self.defaults.update(state["defaults"])
        self.step_count = int(state["step_count"])
        self.state = restored


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's form):
    b = momentum b + g;  w -= lr b.
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def _update(self, w, g, state, xp):
        lr, mu = self.defaults["lr"], self.defaults["momentum"]
        if mu:
            b = state.setdefault("momentum_buffer", xp.zeros_like(w))
            b *= mu
            b += g
            g = b
        w -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1):
    m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).

    WGAN-GP uses lr 1e-4, betas (0, 0.9) (Gulrajani et al. 2017, Alg. 1);
    DCGAN uses lr 2e-4, betas (0.5, 0.999).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def _update(self, w, g, state, xp):
        (b1, b2), lr, eps = self.defaults["betas"], self.defaults["lr"], self.defaults["eps"]
        # Each parameter counts its own updates, for the bias correction (as PyTorch).
        state["step"] = t = state.get("step", 0) + 1
        m = state.setdefault("exp_avg", xp.zeros_like(w))
        v = state.setdefault("exp_avg_sq", xp.zeros_like(w))
        # In place, through two scratch arrays instead of a fresh temporary per
        # operation (each full-size temporary is a memory pass plus page faults).
        # The scratch is kept across parameters and steps: a fresh large array
        # is fresh pages from the OS, faulted in one by one on first write.
        a, b = _scratch(self, w, 0, xp), _scratch(self, w, 1, xp)
        m *= b1
        m += xp.multiply(g, 1 - b1, out=a)                        # m = b1 m + (1-b1) g
        v *= b2
        xp.multiply(g, g, out=a)
        a *= 1 - b2
        v += a                                                    # v = b2 v + (1-b2) g^2
        xp.sqrt(xp.divide(v, 1 - b2 ** t, out=a), out=a)
        a += eps                                                  # sqrt(v / (1-b2^t)) + eps
        xp.multiply(m, lr / (1 - b1 ** t), out=b)
        w -= xp.divide(b, a, out=b)


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
    """RMSprop (Tieleman & Hinton 2012): v = alpha v + (1-alpha) g^2;  w -= lr g / (sqrt(v) + eps).

    The original WGAN uses it with lr 5e-5 (Arjovsky et al. 2017, Algorithm 1).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay))

    def _update(self, w, g, state, xp):
        a, lr, eps = self.defaults["alpha"], self.defaults["lr"], self.defaults["eps"]
        v = state.setdefault("square_avg", xp.zeros_like(w))
        v *= a
        v += (1 - a) * (g * g)
        w -= lr * g / (xp.sqrt(v) + eps)


class CosineAnnealingLR:
    """Cosine decay of the learning rate, lr_t = eta_min + (lr_0 - eta_min)(1 + cos(π t / T_max)) / 2
    (Loshchilov & Hutter 2017, eq. 5, without restarts; PyTorch's ``CosineAnnealingLR``).

    Call :meth:`step` after each ``optimizer.step()``. t is the optimizer's own
    step count, so the schedule needs no state of its own and continues
    correctly after the optimizer is restored from a checkpoint.

    Args:
        optimizer: an :class:`Optimizer`; its current lr is lr_0.
        T_max: int >= 1, the step at which lr reaches eta_min (and stays).
        eta_min: float >= 0, the final learning rate.

    Raises:
        ValueError: T_max < 1 or eta_min < 0.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        if T_max < 1:
            raise ValueError(f"T_max: expected an int >= 1, got {T_max}")
        if eta_min < 0:
            raise ValueError(f"eta_min: expected a number >= 0, got {eta_min}")
        self.optimizer, self.T_max, self.eta_min = optimizer, T_max, eta_min
        self.base_lr = optimizer.defaults["lr"]

    def get_lr(self):
        """The learning rate for the optimizer's next step."""
        t = min(self.optimizer.step_count, self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + np.cos(np.pi * t / self.T_max)) / 2

    def step(self):
        """Set the optimizer's lr for its next step."""
        self.optimizer.defaults["lr"] = float(self.get_lr())

"""``Module`` and ``Parameter``: the containers every layer is built from (PyTorch-shaped)."""
import numpy as np

from ..autograd import Tensor
from ..backend import as_device, device_of


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates (``requires_grad=True``)."""

    def __init__(self, data):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=True)


class Module:
    """Base class for layers and models.

    Assigning a Parameter or a Module as an attribute registers it, so
    ``parameters()``, ``state_dict()``, ``train()`` and ``to()`` find it.
    Subclasses implement ``forward``; call the module itself to run it.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        if name in self._buffers:  # reassigning a buffer keeps it a buffer
            object.__setattr__(self, name, value)
            return
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name, array):
        """Register non-trained state (e.g. BatchNorm's running mean): saved, moved, not optimized."""
        self._buffers[name] = True
        object.__setattr__(self, name, array)

    def forward(self, *args, **kwargs):
        """The layer's computation; subclasses implement it. Call the module
        (``m(x)``), not ``forward``. Shapes and dtypes: see each layer."""
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------ traversal
    def named_modules(self, prefix="", _seen=None):
        """Yield (dotted name, module) for self and every submodule, each module once
        (a module registered twice, e.g. shared between two models, keeps its first name)."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self):
        """List of self and every submodule, each once, depth first in registration order."""
        return [m for _, m in self.named_modules()]

    def named_parameters(self):
        """Yield (dotted name, Parameter) for this module and all submodules.

        Each Parameter comes once, under its first name, even when several
        modules hold it (tied weights), as in PyTorch: an optimizer then
        updates it once, with the gradients of all its uses summed in ``.grad``.
        """
        seen = set()
        for prefix, m in self.named_modules():
            for name, p in m._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self):
        """List of all Parameters, in registration order."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        """Yield (dotted name, array) for every buffer of this module and its submodules
        (e.g. ``"1.running_mean"``): the raw NumPy/CuPy arrays, not Tensors, in the
        module's dtype, on its device."""
        for prefix, m in self.named_modules():
            for name in m._buffers:
                yield (f"{prefix}.{name}" if prefix else name), getattr(m, name)

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule and self (e.g. for init); returns self."""
        for m in self.modules():
            fn(m)
        return self

    # ------------------------------------------------ modes and devices
    def train(self, mode=True):
        """Training mode (batch statistics in BatchNorm, dropout on); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self):
        """Drop every parameter's ``.grad``."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, flag=True):
        """Turn gradient tracking of every parameter on or off; returns self.

        A GAN's generator step freezes the critic this way, so that no
        weight gradients are computed for it.
        """
        for p in self.parameters():
            p.requires_grad = flag
        return self

    def to(self, device):
        """Move every parameter and buffer to ``device`` (``"cpu"`` or ``"cuda"``) in place."""
        for p in self.parameters():
            p.data = as_device(p.data, device)
        for m in self.modules():
            for name in m._buffers:
                object.__setattr__(m, name, as_device(getattr(m, name), device))
        return self

    def astype(self, dtype):
        """Cast every parameter and floating buffer to ``dtype`` in place (e.g. float64 for gradcheck)."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
        for m in self.modules():
            for name in m._buffers:
                b = getattr(m, name)
                if b.dtype.kind == "f":
                    object.__setattr__(m, name, b.astype(dtype))
        return self

    # ------------------------------------------------ state
    def state_dict(self):
        """Dict of dotted name -> NumPy array copy, parameters and buffers."""
        state = {name: as_device(p.data, "cpu").copy() for name, p in self.named_parameters()}
        state.update({name: as_device(b, "cpu").copy() for name, b in self.named_buffers()})
        return state

    def _state_targets(self):
        # dotted name -> (module, attribute) for every parameter (once, as in state_dict) and buffer
        seen, targets = set(), {}
        for prefix, m in self.named_modules():
            for a, p in m._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    targets[f"{prefix}.{a}" if prefix else a] = (m, a)
            for a in m._buffers:
                targets[f"{prefix}.{a}" if prefix else a] = (m, a)
        return targets

    def check_state_dict(self, state, strict=True):
        """Raise exactly as :meth:`load_state_dict` would, without changing anything.

        Raises:
            KeyError: (strict) a name is missing from ``state`` or not in the module.
            ValueError: an array has the wrong shape.
        """
        targets = self._state_targets()
        if strict:
            missing = [k for k in targets if k not in state]
            unexpected = [k for k in state if k not in targets]
            if missing or unexpected:
                raise KeyError(f"state: missing keys {missing}, unexpected keys {unexpected}")
        for name, value in state.items():
            if name in targets:
                old = getattr(*targets[name])
                if np.shape(value) != old.shape:
                    raise ValueError(f"state[{name!r}]: expected shape {old.shape}, got {np.shape(value)}")

    def load_state_dict(self, state, strict=True):
        """Copy arrays from ``state`` into this module's parameters and buffers,
        all or nothing: everything is checked before anything is written.

        Raises:
            KeyError: (strict) a name is missing from ``state`` or not in the module.
            ValueError: an array has the wrong shape.
        """
        self.check_state_dict(state, strict)
        for name, (m, attr) in self._state_targets().items():
            if name not in state:
                continue
            old = getattr(m, attr)
            new = as_device(np.asarray(state[name]).astype(old.dtype), device_of(old.data if
                            isinstance(old, Parameter) else old))
            if isinstance(old, Parameter):
                old.data = new
            else:
                object.__setattr__(m, attr, new)

    def extra_repr(self):
        """The text inside ``Name(...)`` in ``repr(module)`` (e.g. ``"3, 5, bias=True"``); "" by default."""
        return ""

    def __repr__(self):
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

"""``Module`` and ``Parameter``: the containers every layer is built from, with
PyTorch's semantics (``torch.nn.Module``).

A Module registers what is assigned to it: a :class:`Parameter` (trained), a
Module (a child), or, through :meth:`Module.register_buffer`, a buffer: a
Tensor that is saved and moved with the module but not trained (BatchNorm's
running statistics). Traversals (``parameters()``, ``modules()``, ...) are
iterators, depth first in registration order, as in PyTorch.

One documented difference: ``state_dict()`` holds NumPy arrays (copies), not
Tensors, because tinygen saves checkpoints as ``.npz`` files.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from ..autograd import Tensor
from ..backend import as_device, device_of, get_array_module
from ..ops.shape import parse_to



class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates, as ``torch.nn.Parameter``.

    Args:
        data: a Tensor (its array is shared, not copied), a NumPy/CuPy array,
            or None (an empty float32 tensor of shape (0,)).
        requires_grad: bool, default True.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), np.float32)
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What :meth:`Module.load_state_dict` returns: the missing and the unexpected
    keys (both empty after a strict load), as PyTorch's ``_IncompatibleKeys``."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def _parse_to(args, kwargs):
    """(device, dtype) from the arguments of ``Module.to`` (see ``ops.shape.parse_to``),
    which moves only to floating dtypes; ``non_blocking`` is accepted and ignored."""
    kwargs.pop("non_blocking", None)  # accepted for compatibility; copies are synchronous
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
    device, dtype = parse_to(*args, device=device, dtype=dtype)
    if dtype is not None and dtype.kind != "f":
        raise ValueError(f"dtype: Module.to accepts only floating dtypes, got {dtype}")
    return device, dtype


class Module:
    """Base class for layers and models, as ``torch.nn.Module``.

    Assigning a Parameter or a Module as an attribute registers it, so
    ``parameters()``, ``state_dict()``, ``train()`` and ``to()`` find it;
    :meth:`register_buffer` registers a non-trained Tensor. Subclasses
    implement ``forward``; call the module itself to run it.

    Raises (on assignment):
        RuntimeError: an attribute is assigned before ``super().__init__()``.
        TypeError: a registered parameter, child or buffer is assigned an object
            of another kind (e.g. a NumPy array to a buffer: wrap it in a Tensor).
    """

    def __init__(self):
        d = self.__dict__
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["training"] = True

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"{name}: cannot assign a {type(value).__name__} to the parameter "
                                f"{name!r} (a Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"{name}: cannot assign a {type(value).__name__} to the child module "
                                f"{name!r} (a Module or None expected)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{name}: cannot assign a {type(value).__name__} to the buffer {name!r} "
                                f"(a Tensor or None expected; wrap an array with tinygen.tensor)")
            buffers[name] = value
        object.__setattr__(self, name, value)

    def _forget(self, name):
        # drop ``name`` from every registry, before it is registered as something else
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __delattr__(self, name):
        self._forget(name)
        object.__delattr__(self, name)

    def _check_name(self, name, what):
        if not isinstance(name, str):
            raise TypeError(f"name: expected a str for the {what} name, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"name: a {what} name must be non-empty and contain no '.', got {name!r}")

    def register_buffer(self, name, tensor, persistent=True):
        """Register ``tensor`` as a buffer: state that is saved (if ``persistent``) and
        moved with the module but not trained, e.g. BatchNorm's ``running_mean``.

        Args:
            name: str, the attribute name (no ".").
            tensor: a Tensor or None (a buffer slot left empty, skipped by
                ``buffers()`` and ``state_dict()``).
            persistent: bool; a non-persistent buffer is left out of ``state_dict()``.

        Raises:
            TypeError: ``tensor`` is neither a Tensor nor None, or ``name`` is not a str.
            KeyError: ``name`` is empty, contains ".", or is already another attribute.
        Source: PyTorch's ``Module.register_buffer``.
        """
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"tensor: expected a Tensor or None for buffer {name!r}, got {type(tensor).__name__}")
        if name in self.__dict__ and name not in self._buffers:
            raise KeyError(f"name: attribute {name!r} already exists")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers_set.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one such as ``bias=False``).

        Raises:
            TypeError: ``param`` is neither a Parameter nor None.
            KeyError: ``name`` is empty, contains ".", or is already another attribute.
        Source: PyTorch's ``Module.register_parameter``.
        """
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"param: expected a Parameter or None for {name!r}, got {type(param).__name__}")
        if name in self.__dict__ and name not in self._parameters:
            raise KeyError(f"name: attribute {name!r} already exists")
        self._forget(name)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def add_module(self, name, module):
        """Register ``module`` (a Module, or None) as a child named ``name``.

        Raises:
            TypeError: ``module`` is neither a Module nor None.
            KeyError: ``name`` is empty, contains ".", or is already another attribute.
        Source: PyTorch's ``Module.add_module``.
        """
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"module: expected a Module or None for {name!r}, got {type(module).__name__}")
        if name in self.__dict__ and name not in self._modules:
            raise KeyError(f"name: attribute {name!r} already exists")
        self._forget(name)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def forward(self, *args, **kwargs):
        """The layer's computation; subclasses implement it. Call the module
        (``m(x)``), not ``forward``. Shapes and dtypes: see each layer."""
        raise NotImplementedError(f"{type(self).__name__}: forward is not implemented")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------ traversal (iterators, as PyTorch)
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Iterator over (dotted name, module) for self and every submodule, depth
        first (pre-order) in registration order. With ``remove_duplicate`` a module
        registered twice (shared) comes once, under its first name."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        """Iterator over self and every submodule, each once, depth first."""
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """Iterator over (name, module) for the direct children, each module once."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        """Iterator over the direct children, each module once."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, v in getattr(m, registry).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Iterator over (dotted name, Parameter), e.g. ``("0.weight", w)``.

        Each Parameter comes once, under its first name, even when several
        modules hold it (tied weights), as in PyTorch: an optimizer then
        updates it once, with the gradients of all its uses summed in ``.grad``.
        ``recurse=False`` lists only this module's own parameters.
        """
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Iterator over all Parameters, in registration order (``next(model.parameters())``
        works; wrap it in ``list()`` to index or count)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """Iterator over (dotted name, Tensor) for every buffer of this module and its
        submodules (e.g. ``"1.running_mean"``), on the module's device; floating
        buffers in the module's dtype, counters (``num_batches_tracked``) int64."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """Iterator over all buffer Tensors (see :meth:`named_buffers`)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call ``fn(module)`` on every child (recursively), then on self, as PyTorch
        (e.g. for custom init: ``model.apply(init_fn)``); returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------ modes and gradients
    def train(self, mode=True):
        """Training mode (batch statistics in BatchNorm, dropout on) for self and every
        submodule; returns self.

        Raises:
            ValueError: ``mode`` is not a bool.
        """
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"mode: expected a bool, got {mode!r}")
        object.__setattr__(self, "training", bool(mode))
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``; returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: to None (default, as PyTorch), or to
        zeros of the parameter's shape with ``set_to_none=False``."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:  # fresh zeros: the old grad array may be shared with another tensor
                p.grad = Tensor(get_array_module(p.grad.data).zeros_like(p.grad.data))

    def requires_grad_(self, requires_grad=True):
        """Turn gradient tracking of every parameter on or off; returns self.

        A GAN's generator step freezes the critic this way, so that no
        weight gradients are computed for it.
        """
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    # ------------------------------------------------ devices and dtypes
    def _apply_to_tensors(self, fn, buffers=True):
        # fn(array) -> array for every parameter (and buffer); Parameters keep their identity,
        # so an optimizer built before still holds them.
        for p in self.parameters():
            p.data = fn(p.data)
            if p.grad is not None:
                p.grad = Tensor(fn(p.grad.data))
        if buffers:
            for b in self.buffers():
                b.data = fn(b.data)
        return self

    def to(self, *args, **kwargs):
        """Move and/or cast every parameter and buffer in place; returns self, as PyTorch.

        ``to("cuda")``, ``to("cpu")``, ``to(tinygen.float64)``, ``to("cuda", tinygen.float64)``,
        ``to(device=..., dtype=...)`` or ``to(tensor)`` (its device and dtype). A dtype
        casts the parameters and the floating buffers only (a counter stays int64).

        Raises:
            ValueError: an unknown device, or a dtype that is not floating.
            RuntimeError: ``"cuda"`` without a usable GPU.
        """
        device, dtype = _parse_to(args, dict(kwargs))
        if dtype is not None:
            def cast(a):
                return a.astype(dtype) if a.dtype.kind == "f" and a.dtype != dtype else a
            self._apply_to_tensors(cast)
        if device is not None:
            self._apply_to_tensors(lambda a: as_device(a, device))
        return self

    def cpu(self):
        """``to("cpu")``."""
        return self.to("cpu")

    def cuda(self, device=None):
        """``to("cuda")`` (one GPU: ``device`` is accepted and ignored)."""
        return self.to("cuda")

    def float(self):
        """Cast floating parameters and buffers to float32: ``to(tinygen.float32)``."""
        return self.to(np.float32)

    def double(self):
        """Cast floating parameters and buffers to float64: ``to(tinygen.float64)``
        (what ``gradcheck`` needs)."""
        return self.to(np.float64)

    def astype(self, dtype):
        """NumPy-style alias of ``to(dtype)`` (e.g. ``astype("float64")``); not a PyTorch method."""
        return self.to(dtype=dtype)

    # ------------------------------------------------ state
    def _state_entries(self, prefix=""):
        # (dotted name, owning module, attribute, tensor) in PyTorch's state_dict order:
        # per module its parameters, then its persistent buffers, then its children,
        # depth first. Not deduplicated: a shared (tied) Parameter or module appears
        # under every name it is registered under, as in PyTorch.
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, self, name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                yield prefix + name, self, name, b
        for name, m in self._modules.items():
            if m is not None:
                yield from m._state_entries(prefix + name + ".")

    def _optional_state_keys(self):
        """Local state names a loaded dict may lack (the module keeps its value).
        BatchNorm's ``num_batches_tracked``, as PyTorch for dicts without version metadata."""
        return ()

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict of dotted name -> NumPy array copy of every parameter and
        persistent buffer, in PyTorch's order (per module: its parameters, then its
        buffers, then its children, depth first). A tied Parameter appears under
        each of its names, as in PyTorch.

        Args:
            destination: a dict to fill (and return) instead of a new OrderedDict.
            prefix: str prepended to every key.
            keep_vars: return the Parameters and buffer Tensors themselves, not array copies.

        Returns NumPy arrays (not Tensors, unlike PyTorch) so that a state dict can go
        straight into ``numpy.savez``: tinygen's checkpoints are ``.npz`` files.
        """
        out = OrderedDict() if destination is None else destination
        for name, _, _, t in self._state_entries(prefix):
            out[name] = t if keep_vars else np.array(as_device(t.data, "cpu"), copy=True)
        return out

    def _state_targets(self):
        # dotted name -> (module, attribute, tensor, optional)
        targets = OrderedDict()
        for name, m, attr, t in self._state_entries():
            targets[name] = (m, attr, t, attr in m._optional_state_keys())
        return targets

    def _check_state(self, state, strict):
        if not hasattr(state, "items"):
            raise TypeError(f"state_dict: expected a dict of name -> array, got {type(state).__name__}")
        targets = self._state_targets()
        missing = [k for k, (_, _, _, optional) in targets.items() if k not in state and not optional]
        unexpected = [k for k in state if k not in targets]
        if strict and (missing or unexpected):
            raise KeyError(f"state_dict: missing keys {missing}, unexpected keys {unexpected}")
        for name, value in state.items():
            if name in targets:
                shape = tuple(value.shape) if isinstance(value, Tensor) else np.shape(value)
                if shape != targets[name][2].shape:
                    raise ValueError(f"state_dict[{name!r}]: expected shape {targets[name][2].shape}, got {shape}")
        return targets, missing, unexpected

    def check_state_dict(self, state_dict, strict=True):
        """Raise exactly as :meth:`load_state_dict` would, without changing anything
        (tinygen's checkpoints check every model before loading any).

        Raises:
            KeyError: (strict) a name is missing from ``state_dict`` or not in the module.
            ValueError: an array has the wrong shape.
            TypeError: ``state_dict`` is not a dict.
        """
        self._check_state(state_dict, strict)

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays from ``state_dict`` into this module's parameters and buffers,
        all or nothing: everything is checked before anything is written. Values
        (NumPy/CuPy arrays or Tensors) are cast to each target's dtype and copied to
        its device; Parameters keep their identity (an optimizer still holds them).

        Args:
            state_dict: dict of dotted name -> array, as :meth:`state_dict` returns.
            strict: require exactly this module's keys. BatchNorm's
                ``num_batches_tracked`` may be missing (kept as is), as in PyTorch.

        Returns:
            ``(missing_keys, unexpected_keys)``, a named tuple (empty lists after a strict load).

        Raises:
            KeyError: (strict) keys are missing or unexpected (PyTorch raises RuntimeError).
            ValueError: an array has the wrong shape (PyTorch: RuntimeError).
        """
        targets, missing, unexpected = self._check_state(state_dict, strict)
        for name, (m, attr, old, _) in targets.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = value.data if isinstance(value, Tensor) else value
            xp = get_array_module(value)
            new = as_device(xp.array(value, dtype=old.dtype, copy=True), device_of(old.data))
            old.data = new.reshape(old.shape)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------ printing
    def extra_repr(self):
        """The text inside ``Name(...)`` in ``repr(module)`` (e.g. ``"3, 5, bias=True"``); "" by default."""
        return ""

    def __repr__(self):
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = [f"  {extra}"] if extra else []
        return f"{type(self).__name__}(\n" + "\n".join(head + lines) + "\n)"

"""Every public function, class, method and property has a docstring.

The walk covers ``tinygen``, ``tinygen.nn``, ``tinygen.optim``,
``tinygen.functional`` and every ``tinygen.utils`` module. A method that
overrides a documented base method (e.g. a layer's ``forward``) inherits its
docstring, as ``help()`` shows it.
"""
import importlib
import inspect
import pkgutil

import tinygen.utils


def _modules():
    names = ["tinygen", "tinygen.nn", "tinygen.optim", "tinygen.functional"]
    names += [f"tinygen.utils.{m.name}" for m in pkgutil.iter_modules(tinygen.utils.__path__)
              if not m.name.startswith("_")]
    return [importlib.import_module(n) for n in names]


def _public_api():
    """Yield (dotted name, docstring or None) for every public object tinygen defines."""
    for mod in _modules():
        for name in dir(mod):
            obj = getattr(mod, name)
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("tinygen"):
                continue  # re-exported from NumPy or the standard library
            yield f"{mod.__name__}.{name}", inspect.getdoc(obj)
            if not inspect.isclass(obj):
                continue
            for attr in dir(obj):
                if attr.startswith("_"):
                    continue
                raw = inspect.getattr_static(obj, attr)
                if isinstance(raw, (staticmethod, classmethod)):
                    raw = raw.__func__
                if isinstance(raw, property):
                    yield f"{mod.__name__}.{name}.{attr}", inspect.getdoc(raw)
                elif inspect.isfunction(raw):
                    yield f"{mod.__name__}.{name}.{attr}", inspect.getdoc(getattr(obj, attr))


def test_walk_reaches_the_api():
    names = dict(_public_api())
    for name in ("tinygen.Tensor.shape", "tinygen.Tensor.backward", "tinygen.nn.Module.named_buffers",
                 "tinygen.nn.Linear.forward", "tinygen.optim.Adam.load_state_dict", "tinygen.functional.linear",
                 "tinygen.utils.run.RunDir.checkpoint", "tinygen.utils.checkpoint.load_checkpoint"):
        assert name in names, name


def test_every_public_name_has_a_docstring():
    missing = sorted(name for name, doc in _public_api() if not (doc and doc.strip()))
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"

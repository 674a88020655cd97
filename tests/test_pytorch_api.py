"""How much PyTorch code runs unchanged on tinygen and gives PyTorch's result.

``tests/pytorch_snippets.py`` holds about a hundred short programs written as
a PyTorch user writes them (tensor creation, reductions with ``dim=`` and
``keepdim=``, shape ops, indexing, autograd, ``torch.nn.functional``, ``nn``
modules and init, optimisers and schedules). Each one runs here with
``torch`` = tinygen, ``nn`` = tinygen.nn, ``F`` = tinygen.nn.functional and
``optim`` = tinygen.optim, and its ``out`` is compared with what PyTorch gave.

The expected values in ``tests/data/pytorch_expected.json`` were made by
PyTorch 2.x on the CPU, by ``tests/make_pytorch_expected.py`` (run by hand;
the suite never needs PyTorch). Tensors must match in shape, in kind of
dtype (float32 and float64 exactly, any integer width, bool) and in value
(floats to rtol 1e-5, atol 1e-6); numbers, bools, strings, shapes and lists
must match (numbers to the same tolerance).

One test per snippet (its id is the snippet's name), and
``test_share_of_snippets_that_run``, which asks that at least 90 % pass.
"""
import importlib
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

import tinygen

HERE = Path(__file__).resolve().parent
RTOL, ATOL = 1e-5, 1e-6
REQUIRED_SHARE = 0.9


def _load_snippets():
    spec = importlib.util.spec_from_file_location("pytorch_snippets", HERE / "pytorch_snippets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SNIPPETS = _load_snippets()
SNIPPETS = _SNIPPETS.SNIPPETS
EXPECTED = json.loads((HERE / "data" / "pytorch_expected.json").read_text())["expected"]


class _Missing:
    """Stands in for a module that does not import: any use raises its ImportError."""

    def __init__(self, name, error):
        self._name, self._error = name, error

    def __getattr__(self, attr):
        raise ImportError(f"{self._name} is missing ({self._error}), needed for {self._name}.{attr}")


def _namespace():
    try:
        functional = importlib.import_module("tinygen.nn.functional")
    except ImportError as error:
        functional = _Missing("tinygen.nn.functional", error)
    return {"torch": tinygen, "nn": tinygen.nn, "F": functional, "optim": tinygen.optim,
            "__name__": "snippet"}


def _as_array(obj):
    if isinstance(obj, tinygen.Tensor):
        return obj.numpy()
    return None


def _dtype_kind(name):
    if name.startswith(("int", "uint")):
        return "integer"
    return name


def _compare(expected, got, where="out"):
    """Raise AssertionError naming the first place where ``got`` differs from ``expected``."""
    if isinstance(expected, dict) and set(expected) == {"shape", "dtype", "values"}:
        assert isinstance(got, dict) and set(got) == {"shape", "dtype", "values"}, \
            f"{where}: expected a tensor, got {got!r}"[:300]
        assert got["shape"] == expected["shape"], f"{where}: shape {got['shape']}, expected {expected['shape']}"
        assert _dtype_kind(got["dtype"]) == _dtype_kind(expected["dtype"]), \
            f"{where}: dtype {got['dtype']}, expected {expected['dtype']}"
        want, have = np.asarray(expected["values"]), np.asarray(got["values"])
        if want.dtype.kind == "f" or have.dtype.kind == "f":
            ok = np.allclose(have.astype(np.float64), want.astype(np.float64), rtol=RTOL, atol=ATOL)
        else:
            ok = np.array_equal(have, want)
        assert ok, f"{where}: values\n{have}\nexpected\n{want}"
    elif isinstance(expected, bool) or expected is None:
        assert got is expected, f"{where}: {got!r}, expected {expected!r}"
    elif isinstance(expected, (int, float)):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), \
            f"{where}: expected the number {expected!r}, got {got!r}"[:300]
        assert math.isclose(got, expected, rel_tol=RTOL, abs_tol=ATOL), f"{where}: {got!r}, expected {expected!r}"
    elif isinstance(expected, str):
        assert got == expected, f"{where}: {got!r}, expected {expected!r}"
    elif isinstance(expected, list):
        assert isinstance(got, list), f"{where}: expected a sequence of {len(expected)}, got {got!r}"[:300]
        assert len(got) == len(expected), f"{where}: {len(got)} items {got!r}, expected {len(expected)}"[:300]
        for i, (e, g) in enumerate(zip(expected, got)):
            _compare(e, g, f"{where}[{i}]")
    elif isinstance(expected, dict):
        assert isinstance(got, dict) and list(got) == list(expected), \
            f"{where}: expected a dict with keys {list(expected)}, got {got!r}"[:300]
        for key in expected:
            _compare(expected[key], got[key], f"{where}[{key!r}]")
    else:
        raise TypeError(f"{where}: unexpected expected value {expected!r}")


def run_snippet(name, code):
    """Run one snippet on tinygen; its ``out`` as JSON data."""
    tinygen.manual_seed(0)
    namespace = _namespace()
    exec(compile(code, f"<snippet {name}>", "exec"), namespace)
    assert "out" in namespace, f"{name}: the snippet assigned no out"
    return _SNIPPETS.to_json(namespace["out"], _as_array)


def check_snippet(name, code):
    """Raise (AssertionError, or whatever tinygen raised) unless the snippet gives PyTorch's result."""
    assert name in EXPECTED, f"{name}: no PyTorch result recorded; rerun tests/make_pytorch_expected.py"
    _compare(EXPECTED[name], run_snippet(name, code))


def test_snippet_names_are_unique_and_recorded():
    names = [name for name, _ in SNIPPETS]
    assert len(set(names)) == len(names)
    assert sorted(names) == sorted(EXPECTED)


@pytest.mark.parametrize("name, code", SNIPPETS, ids=[name for name, _ in SNIPPETS])
def test_snippet(name, code):
    check_snippet(name, code)


def test_share_of_snippets_that_run():
    failures = []
    for name, code in SNIPPETS:
        try:
            check_snippet(name, code)
        except Exception as error:  # noqa: BLE001  (any failure counts against the share)
            first_line = (str(error).strip().splitlines() or [""])[0]
            failures.append(f"{name}: {type(error).__name__}: {first_line}"[:200])
    share = 1 - len(failures) / len(SNIPPETS)
    print(f"{len(SNIPPETS) - len(failures)} of {len(SNIPPETS)} snippets give PyTorch's result ({share:.0%})")
    for line in failures:
        print("  FAIL", line)
    assert share >= REQUIRED_SHARE, (
        f"{share:.0%} of {len(SNIPPETS)} snippets give PyTorch's result, fewer than {REQUIRED_SHARE:.0%}; "
        f"failing: {', '.join(line.split(':')[0] for line in failures)}")

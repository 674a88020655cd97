"""Run every snippet of ``tests/pytorch_snippets.py`` under real PyTorch and record the results.

It writes ``tests/data/pytorch_expected.json``, which is committed: the test
``tests/test_pytorch_api.py`` compares tinygen with it and never needs PyTorch.
The suite never runs this script. Run it by hand, with PyTorch 2.x (CPU) and
NumPy in an environment of their own (PyTorch is no tinygen dependency),
from the repository root:

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy
    /tmp/torchvenv/bin/python tests/make_pytorch_expected.py

Each snippet runs twice, after ``torch.manual_seed(0)`` and after
``manual_seed(1)``; the script stops if the two results differ, so that every
recorded ``out`` is a fact that does not depend on the random numbers.
Floats are recorded at full precision (float32 values, exactly), and the
PyTorch and NumPy versions under the key ``_made_by``.
"""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "data" / "pytorch_expected.json"


def load_snippets():
    spec = importlib.util.spec_from_file_location("pytorch_snippets", HERE / "pytorch_snippets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_array(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy()
    return None


def run(name, code, seed, to_json):
    torch.manual_seed(seed)
    namespace = {"torch": torch, "nn": nn, "F": F, "optim": optim, "__name__": "snippet"}
    exec(compile(code, f"<snippet {name}>", "exec"), namespace)
    return to_json(namespace["out"], as_array)


def main():
    snippets = load_snippets()
    names = [name for name, _ in snippets.SNIPPETS]
    if len(set(names)) != len(names):
        sys.exit("duplicate snippet names")
    assert torch.get_default_dtype() == torch.float32
    expected = {}
    for name, code in snippets.SNIPPETS:
        first = run(name, code, 0, snippets.to_json)
        second = run(name, code, 1, snippets.to_json)
        if json.dumps(first) != json.dumps(second):
            sys.exit(f"{name}: the result depends on the random seed:\n{first}\n{second}")
        expected[name] = first
    OUTPUT.parent.mkdir(exist_ok=True)
    lines = [f"  {json.dumps(name)}: {json.dumps(value, allow_nan=False)}" for name, value in expected.items()]
    header = {"torch_version": torch.__version__, "numpy_version": np.__version__}
    text = "{\n" + f'  "_made_by": {json.dumps(header)},\n' + '  "expected": {\n'
    text += ",\n".join("  " + line for line in lines) + "\n  }\n}\n"
    json.loads(text)
    OUTPUT.write_text(text)
    print(f"{len(expected)} snippets, PyTorch {torch.__version__}: wrote {OUTPUT}")


if __name__ == "__main__":
    main()

"""The package's shape: the engine never imports the workbench (tinygen.utils),
no module of tinygen takes part in an import cycle, and the workbench's
modules are where the README's map says."""
import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "tinygen")


def module_files():
    """{dotted module name: path} of every module in tinygen/."""
    out = {}
    for folder, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, f), ROOT)[:-3].split(os.sep)
                name = ".".join(rel[:-1] if rel[-1] == "__init__" else rel)
                out[name] = os.path.join(folder, f)
    return out


def import_graph():
    """Edges module -> tinygen module it imports, at top level or inside functions.

    ``from P import x`` counts as importing the submodule P.x when there is
    one, else P itself; a package's __init__ run implicitly before its
    submodules is not an edge (Python handles that order itself).
    """
    modules = module_files()
    graph = {}
    for name, path in modules.items():
        package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
        edges = set()
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    edges.add(sub if sub in modules else target)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def find_cycle(graph):
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == "open":
                return stack[stack.index(m):] + [m]
            if m not in state:
                cycle = visit(m)
                if cycle:
                    return cycle
        state[n] = "done"
        stack.pop()
        return None

    for n in sorted(graph):
        if n not in state:
            cycle = visit(n)
            if cycle:
                return cycle
    return None


def test_no_import_cycle():
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_engine_never_imports_the_workbench():
    graph = import_graph()
    engine = [n for n in graph if not n.startswith("tinygen.utils")]
    offenders = {n: sorted(e for e in graph[n] if e.startswith("tinygen.utils")) for n in engine}
    assert not {n: e for n, e in offenders.items() if e}
    # And at run time: importing tinygen loads no workbench module (nor matplotlib).
    code = "import sys, tinygen; print(sorted(m for m in sys.modules if m.startswith(('tinygen.utils', 'matplotlib'))))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["data", "viz", "checkpoint", "fileio", "run", "train", "progress", "latent",
                                  "gan", "metrics", "benchmark"])
def test_workbench_modules_live_in_utils(name):
    assert os.path.exists(os.path.join(PKG, "utils", name + ".py"))
    assert not os.path.exists(os.path.join(PKG, name + ".py"))

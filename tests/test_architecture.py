"""The package's layers: imports only point down, and there is no import loop.

Layers (docs/architecture.md): 1 theory → 2 tasks (every ``simulations`` module outside ``experiments`` and
``interfaces``) → 3 ``simulations.experiments`` → 4 ``simulations.interfaces``. A module may import its own
layer or lower ones; within a layer, no loop. Imports inside functions count.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layer(module: str) -> int:
    if module.split(".")[0] == "theory":
        return 1
    if module.startswith("simulations.interfaces"):
        return 4
    if module.startswith("simulations.experiments"):
        return 3
    return 2


def modules() -> dict[str, Path]:
    out = {}
    for top in ("theory", "simulations"):
        for p in (ROOT / top).rglob("*.py"):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = p
    return out


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and not t.startswith(name + "."):
                found.add(t)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {n: imports(p, n, set(mods)) for n, p in mods.items()}


def test_no_module_imports_a_higher_layer():
    upward = sorted((a, b) for a, targets in graph().items() for b in targets if layer(b) > layer(a))
    assert upward == []


def test_theory_imports_only_numpy_scipy_sympy_and_itself():
    allowed = {
        "numpy",
        "scipy",
        "sympy",
        "theory",
        "__future__",
        "functools",
        "itertools",
        "dataclasses",
        "numbers",
        "warnings",
        "typing",
        "math",
        "collections",
    }
    bad = []
    for p in (ROOT / "theory").rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            bad += [(p.name, n) for n in names if n.split(".")[0] not in allowed]
    assert bad == []


def test_no_import_loop():
    g = graph()
    index, low, stack, on, loops = {}, {}, [], set(), []

    counter = [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                loops.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    assert loops == []


def test_the_boundary_test_sees_an_upward_import(tmp_path, monkeypatch):
    """The checker itself can fail: a task module importing the experiments layer is reported."""
    g = graph()
    g["simulations.induction_head.data"] = g["simulations.induction_head.data"] | {
        "simulations.experiments.kit"
    }
    upward = [(a, b) for a, targets in g.items() for b in targets if layer(b) > layer(a)]
    assert upward == [("simulations.induction_head.data", "simulations.experiments.kit")]

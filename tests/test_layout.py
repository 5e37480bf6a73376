"""The core's layout is its architecture: layers from the CLI down to the contract, no import that
runs up a layer (function-level imports included), and no import cycle among its modules.

Layers, top to bottom (CONTRIBUTING.md, "Layout"): cli -> api, testing, authoring -> grids,
analysis -> cell -> data, training, store, tracking -> kinds -> compute -> contract, common."""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "harness"

#: Each subpackage (or top-level module) of harness and its layer: an import may only go to the same
#: layer or a lower one.
LAYERS = {"__main__": 8, "cli": 7, "api": 6, "testing": 6, "authoring": 6, "grids": 5, "analysis": 5, "cell": 4,
          "data": 3, "training": 3, "store": 3, "tracking": 3, "kinds": 2, "compute": 1, "contract": 0, "common": 0}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(HARNESS.rglob("*.py")):
        parts = path.relative_to(HARNESS.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path) -> list[tuple[str, int]]:
    """Every harness module ``path`` imports, at any depth of the file, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "harness":
            if node.module == "harness":
                found += [(f"harness.{alias.name}", node.lineno) for alias in node.names]
            else:
                found += [(node.module, node.lineno)] + [(f"{node.module}.{a.name}", node.lineno) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.split(".")[0] == "harness"]
    return found


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module ``name`` is, or lies in (``harness.x.y.Attribute`` -> ``harness.x.y``)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def layer(module: str) -> int:
    parts = module.split(".")
    return 0 if len(parts) == 1 else LAYERS[parts[1]]  # harness/__init__.py: the version, nothing else


def test_every_part_of_the_core_has_a_layer():
    tops = {path.name.removesuffix(".py") for path in HARNESS.iterdir()
            if (path.suffix == ".py" and path.name != "__init__.py") or (path / "__init__.py").is_file()}
    assert tops == set(LAYERS), f"give these a layer here and in CONTRIBUTING.md: {sorted(tops ^ set(LAYERS))}"


def test_no_import_runs_up_a_layer():
    known = modules()
    upward = []
    for module, path in known.items():
        for name, line in imports(path):
            target = resolve(name, known)
            if target is not None and layer(target) > layer(module):
                upward.append(f"{path.relative_to(HARNESS.parent)}:{line}: {module} imports {target}")
    assert not upward, "imports up a layer:\n" + "\n".join(sorted(set(upward)))


def test_no_import_cycle():
    known = modules()
    graph = {module: set() for module in known}
    for module, path in known.items():
        for name, _ in imports(path):
            target = resolve(name, known)
            # a package and its own modules (harness.kinds <-> harness.kinds.base) are one unit
            if target and target != module and not module.startswith(target + ".") \
                    and not target.startswith(module + "."):
                graph[module].add(target)
    cycles, index, low, stack, on = [], {}, {}, [], set()

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_leaderboard_metrics_of_the_contract_are_the_ones_score_has():
    from harness.analysis.scoring import METRICS
    from harness.contract.spec import LEADERBOARD_METRICS

    assert set(METRICS) == set(LEADERBOARD_METRICS)

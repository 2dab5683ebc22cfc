"""The shape of the code, read with `ast`: the import graph between the package's modules (module-level and
function-level imports alike), lines per module and the longest functions. Used by the architecture test
(tests/test_architecture.py) and printed by benchmarks/code_shape.py for before/after figures.

The layer rule (docs/architecture.md): a module may import its own layer and the layers listed for it in
`ALLOWED`; `cli` may import everything; nothing imports `cli`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

BASE = "base"
# layer -> the layers it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    BASE: set(),
    "db": {BASE},
    "ingest": {BASE, "db"},
    "analysis": {BASE},
    "training": {BASE, "analysis", "ingest"},
    "outputs": {BASE, "db"},
    "runner": {BASE, "db", "ingest", "analysis"},
    "service": {BASE, "db", "outputs", "runner"},
    "dev": {BASE, "db", "runner"},
    "web": {BASE, "db", "outputs"},
    "cli": {BASE, "db", "ingest", "analysis", "training", "outputs", "runner", "service", "dev", "web"},
}


@dataclass(frozen=True)
class Function:
    module: str
    name: str
    lines: int
    parameters: int
    positional: int  # parameters that can be passed by position


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """'monitor.ingest.fetch' -> 'ingest'; 'monitor.cli', 'monitor.cli_common', 'monitor.cli_web' -> 'cli'; other
    top-level modules but runner are the base layer."""
    parts = module.split(".")
    if len(parts) == 2 and (parts[1] == "cli" or parts[1].startswith("cli_")):
        return "cli"
    if len(parts) >= 3 or (len(parts) == 2 and parts[1] in ALLOWED and parts[1] != BASE):
        return parts[1]
    return BASE


def modules(root: Path) -> dict[str, ast.Module]:
    return {module_name(p, root): ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in sorted(root.rglob("*.py"))}


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the package modules it imports anywhere in its body (relative imports are not used here)."""
    trees = modules(root)
    known = set(trees)
    graph: dict[str, set[str]] = {}
    for name, tree in trees.items():
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if t in known and t != name and t != root.name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_violations(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs that break the layer rule."""
    bad = []
    for source, targets in graph.items():
        allowed = ALLOWED[layer_of(source)] | {layer_of(source)}
        for target in targets:
            if layer_of(target) not in allowed or target.endswith(".cli"):
                bad.append((source, target))
    return sorted(bad)


def functions(root: Path) -> list[Function]:
    """Every function and method with its length in lines and its parameter count (self/cls excluded)."""
    out = []
    for name, tree in modules(root).items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                positional = [a.arg for a in args.posonlyargs + args.args if a.arg not in ("self", "cls")]
                out.append(Function(name, node.name, (node.end_lineno or node.lineno) - node.lineno + 1,
                                    len(positional) + len(args.kwonlyargs), len(positional)))
    return out


def lines_per_module(root: Path) -> dict[str, int]:
    return {module_name(p, root): len(p.read_text(encoding="utf-8").splitlines()) for p in sorted(root.rglob("*.py"))}

"""The shape of the code: modules and their lines, the longest functions, long positional parameter lists, import
circles (module- and function-level imports) and layer-rule violations. Compare two trees for before/after:

    python benchmarks/code_shape.py [--package PATH_TO_monitor]

Exits 1 when there is an import circle, a layer violation (docs/architecture.md), a module over 500 lines or an
ingest/runner function with more than 7 positional parameters.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.dev.codeshape import cycles, functions, import_graph, layer_violations, lines_per_module  # noqa: E402

MAX_MODULE_LINES = 500
MAX_POSITIONAL = 7


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=ROOT / "monitor")
    args = parser.parse_args()
    package = args.package.resolve()
    sizes = lines_per_module(package)
    graph = import_graph(package)
    funcs = functions(package)
    circles = cycles(graph)
    edges = sum(len(t) for t in graph.values())
    print(f"{len(sizes)} modules, {sum(sizes.values())} lines; largest:")
    for name, n in sorted(sizes.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {n:5d}  {name}")
    print("longest functions:")
    for f in sorted(funcs, key=lambda f: -f.lines)[:8]:
        print(f"  {f.lines:5d} lines  {f.module}.{f.name} ({f.positional} positional / {f.parameters} parameters)")
    wide = sorted((f for f in funcs if f.positional > MAX_POSITIONAL), key=lambda f: -f.positional)
    print(f"functions with more than {MAX_POSITIONAL} positional parameters: " +
          (", ".join(f"{f.module}.{f.name} ({f.positional})" for f in wide) or "none"))
    print(f"import graph: {edges} edges between package modules; circles: " +
          ("; ".join(" <-> ".join(c) for c in circles) or "none"))
    violations = layer_violations(graph) if (package / "runner.py").exists() else []
    print("layer violations: " + (", ".join(f"{a} -> {b}" for a, b in violations) or "none"))
    over = [n for n, lines in sizes.items() if lines > MAX_MODULE_LINES]
    core_wide = [f for f in wide if f.module.startswith(("monitor.ingest", "monitor.runner", "monitor.pipeline"))]
    failed = bool(circles or violations or over or core_wide)
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

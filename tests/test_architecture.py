"""The layout keeps its promises: no import circles, each layer imports only the layers below it
(docs/architecture.md), and the CLI stays a thin shell over the library."""

from pathlib import Path

from monitor.dev.codeshape import cycles, functions, import_graph, layer_of, layer_violations

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"


def test_no_import_circles_even_through_function_level_imports():
    assert cycles(import_graph(PACKAGE)) == []


def test_each_layer_imports_only_what_the_rule_allows():
    assert layer_violations(import_graph(PACKAGE)) == []


def test_every_module_belongs_to_a_known_layer():
    layers = {layer_of(m) for m in import_graph(PACKAGE)}
    assert layers == {"base", "db", "ingest", "analysis", "training", "outputs", "runner", "service", "dev", "web", "cli"}


def test_a_violation_is_reported():
    graph = {"monitor.db.store": {"monitor.ingest.pipeline"}, "monitor.ingest.pipeline": {"monitor.db.store"}}
    assert layer_violations(graph) == [("monitor.db.store", "monitor.ingest.pipeline")]
    assert cycles(graph) == [["monitor.db.store", "monitor.ingest.pipeline"]]


def test_orchestration_takes_a_context_not_long_parameter_lists():
    long_lists = [f"{f.module}.{f.name} ({f.positional})" for f in functions(PACKAGE)
                  if f.module.startswith(("monitor.ingest", "monitor.runner")) and f.positional > 7]
    assert long_lists == []

"""The framework's own structure: no import cycles between its modules.

grimp builds the import graph (every import, including those inside functions); a cycle
is a strongly connected group of two or more modules, or a module importing itself.
"""

from __future__ import annotations

import grimp


def import_cycles(package: str) -> list[list[str]]:
    """Each strongly connected group of modules (Tarjan), sorted; empty when there are no cycles."""
    graph = grimp.build_graph(package, cache_dir=None)  # no cache folder written into the checkout
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in edges[v]:
                found.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_the_framework_has_no_import_cycles():
    assert import_cycles("autograder") == []

"""Disguised copies for the similarity tests and benchmark: what a copier does to hide a copy.

Every variable and argument is renamed, the top-level functions and classes are put in another
order, the original comments are dropped (ast.unparse also re-lays the code) and new ones added.
"""

from __future__ import annotations

import ast
import builtins
import random


def disguise(source: str, seed: int = 0) -> str:
    rng = random.Random(seed)
    tree = ast.parse(source)
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    stored |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    keep = set(dir(builtins)) | {"self", "cls"}
    names = {name: f"{rng.choice(['val', 'tmp', 'item', 'thing', 'buf'])}_{i}_{rng.randrange(100)}"
             for i, name in enumerate(sorted(stored - keep))}

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:
            node.id = names.get(node.id, node.id)
            return node

        def visit_arg(self, node: ast.arg) -> ast.arg:
            node.arg = names.get(node.arg, node.arg)
            return node

    tree = Rename().visit(tree)
    head = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    rest = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    defs = [s for s in rest if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    others = [s for s in rest if not isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    rng.shuffle(defs)
    if len(defs) > 1 and [d.name for d in defs] == [s.name for s in rest if s in defs]:
        defs.reverse()
    tree.body = head + others + defs
    lines = []
    for number, line in enumerate(ast.unparse(tree).splitlines()):
        if line.lstrip().startswith(("def ", "class ")):
            lines.append(f"{line[: len(line) - len(line.lstrip())]}# my own approach, part {number}")
        lines.append(line)
    return "\n".join(lines) + "\n"


def notebook(source: str) -> str:
    """The code as a notebook: a markdown cell, then one code cell per top-level definition."""
    import json

    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    starts = sorted({1} | {min([n.lineno, *[d.lineno for d in getattr(n, "decorator_list", [])]]) for n in tree.body})
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# My homework\nAll my own work."}]
    for begin, end in zip(starts, [*starts[1:], len(lines) + 1]):
        cells.append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                      "source": "".join(lines[begin - 1:end - 1])})
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})

"""The student notebook's `check()` cells in a real Jupyter kernel: time and score.

    .venv/bin/python benchmarks/notebook_check.py [ASSIGNMENT ...] [--pause S]   (default: conv_layer)

Fills each part cell of ``student_template/<slug>/<slug>.ipynb`` with the reference's code
for it, executes the whole notebook in a fresh ``python3`` kernel (nbconvert's
ExecutePreprocessor, as Jupyter runs it), and reports the wall time of the whole run, the
time of every ``check(...)`` cell and the score the last one printed. ``--pause S`` waits S
seconds before each check cell (a student writing the next part; the notebook keeps the next
check's worker starting meanwhile); the pauses are not in the check cells' times.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class TimedExecutor(ExecutePreprocessor):
    """Records each cell's execution time."""

    def __init__(self, pause: float = 0.0, **kw):  # noqa: ANN003
        super().__init__(**kw)
        self.pause = pause
        self.times: dict[str, float] = {}

    def preprocess_cell(self, cell, resources, index):  # noqa: ANN001, ANN201
        if cell.get("id", "").startswith("check"):
            time.sleep(self.pause)
        started = time.monotonic()
        out = super().preprocess_cell(cell, resources, index)
        self.times[cell.get("id", str(index))] = time.monotonic() - started
        return out


def filled(slug: str) -> nbformat.NotebookNode:
    ref = (ROOT / f"solutions/{slug}/{slug}.py").read_text()
    defs = {n.name: ast.get_source_segment(ref, n, padded=True) for n in ast.parse(ref).body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    nb = nbformat.read(ROOT / f"student_template/{slug}/{slug}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.get("id", "").startswith("part-"):
            cell.source = defs[cell.id.removeprefix("part-")]
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignments", nargs="*", default=["conv_layer"])
    parser.add_argument("--pause", type=float, default=0.0, help="seconds before each check cell")
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    for slug in args.assignments:
        nb = filled(slug)
        executor = TimedExecutor(pause=args.pause, timeout=600, kernel_name="python3")
        started = time.monotonic()
        executor.preprocess(nb, {"metadata": {"path": str(ROOT)}})
        total = time.monotonic() - started
        checks = {k: v for k, v in executor.times.items() if k.startswith("check")}
        outputs = {c.id: "".join(o.get("text", "") for o in c.outputs) for c in nb.cells if c.cell_type == "code"}
        last = outputs.get("check-all", "")
        score = re.search(r"(\d+(?:\.\d+)?) / (\d+(?:\.\d+)?) public points", last)
        print(f"{slug} (pause {args.pause:g} s): whole notebook {total:.1f} s; {len(checks)} check cells {sum(checks.values()):.1f} s "
              f"({', '.join(f'{k} {v:.1f}' for k, v in checks.items())}); "
              f"check-all: {score.group(0) if score else last[:80]!r}")


if __name__ == "__main__":
    main()

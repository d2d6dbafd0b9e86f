"""``check("part")`` inside Jupyter or Colab: the public tests, on what the student has run.

The student notebook's (folded) set-up cell makes ``check = Checker(slug, graders, sha256=...)``;
each check cell calls it. A check rebuilds the student's module from the
cells this kernel has executed, in the order they ran (IPython's input
history), writes it as a notebook, and grades it with ``grading.grade`` in
``check`` mode, restricted to the part's public groups. Student code runs in
the sandboxed worker exactly as with ``autograder check``; only the checker
runs in the kernel. The graders travel inside the notebook (packed), so a
``pip install`` of the framework is all Colab needs.

This module is imported by graded notebooks too (their set-up cell runs in the
worker), so it imports nothing heavy at the top, and a check cell does
nothing while a notebook is being graded.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CheckResult:
    """What one ``check`` found (printed when the check runs; kept as ``check.last``)."""

    part: str | None
    score: float
    max_score: float
    lines: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score - 1e-9

    def __str__(self) -> str:
        return "\n".join(self.lines)



def digest(graders: str) -> str:
    """A short fingerprint of the packed graders: the set-up cell carries it to detect damage."""
    import hashlib

    return hashlib.sha256(graders.encode()).hexdigest()[:16]


class DamagedSetup(ValueError):
    """The set-up cell's packed tests were edited (a stray keystroke): say so, and how to repair it."""

    def __init__(self, slug: str) -> None:
        super().__init__(
            f"the set-up cell of this notebook was changed, so the public tests it carries are damaged. "
            f"Copy the set-up cell from a fresh copy of {slug}.ipynb over this one (or download the notebook "
            "again and move your code into it), then run it again. Your own cells are not affected.")


class Checker:
    """``check("expand_to")`` runs that part's public tests; ``check()`` runs them all."""

    def __init__(self, slug: str, graders: str, sha256: str = "") -> None:
        self.slug = slug
        self._graders = graders
        self.last: CheckResult | None = None
        graded = sys._getframe(1).f_globals.get("__autograder_notebook__")
        if sha256 and digest(graders) != sha256 and not graded:
            raise DamagedSetup(slug)
        if not graded:
            self._get_ready()

    def _get_ready(self) -> None:
        """Start the first check()'s sandboxed worker now: it imports torch while the student works."""
        from autograder import prestart
        from autograder.export.bundle import materialize

        try:
            prestart.get_ready(materialize(self._graders), "cpu")
        except (ValueError, OSError, KeyError, TypeError):
            pass  # a damaged pack is reported by check() itself

    def __call__(self, part: str | None = None) -> None:
        """Prints the result (returns nothing, so Jupyter shows no Out[] line); see ``last``."""
        if sys._getframe(1).f_globals.get("__autograder_notebook__"):
            return None  # this notebook is being graded: the grader runs the tests, not the notebook
        from autograder.export.bundle import materialize

        try:
            assignment = materialize(self._graders)
        except (ValueError, OSError, KeyError, TypeError) as exc:  # bz2: OSError; base64, JSON: ValueError
            raise DamagedSetup(self.slug) from exc
        manifest = assignment.manifest
        parts = [p.name for p in manifest.parts]
        if part is not None and part not in parts:
            raise ValueError(f"{self.slug} has no part {part!r}; its parts are {', '.join(parts)}")
        groups = [g.name for g in manifest.groups
                  if not g.hidden and g.kind == "correctness" and part in (None, g.part)]
        if not groups:
            raise ValueError(f"{part} has no public tests to check")
        cells = executed_cells()
        self.last = run_check(assignment, groups, cells, part)
        print(self.last)


def executed_cells() -> list[str]:
    """The sources of the cells this IPython kernel has run, in order (the current one last)."""
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None  # noqa: N806
    shell = get_ipython() if get_ipython is not None else None
    if shell is None:
        raise RuntimeError("check() works inside Jupyter, Colab or IPython; in a terminal, "
                           "run `autograder check ASSIGNMENT your_file.py`")
    return [str(s) for s in shell.history_manager.input_hist_raw[1:]]  # cell n is In[n]


def cells_notebook(cells: list[str]) -> str:
    """A minimal .ipynb holding ``cells`` as code cells, the form a notebook submission takes."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": f"run-{i}", "metadata": {}, "outputs": [], "execution_count": None,
         "source": source} for i, source in enumerate(cells, start=1)]})


def run_check(assignment: Any, groups: list[str], cells: list[str], part: str | None) -> CheckResult:
    """Grade ``cells`` as a notebook submission on ``groups`` (sandboxed worker, check mode)."""
    from autograder import prestart
    from autograder.export.subset import restricted
    from autograder.grading import grade

    spawner = prestart.take(assignment, "cpu")  # started after the last check() (or by the set-up cell)
    try:
        with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
            subset = restricted(assignment, groups, Path(tmp) / "course")
            submission = Path(tmp) / f"{assignment.slug}.ipynb"
            submission.write_text(cells_notebook(cells))
            report = grade(subset, submission, mode="check", device="cpu", spawner=spawner)
    finally:
        if spawner is not None:
            spawner.close()
        prestart.replenish()  # the next check()'s worker imports torch while the student works
    return summarize(report, part, len(cells))


def _first_problems(output: str, keep: int = 3) -> list[str]:
    """The group's feedback cut to its first ``keep`` problems (each starts with "- ")."""
    out, items = [], 0
    lines = output.splitlines()
    for line in lines:
        if line.startswith("- "):
            items += 1
        if items > keep:
            break
        out.append(line)
    more = sum(1 for line in lines if line.startswith("- ")) - keep
    if more > 0:
        out.append(f"... and {more} more (fix these first)")
    return out


def summarize(report: Any, part: str | None, n_cells: int) -> CheckResult:
    from autograder.results import format_score

    results = report.results
    what = part or "all parts"
    lines = [f"{what}: {format_score(results.score)} / {format_score(results.max_score)} public points "
             f"(on the {n_cells} cell(s) run in this session; cell n is the one shown as [n])"]
    header = results.output.rsplit("\n", 1)[0] if "\n" in results.output else ""
    lines += [f"  note: {line}" for line in header.splitlines() if line.strip()]
    for test in results.tests:
        mark = "PASS" if test.status == "passed" else "FAIL"
        lines.append(f"  [{mark}] {test.name}: {format_score(test.score)}/{format_score(test.max_score)}")
        if test.status != "passed":
            lines += ["      " + line for line in _first_problems(test.output)]
    if report.protections.missing:
        lines.append("  (grading ran with weaker isolation on this machine: no bubblewrap or no uid drop)")
    return CheckResult(part, results.score, results.max_score, lines)

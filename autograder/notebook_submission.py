"""A submitted Jupyter notebook turned into the module that is graded.

The code cells of a submitted ``.ipynb`` become the module. Every cell runs
in its own guard, the way a student's "Run all" would continue past an error:
a cell that raises (or does not parse) is recorded and the other cells still
define their names, so one broken scratch cell costs only what depends on it.
Each cell is compiled under its own file name ("cell 7") inside the submission
folder, so tracebacks in feedback point at the cell and line, and the
forbidden-call guards still recognise the code as the student's. Shell and
magic lines (``!pip ...``, ``%time``) cannot run in the worker and are dropped
with a note. The notebook is parsed as JSON only; nothing in it runs in the
grader. (The notebook students start from is built by ``student_notebook.py``.)
"""

from __future__ import annotations
import __future__

import json
import re
import warnings
from typing import Any

MAGIC_PREFIXES = ("!", "%")
DEFINES = re.compile(r"^(?:async\s+def|def)\s+([A-Za-z_]\w*)|^class\s+([A-Za-z_]\w*)", re.MULTILINE)
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}  # %%magic whose body is Python
MODULE_HEADER = '''\
# Built by the autograder from a notebook: each code cell below runs in order, in its own guard.
# A cell that raises is recorded in __notebook_errors__ and the following cells still run.
import __future__ as _nb_future
import linecache as _nb_linecache
import os as _nb_os
import traceback as _nb_traceback

_nb_os.environ.setdefault("MPLBACKEND", "Agg")  # scratch plots need no display
__autograder_notebook__ = True  # check() cells see this and do nothing while grading
__notebook_errors__ = []


def display(*objects, **kwargs):
    """Jupyter's display(), as print: scratch cells that show things still run."""
    print(*objects)


exec(compile("""
def _nb_missing(name, why):
    def missing(*args, **kwargs):
        raise NameError(f"{name} is not defined because {why}")
    missing.__name__ = missing.__qualname__ = name
    return missing
""", "<notebook placeholder>", "exec"))  # not a file of the student's: keeps tracebacks short


def _nb_run(number, source, defines=(), _flags=[0]):
    filename = _nb_os.path.join(_nb_os.path.dirname(__file__), f"cell {number}")
    _nb_linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        code = compile(source, filename, "exec", _flags[0], True)
        for name in _nb_future.all_feature_names:  # a __future__ import holds for later cells, as in Jupyter
            _flags[0] |= code.co_flags & getattr(_nb_future, name).compiler_flag
        exec(code, globals())
    except Exception as exc:  # noqa: BLE001 - a scratch cell may raise anything; the rest still runs
        lines = [f.lineno for f in _nb_traceback.extract_tb(exc.__traceback__) if f.filename == filename]
        line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else (lines[-1] if lines else None)
        why = f"cell {number} raised {type(exc).__name__} on line {line}: {exc}"[:500]
        __notebook_errors__.append(why)
        for name in defines:  # what the failed cell should have defined now explains the failure
            if name not in globals():
                globals()[name] = _nb_missing(name, why)


'''
MODULE_FOOTER = "\ndel _nb_run, _nb_missing, _nb_future, _nb_linecache, _nb_os, _nb_traceback\n"


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(str(s) for s in source) if isinstance(source, list) else str(source)


def strip_magics(source: str) -> tuple[str, int, bool]:
    """(Python source, shell/magic lines dropped, whole cell dropped) with line numbers kept."""
    first = source.lstrip().split("\n", 1)[0].strip()
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in PYTHON_CELL_MAGICS:
            return "", 0, True
    lines, dropped = [], 0
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(MAGIC_PREFIXES):
            dropped += 1
            indent = line[: len(line) - len(stripped)]
            lines.append(f"{indent}pass  # dropped: {stripped.strip()[:60]}")
        else:
            lines.append(line)
    return "\n".join(lines) + ("\n" if lines else ""), dropped, False


class NotebookError(ValueError):
    """The notebook cannot be read (``submission.stage`` reports it as a submission error)."""


def notebook_to_module(raw: bytes) -> tuple[str, list[str]]:
    """Source of a module that runs the notebook's code cells in order, and notes for feedback."""
    try:
        nb = json.loads(raw)
        cells = nb["cells"]
        if not isinstance(cells, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise NotebookError("the notebook is not valid .ipynb JSON") from None
    calls: list[str] = []
    notes: list[str] = []
    dropped = 0
    flags = [0]
    code_number = 0
    for index, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code_number += 1
        source, lost, whole = strip_magics(_source(cell))
        dropped += lost
        if whole:
            notes.append(f"cell {index} (code cell {code_number}) is a %%cell magic and was not run")
            continue
        if not source.strip():
            continue
        problem = _compile_problem(flags, source, f"cell {index}")
        if problem:
            notes.append(f"cell {index} (code cell {code_number}) was not run: {problem}")
        calls.append(f"_nb_run({index}, {source!r}, {_defined_names(source)!r})")
    if dropped:
        notes.insert(0, f"{dropped} shell/magic line(s) were dropped from the notebook (they cannot run here)")
    return MODULE_HEADER + "\n".join(calls) + "\n" + MODULE_FOOTER, notes


def _defined_names(source: str) -> tuple[str, ...]:
    """Functions and classes a cell defines at top level (found by text, so broken cells count too)."""
    return tuple(dict.fromkeys(a or b for a, b in DEFINES.findall(source)))


def _compile_problem(flags: list[int], source: str, filename: str) -> str:
    """Why the cell will not compile ('' when it will); compiling runs nothing. Mirrors ``_nb_run``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = compile(source, filename, "exec", flags[0], True)
        for name in __future__.all_feature_names:
            flags[0] |= code.co_flags & getattr(__future__, name).compiler_flag
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        msg = getattr(exc, "msg", None) or str(exc)
        return f"{type(exc).__name__} on line {line}: {msg}" if line else f"{type(exc).__name__}: {msg}"
    return ""

"""Jupyter notebooks in: the code cells of a submitted ``.ipynb`` become the module.

Shell and magic lines (``!pip ...``, ``%time``) cannot run in the worker and are
dropped with a note. The notebook is parsed as JSON only; nothing in it runs
in the grader.
"""

from __future__ import annotations

import json

MAGIC_PREFIXES = ("!", "%")


def notebook_to_module(raw: bytes) -> tuple[str, list[str]]:
    """Source of a module made of the notebook's code cells in order, and notes for feedback."""
    from autograder.submission import SubmissionError

    try:
        nb = json.loads(raw)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError):
        raise SubmissionError("the notebook is not valid .ipynb JSON") from None
    chunks: list[str] = []
    dropped = 0
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        lines = []
        for line in str(source).splitlines():
            if line.lstrip().startswith(MAGIC_PREFIXES):
                dropped += 1
                indent = line[: len(line) - len(line.lstrip())]
                lines.append(f"{indent}pass  # dropped: {line.strip()[:60]}")
            else:
                lines.append(line)
        chunks.append(f"# --- cell {index + 1} ---\n" + "\n".join(lines))
    notes = [f"{dropped} shell/magic line(s) were dropped from the notebook"] if dropped else []
    return "\n\n".join(chunks) + "\n", notes

"""Student stubs from the reference: one source, ``# BEGIN SOLUTION`` / ``# END SOLUTION``.

Inside a function the marked lines become ``raise NotImplementedError`` at the
same indentation, so signatures and docstrings stay. At module level (column 0)
marked lines are removed: solution-only helpers and imports. Nested or unclosed
markers are errors that name the line.
"""

from __future__ import annotations

import re
from pathlib import Path

from autograder.course import Assignment

BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^(\s*)# END SOLUTION\s*$")


class StubError(Exception):
    """The reference's solution markers are malformed."""


def make_stub(source: str, filename: str = "<reference>") -> str:
    out: list[str] = []
    inside: tuple[int, str] | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if inside is not None:
                raise StubError(f"{filename}:{number}: BEGIN SOLUTION inside another (opened on line {inside[0]})")
            inside = (number, begin.group(1))
            continue
        if end:
            if inside is None:
                raise StubError(f"{filename}:{number}: END SOLUTION without BEGIN SOLUTION")
            if end.group(1) != inside[1]:
                raise StubError(f"{filename}:{number}: END SOLUTION indented differently from its BEGIN")
            indent = inside[1]
            if indent:
                out.append(f"{indent}# YOUR CODE HERE")
                out.append(f"{indent}raise NotImplementedError")
            inside = None
            continue
        if inside is None:
            out.append(line)
    if inside is not None:
        raise StubError(f"{filename}:{inside[0]}: BEGIN SOLUTION is never closed")
    text = "\n".join(out) + "\n"
    return re.sub(r"\n{3,}(?=\S)", "\n\n\n", text)


def template_files(assignment: Assignment) -> dict[Path, str]:
    """Every file ``build-student`` writes for one assignment, with its content.

    Besides the stubs, that is the handout's generated speed section (``handout.py``).
    """
    from autograder.handout import HandoutError, render

    files: dict[Path, str] = {}
    if assignment.handout.is_file():
        try:
            files[assignment.handout] = render(assignment.handout.read_text(), assignment.manifest,
                                               str(assignment.handout))
        except HandoutError as exc:
            raise StubError(str(exc)) from None
    ref = assignment.reference_file
    target = assignment.template_dir
    if ref is None or target is None:
        return files
    files[target / ref.name] = make_stub(ref.read_text(), str(ref))
    try:
        from autograder.student_notebook import student_notebook
    except ImportError:
        return files
    notebook = student_notebook(assignment, files[target / ref.name])
    if notebook is not None:
        files[target / f"{assignment.slug}.ipynb"] = notebook
    return files


def build_templates(assignments: list[Assignment], check: bool = False) -> list[Path]:
    """Write (or, with ``check``, only compare) the templates; returns the files that differ."""
    stale = []
    for assignment in assignments:
        files = template_files(assignment)
        handout = files.get(assignment.handout)
        if not check and handout is not None and assignment.handout.read_text() != handout:
            assignment.handout.write_text(handout)  # first: the notebooks quote the handout
            stale.append(assignment.handout)
            files = template_files(assignment)
        for path, content in files.items():
            if path.exists() and path.read_text() == content:
                continue
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
    return stale

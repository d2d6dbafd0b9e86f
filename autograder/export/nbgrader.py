"""``autograder export nbgrader``: an nbgrader source notebook for an assignment.

Written as ``OUT/source/<slug>/<slug>.ipynb``, the place ``nbgrader
generate_assignment <slug>`` reads it from in a course folder. The layout is
the student notebook's (``cells.layout``) built from the reference instead of
the stub: each part is a solution cell whose ``# BEGIN/END SOLUTION`` regions
become nbgrader's ``### BEGIN/END SOLUTION`` (the released stub is then the
same as ``student_template``), followed by one autograded test cell per
correctness group. Public groups are visible; hidden groups sit between
``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``, and the packed hidden
graders and reference live only inside those regions, which nbgrader strips
from the release and restores when it autogrades. A test cell's last value is
the points earned, which nbgrader reads as partial credit. Performance groups
are not exported (timing needs the sandboxed worker).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course import Assignment
from autograder.export.bundle import hidden_files, pack, public_files
from autograder.export.runtime import reference_report
from autograder.notebook_cells import code_cell, layout, markdown_cell, notebook_json

SOLUTION = re.compile(r"^(\s*)# (BEGIN|END) SOLUTION\s*$", re.MULTILINE)
SETUP = '''\
# Set-up for the autograded tests below (read-only). They run autograder's pytest graders on the
# names this notebook defines; the long string packs the public graders (assignments/{slug}/tests).
from autograder.export.runtime import nbgrader_group

AUTOGRADER_PUBLIC = "{blob}"'''
PUBLIC_TEST = '''\
# {title} ({points:g} points): the last value is the points earned.
nbgrader_group([AUTOGRADER_PUBLIC], "{group}", globals())'''
HIDDEN_TEST = '''\
# {title} ({points:g} points): hidden tests, run when the notebook is autograded.
### BEGIN HIDDEN TESTS
{define}nbgrader_group([AUTOGRADER_PUBLIC, AUTOGRADER_HIDDEN], "{group}", globals())
### END HIDDEN TESTS'''


@dataclass
class NbgraderExport:
    notebook: Path
    test_cells: int
    points: float


def _meta(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
          points: float | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"grade": grade, "grade_id": grade_id, "locked": locked,
                            "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def to_nbgrader_markers(code: str) -> str:
    """``# BEGIN SOLUTION`` -> ``### BEGIN SOLUTION``, same indentation."""
    return SOLUTION.sub(lambda m: f"{m.group(1)}### {m.group(2)} SOLUTION", code)


def source_notebook(assignment: Assignment) -> tuple[str, int, float]:
    """(notebook text, autograded test cells, their points); checks the reference earns them all."""
    manifest = assignment.manifest
    if assignment.reference_file is None:
        from autograder.export import ExportError

        raise ExportError(f"the solutions of {manifest.slug} are not here; the nbgrader export needs them")
    public, hidden = pack(public_files(assignment)), pack(hidden_files(assignment))
    groups = [g for g in manifest.groups if g.kind == "correctness"]
    reference_report(assignment, [public, hidden], [g.name for g in groups])
    plan = layout(manifest, assignment.reference_file.read_text(), assignment.handout.read_text())
    cells = [markdown_cell("intro", plan.intro, _meta("intro", locked=True)),
             code_cell("setup", SETUP.format(slug=manifest.slug, blob=public), _meta("setup", locked=True))]
    if plan.preamble:
        cells.append(code_cell("imports", plan.preamble, _meta("imports", locked=True)))
    hidden_defined = False
    section = 0
    for kind, item in plan.items:
        if kind == "section":
            section += 1
            cells.append(markdown_cell(f"handout-{section}", item, _meta(f"handout-{section}", locked=True)))
            continue
        for n, chunk in enumerate(item.chunks):
            cell_id = f"part-{chunk.name}" if chunk.name else f"code-{item.part or 'extra'}-{n}"
            if SOLUTION.search(chunk.text):
                cells.append(code_cell(cell_id, to_nbgrader_markers(chunk.text), _meta(cell_id, solution=True)))
            else:
                cells.append(code_cell(cell_id, chunk.text, _meta(cell_id, locked=True)))
        for group in (g for g in groups if g.part == item.part):
            cell_id = f"test-{group.name}"
            if group.hidden:
                define = "" if hidden_defined else f'AUTOGRADER_HIDDEN = "{hidden}"\n'
                hidden_defined = True
                text = HIDDEN_TEST.format(title=group.title, points=group.points, group=group.name, define=define)
            else:
                text = PUBLIC_TEST.format(title=group.title, points=group.points, group=group.name)
            cells.append(code_cell(cell_id, text, _meta(cell_id, grade=True, locked=True, points=group.points)))
    tests = sum(1 for c in cells if c["metadata"]["nbgrader"]["grade"])
    return notebook_json(cells, {}), tests, sum(g.points for g in groups)


def export_nbgrader(assignment: Assignment, out: Path) -> NbgraderExport:
    """Write ``out/source/<slug>/<slug>.ipynb`` (``out`` may be an nbgrader course folder)."""
    text, tests, points = source_notebook(assignment)
    path = out / "source" / assignment.slug / f"{assignment.slug}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return NbgraderExport(path, tests, points)

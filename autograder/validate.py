"""``autograder validate``: an assignment is shippable only if its own reference passes.

For each assignment: the manifest loads; the reference earns every point; the
generated stub earns none; the committed template matches the reference.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.course import Assignment
from autograder.manifest import ManifestError
from autograder.stubgen import StubError, build_templates, make_stub


@dataclass
class Validation:
    slug: str
    problems: list[str]
    reference: str = "-"
    stub: str = "-"
    seconds: float = 0.0


def validate_one(assignment: Assignment) -> Validation:
    from autograder.grading import FrameworkError, grade

    started = time.monotonic()
    try:
        manifest = assignment.manifest
    except ManifestError as exc:
        return Validation(assignment.directory.name, [str(exc)])
    v = Validation(manifest.slug, [])
    ref = assignment.reference_file
    if ref is None:
        v.problems.append("no reference solution in solutions/")
        return v
    try:
        report = grade(assignment, ref)
        v.reference = f"{report.score:g}/{report.max_score:g}"
        if report.score < report.max_score - 1e-9:
            lost = [t.name for t in report.results.tests if t.status != "passed"]
            v.problems.append("reference loses points in: " + "; ".join(lost))
        if report.internal_errors:
            v.problems += [f"grader error: {e}" for e in report.internal_errors]
        with tempfile.TemporaryDirectory() as tmp:
            stub = Path(tmp) / ref.name
            stub.write_text(make_stub(ref.read_text(), str(ref)))
            stub_report = grade(assignment, stub)
        v.stub = f"{stub_report.score:g}/{stub_report.max_score:g}"
        if stub_report.score > 0:
            won = [t.name for t in stub_report.results.tests if t.score > 0]
            v.problems.append("the stub earns points in: " + "; ".join(won))
    except (FrameworkError, StubError) as exc:
        v.problems.append(str(exc))
    if build_templates([assignment], check=True):
        v.problems.append("student_template/ is out of date: run `autograder build-student`")
    v.seconds = time.monotonic() - started
    return v


def validate_all(console: Console, assignments: list[Assignment]) -> bool:
    table = Table(title="validate")
    for col in ("assignment", "reference", "stub", "time", "problems"):
        table.add_column(col)
    ok = True
    for assignment in assignments:
        v = validate_one(assignment)
        ok = ok and not v.problems
        table.add_row(v.slug, v.reference, v.stub, f"{v.seconds:.1f}s",
                      "\n".join(v.problems) or "[green]ok[/green]")
    console.print(table)
    return ok

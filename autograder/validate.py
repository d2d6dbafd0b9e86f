"""``autograder validate``: an assignment is shippable only if its own reference passes.

For each assignment: the manifest loads; the reference earns every point and is
timed in every timed part (so each has a perf grader); the generated stub earns
none; the degenerate baselines (raise on every call, return the first argument,
zeros, NaN; ``autograder.degenerate``) earn nothing in any group; the committed
template and the handout's generated speed section match the reference and the
manifest; every staff speed variant gets the verdict its contract promises, timed
on this machine's device; no ``autograder new`` placeholder is left. It also
lists the aten operators each ban blocks, since a regular expression is easy to
get too wide or too narrow.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.course import Assignment, UsageError
from autograder.degenerate import baseline_problems
from autograder.manifest import Manifest, ManifestError
from autograder.scaffold import TODO, leftover_todos
from autograder.stubgen import StubError, build_templates, make_stub


@dataclass
class Validation:
    slug: str
    problems: list[str]
    reference: str = "-"
    stub: str = "-"
    seconds: float = 0.0
    aten: dict[str, list[str]] = field(default_factory=dict)


def blocked_aten(manifest: Manifest) -> dict[str, list[str]]:
    """Per ``[forbidden.aten]`` label, the operators its pattern blocks (as the worker will)."""
    if not manifest.forbidden.aten:
        return {}
    from autograder.sandbox.dispatch_bans import aten_operators

    return aten_operators(manifest.forbidden.aten)


def validate_one(assignment: Assignment) -> Validation:
    from autograder.calibrate import contract_problems
    from autograder.grading import FrameworkError, grade, resolve_device

    started = time.monotonic()
    try:
        manifest = assignment.manifest
    except ManifestError as exc:
        return Validation(assignment.directory.name, [str(exc)])
    v = Validation(manifest.slug, [], aten=blocked_aten(manifest))
    v.problems += [f"{label} blocks no aten operator" for label, ops in v.aten.items() if not ops]
    todos = leftover_todos([assignment.directory] + ([assignment.solution_dir] if assignment.solution_dir else []))
    if todos:
        v.problems.append(f"{TODO} left in: " + ", ".join(todos))
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
        timed = {t.part for t in manifest.timed} - set(report.results.extra_data.get("timing") or {})
        if timed:
            v.problems.append("no perf grader timed: " + ", ".join(sorted(timed)))
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
        v.problems += baseline_problems(assignment, grade)[1]  # each names the baseline and its score
        if not v.problems:
            v.problems += contract_problems(assignment, resolve_device("auto"))
    except (FrameworkError, StubError, UsageError) as exc:
        v.problems.append(str(exc))
    try:
        if build_templates([assignment], check=True):
            v.problems.append("student_template/ or the handout's speed section is out of date: "
                              "run `autograder build-student`")
    except StubError as exc:
        v.problems.append(str(exc))
    v.seconds = time.monotonic() - started
    return v


def validate_all(console: Console, assignments: list[Assignment]) -> bool:
    table = Table(title="validate")
    for col in ("assignment", "reference", "stub", "time", "problems"):
        table.add_column(col)
    ok = True
    bans: list[tuple[str, str, list[str]]] = []
    for assignment in assignments:
        v = validate_one(assignment)
        ok = ok and not v.problems
        table.add_row(v.slug, v.reference, v.stub, f"{v.seconds:.1f}s",
                      "\n".join(v.problems) or "[green]ok[/green]")
        bans += [(v.slug, label, ops) for label, ops in v.aten.items()]
    console.print(table)
    for slug, label, ops in bans:
        console.print(f"{slug}: aten ban {label!r} blocks {len(ops)} operators: {', '.join(ops) or '(none)'}",
                      markup=False, highlight=False, soft_wrap=True)
    return ok

"""Rich terminal output for the CLI: assignment lists and grading reports."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from autograder.course import Assignment


def print_assignments(console: Console, assignments: list[Assignment]) -> None:
    table = Table(title="Assignments")
    for col in ("slug", "title", "points", "parts"):
        table.add_column(col)
    for a in assignments:
        m = a.manifest
        public = sum(g.points for g in m.groups if not g.hidden)
        table.add_row(m.slug, m.title, f"{m.total_points:g} ({public:g} public)",
                      ", ".join(p.name for p in m.parts))
    console.print(table)


def print_report(console: Console, assignment: Assignment, report: Any, audience: str) -> None:
    """A table of groups, then feedback for what did not pass; staff also see the sandbox."""
    results = report.results
    table = Table(title=f"{assignment.manifest.title}: {results.score:g} / {results.max_score:g}")
    table.add_column("test")
    table.add_column("score", justify="right")
    table.add_column("", justify="center")
    for t in results.tests:
        mark = "[green]pass[/green]" if t.status == "passed" else "[red]fail[/red]"
        table.add_row(t.name, f"{t.score:g}/{t.max_score:g}", mark)
    console.print(table)
    head = results.output.rsplit("\n", 1)[0] if "\n" in results.output else ""
    if head:
        console.print(Panel(head, title="submission", border_style="yellow"), markup=False)
    for t in results.tests:
        if t.status != "passed":
            console.print(Panel(t.output, title=t.name, border_style="red", expand=True), markup=False)
    if audience == "staff":
        console.print(f"status: {report.status}   calls: {results.extra_data.get('calls')}")
        for error in report.internal_errors:
            console.print(f"[red]grader error[/red] {error}", markup=True, highlight=False)
    if report.protections.missing:
        console.print(Panel("\n".join(report.protections.missing), border_style="red",
                            title="SANDBOX WEAKENED: protections not in force"), markup=False)

"""Rich terminal output for the CLI: assignment lists and grading reports."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from autograder.course import Assignment
from autograder.results import format_score


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
    """A one-screen summary first (a line per function, the submission problem once), details after."""
    from autograder.feedback import part_summaries

    results = report.results
    console.print(f"[bold]{assignment.manifest.title}: {format_score(results.score)} / "
                  f"{format_score(results.max_score)}[/bold]", highlight=False)
    head = results.output.rsplit("\n", 1)[0] if "\n" in results.output else ""
    if head:
        console.print(Panel(head, title="your submission", border_style="yellow"), markup=False)
    parts = part_summaries(assignment.manifest, results, report.cases)
    name_width = max((len(p.part) for p in parts), default=0)
    for summary in parts:
        style = {"passed": "green", "failed": "red"}.get(summary.status, "yellow")
        console.print(summary.line(console.width, name_width), style=style, markup=False, highlight=False)
    quiet = {p.part for p in parts if p.status in ("not implemented", "not run")}
    details = [t for t in results.tests if t.status != "passed" and not (len(t.tags) > 1 and t.tags[1] in quiet)]
    if details:
        console.print("\n[bold]Details[/bold] (tests that did not pass)", highlight=False)
    for t in details:
        console.print(Panel(t.output, title=f"{t.name}: {format_score(t.score)}/{format_score(t.max_score)}",
                            border_style="red", expand=True), markup=False)
    if audience == "staff":
        console.print(f"status: {report.status}   calls: {results.extra_data.get('calls')}")
        for error in report.internal_errors:
            console.print(f"[red]grader error[/red] {error}", markup=True, highlight=False)
    if report.protections.missing:
        console.print(Panel("\n".join(report.protections.missing), border_style="red",
                            title="SANDBOX WEAKENED: protections not in force"), markup=False)


class BatchProgress:
    """A progress bar with ETA and counts by status, for `autograder batch`."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.counts: dict[str, int] = {}
        self.progress = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), TextColumn("{task.fields[counts]}"),
                                 console=console, transient=False)
        self.task: Any = None

    def begin(self, total: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("grading", total=total, counts="")

    def advance(self, outcome: Any) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        text = "  ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        self.progress.update(self.task, advance=1, counts=text)

    def end(self) -> None:
        if self.task is not None:
            self.progress.stop()


def print_batch_summary(console: Console, summary: Any, out: Any) -> None:
    import statistics

    table = Table(title="batch summary")
    table.add_column("")
    table.add_column("", justify="right")
    rows = [("submissions", summary.students), ("graded now", summary.graded_now),
            ("already graded (unchanged)", summary.skipped)]
    rows += [(status, summary.statuses.get(status, 0)) for status in ("graded", "timeout", "crashed",
                                                                        "no_submission")]
    if summary.scores:
        rows += [("mean score", f"{statistics.mean(summary.scores):.2f}"),
                 ("median score", format_score(statistics.median(summary.scores)))]
    rows += [("wall time", f"{summary.wall_seconds:.1f} s")]
    if summary.graded_now:
        rows.append(("seconds per submission", f"{summary.seconds_per_submission:.2f}"))
    for key, value in rows:
        table.add_row(str(key), str(value))
    console.print(table)
    for warning in summary.warnings:
        console.print(f"[yellow]warning[/yellow] {warning}", highlight=False)
    for error in summary.framework_errors:
        console.print(f"[red]autograder error[/red] {error}", highlight=False)
    console.print(f"gradebook: {out / 'gradebook.csv'}   report: {out / 'report.html'}")

"""`make demo`: grade the sample submissions of every assignment that has some, print the results.

Samples live in examples/submissions/<slug>/<student>/: a correct alternative, a buggy one, the
untouched stub and a hostile one that prints fake results.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.course import resolve_assignment
from autograder.grading import grade

HERE = Path(__file__).resolve().parent


def main() -> int:
    console = Console()
    for slug_dir in sorted((HERE / "submissions").iterdir()):
        assignment = resolve_assignment(slug_dir.name)
        table = Table(title=f"{assignment.manifest.title}: sample submissions")
        for col in ("student", "score", "status", "time", "first problem"):
            table.add_column(col)
        for student in sorted(p for p in slug_dir.iterdir() if p.is_dir()):
            started = time.monotonic()
            report = grade(assignment, student, results_path=HERE.parent / "demo-out" / slug_dir.name
                           / f"{student.name}.json")
            failed = [t for t in report.results.tests if t.status != "passed"]
            lines = [ln[2:] for t in failed for ln in t.output.splitlines() if ln.startswith("- ")]
            first = lines[0][:70] if lines else (failed[0].output.splitlines()[0][:70] if failed else "")
            table.add_row(student.name, f"{report.score:g}/{report.max_score:g}", report.status,
                          f"{time.monotonic() - started:.1f}s", first)
        console.print(table)
    console.print(f"results files: {HERE.parent / 'demo-out'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How stable are performance verdicts? Grade the reference and every staff speed variant N times each.

For every timed function it prints the ratio's mean, coefficient of variation (CV), range,
and how many runs changed verdict (points earned differing from the most common outcome).
Goal: no verdict changes and a ratio CV of at most 5%.

    .venv/bin/python benchmarks/timing_stability.py [ASSIGNMENT ...] [--runs 10] [--device cpu]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.course import list_assignments, resolve_assignment
from autograder.grading import grade
from autograder.speed_variants import speed_variants


def runs_for(assignment, path: Path, runs: int, device: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / assignment.manifest.submission_file
        shutil.copyfile(path, staged)
        for _ in range(runs):
            report = grade(assignment, staged, device=device)
            for part, timing in report.results.extra_data.get("timing", {}).items():
                out.setdefault(part, []).append(timing)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    chosen = [resolve_assignment(a) for a in args.assignments] or [a for a in list_assignments()
                                                                   if a.manifest.timed]
    table = Table(title=f"timing stability: {args.runs} gradings each ({args.device})")
    for col in ("assignment", "function", "solution", "ratio mean", "CV", "min-max", "verdicts", "changes"):
        table.add_column(col)
    for assignment in chosen:
        solutions = [("reference", assignment.reference_file)] + [(v.name, v.path) for v in speed_variants(assignment)]
        for label, path in solutions:
            for part, timings in runs_for(assignment, path, args.runs, args.device).items():
                ratios = [t["ratio"] for t in timings]
                mean = statistics.mean(ratios)
                cv = statistics.stdev(ratios) / mean if len(ratios) > 1 else 0.0
                verdicts = Counter(round(t["fraction"], 2) for t in timings)
                changes = len(timings) - verdicts.most_common(1)[0][1]
                table.add_row(assignment.slug, part, label, f"{mean:.2f}x", f"{cv:.1%}",
                              f"{min(ratios):.2f}-{max(ratios):.2f}",
                              ", ".join(f"{v:g}:{n}" for v, n in sorted(verdicts.items())), str(changes))
    Console(width=140).print(table)


if __name__ == "__main__":
    main()

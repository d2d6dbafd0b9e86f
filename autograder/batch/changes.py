"""What a regrade changed: every student whose score moved, old and new score, and the tests responsible.

A batch re-grades a student when their submission or the graders (manifest, graders,
reference) changed. Just before the new result replaces the stored one, the two are
compared test by test; the list of a run that re-graded anyone is kept in the store and
written to ``changes.csv``, so it stays readable until the next regrade.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEADER = ["student", "old_score", "new_score", "difference", "cause", "tests"]


@dataclass(frozen=True)
class Change:
    student: str
    old_score: float
    new_score: float
    cause: str  # "graders", "submission" or "graders and submission"
    tests: str  # "name: old -> new; ..." for every test whose points moved (or appeared/disappeared)


def _points(results: dict[str, Any]) -> dict[str, float]:
    return {t["name"]: float(t["score"]) for t in results.get("tests", [])}


def test_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``name: old -> new`` for each test whose points differ; a test only on one side shows ``-``."""
    before, after = _points(old), _points(new)
    out = []
    for name in list(dict.fromkeys([*before, *after])):
        a, b = before.get(name), after.get(name)
        if a != b:
            out.append(f"{name}: {'-' if a is None else f'{a:g}'} -> {'-' if b is None else f'{b:g}'}")
    return out


def compare(student: str, old: dict[str, Any], new: dict[str, Any], content_changed: bool,
            graders_changed: bool) -> Change | None:
    """The change for one re-graded student, or None when the score did not move."""
    if float(old["score"]) == float(new["score"]):
        return None
    cause = " and ".join(c for c, on in (("graders", graders_changed), ("submission", content_changed)) if on)
    return Change(student, float(old["score"]), float(new["score"]), cause or "re-run",
                  "; ".join(test_changes(old, new)))


def write_changes(path: Path, changes: list[Change]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for c in sorted(changes, key=lambda c: c.student):
            writer.writerow([c.student, f"{c.old_score:g}", f"{c.new_score:g}", f"{c.new_score - c.old_score:+g}",
                             c.cause, c.tests])

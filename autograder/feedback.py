"""One line per function: what a student reads first (passed, failed with the first problem, not
implemented, not run), computed from the graded cases and the results.

The terminal report (`check`, `grade`) and the notebook's ``check()`` print this summary before
any detail, so a stub or a broken file reads as a few lines, not one line per test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from autograder.results import SUBMISSION_KIND, collapse, format_score, with_count


@dataclass
class PartSummary:
    part: str
    status: str  # "passed", "failed", "not implemented", "not run"
    score: float
    max_score: float
    problem: str = ""  # the first problem (its first line), with a count when several checks had it

    def line(self, width: int = 100, name_width: int = 24) -> str:
        """One line: the part, its points, and what happened, cut to ``width`` characters."""
        points = f"{format_score(self.score)}/{format_score(self.max_score)}"
        text = self.status + (f": {self.problem}" if self.problem else "")
        room = max(width - name_width - 15, 20)  # what is left after the name and the points
        if len(text) > room:
            text = text[: room - 3] + "..."
        return f"  {self.part:<{name_width}} {points:>9}  {text}"


def part_summaries(manifest: Any, results: Any, cases: list[Any]) -> list[PartSummary]:
    """Per manifest part, in manifest order, for the groups that were graded."""
    groups = {g.name: g for g in manifest.groups}
    out = []
    for part in manifest.parts:
        tests = [t for t in results.tests if len(t.tags) > 1 and t.tags[1] == part.name]
        if not tests:
            continue
        mine = [c for c in cases if c.group in groups and groups[c.group].part == part.name
                and c.outcome != "skipped"]
        failed = [c for c in mine if c.outcome == "failed" or c.credit < 1.0]
        score, max_score = sum(t.score for t in tests), sum(t.max_score for t in tests)
        if not mine or (failed and all(c.kind == SUBMISSION_KIND for c in failed)):
            out.append(PartSummary(part.name, "not run", score, max_score))
        elif failed and len(failed) == len(mine) and all(c.kind == "not_implemented" for c in failed):
            out.append(PartSummary(part.name, "not implemented", score, max_score))
        elif failed or any(t.status != "passed" for t in tests):
            texts = [c.hidden_text if groups[c.group].hidden else c.visible_text for c in failed]
            problems = collapse([t.split("\n", 1)[0] for t in texts if t])
            first = with_count(*problems[0]) if problems else _first_problem(tests)
            out.append(PartSummary(part.name, "failed", score, max_score, first))
        else:
            out.append(PartSummary(part.name, "passed", score, max_score))
    return out


def _first_problem(tests: list[Any]) -> str:
    """For a part whose cases all passed but a test did not (performance, gating): its output's first line."""
    for t in tests:
        if t.status != "passed":
            lines = [ln.removeprefix("- ") for ln in t.output.splitlines() if ln.strip()]
            return lines[1] if len(lines) > 1 and lines[0].endswith("did not pass.") else (lines[0] if lines else "")
    return ""


# Reprs of the framework's own objects: none may reach a student (they mean nothing to one).
_INTERNAL = re.compile(r"Handle\(id=|TensorOrigin\(|Helper\(name=|_ag_origin|<remote [\w.]+>|<student [\w. ]+>"
                       r"|RemoteObject|RemoteCallable|StudentSession|PosixPath\(|\bobject at 0x[0-9a-fA-F]+")


def internal_reprs(text: str) -> list[str]:
    """The framework-internal reprs in ``text`` (empty when it is fit for a student)."""
    return _INTERNAL.findall(text)


def student_texts(results: Any) -> list[str]:
    """Every string of a results file a student can read (``extra_data`` is staff-only)."""
    return [results.output, *(t.output for t in results.tests), *(t.name for t in results.tests)]

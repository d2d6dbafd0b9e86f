"""Gradescope's results format as pydantic models, and turning test outcomes into one.

Gradescope reads ``results.json``: a top-level score, timing, output and
visibility, and one entry per test. Here one entry is one manifest *group*;
each pytest case in it earns an equal share of the group's points (or all or
nothing). Hidden groups are ``after_published``: names and scores, never their
inputs. Nothing a submission prints is copied into this file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autograder.manifest import Group, Manifest
from autograder.scoring import apply_value_gate, part_records, performance_gate

Visibility = Literal["hidden", "after_due_date", "after_published", "visible"]
Format = Literal["text", "html", "simple_format", "md", "ansi"]
MAX_TEST_OUTPUT = 8000
MAX_OUTPUT = 16000
SCORE_DECIMALS = 2


def round_score(value: float) -> float:
    """A score as people read it: two decimals (21.0808 -> 21.08), never -0.0.

    Every score written to results.json, the gradebook and the report goes through
    this one helper; a total is the sum of the rounded test scores, rounded again
    (only to drop float noise such as 0.1 + 0.2), so it always equals what the
    tests show.
    """
    return round(float(value), SCORE_DECIMALS) + 0.0


def format_score(value: float) -> str:
    """``round_score`` as text without trailing zeros: 21.08, 7.5, 10."""
    return f"{round_score(value):g}"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TestResult(Model):
    name: str
    score: float = Field(ge=0)
    max_score: float = Field(ge=0)
    status: Literal["passed", "failed"]
    visibility: Visibility
    output: str
    output_format: Format = "text"
    tags: list[str]
    number: str | None = None
    extra_data: dict[str, Any] | None = None


class LeaderboardEntry(Model):
    name: str
    value: float | str
    order: Literal["asc", "desc"] = "asc"


class Results(Model):
    score: float = Field(ge=0)
    execution_time: float = Field(ge=0)
    output: str
    output_format: Format = "text"
    test_output_format: Format = "text"
    visibility: Visibility = "visible"
    stdout_visibility: Visibility = "hidden"
    tests: list[TestResult]
    leaderboard: list[LeaderboardEntry] | None = None
    extra_data: dict[str, Any] = Field(default_factory=dict)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.model_dump_json(indent=2, exclude_none=True) + "\n")
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> Results:
        return cls.model_validate(json.loads(path.read_text()))


SUBMISSION_KIND = "import"  # the failure kind of a submission-level problem (no file, bad notebook, import)
NOT_RUN = "not run: the submission could not be loaded (see the message at the top)"


_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def collapse(texts: list[str]) -> list[tuple[str, int]]:
    """Identical problems once, in first-seen order, with how many checks had them.

    Problems are the same when their first line (the summary) is, up to its numbers (sizes,
    indices, differences): the first one is kept whole as the example, the others counted.
    """
    first: dict[str, str] = {}
    counts: dict[str, int] = {}
    for text in texts:
        if not text:
            continue
        key = _NUMBER.sub("#", text.split("\n", 1)[0])
        first.setdefault(key, text)
        counts[key] = counts.get(key, 0) + 1
    return [(first[key], counts[key]) for key in first]


def with_count(text: str, count: int) -> str:
    """``text`` with "(N checks)" after its first line when more than one check had it."""
    if count <= 1:
        return text
    head, sep, tail = text.partition("\n")
    return f"{head} ({count} checks){sep}{tail}"


@dataclass
class CaseOutcome:
    """One pytest case: passed, failed or skipped, with student-facing text."""

    nodeid: str
    group: str
    outcome: Literal["passed", "failed", "skipped"]
    credit: float = 1.0
    visible_text: str = ""
    hidden_text: str = ""
    kind: str = ""
    internal_error: str = ""
    needs_values: bool = False
    leaderboard: list[tuple[str, float, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _group_output(group: Group, cases: list[CaseOutcome], gated: str, note: str = "") -> tuple[float, str]:
    ran = [c for c in cases if c.outcome != "skipped"]
    if gated:
        return 0.0, gated
    if not ran:
        return 0.0, "No checks ran for this group on this device."
    earned = sum(c.credit if c.outcome == "passed" else 0.0 for c in ran) / len(ran)
    failed = [c for c in ran if c.outcome == "failed" or c.credit < 1.0]
    if group.all_or_nothing and failed:
        earned = 0.0
    score = round_score(group.points * earned)
    failed = [c for c in failed if c.outcome == "failed" or not c.needs_values]  # the note explains the rest
    if not failed and note:
        return score, note
    if not failed:
        notes = sorted({c.visible_text for c in ran if c.visible_text})
        head = f"All {len(ran)} check{'s' if len(ran) != 1 else ''} passed."
        return score, "\n".join([head, *notes])
    lines = [f"{len(failed)} of {len(ran)} checks did not pass."] + ([note] if note else [])
    if all(c.kind == SUBMISSION_KIND for c in failed):
        lines.append(f"- {NOT_RUN}")
    else:
        problems = collapse([case.hidden_text if group.hidden else case.visible_text for case in failed])
        for text, count in problems[:6]:
            lines.append("- " + with_count(text, count).replace("\n", "\n  "))
        if len(problems) > 6:
            lines.append(f"... and {len(problems) - 6} other problem(s)")
    out = "\n".join(lines)
    return score, out if len(out) <= MAX_TEST_OUTPUT else out[: MAX_TEST_OUTPUT - 20] + "\n[truncated]"


def build_results(manifest: Manifest, cases: list[CaseOutcome], *, execution_time: float,
                  header: str, extra: dict[str, Any], include: Any = None) -> Results:
    """One TestResult per manifest group that ran (``include(group)``), in manifest order."""
    groups = [g for g in manifest.groups if include is None or include(g)]
    by_group: dict[str, list[CaseOutcome]] = {g.name: [] for g in groups}
    for case in cases:
        by_group.setdefault(case.group, []).append(case)
    tests: list[TestResult] = []
    records = part_records(manifest, cases)  # scoring.py: the rules that tie one check's points to others
    leaderboard: list[LeaderboardEntry] = []
    for number, group in enumerate(groups, start=1):
        scored, note = apply_value_gate(group, by_group[group.name], records)
        score, output = _group_output(group, scored, performance_gate(group, records), note)
        for case in by_group[group.name]:
            for name, value, order in case.leaderboard:
                leaderboard.append(LeaderboardEntry(name=name, value=value, order=order))  # type: ignore[arg-type]
        tests.append(TestResult(
            name=f"{group.title}" + (" (hidden)" if group.hidden else ""),
            score=score, max_score=group.points,
            status="passed" if score >= group.points - 1e-9 else "failed",
            visibility="after_published" if group.hidden else "visible",
            output=output, tags=[group.kind, group.part], number=str(number),
        ))
    total = round_score(sum(t.score for t in tests))
    max_total = sum(t.max_score for t in tests)
    summary = f"Score: {format_score(total)} / {format_score(max_total)}"
    output = "\n".join(x for x in [header, summary] if x)
    return Results(score=total, execution_time=round(execution_time, 3),
                   output=output[:MAX_OUTPUT], tests=tests,
                   leaderboard=leaderboard or None, extra_data=extra)


def error_results(message: str, details: str, execution_time: float = 0.0) -> Results:
    """What is written when the framework itself failed: visible, score 0, details staff-only."""
    test = TestResult(name="Autograder error", score=0, max_score=0, status="failed", visibility="visible",
                      output="The autograder failed on this submission; course staff have the details. "
                             "This is not a problem with your code.", tags=["correctness"])
    return Results(score=0, execution_time=round(execution_time, 3), output=message, tests=[test],
                   extra_data={"autograder_error": details[-20000:]})

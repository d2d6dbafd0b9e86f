"""Rules that make one check's points depend on other checks: the one place such rules live.

A check alone cannot tell whether the code behind it works: raising
``ValueError`` on every call passes an error-path check, returning the input
passes a case where nothing needs to change, anything of the right shape
passes an empty input. So:

- **Value gate.** A case marked ``@pytest.mark.needs_values`` (an error path, a
  shape-only, empty or trivial input: something code that computes nothing can
  pass) counts only once at least one of the same part's *value* checks (its
  unmarked correctness cases, public and hidden) passed. Code that gets no
  value right earns nothing from such checks; a bug elsewhere (in a function
  this part calls) does not take them away a second time.
- **Performance gate.** A performance group earns points only when every
  correctness case of its part passed, marked or not. The timing fixture asks
  the same rule (``speed_allowed``) before it measures, so nothing is timed that
  could not earn points, and both say it with one message (``speed_gate_message``).

``results.build_results`` applies both; graders only mark their cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from autograder.manifest import Group, Manifest


class CaseLike(Protocol):
    """What the rules read of a case (``results.CaseOutcome``, a dataclass; results.py imports this module)."""

    group: str
    outcome: str
    credit: float
    needs_values: bool


CaseOutcome = TypeVar("CaseOutcome", bound=CaseLike)

MARKER = "needs_values"


@dataclass(frozen=True)
class PartRecord:
    """What the correctness cases of one part achieved."""

    value_checks: int = 0
    value_credit: float = 0.0
    all_correct: bool = False

    @property
    def computes_something(self) -> bool:
        """Did some value check of the part pass (so its marked checks count)?"""
        return self.value_credit > 0


def part_records(manifest: Manifest, cases: Iterable[CaseOutcome],
                 expected: Mapping[str, int] | None = None) -> dict[str, PartRecord]:
    """Per part: value checks that ran, the credit they earned, and whether every correctness case passed.

    ``expected`` (cases collected per group) is given while grading is still under way: a
    part is then all correct only once every one of its collected correctness cases has
    run and passed (a case not run yet is not a passed one).
    """
    kinds = {g.name: (g.part, g.kind) for g in manifest.groups}
    counts: dict[str, list[float]] = {}
    seen: dict[str, bool] = {}
    recorded: dict[str, int] = {}
    for case in cases:
        part, kind = kinds.get(case.group, ("", ""))
        if kind != "correctness":
            continue
        recorded[case.group] = recorded.get(case.group, 0) + 1
        earned = case.credit if case.outcome == "passed" else 0.0
        seen[part] = seen.get(part, True) and earned >= 1.0  # a skipped case is not a passed one
        if not case.needs_values and case.outcome != "skipped":
            counts.setdefault(part, []).append(earned)
    if expected is not None:
        for name, (part, kind) in kinds.items():
            if kind == "correctness" and recorded.get(name, 0) < expected.get(name, 0):
                seen[part] = False
    return {part: PartRecord(len(counts.get(part, [])), sum(counts.get(part, [])), ok)
            for part, ok in seen.items()}


def apply_value_gate(group: Group, cases: list[CaseOutcome],
                     records: Mapping[str, PartRecord]) -> tuple[list[CaseOutcome], str]:
    """The group's cases, marked ones at no credit while the part computes nothing, and a note when that costs."""
    if records.get(group.part, PartRecord()).computes_something:
        return cases, ""
    out, cut = [], 0
    for case in cases:
        if case.needs_values and case.outcome == "passed" and case.credit > 0:
            case = replace(case, credit=0.0)
            cut += 1
        out.append(case)
    if not cut:
        return out, ""
    note = (f"{cut} error-path or edge check{'s' if cut != 1 else ''} passed but count"
            f"{'' if cut != 1 else 's'} only once a value check of {group.part} passes (none did yet)")
    return out, note


def speed_allowed(part: str, records: Mapping[str, PartRecord]) -> bool:
    """May ``part`` earn speed points (every correctness case of it passed)?"""
    return records.get(part, PartRecord()).all_correct


def speed_gate_message(part: str) -> str:
    """What the student reads when ``part`` earns no speed points because it is not yet correct."""
    return f"No performance points: every correctness test of {part} must pass first."


def performance_gate(group: Group, records: Mapping[str, PartRecord]) -> str:
    """Why a performance group earns nothing ("" when it may earn points)."""
    if group.kind != "performance" or speed_allowed(group.part, records):
        return ""
    return speed_gate_message(group.part)

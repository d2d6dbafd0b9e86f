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
  correctness case of its part passed, marked or not.

``results.build_results`` applies both; graders only mark their cases.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def part_records(manifest: Manifest, cases: Iterable[CaseOutcome]) -> dict[str, PartRecord]:
    """Per part: value checks that ran, the credit they earned, and whether every correctness case passed."""
    kinds = {g.name: (g.part, g.kind) for g in manifest.groups}
    counts: dict[str, list[float]] = {}
    seen: dict[str, bool] = {}
    for case in cases:
        part, kind = kinds.get(case.group, ("", ""))
        if kind != "correctness":
            continue
        earned = case.credit if case.outcome == "passed" else 0.0
        seen[part] = seen.get(part, True) and earned >= 1.0  # a skipped case is not a passed one
        if not case.needs_values and case.outcome != "skipped":
            counts.setdefault(part, []).append(earned)
    return {part: PartRecord(len(counts.get(part, [])), sum(counts.get(part, [])), ok)
            for part, ok in seen.items()}


def apply_value_gate(group: Group, cases: list[CaseOutcome],
                     records: dict[str, PartRecord]) -> tuple[list[CaseOutcome], str]:
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


def performance_gate(group: Group, records: dict[str, PartRecord]) -> str:
    """Why a performance group earns nothing ("" when it may earn points)."""
    if group.kind != "performance" or records.get(group.part, PartRecord()).all_correct:
        return ""
    return f"No performance points: every correctness test of {group.part} must pass first."

"""``autograder calibrate``: how far apart are the reference and a slow correct solution?

Authors set each timed function's thresholds from these ratios: the reference
should sit well inside full points (``full_at`` at least 1.5x) and the slow,
loop-based implementation kept in ``solutions/<slug>/slow.py`` at or beyond
``zero_at``. Both are graded for real, through the same sandbox and protocol.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Assignment, UsageError
from autograder.grading import grade


@dataclass
class Calibration:
    part: str
    reference_ratio: float
    slow_ratio: float
    full_at: float
    zero_at: float
    reference_ms: float
    slow_ms: float

    @property
    def problems(self) -> list[str]:
        out = []
        if self.full_at < 1.5:
            out.append(f"full_at {self.full_at:g} leaves less than 1.5x margin above the reference")
        if self.reference_ratio > self.full_at / 1.2:
            out.append(f"the reference itself measured {self.reference_ratio:.2f}x: too close to full_at")
        if self.slow_ratio < self.zero_at:
            out.append(f"the slow solution ({self.slow_ratio:.1f}x) would still earn points (zero_at "
                       f"{self.zero_at:g})")
        return out


def slow_solution(assignment: Assignment) -> Path:
    sol = assignment.solution_dir
    path = sol / "slow.py" if sol is not None else None
    if path is None or not path.is_file():
        raise UsageError(f"{assignment.slug} has no solutions/{assignment.slug}/slow.py to calibrate against")
    return path


def calibrate(assignment: Assignment, device: str = "cpu") -> list[Calibration]:
    """Grade the reference and the slow solution; return each timed function's ratios."""
    manifest = assignment.manifest
    if not manifest.timed:
        raise UsageError(f"{assignment.slug} has no timed functions")
    ref = grade(assignment, assignment.reference_file, device=device)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / manifest.submission_file
        shutil.copyfile(slow_solution(assignment), staged)
        slow = grade(assignment, staged, device=device)
    out = []
    for spec in manifest.timed:
        r = ref.results.extra_data["timing"].get(spec.part)
        s = slow.results.extra_data["timing"].get(spec.part)
        if r is None or s is None:
            missing = "reference" if r is None else "slow solution"
            raise UsageError(f"{spec.part}: the {missing} was not timed (did its correctness tests pass?)")
        out.append(Calibration(spec.part, r["ratio"], s["ratio"], spec.full_at, spec.zero_at,
                               r["reference_ms"], s["student_ms"]))
    return out

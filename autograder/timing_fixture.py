"""The ``timing`` fixture: what a performance grader calls.

    @pytest.mark.group("pairwise_sq_dists_perf")
    def test_speed(timing):
        timing.measure("pairwise_sq_dists", lambda gen, n, m, d: ((randn(n, d, gen=gen), randn(m, d, gen=gen)), {}))

Sizes come from the manifest's ``[[timed]]`` entry for the grading device; the
score follows its curve; the result goes to the results' extra data (and to
the leaderboard when the manifest asks).

When ``AUTOGRADER_TIMING_LOCK`` names a file, the timed section holds an
exclusive lock on it: a Ray node sets it so that two gradings on one node
never time at once (``autograder/cluster``).
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

import torch

from autograder.compare import assert_close
from autograder.failures import CheckFailed, GradingFailure
from autograder.scoring import speed_gate_message
from autograder.timing import MakeInputs, TimingResult, compare


def default_check(part: str) -> Callable[[Any, Any], None]:
    """Outputs of a timed sample must match the reference's (same structure, close values)."""

    def check(student: Any, reference: Any, where: str = "the result") -> None:
        if isinstance(reference, torch.Tensor):
            assert_close(student, reference, fn=part, what=f"{where} (while timed)")
        elif isinstance(reference, (tuple, list)):
            if not isinstance(student, (tuple, list)) or len(student) != len(reference):
                raise CheckFailed(f"{part}: {where} while timed has the wrong structure")
            for i, (s, r) in enumerate(zip(student, reference)):
                check(s, r, f"{where}[{i}]")
        elif isinstance(reference, dict):
            if not isinstance(student, dict) or set(student) != set(reference):
                raise CheckFailed(f"{part}: {where} while timed has the wrong keys")
            for key in reference:
                check(student[key], reference[key], f"{where}[{key!r}]")
        elif student != reference:
            raise CheckFailed(f"{part}: {where} while timed differs from the reference's")

    return check


def _finite(x: float) -> float | None:
    """JSON has no inf: results files would read back ``null`` and differ from what was graded."""
    return round(x, 4) if math.isfinite(x) else None


TIMING_LOCK_ENV = "AUTOGRADER_TIMING_LOCK"


@contextlib.contextmanager
def exclusive_timing() -> Iterator[None]:
    """Hold the lock file named by ``AUTOGRADER_TIMING_LOCK`` (if set) for the duration of a measurement."""
    path = os.environ.get(TIMING_LOCK_ENV)
    if not path:
        yield
        return
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class TimingFixture:
    def __init__(self, run: Any, credit: Any) -> None:
        self.run, self.credit = run, credit

    def measure(self, part: str, make_inputs: MakeInputs, *, check: Callable[[Any, Any], None] | None = None,
                checksum_rtol: float = 1e-3, build: Callable[..., Any] | None = None) -> TimingResult:
        """Time ``part`` (a function, or with ``build`` an object made in each worker) against the reference."""
        manifest = self.run.assignment.manifest
        spec = next((t for t in manifest.timed if t.part == part), None)
        if spec is None:
            raise RuntimeError(f"no [[timed]] entry for {part!r} in the manifest")
        if not self.run.part_passed(part):
            raise GradingFailure(speed_gate_message(part))
        device = "cuda" if self.run.device.startswith("cuda") else "cpu"
        sizes = spec.sizes.get(device) or spec.sizes["cpu"]
        p = manifest.part(part)
        timeout = p.timeout_s or manifest.limits.call_timeout_s
        with exclusive_timing():
            result = compare(self.run.session, self.run.reference_session(), spec, make_inputs, sizes,
                             device=self.run.device, forbidden=manifest.forbidden_for(part), timeout=timeout,
                             check=check or default_check(part), checksum_rtol=checksum_rtol,
                             build=build)
        self.credit.set(result.fraction, result.note(spec))
        if spec.leaderboard:
            self.credit.board(f"{part}: time / reference", round(result.ratio, 3), "asc")
        self.run.timings[part] = {
            "ratio": round(result.ratio, 4), "student_ms": round(result.student_s * 1e3, 4),
            "reference_ms": round(result.reference_s * 1e3, 4), "samples": result.samples,
            "spread_ratio": _finite(result.spread_ratio),  # inf with under 4 samples (a time cap hit)
            "spread_reference": _finite(result.spread_reference),
            "overhead_ms": round(result.overhead_s * 1e3, 4), "worker_clock_gap": round(result.clock_gap, 4),
            "stopped": result.stopped_because, "outputs_checked": result.checked,
            "fraction": round(result.fraction, 4), "sizes": sizes,
        }
        return result

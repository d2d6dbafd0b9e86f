"""``autograder calibrate``: where do correct solutions of every style sit against the reference?

The speed thresholds of a timed function must separate the techniques its
contract accepts from those it rejects. The staff variants in
``solutions/<slug>/speed_variants/`` (see ``speed_variants.py``) are timed
against the reference with the graders' own inputs, checks and protocol
(``timing.compare``), in one run that interleaves them: each repetition times
every variant once, in alternating order, so drifting machine load touches all
of them alike. From the ratios it proposes ``full_at`` at or above the slowest
acceptable variant times ``MARGIN`` and ``zero_at`` at or below the fastest
unacceptable one divided by ``MARGIN``, and says when there is no such gap.
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from autograder.course import Assignment, UsageError
from autograder.failures import GradingFailure
from autograder.manifest import Timed
from autograder.speed_variants import Variant, speed_variants

MARGIN = 1.25  # between a variant's worst measured ratio and the threshold it must stay on the right side of


@dataclass
class Spectrum:
    """One timed function: every variant's ratio to the reference over the repetitions."""

    spec: Timed
    device: str
    sizes: dict[str, int]
    variants: list[Variant]
    ratios: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    reference_ms: list[float] = field(default_factory=list)

    @property
    def part(self) -> str:
        return self.spec.part

    def expects_full(self) -> list[Variant]:
        return [v for v in self.variants if v.expects_full(self.part)]

    def expects_none(self) -> list[Variant]:
        return [v for v in self.variants if not v.expects_full(self.part)]

    def slowest_acceptable(self) -> float:
        return max((max(self.ratios[v.name]) for v in self.expects_full() if self.ratios.get(v.name)), default=1.0)

    def fastest_unacceptable(self) -> float:
        return min((min(self.ratios[v.name]) for v in self.expects_none() if self.ratios.get(v.name)),
                   default=math.inf)

    def separation(self) -> float:
        """Fastest unacceptable over slowest acceptable ratio: above MARGIN**2 thresholds fit between."""
        return self.fastest_unacceptable() / self.slowest_acceptable()

    def proposal(self) -> tuple[float, float] | None:
        """``(full_at, zero_at)`` with MARGIN on both sides, or None when the variants do not separate."""
        if not math.isfinite(self.fastest_unacceptable()):
            return None
        full_at = math.ceil(self.slowest_acceptable() * MARGIN * 10) / 10
        zero_at = math.floor(self.fastest_unacceptable() / MARGIN * 10) / 10
        return (full_at, zero_at) if zero_at > full_at else None

    def violations(self, full_at: float | None = None, zero_at: float | None = None) -> list[str]:
        """Variants that would get the wrong verdict under these thresholds (default: the manifest's)."""
        full_at = self.spec.full_at if full_at is None else full_at
        zero_at = self.spec.zero_at if zero_at is None else zero_at
        out = [f"{self.part}: {name} failed while timed: {msg}" for name, msg in self.failures.items()]
        for v in self.variants:
            ratios = self.ratios.get(v.name) or []
            if v.expects_full(self.part) and any(r > full_at for r in ratios):
                out.append(f"{self.part}: acceptable {v.name} measured {_ratios(ratios)}, above full_at "
                           f"{full_at:g}: it would lose speed points")
            if not v.expects_full(self.part) and any(r < zero_at for r in ratios):
                out.append(f"{self.part}: unacceptable {v.name} measured {_ratios(ratios)}, below zero_at "
                           f"{zero_at:g}: it would earn speed points")
        return out


def _ratios(xs: list[float]) -> str:
    return ", ".join(f"{x:.2f}x" for x in xs)


class _SpectrumRun:
    """A pytest plugin: runs only the performance graders, with a ``timing`` fixture that times every variant."""

    def __init__(self, assignment: Assignment, variants: list[Variant], device: str, repeats: int,
                 spawner: Any, progress: Callable[[str], None]) -> None:
        self.assignment, self.variants, self.device = assignment, variants, device
        self.repeats, self.spawner, self.progress = repeats, spawner, progress
        self.results: list[Spectrum] = []
        self.errors: list[str] = []
        self.sessions: dict[str, Any] = {}
        self.staging = tempfile.TemporaryDirectory(prefix="autograder-calibrate-")

    def session(self, name: str, path: Any) -> Any:
        from autograder.sandbox.launcher import Policy
        from autograder.session import StudentSession

        if name not in self.sessions:
            manifest = self.assignment.manifest
            staged = Path(self.staging.name) / name / manifest.submission_file  # graded under its real name
            staged.parent.mkdir()
            staged.write_bytes(path.read_bytes())
            path = staged
            workdir = self.spawner.new_workdir() if self.spawner is not None else None
            self.sessions[name] = StudentSession(manifest, path, device=self.device,
                                                 policy=Policy.for_manifest(manifest, self.device),
                                                 workdir=workdir, spawner=self.spawner)
        return self.sessions[name]

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()
            if self.spawner is not None:
                shutil.rmtree(session.workdir, ignore_errors=True)
        self.staging.cleanup()

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "group(name): the manifest group a grader belongs to")

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        manifest = self.assignment.manifest
        perf = {g.name for g in manifest.groups if g.kind == "performance"}
        keep = []
        for item in items:
            marker = item.get_closest_marker("group")
            if marker and marker.args and marker.args[0] in perf:
                keep.append(item)
        items[:] = keep

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.errors.append(f"{report.nodeid}: {report.longreprtext[-1500:]}")

    @pytest.fixture
    def timing(self) -> _SpectrumRun:
        return self

    def measure(self, part: str, make_inputs: Any, *, check: Any = None, checksum_rtol: float = 1e-3,
                build: Any = None) -> None:
        """What a performance grader calls: time ``part`` of every variant against the reference."""
        from autograder.timing import compare
        from autograder.timing_fixture import default_check

        manifest = self.assignment.manifest
        spec = next(t for t in manifest.timed if t.part == part)
        kind = "cuda" if self.device.startswith("cuda") else "cpu"
        sizes = spec.sizes.get(kind) or spec.sizes["cpu"]
        timeout = manifest.part(part).timeout_s or manifest.limits.call_timeout_s
        result = Spectrum(spec, kind, sizes, self.variants)
        reference = self.session("reference", self.assignment.reference_file)
        for rep in range(self.repeats):
            order = self.variants if rep % 2 == 0 else self.variants[::-1]
            for v in order:
                if v.name in result.failures:
                    continue
                variant = self.session(v.name, v.path)
                for session in (variant, reference):  # each timing gets a grading's time budget, as in `grade`
                    session.deadline = time.monotonic() + manifest.limits.total_timeout_s
                try:
                    t = compare(variant, reference, spec, make_inputs, sizes,
                                device=self.device, forbidden=manifest.forbidden_for(part), timeout=timeout,
                                check=check or default_check(part), checksum_rtol=checksum_rtol, build=build)
                except GradingFailure as exc:
                    result.failures[v.name] = str(exc).splitlines()[0]
                    continue
                result.ratios.setdefault(v.name, []).append(t.ratio)
                result.reference_ms.append(t.reference_s * 1e3)
                self.progress(f"{part} [{rep + 1}/{self.repeats}] {v.name}: {t.ratio:.2f}x "
                              f"({t.samples} samples, {t.stopped_because})")
        self.results.append(result)


def calibrate(assignment: Assignment, device: str = "cpu", *, repeats: int = 3, spawner: Any = None,
              progress: Callable[[str], None] = lambda line: None) -> list[Spectrum]:
    """Time every staff variant against the reference, ``repeats`` times each, interleaved."""
    from autograder.grading import grader_helpers, pytest_args

    manifest = assignment.manifest
    if not manifest.timed:
        raise UsageError(f"{assignment.slug} has no timed functions")
    if assignment.reference_file is None or assignment.hidden_tests is None:
        raise UsageError(f"the solutions of {assignment.slug} are not here")
    variants = speed_variants(assignment)
    if not variants:
        raise UsageError(f"{assignment.slug} has no staff variants in solutions/{assignment.slug}/speed_variants/")
    run = _SpectrumRun(assignment, variants, device, repeats, spawner, progress)
    paths = [str(assignment.public_tests), str(assignment.hidden_tests)]
    old = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with grader_helpers(paths):
            pytest.main(pytest_args(assignment, paths) + ["-s"], plugins=[run])  # -s: progress lines show
    finally:
        run.close()
        if old is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = old
    if run.errors:
        raise UsageError("the performance graders failed while calibrating:\n" + "\n".join(run.errors))
    missing = {t.part for t in manifest.timed} - {r.part for r in run.results}
    if missing:
        raise UsageError(f"no performance grader timed {', '.join(sorted(missing))}")
    return sorted(run.results, key=lambda r: [t.part for t in manifest.timed].index(r.part))


def summary(ratios: list[float]) -> str:
    """Median and spread (min..max) of a variant's ratios, for tables and reports."""
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}..{max(ratios):.2f})"


def contract_problems(assignment: Assignment, device: str = "cpu", repeats: int = 1) -> list[str]:
    """For ``validate``: the variant layout, every variant's correctness, and every variant's verdict.

    An acceptable variant that fails a correctness test, or is timed above ``full_at``,
    would lose speed points the handout promised; an unacceptable one timed below
    ``zero_at`` would earn points the handout denies.
    """
    from autograder.grading import grade
    from autograder.speed_variants import layout_problems

    if not assignment.manifest.timed:
        return []
    problems = layout_problems(assignment)
    for v in speed_variants(assignment):
        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp) / assignment.manifest.submission_file
            staged.write_bytes(v.path.read_bytes())
            report = grade(assignment, staged, device=device, performance=False)
        if report.score < report.max_score - 1e-9:
            lost = [t.name for t in report.results.tests if t.score < t.max_score]
            problems.append(f"speed variant {v.name} loses correctness points in: " + "; ".join(lost))
    if problems:
        return problems
    for spectrum in calibrate(assignment, device, repeats=repeats):
        problems += spectrum.violations()
    return problems

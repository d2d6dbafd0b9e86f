"""Shared helpers for the framework's own tests: grade a submission and inspect the outcome."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from autograder.course import resolve_assignment
from autograder.grading import GradeReport, grade
from autograder.results import Results

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "corpus"


def sandbox_processes() -> list[int]:
    """Processes owned by sandbox uids (the pool starts at 61000): none may outlive grading."""
    from autograder.sandbox.uids import FIRST_UID, POOL_SIZE

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
            uid = int(fields["Uid"].split()[0])
            if FIRST_UID <= uid < FIRST_UID + POOL_SIZE and fields["State"].split()[0] not in "ZX":
                found.append(int(entry))
        except (OSError, KeyError, ValueError):
            continue
    return found


def grade_source(slug: str, source: str | Path, tmp_path: Path, **kwargs) -> GradeReport:
    """Grade ``source`` (text, or a path to copy) as ``<slug>.py`` and check the results are valid."""
    assignment = resolve_assignment(slug)
    sub_dir = tmp_path / "sub"
    sub_dir.mkdir(parents=True, exist_ok=True)
    target = sub_dir / assignment.manifest.submission_file
    if isinstance(source, Path):
        shutil.copyfile(source, target)
    else:
        target.write_text(source)
    results_path = tmp_path / "results.json"
    report = grade(assignment, target, results_path=results_path, **kwargs)
    reread = Results.read(results_path)
    assert reread == report.results
    assert len(results_path.read_bytes()) < 1 << 20
    return report


def group_scores(report: GradeReport) -> dict[str, float]:
    return {t.name: t.score for t in report.results.tests}


def output_of(report: GradeReport, title_prefix: str) -> str:
    return "\n".join(t.output for t in report.results.tests if t.name.startswith(title_prefix))


def describe_processes(pids: list[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ")[:120].decode(errors="replace")
            status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status") if ":" in line)
            out.append(f"{pid} uid={status['Uid'].split()[0]} state={status['State'].strip()} "
                       f"ppid={status['PPid'].strip()} ns={os.readlink(f'/proc/{pid}/ns/pid')} {cmd}")
        except OSError as exc:
            out.append(f"{pid}: {exc}")
    return out


def assert_no_leftovers(wait: float = 3.0) -> None:
    """No process of a sandbox uid is alive (allowing the kernel a moment to finish killing)."""
    import time

    deadline = time.monotonic() + wait
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = sandbox_processes()
    assert left == [], describe_processes(left)


@pytest.fixture
def no_leftovers():
    """After the test, no process of any sandbox uid is alive."""
    yield
    assert_no_leftovers()

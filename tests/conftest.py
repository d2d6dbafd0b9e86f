"""Shared helpers for the framework's own tests: grade a submission and inspect the outcome."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from autograder.course import resolve_assignment
from autograder.grading import GradeReport, grade
from autograder.results import Results

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "corpus"


def sandbox_processes() -> list[int]:
    """Processes owned by this installation's sandbox uids: none may outlive grading.

    Another checkout's tests running at the same time use their own uid block, so their
    workers are not counted here (and ours not there).
    """
    from autograder.sandbox.uids import installation

    return installation().processes()


_SPAWNERS: dict[str, Any] = {}


def shared_spawner(assignment: Any, limits: dict[str, Any] | None, device: str) -> Any:
    """A zygote for this assignment and sandbox policy, kept for the whole test session.

    It is what `autograder batch` and the Gradescope runner use: each submission's worker is
    forked from a sandboxed process that has already imported torch and installed the guards,
    so the corpus tests (hundreds of grades) cost a fork each instead of a torch import. The
    zygote is keyed by the full policy (limits, forbidden calls, device), so a test's own limits
    still hold. Tests of the sandbox and of timing keep fresh workers (``fresh=True``).
    """
    from autograder.sandbox.launcher import Policy
    from autograder.sandbox.pool import start_spawner

    manifest = assignment.manifest
    if limits:
        manifest = manifest.model_copy(update={"limits": manifest.limits.model_copy(update=limits)})
    policy = Policy.for_manifest(manifest, device)
    key = repr(policy)
    if key not in _SPAWNERS:  # None when not root: fresh workers, as `autograder grade` would use
        _SPAWNERS[key] = start_spawner(policy, Path(tempfile.mkdtemp(prefix="autograder-test-jobs-")))
    return _SPAWNERS[key]


def pytest_sessionstart(session: pytest.Session) -> None:
    """The course secret exists before any grading (as on a staff machine after its first grade), so
    tests that compare the checkout before and after a grading do not see it being created."""
    from autograder.hidden_seed import course_secret

    course_secret(ROOT)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for spawner in _SPAWNERS.values():
        if spawner is not None:
            spawner.close()
    _SPAWNERS.clear()


def grade_source(slug: str, source: str | Path, tmp_path: Path, *, fresh: bool = False, **kwargs) -> GradeReport:
    """Grade ``source`` (text, or a path to copy) as ``<slug>.py`` and check the results are valid.

    Workers come from a shared zygote (see ``shared_spawner``) unless ``fresh`` or the test
    brings its own ``spawner`` or ``caps``.
    """
    assignment = resolve_assignment(slug)
    if not fresh and "spawner" not in kwargs and "caps" not in kwargs:
        from autograder.grading import resolve_device

        kwargs["spawner"] = shared_spawner(assignment, kwargs.get("limits"),
                                           resolve_device(kwargs.get("device", "auto")))
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
    assert_fit_for_students(report)
    return report


def assert_fit_for_students(report: GradeReport) -> None:
    """No framework-internal repr in anything a student reads: every corpus grade (fair, buggy,
    hostile, degenerate) goes through ``grade_source``, so this greps the whole corpus's feedback."""
    from autograder.feedback import internal_reprs, student_texts

    for text in student_texts(report.results):
        assert not internal_reprs(text), f"internal repr {internal_reprs(text)} in feedback:\n{text}"


def grade_bug(slug: str, source: str | Path, tmp_path: Path, group: str, words: list[str],
              **kwargs) -> tuple[GradeReport, dict[str, float], dict[str, float]]:
    """Grade a single-bug variant: it must lose points in ``group`` (a test title), and the feedback
    there must say every one of ``words``. Returns the report, scores and maximum scores by title."""
    report = grade_source(slug, source, tmp_path, **kwargs)
    scores = group_scores(report)
    maximum = {t.name: t.max_score for t in report.results.tests}
    assert scores[group] < maximum[group], scores
    feedback = output_of(report, group)
    for word in words:
        assert word in feedback, feedback
    return report, scores, maximum


def replace_solution(source: str, fn: str, body: str) -> str:
    """``source`` with the ``# BEGIN/END SOLUTION`` region of ``fn`` replaced by ``body``.

    ``body`` is written for a 4-space indent (continuation lines start with four spaces); it is
    re-indented to the region's own depth, so methods work too.
    """
    start = source.index(f"def {fn}(")
    begin = source.index("# BEGIN SOLUTION", start)
    indent = source[source.rindex("\n", 0, begin) + 1 : begin]
    end = source.index("# END SOLUTION", begin) + len("# END SOLUTION")
    body = body.replace("\n    ", "\n" + indent)
    return source[: begin - len(indent)] + indent + body + source[end:]


def group_scores(report: GradeReport) -> dict[str, float]:
    return {t.name: t.score for t in report.results.tests}


def output_of(report: GradeReport, title_prefix: str) -> str:
    return "\n".join(t.output for t in report.results.tests if t.name.startswith(title_prefix))


def describe_processes(pids: list[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            cmd = " ".join(proc.cmdline())[:120]
            age = time.time() - proc.create_time()
            out.append(f"{pid} uid={proc.uids().real} state={proc.status()} age={age:.1f}s ppid={proc.ppid()} "
                       f"ns={os.readlink(f'/proc/{pid}/ns/pid')} {cmd}")
        except (OSError, psutil.Error) as exc:
            out.append(f"{pid}: {exc}")
    return out


def assert_no_leftovers(wait: float = 3.0) -> None:
    """No process of a sandbox uid is alive (allowing the kernel a moment to finish killing)."""
    deadline = time.monotonic() + wait
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = sandbox_processes()
    assert left == [], describe_processes(left)


@pytest.fixture(autouse=True)
def _no_kept_worker():
    """A worker kept ready for the next check (a notebook's ``Checker``, ``prestart.replenish``)
    does not outlive the test that started it."""
    yield
    from autograder import prestart

    prestart.discard()


@pytest.fixture
def no_leftovers():
    """After the test, no process of this installation's sandbox uids is alive."""
    yield
    assert_no_leftovers()

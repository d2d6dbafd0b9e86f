"""Grading many submissions: a pool of grader processes, each with its own pre-warmed zygote.

The coordinator (this process) finds what needs grading, starts ``jobs`` grader
processes, feeds them one submission at a time and records each outcome the
moment it arrives (SQLite row, results file, feedback file). A grader process
that dies or overruns is replaced and its submission recorded, so one broken
submission never stops the batch.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import queue
import shutil
import signal
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.course import Assignment

PR_SET_PDEATHSIG = 1


@dataclass
class Task:
    student: str
    path: str
    content_hash: str


@dataclass
class Outcome:
    student: str
    content_hash: str
    status: str
    seconds: float
    results: dict[str, Any]
    failure_kinds: dict[str, list[str]] = field(default_factory=dict)
    framework_error: str = ""


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def grade_one(assignment: Assignment, task: Task, device: str, spawner: Any) -> Outcome:
    """Grade one submission; never raises (a framework failure becomes an error result)."""
    from autograder.grading import FrameworkError, grade
    from autograder.results import error_results

    started = time.monotonic()
    try:
        with _as_module_file(Path(task.path), assignment.manifest.submission_file) as path:
            report = grade(assignment, path, device=device, spawner=spawner)
    except (FrameworkError, Exception) as exc:  # noqa: BLE001 - recorded, the batch goes on
        detail = "".join(traceback.format_exception(exc))[-4000:]
        results = error_results("The autograder failed on this submission.", detail,
                                time.monotonic() - started)
        return Outcome(task.student, task.content_hash, "crashed", time.monotonic() - started,
                       results.model_dump(exclude_none=True), framework_error=detail)
    titles = {g.name: g.title + (" (hidden)" if g.hidden else "") for g in assignment.manifest.groups}
    kinds: dict[str, list[str]] = {}
    for case in report.cases:
        if case.outcome == "failed":
            kinds.setdefault(titles.get(case.group, case.group), []).append(case.kind or "wrong")
    return Outcome(task.student, task.content_hash, report.status, time.monotonic() - started,
                   report.results.model_dump(exclude_none=True), kinds)


@contextlib.contextmanager
def _as_module_file(path: Path, module_file: str) -> Iterator[Path]:
    """In a batch, ``alice.py`` is Alice's ``<slug>.py``: give the file its expected name."""
    stem = Path(module_file).stem
    if not path.is_file() or path.suffix not in (".py", ".ipynb") or path.stem == stem:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="autograder-entry-") as tmp:
        target = Path(tmp) / f"{stem}{path.suffix}"
        shutil.copyfile(path, target)
        yield target


def _grader_main(assignment_dir: str, course_root: str | None, device: str, jobs_root: str,
                 tasks: Any, results: Any) -> None:
    """One grader process: start a zygote, then grade submissions until told to stop."""
    _die_with_parent()
    from autograder.sandbox.launcher import Policy
    from autograder.sandbox.pool import zygote_spawner

    assignment = Assignment(Path(assignment_dir), Path(course_root) if course_root else None)
    policy = Policy.for_manifest(assignment.manifest, device)
    # Not root: no zygote, every submission gets a fresh sandboxed process instead.
    with zygote_spawner(policy, Path(jobs_root) / str(os.getpid())) as spawner:
        while True:
            task = tasks.get()
            if task is None:
                break
            results.put(("start", os.getpid(), task.student))
            results.put(("done", os.getpid(), grade_one(assignment, task, device, spawner)))


class Pool:
    """Grader processes plus bookkeeping of which submission each one holds."""

    def __init__(self, assignment: Assignment, device: str, jobs: int, per_task_limit: float) -> None:
        # spawn, not fork: a parent that has already run torch ops holds thread-pool locks that a
        # forked child inherits locked (the grader would hang in its first torch call).
        self.ctx = mp.get_context("spawn")
        self.tasks = self.ctx.Queue()
        self.results = self.ctx.Queue()
        self.assignment, self.device, self.jobs = assignment, device, jobs
        self.limit = per_task_limit
        self.jobs_root = Path(tempfile.mkdtemp(prefix="autograder-jobs-"))
        self.jobs_root.chmod(0o711)
        self.procs: dict[int, Any] = {}
        self.holding: dict[int, tuple[str, float]] = {}

    def _start_one(self) -> None:
        course = str(self.assignment.course_root) if self.assignment.course_root else None
        proc = self.ctx.Process(target=_grader_main, daemon=True, args=(
            str(self.assignment.directory), course, self.device, str(self.jobs_root), self.tasks, self.results))
        proc.start()
        self.procs[proc.pid] = proc

    def run(self, tasks: list[Task], on_outcome: Callable[[Outcome], None],
            on_forked: Callable[[], None] = lambda: None, on_start: Callable[[str], None] = lambda s: None) -> None:
        """Grade ``tasks``; ``on_forked`` runs once the processes exist (start threads only then)."""
        by_student = {t.student: t for t in tasks}
        for _ in range(min(self.jobs, len(tasks))):
            self._start_one()
        on_forked()
        for task in tasks:
            self.tasks.put(task)
        remaining = set(by_student)
        try:
            while remaining:
                try:
                    kind, pid, payload = self.results.get(timeout=1.0)
                except queue.Empty:
                    self._watchdog(by_student, remaining, on_outcome)
                    continue
                if kind == "start":
                    self.holding[pid] = (payload, time.monotonic())
                    on_start(payload)
                elif kind == "done" and payload.student in remaining:
                    self.holding.pop(pid, None)
                    remaining.discard(payload.student)
                    on_outcome(payload)
        finally:
            self.close()

    def _watchdog(self, by_student: dict[str, Task], remaining: set[str],
                  on_outcome: Callable[[Outcome], None]) -> None:
        """Replace grader processes that died or overran; record their submission."""
        for pid, proc in list(self.procs.items()):
            held = self.holding.get(pid)
            overran = held is not None and time.monotonic() - held[1] > self.limit
            if proc.is_alive() and not overran:
                continue
            if overran:
                proc.kill()
            proc.join(timeout=10)
            del self.procs[pid]
            self.holding.pop(pid, None)
            if held is not None and held[0] in remaining:
                task = by_student[held[0]]
                remaining.discard(task.student)
                on_outcome(lost_outcome(task, "timeout" if overran else "crashed", time.monotonic() - held[1]))
            if remaining:
                self._start_one()

    def close(self) -> None:
        for _ in self.procs:
            self.tasks.put(None)
        for proc in self.procs.values():
            proc.join(timeout=90)  # its zygote's stop waits (up to 60 s) until every sandboxed process exited
            if proc.is_alive():
                proc.kill()
        shutil.rmtree(self.jobs_root, ignore_errors=True)


def lost_outcome(task: Task, status: str, seconds: float, why: str = "") -> Outcome:
    """The outcome recorded when a submission's grader process overran or died (local pool or Ray node)."""
    from autograder.results import error_results

    why = why or ("took longer than the batch allows" if status == "timeout" else "stopped unexpectedly")
    results = error_results(f"Grading this submission {why}.", f"grader process {why}", seconds)
    return Outcome(task.student, task.content_hash, status, seconds, results.model_dump(exclude_none=True),
                   framework_error=why)

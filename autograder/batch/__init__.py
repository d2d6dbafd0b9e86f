"""``autograder batch``: grade a class's submissions in parallel, resumably, with a report.

    run_batch(assignment, Path("submissions"), Path("out"), jobs=2)

Outputs in ``out``: ``gradebook.csv``, ``results/<student>.json``,
``feedback/<student>.md``, ``report.html`` (with ``students/``, ``tests/`` pages),
``similarity.html``/``similarity.csv``, ``changes.csv`` (what the last regrade
changed) and ``grades.sqlite`` (the store that makes re-runs grade only what is
missing or changed).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from autograder.batch.changes import Change, compare, write_changes
from autograder.batch.discover import Entry, discover, graders_hash
from autograder.batch.report import STATUSES, write_gradebook, write_report, write_student_files
from autograder.batch.runner import Outcome, Pool, Task
from autograder.batch.store import Store
from autograder.course import Assignment, UsageError


@dataclass
class BatchSummary:
    students: int
    graded_now: int
    skipped: int
    statuses: Counter = field(default_factory=Counter)
    wall_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    framework_errors: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    flagged_pairs: int = 0

    @property
    def seconds_per_submission(self) -> float:
        return self.wall_seconds / self.graded_now if self.graded_now else 0.0


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def run_batch(assignment: Assignment, submissions: Path, out: Path, *, jobs: int | None = None,
              device: str = "cpu", progress: object = None, similarity: bool = True,
              ray_address: str | None = None) -> BatchSummary:
    """Grade what is new or changed in ``submissions``; write every output to ``out``.

    With ``ray_address`` the grading runs on that Ray cluster (``autograder.cluster``; ``jobs`` then
    caps the slots per node); everything else, the store and every output included, stays here.
    """
    if not submissions.is_dir():
        raise UsageError(f"{submissions} is not a folder of submissions")
    if any(g.hidden for g in assignment.manifest.groups) and assignment.hidden_tests is None:
        raise UsageError(f"the hidden graders of {assignment.slug} are not here (solutions/ missing)")
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    store = Store(out / "grades.sqlite")
    entries, warnings = discover(submissions)
    ghash = graders_hash(assignment)
    recorded = store.graded()
    todo = [e for e in entries if recorded.get(e.student) != (e.content_hash, ghash)]
    summary = BatchSummary(len(entries), len(todo), len(entries) - len(todo), warnings=warnings)
    regraded: list[str] = []

    def on_outcome(outcome: Outcome) -> None:
        before = store.previous(outcome.student)
        if before is not None:  # a regrade: keep what changed before the new result replaces the old
            regraded.append(outcome.student)
            change = compare(outcome.student, before[2], outcome.results, before[0] != outcome.content_hash,
                             before[1] != ghash)
            if change is not None:
                summary.changes.append(change)
        write_student_files(out, outcome.student, outcome.results)
        store.record(outcome.student, outcome.content_hash, ghash, outcome.status, outcome.seconds,
                     outcome.results, outcome.failure_kinds)
        summary.statuses[outcome.status] += 1
        if outcome.framework_error:
            summary.framework_errors.append(f"{outcome.student}: {outcome.framework_error.splitlines()[-1]}")
        if progress is not None:
            progress.advance(outcome)  # type: ignore[attr-defined]

    if todo:
        limit = assignment.manifest.limits.total_timeout_s + 180
        if ray_address is not None:
            from autograder.cluster.ray_pool import RayPool

            pool = RayPool(assignment, device, ray_address, limit, slots_per_node=jobs, monitor=progress)
        else:
            pool = Pool(assignment, device, jobs or default_jobs(), limit)
        begin = (lambda: progress.begin(len(todo))) if progress is not None else (lambda: None)  # type: ignore
        pool.run([_task(e) for e in todo], on_outcome, on_forked=begin)
    present = {e.student for e in entries}
    rows = [r for r in store.rows() if r["student"] in present]
    test_rows = [t for t in store.test_rows() if t["student"] in present]
    names = list(dict.fromkeys(t["name"] for t in test_rows))
    write_gradebook(out / "gradebook.csv", rows, names)
    if regraded:
        store.set_changes(summary.changes)
    changes = store.changes()
    write_changes(out / "changes.csv", changes)
    similar = None
    if similarity:
        from autograder.batch.similarity import compare_class, write_similarity

        similar = compare_class(assignment, submissions)
        write_similarity(similar, out, linked=True)
        summary.flagged_pairs = len(similar.flagged)
    summary.wall_seconds = time.monotonic() - started
    write_report(out, f"{assignment.manifest.title}: batch report", rows, test_rows, summary.wall_seconds,
                 similar, changes)
    summary.scores = [r["score"] for r in rows]
    for status in STATUSES:
        summary.statuses.setdefault(status, 0)
    store.close()
    return summary


def _task(entry: Entry) -> Task:
    return Task(entry.student, str(entry.path), entry.content_hash)

"""What exported otter test files and nbgrader test cells call, inside the student's kernel.

Both formats hand us the student's namespace (otter's ``env``, nbgrader's
``globals()``); the graders come packed in the generated file (``bundle``).
One call grades the requested groups with ``grading.grade`` and the in-process
worker, and is cached while the namespace does not change, so otter's
one-function-per-case format does not re-run the graders for every case.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autograder.course import Assignment
from autograder.export.bundle import materialize
from autograder.export.inprocess import IN_PROCESS, InProcessSpawner
from autograder.export.subset import restricted

_SUBSETS: dict[tuple[str, tuple[str, ...]], tuple[tempfile.TemporaryDirectory, Assignment]] = {}
_LAST: dict[tuple[str, tuple[str, ...]], tuple[Any, Any]] = {}
IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}


def _fingerprint(namespace: dict[str, Any]) -> tuple:
    """Changes whenever the student (re)defines a name; IPython's own bookkeeping is ignored."""
    return tuple(sorted((k, id(v)) for k, v in namespace.items()
                        if isinstance(k, str) and not k.startswith("_") and k not in IPYTHON_NAMES))


def grade_groups(blobs: Sequence[str], groups: Sequence[str], namespace: dict[str, Any]) -> Any:
    """A ``GradeReport`` for ``groups`` of the packed assignment, the namespace as the submission."""
    from autograder.grading import grade

    blob_key = hashlib.sha256("\0".join(blobs).encode()).hexdigest()
    key = (blob_key, tuple(sorted(groups)))
    fingerprint = _fingerprint(namespace)
    cached = _LAST.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    if key not in _SUBSETS:
        tmp = tempfile.TemporaryDirectory(prefix="autograder-subset-")
        _SUBSETS[key] = (tmp, restricted(materialize(*blobs), groups, Path(tmp.name) / "course"))
    assignment = _SUBSETS[key][1]
    placeholder = assignment.directory.parent.parent / assignment.manifest.submission_file
    placeholder.write_text("# graded in-process from the notebook's namespace\n")
    hidden = any(g.hidden for g in assignment.manifest.groups)
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        report = grade(assignment, placeholder, mode="grade" if hidden else "check", device="cpu",
                       caps=IN_PROCESS, performance=False, spawner=InProcessSpawner(namespace))
    _LAST[key] = (fingerprint, report)
    return report


def otter_case(blob: str, env: dict[str, Any], groups: Sequence[str], nodeid: str) -> None:
    """One otter test case: passes when grader case ``nodeid`` passed, else fails with its feedback."""
    report = grade_groups([blob], groups, env)
    case = next((c for c in report.cases if c.nodeid == nodeid), None)
    if case is None:
        raise AssertionError(f"the grader case {nodeid} is gone; re-export the otter tests")
    if case.outcome == "failed":
        raise AssertionError(case.visible_text or "this check did not pass")


def nbgrader_group(blobs: Sequence[str], group: str, namespace: dict[str, Any]) -> float:
    """One nbgrader test cell: prints the group's feedback, returns its points (partial credit)."""
    report = grade_groups(blobs, [group], namespace)
    test = report.results.tests[0]
    print(f"{test.name}: {test.score:g} / {test.max_score:g}")
    print(test.output)
    return test.score


def reference_report(assignment: Assignment, blobs: Sequence[str], groups: Sequence[str]) -> Any:
    """Export-time proof: the staff reference, loaded here, earns every point of ``groups`` in-process."""
    import runpy

    from autograder.export import ExportError

    if assignment.reference_file is None:
        raise ExportError(f"the solutions of {assignment.slug} are not here; exports need the reference")
    namespace = runpy.run_path(str(assignment.reference_file), run_name=f"_reference_{assignment.slug}")
    report = grade_groups(blobs, groups, namespace)
    failed = [t for t in report.results.tests if t.status != "passed"]
    if failed:
        details = "; ".join(f"{t.name}: {t.output.splitlines()[0] if t.output else ''}" for t in failed)
        raise ExportError(f"the reference of {assignment.slug} does not pass its graders in-process: {details}")
    return report

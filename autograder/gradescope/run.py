"""The Python side of ``run_autograder``: grade one Gradescope submission, always write results.

Runs as root in the container. The order matters for the results file:
1. the results folder is made root-owned and not writable by anyone else, and any
   ``results.json`` already there is deleted (nothing written before grading counts);
2. the submission is graded with every worker started as the ``student`` user (via
   ``AUTOGRADER_SANDBOX_UID``) inside the sandbox;
3. only after every worker is gone (and any process left under the student's uid is
   killed) does this process write the file, under a random name renamed into place.
If anything in the framework fails, the file says "Autograder error" (score 0, visible)
and the details go to stdout and ``extra_data``, which students never see.

``AUTOGRADER_ROOT`` (default ``/autograder``) relocates everything, for testing.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.gradescope.oom import VictimWatcher

STUDENT_USER_ENV = "AUTOGRADER_STUDENT_USER"
PINNED_UID_ENV = "AUTOGRADER_SANDBOX_UID"
ERROR_MESSAGE = "The autograder failed on this submission; course staff have the details."


@dataclass(frozen=True)
class Paths:
    """Gradescope's folders, under ``root``."""

    root: Path

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def course(self) -> Path:
        return self.source / "course"

    @property
    def submission(self) -> Path:
        return self.root / "submission"

    @property
    def metadata(self) -> Path:
        return self.root / "submission_metadata.json"

    @property
    def results_dir(self) -> Path:
        return self.root / "results"

    @property
    def results(self) -> Path:
        return self.results_dir / "results.json"


def log(message: str = "") -> None:
    """Staff-only output: Gradescope shows stdout to instructors (``stdout_visibility`` hidden)."""
    print(message, flush=True)


def prepare_results_dir(paths: Paths) -> None:
    """Root-owned, not writable by others, and without a results file from before grading."""
    paths.results_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(paths.results_dir, 0, 0)
    paths.results_dir.chmod(0o755)
    for stale in (paths.results, *paths.results_dir.glob(".results-*")):
        if stale.is_symlink() or stale.exists():
            stale.unlink()


def write_results(results: Any, paths: Paths) -> None:
    """Write under a fresh random name (never following a link), then rename over results.json."""
    text = results.model_dump_json(indent=2, exclude_none=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".results-", dir=paths.results_dir)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, paths.results)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def student_uid() -> int | None:
    """The uid student code runs as: ``AUTOGRADER_STUDENT_USER`` (a name or a number), default ``student``."""
    if os.geteuid() != 0:
        return None
    who = os.environ.get(STUDENT_USER_ENV, "student")
    if who.isdigit():
        return int(who) or None
    try:
        return pwd.getpwnam(who).pw_uid or None
    except KeyError:
        return None


def kill_uid(uid: int, wait: float = 10.0) -> int:
    """Kill every process left behind under ``uid`` (a daemon the submission started).

    Only under the uid's lease: a worker of another grading run on the same machine that
    holds it now is not touched (waits up to ``wait`` seconds for it, then leaves it).
    """
    from autograder.sandbox.uids import UidLease

    lease = UidLease.try_uid(uid, wait)
    if lease is None:
        log(f"uid {uid} is in use by another grading run: its processes are left alone")
        return 0
    try:
        found = len(lease.processes())
        left = lease.kill_leftovers()
        if left:
            log(f"uid {uid}: {len(left)} process(es) still alive after SIGKILL: {left}")
        return found
    finally:
        lease.release()


def find_submission(folder: Path, module_file: str) -> Path:
    """What to stage: the folder when it holds the module or notebook, else a lone .zip in it."""
    if not folder.is_dir():
        return folder
    stem = Path(module_file).stem
    files = []
    for top, dirs, names in os.walk(folder):  # links are not followed
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__MACOSX"]
        files += [Path(top) / n for n in names if not n.startswith(".")]
    if any(p.name in (module_file, f"{stem}.ipynb") for p in files):
        return folder
    zips = [p for p in files if p.suffix == ".zip"]
    return zips[0] if len(zips) == 1 else folder


def read_metadata(path: Path) -> dict[str, Any]:
    """What is useful from ``submission_metadata.json``: never names or e-mail addresses."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    previous = raw.get("previous_submissions") or []
    previous = previous if isinstance(previous, list) else []
    assignment = raw.get("assignment") if isinstance(raw.get("assignment"), dict) else {}
    scores = [p.get("score") for p in previous if isinstance(p, dict)]
    numeric = [float(s) for s in scores if isinstance(s, (int, float, str)) and _is_number(s)]
    out = {
        "submission_id": raw.get("id"),
        "attempt": len(previous) + 1,
        "created_at": raw.get("created_at"),
        "submission_method": raw.get("submission_method"),
        "assignment_id": assignment.get("id"),
        "assignment_title": assignment.get("title"),
        "due_date": assignment.get("due_date"),
        "group_size": len(raw.get("users") or []) if isinstance(raw.get("users"), list) else None,
        "previous_best_score": max(numeric) if numeric else None,
    }
    return {k: v for k, v in out.items() if v is not None}


def _is_number(value: Any) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


@contextlib.contextmanager
def worker_source(assignment: Any, device: str, caps: Any) -> Iterator[Any]:
    """A zygote both workers fork from, when the uid drop is available (else ``None``: plain workers).

    The student's and the reference's workers then share one torch import (copy-on-write),
    which is what lets a whole run fit Gradescope's default 768 MB; each child still gets
    its own uid, limits and a job folder closed to every other uid.
    """
    if not caps.drop_uid or os.environ.get("AUTOGRADER_ZYGOTE", "1") == "0":
        yield None
        return
    from autograder.sandbox.launcher import Policy
    from autograder.sandbox.pool import zygote_spawner

    def no_zygote(why: str) -> None:
        log(f"no zygote ({why}); each worker imports torch itself (about 0.2 GB more memory)")
        if not caps.bwrap:
            log("WARNING: without bubblewrap or the zygote, the reference's staged copy is world-readable "
                "while it is timed")

    jobs = Path(tempfile.mkdtemp(prefix="autograder-jobs-"))
    with zygote_spawner(Policy.for_manifest(assignment.manifest, device), jobs, caps, log=no_zygote) as spawner:
        yield spawner


def grade_submission(paths: Paths, uid: int | None) -> Any:
    """Grade the submission with the bundled course; returns the pydantic ``Results``."""
    bundle = json.loads((paths.source / "bundle.json").read_text())
    os.environ["AUTOGRADER_COURSE"] = str(paths.course)
    if uid is not None:
        os.environ[PINNED_UID_ENV] = str(uid)
    import torch

    torch.set_num_threads(1)  # half a vCPU: grader-side threads only add memory and contention
    from autograder.course import resolve_assignment
    from autograder.grading import grade
    from autograder.results import format_score
    from autograder.sandbox.capabilities import detect

    caps = detect()
    log("sandbox protections in force:")
    for item in caps.in_force:
        log(f"  + {item}")
    for item in caps.missing:
        log(f"  - MISSING: {item}")
    who = f"uid {uid} ({os.environ.get(STUDENT_USER_ENV, 'student')})" if uid is not None else "pool uids"
    log(f"student code runs as: {who if caps.drop_uid else 'the grader user (no uid drop)'}")
    assignment = resolve_assignment(bundle["slug"], root=paths.course)
    submission = find_submission(paths.submission, assignment.manifest.submission_file)
    log(f"grading {submission} for {assignment.slug}")
    device = os.environ.get("AUTOGRADER_DEVICE", "cpu")
    watcher = VictimWatcher()
    watcher.start()
    try:
        with worker_source(assignment, device, caps) as spawner:
            report = grade(assignment, submission, mode="grade", device=device, caps=caps, spawner=spawner)
    finally:
        watcher.stop()
    log(f"status: {report.status}; score {format_score(report.score)} / {format_score(report.max_score)}; "
        f"calls {report.results.extra_data.get('calls')}")
    for error in report.internal_errors:
        log(f"GRADER ERROR: {error}")
    for test in report.results.tests:
        log(f"  {format_score(test.score)}/{format_score(test.max_score)} {test.status:6} {test.name}")
    return report.results


def finish(results: Any, metadata: dict[str, Any], started: float) -> Any:
    """Add the submission's metadata and the run's whole wall time."""
    extra = dict(results.extra_data)
    if metadata:
        extra["submission"] = metadata
    extra["framework"] = _framework_info()
    output = results.output
    if "attempt" in metadata:
        output = f"Attempt {metadata['attempt']}.\n{output}" if output else f"Attempt {metadata['attempt']}."
    return results.model_copy(update={"extra_data": extra, "output": output,
                                      "execution_time": round(time.monotonic() - started, 3)})


def _framework_info() -> dict[str, str]:
    import autograder

    info = {"version": autograder.__version__, "location": str(Path(autograder.__file__).parent)}
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:  # pragma: no cover - the grader needs torch anyway
        pass
    return info


def main() -> int:
    """Entry point of ``run_autograder``; returns 0 once a valid results file is written."""
    started = time.monotonic()
    paths = Paths(Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
    prepare_results_dir(paths)
    uid = student_uid()
    metadata = read_metadata(paths.metadata)
    log(f"torch-autograder on Gradescope: root {paths.root}, attempt {metadata.get('attempt', '?')}")
    try:
        results = grade_submission(paths, uid)
    except BaseException as exc:  # noqa: BLE001 - whatever happens, a valid results file
        if isinstance(exc, KeyboardInterrupt):
            raise
        from autograder.results import error_results

        details = "".join(traceback.format_exception(exc))
        log("AUTOGRADER ERROR (students see only that the autograder failed):")
        log(details)
        results = error_results(ERROR_MESSAGE, details, time.monotonic() - started)
    if uid is not None:
        left = kill_uid(uid)
        if left:
            log(f"killed {left} process(es) left behind under uid {uid}")
    write_results(finish(results, metadata, started), paths)
    log(f"results written to {paths.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

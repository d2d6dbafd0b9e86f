"""Start the submission's worker before the grader's own heavy imports, so they overlap.

`autograder check` is what students run most. Its time went to two torch imports in
sequence: the grader's (with pytest) and then the worker's, which only began when pytest
configured the run. The worker needs nothing from the grader's imports to start (a sandbox,
an interpreter, torch), so ``prestart`` launches it first, from this light module (no torch,
no pytest), and hands it to the grading run as its first worker. The submission is staged
into the same folders afterwards; the worker reads it only when asked to import it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from autograder.course import Assignment
from autograder.sandbox.launcher import Policy, WorkerProcess


def cpu_only_machine() -> bool:
    """No NVIDIA device nodes: torch cannot see CUDA, so ``--device auto`` means the CPU."""
    return not os.path.exists("/dev/nvidiactl")


class PrestartSpawner:
    """A spawner whose first worker was started before ``grade`` was even imported.

    The first session that asks for a workdir gets the prestarted worker's folder, and its
    first spawn gets that worker (when the policies agree); every later worker (after a
    timeout or crash, the timing reference) is a fresh one, as without prestart.
    """

    def __init__(self, assignment: Assignment, device: str, asked: str | None = None) -> None:
        self.key = (assignment.directory, asked or device)  # what `check --device` said: auto, cpu
        self.policy = Policy.for_manifest(assignment.manifest, device)
        self.workdir = Path(tempfile.mkdtemp(prefix="autograder-"))
        self.workdir.chmod(0o755)
        host_dirs = {k: self.workdir / k for k in ("submission", "data", "scratch")}
        for path in host_dirs.values():
            path.mkdir()
            path.chmod(0o755)
        self.worker: WorkerProcess | None = WorkerProcess(self.policy, host_dirs, [])
        self.worker.start()
        self._workdir_given = False

    def new_workdir(self) -> Path:
        if not self._workdir_given:
            self._workdir_given = True
            return self.workdir
        path = Path(tempfile.mkdtemp(prefix="autograder-"))
        path.chmod(0o755)
        return path

    def spawn(self, session: Any) -> Any:
        worker, self.worker = self.worker, None
        if worker is not None:
            if (session.workdir == self.workdir and repr(session.policy) == repr(self.policy)
                    and not session.extra_student_dirs and worker.caps == session.caps):
                if worker.uid_lease is not None:  # the session re-opened the folders: close them again
                    uid = worker.uid_lease.uid
                    os.chown(session.host_dirs["scratch"], uid, uid)
                    os.chown(self.workdir, uid, uid)
                    self.workdir.chmod(0o700)
                return worker
            worker.kill()
        from autograder.session import LocalSpawner

        return LocalSpawner().spawn(session)

    def worker_path(self, session: Any, kind: str) -> str:
        from autograder.session import LocalSpawner

        return LocalSpawner().worker_path(session, kind)

    def close(self) -> None:
        """Kill the prestarted worker if no session took it (e.g. the submission was missing)."""
        if self.worker is not None:
            self.worker.kill()
            self.worker = None
        if not self._workdir_given:
            self._workdir_given = True
            shutil.rmtree(self.workdir, ignore_errors=True)


def prestart(assignment: Assignment, device: str) -> PrestartSpawner | None:
    """A spawner with the worker already starting, or None where that cannot be decided yet.

    ``AUTOGRADER_PRESTART=0`` turns it off (the worker then starts when pytest configures the
    run, as `grade` does; benchmarks/check_speed.py compares the two).
    """
    if os.environ.get("AUTOGRADER_PRESTART", "1") == "0":
        return None
    asked = device
    if device == "auto" and cpu_only_machine():
        device = "cpu"
    if device != "cpu":
        return None  # whether CUDA is usable needs torch: start the worker the usual way
    return PrestartSpawner(assignment, device, asked)


_spare: PrestartSpawner | None = None  # a long-lived check server's worker, ready for the next check
_last: tuple[Assignment, str] | None = None
kept_workers_used = 0  # checks that found their worker ready (reported by `autograder check-server status`)


def take(assignment: Assignment, device: str) -> PrestartSpawner | None:
    """The worker for this check: the one kept ready since the last check of the same assignment
    (by a check server, checkserver/server.py, or a notebook kernel, notebook.py), else one
    started now."""
    global _spare, _last, kept_workers_used
    spare, _spare = _spare, None
    _last = (assignment, device)
    if spare is not None and spare.key == (assignment.directory, device) and spare.worker is not None \
            and spare.worker.alive:
        kept_workers_used += 1
        return spare
    if spare is not None:
        spare.close()
    return prestart(assignment, device)


def replenish() -> None:
    """Start the next check's worker now, while the student reads this check's feedback."""
    global _spare
    if _spare is None and _last is not None:
        _spare = prestart(*_last)


def get_ready(assignment: Assignment, device: str) -> None:
    """Start a worker for the first check of ``assignment`` now (a notebook's set-up cell)."""
    global _last
    _last = (assignment, device)
    replenish()


def discard() -> None:
    """Kill the kept worker (the check server is stopping, or the process is exiting)."""
    global _spare
    if _spare is not None:
        _spare.close()
        _spare = None


atexit.register(discard)  # a notebook kernel's kept worker and its folder go with the kernel

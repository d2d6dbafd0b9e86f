"""Grader side of the batch zygote: one pre-warmed template, a fresh sandboxed child per worker.

Each grader process in a batch owns one ``Zygote`` (started once, about a second)
and asks it for a child whenever a submission (or the reference, for timing)
needs a worker. A child costs a fork instead of an interpreter start plus a
torch import. Job folders live under one root mounted read-only at ``/jobs``;
each job folder belongs to the uid its child runs as and is closed to every
other uid, so students cannot read each other's submissions.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from autograder.sandbox import bwrap, limits, procs
from autograder.sandbox.capabilities import Capabilities, detect
from autograder.sandbox.launcher import Channel, Policy, describe_exit
from autograder.sandbox.uids import UidLease

JOBS_MOUNT = "/jobs"


class ZygoteError(Exception):
    """The zygote could not be started or stopped answering."""


class Zygote:
    def __init__(self, policy: Policy, jobs_root: Path, caps: Capabilities | None = None) -> None:
        self.policy = policy
        self.caps = caps or detect()
        if not self.caps.drop_uid:
            raise ZygoteError("a shared zygote needs per-submission uids (run as root)")
        self.jobs_root = jobs_root
        jobs_root.mkdir(parents=True, exist_ok=True)
        jobs_root.chmod(0o711)  # traversable, not listable: job ids cannot be enumerated
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.host_pid: int | None = None
        self.pid_ns: str | None = None

    @property
    def jobs_inside(self) -> str:
        return JOBS_MOUNT if self.caps.bwrap else str(self.jobs_root)

    def start(self, timeout: float = 120.0) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        info_r, info_w = os.pipe() if self.caps.bwrap else (None, None)
        config = {"sys_path": bwrap.python_path(self.caps.bwrap), "control_fd": child.fileno(),
                  "forbidden": self.policy.forbidden, "student_dirs": [self.jobs_inside]}
        env = bwrap.worker_env(self.policy, "/tmp")
        script = bwrap.FRAMEWORK_DIR / "sandbox" / "zygote.py"
        argv = [bwrap.python_executable(), "-I", "-S", str(script), json.dumps(config)]
        if self.caps.bwrap:
            argv[3] = f"{bwrap.FRAMEWORK_MOUNT}/autograder/sandbox/zygote.py"
            argv = bwrap.command(self.policy, env, [(str(self.jobs_root), JOBS_MOUNT)], info_w,
                                 tmp_mb=4 * self.policy.limits.scratch_mb) + argv
        pass_fds = [child.fileno()] + ([info_w] if info_w is not None else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, pass_fds=pass_fds, env=env,
                                     start_new_session=True, close_fds=True)
        child.close()
        if info_w is not None:
            os.close(info_w)
            self.host_pid, self.pid_ns = bwrap.read_info(info_r)
        else:
            self.host_pid = self.proc.pid
        self.sock = parent
        parent.settimeout(timeout)
        try:
            ready = parent.recv(4096)
        except (TimeoutError, OSError) as exc:
            self.stop()
            raise ZygoteError(f"the zygote did not start: {exc}") from None
        if b"ready" not in ready:
            self.stop()
            raise ZygoteError("the zygote did not start")

    def _ask(self, message: dict[str, Any], fds: list[int] = ()) -> dict[str, Any]:
        if self.sock is None:
            raise ZygoteError("zygote not started")
        try:
            socket.send_fds(self.sock, [json.dumps(message).encode()], list(fds))
            return json.loads(self.sock.recv(1 << 16))
        except (OSError, ValueError) as exc:
            raise ZygoteError(f"the zygote stopped answering: {exc}") from None

    def spawn(self, job_id: str, host_job: Path, lease: UidLease, threads: int,
              student_dirs: list[str]) -> ZygoteChild:
        """A fresh child for one job: its own pipes, uid, scratch and limits."""
        os.chown(host_job, lease.uid, lease.uid)
        host_job.chmod(0o700)
        if (host_job / "scratch").is_dir():  # used as scratch only without bubblewrap
            os.chown(host_job / "scratch", lease.uid, lease.uid)
        lease.kill_leftovers()
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        job = f"{self.jobs_inside}/{job_id}"
        p = self.policy
        config = {"uid": lease.uid, "scratch": f"/tmp/{job_id}" if self.caps.bwrap else str(host_job / "scratch"),
                  "submission_dir": f"{job}/submission", "student_dirs": [f"{job}/submission", *student_dirs],
                  "threads": threads, "rlimits": limits.table(p, per_uid=True)}
        try:
            reply = self._ask(config, [req_r, rep_w, out_w])
        finally:
            for fd in (req_r, rep_w, out_w):
                os.close(fd)
        child = ZygoteChild(self, p, job_id, lease, int(reply["pid"]))
        child.req_w, child.rep_r, child.open = req_w, rep_r, True
        child.output.drain(out_r)
        return child

    def exit_status(self, pid: int) -> str:
        for _ in range(10):
            try:
                status = self._ask({"op": "status", "pid": pid}).get("status")
            except ZygoteError:
                return "ended"
            if status is not None:
                code = os.waitstatus_to_exitcode(status)
                return describe_exit(code)
            time.sleep(0.01)
        return "ended"

    def scratch_on_host(self, job_id: str) -> Path | None:
        """The child's tmpfs scratch as the grader (real root) can reach it, for clean-up."""
        if self.caps.bwrap and self.host_pid:
            return Path(f"/proc/{self.host_pid}/root/tmp/{job_id}")
        return None

    def stop(self, timeout: float = 60.0) -> None:
        """Kill the zygote and its pid namespace, and return only once every process in it has
        exited (a leftover check right after a batch must find none)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
            self.proc.wait(timeout=10)
            self.proc = None
        if self.pid_ns is not None:  # the namespace's processes die with it: wait until they have
            left = procs.kill_until_gone(lambda: procs.in_pid_namespace(self.pid_ns), timeout)
            if left:
                raise ZygoteError(f"processes of the zygote's sandbox still alive {timeout:g} s after "
                                  f"SIGKILL: {left}")


class ZygoteChild(Channel):
    """A worker forked from the zygote; same interface as ``WorkerProcess``."""

    def __init__(self, zygote: Zygote, policy: Policy, job_id: str, lease: UidLease, pid: int) -> None:
        super().__init__(policy)
        self.zygote, self.job_id, self.uid_lease, self.pid = zygote, job_id, lease, pid

    def processes(self) -> list[int]:
        return self.uid_lease.processes() if self.uid_lease is not None else []

    @property
    def alive(self) -> bool:
        """Cheap: a dead child shows up as end-of-file on its reply pipe at the next request."""
        return self.open

    def kill(self) -> str:
        if self.uid_lease is None:
            return ""
        self.uid_lease.kill_leftovers()
        self._close_pipes()
        status = self.zygote.exit_status(self.pid)
        scratch = self.zygote.scratch_on_host(self.job_id)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        self.uid_lease.close()
        self.uid_lease = None
        return status


class ZygoteSpawner:
    """Plugs a zygote into ``StudentSession``: workers come from it instead of fresh processes."""

    def __init__(self, zygote: Zygote) -> None:
        self.zygote = zygote

    def close(self) -> None:
        """Stop the zygote (its children die with it) and remove its jobs folder."""
        self.zygote.stop()
        shutil.rmtree(self.zygote.jobs_root, ignore_errors=True)

    def new_workdir(self) -> Path:
        path = self.zygote.jobs_root / uuid.uuid4().hex
        path.mkdir()
        return path

    def spawn(self, session: Any) -> ZygoteChild:
        return self.zygote.spawn(session.workdir.name, session.workdir, UidLease.acquire(),
                                 session.policy.limits.threads, session.extra_student_dirs)

    def worker_path(self, session: Any, kind: str) -> str:
        if kind == "scratch":
            return f"/tmp/{session.workdir.name}" if self.zygote.caps.bwrap else str(session.workdir / "scratch")
        return f"{self.zygote.jobs_inside}/{session.workdir.name}/{kind}"


def start_spawner(policy: Policy, jobs_root: Path, caps: Capabilities | None = None,
                  log: Callable[[str], None] | None = None) -> ZygoteSpawner | None:
    """A started zygote for ``policy`` with its job folders under ``jobs_root``, or ``None``
    where none can start (not root, or it failed: ``log`` is told why), so the caller falls
    back to a fresh sandboxed process per worker. The one way anything that grades gets a
    zygote: a batch grader process, the Gradescope run, the test session, a Ray actor.
    ``close()`` it when done."""
    try:
        zygote = Zygote(policy, jobs_root, caps)
        zygote.start()
    except ZygoteError as exc:
        if log is not None:
            log(str(exc))
        shutil.rmtree(jobs_root, ignore_errors=True)
        return None
    return ZygoteSpawner(zygote)


@contextlib.contextmanager
def zygote_spawner(policy: Policy, jobs_root: Path, caps: Capabilities | None = None,
                   log: Callable[[str], None] | None = None) -> Iterator[ZygoteSpawner | None]:
    """``start_spawner`` for the length of a ``with`` block."""
    spawner = start_spawner(policy, jobs_root, caps, log)
    try:
        yield spawner
    finally:
        if spawner is not None:
            spawner.close()

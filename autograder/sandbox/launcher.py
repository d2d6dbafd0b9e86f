"""Starts, talks to, freezes and kills one sandboxed worker process.

Layers, outermost first: bubblewrap (mount, pid, net, ipc, uts namespaces; a
read-only view of only the interpreter, site-packages, the framework and the
submission; a sized tmpfs as the only writable place; empty environment;
capabilities dropped to setuid/setgid), rlimits (memory, CPU,
file size, processes, open files, no core; set by the worker itself, first thing,
see ``limits.py``), then the worker drops to a per-slot unprivileged uid before it
imports anything the student wrote.
Without bubblewrap the same process runs with rlimits and the uid drop only,
and ``Capabilities.missing`` says what is lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.manifest import Limits, Manifest
from autograder.sandbox import bwrap, limits, procs, protocol
from autograder.sandbox.capabilities import Capabilities, detect
from autograder.sandbox.uids import UidLease

IN_SANDBOX = {"submission": "/submission", "data": "/data", "scratch": "/tmp"}


@dataclass(frozen=True)
class Policy:
    """What one worker may use and call: the manifest's ``[limits]``, the device, the bans."""

    limits: Limits = field(default_factory=Limits)
    device: str = "cpu"
    forbidden: dict[str, Any] = field(default_factory=dict)
    output_limit_kb: int = 64

    @classmethod
    def for_manifest(cls, manifest: Manifest, device: str) -> Policy:
        return cls(limits=manifest.limits, device=device,
                   forbidden={"python": manifest.all_forbidden_python(), "aten": dict(manifest.forbidden.aten),
                              "autograd": manifest.forbidden.autograd})


class WorkerGone(Exception):
    """The worker process ended or broke the protocol while a reply was awaited."""

    def __init__(self, message: str, exit_status: str = "") -> None:
        super().__init__(message)
        self.exit_status = exit_status


class OutputCapture:
    """Keeps the first and last ``limit`` bytes of a stream and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.lock = threading.Lock()

    def feed(self, chunk: bytes) -> None:
        with self.lock:
            self.total += len(chunk)
            room = self.limit - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail = (self.tail + chunk)[-self.limit :]

    def text(self) -> str:
        with self.lock:
            head = self.head.decode(errors="replace")
            if not self.tail:
                return head
            skipped = self.total - len(self.head) - len(self.tail)
            note = f"\n... [{skipped} bytes not shown] ...\n" if skipped > 0 else ""
            return head + note + self.tail.decode(errors="replace")

    def drain(self, fd: int) -> None:
        """Read ``fd`` to its end in a daemon thread (so a chatty worker never blocks)."""
        def run() -> None:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                self.feed(chunk)
            os.close(fd)

        threading.Thread(target=run, daemon=True).start()


class Channel:
    """The grader's end of one worker: framed requests, replies, alarms, and its processes."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.output = OutputCapture(policy.output_limit_kb * 1024)
        self.alarms: list[dict[str, Any]] = []
        self.limits = protocol.Limits(max_buffer_bytes=policy.limits.max_reply_mb << 20)
        self.next_id = 1
        self.req_w = self.rep_r = -1
        self.open = False

    def request(self, header: dict[str, Any], buffers: list[Any] = (), timeout: float | None = None
                ) -> tuple[dict[str, Any], list[bytearray]]:
        """Send one request; return its reply. Alarms that arrive meanwhile are collected."""
        if not self.open:
            raise WorkerGone("worker not started")
        msg_id = self.next_id
        self.next_id += 1
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            protocol.write_message(self.req_w, dict(header, id=msg_id), list(buffers))
            while True:
                reply, bufs = protocol.read_message(self.rep_r, self.limits, deadline)
                if reply.get("kind") == "alarm" and isinstance(reply.get("violation"), dict):
                    self.alarms.append(reply["violation"])
                    continue
                if reply.get("kind") == "reply" and reply.get("id") == msg_id:
                    return reply, bufs
                raise protocol.ProtocolError("unexpected message from the worker")
        except protocol.ReplyTimeout:
            raise
        except protocol.ChannelClosed:
            raise WorkerGone("the worker process ended", self.kill()) from None
        except protocol.ProtocolError as exc:
            raise WorkerGone(f"the worker broke the protocol: {exc}", self.kill()) from None
        except OSError:
            raise WorkerGone("the worker process ended", self.kill()) from None

    def _close_pipes(self) -> None:
        for fd in (self.req_w, self.rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.open = False

    def processes(self) -> list[int]:
        raise NotImplementedError

    def kill(self) -> str:
        raise NotImplementedError

    def signal_all(self, sig: int) -> None:
        procs.signal_all(self.processes(), sig)

    def freeze(self) -> None:
        self.signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal_all(signal.SIGCONT)

    def stop(self) -> None:
        """Polite shutdown at the end of grading, then make sure nothing is left."""
        if self.open:
            try:
                protocol.write_message(self.req_w, {"op": "exit"})
                protocol.read_message(self.rep_r, self.limits, time.monotonic() + 2)
            except (OSError, protocol.ProtocolError, protocol.ReplyTimeout):
                pass
        self.kill()


class WorkerProcess(Channel):
    """One worker in its own bubblewrap sandbox (or a plain process when bwrap is missing)."""

    def __init__(self, policy: Policy, host_dirs: dict[str, Path], student_module_dirs: list[str],
                 caps: Capabilities | None = None) -> None:
        super().__init__(policy)
        self.caps = caps or detect()
        self.host_dirs = host_dirs
        self.uid_lease: UidLease | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid_ns: str | None = None
        self.child_pid: int | None = None
        self.student_module_dirs = student_module_dirs

    def worker_path(self, kind: str) -> str:
        """Where a host folder (submission, data, scratch) appears inside the worker."""
        if self.caps.bwrap:
            return IN_SANDBOX[kind]
        return str(self.host_dirs[kind])

    def start(self) -> None:
        if self.caps.drop_uid:
            self.uid_lease = UidLease.acquire()
            self.uid_lease.kill_leftovers()
            uid = self.uid_lease.uid
            os.chown(self.host_dirs["scratch"], uid, uid)
            workdir = self.host_dirs["submission"].parent  # closed to every other uid (other workers)
            os.chown(workdir, uid, uid)
            workdir.chmod(0o700)
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        info_r, info_w = os.pipe() if self.caps.bwrap else (None, None)
        config = self._config(req_r, rep_w)
        worker_py = bwrap.FRAMEWORK_DIR / "sandbox" / "worker.py"
        env = bwrap.worker_env(self.policy, self.worker_path("scratch"))
        argv = [bwrap.python_executable(), "-I", "-S", str(worker_py), json.dumps(config)]
        if self.caps.bwrap:
            argv[3] = f"{bwrap.FRAMEWORK_MOUNT}/autograder/sandbox/worker.py"
            binds = [(str(self.host_dirs["submission"]), IN_SANDBOX["submission"]),
                     (str(self.host_dirs["data"]), IN_SANDBOX["data"])]
            argv = bwrap.command(self.policy, env, binds, info_w) + argv
        pass_fds = [req_r, rep_w] + ([info_w] if info_w is not None else [])
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=pass_fds, env=env,
            cwd=str(self.host_dirs["scratch"]), start_new_session=True, close_fds=True,
        )  # no preexec_fn (unsafe while output-draining threads run): the worker sets its own limits
        for fd in (req_r, rep_w, out_w) + ((info_w,) if info_w is not None else ()):
            os.close(fd)
        self.open = True
        self.output.drain(out_r)
        if info_r is not None:
            self.child_pid, self.pid_ns = bwrap.read_info(info_r)

    def _config(self, rfd: int, wfd: int) -> dict[str, Any]:
        submission = self.worker_path("submission")
        return {
            "sys_path": bwrap.python_path(self.caps.bwrap),
            "uid": self.uid_lease.uid if self.uid_lease else None,
            "gid": self.uid_lease.uid if self.uid_lease else None,
            "rfd": rfd, "wfd": wfd,
            "threads": self.policy.limits.threads,
            "scratch": self.worker_path("scratch"),
            "submission_dir": submission,
            "student_dirs": [submission] + self.student_module_dirs,
            "forbidden": self.policy.forbidden,
            "rlimits": limits.table(self.policy, per_uid=self.caps.drop_uid),
        }

    def processes(self) -> list[int]:
        """Every live process that belongs to this sandbox (by pid namespace or uid)."""
        if self.pid_ns is not None:
            return procs.in_pid_namespace(self.pid_ns)
        if self.uid_lease is not None:
            return self.uid_lease.processes()
        return procs.in_session(self.proc.pid if self.proc is not None else -1)

    def kill(self) -> str:
        """Kill everything in the sandbox; returns how the main process ended."""
        if self.proc is None:
            return ""
        try:  # a worker that just died on its own: let it report how, before killing the rest
            self.proc.wait(timeout=0.3)
        except subprocess.TimeoutExpired:
            pass
        proc = self.proc

        def remaining() -> list[int]:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            return self.processes()

        procs.kill_until_gone(remaining)  # until every process has exited, not only been signalled
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._close_pipes()
        self.proc = None
        if self.uid_lease is not None:
            self.uid_lease.close()
            self.uid_lease = None
        return describe_exit(code)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def describe_exit(code: int | None) -> str:
    """How a worker ended; bubblewrap reports a child killed by signal N as exit code 128 + N."""
    if code is None:
        return "did not exit"
    signum = -code if code < 0 else code - 128 if 128 < code < 160 else 0
    if signum:
        try:
            return f"killed by {signal.Signals(signum).name}"
        except ValueError:
            return f"killed by signal {signum}"
    return f"exit code {code}"

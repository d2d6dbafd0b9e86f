"""Starts, talks to, freezes and kills one sandboxed worker process.

Layers, outermost first: bubblewrap (mount, pid, net, ipc, uts namespaces; a
read-only view of only the interpreter, site-packages, the framework and the
submission; a sized tmpfs as the only writable place; empty environment;
capabilities dropped to setuid/setgid), rlimits set before exec (memory, CPU,
file size, processes, open files, no core), then the worker drops to a
per-slot unprivileged uid before it imports anything the student wrote.
Without bubblewrap the same process runs with rlimits and the uid drop only,
and ``Capabilities.missing`` says what is lost.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.sandbox import protocol
from autograder.sandbox.capabilities import Capabilities, detect
from autograder.sandbox.uids import UidLease

FRAMEWORK_DIR = Path(__file__).resolve().parents[1]  # .../autograder
IN_SANDBOX = {"submission": "/submission", "data": "/data", "scratch": "/tmp", "framework": "/opt/ag"}


@dataclass
class Policy:
    """Resource limits for one worker (from the manifest's ``[limits]``)."""

    memory_mb: int = 4096
    cpu_seconds: int = 600
    file_size_mb: int = 64
    max_processes: int = 64
    max_open_files: int = 512
    scratch_mb: int = 256
    threads: int = 1
    output_limit_kb: int = 64
    max_reply_mb: int = 512
    device: str = "cpu"
    forbidden: dict[str, Any] = field(default_factory=dict)


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


def _drain(fd: int, capture: OutputCapture) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        capture.feed(chunk)
    os.close(fd)


class WorkerProcess:
    """One live worker. ``request`` sends a message and waits for its reply."""

    def __init__(self, policy: Policy, host_dirs: dict[str, Path], student_module_dirs: list[str],
                 caps: Capabilities | None = None) -> None:
        self.policy = policy
        self.caps = caps or detect()
        self.host_dirs = host_dirs
        self.uid_lease: UidLease | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.output = OutputCapture(policy.output_limit_kb * 1024)
        self.alarms: list[dict[str, Any]] = []
        self.pid_ns: str | None = None
        self.child_pid: int | None = None
        self.next_id = 1
        self.student_module_dirs = student_module_dirs
        self.limits = protocol.Limits(max_buffer_bytes=policy.max_reply_mb << 20)

    # ------------------------------------------------------------ paths

    def worker_path(self, kind: str) -> str:
        """Where a host folder (submission, data, scratch) appears inside the worker."""
        if self.caps.bwrap:
            return IN_SANDBOX[kind]
        return str(self.host_dirs[kind])

    # ------------------------------------------------------------ start

    def start(self) -> None:
        if self.caps.drop_uid:
            self.uid_lease = UidLease.acquire()
            self.uid_lease.kill_leftovers()
            os.chown(self.host_dirs["scratch"], self.uid_lease.uid, self.uid_lease.uid)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        info_r, info_w = os.pipe() if self.caps.bwrap else (None, None)
        config = self._config(req_r, rep_w)
        worker_py = (FRAMEWORK_DIR / "sandbox" / "worker.py")
        if self.caps.bwrap:
            worker_py = Path(IN_SANDBOX["framework"]) / "autograder" / "sandbox" / "worker.py"
        argv = [self._python(), "-I", "-S", str(worker_py), json.dumps(config)]
        if self.caps.bwrap:
            argv = self._bwrap_argv(info_w) + argv
        pass_fds = [req_r, rep_w] + ([info_w] if info_w is not None else [])
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=pass_fds,
            env=self._env(), cwd=str(self.host_dirs["scratch"]), start_new_session=True,
            preexec_fn=self._apply_rlimits, close_fds=True,
        )
        for fd in (req_r, rep_w, out_w) + ((info_w,) if info_w is not None else ()):
            os.close(fd)
        self.req_w, self.rep_r = req_w, rep_r
        threading.Thread(target=_drain, args=(out_r, self.output), daemon=True).start()
        if info_r is not None:
            self._read_info(info_r)

    def _python(self) -> str:
        return os.path.realpath(sys.executable)

    def _config(self, rfd: int, wfd: int) -> dict[str, Any]:
        fw_parent = IN_SANDBOX["framework"] if self.caps.bwrap else str(FRAMEWORK_DIR.parent)
        submission = self.worker_path("submission")
        return {
            "sys_path": _stdlib_paths() + [fw_parent] + _site_paths(),
            "uid": self.uid_lease.uid if self.uid_lease else None,
            "gid": self.uid_lease.uid if self.uid_lease else None,
            "rfd": rfd, "wfd": wfd,
            "threads": self.policy.threads,
            "scratch": self.worker_path("scratch"),
            "submission_dir": submission,
            "student_dirs": [submission] + self.student_module_dirs,
            "forbidden": self.policy.forbidden,
        }

    def _env(self) -> dict[str, str]:
        n = str(self.policy.threads)
        scratch = self.worker_path("scratch")
        return {
            "PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n,
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLCONFIGDIR": scratch,
            # Fixed glibc malloc thresholds: otherwise each process adapts its mmap threshold to
            # its own history, and two workers running the same code differ by 2x in timing.
            "MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
        }

    def _apply_rlimits(self) -> None:
        """Runs in the child between fork and exec: limits inherited by everything inside."""
        p = self.policy
        limits = [
            (resource.RLIMIT_CPU, p.cpu_seconds, p.cpu_seconds + 5),
            (resource.RLIMIT_FSIZE, p.file_size_mb << 20, p.file_size_mb << 20),
            (resource.RLIMIT_NOFILE, p.max_open_files, p.max_open_files),
            (resource.RLIMIT_CORE, 0, 0),
        ]
        if p.device == "cpu":  # CUDA reserves huge virtual ranges; an AS limit breaks it
            limits.append((resource.RLIMIT_AS, p.memory_mb << 20, p.memory_mb << 20))
        if self.caps.drop_uid:  # per-uid, so only meaningful for the worker's own uid
            limits.append((resource.RLIMIT_NPROC, p.max_processes, p.max_processes))
        for which, soft, hard in limits:
            try:
                resource.setrlimit(which, (soft, hard))
            except (ValueError, OSError):
                pass

    def _bwrap_argv(self, info_fd: int) -> list[str]:
        argv = ["bwrap", "--die-with-parent", "--new-session", "--clearenv",
                "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--info-fd", str(info_fd)]
        for key, value in self._env().items():  # --clearenv drops what Popen passed
            argv += ["--setenv", key, value]
        if os.geteuid() == 0:
            argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            argv += ["--unshare-user"]
        argv += ["--ro-bind", "/usr", "/usr"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64"):
            path = Path("/") / top
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                argv += ["--ro-bind", str(path), str(path)]
        for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
                    "/etc/localtime"):
            if os.path.exists(etc):
                argv += ["--ro-bind", etc, etc]
        made: set[str] = {"/", "/usr", "/tmp", "/dev", "/proc", "/etc", "/opt"}
        for src in _python_roots():
            argv += _parents(src, made) + ["--ro-bind", src, src]
        argv += ["--perms", "0755", "--dir", IN_SANDBOX["framework"],
                 "--ro-bind", str(FRAMEWORK_DIR), IN_SANDBOX["framework"] + "/autograder",
                 "--ro-bind", str(self.host_dirs["submission"]), IN_SANDBOX["submission"],
                 "--ro-bind", str(self.host_dirs["data"]), IN_SANDBOX["data"],
                 "--dev", "/dev", "--proc", "/proc",
                 "--perms", "1777", "--size", str(self.policy.scratch_mb << 20), "--tmpfs", "/tmp",
                 "--perms", "1777", "--size", str(self.policy.scratch_mb << 20), "--tmpfs", "/dev/shm",
                 "--chdir", "/tmp"]
        if self.policy.device.startswith("cuda"):
            for dev in sorted(Path("/dev").glob("nvidia*")):
                argv += ["--dev-bind", str(dev), str(dev)]
            if Path("/sys").exists():
                argv += ["--ro-bind", "/sys", "/sys"]
        return argv

    def _read_info(self, fd: int) -> None:
        data = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                data += chunk
                if data.rstrip().endswith(b"}"):
                    break
        os.close(fd)
        try:
            info = json.loads(data or b"{}")
            self.child_pid = int(info["child-pid"])
            self.pid_ns = f"pid:[{int(info['pid-namespace'])}]"
        except (ValueError, KeyError, TypeError):
            pass

    # ------------------------------------------------------------ talk

    def request(self, header: dict[str, Any], buffers: list[Any] = (), timeout: float | None = None
                ) -> tuple[dict[str, Any], list[bytearray]]:
        """Send one request; return its reply. Alarms that arrive meanwhile are collected."""
        if self.proc is None:
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
        except (protocol.ProtocolError, BrokenPipeError, OSError) as exc:
            status = self.kill()
            if isinstance(exc, protocol.ChannelClosed) or isinstance(exc, (BrokenPipeError, OSError)):
                raise WorkerGone("the worker process ended", status) from None
            raise WorkerGone(f"the worker broke the protocol: {exc}", status) from None

    # ------------------------------------------------------------ processes

    def processes(self) -> list[int]:
        """Every live process that belongs to this sandbox (by pid namespace or uid)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                if _is_zombie(pid):
                    continue
                if self.pid_ns is not None:
                    if os.readlink(f"/proc/{pid}/ns/pid") == self.pid_ns:
                        found.append(pid)
                elif self.uid_lease is not None:
                    if _proc_uid(pid) == self.uid_lease.uid:
                        found.append(pid)
                elif self.proc is not None and os.getsid(pid) == self.proc.pid:
                    found.append(pid)
            except OSError:
                continue
        return found

    def signal_all(self, sig: int) -> None:
        for pid in self.processes():
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    def freeze(self) -> None:
        self.signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal_all(signal.SIGCONT)

    def kill(self) -> str:
        """Kill everything in the sandbox; returns how the main process ended."""
        if self.proc is None:
            return ""
        for _ in range(20):
            self.signal_all(signal.SIGKILL)
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            if not self.processes():
                break
            time.sleep(0.02)
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        for fd in (self.req_w, self.rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc = None
        if self.uid_lease is not None:
            self.uid_lease.kill_leftovers()
            self.uid_lease.release()
            self.uid_lease = None
        return _describe_exit(code)

    def stop(self) -> None:
        """Polite shutdown at the end of grading, then make sure nothing is left."""
        if self.proc is None:
            return
        try:
            protocol.write_message(self.req_w, {"op": "exit"})
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired, protocol.ProtocolError):
            pass
        self.kill()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _is_zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _proc_uid(pid: int) -> int | None:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def _stdlib_paths() -> list[str]:
    """The grader's own standard-library entries of sys.path (under the base prefix)."""
    base = os.path.realpath(sys.base_prefix)
    out = [p for p in sys.path if p and os.path.realpath(p).startswith(base)
           and "-packages" not in p and os.path.isdir(p)]
    return list(dict.fromkeys(out))


def _site_paths() -> list[str]:
    paths = sysconfig.get_paths()
    out = [paths["purelib"], paths["platlib"]]
    return [p for p in dict.fromkeys(out) if os.path.isdir(p)]


def _python_roots() -> list[str]:
    """Folders the interpreter needs, outside /usr: its prefix and site-packages."""
    roots = [os.path.realpath(sys.base_prefix)] + [os.path.realpath(p) for p in _site_paths()]
    out: list[str] = []
    for r in sorted(set(roots), key=len):
        if r.startswith("/usr/") or r == "/usr" or any(r.startswith(o + "/") for o in out):
            continue
        out.append(r)
    return out


def _parents(path: str, made: set[str]) -> list[str]:
    """``--dir`` arguments with mode 0755 for each missing parent (bwrap copies host modes)."""
    args: list[str] = []
    parts = Path(path).parents
    for parent in reversed(list(parts)):
        p = str(parent)
        if p in made:
            continue
        made.add(p)
        args += ["--perms", "0755", "--dir", p]
    return args

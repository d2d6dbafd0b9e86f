"""One submission's worker for a whole grading run, and the one way to send it a request.

``StudentSession.request`` is the only path into the worker: it starts the worker
(importing the submission) when needed, and turns a timeout, a dead worker or a
forbidden call into the failure a student reads, restarting the worker so one bad
function costs only its own tests. The ``student`` proxies (``student.py``) and the
timing protocol (``timing.py``) both go through it. Where workers come from is a
``Spawner``: a fresh sandboxed process each (``LocalSpawner``) or a fork of a
pre-warmed zygote (``sandbox.pool.ZygoteSpawner``).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch

from autograder import origins
from autograder.failures import (
    CallTimeout,
    ForbiddenCallError,
    GradingFailure,
    GradingStopped,
    ImportFailure,
    InputMutated,
    StudentError,
    WorkerCrashed,
)
from autograder.manifest import Manifest
from autograder.sandbox import protocol
from autograder.sandbox.capabilities import Capabilities, detect
from autograder.sandbox.launcher import Channel, Policy, WorkerGone, WorkerProcess
from autograder.submission import StagedSubmission, SubmissionError, stage
from autograder.values import Remote, describe, describe_call, tensors_in

STARTUP_TIMEOUT_S = 120.0
REPEATED_FAILURES = 2  # after this many timeouts (or crashes) a function's remaining calls fail at once


class Spawner(Protocol):
    """Where a session's workers come from."""

    def spawn(self, session: StudentSession) -> Channel:
        """A started worker for ``session`` (its policy, folders and student module dirs)."""

    def worker_path(self, session: StudentSession, kind: str) -> str:
        """Where the session's ``submission``, ``data`` or ``scratch`` folder appears in the worker."""


class LocalSpawner:
    """Each worker is a fresh sandboxed process (one submission at a time: `grade`, `check`)."""

    def spawn(self, session: StudentSession) -> WorkerProcess:
        worker = WorkerProcess(session.policy, session.host_dirs, session.extra_student_dirs, session.caps)
        worker.start()
        return worker

    def worker_path(self, session: StudentSession, kind: str) -> str:
        return WorkerProcess(session.policy, session.host_dirs, [], session.caps).worker_path(kind)


MakeHandle = Callable[[int, str], Any]


class StudentSession:
    """One submission's worker, restarted when needed, for the whole grading run."""

    def __init__(self, manifest: Manifest, submission: Path | None, *, device: str = "cpu",
                 caps: Capabilities | None = None, workdir: Path | None = None,
                 policy: Policy | None = None, extra_student_dirs: Sequence[str] = (),
                 spawner: Spawner | None = None) -> None:
        self.manifest = manifest
        self.device = device
        self.caps = caps or detect()
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="autograder-"))
        self.workdir.chmod(0o755)
        self.host_dirs = {k: self.workdir / k for k in ("submission", "data", "scratch")}
        for path in self.host_dirs.values():
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)
        self.staged: StagedSubmission | None = None
        self.submission_error: str | None = None
        if submission is not None:
            try:
                self.staged = stage(submission, manifest.submission_file, self.host_dirs["submission"])
            except SubmissionError as exc:
                self.submission_error = str(exc)
        self.policy = policy or Policy.for_manifest(manifest, device)
        self.extra_student_dirs = list(extra_student_dirs)
        self.spawner: Spawner = spawner or LocalSpawner()
        self.worker: Channel | None = None
        self.generation = 0
        self.starts = 0
        self.imported = False
        self.import_failure: GradingFailure | None = None
        self.names: dict[str, str] = {}
        self.deadline = time.monotonic() + manifest.limits.total_timeout_s
        self.stats = {"calls": 0, "timeouts": 0, "crashes": 0, "forbidden": 0, "restarts": 0}
        self.weaker_limits: set[str] = set()  # rlimits the worker could not apply (reported as missing)
        self.import_status = "not started"
        self.stopped = False
        self.timeouts_by_fn: dict[str, int] = {}
        self.crashes_by_fn: dict[str, int] = {}

    # ------------------------------------------------------------ lifecycle

    @property
    def module_name(self) -> str:
        return Path(self.manifest.submission_file).stem

    def data_paths(self) -> tuple[Path, str]:
        """(host folder the grader writes, the same folder as the worker sees it)."""
        return self.host_dirs["data"], self.spawner.worker_path(self, "data")

    def start(self) -> None:
        """Start the worker now so torch imports while the grader collects tests."""
        if self.staged is None or self.worker is not None:
            return
        self.worker = self.spawner.spawn(self)
        self.generation += 1
        self.starts += 1

    def ensure(self) -> Channel:
        """A live worker with the submission imported (started or restarted as needed)."""
        if self.submission_error is not None:
            raise ImportFailure(f"nothing to grade: {self.submission_error}")
        if self.import_failure is not None:
            raise self.import_failure
        if time.monotonic() > self.deadline:
            self.stopped = True
            raise GradingStopped("the grading time limit for this submission was reached")
        if self.worker is not None and self.worker.alive and self.imported:
            return self.worker
        if self.worker is not None and not self.worker.alive:
            self.worker.kill()
            self.worker = None
        if self.starts > self.manifest.limits.max_restarts:
            raise GradingStopped("too many crashes or timeouts: remaining tests were not run")
        if self.worker is None:
            if self.starts > 0:
                self.stats["restarts"] += 1
            self.start()
        self._import()
        assert self.worker is not None
        return self.worker

    def _import(self) -> None:
        worker = self.worker
        assert worker is not None
        try:
            hello, _ = worker.request({"op": "hello"}, timeout=STARTUP_TIMEOUT_S)
        except (protocol.ReplyTimeout, WorkerGone) as exc:
            worker.kill()
            self.worker = None
            raise GradingStopped(f"the sandbox could not start ({exc}); see the instructor") from None
        value = hello.get("value") if isinstance(hello.get("value"), dict) else {}
        self.weaker_limits.update(str(w)[:200] for w in list(value.get("weaker_limits") or [])[:20])
        timeout = self.manifest.limits.import_timeout_s
        forbidden = list(self.manifest.forbidden.python)
        try:
            reply, _ = worker.request({"op": "import", "module": self.module_name, "forbidden": forbidden},
                                      timeout=timeout)
        except protocol.ReplyTimeout:
            worker.kill()
            self.import_status = "timeout"
            self.import_failure = ImportFailure(
                f"importing {self.manifest.submission_file} did not finish within {timeout:g} s "
                "(is there an infinite loop or a long computation at the top level?)")
            raise self.import_failure from None
        except WorkerGone as exc:
            self.import_status = "crashed"
            self.import_failure = ImportFailure(
                f"importing {self.manifest.submission_file} ended the worker process ({exc.exit_status})",
                worker.output.text()[-1500:])
            raise self.import_failure from None
        if not reply.get("ok"):
            err = reply.get("error") or {}
            self.import_status = "crashed"
            self.import_failure = _import_error(self.manifest.submission_file, err, reply.get("violations"))
            worker.kill()
            raise self.import_failure
        self.names = {str(k): str(v) for k, v in dict(reply.get("value") or {}).items()}
        self.imported = True
        self.import_status = "ok"

    def restart(self) -> None:
        """Kill the worker (after a timeout or crash); the next call starts a new one."""
        if self.worker is not None:
            self.worker.kill()
        self.worker = None
        self.imported = False

    def freeze(self) -> None:
        """Stop every process of the worker (SIGSTOP), e.g. while the other side is timed."""
        if self.worker is not None:
            self.worker.freeze()

    def thaw(self) -> None:
        if self.worker is not None:
            self.worker.thaw()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def output(self) -> str:
        return self.worker.output.text() if self.worker is not None else ""

    # ------------------------------------------------------------ requests

    def request(self, header: dict[str, Any], buffers: Sequence[Any] = (), *, timeout: float, label: str,
                call_text: str = "") -> tuple[dict[str, Any], list[bytearray]]:
        """Send one request to the worker (started and imported first if needed) and return its reply.

        A timeout or a dead worker restarts the worker and raises ``CallTimeout`` or
        ``WorkerCrashed``; a forbidden call, reported with the reply or as an alarm while it
        ran, raises ``ForbiddenCallError``. Any other reply (``ok`` or not) is returned.
        """
        worker = self.ensure()
        try:
            reply, bufs = worker.request(header, list(buffers), timeout=timeout)
        except protocol.ReplyTimeout:
            self.restart()
            raise CallTimeout(label, call_text, timeout) from None
        except WorkerGone as exc:
            output = worker.output.text()
            self.restart()
            raise WorkerCrashed(label, call_text, exc.exit_status, output) from None
        violations = [v for v in list(reply.get("violations") or []) + worker.alarms if isinstance(v, dict)]
        worker.alarms = []
        if violations:
            raise ForbiddenCallError(label, violations)
        return reply, bufs

    def decoder(self, buffers: list[bytearray], make_handle: MakeHandle | None = None) -> protocol.Decoder:
        """Rebuilds a reply's value; ``make_handle(id, type_name)`` turns a handle into a proxy."""
        def on_handle(data: dict[str, Any]) -> Any:
            handle_id = data.get("$handle")
            if type(handle_id) is not int or make_handle is None:
                raise protocol.ProtocolError("bad handle")
            return make_handle(handle_id, str(data.get("type", "object"))[:200])

        limits = self.worker.limits if self.worker is not None else protocol.Limits()
        return protocol.Decoder(buffers, limits, on_handle=on_handle)

    def call(self, target: dict[str, Any], args: tuple, kwargs: dict, *, label: str, part: str | None,
             make_handle: MakeHandle | None = None, timeout: float | None = None, want: str = "value",
             check_inputs: bool = True) -> Any:
        """Call student code in the worker; the value comes back rebuilt, its origin recorded."""
        # a builtin on a handle (len, getattr, iteration) is described by its label alone
        call_text = label if "builtin" in target else describe_call(label, args, kwargs)
        if self.timeouts_by_fn.get(label, 0) >= REPEATED_FAILURES:
            raise CallTimeout(label, call_text, 0, repeated=True)
        if self.crashes_by_fn.get(label, 0) >= REPEATED_FAILURES:
            raise WorkerCrashed(label, call_text, "not run again: it already ended the worker twice")
        self.ensure()
        self.stats["calls"] += 1
        encoder = protocol.Encoder(on_object=_encode_remote)
        sent_args = encoder.encode(list(args))
        sent_kwargs = encoder.encode(dict(kwargs))
        sent_tensors = tensors_in((args, kwargs))
        want_inputs = check_inputs and bool(sent_tensors)
        req = {"op": "call", "target": target, "args": sent_args, "kwargs": sent_kwargs,
               "forbidden": self.manifest.forbidden_for(part), "want": want, "return_inputs": want_inputs}
        if timeout is None:
            p = self.manifest.part(part) if part in {x.name for x in self.manifest.parts} else None
            timeout = (p.timeout_s if p and p.timeout_s else None) or self.manifest.limits.call_timeout_s
        timeout = min(timeout, max(self.deadline - time.monotonic(), 0.1))
        try:
            reply, buffers = self.request(req, encoder.buffers, timeout=timeout, label=label, call_text=call_text)
        except CallTimeout:
            self.stats["timeouts"] += 1
            self.timeouts_by_fn[label] = self.timeouts_by_fn.get(label, 0) + 1
            raise
        except WorkerCrashed:
            self.stats["crashes"] += 1
            self.crashes_by_fn[label] = self.crashes_by_fn.get(label, 0) + 1
            raise
        except ForbiddenCallError:
            self.stats["forbidden"] += 1
            raise
        if not reply.get("ok"):
            raise StudentError(label, call_text, reply.get("error") or {})
        try:
            decoder = self.decoder(buffers, make_handle)
            value = decoder.decode(reply.get("value"))
            rule = self.manifest.dtype_rule_for(part)
            for tensor, claim in decoder.claims:
                origins.record(tensor, origins.Origin(fn=label, call=call_text, dtype_rule=rule, **claim))
            if not isinstance(value, torch.Tensor):
                origins.record(value, origins.Origin(fn=label, call=call_text, dtype_rule=rule))
            if want_inputs:
                echoed = decoder.decode(reply.get("inputs"))
                _check_unchanged(label, call_text, sent_tensors, tensors_in(echoed))
        except protocol.ProtocolError as exc:
            self.restart()
            raise WorkerCrashed(label, call_text, f"invalid reply: {exc}") from None
        return value

    def release_all(self) -> None:
        if self.worker is not None and self.worker.alive and self.imported:
            try:
                self.worker.request({"op": "release", "ids": "all"}, timeout=10)
            except (protocol.ReplyTimeout, WorkerGone):
                self.restart()


def _encode_remote(value: Any) -> dict[str, Any]:
    if isinstance(value, Remote):
        return {"$handle": value.handle.id}
    raise protocol.ProtocolError(f"cannot send a {type(value).__name__} to the worker")


def _import_error(filename: str, err: dict, violations: Any) -> ImportFailure:
    type_name = str(err.get("type", "Exception"))[:100]
    message = str(err.get("message", ""))[:2000]
    if type_name in ("SyntaxError", "IndentationError", "TabError"):
        line = err.get("lineno")
        text = str(err.get("text", "")).rstrip()
        return ImportFailure(f"{filename} has a {type_name} on line {line}: {message}",
                             f"    {text}" if text else "")
    if violations:
        names = sorted({str(v.get("name")) for v in violations if isinstance(v, dict)})
        return ImportFailure(f"{filename} calls a forbidden function at import time: {', '.join(names)}")
    tb = err.get("traceback") or []
    details = "\n".join(f"  {f[0]}:{f[1]} in {f[2]}: {f[3]}" for f in tb if isinstance(f, list) and len(f) == 4)
    return ImportFailure(f"importing {filename} raised {type_name}: {message}", details)


def _raw_bytes(t: torch.Tensor) -> torch.Tensor:
    """The values as bytes (NaN equals NaN, -0.0 differs from 0.0), whatever the strides.

    A fresh flat copy: ``contiguous()`` keeps odd strides on size-1 dimensions (a [1] view with
    stride 2 counts as contiguous), which ``view(torch.uint8)`` rejects.
    """
    if not t.numel():
        return t
    return torch.empty(t.numel(), dtype=t.dtype).copy_(t.reshape(-1)).view(torch.uint8)


def _check_unchanged(label: str, call: str, sent: list[torch.Tensor], echoed: list[torch.Tensor]) -> None:
    if len(sent) != len(echoed):
        raise InputMutated(label, call, "(the inputs came back changed in number)")
    for i, (a, b) in enumerate(zip(sent, echoed)):
        a_cpu = a.detach().cpu()
        if type(b) is not torch.Tensor or a_cpu.shape != b.shape or a_cpu.dtype != b.dtype:
            raise InputMutated(label, call, f"#{i + 1}")
        if not torch.equal(_raw_bytes(a_cpu), _raw_bytes(b)):
            raise InputMutated(label, call, f"#{i + 1} ({describe(a)})")

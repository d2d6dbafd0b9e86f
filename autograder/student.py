"""The ``student`` object graders call: a proxy whose every call runs in the worker.

``student.expand_to(x, (3, 4))`` sends ``x`` as raw bytes, runs the student's
function in the sandbox under the part's forbidden list and timeout, and
rebuilds the reply as fresh grader-side values. Objects that are not plain
data (a Dataset, a Module) stay in the worker and come back as
``RemoteObject`` handles whose methods are calls again. A hang or crash kills
that worker; the next call starts a fresh one, so one bad function costs only
its own tests.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from autograder.failures import (
    CallTimeout,
    ForbiddenCallError,
    GradingFailure,
    GradingStopped,
    ImportFailure,
    InputMutated,
    MissingName,
    StudentError,
    WorkerCrashed,
)
from autograder.manifest import Manifest
from autograder.policy import policy_for
from autograder.sandbox import protocol
from autograder.sandbox.capabilities import Capabilities, detect
from autograder.sandbox.launcher import Policy, WorkerGone, WorkerProcess
from autograder.submission import StagedSubmission, SubmissionError, stage

STARTUP_TIMEOUT_S = 120.0
REPEATED_FAILURES = 2  # after this many timeouts (or crashes) a function's remaining calls fail at once


def describe(value: Any, depth: int = 0) -> str:
    """A short, readable description of an argument: shapes and dtypes, not values."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        extra = "" if value.is_contiguous() or value.numel() <= 1 else ", non-contiguous"
        if value.device.type != "cpu":
            extra += f", {value.device}"
        return f"{dtype}[{', '.join(map(str, value.shape))}]" + (f" ({extra[2:]})" if extra else "")
    if isinstance(value, RemoteObject):
        return f"<{value.type_name.rsplit('.', 1)[-1]}>"
    if isinstance(value, protocol.Helper):
        return f"<{value.name}>"
    if isinstance(value, protocol.Handle):
        return f"<{value.type_name.rsplit('.', 1)[-1]}>"
    if depth > 2:
        return "..."
    if isinstance(value, tuple):
        inner = ", ".join(describe(v, depth + 1) for v in value[:8])
        return f"({inner}{', ...' if len(value) > 8 else ''}{',' if len(value) == 1 else ''})"
    if isinstance(value, list):
        return f"[{', '.join(describe(v, depth + 1) for v in value[:8])}{', ...' if len(value) > 8 else ''}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {describe(v, depth + 1)}" for k, v in list(value.items())[:8]) + "}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_LAST_CALL = [""]


def last_call() -> str:
    """The most recent call into student code (for feedback on plain, non-tensor results)."""
    return _LAST_CALL[0]


def describe_call(name: str, args: tuple, kwargs: dict) -> str:
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


class StudentSession:
    """One submission's worker, restarted when needed, for the whole grading run."""

    def __init__(self, manifest: Manifest, submission: Path | None, *, device: str = "cpu",
                 caps: Capabilities | None = None, workdir: Path | None = None,
                 policy: Policy | None = None, extra_student_dirs: list[str] = (),
                 spawner: Any = None) -> None:
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
        lim = manifest.limits
        self.policy = policy or policy_for(manifest, device)
        self.extra_student_dirs = list(extra_student_dirs)
        self.spawner = spawner or LocalSpawner()
        self.worker: Any = None
        self.generation = 0
        self.starts = 0
        self.imported = False
        self.import_failure: GradingFailure | None = None
        self.names: dict[str, str] = {}
        self.deadline = time.monotonic() + lim.total_timeout_s
        self.stats = {"calls": 0, "timeouts": 0, "crashes": 0, "forbidden": 0, "restarts": 0}
        self.weaker_limits: set[str] = set()  # rlimits the worker could not apply (reported as missing)
        self.import_status = "not started"
        self.stopped = False
        self.last_call = ""
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

    def _ensure(self) -> WorkerProcess:
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

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def output(self) -> str:
        return self.worker.output.text() if self.worker is not None else ""

    # ------------------------------------------------------------ calls

    def call(self, target: dict[str, Any], args: tuple, kwargs: dict, *, label: str, part: str | None,
             timeout: float | None = None, want: str = "value", check_inputs: bool = True) -> Any:
        # a builtin on a handle (len, getattr, iteration) is described by its label alone
        call_text = label if "builtin" in target else describe_call(label, args, kwargs)
        self.last_call = _LAST_CALL[0] = call_text
        if self.timeouts_by_fn.get(label, 0) >= REPEATED_FAILURES:
            raise CallTimeout(label, call_text, 0, repeated=True)
        if self.crashes_by_fn.get(label, 0) >= REPEATED_FAILURES:
            raise WorkerCrashed(label, call_text, "not run again: it already ended the worker twice")
        worker = self._ensure()
        self.stats["calls"] += 1
        encoder = protocol.Encoder(on_object=_encode_remote)
        sent_args = encoder.encode(list(args))
        sent_kwargs = encoder.encode(dict(kwargs))
        sent_tensors = _tensors_in((args, kwargs))
        want_inputs = check_inputs and bool(sent_tensors)
        req = {"op": "call", "target": target, "args": sent_args, "kwargs": sent_kwargs,
               "forbidden": self.manifest.forbidden_for(part), "want": want, "return_inputs": want_inputs}
        if timeout is None:
            p = self.manifest.part(part) if part in {x.name for x in self.manifest.parts} else None
            timeout = (p.timeout_s if p and p.timeout_s else None) or self.manifest.limits.call_timeout_s
        timeout = min(timeout, max(self.deadline - time.monotonic(), 0.1))
        try:
            reply, buffers = worker.request(req, encoder.buffers, timeout=timeout)
        except protocol.ReplyTimeout:
            self.stats["timeouts"] += 1
            self.timeouts_by_fn[label] = self.timeouts_by_fn.get(label, 0) + 1
            self.restart()
            raise CallTimeout(label, call_text, timeout) from None
        except WorkerGone as exc:
            self.stats["crashes"] += 1
            self.crashes_by_fn[label] = self.crashes_by_fn.get(label, 0) + 1
            output = worker.output.text()
            self.restart()
            raise WorkerCrashed(label, call_text, exc.exit_status, output) from None
        violations = list(reply.get("violations") or []) + worker.alarms
        worker.alarms = []
        if violations:
            self.stats["forbidden"] += 1
            raise ForbiddenCallError(label, [v for v in violations if isinstance(v, dict)])
        if not reply.get("ok"):
            raise StudentError(label, call_text, reply.get("error") or {})
        try:
            decoder = protocol.Decoder(buffers, worker.limits, on_handle=self._handle_factory(part))
            value = decoder.decode(reply.get("value"))
            for tensor in _tensors_in(value):
                origin = protocol.origin_of(tensor)
                if origin is not None:
                    origin.fn, origin.call = label, call_text
                    origin.dtype_rule = self.manifest.dtype_rule_for(part)
            if want_inputs:
                echoed = decoder.decode(reply.get("inputs"))
                _check_unchanged(label, call_text, sent_tensors, _tensors_in(echoed))
        except protocol.ProtocolError as exc:
            self.restart()
            raise WorkerCrashed(label, call_text, f"invalid reply: {exc}") from None
        return value

    def _handle_factory(self, part: str | None) -> Any:
        def make(data: dict[str, Any]) -> RemoteObject:
            handle_id = data.get("$handle")
            if type(handle_id) is not int:
                raise protocol.ProtocolError("bad handle")
            return RemoteObject(self, handle_id, str(data.get("type", "object"))[:200], part, self.generation)
        return make

    def release_all(self) -> None:
        if self.worker is not None and self.worker.alive and self.imported:
            try:
                self.worker.request({"op": "release", "ids": "all"}, timeout=10)
            except (protocol.ReplyTimeout, WorkerGone):
                self.restart()


class LocalSpawner:
    """Each worker is a fresh sandboxed process (one submission at a time: `grade`, `check`)."""

    def spawn(self, session: StudentSession) -> WorkerProcess:
        worker = WorkerProcess(session.policy, session.host_dirs, session.extra_student_dirs, session.caps)
        worker.start()
        return worker

    def worker_path(self, session: StudentSession, kind: str) -> str:
        return WorkerProcess(session.policy, session.host_dirs, [], session.caps).worker_path(kind)


def _encode_remote(value: Any) -> dict[str, Any]:
    if isinstance(value, RemoteObject):
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


def _tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_in(v)]
    return []


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


class RemoteCallable:
    """A function, class or bound method that lives in the worker."""

    def __init__(self, session: StudentSession, target: dict[str, Any], label: str, part: str | None) -> None:
        self._session, self._target, self._label, self._part = session, target, label, part

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self._target, args, kwargs, label=self._label, part=self._part)

    def call(self, *args: Any, _timeout: float | None = None, _want: str = "value",
             _check_inputs: bool = True, **kwargs: Any) -> Any:
        """Like calling it, with options: a timeout, ``_want="handle"``, no input check."""
        return self._session.call(self._target, args, kwargs, label=self._label, part=self._part,
                                  timeout=_timeout, want=_want, check_inputs=_check_inputs)

    def __repr__(self) -> str:
        return f"<student {self._label}>"


class RemoteObject:
    """An object that stays in the worker; attribute access gives remote methods."""

    def __init__(self, session: StudentSession, handle_id: int, type_name: str, part: str | None,
                 generation: int) -> None:
        self._session, self._id, self.type_name = session, handle_id, type_name
        self._part, self._generation = part, generation

    @property
    def short_type(self) -> str:
        return self.type_name.rsplit(".", 1)[-1]

    def _target(self, attr: str | None = None) -> dict[str, Any]:
        if self._generation != self._session.generation:
            raise GradingFailure(f"a {self.short_type} object was lost when the worker was restarted "
                                 "after an earlier crash or timeout")
        target: dict[str, Any] = {"handle": self._id}
        if attr is not None:
            target["attr"] = attr
        return target

    def _builtin(self, name: str, *args: Any, label: str) -> Any:
        self._target()
        return self._session.call({"builtin": name}, (protocol.Handle(self._id), *args), {},
                                  label=label, part=self._part, check_inputs=False)

    def __getattr__(self, name: str) -> RemoteCallable:
        if name.startswith(("_", "hypothesis_")):
            raise AttributeError(name)
        return RemoteCallable(self._session, self._target(name), f"{self.short_type}.{name}", self._part)

    def method(self, name: str) -> RemoteCallable:
        """A remote method, including dunder methods such as ``__getitem__``."""
        return RemoteCallable(self._session, self._target(name), f"{self.short_type}.{name}", self._part)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self._target(), args, kwargs, label=f"{self.short_type}(...)",
                                  part=self._part)

    def attr(self, name: str) -> Any:
        """The value of a plain attribute (``subset.indices``)."""
        return self._builtin("getattr", name, label=f"{self.short_type}.{name}")

    def length(self) -> Any:
        """``len(obj)`` as the student's code answers it (may be any value)."""
        return self._builtin("len", label=f"len({self.short_type})")

    def __len__(self) -> int:
        n = self.length()
        if type(n) is not int or n < 0:
            raise GradingFailure(f"len() of a {self.short_type} returned {describe(n)}, not a non-negative int")
        return n

    def __getitem__(self, index: Any) -> Any:
        return self.method("__getitem__")(index)

    def items(self, limit: int = 100_000) -> list[Any]:
        """``list(obj)``: iterate in the worker, return every item."""
        return self._builtin("list", limit, label=f"iterating a {self.short_type}")

    def __iter__(self) -> Any:
        return iter(self.items())

    def isinstance_of(self, kind: str) -> bool:
        return self._builtin("isinstance", kind, label=f"isinstance({self.short_type}, {kind})") is True

    @property
    def handle(self) -> protocol.Handle:
        self._target()
        return protocol.Handle(self._id)

    def __repr__(self) -> str:
        return f"<remote {self.type_name}>"


class StudentModule:
    """What a grader sees as ``student``: the submission's top-level names."""

    def __init__(self, session: StudentSession) -> None:
        self._session = session

    def _names(self) -> dict[str, str]:
        self._session._ensure()
        return self._session.names

    def __getattr__(self, name: str) -> RemoteCallable:
        if name.startswith("_"):
            raise AttributeError(name)
        names = self._names()
        if name not in names:
            raise MissingName(self._session.manifest.submission_file, name)
        return RemoteCallable(self._session, {"attr": name}, name, name)

    def defines(self, name: str) -> bool:
        return name in self._names()

    def __repr__(self) -> str:
        return f"<student module {self._session.module_name}>"

"""The graders, run against names in this very interpreter: what otter-grader and nbgrader expect.

otter and nbgrader run their tests in the student's own kernel, next to the
student's code. To give them the same graders, feedback and scores as
``autograder check``, this replaces the sandboxed worker with an object that
serves the same requests from a namespace (the notebook's globals): the
protocol's encoding still turns every result into fresh tensors, so graders see
exactly what they would see from a real worker. What is lost is the sandbox:
no separate process, no per-call timeout, no forbidden-call guards, no rlimits.
That is the otter/nbgrader trust model, and the exports' README says so.
"""

from __future__ import annotations

import json
import tempfile
import types
from pathlib import Path
from typing import Any

from autograder.sandbox import protocol
from autograder.sandbox.capabilities import Capabilities

IN_PROCESS = Capabilities(bwrap=False, drop_uid=False, root=False, missing=(
    "in-process (otter/nbgrader): the student's code runs in the grader's own interpreter, "
    "without sandbox, timeouts or forbidden-call guards",
))
STUDENT_FILES = (f"{tempfile.gettempdir()}/ipykernel_", "<ipython-input-", "<string>")


class _Output:
    def text(self) -> str:
        return ""


class InProcessWorker:
    """Answers the worker protocol from a namespace; requests and replies still go through JSON."""

    def __init__(self, namespace: dict[str, Any], module_name: str, max_reply_mb: int) -> None:
        from autograder.sandbox.worker import Worker

        self._worker = Worker({"student_dirs": list(STUDENT_FILES)}, -1, -1)
        self._namespace = namespace
        self._module_name = module_name
        self.alive = True
        self.alarms: list[dict[str, Any]] = []
        self.output = _Output()
        self.limits = protocol.Limits(max_buffer_bytes=max_reply_mb << 20)

    def request(self, header: dict[str, Any], buffers: list[Any] = (), timeout: float | None = None
                ) -> tuple[dict[str, Any], list[bytearray]]:
        header = json.loads(json.dumps(header))
        op = header.get("op")
        if op == "hello":
            return {"ok": True, "value": {"in_process": True}}, []
        if op == "import":
            module = types.ModuleType(self._module_name)
            module.__dict__.update({k: v for k, v in self._namespace.items() if isinstance(k, str)})
            self._worker.module = module
            names = {k: "class" if isinstance(v, type) else "function" if callable(v) else "other"
                     for k, v in vars(module).items() if not k.startswith("__")}
            return {"ok": True, "value": names}, []
        reply, out = self._worker.handle(header, [bytearray(b) for b in buffers])
        return json.loads(json.dumps(reply)), [bytearray(b) for b in out]

    def kill(self) -> str:
        self.alive = False
        return ""

    def stop(self) -> None:
        self.kill()


class InProcessSpawner:
    """A ``spawner`` for ``grading.grade``: every worker is the namespace itself."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace

    def new_workdir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="autograder-inprocess-"))

    def spawn(self, session: Any) -> InProcessWorker:
        return InProcessWorker(self.namespace, session.module_name, session.policy.limits.max_reply_mb)

    def worker_path(self, session: Any, kind: str) -> str:
        return str(session.host_dirs[kind])

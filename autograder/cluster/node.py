"""One grading slot on a Ray node: a long-lived actor that is a grader process with a pre-warmed zygote.

The actor is what a grader process of the local pool is: it unpacks the course
bundle once, starts one zygote (a sandboxed process that has imported torch and
installed the guards), and then grades one submission at a time by forking a
worker from it, under the same bubblewrap, uid drop and rlimits as locally. It
reserves one CPU (and, with ``--device cuda``, a share of the node's GPUs).

A reply is a JSON string, never a Python object: the head parses and validates
it as it would a local result. Timed sections on one node are serialised by a
lock file named after the node (see ``timing_fixture.exclusive_timing``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from autograder.batch.runner import Task, grade_one
from autograder.cluster.bundle import PackedSubmission, unpack_course, unpack_submission
from autograder.timing_fixture import TIMING_LOCK_ENV

ROOT_PREFIX = "autograder-node-"  # + the slot's pid: a folder whose process is gone is swept by the next slot


def _sweep_dead_slots() -> None:
    """Remove the folders of slots that died without cleaning up (their node was killed)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*-*"):
        pid = folder.name[len(ROOT_PREFIX):].split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


class NodeGrader:
    """Decorated with ``ray.remote`` by the head (``ray_pool.grader_class``), so importing needs no Ray."""

    def __init__(self, course: bytes, directory_name: str, device: str) -> None:
        import ray

        self.node_id = ray.get_runtime_context().get_node_id()
        _sweep_dead_slots()
        self.root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-"))
        self.root.chmod(0o711)
        self.assignment = unpack_course(course, self.root / "course", directory_name)
        (self.root / "subs").mkdir(mode=0o700)
        self.device = _node_device(device)
        # One lock per node: all slots of this node (and only they) share it.
        os.environ[TIMING_LOCK_ENV] = str(Path(tempfile.gettempdir()) / f"autograder-timing-{self.node_id[:24]}.lock")
        from autograder.sandbox.launcher import Policy
        from autograder.sandbox.pool import start_spawner

        self.spawner = start_spawner(Policy.for_manifest(self.assignment.manifest, self.device), self.root / "jobs")

    def info(self) -> dict[str, Any]:
        """Where this slot runs and how it grades (shown by the head, checked by the tests)."""
        from autograder.sandbox.capabilities import detect

        caps = detect()
        return {"node_id": self.node_id, "host": socket.gethostname(), "pid": os.getpid(), "device": self.device,
                "zygote": self.spawner is not None, "sandbox_missing": list(caps.missing)}

    def grade(self, student: str, content_hash: str, packed: PackedSubmission) -> str:
        """Grade one submission; the outcome as JSON (grade_one never raises)."""
        folder = Path(tempfile.mkdtemp(dir=self.root / "subs"))
        try:
            try:
                path = unpack_submission(packed, folder)
            except Exception as exc:  # noqa: BLE001 - a broken archive is the submission's problem
                path = folder / "unreadable-submission"
                path.write_text(f"# the submission could not be unpacked: {type(exc).__name__}\n")
            outcome = grade_one(self.assignment, Task(student, str(path), content_hash), self.device, self.spawner)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return json.dumps({**dataclasses.asdict(outcome), "node_id": self.node_id})

    def close(self) -> None:
        if self.spawner is not None:
            self.spawner.close()
            self.spawner = None
        shutil.rmtree(self.root, ignore_errors=True)


def _node_device(device: str) -> str:
    """``auto`` resolves on the node; ``cuda`` is only asked of nodes that have a GPU."""
    from autograder.grading import resolve_device

    return resolve_device(device)

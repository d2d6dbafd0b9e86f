"""The batch pool on a Ray cluster: slots on every node, results back as data, node loss survived.

``RayPool.run`` has the local ``Pool.run``'s contract: every task ends in exactly
one ``on_outcome`` call, made on the head, which alone writes the store. Each
node gets one ``NodeGrader`` actor per CPU (a grader process with its own
pre-warmed zygote); the head hands a slot one submission at a time, so a slot
never queues work that could be lost.

Faults:
- a node lost mid-run (raylet killed, machine gone): its slots die with it; the
  submissions they held go back to the queue and are graded elsewhere; nothing
  was written for them, so nothing is duplicated;
- a slot that dies while its node still looks alive (Ray may report a node's
  death some seconds after its actors'): its submission is tried once more
  elsewhere, then recorded ``crashed`` (locally a dead grader process is
  ``crashed`` at once);
- a slot that overruns the batch's limit is killed and its submission recorded
  ``timeout``, as locally; the slot is replaced on the same node;
- Ctrl-C: the slots are killed, the connection closed, and the exception goes
  on; the store holds every submission finished so far and a re-run resumes.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autograder.batch.runner import Outcome, Task, lost_outcome
from autograder.cluster.bundle import pack_course, pack_submission
from autograder.cluster.connect import connect
from autograder.cluster.reply import BadReply, parse_reply
from autograder.course import Assignment
from autograder.grading import FrameworkError

NODE_LOSSES_ALLOWED = 3  # per submission: a submission that outlives this many nodes is recorded crashed
DEATHS_ALLOWED = 2  # per submission, slots dying on live nodes
START_TIMEOUT_S = 300.0  # a slot unpacks the course and starts a zygote (imports torch) before its first grade
NO_SLOTS_GRACE_S = 60.0  # how long to wait for a node to (re)appear when every slot is gone
RESCAN_S = 5.0  # new nodes are picked up this often


@dataclass
class Slot:
    actor: Any
    node_id: str
    ready: Any = None  # ref of the actor's info() until it has answered
    task: Task | None = None
    ref: Any = None
    started: float = 0.0  # when the slot was created, then when its current task was sent


@dataclass
class Node:
    node_id: str
    address: str
    cpus: int
    gpus: float
    slots: list[Slot] = field(default_factory=list)
    lost: bool = False
    planned: int = 0


class RayPool:
    """Same interface as ``runner.Pool``, grading on the Ray cluster at ``address``."""

    def __init__(self, assignment: Assignment, device: str, address: str, per_task_limit: float,
                 slots_per_node: int | None = None, monitor: Any = None) -> None:
        self.assignment, self.device, self.address = assignment, device, address
        self.slots_per_node = slots_per_node
        self.monitor = monitor
        timed = sum(t.max_seconds + 30 for t in assignment.manifest.timed)
        self.base_limit, self.timed_wait = per_task_limit, timed  # a slot may wait for the node's timing lock
        self.nodes: dict[str, Node] = {}
        self.ray: Any = None
        self.course_ref: Any = None
        self.grader: Any = None

    # -- set-up -------------------------------------------------------------------------------------
    def _connect(self) -> None:
        self.ray = connect(self.address)
        if self.device == "auto":
            self.device = "cuda" if self.ray.cluster_resources().get("GPU", 0) > 0 else "cpu"
        if self.device == "cuda" and self.ray.cluster_resources().get("GPU", 0) <= 0:
            from autograder.course import UsageError

            raise UsageError("--device cuda was asked for, but no node of the Ray cluster has a GPU")
        from autograder.cluster.node import NodeGrader

        self.grader = self.ray.remote(max_restarts=0, max_task_retries=0)(NodeGrader)
        self.course_ref = self.ray.put(pack_course(self.assignment))

    def _scan(self) -> None:
        """Add slots on nodes not seen before (at start, and when a node joins mid-run)."""
        for info in self.ray.nodes():
            node_id = info["NodeID"]
            if not info.get("Alive") or node_id in self.nodes:
                continue
            res = info.get("Resources", {})
            cpus, gpus = int(res.get("CPU", 0)), float(res.get("GPU", 0))
            node = Node(node_id, info.get("NodeManagerAddress", "?"), cpus, gpus)
            self.nodes[node_id] = node
            usable = cpus if self.device == "cpu" or gpus > 0 else 0
            node.planned = min(usable, self.slots_per_node or usable)
            for _ in range(node.planned):
                self._new_slot(node)
            if self.monitor is not None and node.planned:
                self.monitor.node_added(node_id, node.address, node.planned)

    def _new_slot(self, node: Node) -> None:
        """Start one slot pinned to ``node``: 1 CPU, and with --device cuda its share of the node's GPUs."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options: dict[str, Any] = {"num_cpus": 1,
                                   "scheduling_strategy": NodeAffinitySchedulingStrategy(node.node_id, soft=False)}
        if self.device == "cuda":
            options["num_gpus"] = node.gpus / max(1, node.planned)
        actor = self.grader.options(**options).remote(self.course_ref, self.assignment.directory.name, self.device)
        node.slots.append(Slot(actor, node.node_id, ready=actor.info.remote(), started=time.monotonic()))

    def _limit(self, node_id: str) -> float:
        return self.base_limit + self.timed_wait * max(0, len(self.nodes[node_id].slots) - 1)

    # -- the run ------------------------------------------------------------------------------------
    def run(self, tasks: list[Task], on_outcome: Callable[[Outcome], None],
            on_forked: Callable[[], None] = lambda: None, on_start: Callable[[str], None] = lambda s: None) -> None:
        """Grade ``tasks`` on the cluster; every task ends in exactly one ``on_outcome``."""
        self.queue = collections.deque(tasks)
        self.remaining = {t.student for t in tasks}
        self.on_outcome, self.on_start = on_outcome, on_start
        self.node_losses: collections.Counter[str] = collections.Counter()
        self.deaths: collections.Counter[str] = collections.Counter()
        try:
            self._connect()
            on_forked()
            self._scan()
            self._loop()
        finally:
            self.close()

    def _slots(self) -> list[Slot]:
        return [s for n in self.nodes.values() for s in n.slots]

    def _loop(self) -> None:
        last_scan, no_slots_since = time.monotonic(), None
        while self.remaining:
            self._dispatch()
            slots = self._slots()
            waiting = {s.ready: s for s in slots if s.ready is not None}
            waiting.update({s.ref: s for s in slots if s.ref is not None})
            if not slots:
                no_slots_since = no_slots_since or time.monotonic()
                if time.monotonic() - no_slots_since > NO_SLOTS_GRACE_S:
                    raise FrameworkError(f"no Ray node is left to grade on ({len(self.remaining)} submissions "
                                         "not graded; a re-run grades them)")
                time.sleep(1.0)
            else:
                no_slots_since = None
            done = self.ray.wait(list(waiting), num_returns=1, timeout=1.0)[0] if waiting else []
            for ref in done:
                slot = waiting[ref]
                if slot not in self.nodes[slot.node_id].slots:
                    continue  # dropped meanwhile (its node was lost)
                if ref is slot.ready:
                    self._on_ready(slot)
                else:
                    self._on_reply(slot)
            self._watchdog()
            if time.monotonic() - last_scan > RESCAN_S:
                last_scan = time.monotonic()
                self._check_nodes()
                self._scan()

    def _dispatch(self) -> None:
        """Give each idle, started slot one submission."""
        for node in self.nodes.values():
            for slot in node.slots:
                if not self.queue:
                    return
                if slot.ready is None and slot.task is None:
                    task = self.queue.popleft()
                    slot.task, slot.started = task, time.monotonic()
                    slot.ref = slot.actor.grade.remote(task.student, task.content_hash, _packed(task))
                    self.on_start(task.student)
                    if self.monitor is not None:
                        self.monitor.started(slot.node_id)

    def _record(self, node_id: str, outcome: Outcome) -> None:
        self.remaining.discard(outcome.student)
        self.on_outcome(outcome)
        if self.monitor is not None:
            self.monitor.finished(node_id, outcome.status)

    def _on_reply(self, slot: Slot) -> None:
        task = slot.task
        try:
            payload = self.ray.get(slot.ref)
        except Exception as exc:  # noqa: BLE001 - a dead actor or node
            self._on_death(slot, exc)
            return
        slot.task = slot.ref = None
        try:
            outcome, _ = parse_reply(task, payload)
        except BadReply as exc:
            outcome = lost_outcome(task, "crashed", time.monotonic() - slot.started,
                                   f"returned an invalid result ({exc})")
        self._record(slot.node_id, outcome)

    def _on_ready(self, slot: Slot) -> None:
        try:
            self.ray.get(slot.ready)
            slot.ready = None
        except Exception as exc:  # noqa: BLE001 - the slot could not start (node gone, broken install...)
            self._on_death(slot, exc, replace=False)

    def _on_death(self, slot: Slot, exc: BaseException, replace: bool = True) -> None:
        """A slot died: if its node is gone, the whole node is lost; else the slot is replaced."""
        node = self.nodes[slot.node_id]
        if not self._node_alive(node.node_id):
            self._lose_node(node)
            return
        node.slots.remove(slot)
        self._kill(slot)
        if replace:
            self._replace(slot)
        if slot.task is not None:
            self._requeue_or_fail(node.node_id, slot, self.deaths, DEATHS_ALLOWED)

    def _requeue_or_fail(self, node_id: str, slot: Slot, counter: collections.Counter[str], allowed: int) -> None:
        task = slot.task
        counter[task.student] += 1
        if counter[task.student] < allowed:
            self.queue.appendleft(task)  # nothing was recorded for it: graded again elsewhere
            if self.monitor is not None:
                self.monitor.lost(node_id)
        else:
            self._record(node_id, lost_outcome(task, "crashed", time.monotonic() - slot.started))

    def _node_alive(self, node_id: str) -> bool:
        return any(info["NodeID"] == node_id and info.get("Alive") for info in self.ray.nodes())

    def _check_nodes(self) -> None:
        alive = {info["NodeID"] for info in self.ray.nodes() if info.get("Alive")}
        for node in self.nodes.values():
            if not node.lost and node.node_id not in alive:
                self._lose_node(node)

    def _lose_node(self, node: Node) -> None:
        """Requeue what the node's slots held, forget them; late replies from it are never read."""
        if node.lost:
            return
        node.lost = True
        for slot in list(node.slots):
            node.slots.remove(slot)
            self._kill(slot)
            if slot.task is not None:
                self._requeue_or_fail(node.node_id, slot, self.node_losses, NODE_LOSSES_ALLOWED)
        if self.monitor is not None:
            self.monitor.node_lost(node.node_id)

    def _replace(self, slot: Slot) -> None:
        self._new_slot(self.nodes[slot.node_id])

    def _watchdog(self) -> None:
        """Kill slots that overran the batch's limit; their submission is a ``timeout``, as locally."""
        now = time.monotonic()
        for node in self.nodes.values():
            for slot in list(node.slots):
                if slot.ready is not None and now - slot.started > START_TIMEOUT_S:
                    node.slots.remove(slot)  # never started (node too busy or broken): not replaced
                    self._kill(slot)
                    continue
                if slot.task is None or now - slot.started <= self._limit(node.node_id):
                    continue
                node.slots.remove(slot)
                self._kill(slot)
                self._replace(slot)
                self._record(node.node_id, lost_outcome(slot.task, "timeout", now - slot.started))

    def _kill(self, slot: Slot) -> None:
        try:
            self.ray.kill(slot.actor, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass

    def close(self) -> None:
        """Stop every slot (zygotes and job folders go with them) and leave the cluster."""
        if self.ray is None:
            return
        slots = self._slots()
        idle = [s.actor.close.remote() for s in slots if s.task is None and s.ready is None]
        if idle:
            try:
                self.ray.wait(idle, num_returns=len(idle), timeout=10.0)
            except Exception:  # noqa: BLE001 - best effort: the kill below is what counts
                pass
        for slot in slots:
            self._kill(slot)
        self.nodes.clear()
        self.ray.shutdown()
        self.ray = None


def _packed(task: Task) -> Any:
    from pathlib import Path

    try:
        return pack_submission(Path(task.path))
    except (OSError, ValueError) as exc:
        from autograder.cluster.bundle import PackedSubmission

        return PackedSubmission(f"{Path(task.path).name}.unreadable", False,
                                f"# not sent: {exc}\n".encode())


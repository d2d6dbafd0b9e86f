"""The terminal view of a cluster batch: one bar for the whole batch and one line per node."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class NodeProgress:
    """``BatchProgress``'s interface (begin/advance/end) plus the events ``RayPool`` reports per node.

    Per node: done (outcomes recorded), running (submissions held now), failed (outcomes other
    than ``graded`` and ``no_submission``, plus submissions lost with the node and graded elsewhere).
    """

    def __init__(self, console: Console) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), TextColumn("{task.fields[counts]}"),
                                 console=console, transient=False)
        self.total: Any = None
        self.rows: dict[str, Any] = {}
        self.stats: dict[str, Counter] = {}
        self.statuses: Counter = Counter()
        self.started_once = False

    def begin(self, total: int) -> None:
        self.progress.start()
        self.started_once = True
        self.total = self.progress.add_task("all nodes", total=total, counts="")

    def advance(self, outcome: Any) -> None:
        self.statuses[outcome.status] += 1
        text = "  ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        self.progress.update(self.total, advance=1, counts=text)

    def node_added(self, node_id: str, address: str, slots: int) -> None:
        self.stats[node_id] = Counter()
        self.rows[node_id] = self.progress.add_task(f"node {address} {node_id[:8]} ({slots} slots)", total=None,
                                                    counts="")
        self._show(node_id)

    def started(self, node_id: str) -> None:
        self.stats[node_id]["running"] += 1
        self._show(node_id)

    def finished(self, node_id: str, status: str) -> None:
        s = self.stats[node_id]
        s["running"] -= 1
        s["done"] += 1
        s["failed"] += status not in ("graded", "no_submission")
        self.progress.update(self.rows[node_id], advance=1)
        self._show(node_id)

    def lost(self, node_id: str) -> None:
        s = self.stats[node_id]
        s["running"] -= 1
        s["failed"] += 1
        self._show(node_id)

    def node_lost(self, node_id: str) -> None:
        self._show(node_id, "  [red]node lost[/red]")

    def _show(self, node_id: str, extra: str = "") -> None:
        s = self.stats[node_id]
        self.progress.update(self.rows[node_id],
                             counts=f"done {s['done']}  running {s['running']}  failed {s['failed']}{extra}")

    def end(self) -> None:
        if self.started_once:
            self.progress.stop()

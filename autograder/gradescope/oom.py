"""Make the sandbox, not the grader, the kernel's choice when the container runs out of memory.

Gradescope's container has 768 MB by default, while a worker may use far more
address space (the manifest's ``memory_mb``). When the container's memory cgroup
is full the kernel kills its "worst" process; if that were the grader, the run
would end with an autograder error instead of a graded outcome. Every process
below the grader (bubblewrap, the zygote and its children, plain workers) gets
``oom_score_adj`` 1000, so a memory bomb kills a worker, which grading already
reports as a crash of the student's code. Children forked later inherit the value;
a watcher thread catches processes started by the grader itself.
"""

from __future__ import annotations

import os
import threading

from autograder.sandbox.procs import descendants

VICTIM = 1000


def mark_victims(pid: int) -> int:
    """Raise ``oom_score_adj`` of every descendant of ``pid`` to 1000; returns how many changed."""
    changed = 0
    for child in descendants(pid):
        path = f"/proc/{child}/oom_score_adj"
        try:
            with open(path) as fh:
                if int(fh.read()) >= VICTIM:
                    continue
            with open(path, "w") as fh:
                fh.write(str(VICTIM))
            changed += 1
        except (OSError, ValueError):
            continue
    return changed


class VictimWatcher(threading.Thread):
    """Marks the grader's descendants every ``period`` seconds until stopped."""

    def __init__(self, period: float = 0.25) -> None:
        super().__init__(daemon=True, name="oom-victims")
        self.period = period
        self.stopped = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while True:
            mark_victims(me)
            if self.stopped.wait(self.period):
                return

    def stop(self) -> None:
        self.stopped.set()

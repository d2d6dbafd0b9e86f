"""A pre-warmed worker template for batch grading: import once, fork per submission.

Starting Python and importing torch costs about a second; a batch of hundreds of
submissions should not pay it each time. The zygote runs inside the same
bubblewrap sandbox as a worker, imports torch and installs the assignment's
guards, then waits. For each submission the grader sends, over a Unix socket,
the child's pipe ends and its settings; the zygote forks, and the child
- starts a new session, takes the pipes as its channel and stdout/stderr,
- makes its private scratch folder, applies the rlimits,
- drops to the submission's own uid (each job folder is readable by that uid
  only, so no student can read another's submission),
before it touches any student code. CUDA and thread pools are never
initialised in the zygote (they do not survive fork).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from typing import Any

STATUS: dict[int, int] = {}


def _reap(signum: int, frame: Any) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        STATUS[pid] = status


def _child(config: dict[str, Any], fds: list[int]) -> None:
    """Runs in the forked child: become the submission's sandboxed worker, then serve."""
    from autograder.sandbox import guards, limits, worker

    req_r, rep_w, out_w = fds
    os.setsid()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    scratch = config["scratch"]
    config["weaker_limits"] = limits.apply(config["rlimits"])
    worker.drop_privileges(config["uid"], config["uid"])
    os.makedirs(scratch, mode=0o700, exist_ok=True)  # after the drop: owned by the submission's uid
    os.environ.update(HOME=scratch, TMPDIR=scratch, MPLCONFIGDIR=scratch)
    worker.prepare(config)
    w = worker.Worker(config, req_r, rep_w)
    guards.configure(config["student_dirs"], w.alarm)
    w.serve()
    worker._flush_std()
    os._exit(0)


def serve(control: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 16, 8)
        except InterruptedError:
            continue
        if not data:
            return
        request = json.loads(data)
        if request.get("op") == "status":
            pid = int(request["pid"])
            control.sendall(json.dumps({"status": STATUS.pop(pid, None)}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            try:
                _child(request, fds)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        control.sendall(json.dumps({"pid": pid}).encode())


def main(argv: list[str]) -> None:
    config = json.loads(argv[1])
    sys.path[:] = config["sys_path"]
    import torch  # noqa: F401 - the point of the zygote: imported once, shared by every child

    from autograder.sandbox import bench, guards

    bench.capture_clocks()
    guards.install(config.get("forbidden", {}), config.get("student_dirs", []))
    control = socket.socket(fileno=int(config["control_fd"]))
    control.sendall(b'{"ready": true}')
    serve(control)


if __name__ == "__main__":
    main(sys.argv)

"""What isolation this machine can give, probed once, and what is missing without it.

Grading never silently runs with weaker isolation: ``missing`` lists every
protection that is not in force, and the CLI and the instructor-visible part of
the results repeat it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Capabilities:
    bwrap: bool
    drop_uid: bool
    root: bool
    missing: tuple[str, ...] = field(default_factory=tuple)

    @property
    def in_force(self) -> list[str]:
        out = ["separate worker process", "rlimits (CPU, memory, file size, open files, no core)",
               "per-call wall-clock timeout", "output capped", "values as plain data (no pickle)"]
        if self.bwrap:
            out += ["bubblewrap: no network, read-only minimal filesystem, private /tmp",
                    "own pid namespace that dies with the grader", "empty environment"]
        else:
            out += ["empty environment"]
        if self.drop_uid:
            out += ["unprivileged per-worker uid (process-count limit enforced)"]
        return out


def _bwrap_works() -> bool:
    exe = shutil.which("bwrap")
    if not exe:
        return False
    argv = [exe, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--die-with-parent"]
    if os.geteuid() != 0:
        argv.append("--unshare-user")
    try:
        return subprocess.run(argv + ["true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _world_readable_path(path: str) -> bool:
    """Could an unprivileged uid reach ``path`` (every parent searchable by others)?"""
    path = os.path.realpath(path)
    while True:
        try:
            if not os.stat(path).st_mode & 0o001:
                return False
        except OSError:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


@functools.lru_cache(maxsize=1)
def detect() -> Capabilities:
    """Probe bubblewrap and privileges; ``AUTOGRADER_SANDBOX=none`` forces the fallback."""
    forced = os.environ.get("AUTOGRADER_SANDBOX", "auto")
    root = os.geteuid() == 0
    bwrap = forced != "none" and _bwrap_works()
    # Inside bwrap the interpreter's folders are re-mounted world-searchable; outside,
    # an unprivileged uid can only start Python if the real path is reachable.
    interp_ok = bwrap or _world_readable_path(os.path.dirname(os.path.realpath(sys.executable)))
    drop_uid = root and interp_ok
    missing = []
    if not bwrap:
        missing += [
            "no bubblewrap: the worker can reach the network",
            "no bubblewrap: the worker sees the whole filesystem its uid can read "
            "(including solutions/ and hidden tests if they are readable)",
            "no bubblewrap: no pid namespace (a daemonised child may outlive grading)",
        ]
    if not drop_uid:
        why = "not running as root" if not root else "the interpreter is under a private folder"
        missing += [f"no uid drop ({why}): the worker runs as the grader's own user, "
                    "and the process-count limit is not enforced"]
    return Capabilities(bwrap=bwrap, drop_uid=drop_uid, root=root, missing=tuple(missing))

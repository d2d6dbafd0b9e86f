"""A pool of unprivileged uids, one per live worker.

RLIMIT_NPROC counts processes per uid across the whole machine, and "kill
everything this worker started" is easiest when the worker is the only owner
of its uid: so each concurrent worker leases its own uid (file locks make the
lease safe across the processes of a parallel batch).
"""

from __future__ import annotations

import fcntl
import os
import signal
import tempfile
from dataclasses import dataclass

FIRST_UID = int(os.environ.get("AUTOGRADER_UID_BASE", "61000"))
POOL_SIZE = 512
LOCK_DIR = os.path.join(tempfile.gettempdir(), "autograder-uids")


@dataclass
class UidLease:
    uid: int
    fd: int

    @classmethod
    def acquire(cls) -> UidLease:
        os.makedirs(LOCK_DIR, mode=0o700, exist_ok=True)
        start = os.getpid() % POOL_SIZE
        for i in range(POOL_SIZE):
            uid = FIRST_UID + (start + i) % POOL_SIZE
            fd = os.open(os.path.join(LOCK_DIR, str(uid)), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            return cls(uid, fd)
        raise RuntimeError("no free sandbox uid")

    def kill_leftovers(self) -> int:
        """Kill any process still owned by this uid (a daemon from an earlier worker)."""
        killed = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as fh:
                    uid_line = next(line for line in fh if line.startswith("Uid:"))
                if int(uid_line.split()[1]) == self.uid:
                    os.kill(int(entry), signal.SIGKILL)
                    killed += 1
            except (OSError, StopIteration, ValueError):
                continue
        return killed

    def release(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
        except OSError:
            pass

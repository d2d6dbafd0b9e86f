"""A pool of unprivileged uids, one per live worker, from this installation's own block.

RLIMIT_NPROC counts processes per uid across the whole machine, and "kill
everything this worker started" is easiest when the worker is the only owner
of its uid: so each concurrent worker leases its own uid (file locks make the
lease safe across the processes of a parallel batch).

Several installations of the framework may share a machine (two course
checkouts running their tests, a grading server for several courses). Each
claims its own block of uids in a machine-wide registry, keyed by where the
framework is installed, and keeps its own lock folder: one installation never
leases, kills or reports as left over a process of another's.
``AUTOGRADER_UID_BASE`` (with ``AUTOGRADER_UID_COUNT``) sets the block by hand,
and ``AUTOGRADER_INSTALLATION`` names the installation when its folder should not.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import procs

# Blocks of BLOCK_SIZE uids from REGION_START, below 65534 (`nobody`) and 65536 (the usual
# user-namespace map). Before per-installation blocks every checkout used 61000-61511.
REGION_START = 62000
BLOCK_SIZE = 128
BLOCKS = (65500 - REGION_START) // BLOCK_SIZE
# Gradescope: the uid of the `student` user, tried before the pool (read at each lease).
PINNED_UID_ENV = "AUTOGRADER_SANDBOX_UID"
FRAMEWORK_DIR = Path(__file__).resolve().parents[1]


def _tmp() -> Path:
    return Path(tempfile.gettempdir())


@dataclass(frozen=True)
class Installation:
    """This installation's uids and the folder of their lock files."""

    key: str
    first_uid: int
    count: int

    @property
    def uids(self) -> range:
        """Every uid of the block: the pool and the spare."""
        return range(self.first_uid, self.first_uid + self.count)

    @property
    def pool(self) -> range:
        return range(self.first_uid, self.first_uid + self.count - 1)

    @property
    def spare_uid(self) -> int:
        """The block's last uid, never leased from the pool: tests pin it as Gradescope's `student`."""
        return self.first_uid + self.count - 1

    @property
    def lock_dir(self) -> Path:
        return _tmp() / f"autograder-uids-{self.first_uid}"

    def lock_path(self, uid: int) -> Path:
        """Where ``uid``'s lock lives: a uid outside the pool (a pinned `student`) is machine-wide."""
        if uid in self.pool:
            return self.lock_dir / str(uid)
        return _tmp() / "autograder-uids-pinned" / str(uid)

    def processes(self) -> list[int]:
        """Live processes running as one of this installation's uids (its leftovers, if no worker runs)."""
        return procs.owned_by(self.uids)


def installation() -> Installation:
    """This installation's block: configured, or claimed once in the machine-wide registry."""
    key = os.environ.get("AUTOGRADER_INSTALLATION") or str(FRAMEWORK_DIR)
    base = os.environ.get("AUTOGRADER_UID_BASE", "")
    count = os.environ.get("AUTOGRADER_UID_COUNT", "")
    if base.isdigit():
        return Installation(key, int(base), max(int(count), 2) if count.isdigit() else BLOCK_SIZE)
    return Installation(key, _claim(key), BLOCK_SIZE)


_HELD: dict[str, int] = {}  # registry entry -> fd holding a shared lock on it for this process's life


@functools.lru_cache(maxsize=8)
def _claim(key: str) -> int:
    """The first uid of ``key``'s block: the one it already holds, else the first free or stale one.

    Every process of an installation holds a shared lock on its registry entry for its whole
    life. A block is stale when its owner's folder is not there *and* no process holds that
    lock: a folder missing from here may exist in another mount namespace sharing this temp
    folder (a container checking a checkout at another path), and its block is in use as long
    as one of its processes runs.
    """
    registry = _tmp() / "autograder-installations"
    registry.mkdir(mode=0o755, parents=True, exist_ok=True)
    with open(registry / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        free = None
        for k in range(BLOCKS):
            first = REGION_START + k * BLOCK_SIZE
            entry = registry / str(first)
            try:
                owner = entry.read_text()
            except FileNotFoundError:
                owner = ""
            if owner == key:
                _hold(entry)
                return first
            stale = not owner or (owner.startswith("/") and not os.path.exists(owner) and not _in_use(entry))
            if free is None and stale:
                free = first
        if free is None:
            raise RuntimeError(f"all {BLOCKS} sandbox uid blocks are claimed by other installations "
                               f"(see {registry}); set AUTOGRADER_UID_BASE to choose a range by hand")
        tmp = registry / f".{free}.{os.getpid()}"
        tmp.write_text(key)
        os.replace(tmp, registry / str(free))
        _hold(registry / str(free))
        return free


def _hold(entry: Path) -> None:
    """Hold a shared lock on ``entry`` until this process ends (its block is in use)."""
    if str(entry) in _HELD:
        return
    fd = os.open(entry, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    _HELD[str(entry)] = fd


def _in_use(entry: Path) -> bool:
    """Does a live process (of any mount namespace) hold ``entry``'s lock?"""
    try:
        fd = os.open(entry, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


@dataclass
class UidLease:
    uid: int
    fd: int

    @classmethod
    def acquire(cls) -> UidLease:
        inst = installation()
        inst.lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        pinned = cls._pinned()
        if pinned is not None:
            return pinned
        pool = inst.pool
        start = os.getpid() % len(pool)
        for i in range(len(pool)):
            lease = cls.try_uid(pool[(start + i) % len(pool)])
            if lease is not None:
                return lease
        raise RuntimeError("no free sandbox uid")

    @classmethod
    def try_uid(cls, uid: int, wait: float = 0.0) -> UidLease | None:
        """The lease on ``uid`` if no other worker holds it (waiting up to ``wait`` seconds)."""
        path = installation().lock_path(uid)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return cls(uid, fd)
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return None
                time.sleep(0.05)

    @classmethod
    def _pinned(cls) -> UidLease | None:
        """``AUTOGRADER_SANDBOX_UID`` when set and free; while another worker holds it
        (the reference's, during timing), the caller falls back to the pool."""
        value = os.environ.get(PINNED_UID_ENV, "")
        if not value.isdigit() or int(value) == 0:
            return None
        return cls.try_uid(int(value))

    def processes(self) -> list[int]:
        """Live (non-zombie) processes whose real uid is this lease's uid."""
        return procs.owned_by([self.uid])

    def kill_leftovers(self) -> list[int]:
        """Kill every process still owned by this uid (a daemon from an earlier worker) and wait
        until they have exited; returns any still alive after the wait (none, normally)."""
        return procs.kill_until_gone(self.processes)

    def close(self) -> list[int]:
        """Kill what is left under the uid, then give the uid back. A uid whose processes would
        not die stays leased (said on stderr), so no other worker starts beside them."""
        left = self.kill_leftovers()
        if left:
            print(f"autograder: uid {self.uid}: processes still alive after SIGKILL: {left}", file=sys.stderr)
        else:
            self.release()
        return left

    def release(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
        except OSError:
            pass

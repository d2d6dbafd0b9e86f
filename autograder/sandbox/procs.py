"""Finding and killing processes, the one place that inspects the process table (with psutil).

Used for a worker's processes (by pid namespace or uid), an installation's leftovers,
Gradescope's clean-up of the student uid and the OOM-victim marking.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable

import psutil


def live_processes() -> list[psutil.Process]:
    """Every process that is not a zombie (with its uids fetched)."""
    found = []
    for proc in psutil.process_iter(["uids", "status"]):
        if proc.info["status"] not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD) and proc.info["uids"]:
            found.append(proc)
    return found


def owned_by(uids: Iterable[int] | range) -> list[int]:
    """Pids of live processes whose real uid is one of ``uids``."""
    wanted = uids if isinstance(uids, range) else set(uids)
    return [p.pid for p in live_processes() if p.info["uids"].real in wanted]


def in_pid_namespace(namespace: str) -> list[int]:
    """Pids of live processes in the pid namespace ``namespace`` (``pid:[...]``, as bwrap reports it)."""
    found = []
    for proc in live_processes():
        try:
            if os.readlink(f"/proc/{proc.pid}/ns/pid") == namespace:
                found.append(proc.pid)
        except OSError:
            continue
    return found


def in_session(sid: int) -> list[int]:
    """Pids of live processes of session ``sid`` (a worker started with a new session)."""
    found = []
    for proc in live_processes():
        try:
            if os.getsid(proc.pid) == sid:
                found.append(proc.pid)
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``."""
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def signal_all(pids: Iterable[int], sig: int) -> int:
    """Send ``sig`` to each pid that still exists; returns how many were signalled."""
    sent = 0
    for pid in pids:
        try:
            os.kill(pid, sig)
            sent += 1
        except OSError:
            pass
    return sent


def kill_until_gone(find: Callable[[], list[int]], timeout: float = 30.0) -> list[int]:
    """SIGKILL what ``find`` returns, again and again, until it returns nothing; returns what is left.

    A signalled process is not gone: it still has to tear down its address space (a fork
    of a torch worker maps hundreds of megabytes), which takes seconds on a loaded machine,
    and a process forked just after a scan is not signalled yet. Until it has exited it
    still counts against the uid's RLIMIT_NPROC and shows up in every leftover check, so
    whoever frees a uid (or closes a pool) waits here until nothing is left.
    """
    deadline = time.monotonic() + timeout
    while True:
        pids = find()
        if not pids or time.monotonic() >= deadline:
            return pids
        signal_all(pids, signal.SIGKILL)
        time.sleep(0.02)

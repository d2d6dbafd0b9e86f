"""Resource limits of a worker: one table, applied in the child itself, every shortfall reported.

The grader builds the table from the manifest's ``[limits]`` (``table``); the child applies
it (``apply``) before it drops to its uid and long before student code: the fresh worker
first thing in ``worker.main``, a zygote's child right after the fork. Nothing runs between
fork and exec in the grader (no ``preexec_fn``, unsafe while output-draining threads run).
A limit the kernel refuses is never silently skipped: ``apply`` returns each one whose
value in force is looser than asked, and grading lists it with the missing protections.
Standard library only: this module runs inside the sandbox.
"""

from __future__ import annotations

import resource
from typing import Any

MB = 1 << 20


def table(policy: Any, per_uid: bool) -> list[list[Any]]:
    """[name, soft, hard] for a worker, as plain data (it travels in the worker's JSON config).

    No address-space limit on CUDA (it reserves huge virtual ranges); the process count
    only when the worker has its own uid (RLIMIT_NPROC counts every process of the uid).
    """
    lim = policy.limits
    out = [
        ["RLIMIT_CPU", lim.cpu_seconds, lim.cpu_seconds + 5],
        ["RLIMIT_FSIZE", lim.file_size_mb * MB, lim.file_size_mb * MB],
        ["RLIMIT_NOFILE", lim.max_open_files, lim.max_open_files],
        ["RLIMIT_CORE", 0, 0],
    ]
    if policy.device == "cpu":
        out.append(["RLIMIT_AS", lim.memory_mb * MB, lim.memory_mb * MB])
    if per_uid:
        out.append(["RLIMIT_NPROC", lim.max_processes, lim.max_processes])
    return out


def apply(limits: list[list[Any]]) -> list[str]:
    """Set each limit; returns a line per limit whose value in force is looser than asked.

    A refused ``setrlimit`` (a hard limit already lower, a container that forbids it) is
    retried within the current hard limit; only what stays looser than the table is a
    missing protection.
    """
    weaker = []
    for name, soft, hard in limits:
        which = getattr(resource, name, None)
        if which is None:
            weaker.append(f"{name} is not supported here")
            continue
        error = ""
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError) as exc:
            error = f" ({exc})"
            try:
                _, cur_hard = resource.getrlimit(which)
                cap = cur_hard if cur_hard != resource.RLIM_INFINITY else hard
                resource.setrlimit(which, (min(soft, cap), min(hard, cap)))
            except (ValueError, OSError):
                pass
        in_force, _ = resource.getrlimit(which)
        if in_force == resource.RLIM_INFINITY or in_force > soft:
            shown = "unlimited" if in_force == resource.RLIM_INFINITY else str(in_force)
            weaker.append(f"{name} not applied: asked {soft}, in force {shown}{error}")
    return weaker

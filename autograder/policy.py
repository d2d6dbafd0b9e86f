"""The sandbox policy (limits, forbidden calls) a manifest asks for.

A light module (no torch): ``autograder check`` builds the policy and starts the worker before
the grader imports torch and pytest, so the two imports overlap (see ``prestart.py``).
"""

from __future__ import annotations

from autograder.manifest import Manifest
from autograder.sandbox.launcher import Policy


def policy_for(manifest: Manifest, device: str) -> Policy:
    """The sandbox limits and forbidden calls a manifest asks for."""
    lim = manifest.limits
    return Policy(
        memory_mb=lim.memory_mb, cpu_seconds=lim.cpu_seconds, file_size_mb=lim.file_size_mb,
        max_processes=lim.max_processes, max_open_files=lim.max_open_files,
        scratch_mb=lim.scratch_mb, threads=lim.threads, max_reply_mb=lim.max_reply_mb,
        device=device, forbidden={"python": manifest.all_forbidden_python(),
                                  "aten": dict(manifest.forbidden.aten),
                                  "autograd": manifest.forbidden.autograd},
    )

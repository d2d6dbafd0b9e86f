"""Dispatcher-level bans: checking kernels for banned aten operators, and who may pass them.

A kernel registered for a banned operator sees every route into it (``torch.ops.aten``,
``torch._C``, a composite op that decomposes into it) but cannot ask "is the immediate
caller the student": anything the student starts (their function, a thread, a callback,
a torch operator they export as their function) reaches it. So these bans trip for every
caller except the framework's own computing code in the worker: decoding and encoding
(``protocol.py``), the helpers graders build (``helpers.py``) and the timing checksum,
which then run the operator's real kernel, captured before the override. The autograd
engine hook in ``guards.py`` asks the same question (``framework_caller``).
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Callable
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_PASS_OVER: tuple[str, ...] = ("<frozen",)  # torch's folder and the guards' wrappers: see ``prepare``
_EXEMPT_FILES = {os.path.join(_HERE, "protocol.py"), os.path.join(_HERE, "helpers.py")}
_EXEMPT_CODE: set[Any] = set()
_KERNEL_KEYS = ("AutogradCPU", "AutogradCUDA", "CPU", "CUDA")

Trip = Callable[[str, str, Any], None]


def prepare(guards_file: str) -> None:
    """Frames of torch and of the guards' own wrappers and kernels are passed over; the checksum is exempt."""
    global _PASS_OVER
    import torch

    from autograder.sandbox import bench

    # This file too: a kernel that lets a call through runs the replaced Autograd kernel, which
    # dispatches to the (also replaced) CPU kernel with this file's frame as its caller.
    _PASS_OVER = ("<frozen", guards_file, os.path.abspath(__file__),
                  os.path.dirname(os.path.abspath(torch.__file__)) + "/")
    _EXEMPT_CODE.update({bench.checksum.__code__, bench._flush_l2.__code__})


def framework_caller(frame: Any) -> bool:
    """Whether the nearest Python caller (past torch and the guards) is exempt framework code.

    A framework frame that calls student code (``worker.py`` running the student's function)
    is not exempt: only the files and functions named at the top of this module are.
    """
    while frame is not None and frame.f_code.co_filename.startswith(_PASS_OVER):
        frame = frame.f_back
    if frame is None:
        return False
    return frame.f_code.co_filename in _EXEMPT_FILES or frame.f_code in _EXEMPT_CODE


def aten_overloads() -> dict[str, list[str]]:
    """Every aten operator name (without overload) -> its full names (``_softmax``, ``_softmax.out``)."""
    import torch

    overloads: dict[str, list[str]] = {}
    for name in sorted(torch._C._dispatch_get_all_op_names()):
        if name.startswith("aten::"):
            full = name.split("::", 1)[1]
            overloads.setdefault(full.split(".")[0], []).append(full)
    return overloads


def aten_operators(patterns: dict[str, str]) -> dict[str, list[str]]:
    """Per label, the aten operators (names without overload) its pattern matches: what the ban blocks."""
    ops = sorted(aten_overloads())
    return {label: [op for op in ops if re.search(pattern, op)] for label, pattern in patterns.items()}


def install_aten(patterns: dict[str, str], trip: Trip, student_frame: Callable[[Any], Any],
                 keep_alive: list[Any]) -> list[str]:
    """Register a checking kernel for every overload of every aten operator a banned pattern matches.

    The kernel replaces the operator's Autograd, CPU and CUDA kernels; it calls ``trip``
    unless ``framework_caller``, and otherwise runs the kernel it replaced, so the
    framework's own code in the worker keeps the operator with its gradients.
    """
    import torch

    lib = torch.library.Library("aten", "IMPL")
    keep_alive.append(lib)
    blocked = []
    overloads = aten_overloads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, ops in aten_operators(patterns).items():
            for op in ops:
                for full in overloads[op]:  # every overload: torch.ops.aten.<op>.out is a route too
                    kernel = _aten_kernel(label, full, _original_kernels(f"aten::{full}"), trip, student_frame)
                    for key in ("Autograd", "CPU", "CUDA"):
                        try:
                            lib.impl(full, kernel, key, with_keyset=True)
                        except Exception:  # an operator without that key or a schema quirk
                            continue
                blocked.append(op)
    return blocked


def _original_kernels(name: str) -> dict[Any, Any]:
    """The kernels an override replaces, by dispatch key (those this build has)."""
    import torch

    found = {}
    for key in _KERNEL_KEYS:
        try:
            if torch._C._dispatch_has_computed_kernel_for_dispatch_key(name, key):
                dk = getattr(torch._C.DispatchKey, key)
                found[dk] = torch._C._dispatch_get_computed_kernel_for_dispatch_key(name, dk)
        except RuntimeError:  # no such operator (only named overloads)
            continue
    return found


def _aten_kernel(label: str, op: str, originals: dict[Any, Any], trip: Trip,
                 student_frame: Callable[[Any], Any]) -> Callable[..., Any]:
    def kernel(keyset: Any, *args: Any, **kwargs: Any) -> Any:
        if not framework_caller(sys._getframe(1)):
            trip(label, f"aten::{op}", student_frame(sys._getframe(1)))
        original = originals.get(keyset.highestPriorityTypeId())
        if original is None:
            raise NotImplementedError(f"aten::{op} has no kernel for {keyset}")
        return original.call_boxed(keyset, *args, **kwargs)

    return kernel

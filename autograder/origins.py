"""Where a returned value came from: the call that made it and what the worker said about it.

Found from the value itself (``origin_of(result)``), so a grader that makes several
calls before checking still quotes the right one. Records are kept beside the values,
by identity, never patched onto them: a tensor's record goes when the tensor does; a
returned tuple, list or dict (which cannot be weakly referenced) is remembered among
the most recent few hundred results. Plain numbers and strings have no record.
"""

from __future__ import annotations

import collections
import weakref
from dataclasses import dataclass, field
from typing import Any

import torch

RECENT_CONTAINERS = 256


@dataclass
class Origin:
    """The call that returned a value; for a tensor, also what the worker reported about it
    (student-controlled: for feedback and cross-checks, never trusted)."""

    fn: str = ""
    call: str = ""
    type_name: str = ""
    device: str = "cpu"
    requires_grad: bool = False
    shares_storage_with: list[int] = field(default_factory=list)
    dtype_rule: str = ""  # the handout's dtype rule for the function that returned it (grader-side)


class _Registry:
    def __init__(self) -> None:
        self.tensors: dict[int, tuple[weakref.ref, Origin]] = {}
        self.containers: collections.OrderedDict[int, tuple[Any, Origin]] = collections.OrderedDict()

    def record(self, value: Any, origin: Origin) -> None:
        key = id(value)
        if isinstance(value, torch.Tensor):
            self.tensors[key] = (weakref.ref(value, lambda _, key=key: self.tensors.pop(key, None)), origin)
        elif isinstance(value, (tuple, list, dict)):
            self.containers[key] = (value, origin)  # held, so its id cannot be reused meanwhile
            self.containers.move_to_end(key)
            while len(self.containers) > RECENT_CONTAINERS:
                self.containers.popitem(last=False)

    def get(self, value: Any) -> Origin | None:
        entry = self.tensors.get(id(value)) if isinstance(value, torch.Tensor) else self.containers.get(id(value))
        if entry is None:
            return None
        held = entry[0]() if isinstance(entry[0], weakref.ref) else entry[0]
        return entry[1] if held is value else None


_REGISTRY = _Registry()


def record(value: Any, origin: Origin) -> None:
    """Remember where ``value`` (a tensor, tuple, list or dict) came from."""
    _REGISTRY.record(value, origin)


def origin_of(value: Any) -> Origin | None:
    """Where ``value`` came from (None for values the grader made, and for plain numbers)."""
    return _REGISTRY.get(value)

"""Describing values for feedback: shapes and dtypes, never contents.

Used by the session (call texts), the comparisons and the proxies; it depends on none
of them. ``Remote`` marks a value that lives in the worker (a ``RemoteObject``), so
descriptions and encoders can recognise one without importing the proxies.
"""

from __future__ import annotations

from typing import Any

import torch

from autograder.sandbox import protocol


class Remote:
    """Base of values that stay in the worker; ``handle`` names them in a request."""

    type_name: str = "object"

    @property
    def short_type(self) -> str:
        return self.type_name.rsplit(".", 1)[-1]

    @property
    def handle(self) -> protocol.Handle:
        raise NotImplementedError


def describe(value: Any, depth: int = 0) -> str:
    """A short, readable description of an argument: shapes and dtypes, not values."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        extra = "" if value.is_contiguous() or value.numel() <= 1 else ", non-contiguous"
        if value.device.type != "cpu":
            extra += f", {value.device}"
        return f"{dtype}[{', '.join(map(str, value.shape))}]" + (f" ({extra[2:]})" if extra else "")
    if isinstance(value, Remote):
        return f"<{value.short_type}>"
    if isinstance(value, protocol.Helper):
        return f"<{value.name}>"
    if isinstance(value, protocol.Handle):
        return f"<{value.type_name.rsplit('.', 1)[-1]}>"
    if depth > 2:
        return "..."
    if isinstance(value, tuple):
        inner = ", ".join(describe(v, depth + 1) for v in value[:8])
        return f"({inner}{', ...' if len(value) > 8 else ''}{',' if len(value) == 1 else ''})"
    if isinstance(value, list):
        return f"[{', '.join(describe(v, depth + 1) for v in value[:8])}{', ...' if len(value) > 8 else ''}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {describe(v, depth + 1)}" for k, v in list(value.items())[:8]) + "}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_call(name: str, args: tuple, kwargs: dict) -> str:
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []

"""The wire format between the grader and a worker: JSON headers plus raw tensor bytes.

Why not pickle: unpickling runs code chosen by whoever wrote the bytes, and the
worker's bytes are written by student code. Here a message is a length-prefixed
JSON header followed by opaque byte buffers; the grader rebuilds every value
itself (fresh ``torch.Tensor`` objects from raw bytes, after bounds checks), so
nothing a worker sends can run in the grader.

Frame layout::

    b"AGW1" | u32 header length | u64 total buffer bytes | header JSON | buffers...

The header's ``"buffers"`` lists each buffer's length. Values are encoded as
JSON with tagged objects: ``{"$t": ...}`` (tensor), ``{"$tuple": [...]}``,
``{"$dict": [[k, v], ...]}``, ``{"$f": "nan"}``, ``{"$handle": id}`` (an object
that stays in the worker), ``{"$helper": name}`` (a trusted worker-side callable).

This module is imported inside the sandbox: standard library and torch only.
"""

from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAGIC = b"AGW1"
PREFIX = struct.Struct("<4sIQ")

# Dtypes that may cross the boundary, by their torch attribute name.
DTYPES = (
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
    "uint8", "int8", "int16", "int32", "int64", "bool",
)
MAX_NDIM = 32
MAX_DEPTH = 48


class ProtocolError(Exception):
    """The other side sent something that is not a valid message."""


class ChannelClosed(ProtocolError):
    """The other side closed its end: usually the worker process is gone."""


class ReplyTimeout(Exception):
    """No complete message arrived before the deadline."""


@dataclass
class Limits:
    """Bounds applied when reading a message from an untrusted peer."""

    max_header_bytes: int = 32 << 20
    max_buffer_bytes: int = 1 << 30
    max_nodes: int = 2_000_000
    max_string: int = 1 << 20


# ---------------------------------------------------------------- framing


def write_message(fd: int, header: dict[str, Any], buffers: list[Any] = ()) -> None:
    """Write one framed message; ``buffers`` are bytes-like objects."""
    views = [memoryview(b).cast("B") for b in buffers]
    header = dict(header, buffers=[v.nbytes for v in views])
    body = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    total = sum(v.nbytes for v in views)
    _write_all(fd, PREFIX.pack(MAGIC, len(body), total) + body)
    for view in views:
        _write_all(fd, view)


def _write_all(fd: int, data: Any) -> None:
    view = memoryview(data).cast("B")
    while view.nbytes:
        written = os.write(fd, view[: 1 << 24])
        view = view[written:]


def read_message(
    fd: int, limits: Limits | None = None, deadline: float | None = None
) -> tuple[dict[str, Any], list[bytearray]]:
    """Read one framed message, enforcing ``limits`` and an optional monotonic deadline."""
    limits = limits or Limits()
    prefix = _read_exact(fd, PREFIX.size, deadline)
    magic, header_len, total = PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise ProtocolError("bad frame magic (something wrote raw bytes to the channel)")
    if header_len > limits.max_header_bytes:
        raise ProtocolError(f"header of {header_len} bytes exceeds the limit")
    if total > limits.max_buffer_bytes:
        raise ProtocolError(
            f"reply carries {total / 2**20:.0f} MiB of data, more than the "
            f"{limits.max_buffer_bytes / 2**20:.0f} MiB allowed"
        )
    try:
        header = json.loads(_read_exact(fd, header_len, deadline))
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"header is not valid JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("buffers"), list):
        raise ProtocolError("header is not a JSON object with a buffer list")
    sizes = header["buffers"]
    if not all(type(n) is int and n >= 0 for n in sizes) or sum(sizes) != total:
        raise ProtocolError("buffer sizes do not match the frame")
    buffers = [_read_exact(fd, n, deadline) for n in sizes]
    return header, buffers


def _read_exact(fd: int, n: int, deadline: float | None) -> bytearray:
    out = bytearray(n)
    view = memoryview(out)
    got = 0
    while got < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReplyTimeout()
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise ReplyTimeout()
        chunk = os.readv(fd, [view[got : got + (1 << 24)]])
        if chunk == 0:
            raise ChannelClosed("channel closed")
        got += chunk
    return out


# ---------------------------------------------------------------- values


@dataclass
class Handle:
    """A reference to an object that lives in the worker (a Dataset, a Module...)."""

    id: int
    type_name: str = "object"


@dataclass
class Helper:
    """A trusted, worker-side callable built by name (see ``sandbox/helpers.py``)."""

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


def _torch():
    import torch

    return torch


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


class Encoder:
    """Turns values into JSON-able data plus buffers.

    ``on_object`` decides what happens to values that are not plain data: the
    worker stores them and sends a handle; the grader refuses them.
    ``inputs`` are tensors whose storage a result may share (reported by index).
    """

    def __init__(
        self,
        on_object: Callable[[Any], dict[str, Any]] | None = None,
        inputs: list[Any] = (),
    ) -> None:
        self.buffers: list[Any] = []
        self.on_object = on_object
        self._input_ptrs = [_storage_ptr(t) for t in inputs]

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$f": repr(value)}
        torch = _torch()
        if isinstance(value, torch.Tensor):
            return self._tensor(value)
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return {"$tuple": [self.encode(v, depth + 1) for v in value]}
        if isinstance(value, list):
            return [self.encode(v, depth + 1) for v in value]
        if type(value) is dict or type(value).__name__ == "OrderedDict":
            return {"$dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}
        if isinstance(value, torch.dtype):
            return {"$dtype": _dtype_name(value)}
        if isinstance(value, torch.device):
            return {"$device": str(value)}
        if isinstance(value, slice):
            return {"$slice": [self.encode(value.start), self.encode(value.stop), self.encode(value.step)]}
        if value is Ellipsis:
            return {"$ellipsis": True}
        if isinstance(value, Handle):
            return {"$handle": value.id}
        if isinstance(value, Helper):
            return {
                "$helper": value.name,
                "args": [self.encode(a, depth + 1) for a in value.args],
                "kwargs": {k: self.encode(v, depth + 1) for k, v in value.kwargs.items()},
            }
        if self.on_object is not None:
            return self.on_object(value)
        raise ProtocolError(f"cannot send a value of type {type(value).__name__}")

    def _tensor(self, t: Any) -> dict[str, Any]:
        torch = _torch()
        type_name = f"{type(t).__module__}.{type(t).__qualname__}"
        requires_grad = bool(t.requires_grad)
        device = str(t.device)
        if type(t) is not torch.Tensor:
            t = t.as_subclass(torch.Tensor)
        t = t.detach()
        if t.layout != torch.strided:
            t = t.to_dense()
        if _dtype_name(t.dtype) not in DTYPES:
            raise ProtocolError(f"tensors of dtype {t.dtype} cannot be sent")
        if t.is_conj() or t.is_neg():
            t = t.resolve_conj().resolve_neg()
        shares = [i for i, p in enumerate(self._input_ptrs) if p is not None and p == _storage_ptr(t)]
        storage = t.untyped_storage()
        itemsize = t.element_size()
        needed = max(t.numel(), 1) * itemsize
        if storage.nbytes() <= max(4 * needed, 1 << 20) and storage.nbytes() % itemsize == 0:
            raw = _storage_bytes(storage)
            shape, stride, offset = list(t.shape), list(t.stride()), t.storage_offset()
        else:  # a small view of a huge storage: send the values, not the storage
            c = t.contiguous()
            raw = _storage_bytes(c.untyped_storage())[c.storage_offset() * itemsize :][: c.numel() * itemsize]
            shape, stride, offset = list(c.shape), list(c.stride()), 0
        self.buffers.append(raw)
        return {
            "$t": {
                "dtype": _dtype_name(t.dtype),
                "shape": shape,
                "stride": stride,
                "offset": offset,
                "buf": len(self.buffers) - 1,
                "device": device,
                "type": type_name,
                "requires_grad": requires_grad,
                "shares": shares,
            }
        }


def _storage_ptr(t: Any) -> int | None:
    try:
        return t.untyped_storage().data_ptr()
    except Exception:
        return None


def _storage_bytes(storage: Any) -> Any:
    torch = _torch()
    if storage.nbytes() == 0:
        return b""
    if storage.device.type != "cpu":
        storage = storage.cpu()
    as_bytes = torch.empty(0, dtype=torch.uint8).set_(storage)
    return memoryview(as_bytes.numpy())


class Decoder:
    """Rebuilds values from JSON data plus buffers, treating the input as hostile.

    The grader rebuilds on the CPU and lists what the worker claimed about each
    tensor in ``claims`` (for ``origins.py``); the worker (``worker_side``) puts tensors on the device the
    grader asked for. ``on_handle`` maps ``{"$handle": id}`` to a local object (the worker looks up
    its table; the grader makes a proxy). ``on_helper`` builds trusted callables
    (worker only). Every tensor is a fresh ``torch.Tensor`` made from raw bytes,
    with size, stride and offset checked against the buffer before use.
    """

    def __init__(
        self,
        buffers: list[bytearray],
        limits: Limits | None = None,
        on_handle: Callable[[dict[str, Any]], Any] | None = None,
        on_helper: Callable[[str, list, dict], Any] | None = None,
        worker_side: bool = False,
    ) -> None:
        self.buffers = buffers
        self.limits = limits or Limits()
        self.on_handle = on_handle
        self.on_helper = on_helper
        self.worker_side = worker_side
        self.nodes = 0
        self.used: set[int] = set()
        self.claims: list[tuple[Any, dict[str, Any]]] = []  # (tensor, what the worker said about it)

    def decode(self, data: Any, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise ProtocolError("value has too many parts")
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply")
        if data is None or type(data) in (bool, int, float):
            return data
        if type(data) is str:
            if len(data) > self.limits.max_string:
                raise ProtocolError("string too long")
            return data
        if type(data) is list:
            return [self.decode(v, depth + 1) for v in data]
        if type(data) is not dict or len(data) == 0:
            raise ProtocolError("malformed value")
        tag = next(iter(data))
        body = data[tag]
        if tag == "$t":
            return self._tensor(body)
        if tag == "$tuple" and type(body) is list:
            return tuple(self.decode(v, depth + 1) for v in body)
        if tag == "$dict" and type(body) is list:
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise ProtocolError("malformed dict entry")
                key = self.decode(pair[0], depth + 1)
                if type(key) not in (str, int, bool, type(None), float, tuple):
                    raise ProtocolError("unhashable dict key")
                out[key] = self.decode(pair[1], depth + 1)
            return out
        if tag == "$f" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$dtype" and body in DTYPES:
            return getattr(_torch(), body)
        if tag == "$device" and type(body) is str and len(body) < 32:
            return _torch().device(body)
        if tag == "$slice" and type(body) is list and len(body) == 3:
            parts = [self.decode(v, depth + 1) for v in body]
            if not all(p is None or type(p) is int for p in parts):
                raise ProtocolError("slice bounds must be integers")
            return slice(*parts)
        if tag == "$ellipsis":
            return Ellipsis
        if tag == "$handle" and self.on_handle is not None:
            return self.on_handle(data)
        if tag == "$helper" and self.on_helper is not None:
            args = self.decode(data.get("args", []), depth + 1)
            kwargs = {k: self.decode(v, depth + 1) for k, v in dict(data.get("kwargs", {})).items()}
            return self.on_helper(body, args, kwargs)
        raise ProtocolError(f"unknown or malformed tag {str(tag)[:40]!r}")

    def _tensor(self, meta: Any) -> Any:
        torch = _torch()
        if type(meta) is not dict:
            raise ProtocolError("malformed tensor")
        dtype_name = meta.get("dtype")
        shape, stride, offset, buf = meta.get("shape"), meta.get("stride"), meta.get("offset"), meta.get("buf")
        if dtype_name not in DTYPES:
            raise ProtocolError(f"tensor dtype {str(dtype_name)[:30]!r} not allowed")
        if not (_int_list(shape) and _int_list(stride) and len(shape) == len(stride) <= MAX_NDIM):
            raise ProtocolError("tensor shape/stride malformed")
        if type(offset) is not int or offset < 0 or type(buf) is not int or not 0 <= buf < len(self.buffers):
            raise ProtocolError("tensor offset/buffer malformed")
        if buf in self.used:
            raise ProtocolError("a buffer was used twice")
        self.used.add(buf)
        dtype = getattr(torch, dtype_name)
        itemsize = torch.empty(0, dtype=dtype).element_size()
        raw = self.buffers[buf]
        if len(raw) % itemsize:
            raise ProtocolError("tensor buffer size is not a multiple of the element size")
        storage_numel = len(raw) // itemsize
        numel = math.prod(shape)
        if numel > 0:
            extent = offset + sum((n - 1) * s for n, s in zip(shape, stride))
            if extent >= storage_numel:
                raise ProtocolError("tensor view reaches outside its data")
        flat = torch.frombuffer(raw, dtype=dtype) if storage_numel else torch.empty(0, dtype=dtype)
        tensor = flat.as_strided(shape, stride, offset if numel > 0 else 0)
        if self.worker_side:  # the grader chose the device; student inputs carry no extras
            device = str(meta.get("device", "cpu"))
            return tensor if device == "cpu" else tensor.to(device)
        if "type" in meta:
            shares = meta.get("shares", [])
            self.claims.append((tensor, {
                "type_name": str(meta.get("type"))[:200],
                "device": str(meta.get("device", "cpu"))[:32],
                "requires_grad": bool(meta.get("requires_grad", False)),
                "shares_storage_with": [i for i in shares if type(i) is int] if type(shares) is list else [],
            }))
        return tensor


def _int_list(value: Any) -> bool:
    return type(value) is list and all(type(v) is int and 0 <= v < (1 << 62) for v in value)

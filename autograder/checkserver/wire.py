"""Frames between `autograder check` and its server: a kind byte, a 4-byte length, the payload.

Only JSON and raw text cross the socket (never pickles). Kinds: ``q`` the request (JSON),
``1``/``2`` text for the command's stdout/stderr, ``x`` the exit status (JSON), last.
"""

from __future__ import annotations

import io
import json
import socket
import struct
from typing import Any

HEADER = struct.Struct("!cI")
MAX_FRAME = 16 << 20


def send(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    sock.sendall(HEADER.pack(kind, len(payload)) + payload)


def send_json(sock: socket.socket, kind: bytes, value: Any) -> None:
    send(sock, kind, json.dumps(value).encode())


def _exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 16))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket) -> tuple[bytes, bytes] | None:
    """The next frame, or None when the other side closed the connection."""
    header = _exactly(sock, HEADER.size)
    if header is None:
        return None
    kind, length = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ValueError(f"frame of {length} bytes")
    payload = _exactly(sock, length)
    return None if payload is None else (kind, payload)


class FrameStream(io.TextIOBase):
    """A text file whose writes go to the client as frames of one kind (its stdout or stderr).

    A client that went away (Ctrl-C) makes writes silently do nothing: the check still ends
    normally and the server is ready for the next one.
    """

    def __init__(self, sock: socket.socket, kind: bytes, isatty: bool, encoding: str = "utf-8") -> None:
        self.sock, self.kind, self._isatty, self.gone = sock, kind, isatty, False
        self._encoding = encoding

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._isatty

    def write(self, text: str) -> int:
        if text and not self.gone:
            try:
                send(self.sock, self.kind, text.encode(self._encoding, "replace"))
            except OSError:
                self.gone = True
        return len(text)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

"""`autograder check` from a terminal: hand the run to the user's warm server, print its output.

Nothing here imports torch, pytest or pydantic, so the command itself starts in a few
hundredths of a second. When no server answers, one is started (it runs this first check
itself, cold, and stays for the next); when none can be used, the caller checks in-process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from autograder.checkserver import address, wire

START_TIMEOUT_S = 120.0
TERMINAL_VARS = ("TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TTY_COMPATIBLE",
                 "TTY_INTERACTIVE")


def _connect(path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with address.reachable(path) as name:
            sock.connect(name)
    except OSError:
        sock.close()
        return None
    return sock


def _terminal() -> dict[str, object]:
    """What the server's consoles need to print exactly as this terminal would (rich takes its
    size from the first of stdin, stdout, stderr that is a terminal)."""
    size = None
    for fd in (0, 1, 2):
        try:
            size = list(os.get_terminal_size(fd))
            break
        except OSError:
            continue
    return {"stdout_tty": sys.stdout.isatty(), "stderr_tty": sys.stderr.isatty(), "size": size,
            "stdout_encoding": sys.stdout.encoding, "stderr_encoding": sys.stderr.encoding,
            "env": {k: os.environ[k] for k in TERMINAL_VARS if k in os.environ}}


def start_server(name: str) -> subprocess.Popen[bytes]:
    """The server, detached from this terminal (its own session); it logs to the runtime folder."""
    return subprocess.Popen([sys.executable, "-P", "-m", "autograder.checkserver.server", name], cwd="/",
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)


def connect_or_start(runtime: Path, name: str) -> socket.socket | None:
    """A connection to the running server, or to one started now; None when none came up."""
    path = address.socket_path(runtime, name)
    sock = _connect(path)
    if sock is not None:
        return sock
    proc = start_server(name)
    _note(f"starting a check server so that your next checks start in well under a second (it stops "
          f"after {address.idle_seconds() / 60:g} idle minutes; `autograder check-server stop` stops it now)")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        sock = _connect(path)
        if sock is not None:
            return sock
        code = proc.poll()
        if code == 0:  # the lock was held: by a server about to listen, or by one on its way out
            time.sleep(0.05)
            proc = start_server(name)  # whichever it was, this one listens once the lock is free
        elif code is not None:
            return None
        time.sleep(0.01)
    return None


def _note(text: str) -> None:
    sys.stderr.write(f"autograder: {text}\n")
    sys.stderr.flush()


def run_via_server(argv: list[str]) -> int | None:
    """The exit status of ``autograder <argv>`` run by the server; None to run it here instead."""
    try:
        runtime = address.runtime_dir()
    except (address.UnsafeRuntimeDir, OSError) as exc:
        _note(f"not using a check server ({exc}); checking without one")
        return None
    name = address.fingerprint()
    log = address.log_path(runtime, name)
    for attempt in range(3):  # a server killed before it said anything: go to a new one (at most twice)
        if attempt:
            time.sleep(0.1)  # a dying server's socket can still take a connection for a moment
        sock = connect_or_start(runtime, name)
        if sock is None:
            _note(f"the check server did not start (see {log}); checking without it")
            return None
        said_something, code = _exchange(sock, argv)
        if code is not None:
            return code
        if said_something:
            break
    _note(f"the check server stopped during the check (see {log}); checking without it")
    return None


def _exchange(sock: socket.socket, argv: list[str]) -> tuple[bool, int | None]:
    """Send the command, copy its output here; (anything printed?, exit status or None)."""
    said_something = False
    with sock:
        try:
            wire.send_json(sock, b"q", {"argv": argv, "cwd": os.getcwd(), "terminal": _terminal()})
            while (frame := wire.receive(sock)) is not None:
                kind, payload = frame
                if kind == b"x":
                    return said_something, int(json.loads(payload)["exit"])
                stream = sys.stdout if kind == b"1" else sys.stderr
                stream.buffer.write(payload)
                stream.flush()
                said_something = True
        except (OSError, ValueError, KeyError):
            pass
    return said_something, None


def ask(op: str) -> dict[str, object] | None:
    """``status`` or ``stop`` the server this environment would use; None when none runs."""
    runtime = address.runtime_dir()
    sock = _connect(address.socket_path(runtime, address.fingerprint()))
    if sock is None:
        return None
    with sock:
        wire.send_json(sock, b"q", {"op": op})
        frame = wire.receive(sock)
    return json.loads(frame[1]) if frame is not None else None

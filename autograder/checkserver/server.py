"""The check server: one per user and fingerprint, one check at a time, gone when idle.

    python -m autograder.checkserver.server NAME      (started by checkserver/client.py)

It runs the very command the student typed (``cli.run``) with its consoles writing to the
client, so the output, exit status and errors are those of a one-shot run. Between checks
it keeps torch, pytest and the graders' imports, and a sandboxed worker for the assignment
last checked (``prestart.replenish``): the worker is as fresh as a one-shot run's, it has
only already imported torch. It exits after ``AUTOGRADER_CHECK_SERVER_IDLE`` seconds
without a check (900 by default), on ``autograder check-server stop``, on SIGTERM, and as
soon as its name is stale (the framework, packages or environment changed).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from autograder import prestart
from autograder.checkserver import address, wire

REQUEST_TIMEOUT_S = 10.0


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _consoles(conn: socket.socket, terminal: dict[str, Any]) -> tuple[Any, Any]:
    """Rich consoles that decide colour, width and markup exactly as the client's would."""
    from rich.console import Console

    env = {str(k): str(v) for k, v in dict(terminal.get("env") or {}).items()}
    size = terminal.get("size") or (0, 0)
    width, height = (int(size[0]) or None), (int(size[1]) or None)  # 0: a terminal of unknown size
    made = []
    for kind, name in ((b"1", "stdout"), (b"2", "stderr")):
        encoding = str(terminal.get(f"{name}_encoding") or "utf-8")
        try:
            "".encode(encoding)
        except LookupError:
            encoding = "utf-8"
        stream = wire.FrameStream(conn, kind, bool(terminal.get(f"{name}_tty")), encoding)
        made.append(Console(file=stream, width=width, height=height, _environ=env))
    return made[0], made[1]


class Server:
    def __init__(self, sock: socket.socket, runtime: Path, name: str) -> None:
        self.sock, self.runtime, self.name = sock, runtime, name
        self.path = address.socket_path(runtime, name)
        self.inode = os.stat(self.path).st_ino
        self.started = time.time()
        self.checks = 0
        self.last_used = time.monotonic()

    def stale(self) -> bool:
        """Another server took the address, or this one's code or environment changed."""
        try:
            if os.stat(self.path).st_ino != self.inode:
                return True
        except OSError:
            return True
        return address.fingerprint() != self.name

    def serve(self) -> None:
        idle = address.idle_seconds()
        self.sock.settimeout(min(idle, 5.0))
        while True:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                if time.monotonic() - self.last_used >= idle or self.stale():
                    return self.close_door()
                continue
            checks = self.checks
            if not self.serve_one(conn):
                return self.close_door()
            if self.checks == checks:
                continue  # a status question is not use: it neither resets the idle clock nor starts a worker
            self.last_used = time.monotonic()
            if self.stale():
                return self.close_door()
            prestart.replenish()

    def serve_one(self, conn: socket.socket) -> bool:
        with conn:
            if _peer_uid(conn) != os.getuid():
                return True
            return self.answer(conn)

    def close_door(self) -> None:
        """Take the address away first, then answer whoever connected before that: no client is
        left with a connection that is never served."""
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self.inode:
                self.path.unlink()
        self.sock.settimeout(0.2)
        while True:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, BlockingIOError):
                return
            self.serve_one(conn)

    def answer(self, conn: socket.socket) -> bool:
        """Serve one connection; False when the server should stop."""
        conn.settimeout(REQUEST_TIMEOUT_S)
        try:
            frame = wire.receive(conn)
            request = json.loads(frame[1]) if frame is not None and frame[0] == b"q" else None
        except (OSError, ValueError):
            return True
        if not isinstance(request, dict):
            return True
        conn.settimeout(None)
        op = request.get("op", "run")
        if op in ("status", "stop"):
            with contextlib.suppress(OSError):
                wire.send_json(conn, b"x", {"pid": os.getpid(), "checks": self.checks, "since": self.started,
                                            "workers_kept": prestart.kept_workers_used,
                                            "idle_s": round(time.monotonic() - self.last_used, 1),
                                            "name": self.name, "stopping": op == "stop"})
            return op != "stop"
        code = self.run(conn, request)
        self.checks += 1
        with contextlib.suppress(OSError):
            wire.send_json(conn, b"x", {"exit": code})
        return True

    def run(self, conn: socket.socket, request: dict[str, Any]) -> int:
        """``autograder <argv>`` in this process, its output framed to the client."""
        argv = [str(a) for a in request.get("argv") or []]
        out, err = _consoles(conn, dict(request.get("terminal") or {}))
        if argv[:1] != ["check"]:
            err.print("error: the check server runs `autograder check` only", markup=False, highlight=False)
            return 2
        try:
            os.chdir(str(request.get("cwd")))
        except (OSError, TypeError) as exc:
            err.print(f"error: cannot enter the folder the command was run in: {exc}", markup=False)
            return 2
        from autograder import cli, cli_app

        try:
            with cli_app.consoles(out, err), contextlib.redirect_stdout(out.file), \
                    contextlib.redirect_stderr(err.file):
                try:
                    return cli.run(argv)
                except SystemExit as exc:  # as it would end a one-shot run
                    return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
                except Exception:  # as an uncaught exception ends a one-shot run: traceback, status 1
                    traceback.print_exc()
                    return 1
        finally:
            os.chdir("/")


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def main(argv: list[str]) -> int:
    name = argv[0]
    runtime = address.runtime_dir()
    lock = open(address.lock_path(runtime, name), "a")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another command started this server a moment ago: the client connects to it
    if address.fingerprint() != name:
        return 3  # the framework changed between the client's look and now: a new client starts anew
    log = os.open(address.log_path(runtime, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    path = address.socket_path(runtime, name)
    path.unlink(missing_ok=True)  # a server that died without cleaning up; we hold the lock
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with address.reachable(path) as reachable_name:
        sock.bind(reachable_name)
    path.chmod(0o600)
    sock.listen(16)
    server = Server(sock, runtime, name)
    print(f"check server {name} pid {os.getpid()} listening on {path}", flush=True)
    try:
        server.serve()
    finally:
        prestart.discard()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == server.inode:  # SIGTERM: the door was not closed
                path.unlink()
        sock.close()
        print(f"check server stopped after {server.checks} checks", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Attacks on a student's warm check server from other users of the same machine.

The server runs checks as the student who started it: another user who could talk to it would
see their work and output, or print fake results on their terminal. It listens only inside a
folder that user alone can enter, checks each peer's uid, and the client refuses a folder
someone else made or opened up.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import pytest
from check_server_helpers import check, server_env, server_pid, stop_server
from conftest import ROOT

from autograder.checkserver import address, wire

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check server is Linux-only")]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="acting as another user needs root")
REFERENCE = str(ROOT / "solutions/broadcasting/broadcasting.py")


def socket_file(tmp_path: Path) -> Path:
    (found,) = (tmp_path / "run" / "torch-autograder").glob("*.sock")
    return found


def as_other_user(uid: int, action) -> int:
    """Run ``action()`` in a child that dropped to ``uid``; its return code (0/1) comes back."""
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            code = action()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@needs_root
def test_another_user_cannot_reach_a_students_check_server(tmp_path: Path) -> None:
    from autograder.sandbox.uids import UidLease

    base = Path(tempfile.mkdtemp(prefix="autograder-test-run-"))  # like /run/user/<uid>, but others may
    base.chmod(0o755)  # enter it: what keeps them out is the server's own folder and its peer check
    env = {**server_env(tmp_path), "XDG_RUNTIME_DIR": str(base)}
    lease = UidLease.acquire()  # a uid no one else uses, from this installation's block
    try:
        assert check(env, "broadcasting", REFERENCE).returncode == 0
        (path,) = (base / "torch-autograder").glob("*.sock")

        def connect_and_ask() -> int:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                with address.reachable(path) as name:
                    sock.connect(name)
            except PermissionError:
                return 0  # denied at the folder
            try:
                wire.send_json(sock, b"q", {"argv": ["check", "broadcasting", REFERENCE], "cwd": "/",
                                            "terminal": {}})
                return 1 if wire.receive(sock) is not None else 0
            except ConnectionError:
                return 0  # connected, but the server hung up without a word

        assert as_other_user(lease.uid, connect_and_ask) == 0
        # Even with the folder and socket opened up by mistake, the server answers only its own uid.
        path.parent.chmod(0o755)
        path.chmod(0o666)
        assert as_other_user(lease.uid, connect_and_ask) == 0
        path.parent.chmod(0o700)
        assert server_pid(env) is not None  # and it is still there for its student
    finally:
        lease.close()
        if (base / "torch-autograder").exists():
            (base / "torch-autograder").chmod(0o700)
        stop_server(env)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("planted", ["world_writable", "someone_elses"])
def test_a_planted_runtime_folder_is_refused(tmp_path: Path, planted: str) -> None:
    """Where the runtime folder was made by someone else (a shared /tmp) the check still runs,
    in-process, and says why; nothing is served from or written into that folder."""
    env = server_env(tmp_path)
    folder = tmp_path / "run" / "torch-autograder"
    folder.mkdir()
    lease = None
    if planted == "world_writable":
        folder.chmod(0o777)
    else:
        if os.geteuid() != 0:
            pytest.skip("giving the folder to another user needs root")
        from autograder.sandbox.uids import UidLease

        lease = UidLease.acquire()
        os.chown(folder, lease.uid, lease.uid)
        folder.chmod(0o700)
    try:
        done = check(env, "broadcasting", REFERENCE)
        assert done.returncode == 0 and "7 / 7" in done.stdout
        assert "not using a check server" in done.stderr and "checking without one" in done.stderr
        assert list(folder.iterdir()) == []
    finally:
        if lease is not None:
            lease.close()


def test_the_server_runs_check_and_nothing_else(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    assert check(env, "broadcasting", REFERENCE).returncode == 0
    try:
        for argv in (["grade", "broadcasting", REFERENCE], ["batch", "broadcasting", "/", "--out", "/tmp/x"], []):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            with address.reachable(socket_file(tmp_path)) as name:
                sock.connect(name)
            wire.send_json(sock, b"q", {"argv": argv, "cwd": str(ROOT), "terminal": {}})
            frames = []
            while (frame := wire.receive(sock)) is not None:
                frames.append(frame)
            sock.close()
            assert frames[-1] == (b"x", json.dumps({"exit": 2}).encode())
            assert b"runs `autograder check` only" in b"".join(p for k, p in frames if k == b"2")
    finally:
        stop_server(env)

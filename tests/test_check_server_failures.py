"""The check server when things go wrong: a killed server, two first checks at once, idle time.

Each test has a runtime folder (and so a server) of its own, and stops it at the end. Apart from
test_check_server.py so that module's shared server is gone before these count leftovers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from check_server_helpers import CLI, STARTING, check, gone, server_env, server_pid, status_of, stop_server, wait_gone
from conftest import ROOT, assert_no_leftovers

pytestmark = [pytest.mark.slow,  # about 30 s and 20 s
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check server is Linux-only")]


def student_file(tmp_path: Path, source: str) -> Path:
    folder = tmp_path / f"student-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    (folder / "broadcasting.py").write_text(source)
    return folder / "broadcasting.py"


def test_a_killed_server_costs_one_slow_check_not_a_wrong_one(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    reference = str(ROOT / "solutions/broadcasting/broadcasting.py")
    expected = check(server_env(tmp_path, "off"), "broadcasting", reference).stdout
    try:
        assert check(env, "broadcasting", reference).stdout == expected
        os.kill(server_pid(env), signal.SIGKILL)  # between two checks
        again = check(env, "broadcasting", reference)
        assert again.stdout == expected and STARTING in again.stderr
        pid = server_pid(env)
        slow = student_file(tmp_path, (ROOT / "solutions/broadcasting/broadcasting.py").read_text()
                            + "\nimport time\n\ntime.sleep(4)\n")
        client = subprocess.Popen([*CLI, "check", "broadcasting", str(slow)], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)  # the server is importing the submission
        workers = psutil.Process(pid).children(recursive=True)
        assert workers
        os.kill(pid, signal.SIGKILL)  # during a check, before it printed anything
        out, err = client.communicate(timeout=300)
        assert client.returncode == 0
        assert STARTING in err  # the check went to a new server
        assert out == check(server_env(tmp_path, "off"), "broadcasting", str(slow)).stdout
        assert server_pid(env) not in (None, pid)
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == []  # the killed server's sandboxed workers died with it
    finally:
        stop_server(env)


def test_an_idle_server_leaves_and_the_first_checks_share_one(tmp_path: Path) -> None:
    env = server_env(tmp_path, AUTOGRADER_CHECK_SERVER_IDLE="8")
    reference = str(ROOT / "solutions/broadcasting/broadcasting.py")
    clients = [subprocess.Popen([*CLI, "check", "broadcasting", reference], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [c.communicate(timeout=300) for c in clients]
    assert all(c.returncode == 0 for c in clients)
    assert all("7 / 7" in out for out, _ in outputs)
    pid = server_pid(env)
    assert pid is not None and "2 checks" in status_of(env)  # one server answered both
    wait_gone(pid, timeout=60)
    assert gone(pid)
    assert server_pid(env) is None
    assert not list((tmp_path / "run").glob("torch-autograder/*.sock"))
    assert_no_leftovers()

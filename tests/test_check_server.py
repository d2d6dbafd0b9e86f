"""The warm check server: what `autograder check` prints through it is what a one-shot run prints.

Every test runs the real command line in subprocesses, with its own runtime folder (so its
server is its own, whatever else runs on the machine), and stops its server at the end.
"""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from check_server_helpers import CLI, STARTING, check, gone, server_env, server_pid, status_of, stop_server, wait_gone
from conftest import CORPUS, ROOT, assert_no_leftovers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check server is Linux-only")


def student_file(tmp_path: Path, slug: str, source: str | Path) -> Path:
    folder = tmp_path / f"student-{slug}-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    target = folder / f"{slug}.py"
    if isinstance(source, Path):
        shutil.copyfile(source, target)
    else:
        target.write_text(source)
    return target


def test_server_prints_what_a_one_shot_check_prints(tmp_path: Path) -> None:
    on, off = server_env(tmp_path, "on"), server_env(tmp_path, "off")
    stub_dir = tmp_path / "stub"
    shutil.copytree(ROOT / "student_template/broadcasting", stub_dir)
    cases = [
        (["broadcasting", str(ROOT / "solutions/broadcasting/broadcasting.py")], ROOT),
        (["broadcasting", str(student_file(tmp_path, "broadcasting", CORPUS / "broadcasting/bug_no_clamp.py"))], ROOT),
        (["broadcasting", str(student_file(tmp_path, "broadcasting", "def broadcast_shape(:\n"))], ROOT),
        (["broadcasting"], stub_dir),  # the default ./broadcasting.py, from the student's folder
        (["broadcasting", str(tmp_path / "missing.py")], ROOT),
        (["broadcasting", "--device", "tpu"], ROOT),
        (["conv_layer", str(student_file(tmp_path, "conv_layer", CORPUS / "conv_layer/bug_flipped_kernel.py"))], ROOT),
    ]
    try:
        for number, (args, cwd) in enumerate(cases):
            served, alone = check(on, *args, cwd=cwd), check(off, *args, cwd=cwd)
            assert (served.returncode, served.stdout) == (alone.returncode, alone.stdout), args
            noted = served.stderr.startswith(STARTING)
            assert noted == (number == 0), served.stderr  # said once, when the server starts
            assert (served.stderr.split("\n", 1)[1] if noted else served.stderr) == alone.stderr
        assert "Broadcasting, views and strides: 7 / 7" in check(on, "broadcasting",
                                                                 str(ROOT / "solutions/broadcasting/broadcasting.py")).stdout
        status = status_of(on)
        assert f"{len(cases) + 1} checks" in status, status
        kept = int(status.split("(")[1].split(" with")[0])
        assert kept >= 2, status  # conv_layer's second check and the last one found their worker started
    finally:
        stop_server(on)
    assert not list((tmp_path / "run").glob("torch-autograder/*.sock"))


def run_in_pty(argv: list[str], env: dict[str, str], columns: int = 100) -> tuple[int, bytes]:
    pid, fd = pty.fork()
    if pid == 0:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
        os.chdir(ROOT)
        os.execve(argv[0], argv, env)
    output = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output


def test_from_a_terminal_check_uses_a_server_and_prints_the_same_bytes(tmp_path: Path) -> None:
    auto = server_env(tmp_path, "auto", TERM="xterm-256color")
    auto.pop("NO_COLOR", None)
    sub = student_file(tmp_path, "broadcasting", CORPUS / "broadcasting/bug_unbiased_std.py")
    piped = check(auto, "broadcasting", str(sub))
    assert piped.returncode == 0 and STARTING not in piped.stderr
    assert server_pid(auto) is None  # auto: output to a pipe or file never starts a server
    try:
        argv = [*CLI, "check", "broadcasting", str(sub)]
        first = run_in_pty(argv, auto)
        assert first[0] == 0 and STARTING.encode() in first[1]
        served = run_in_pty(argv, auto)
        alone = run_in_pty(argv, {**auto, "AUTOGRADER_CHECK_SERVER": "off"})
        assert served == alone
        assert b"\x1b[" in served[1]  # colours, as the terminal asked
        narrow = run_in_pty(argv, auto, columns=60)
        assert narrow == run_in_pty(argv, {**auto, "AUTOGRADER_CHECK_SERVER": "off"}, columns=60)
        assert narrow != served
    finally:
        stop_server(auto)


@pytest.mark.slow  # 28 s
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
        slow = student_file(tmp_path, "broadcasting", "import time\ntime.sleep(4)\n" +
                            (ROOT / "solutions/broadcasting/broadcasting.py").read_text())
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


@pytest.mark.slow  # 20 s
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

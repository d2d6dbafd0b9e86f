"""The warm check server: what `autograder check` prints through it is what a one-shot run prints.

Every test runs the real command line in subprocesses, with a runtime folder of the module's or
its own (so the server is the test's, whatever else runs on the machine), and stops it at the end.
"""

from __future__ import annotations

import os
import pty
import shutil
import sys
from pathlib import Path

import pytest
from check_server_helpers import CLI, STARTING, check, server_env, status_of, stop_server
from conftest import CORPUS, ROOT

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


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """A server of this module's own, started by a first check (which says so, once), stopped at
    the end; it and its workers must then be gone."""
    home = tmp_path_factory.mktemp("served")
    env = server_env(home, "on")
    first = check(env, "broadcasting", str(ROOT / "solutions/broadcasting/broadcasting.py"))
    assert first.returncode == 0 and first.stderr.startswith(STARTING) and "7 / 7" in first.stdout
    try:
        yield env
    finally:
        stop_server(env)
    assert not list((home / "run").glob("torch-autograder/*.sock"))


def checks_served(env: dict[str, str]) -> int:
    return int(status_of(env).split(", ")[1].split(" checks")[0])


def test_server_prints_what_a_one_shot_check_prints(served: dict[str, str], tmp_path: Path) -> None:
    off = {**served, "AUTOGRADER_CHECK_SERVER": "off"}
    stub_dir = tmp_path / "stub"
    shutil.copytree(ROOT / "student_template/broadcasting", stub_dir)
    cases = [
        (["broadcasting", str(student_file(tmp_path, "broadcasting", CORPUS / "broadcasting/bug_no_clamp.py"))], ROOT),
        (["broadcasting"], stub_dir),  # the default ./broadcasting.py, from the student's folder
        (["broadcasting", str(student_file(tmp_path, "broadcasting", "def broadcast_shape(:\n"))], ROOT),
        (["broadcasting", str(tmp_path / "missing.py")], ROOT),
        (["broadcasting", "--device", "tpu"], ROOT),
        (["conv_layer", str(student_file(tmp_path, "conv_layer", CORPUS / "conv_layer/bug_flipped_kernel.py"))], ROOT),
    ]
    before = checks_served(served)
    for args, cwd in cases:
        by_server, alone = check(served, *args, cwd=cwd), check(off, *args, cwd=cwd)
        assert (by_server.returncode, by_server.stdout, by_server.stderr) == \
            (alone.returncode, alone.stdout, alone.stderr), args
    status = status_of(served)
    assert checks_served(served) == before + len(cases), status
    kept = int(status.split("(")[1].split(" with")[0])
    assert kept >= 2, status  # broadcasting's checks found their worker started


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


def test_from_a_terminal_check_uses_the_server_and_prints_the_same_bytes(served: dict[str, str],
                                                                        tmp_path: Path) -> None:
    auto = {**served, "AUTOGRADER_CHECK_SERVER": "auto", "TERM": "xterm-256color"}
    auto.pop("NO_COLOR", None)
    off = {**auto, "AUTOGRADER_CHECK_SERVER": "off"}
    sub = student_file(tmp_path, "broadcasting", CORPUS / "broadcasting/bug_unbiased_std.py")
    before = checks_served(served)
    assert check(auto, "broadcasting", str(sub)).returncode == 0
    assert checks_served(served) == before  # auto: output to a pipe or a file never goes to the server
    argv = [*CLI, "check", "broadcasting", str(sub)]
    by_server = run_in_pty(argv, auto)
    assert checks_served(served) == before + 1  # from a terminal it does
    assert by_server == run_in_pty(argv, off)
    assert by_server[0] == 0 and b"\x1b[" in by_server[1]  # colours, as the terminal asked
    narrow = run_in_pty(argv, auto, columns=60)
    assert narrow == run_in_pty(argv, off, columns=60)
    assert narrow != by_server

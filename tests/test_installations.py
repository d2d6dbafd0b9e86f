"""Installations sharing one machine: each keeps to its own sandbox uids and lock files.

Two checkouts running their tests at once (or two courses grading on one server) must not
lease, kill or report as left over each other's sandbox processes. Two copies of the framework
(two installations, as two checkouts are) run a sandbox test with leftover checks at the same
time, while this process, a third installation, keeps a worker and a daemon of its own alive.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, assert_no_leftovers

from autograder.course import resolve_assignment
from autograder.sandbox.capabilities import detect
from autograder.sandbox.uids import installation
from autograder.session import StudentSession
from autograder.student import StudentModule

HOLDER = '''
import os, time

def daemon():
    if os.fork() == 0:
        os.setsid()
        time.sleep(600)
        os._exit(0)
    return os.getuid()

def uid():
    return os.getuid()
'''


def copy_framework(dest: Path) -> dict[str, str]:
    """A second installation: the framework copied to ``dest``, first on the path of a child's env."""
    shutil.copytree(ROOT / "autograder", dest / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    return dict(os.environ, PYTHONPATH=str(dest), PYTHONDONTWRITEBYTECODE="1")


def block_of(env: dict[str, str]) -> tuple[range, str]:
    code = ("import autograder; from autograder.sandbox.uids import installation as i; b = i(); "
            "print(b.first_uid, b.count, autograder.__file__)")
    out = subprocess.run([sys.executable, "-P", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    return range(int(out[0]), int(out[0]) + int(out[1])), out[2]


@pytest.mark.skipif(not detect().drop_uid, reason="sandbox uids need root")
def test_two_installations_run_sandbox_tests_at_the_same_time(tmp_path):
    envs = [copy_framework(tmp_path / name) for name in ("a", "b")]
    blocks = [block_of(env) for env in envs]
    for (_, location), name in zip(blocks, ("a", "b")):
        assert location.startswith(str(tmp_path / name)), location  # the copy is what runs
    ours = installation().uids
    a, b = (set(block) for block, _ in blocks)
    assert not a & b and not set(ours) & (a | b)

    (tmp_path / "broadcasting.py").write_text(HOLDER)
    session = StudentSession(resolve_assignment("broadcasting").manifest, tmp_path / "broadcasting.py")
    try:
        student = StudentModule(session)
        uid = student.daemon()
        assert uid in ours
        # Each runs a test whose student code leaves a daemon, then checks nothing of its own is left.
        # -P: the checkout (the cwd) is not put first on the path, so the copy is what runs.
        runs = [subprocess.Popen([sys.executable, "-P", "-m", "pytest", "-q",
                                  "tests/test_sandbox.py::test_daemon_does_not_outlive_the_worker"],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for env in envs]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
        for run, output in zip(runs, outputs):
            assert run.returncode == 0 and "1 passed" in output, output
        # Neither touched this installation's worker or its daemon.
        assert len(installation().processes()) >= 2
        assert student.uid() == uid and session.starts == 1
    finally:
        session.close()
    assert_no_leftovers()


CLAIM = "from autograder.sandbox.uids import installation; print(installation().first_uid, flush=True); input()"


def claim(tmp: Path, key: str) -> tuple[subprocess.Popen[str], int]:
    """A process of installation ``key`` (registry under ``tmp``) that stays alive until its stdin closes."""
    env = dict(os.environ, TMPDIR=str(tmp), AUTOGRADER_INSTALLATION=key)
    env.pop("AUTOGRADER_UID_BASE", None)
    proc = subprocess.Popen([sys.executable, "-c", CLAIM], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    return proc, int(proc.stdout.readline())


def test_a_block_whose_owner_is_not_visible_here_stays_claimed_while_it_runs(tmp_path):
    """A checkout at a path this process cannot see (a container sharing /tmp) keeps its block while
    one of its processes runs; once none does, the block may be reused."""
    registry = tmp_path / "tmp"
    registry.mkdir()
    elsewhere, proc_a, proc_b = "/nonexistent-mount/checkout/autograder", None, None
    try:
        proc_a, block_a = claim(registry, elsewhere)
        proc_b, block_b = claim(registry, str(tmp_path))  # a visible folder: a second installation
        assert block_b != block_a
        proc_a.communicate("", timeout=30)
        proc_c, block_c = claim(registry, str(ROOT))
        proc_c.communicate("", timeout=30)
        assert block_c == block_a  # nobody holds it any more, its folder is not here: stale
    finally:
        for proc in (proc_a, proc_b):
            if proc is not None and proc.poll() is None:
                proc.communicate("", timeout=30)

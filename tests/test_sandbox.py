"""What the worker can and cannot do, probed from inside with a submission that reports facts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, assert_no_leftovers, grade_source

from autograder.course import resolve_assignment
from autograder.failures import CallTimeout, WorkerCrashed
from autograder.sandbox.capabilities import detect
from autograder.session import StudentSession
from autograder.student import StudentModule

PROBE = r'''
import os, socket, resource, sys, subprocess, time

def facts():
    out = {"uid": os.getuid(), "euid": os.geteuid(), "pid": os.getpid(), "env": sorted(os.environ),
           "cwd": os.getcwd(), "as": resource.getrlimit(resource.RLIMIT_AS)[0],
           "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
           "core": resource.getrlimit(resource.RLIMIT_CORE)[0]}
    out["solutions_visible"] = any(os.path.exists(p) for p in {SOLUTION_PATHS})
    for name, path in [("write_usr", "/usr/x"), ("write_submission", os.path.dirname(__file__) + "/x"),
                       ("write_tmp", "/tmp/x" if os.path.isdir("/tmp") else "x")]:
        try:
            open(path, "w").write("x")
            out[name] = True
        except OSError:
            out[name] = False
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=1)
        out["net"] = True
    except OSError:
        out["net"] = False
    return out

def daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(600)
        os._exit(0)
    return True

def memory_bomb():
    blocks = []
    while True:
        blocks.append(bytearray(256 << 20))

def fork_bomb():
    n = 0
    for _ in range(1000):
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            n += 1
        except OSError:
            break
    return n

def flood():
    for _ in range(200000):
        print("x" * 100)
    return True

def sleepy():
    time.sleep(60)
'''


@pytest.fixture
def probe(tmp_path):
    assignment = resolve_assignment("broadcasting")
    paths = [str(ROOT / "solutions"), str(ROOT / "solutions/broadcasting/broadcasting.py")]
    (tmp_path / "broadcasting.py").write_text(PROBE.replace("{SOLUTION_PATHS}", repr(paths)))
    session = StudentSession(assignment.manifest, tmp_path / "broadcasting.py")
    yield StudentModule(session), session
    session.close()
    assert_no_leftovers()


needs_bwrap = pytest.mark.skipif(not detect().bwrap, reason="bubblewrap not available")
needs_root = pytest.mark.skipif(not detect().drop_uid, reason="uid drop needs root")


@needs_bwrap
def test_worker_isolation_facts(probe):
    student, session = probe
    facts = student.facts()
    assert facts["pid"] < 10  # its own pid namespace
    assert facts["solutions_visible"] is False
    assert facts["write_usr"] is False and facts["write_submission"] is False and facts["write_tmp"] is True
    assert facts["net"] is False
    assert set(facts["env"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                 "OPENBLAS_NUM_THREADS", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED",
                                 "MPLCONFIGDIR", "PWD", "LC_CTYPE", "MALLOC_MMAP_THRESHOLD_",
                                 "MALLOC_TRIM_THRESHOLD_"}
    assert "OMP_NUM_THREADS" in facts["env"]
    assert facts["as"] == session.manifest.limits.memory_mb << 20
    assert facts["core"] == 0


@needs_root
def test_worker_runs_as_an_unprivileged_uid_with_a_process_limit(probe):
    student, session = probe
    facts = student.facts()
    assert facts["uid"] >= 61000 and facts["euid"] == facts["uid"]
    assert facts["nproc"] == session.manifest.limits.max_processes


def test_daemon_does_not_outlive_the_worker(probe):
    student, session = probe
    assert student.daemon() is True
    time.sleep(0.3)
    session.close()
    assert_no_leftovers()


def test_memory_bomb_is_a_crash_not_a_framework_error(probe):
    student, _ = probe
    with pytest.raises(Exception) as info:
        student.memory_bomb()
    assert "MemoryError" in str(info.value) or isinstance(info.value, WorkerCrashed)
    assert student.facts()["uid"] >= 0  # a fresh worker serves the next call


@needs_root
def test_fork_bomb_is_bounded(probe):
    student, session = probe
    forked = student.fork_bomb()
    assert forked < session.manifest.limits.max_processes


def test_output_flood_is_capped(probe):
    student, session = probe
    assert student.flood() is True
    assert len(session.output()) < 3 * session.policy.output_limit_kb * 1024


def test_timeout_kills_and_restarts(probe):
    student, session = probe
    first_pid = student.facts()["pid"]  # worker started and imported first: only the call is timed
    assert session.starts == 1
    start = time.monotonic()
    with pytest.raises(CallTimeout):
        student.sleepy.call(_timeout=1.0)
    elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 5, elapsed  # waited the timeout, then the kill took < 4 s
    assert session.worker is None  # killed, not left running
    assert student.facts()["pid"] > 0 and first_pid > 0
    assert session.stats["restarts"] == 1 and session.starts == 2


def test_without_bubblewrap_grading_works_and_says_what_is_missing(tmp_path):
    env = dict(os.environ, AUTOGRADER_SANDBOX="none")
    ref = ROOT / "solutions/broadcasting/broadcasting.py"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "broadcasting", str(ref), "--results",
                           str(tmp_path / "r.json")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "SANDBOX WEAKENED" in proc.stdout and "network" in proc.stdout
    import json

    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == 23
    assert any("no bubblewrap" in m for m in data["extra_data"]["sandbox"]["missing"])


def test_grade_reports_protections_in_force(tmp_path):
    report = grade_source("broadcasting", ROOT / "solutions/broadcasting/broadcasting.py", tmp_path, fresh=True)
    sandbox = report.results.extra_data["sandbox"]
    if detect().bwrap:
        assert any("bubblewrap" in p for p in sandbox["in_force"]) and sandbox["missing"] == []
    assert Path(tmp_path / "results.json").exists()


def test_private_tmp_is_mounted_before_binds_that_may_live_under_tmp(monkeypatch):
    """A checkout or virtual environment under the host's /tmp stays visible in the sandbox."""
    from autograder.sandbox import bwrap
    from autograder.sandbox.launcher import Policy

    monkeypatch.setattr(bwrap, "python_roots", lambda: ["/tmp/checkout/.venv/lib/python3.11/site-packages"])
    argv = bwrap.command(Policy(), {}, [("/tmp/jobs/1", "/opt/ag/jobs")], 3)
    tmpfs = argv.index("/tmp", argv.index("--tmpfs"))
    venv = argv.index("/tmp/checkout/.venv/lib/python3.11/site-packages")
    assert tmpfs < venv
    assert argv.index("--dir", tmpfs) < venv  # its parents are made inside the private /tmp

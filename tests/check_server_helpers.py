"""Running `autograder check` through a check server of the test's own (its own runtime folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
from conftest import ROOT, assert_no_leftovers

CLI = [sys.executable, "-m", "autograder"]
STARTING = "autograder: starting a check server"


def server_env(tmp_path: Path, mode: str = "on", **extra: str) -> dict[str, str]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "AUTOGRADER_CHECK_SERVER": mode, **extra}


def check(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "check", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def status_of(env: dict[str, str]) -> str:
    return subprocess.run([*CLI, "check-server", "status"], env=env, capture_output=True, text=True,
                          check=True).stdout


def server_pid(env: dict[str, str]) -> int | None:
    status = status_of(env)
    return int(status.split("pid ")[1].split(",")[0]) if "pid " in status else None


def wait_gone(pid: int, timeout: float = 30.0) -> None:
    try:
        psutil.Process(pid).wait(timeout)
    except psutil.NoSuchProcess:
        pass


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def stop_server(env: dict[str, str]) -> None:
    """Stop the test's server; it and its workers must be gone."""
    pid = server_pid(env)
    if pid is not None:
        subprocess.run([*CLI, "check-server", "stop"], env=env, capture_output=True, check=True)
        wait_gone(pid)
        assert gone(pid)
    assert_no_leftovers()

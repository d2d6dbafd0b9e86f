"""Which check server a command may use, and where it listens. Light: no torch, no pydantic.

A server is shared only by commands that would have run the very same code the same way:
its name is a digest of the interpreter, every framework source file (path, size, mtime),
the installed packages' folder and the environment variables that change grading. Editing
the framework, reinstalling or exporting another ``AUTOGRADER_*`` value therefore starts a
new server, and the old one notices its name is stale and exits.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
MODE_VAR = "AUTOGRADER_CHECK_SERVER"  # auto (default: from a terminal) | on | off
IDLE_VAR = "AUTOGRADER_CHECK_SERVER_IDLE"  # seconds without a check before the server exits
DEFAULT_IDLE_S = 900.0
ENV_PREFIXES = ("AUTOGRADER_", "TORCH_", "PYTORCH_", "CUDA_", "OMP_", "MKL_")
ENV_NAMES = ("PATH", "PYTHONPATH", "HOME", "TMPDIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME")
NOT_GRADING = (MODE_VAR, IDLE_VAR)


class UnsafeRuntimeDir(Exception):
    """The folder for the server's socket is not this user's alone."""


def wanted(stdout_is_tty: bool) -> bool:
    """Use a server? ``on``/``off`` say so; ``auto`` (default) means: when a person is watching
    (stdout is a terminal). Scripts, CI and graders piping the output get the one-shot run."""
    if not sys.platform.startswith("linux"):
        return False  # the server checks its peer's uid with SO_PEERCRED, a Linux socket option
    mode = os.environ.get(MODE_VAR, "auto").strip().lower()
    if mode in ("on", "1", "yes", "true"):
        return True
    if mode in ("off", "0", "no", "false"):
        return False
    return stdout_is_tty


def idle_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get(IDLE_VAR, DEFAULT_IDLE_S)))
    except ValueError:
        return DEFAULT_IDLE_S


def runtime_dir() -> Path:
    """``$XDG_RUNTIME_DIR/torch-autograder``, else ``$TMPDIR/torch-autograder-<uid>``: a folder
    this user owns with mode 0700, so no other user can reach the socket or plant one."""
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    base = Path(xdg) / "torch-autograder" if xdg and os.path.isdir(xdg) else \
        Path(os.environ.get("TMPDIR") or "/tmp") / f"torch-autograder-{os.getuid()}"
    try:
        os.mkdir(base, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(base)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise UnsafeRuntimeDir(f"{base} is not a folder only you can use (owner uid {info.st_uid}, "
                               f"mode {stat.filemode(info.st_mode)})")
    return base


def fingerprint() -> str:
    """The server name for this interpreter, framework, packages and grading environment."""
    digest = hashlib.sha256()
    digest.update(os.path.realpath(sys.executable).encode())
    for folder, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            info = os.stat(os.path.join(folder, name))
            digest.update(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    purelib = sysconfig.get_paths()["purelib"]
    try:
        digest.update(f"{purelib}:{os.stat(purelib).st_mtime_ns}\n".encode())
    except OSError:
        pass
    for name in sorted(os.environ):
        if (name.startswith(ENV_PREFIXES) or name in ENV_NAMES) and name not in NOT_GRADING:
            digest.update(f"{name}={os.environ[name]}\n".encode())
    return digest.hexdigest()[:24]


def socket_path(runtime: Path, name: str) -> Path:
    return runtime / f"{name}.sock"


def lock_path(runtime: Path, name: str) -> Path:
    return runtime / f"{name}.lock"


def log_path(runtime: Path, name: str) -> Path:
    return runtime / f"{name}.log"


@contextlib.contextmanager
def reachable(path: Path) -> Iterator[str]:
    """A name for the socket ``path`` that fits a Unix socket address (108 bytes): the path
    itself, or, for a deep runtime folder, the same file through an open handle on its folder."""
    if len(os.fsencode(str(path))) < 100:
        yield str(path)
        return
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)

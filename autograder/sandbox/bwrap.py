"""Building the sandbox: the bubblewrap command line and the worker's environment.

Shared by the one-off worker (``launcher.py``) and the batch zygote (``pool.py``), so
both run student code under exactly the same view of the machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

FRAMEWORK_DIR = Path(__file__).resolve().parents[1]  # .../autograder
FRAMEWORK_MOUNT = "/opt/ag"


def worker_env(policy: Any, scratch: str) -> dict[str, str]:
    """Everything the worker's environment holds: nothing of the grader's."""
    n = str(policy.limits.threads)
    return {
        "PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n,
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLCONFIGDIR": scratch,
        # Fixed glibc malloc thresholds: otherwise each process adapts its mmap threshold to
        # its own history, and two workers running the same code differ by 2x in timing.
        "MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
    }


def python_path(in_sandbox: bool) -> list[str]:
    """The worker's sys.path: the standard library, the framework, site-packages."""
    framework = FRAMEWORK_MOUNT if in_sandbox else str(FRAMEWORK_DIR.parent)
    return stdlib_paths() + [framework] + site_paths()


def python_executable() -> str:
    return os.path.realpath(sys.executable)


def command(policy: Any, env: dict[str, str], binds: list[tuple[str, str]], info_fd: int,
            extra_caps: tuple[str, ...] = (), tmp_mb: int | None = None) -> list[str]:
    """The bwrap argv: namespaces, a read-only minimal filesystem, sized tmpfs, no capabilities."""
    argv = ["bwrap", "--die-with-parent", "--new-session", "--clearenv",
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--info-fd", str(info_fd)]
    for key, value in env.items():  # --clearenv drops what Popen passed
        argv += ["--setenv", key, value]
    if os.geteuid() == 0:
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        for cap in extra_caps:
            argv += ["--cap-add", cap]
    else:
        argv += ["--unshare-user"]
    argv += ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / top
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
                "/etc/localtime"):
        if os.path.exists(etc):
            argv += ["--ro-bind", etc, etc]
    # The private /tmp first: Python or the framework may live under the host's /tmp (a CI
    # checkout, a test install), and a tmpfs mounted after their binds would hide them.
    size = str((tmp_mb or policy.limits.scratch_mb) << 20)
    argv += ["--dev", "/dev", "--proc", "/proc",
             "--perms", "1777", "--size", size, "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(policy.limits.scratch_mb << 20), "--tmpfs", "/dev/shm"]
    made: set[str] = {"/", "/usr", "/tmp", "/dev", "/proc", "/etc", "/opt"}
    for src in python_roots():
        argv += parents(src, made) + ["--ro-bind", src, src]
    argv += ["--perms", "0755", "--dir", FRAMEWORK_MOUNT,
             "--ro-bind", str(FRAMEWORK_DIR), FRAMEWORK_MOUNT + "/autograder"]
    for host, inside in binds:
        argv += ["--ro-bind", host, inside]
    argv += ["--chdir", "/tmp"]
    if policy.device.startswith("cuda"):
        for dev in sorted(Path("/dev").glob("nvidia*")):
            argv += ["--dev-bind", str(dev), str(dev)]
        if Path("/sys").exists():
            argv += ["--ro-bind", "/sys", "/sys"]
    return argv


def stdlib_paths() -> list[str]:
    """The grader's own standard-library entries of sys.path (under the base prefix)."""
    base = os.path.realpath(sys.base_prefix)
    out = [p for p in sys.path if p and os.path.realpath(p).startswith(base)
           and "-packages" not in p and os.path.isdir(p)]
    return list(dict.fromkeys(out))


def site_paths() -> list[str]:
    import sysconfig

    paths = sysconfig.get_paths()
    out = [paths["purelib"], paths["platlib"]]
    return [p for p in dict.fromkeys(out) if os.path.isdir(p)]


def python_roots() -> list[str]:
    """Folders the interpreter needs, outside /usr: its prefix and site-packages."""
    roots = [os.path.realpath(sys.base_prefix)] + [os.path.realpath(p) for p in site_paths()]
    out: list[str] = []
    for r in sorted(set(roots), key=len):
        if r.startswith("/usr/") or r == "/usr" or any(r.startswith(o + "/") for o in out):
            continue
        out.append(r)
    return out


def parents(path: str, made: set[str]) -> list[str]:
    """``--dir`` arguments with mode 0755 for each missing parent (bwrap copies host modes)."""
    args: list[str] = []
    for parent in reversed(list(Path(path).parents)):
        p = str(parent)
        if p in made:
            continue
        made.add(p)
        args += ["--perms", "0755", "--dir", p]
    return args


def read_info(fd: int, timeout: float = 10.0) -> tuple[int | None, str | None]:
    """bwrap's --info-fd JSON: the sandboxed child's host pid and its pid namespace."""
    import json
    import select
    import time

    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
            if data.rstrip().endswith(b"}"):
                break
    os.close(fd)
    try:
        info = json.loads(data or b"{}")
        return int(info["child-pid"]), f"pid:[{int(info['pid-namespace'])}]"
    except (ValueError, KeyError, TypeError):
        return None, None

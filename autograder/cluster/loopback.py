"""A private Ray cluster on this machine whose every socket is on loopback: for tests and benchmarks.

All of its processes (head, extra nodes, the driver that grades) run inside one
network namespace that has only ``lo``, so no Ray process can bind or connect
to the machine's network address, and its ports cannot collide with anyone
else's on a shared machine. Needs root (``unshare --net``, ``nsenter``).

Every process in that namespace was started from here, so stopping the cluster
kills exactly those processes, by pid (never ``ray stop``, which would stop
every Ray process on the machine).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HEAD_PORT = 6379
NODE_MANAGER_PORT = 47000  # node i's raylet listens on NODE_MANAGER_PORT + i (private to the namespace)
# `import ray` imports jsonschema, which builds rfc3987_syntax's Earley grammar when that package is
# installed (the [notebooks] extra brings it): about 4 s of CPU in every Ray process, enough for a
# loaded machine to miss the raylet's 15 s start-up deadline. jsonschema skips that optional format
# checker on ImportError, so the cluster's processes see this stand-in instead.
SHIM = 'raise ImportError("left out of the test cluster: building its grammar costs seconds per process")\n'
AGENT_PORTS = 48000  # node i's agents listen on AGENT_PORTS + 10 * i + 0..3
# A dead node is noticed within ~2 s instead of ~30 s (read by the head's GCS); a loaded machine
# may take minutes to start a node.
RAY_ENV = {"RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "3",
           "RAY_health_check_initial_delay_ms": "1000", "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_raylet_start_wait_time_s": "300"}


def unavailable() -> str:
    """Why a loopback cluster cannot run here ('' when it can)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "Ray is not installed (pip install 'torch-autograder[cluster]')"
    if os.geteuid() != 0:
        return "a private network namespace needs root (unshare --net)"
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(["unshare", "--net", "--", "ip", "link", "set", "lo", "up"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        return f"network namespaces are unavailable here: {probe.stderr.strip()[:200]}"
    return ""


class LoopbackCluster:
    """``nodes`` Ray node processes (the first is the head), ``cpus`` CPUs each, all on 127.0.0.1."""

    def __init__(self, nodes: int = 2, cpus: int = 1, object_store_mb: int = 100) -> None:
        self.count, self.cpus, self.object_store_mb = nodes, cpus, object_store_mb
        self.holder: subprocess.Popen[bytes] | None = None
        self.temp = Path(tempfile.mkdtemp(prefix="agray-", dir="/tmp"))  # short: Ray's socket paths must fit
        self.bin = Path(sys.executable).parent
        self.address = f"127.0.0.1:{HEAD_PORT}"

    # -- running things inside the namespace ------------------------------------------------------------
    def _wrap(self, argv: list[str]) -> list[str]:
        assert self.holder is not None, "cluster not started"
        return ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--", *argv]

    def env(self) -> dict[str, str]:
        """The cluster's environment: Ray settings, this venv first, and the import shim (``SHIM``)."""
        shim = self.temp / "shim"
        if not shim.is_dir():
            shim.mkdir()
            (shim / "rfc3987_syntax.py").write_text(SHIM)
        path = os.pathsep.join(p for p in (str(shim), os.environ.get("PYTHONPATH", "")) if p)
        return {**os.environ, **RAY_ENV, "PATH": f"{self.bin}:{os.environ.get('PATH', '')}", "PYTHONPATH": path}

    def run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        return subprocess.run(self._wrap(argv), env=kwargs.pop("env", self.env()), **kwargs)

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        return subprocess.Popen(self._wrap(argv), env=kwargs.pop("env", self.env()), **kwargs)

    # -- life cycle -----------------------------------------------------------------------------------
    def start(self, timeout: float = 180.0) -> LoopbackCluster:
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--", "sh", "-c", "ip link set lo up && echo up && exec sleep 86400"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
        if self.holder.stdout.readline().strip() != b"up":
            self.stop()
            raise RuntimeError("could not bring up loopback in a new network namespace")
        try:
            for i in range(self.count):
                self.start_node(i)
            self.wait_for_nodes(self.count, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_node(self, i: int) -> None:
        base = AGENT_PORTS + 10 * i  # fixed agent ports: the raylet then need not wait for them to report
        common = [f"--num-cpus={self.cpus}", "--num-gpus=0", f"--object-store-memory={self.object_store_mb << 20}",
                  "--node-ip-address=127.0.0.1", f"--node-manager-port={NODE_MANAGER_PORT + i}",
                  f"--dashboard-agent-grpc-port={base}", f"--metrics-export-port={base + 1}",
                  f"--dashboard-agent-listen-port={base + 2}", f"--runtime-env-agent-port={base + 3}",
                  "--disable-usage-stats"]
        if i == 0:
            argv = [str(self.bin / "ray"), "start", "--head", f"--port={HEAD_PORT}", "--include-dashboard=false",
                    f"--temp-dir={self.temp}", *common]
        else:
            argv = [str(self.bin / "ray"), "start", f"--address={self.address}", *common]
        # Ray 2.60's raylet gives its agents 15 s to report their ports and aborts otherwise; on a
        # loaded machine their imports alone can take that long. So the node starts at a higher
        # priority, and every process of the cluster goes back to normal priority once it is up
        # (before any grading: workers are started later, by the raylet, at its priority).
        done = self.run(["nice", "-n", "-10", *argv], capture_output=True, text=True, timeout=300)
        self._normal_priority()
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed for node {i}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")

    def _normal_priority(self) -> None:
        for pid in self.processes():
            try:
                os.setpriority(os.PRIO_PROCESS, pid, 0)
            except OSError:
                pass

    def alive_nodes(self) -> int:
        code = (f"import ray, logging; ray.init(address='{self.address}', _node_ip_address='127.0.0.1', "
                "logging_level=logging.ERROR, log_to_driver=False); "
                "print(sum(1 for n in ray.nodes() if n['Alive']))")
        done = self.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        lines = done.stdout.strip().splitlines()
        return int(lines[-1]) if done.returncode == 0 and lines and lines[-1].isdigit() else 0

    def wait_for_nodes(self, count: int, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.alive_nodes() >= count:
                return
            time.sleep(1.0)
        raise RuntimeError(f"the cluster did not reach {count} nodes in {timeout:.0f} s")

    def processes(self) -> list[int]:
        """Every process in the namespace except its holder: all of them started from here."""
        if self.holder is None:
            return []
        try:
            ns = os.readlink(f"/proc/{self.holder.pid}/ns/net")
        except OSError:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != self.holder.pid:
                try:
                    if os.readlink(f"/proc/{entry}/ns/net") == ns:
                        found.append(int(entry))
                except OSError:
                    continue
        return found

    def raylet(self, i: int) -> int | None:
        """The pid of node ``i``'s raylet."""
        flag = f"--node_manager_port={NODE_MANAGER_PORT + i}".encode()
        for pid in self.processes():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline and cmdline[0].endswith(b"raylet") and flag in cmdline:
                return pid
        return None

    def kill_node(self, i: int) -> int:
        """SIGKILL node ``i``'s raylet (its workers notice and exit): the node is lost."""
        pid = self.raylet(i)
        if pid is None:
            raise RuntimeError(f"no raylet found for node {i}")
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        """Kill every process in the namespace by pid, then the holder; remove the temp dir."""
        for _ in range(50):
            pids = self.processes()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)
        if self.holder is not None:
            self.holder.kill()
            self.holder.wait(timeout=10)
            self.holder = None
        shutil.rmtree(self.temp, ignore_errors=True)

    def __enter__(self) -> LoopbackCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Wall time and peak memory of a whole Gradescope run (grader and every worker) per assignment.

For each assignment with a reference: build the bundle, unpack it into a temporary
``AUTOGRADER_ROOT``, install the framework wheel from it, hand in the reference, and run
``run_autograder`` as Gradescope would. While it runs, the process tree is sampled
every 50 ms: the sum of PSS (shared pages such as torch's libraries split fairly
between the processes that map them) and the sum of RSS (an upper bound). When a
memory cgroup can be created here, the run also goes into one, which gives the
kernel's own peak (memory.max_usage_in_bytes / memory.peak, page cache included), and
``--limit-mb 768`` applies Gradescope's default container limit to it to see
whether the run survives (OOM kills are counted).

    .venv/bin/python benchmarks/gradescope_memory.py [ASSIGNMENT ...] [--limit-mb 768] [--runs 1] [--no-zygote]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from autograder.course import list_assignments, resolve_assignment
from autograder.gradescope.bundle import build_bundle

CGROUP_V1 = Path("/sys/fs/cgroup/memory")
CGROUP_V2 = Path("/sys/fs/cgroup")


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(root: int) -> list[int]:
    kids, out, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += kids.get(pid, [])
    return out


def _rollup(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in KiB; zeros if it is gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


class Sampler(threading.Thread):
    """Peak over time of the summed PSS and RSS of a process tree, and the most processes seen."""

    def __init__(self, pid: int, period: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.peak_pss = self.peak_rss = self.max_procs = 0
        self.peak_detail: list[tuple[int, str, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            pids = tree(self.pid)
            rows = []
            for pid in pids:
                pss, rss = _rollup(pid)
                if rss:
                    rows.append((pid, _name(pid), pss, rss))
            pss_sum, rss_sum = sum(r[2] for r in rows), sum(r[3] for r in rows)
            self.max_procs = max(self.max_procs, len(rows))
            self.peak_rss = max(self.peak_rss, rss_sum)
            if pss_sum > self.peak_pss:
                self.peak_pss = pss_sum
                self.peak_detail = [(pid, name, pss) for pid, name, pss, _ in rows]
            time.sleep(self.period)


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    if "worker.py" in text:
        return "worker"
    if "zygote.py" in text:
        return "zygote" if "bwrap" not in text else "bwrap"
    if "autograder.gradescope.run" in text:
        return "grader"
    return os.path.basename(argv[0].decode(errors="replace")) if argv and argv[0] else "?"


class Cgroup:
    """A fresh memory cgroup (v1 or v2) for one run, when this machine lets us make one."""

    def __init__(self, name: str, limit_mb: int | None) -> None:
        self.v1 = (CGROUP_V1 / "memory.max_usage_in_bytes").exists() or CGROUP_V1.is_dir()
        base = CGROUP_V1 if self.v1 else CGROUP_V2
        self.path = base / name
        self.path.mkdir()
        if limit_mb:
            limit = str(limit_mb << 20)
            if self.v1:
                (self.path / "memory.limit_in_bytes").write_text(limit)
                memsw = self.path / "memory.memsw.limit_in_bytes"
                if memsw.exists():
                    memsw.write_text(limit)
            else:
                (self.path / "memory.max").write_text(limit)
                (self.path / "memory.swap.max").write_text("0")

    def enter(self) -> None:
        """Called in the child between fork and exec."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def peak_mb(self) -> float:
        name = "memory.max_usage_in_bytes" if self.v1 else "memory.peak"
        return int((self.path / name).read_text()) / 2**20

    def oom_kills(self) -> int:
        if self.v1:
            text = (self.path / "memory.oom_control").read_text()
        else:
            text = (self.path / "memory.events").read_text()
        for line in text.splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


def make_cgroup(limit_mb: int | None) -> Cgroup | None:
    try:
        return Cgroup(f"ag-gradescope-{os.getpid()}-{time.monotonic_ns()}", limit_mb)
    except OSError:
        return None


def prepare_root(zip_path: Path, tmp: Path, submission: Path) -> tuple[Path, Path]:
    """Unpack the bundle as Gradescope does and install its wheel (offline) into ``tmp/site``."""
    root = tmp / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        (root / "source" / name).chmod(0o755)
    wheel = next((root / "source" / "wheels").glob("*.whl"))
    site = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site),
                    str(wheel)], check=True)
    shutil.copyfile(submission, root / "submission" / submission.name)
    return root, site


def run_once(root: Path, site: Path, limit_mb: int | None, extra_env: dict[str, str]) -> dict:
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PYTHONPATH=str(site),
               PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", **extra_env)
    cgroup = make_cgroup(limit_mb)
    started = time.monotonic()
    proc = subprocess.Popen([str(root / "source" / "run_autograder")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=cgroup.enter if cgroup else None)
    sampler = Sampler(proc.pid)
    sampler.start()
    log = proc.communicate()[0].decode(errors="replace")
    wall = time.monotonic() - started
    sampler.done.set()
    sampler.join()
    results = json.loads((root / "results" / "results.json").read_text())
    row = {
        "wall_s": round(wall, 2), "score": results["score"],
        "max_score": sum(t["max_score"] for t in results["tests"]),
        "peak_pss_mb": round(sampler.peak_pss / 1024), "peak_rss_sum_mb": round(sampler.peak_rss / 1024),
        "max_processes": sampler.max_procs,
        "at_peak": [f"{name}:{pss // 1024}" for _, name, pss in sampler.peak_detail if pss > 4096],
        "autograder_error": "autograder_error" in results.get("extra_data", {}),
    }
    if cgroup is not None:
        row["cgroup_peak_mb"] = round(cgroup.peak_mb())
        row["oom_kills"] = cgroup.oom_kills()
        cgroup.remove()
    if row["autograder_error"] or row["score"] < row["max_score"]:
        row["log_tail"] = log[-3000:]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="default: every assignment with a reference")
    parser.add_argument("--limit-mb", type=int, default=None, help="memory limit of the run's cgroup (e.g. 768)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-zygote", action="store_true", help="every worker imports torch itself")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for run_autograder (e.g. AUTOGRADER_SANDBOX=none)")
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    if args.no_zygote:
        extra_env["AUTOGRADER_ZYGOTE"] = "0"
    chosen = [resolve_assignment(a) for a in args.assignments] if args.assignments else \
        [a for a in list_assignments() if a.reference_file is not None]
    for assignment in chosen:
        with tempfile.TemporaryDirectory(prefix="ag-gs-bench-") as tmp_name:
            tmp = Path(tmp_name)
            info = build_bundle(assignment, tmp / f"{assignment.slug}.zip")
            root, site = prepare_root(info.path, tmp, assignment.reference_file)
            for i in range(args.runs):
                row = run_once(root, site, args.limit_mb, extra_env)
                row = {"assignment": assignment.slug, "bundle_kib": round(info.size_bytes / 1024), "run": i + 1,
                       "limit_mb": args.limit_mb, "env": extra_env, **row}
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

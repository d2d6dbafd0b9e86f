"""Ray path vs local pool: per-submission overhead, and how throughput grows with nodes.

    .venv/bin/python benchmarks/cluster_overhead.py [--small 4] [--large 16] [--mixed]

Everything Ray runs inside a private network namespace with only loopback
(``autograder.cluster.loopback``); both paths run the real CLI as a subprocess.

1. Overhead per stub submission, 2 CPUs: N untouched student templates (they fail
   at once, so the cost is the framework's, not the student's). Marginal cost per
   submission = (wall(large) - wall(small)) / (large - small); fixed cost = what is
   left of wall(small). Local pool: ``--jobs 2``. Ray: one node process with 2 CPUs.
2. Throughput vs nodes: the same large stub batch on 1 node process (1 CPU) and on
   2 node processes (1 CPU each), and the head's CPU time per submission (its
   serial share: packing, validating, SQLite, files).
3. Projection (``--project FILE`` recomputes it from a saved ``--json``): a node of c
   cores grades c submissions at once but times one at a time (the per-node timing
   lock), and the head does its share serially, so

       throughput = min(n * min(c / slot, 1 / (f_timed * t_lock)), 1 / head)
       wall(S) = fixed + S / throughput

   slot: seconds a slot spends per submission (mixed batch, lock waits excluded);
   f_timed: share of submissions that reach timing; t_lock: seconds of one timed
   section (grading the reference with minus without its performance groups);
   head: the head's own seconds per submission (packing, validating, SQLite, files),
   measured in-process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.cluster.loopback import LoopbackCluster, unavailable

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / "student_template/broadcasting/broadcasting.py"
ASSIGNMENT = ROOT / "assignments/broadcasting"


def stubs(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        shutil.copyfile(STUB, folder / f"s{i:03d}.py")
    return folder


def mixed(folder: Path) -> Path:
    """A small mixed class: correct, buggy, stub, hostile, notebook, not a submission."""
    corpus, cases = ROOT / "tests/corpus/broadcasting", ROOT / "tests/adversarial/cases"
    honest = (cases / "_honest.py").read_text()
    folder.mkdir(parents=True)
    files = [ROOT / "solutions/broadcasting/broadcasting.py", corpus / "correct_einsum.py",
             corpus / "correct_loops.py", *sorted(corpus.glob("bug_*.py"))[:4], STUB,
             cases / "segfault.py", cases / "memory_bomb.py", cases / "sys_exit.py"]
    for i, f in enumerate(files):
        (folder / f"m{i:02d}.py").write_text(f.read_text().replace("{HONEST}", honest))
    (folder / "empty.txt").write_text("nothing")
    return folder


def timed(cmd: list[str], runner=subprocess.run) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = runner(cmd, capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def batch_cmd(subs: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "batch", str(ASSIGNMENT), str(subs), "--out", str(out), *extra]


def slot_seconds(out: Path) -> float:
    rows = sqlite3.connect(out / "grades.sqlite").execute("SELECT seconds FROM submissions").fetchall()
    return sum(r[0] for r in rows) / len(rows)


def mixed_stats(out: Path) -> dict:
    """Share of submissions that were timed, and the mean slot seconds of those that were not."""
    rows = sqlite3.connect(out / "grades.sqlite").execute("SELECT seconds, results FROM submissions").fetchall()
    timed = [s for s, r in rows if json.loads(r)["extra_data"].get("timing")]
    untimed = [s for s, r in rows if not json.loads(r)["extra_data"].get("timing")]
    return {"timed_share": len(timed) / len(rows), "slot_untimed": sum(untimed) / max(1, len(untimed))}


def local(tmp: Path, n: int, tag: str) -> dict:
    subs = stubs(tmp / f"local-{tag}", n)
    wall, _ = timed(batch_cmd(subs, tmp / f"local-{tag}-out", "--jobs", "2"))
    return {"n": n, "wall": wall, "slot": slot_seconds(tmp / f"local-{tag}-out")}


def on_cluster(cluster: LoopbackCluster, tmp: Path, subs: Path, tag: str) -> dict:
    out = tmp / f"ray-{tag}-out"
    wall, cpu = timed(batch_cmd(subs, out, "--ray", cluster.address), runner=cluster.run)
    head_cpu = cpu  # the CLI is the only child measured here: the Ray processes are not its children
    n = len(list(subs.iterdir()))
    return {"n": n, "wall": wall, "slot": slot_seconds(out), "head_cpu_per_sub": head_cpu / n}


def marginal(small: dict, large: dict) -> tuple[float, float]:
    per = (large["wall"] - small["wall"]) / (large["n"] - small["n"])
    return per, small["wall"] - per * small["n"]


def head_seconds(runs: int = 200) -> float:
    """The head's serial work for one submission: pack, validate the reply, record, write files."""
    import dataclasses

    from autograder.batch.report import write_student_files
    from autograder.batch.runner import Task
    from autograder.batch.store import Store
    from autograder.cluster.bundle import pack_submission
    from autograder.cluster.reply import parse_reply
    from autograder.course import Assignment
    from autograder.grading import grade

    assignment = Assignment(ASSIGNMENT, ROOT)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        sub = tmp / "broadcasting.py"
        shutil.copyfile(ROOT / "solutions/broadcasting/broadcasting.py", sub)
        report = grade(assignment, sub, performance=False)
        results = report.results.model_dump(exclude_none=True)
        store = Store(tmp / "grades.sqlite")
        started = time.perf_counter()
        for i in range(runs):
            task = Task(f"s{i}", str(sub), "h")
            pack_submission(sub)
            reply = {"student": task.student, "content_hash": "h", "status": "graded", "seconds": 1.0,
                     "results": results, "failure_kinds": {}, "framework_error": "", "node_id": "n"}
            outcome, _ = parse_reply(task, json.dumps(reply))
            write_student_files(tmp, outcome.student, outcome.results)
            store.record(outcome.student, outcome.content_hash, "g", outcome.status, outcome.seconds,
                         outcome.results, outcome.failure_kinds)
        store.close()
        assert dataclasses.is_dataclass(outcome)
        return (time.perf_counter() - started) / runs


def timed_section_seconds() -> float:
    """Seconds one timed section holds a node: the reference graded with minus without timing."""
    from autograder.course import Assignment
    from autograder.grading import grade

    assignment = Assignment(ASSIGNMENT, ROOT)
    with tempfile.TemporaryDirectory() as t:
        sub = Path(t) / "broadcasting.py"
        shutil.copyfile(ROOT / "solutions/broadcasting/broadcasting.py", sub)
        grade(assignment, sub, performance=False)  # warm caches
        started = time.monotonic()
        grade(assignment, sub, performance=False)
        without = time.monotonic() - started
        started = time.monotonic()
        grade(assignment, sub)
        return time.monotonic() - started - without


def project(results: dict) -> None:
    rp, rf = marginal(results["ray2_small"], results["ray2_large"])
    head = results.setdefault("head_s", head_seconds())
    t_lock = results.setdefault("t_lock_s", timed_section_seconds())
    mixed_run = results.get("mixed_ray")
    slot, f_timed = rp * 2, 0.0  # stubs: marginal wall x 2 slots, never timed
    if mixed_run:
        f_timed = mixed_run["timed_share"]
        slot = mixed_run["slot_untimed"] * (1 - f_timed) + (mixed_run["slot_untimed"] + t_lock) * f_timed
    print(f"head: {head * 1000:.1f} ms per submission; timed section: {t_lock:.1f} s; "
          f"slot: {slot:.2f} s per submission; {f_timed:.0%} of submissions timed")
    for subs, nodes, cores in ((9000, 10, 16),):
        per_node = min(cores / slot, 1 / (f_timed * t_lock)) if f_timed else cores / slot
        throughput = min(nodes * per_node, 1 / head)
        bound = "head" if throughput == 1 / head else ("timing lock" if f_timed and per_node < cores / slot
                                                      else "cores")
        wall = rf + subs / throughput
        print(f"projection: {subs} submissions on {nodes} nodes x {cores} cores: {wall / 60:.0f} min "
              f"({throughput:.2f} submissions/s, bound by {bound}; without the timing lock "
              f"{(rf + subs / min(nodes * cores / slot, 1 / head)) / 60:.0f} min)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=4)
    parser.add_argument("--large", type=int, default=16)
    parser.add_argument("--mixed", action="store_true", help="also time a mixed batch both ways")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--project", type=Path, help="only recompute the projection from a saved --json")
    args = parser.parse_args()
    if args.project:
        project(json.loads(args.project.read_text()))
        return
    why = unavailable()
    if why:
        raise SystemExit(f"no loopback Ray cluster here: {why}")
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as t:
        tmp = Path(t)
        results["local_small"], results["local_large"] = local(tmp, args.small, "s"), local(tmp, args.large, "l")
        if args.mixed:
            wall, _ = timed(batch_cmd(mixed(tmp / "mixed"), tmp / "mixed-local", "--jobs", "2"))
            results["mixed_local"] = {"wall": wall, "slot": slot_seconds(tmp / "mixed-local")}
        with LoopbackCluster(nodes=1, cpus=2) as c:
            results["ray2_small"] = on_cluster(c, tmp, stubs(tmp / "r2s", args.small), "2s")
            results["ray2_large"] = on_cluster(c, tmp, stubs(tmp / "r2l", args.large), "2l")
            if args.mixed:
                results["mixed_ray"] = on_cluster(c, tmp, tmp / "mixed", "mixed")
                results["mixed_ray"].update(mixed_stats(tmp / "ray-mixed-out"))
        with LoopbackCluster(nodes=1, cpus=1) as c:
            results["nodes1"] = on_cluster(c, tmp, stubs(tmp / "n1", args.large), "n1")
        with LoopbackCluster(nodes=2, cpus=1) as c:
            results["nodes2"] = on_cluster(c, tmp, stubs(tmp / "n2", args.large), "n2")
    lp, lf = marginal(results["local_small"], results["local_large"])
    rp, rf = marginal(results["ray2_small"], results["ray2_large"])
    print(f"stub submissions, 2 CPUs ({args.small} and {args.large}):")
    print(f"  local pool: {lp:.2f} s per submission marginal, {lf:.1f} s fixed")
    print(f"  Ray, 1 node x 2 CPUs: {rp:.2f} s per submission marginal, {rf:.1f} s fixed")
    print(f"  Ray overhead per submission: {rp - lp:+.2f} s ({(rp / lp - 1) * 100:+.0f}%)")
    n1, n2 = results["nodes1"], results["nodes2"]
    print(f"throughput, {args.large} stubs: 1 node process {args.large / n1['wall']:.2f}/s "
          f"({n1['wall']:.1f} s), 2 node processes {args.large / n2['wall']:.2f}/s ({n2['wall']:.1f} s)")
    if args.mixed:
        print(f"mixed batch ({results['mixed_ray']['n']} entries): local --jobs 2 {results['mixed_local']['wall']:.1f} s, "
              f"Ray 1 node x 2 CPUs {results['mixed_ray']['wall']:.1f} s; "
              f"slot seconds per submission {results['mixed_ray']['slot']:.2f} s")
    project(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()

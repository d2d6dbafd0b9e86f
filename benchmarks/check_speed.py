"""`autograder check` wall time on the reference, per assignment (what students run most).

    .venv/bin/python benchmarks/check_speed.py [ASSIGNMENT ...] [--runs 3] [--pause 3] [--breakdown]

Each run is a fresh `autograder check <slug> <reference>` process, timed from exec to exit;
the median of ``--runs`` is reported against the 2.5 s goal, in three columns:
- **one-shot**: ``AUTOGRADER_CHECK_SERVER=off``, as from a script or CI (warm page cache: one
  untimed run per assignment first);
- **server**: through the warm check server a terminal uses (docs/check-server.md), each run
  ``--pause`` seconds after the previous one ended, as a student reads the feedback in between
  (one untimed run first starts the server and switches it to the assignment);
- **back-to-back**: through the server with no pause, so the kept worker may still be starting.

The server is this benchmark's own (a private runtime folder) and is stopped at the end. ``--breakdown`` also times, in fresh interpreters, where a
check's time goes: the interpreter and CLI start, the grader's imports (torch, pytest), the
worker's start to "ready" (sandbox + its torch import) on its own, and the whole check with
the worker started before the grader's imports (the default) or after (``AUTOGRADER_PRESTART=0``).
The machine's load matters: run it on a quiet machine, or compare columns of the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 2.5
ALL = ["broadcasting", "custom_dataset", "normal_equation", "mlp_backprop", "conv_layer", "attention",
       "training_numerics"]


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env={**os.environ, **(env or {})})
    return time.monotonic() - started


def server_env() -> dict[str, str]:
    runtime = Path(tempfile.mkdtemp(prefix="check-speed-"))
    return {"AUTOGRADER_CHECK_SERVER": "on", "XDG_RUNTIME_DIR": str(runtime)}


def check_argv(slug: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "check", slug, str(ROOT / f"solutions/{slug}/{slug}.py")]


def median_of(runs: int, argv: list[str], env: dict[str, str] | None = None) -> float:
    return statistics.median(timed(argv, env) for _ in range(runs))


WORKER_READY = """
import time, tempfile
from pathlib import Path
from autograder.course import resolve_assignment
from autograder.prestart import PrestartSpawner
t = time.monotonic()
s = PrestartSpawner(resolve_assignment("broadcasting"), "cpu")
s.worker.request({"op": "hello"}, timeout=120)
print(time.monotonic() - t)
s.close()
"""


def breakdown(runs: int) -> None:
    py = [sys.executable, "-c"]
    rows = [
        ("interpreter + CLI (autograder --version)", [sys.executable, "-m", "autograder", "--version"]),
        ("grader imports (torch, pytest, graders' deps)", py + ["import torch, pytest, hypothesis, "
                                                             "autograder.grading"]),
        ("import torch alone", py + ["import torch"]),
    ]
    for label, argv in rows:
        print(f"  {label:<58} {median_of(runs, argv):6.2f} s")
    ready = statistics.median(float(subprocess.run([sys.executable, "-c", WORKER_READY], cwd=ROOT, check=True,
                                                   capture_output=True, text=True).stdout.split()[-1])
                              for _ in range(runs))
    print(f"  {'worker start to ready (sandbox + its torch import)':<58} {ready:6.2f} s")
    for label, env in (("check broadcasting, worker started first (default)", {"AUTOGRADER_CHECK_SERVER": "off"}),
                       ("check broadcasting, worker started after imports",
                        {"AUTOGRADER_CHECK_SERVER": "off", "AUTOGRADER_PRESTART": "0"})):
        print(f"  {label:<58} {median_of(runs, check_argv('broadcasting'), env):6.2f} s")


def fmt(times: list[float]) -> str:
    med = statistics.median(times)
    return f"{med:6.2f} s {'ok' if med <= GOAL_S else 'OVER'} ({', '.join(f'{t:.2f}' for t in times)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignments", nargs="*", default=ALL)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between checks through the server")
    parser.add_argument("--breakdown", action="store_true")
    args = parser.parse_args()
    print(f"autograder check on the reference: median of {args.runs} runs (goal <= {GOAL_S} s), "
          f"load {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    off, served = {"AUTOGRADER_CHECK_SERVER": "off"}, server_env()
    try:
        for slug in args.assignments:
            timed(check_argv(slug), off)  # warm the page cache
            one_shot = [timed(check_argv(slug), off) for _ in range(args.runs)]
            timed(check_argv(slug), served)  # start the server, or switch it to this assignment
            warm = []
            for _ in range(args.runs):
                time.sleep(args.pause)
                warm.append(timed(check_argv(slug), served))
            rushed = [timed(check_argv(slug), served) for _ in range(args.runs)]
            print(f"  {slug:<18} one-shot {fmt(one_shot)} | server {fmt(warm)} | back-to-back {fmt(rushed)}")
    finally:
        subprocess.run([sys.executable, "-m", "autograder", "check-server", "stop"], cwd=ROOT,
                       env={**os.environ, **served}, stdout=subprocess.DEVNULL, check=False)
    if args.breakdown:
        print("where a one-shot check's time goes (medians):")
        breakdown(args.runs)


if __name__ == "__main__":
    main()

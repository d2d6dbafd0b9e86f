"""Batch grading overhead: per-submission wall time for stubs, against a fresh-interpreter baseline.

    .venv/bin/python benchmarks/batch_overhead.py [--n 50] [--jobs 2] [--mixed]

- stubs: N copies of the untouched student template (they fail at once), graded with
  `autograder batch`; reported as wall time per submission (pool start and report included)
  and as the marginal cost per submission (the slope between N/5 and N submissions).
- baseline: N fresh `python -c "import torch"` processes, `--jobs` at a time: the cost of
  one interpreter per submission, before any grading at all.
- --mixed: 50 mixed submissions (correct, buggy, stubs, hostile, not submissions).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.batch import run_batch
from autograder.course import resolve_assignment

ROOT = Path(__file__).resolve().parents[1]


def stub_batch(n: int, jobs: int, tmp: Path) -> float:
    subs = tmp / f"stubs{n}"
    subs.mkdir()
    for i in range(n):
        shutil.copyfile(ROOT / "student_template/broadcasting/broadcasting.py", subs / f"s{i:03d}.py")
    started = time.monotonic()
    run_batch(resolve_assignment("broadcasting"), subs, tmp / f"out{n}", jobs=jobs)
    return time.monotonic() - started


def baseline(n: int, jobs: int) -> float:
    started = time.monotonic()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda _: subprocess.run([sys.executable, "-c", "import torch"], check=True), range(n)))
    return time.monotonic() - started


def mixed(tmp: Path, jobs: int) -> tuple[float, dict]:
    corpus = ROOT / "tests/corpus"
    cases = ROOT / "tests/adversarial/cases"
    honest = (cases / "_honest.py").read_text()
    subs = tmp / "mixed"
    subs.mkdir()
    sources = {
        "correct": [ROOT / "solutions/broadcasting/broadcasting.py", corpus / "broadcasting/correct_loops.py",
                    corpus / "broadcasting/correct_einsum.py"],
        "buggy": sorted((corpus / "broadcasting").glob("bug_*.py")),
        "stub": [ROOT / "student_template/broadcasting/broadcasting.py"],
        "hostile": [cases / f"{n}.py" for n in ("print_fake", "loop_function", "sys_exit", "tensor_subclass",
                                                 "pickle_payload", "segfault", "memory_bomb", "fork_bomb")],
    }
    i = 0
    for kind, files in sources.items():
        for _ in range(10):
            src = files[i % len(files)].read_text().replace("{HONEST}", honest)
            src = src.replace("{PORT}", "9").replace("{MARKER}", "/tmp/x")
            (subs / f"{kind}{i:02d}.py").write_text(src)
            i += 1
    for j in range(10):
        (subs / f"empty{j:02d}.txt").write_text("nothing")
    started = time.monotonic()
    summary = run_batch(resolve_assignment("broadcasting"), subs, tmp / "mixed-out", jobs=jobs)
    return time.monotonic() - started, dict(summary.statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--mixed", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        small = max(args.n // 5, 2)
        t_small, t_full = stub_batch(small, args.jobs, tmp), stub_batch(args.n, args.jobs, tmp)
        t_base = baseline(args.n, args.jobs)
        print(f"stubs: {args.n} submissions, {args.jobs} jobs: {t_full:.1f} s wall, "
              f"{t_full / args.n:.3f} s per submission (all included)")
        print(f"stubs: marginal cost {(t_full - t_small) / (args.n - small):.3f} s per submission "
              f"({small} -> {args.n} submissions)")
        print(f"baseline: {args.n} fresh `python -c 'import torch'`, {args.jobs} at a time: {t_base:.1f} s wall, "
              f"{t_base / args.n:.3f} s per submission")
        if args.mixed:
            wall, statuses = mixed(tmp, args.jobs)
            print(f"mixed: 50 submissions in {wall:.1f} s wall; statuses {statuses}")


if __name__ == "__main__":
    main()

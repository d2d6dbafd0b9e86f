"""On a CUDA machine: calibrate every timed function at its CUDA sizes and grade every speed variant.

One command for whoever has a GPU:

    .venv/bin/python benchmarks/gpu_check.py [ASSIGNMENT ...] [--repeats 3] [--out docs/speed-cuda.md]

For each timed assignment it runs the spectrum calibration (`autograder calibrate
--device cuda`: every staff variant timed against the reference, interleaved), then
grades the reference and every variant with `--device cuda` as a student's submission
would be graded, and writes a short Markdown report: each variant's ratio (median and
range), its speed points, the thresholds and the proposed ones. Without CUDA it says so
and exits 0: the CUDA figures then stay unmeasured.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from autograder.calibrate import calibrate, summary
from autograder.course import list_assignments, resolve_assignment
from autograder.grading import grade
from autograder.speed_variants import speed_variants


def graded_speed(assignment, path: Path) -> dict[str, float]:
    """Each timed function's fraction of the speed points in a real grading on CUDA."""
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / assignment.manifest.submission_file
        staged.write_bytes(path.read_bytes())
        report = grade(assignment, staged, device="cuda")
    timing = report.results.extra_data.get("timing", {})
    return {part: float(t.get("fraction", 0.0)) for part, t in timing.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("docs/speed-cuda.md"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device here (torch.cuda.is_available() is False); nothing was measured, "
              "the CUDA thresholds stay unmeasured")
        return 0
    chosen = [resolve_assignment(a) for a in args.assignments] or [a for a in list_assignments() if a.manifest.timed]
    lines = [f"# Speed contracts on CUDA ({torch.cuda.get_device_name(0)}, torch {torch.__version__})", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `benchmarks/gpu_check.py`: "
             f"{args.repeats} interleaved timings per variant, then one real grading each with `--device cuda`.", ""]
    failed = False
    for assignment in chosen:
        spectra = calibrate(assignment, "cuda", repeats=args.repeats,
                            progress=lambda line: print(line, file=sys.stderr))
        graded = {v.name: graded_speed(assignment, v.path) for v in speed_variants(assignment)}
        graded["reference"] = graded_speed(assignment, assignment.reference_file)
        for s in spectra:
            proposal = s.proposal()
            lines += [f"## {assignment.slug}: `{s.part}` (sizes {s.sizes})", "",
                      f"Thresholds: full_at {s.spec.full_at:g}, zero_at {s.spec.zero_at:g}; proposed: "
                      + (f"full_at >= {proposal[0]:g}, zero_at <= {proposal[1]:g}" if proposal else
                         "**no separation** (change sizes.cuda)")
                      + f"; separation {s.separation():.1f}x.", "",
                      "| variant | expected | ratio median (min..max) | graded speed points |",
                      "| --- | --- | --- | --- |",
                      f"| reference | full | 1 | {graded['reference'].get(s.part, 0):.0%} |"]
            for v in s.variants:
                points = graded[v.name].get(s.part, 0.0)
                lines.append(f"| {v.name} | {'full' if v.expects_full(s.part) else 'none'} | "
                             f"{summary(s.ratios.get(v.name, []))} | {points:.0%} |")
            problems = s.violations()
            lines += [""] + [f"- problem: {p}" for p in problems] + [""]
            failed = failed or bool(problems) or proposal is None
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

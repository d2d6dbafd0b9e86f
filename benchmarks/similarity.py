"""Similarity: how well a disguised copy stands out, and how long 200 submissions take.

    .venv/bin/python benchmarks/similarity.py [--n 200] [--slug conv_layer] [--repeat 3]

- separation: for each assignment, a class of the corpus's independent correct solutions,
  the stub and one disguised copy of the first correct solution (variables renamed,
  functions reordered, comments rewritten, handed in as a notebook): the copier's rank and
  score against the highest pair of independent solutions.
- timing: N submissions generated from the corpus (every correct_* and bug_* file of the
  assignment, each copy disguised with its own seed), compared all pairs with
  `autograder similarity`'s function; wall time per run (repeat to see the noise).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from similarity_helpers import disguise, notebook  # noqa: E402

from autograder.batch.similarity import compare_class, write_similarity  # noqa: E402
from autograder.course import resolve_assignment  # noqa: E402

CORPUS = ROOT / "tests" / "corpus"
SLUGS = ["broadcasting", "custom_dataset", "normal_equation", "mlp_backprop", "conv_layer", "attention"]


def separation(tmp: Path) -> None:
    print(f"{'assignment':16} {'copier rank':>11} {'copier score':>12} {'best independent pair':>30}")
    for slug in SLUGS:
        folder = tmp / f"sep-{slug}"
        folder.mkdir()
        corrects = sorted((CORPUS / slug).glob("correct_*.py"))
        for path in corrects:
            (folder / f"{path.stem}.py").write_text(path.read_text())
        (folder / "stub_only.py").write_text((ROOT / f"student_template/{slug}/{slug}.py").read_text())
        (folder / "copier.ipynb").write_text(notebook(disguise(corrects[0].read_text(), seed=len(slug))))
        report = compare_class(resolve_assignment(slug), folder)
        rank, copier = next((i, p) for i, p in enumerate(report.pairs, 1) if "copier" in (p.a, p.b))
        independent = [p for p in report.pairs if "copier" not in (p.a, p.b)]
        best = f"{independent[0].score:.2f} ({independent[0].a} / {independent[0].b})" if independent else "none"
        print(f"{slug:16} {rank:>11} {copier.score:>12.2f} {best:>30}")
    print("score: mean of both files' shares of code also in the other (beyond the stub); flagged at 0.50")


def timing(tmp: Path, slug: str, n: int, repeat: int) -> None:
    bases = sorted((CORPUS / slug).glob("correct_*.py")) + sorted((CORPUS / slug).glob("bug_*.py"))
    folder = tmp / f"class-{slug}-{n}"
    folder.mkdir()
    for i in range(n):
        (folder / f"s{i:03d}.py").write_text(disguise(bases[i % len(bases)].read_text(), seed=i))
    for r in range(repeat):
        started, cpu = time.monotonic(), time.process_time()
        report = compare_class(resolve_assignment(slug), folder)
        compared, cpu = time.monotonic() - started, time.process_time() - cpu
        started = time.monotonic()
        write_similarity(report, tmp / f"out{r}")
        written = time.monotonic() - started
        print(f"{n} {slug} submissions ({len(bases)} distinct bases): {n * (n - 1) // 2} pairs compared in "
              f"{compared:.1f} s wall, {cpu:.1f} s CPU (reading and fingerprinting included), pages written in {written:.1f} s; "
              f"{len(report.pairs)} pairs share code, {len(report.flagged)} flagged")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--slug", default="conv_layer")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        separation(Path(tmp))
        timing(Path(tmp), args.slug, args.n, args.repeat)


if __name__ == "__main__":
    main()

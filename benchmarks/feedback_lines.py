"""How much feedback students read: lines in the gallery, and lines `check` prints on each stub.

    .venv/bin/python benchmarks/feedback_lines.py [--gallery] [--stubs] [--python PY]

``--gallery`` grades every bug of ``tests/corpus/`` as ``autograder feedback-gallery`` does
(one grading pass) and builds each results.json twice from the same cases: with identical
problems collapsed with a count (``results.collapse``, the current rule) and with only
exactly equal texts merged (the rule before issue 15). It reports the lines of every test
output that did not pass, and how many of them are distinct, under each rule.

``--stubs`` runs ``autograder check`` on each assignment's student stub and counts the lines
it prints. ``--python`` runs that `check` with another interpreter (e.g. one whose
``PYTHONPATH`` points at an older checkout, for a before/after figure).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def exactly_equal(texts: list[str]) -> list[tuple[str, int]]:
    """The rule before issue 15: a text is left out only when another check's text is the same."""
    seen: list[str] = []
    for text in texts:
        if text and text not in seen:
            seen.append(text)
    return [(text, 1) for text in seen]


def _lines(reports: list[Any]) -> tuple[int, int]:
    lines = [ln for report in reports for t in report.tests if t.status != "passed"
             for ln in t.output.splitlines() if ln.strip()]
    return len(lines), len(set(lines))


def gallery_lines() -> None:
    from autograder import results
    from autograder.gallery import DEFAULT_CORPUS, graded

    collapsed, exact = [], []
    for assignment, _bug, report in graded(ROOT / DEFAULT_CORPUS):
        rebuild = dict(execution_time=0.0, header="", extra={}, include=lambda g: g.kind != "performance")
        collapsed.append(results.build_results(assignment.manifest, report.cases, **rebuild))
        original = results.collapse
        results.collapse = exactly_equal
        try:
            exact.append(results.build_results(assignment.manifest, report.cases, **rebuild))
        finally:
            results.collapse = original
    for label, reports in (("exactly equal texts merged (before)", exact),
                           ("identical problems collapsed with a count (now)", collapsed)):
        total, distinct = _lines(reports)
        print(f"  {label:<50} {total:5d} lines, {distinct:5d} distinct ({len(reports)} bugs)")


def stub_lines(python: str) -> None:
    from autograder.course import list_assignments

    for assignment in list_assignments():
        slug = assignment.slug
        stub = ROOT / "student_template" / slug / f"{slug}.py"
        done = subprocess.run([python, "-m", "autograder", "check", slug, str(stub)], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        out = done.stdout + done.stderr
        print(f"  {slug:<18} {len(out.splitlines()):4d} lines ({sum(1 for ln in out.splitlines() if ln.strip())} "
              "not blank)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gallery", action="store_true")
    parser.add_argument("--stubs", action="store_true")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    if args.stubs or not args.gallery:
        print("lines printed by `autograder check` on each stub:")
        stub_lines(args.python)
    if args.gallery:
        print("feedback lines of the corpus's bugs (tests that did not pass, timing left out):")
        gallery_lines()


if __name__ == "__main__":
    main()

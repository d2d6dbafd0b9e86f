"""`make demo`: batch-grade sample submissions for every assignment and print the results.

For each assignment the samples are: a correct solution written differently from the
reference (alice), a single-bug variant (bob), the untouched student stub (carol) and, for
broadcasting, a hostile submission that prints fake results and tries to escape (mallory).
They are taken from the test corpus, written to demo-out/submissions/<slug>/ and graded with
`autograder batch`, exactly as a TA would grade a class.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.batch import run_batch
from autograder.course import list_assignments

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "demo-out"


def samples(slug: str) -> dict[str, str]:
    corpus = ROOT / "tests" / "corpus" / slug
    pick = {
        "alice": next(iter(sorted(corpus.glob("correct_*.py"))), None),
        "bob": next(iter(sorted(corpus.glob("bug_*.py"))), None),
        "carol": ROOT / "student_template" / slug / f"{slug}.py",
    }
    out = {name: path.read_text() for name, path in pick.items() if path is not None and path.exists()}
    if slug == "broadcasting":
        cases = ROOT / "tests" / "adversarial" / "cases"
        out["mallory"] = (cases / "print_fake.py").read_text().replace("{HONEST}", (cases / "_honest.py").read_text())
    return out


def main() -> int:
    console = Console()
    shutil.rmtree(OUT, ignore_errors=True)
    for assignment in list_assignments(ROOT):
        slug = assignment.slug
        folder = OUT / "submissions" / slug
        folder.mkdir(parents=True)
        for student, source in samples(slug).items():
            (folder / f"{student}.py").write_text(source)
        started = time.monotonic()
        summary = run_batch(assignment, folder, OUT / slug, jobs=2)
        table = Table(title=f"{assignment.manifest.title} ({time.monotonic() - started:.1f} s)")
        for col in ("student", "score", "status", "first problem"):
            table.add_column(col)
        for result_file in sorted((OUT / slug / "results").glob("*.json")):
            import json

            data = json.loads(result_file.read_text())
            total = sum(t["max_score"] for t in data["tests"])
            problems = [ln[2:] for t in data["tests"] if t["status"] != "passed"
                        for ln in t["output"].splitlines() if ln.startswith("- ")]
            status = data.get("extra_data", {}).get("status", "")
            table.add_row(result_file.stem, f"{round(data['score'], 2):g}/{total:g}", status,
                          (problems[0] if problems else "")[:80])
        console.print(table)
        del summary
    console.print(f"gradebooks, results, feedback and report.html for each assignment: {OUT}/<slug>/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

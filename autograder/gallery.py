"""The feedback gallery: what a student reads for each known bug, as one reviewable document.

``autograder feedback-gallery`` grades every ``bug_*.py`` of the corpus (``tests/corpus/<slug>/``)
with all tests, hidden ones included and timing left out, and writes ``docs/feedback-gallery.md``:
per bug, the score, and the exact text of every test that did not pass, public tests apart from
hidden ones (hidden ones are what Gradescope shows after grades are published). Authors and TAs
review feedback there as a document; a diff of it shows what a change did to the words.

The file starts with a digest of the inputs that shape the text (corpus, graders, manifests,
references, the feedback modules), so a test can tell cheaply that it is stale. Hidden tests run
under the fixed ``HIDDEN_SEED``, not the course secret, so the text is the same everywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course import Assignment, list_assignments
from autograder.results import format_score

CHECKOUT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path("docs/feedback-gallery.md")
DEFAULT_CORPUS = Path("tests/corpus")
# What the gallery's text depends on; a change to any of these makes the committed gallery stale.
INPUTS = ("tests/corpus/*/bug_*.py", "assignments/*/assignment.toml", "assignments/*/tests/*.py",
          "solutions/*/*.py", "solutions/*/tests/test_*_hidden.py",
          "autograder/compare.py", "autograder/failures.py", "autograder/results.py", "autograder/scoring.py",
          "autograder/feedback.py", "autograder/testing.py", "autograder/student.py", "autograder/values.py",
          "autograder/origins.py", "autograder/gallery.py")
# Hidden graders draw from a per-submission seed keyed by the course secret (hidden_seed.py); the
# gallery uses this fixed one instead, so its text is the same on every machine and in CI.
HIDDEN_SEED = 2026
DIGEST_PREFIX = "<!-- inputs digest: "


def inputs_digest(root: Path = CHECKOUT) -> str:
    """sha256 over the names and bytes of every file in ``INPUTS`` (sorted, so stable)."""
    h = hashlib.sha256()
    files = sorted({p for pattern in INPUTS for p in root.glob(pattern) if p.is_file()})
    for path in files:
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def committed_digest(gallery: Path) -> str:
    """The digest a gallery file was generated from ("" when it has none)."""
    if not gallery.is_file():
        return ""
    first = gallery.read_text().split("\n", 1)[0]
    return first.removeprefix(DIGEST_PREFIX).removesuffix(" -->") if first.startswith(DIGEST_PREFIX) else ""


@dataclass
class BugFeedback:
    slug: str
    bug: str
    about: str
    score: float
    max_score: float
    public: list[tuple[str, str]]  # (test title and score, output) of each public test that did not pass
    hidden: list[tuple[str, str]]


def _about(path: Path) -> str:
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.strip().split("\n", 1)[0]


@contextlib.contextmanager
def _spawner(assignment: Assignment) -> Iterator[Any]:
    """Workers forked from one zygote per assignment where one can start (fast), else fresh ones."""
    from autograder.sandbox.launcher import Policy
    from autograder.sandbox.pool import zygote_spawner

    jobs = Path(tempfile.mkdtemp(prefix="autograder-gallery-"))
    try:
        with zygote_spawner(Policy.for_manifest(assignment.manifest, "cpu"), jobs / "jobs") as spawner:
            yield spawner
    finally:
        shutil.rmtree(jobs, ignore_errors=True)


def graded(corpus: Path, assignments: list[Assignment] | None = None) -> Iterator[tuple[Assignment, Path, Any]]:
    """Grade every ``bug_*.py`` of ``corpus`` (all tests, no timing): (assignment, bug, GradeReport)."""
    from autograder.grading import grade

    for assignment in assignments or list_assignments():
        bugs = sorted((corpus / assignment.slug).glob("bug_*.py"))
        if not bugs:
            continue
        with _spawner(assignment) as spawner, tempfile.TemporaryDirectory(prefix="autograder-gallery-") as tmp:
            for bug in bugs:
                target = Path(tmp) / bug.stem / assignment.manifest.submission_file
                target.parent.mkdir()
                shutil.copyfile(bug, target)
                yield assignment, bug, grade(assignment, target, mode="grade", device="cpu", performance=False,
                                             spawner=spawner, hidden_seeds=[HIDDEN_SEED])


def collect(corpus: Path, assignments: list[Assignment] | None = None) -> list[BugFeedback]:
    """What students read for every bug of ``corpus``."""
    found = []
    for assignment, bug, report in graded(corpus, assignments):
        shown = [(t.visibility, f"{t.name}: {format_score(t.score)} / {format_score(t.max_score)}",
                  t.output) for t in report.results.tests if t.status != "passed"]
        found.append(BugFeedback(
            assignment.slug, bug.stem, _about(bug), report.score, report.max_score,
            public=[(title, out) for vis, title, out in shown if vis == "visible"],
            hidden=[(title, out) for vis, title, out in shown if vis != "visible"]))
    return found


# Folders named per run (a zygote job, a fresh worker's temporary folder) appear in messages about
# files; the gallery names them generically so that regenerating it gives the same text.
_RUN_FOLDERS = (re.compile(r"/jobs/[0-9a-f]{32}/"), re.compile(r"/autograder-[A-Za-z0-9_]{8}/"))


def _stable(text: str) -> str:
    for pattern, name in zip(_RUN_FOLDERS, ("/jobs/<job>/", "/autograder-<job>/"), strict=True):
        text = pattern.sub(name, text)
    return text


def render(bugs: list[BugFeedback], digest: str) -> str:
    lines = [f"{DIGEST_PREFIX}{digest} -->",
             "# Feedback gallery",
             "",
             "Generated by `autograder feedback-gallery` from the buggy submissions in `tests/corpus/`; do not",
             "edit by hand. For each bug: what it is, its score with every test (timing left out), and the exact",
             "text a student reads for each test that did not pass: public tests (shown at once by",
             "`autograder check` and on Gradescope) and hidden tests (on Gradescope after grades are published).",
             ""]
    slug = None
    for bug in bugs:
        if bug.slug != slug:
            slug = bug.slug
            lines += [f"## {slug}", ""]
        lines += [f"### {bug.bug}", "", f"{bug.about}", "",
                  f"Score: {format_score(bug.score)} / {format_score(bug.max_score)}", ""]
        for label, tests in (("Public tests", bug.public), ("Hidden tests", bug.hidden)):
            if not tests:
                lines += [f"{label}: all passed.", ""]
                continue
            lines += [f"{label}:", ""]
            for title, output in tests:
                lines += [f"- {title}", "", "  ```text", *[f"  {ln}".rstrip() for ln in _stable(output).splitlines()],
                          "  ```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def build(out: Path, corpus: Path, root: Path = CHECKOUT) -> str:
    """Regenerate the gallery at ``out``; returns its text."""
    text = render(collect(corpus), inputs_digest(root))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text

"""The nbgrader export, run by the real nbgrader: generate_assignment, then autograde.

The reference (the released notebook with its solution cells filled in) earns
every exported point, the released stub earns none, and a partly wrong
submission earns what `autograder grade` gives its correctness groups.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import list_assignments, resolve_assignment
from autograder.export.nbgrader import export_nbgrader
from autograder.grading import grade

pytest.importorskip("nbgrader")
from nbgrader.api import Gradebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "corpus"
ASSIGNMENTS = [a.slug for a in list_assignments(ROOT)]
# The full nbgrader round trip (generate, release, autograde in kernels) takes a minute or two per assignment.
# By default it runs for a class assignment here, and for a function assignment (broadcasting) in
# test_partial_credit_matches_autograder_grade; every assignment's notebook itself is graded in
# test_notebooks.py, and the rest of the round trips run with -m slow.
DEFAULT_ROUND_TRIPS = {"custom_dataset"}
ROUND_TRIPS = [s if s in DEFAULT_ROUND_TRIPS else pytest.param(s, marks=pytest.mark.slow) for s in ASSIGNMENTS]
MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """The nbgrader command line (it starts `alembic` and kernels from PATH: this interpreter's)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def filled(source: dict, release: dict, code: dict[str, str] | None = None) -> dict:
    """The released notebook with each solution cell holding the source's solution (markers removed),
    or, for the grade ids in ``code``, that code instead."""
    by_id = {c["metadata"]["nbgrader"]["grade_id"]: c for c in source["cells"] if "nbgrader" in c["metadata"]}
    nb = json.loads(json.dumps(release))
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            text = "".join(by_id[meta["grade_id"]]["source"])
            text = "\n".join(line for line in text.split("\n") if not MARKER.match(line))
            cell["source"] = (code or {}).get(meta["grade_id"], text)
    return nb


def submit(course: Path, slug: str, student: str, nb: dict) -> None:
    folder = course / "submitted" / student / slug
    folder.mkdir(parents=True)
    (folder / f"{slug}.ipynb").write_text(json.dumps(nb))


def scores(course: Path, slug: str) -> dict[str, tuple[float, float]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student_id: (s.score, s.max_score) for s in gb.assignment_submissions(slug)}


def correctness_points(slug: str) -> float:
    return sum(g.points for g in resolve_assignment(slug, ROOT).manifest.groups if g.kind == "correctness")


@pytest.mark.parametrize("slug", ROUND_TRIPS)
def test_autograde_gives_the_reference_everything_and_the_released_stub_nothing(slug, tmp_path):
    course = tmp_path / "course"
    info = export_nbgrader(resolve_assignment(slug, ROOT), course)
    assert info.points == correctness_points(slug)
    nbgrader(course, "generate_assignment", slug, "--force")
    source = json.loads(info.notebook.read_text())
    release = json.loads((course / "release" / slug / f"{slug}.ipynb").read_text())
    released_text = json.dumps(release)
    assert "BEGIN HIDDEN TESTS" not in released_text and "AUTOGRADER_HIDDEN" not in released_text
    assert "### BEGIN SOLUTION" not in released_text
    submit(course, slug, "reference", filled(source, release))
    submit(course, slug, "stub", release)
    nbgrader(course, "autograde", slug, "--force")
    got = scores(course, slug)
    assert got["reference"] == pytest.approx((info.points, info.points))
    assert got["stub"] == pytest.approx((0.0, info.points))


def test_partial_credit_matches_autograder_grade(tmp_path):
    """One wrong function: nbgrader's points equal `autograder grade`'s correctness points, group by group."""
    slug = "broadcasting"
    course = tmp_path / "course"
    info = export_nbgrader(resolve_assignment(slug, ROOT), course)
    nbgrader(course, "generate_assignment", slug, "--force")
    source = json.loads(info.notebook.read_text())
    release = json.loads((course / "release" / slug / f"{slug}.ipynb").read_text())
    bug = (CORPUS / slug / "bug_unbiased_std.py").read_text()
    bug_def = bug[bug.index("def standardize("):]
    submit(course, slug, "buggy", filled(source, release, {"part-standardize": "import torch\n\n" + bug_def}))
    nbgrader(course, "autograde", slug, "--force")
    buggy = tmp_path / f"{slug}.py"
    shutil.copyfile(CORPUS / slug / "bug_unbiased_std.py", buggy)
    report = grade(resolve_assignment(slug, ROOT), buggy, performance=False)
    counted = [t for t in report.results.tests if "performance" not in (t.tags or [])]
    expected = sum(t.score for t in counted)
    got, possible = scores(course, slug)["buggy"]
    assert possible == info.points
    assert 0 < got < possible
    assert got == pytest.approx(expected, abs=0.005 * len(counted) + 1e-9)  # results round each test to 0.01

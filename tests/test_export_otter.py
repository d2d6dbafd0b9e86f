"""The otter-grader export, run by the real otter-grader: the reference passes, the stub fails."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import list_assignments, resolve_assignment
from autograder.export.otter import export_otter
from autograder.grading import grade
from autograder.stubgen import make_stub

otter_test_files = pytest.importorskip("otter.test_files")
from otter.nbmeta_config import NBMetadataConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "corpus"
ASSIGNMENTS = [a.slug for a in list_assignments(ROOT)]
# Exporting and running every assignment under otter takes about 8 s each. By default: a function assignment,
# one whose parts are several functions with shared helpers, and a class assignment; the rest with -m slow.
DEFAULT_OTTER = {"broadcasting", "conv_layer", "custom_dataset"}
UNDER_OTTER = [s if s in DEFAULT_OTTER else pytest.param(s, marks=pytest.mark.slow) for s in ASSIGNMENTS]


def otter_scores(tests: Path, script: Path) -> dict[str, tuple[float, float]]:
    """otter's own loader and runner (what ``grader.check`` does), on a script's globals."""
    env = runpy.run_path(str(script))
    scores = {}
    for path in sorted(tests.glob("*.py")):
        test_file = otter_test_files.create_test_file(str(path), NBMetadataConfig())
        test_file.run(env)
        scores[test_file.name] = (test_file.score, test_file.possible)
    return scores


class _Exports(dict):
    """Each assignment's otter export, made the first time a test asks for it."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.out = out

    def __missing__(self, slug: str) -> Path:
        self[slug] = export_otter(resolve_assignment(slug, ROOT), self.out / slug).directory
        return self[slug]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    return _Exports(tmp_path_factory.mktemp("otter"))


@pytest.mark.parametrize("slug", UNDER_OTTER)
def test_reference_passes_and_stub_fails_under_otter(slug, exports, tmp_path):
    assignment = resolve_assignment(slug, ROOT)
    manifest = assignment.manifest
    public = {p: sum(g.points for g in manifest.groups if g.part == p and not g.hidden and g.kind == "correctness")
              for p in (x.name for x in manifest.parts)}
    tests = exports[slug] / "tests"
    assert {p.stem for p in tests.glob("*.py")} == {p for p, pts in public.items() if pts}
    assert "no sandbox" in (exports[slug] / "README.md").read_text().lower()
    assert "solutions" not in "".join(p.read_text() for p in tests.glob("*.py"))  # no reference inside
    ref = otter_scores(tests, assignment.reference_file)
    assert ref == {p: pytest.approx((pts, pts)) for p, pts in public.items() if pts}
    stub_file = tmp_path / f"{slug}.py"
    stub_file.write_text(make_stub(assignment.reference_file.read_text()))
    stub = otter_scores(tests, stub_file)
    assert {p: s for p, (s, _) in stub.items()} == {p: 0 for p in ref}


def test_otter_score_is_autograder_check_score_for_a_partly_wrong_submission(exports, tmp_path):
    """Per-case shares: otter gives the same partial credit as `autograder check` in the sandbox."""
    buggy = tmp_path / "broadcasting.py"
    shutil.copyfile(CORPUS / "broadcasting" / "bug_zero_as_one.py", buggy)
    scores = otter_scores(exports["broadcasting"] / "tests", buggy)
    report = grade(resolve_assignment("broadcasting", ROOT), buggy, mode="check")
    by_part: dict[str, float] = {}
    tests_in: dict[str, int] = {}
    for test in report.results.tests:
        by_part[test.tags[1]] = by_part.get(test.tags[1], 0) + test.score
        tests_in[test.tags[1]] = tests_in.get(test.tags[1], 0) + 1
    # results.json rounds each test's score to 2 decimals (what people read), otter's case shares to 6:
    # equal up to half a cent per test of the part
    assert {p: pytest.approx(s, abs=0.005 * tests_in[p] + 1e-9) for p, (s, _) in scores.items()} == by_part
    assert 0 < sum(by_part.values()) < report.results.max_score


def test_otter_check_command_line(exports, tmp_path):
    """`otter check` itself (it starts a kernel): all passed for the reference, feedback for the stub."""
    assignment = resolve_assignment("broadcasting", ROOT)
    tests = exports["broadcasting"] / "tests"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    ref = tmp_path / "ref" / "broadcasting.py"
    ref.parent.mkdir()
    shutil.copyfile(assignment.reference_file, ref)
    done = subprocess.run([sys.executable, "-m", "otter", "check", str(ref), "-t", str(tests)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert "All tests passed!" in done.stdout, done.stdout + done.stderr
    stub = tmp_path / "stub" / "broadcasting.py"
    stub.parent.mkdir()
    stub.write_text(make_stub(assignment.reference_file.read_text()))
    done = subprocess.run([sys.executable, "-m", "otter", "check", str(stub), "-t", str(tests), "-q", "expand_to"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert "All tests passed!" not in done.stdout
    assert "expand_to is not implemented yet (raises NotImplementedError)" in done.stdout, done.stdout


def test_export_needs_the_solutions(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(ROOT / "assignments" / "broadcasting", course / "assignments" / "broadcasting")
    done = subprocess.run([sys.executable, "-m", "autograder", "export", "otter",
                           str(course / "assignments" / "broadcasting"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "solutions of broadcasting are not here" in done.stderr

"""Hidden inputs that do not repeat: a per-submission seed from its content and the course secret.

Public graders keep the manifest's fixed seed; hidden graders (``seed``/``gen`` and Hypothesis) draw
from ``HMAC(course secret, slug + content)``. And no tolerance may be tuned to one seed: every
correct corpus submission and every reference passes under 20 different hidden seeds.
"""

from __future__ import annotations

import hashlib
import re
import stat
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, grade_source

from autograder.course import list_assignments, resolve_assignment
from autograder.grading import grade
from autograder.hidden_seed import ENV, FILE_NAME, SecretError, content_digest, course_secret, hidden_seed

SEEDS = [int.from_bytes(hashlib.sha256(f"robustness-{k}".encode()).digest()[:8], "little") >> 1 for k in range(20)]
CORRECT = sorted(CORPUS.glob("*/correct_*.py")) + sorted(
    a.reference_file for a in list_assignments() if a.reference_file is not None)


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}" if path.parent.parent == CORPUS else f"{path.stem}/reference"


@pytest.mark.slow  # about 20 s of CPU per submission, 20 submissions
@pytest.mark.parametrize("submission", CORRECT, ids=_id)
def test_correct_submission_passes_under_20_hidden_seeds(submission: Path, tmp_path: Path) -> None:
    """One worker per submission; each hidden case runs once per seed inside one pytest session."""
    slug = submission.parent.name if submission.parent.parent == CORPUS else submission.stem
    report = grade_source(slug, submission, tmp_path, performance=False, hidden_seeds=SEEDS)
    hidden = [c for c in report.cases if resolve_assignment(slug).manifest.group(c.group).hidden]
    assert len({c.nodeid for c in hidden if "hidden-seed-19" in c.nodeid}) > 0
    failed = [f"{c.nodeid}: {c.visible_text[:300]}" for c in report.cases if c.outcome != "passed" or c.credit < 1]
    assert not failed, "\n".join(failed)
    assert report.score == report.max_score
    assert report.results.extra_data["hidden_seed"] == [str(s) for s in SEEDS]


def test_every_assignment_has_a_correct_submission_in_the_seed_test() -> None:
    slugs = {p.stem for p in CORRECT if p.parent.parent != CORPUS}
    assert slugs == {a.slug for a in list_assignments()}
    assert len(CORRECT) >= 2 * len(slugs)


# ------------------------------------------------------------------ the seed and the secret


def _course(tmp_path: Path) -> Path:
    """A course holding a small assignment whose graders report the inputs they drew."""
    course = tmp_path / "course"
    (course / "assignments/seedy/tests").mkdir(parents=True)
    (course / "solutions/seedy/tests").mkdir(parents=True)
    (course / "assignments/seedy/assignment.toml").write_text(
        'slug = "seedy"\ntitle = "Seeds"\nseed = 7\n\n[[parts]]\nname = "f"\n\n'
        '[[groups]]\nname = "pub"\npart = "f"\ntitle = "public"\npoints = 1\n\n'
        '[[groups]]\nname = "hid"\npart = "f"\ntitle = "hidden"\npoints = 1\nhidden = true\n')
    report = '    pytest.fail(f"drew {value} {student.f(1)}")\n'
    (course / "assignments/seedy/tests/test_seedy_public.py").write_text(
        "import pytest, torch\nfrom hypothesis import given, strategies as st\n\n"
        '@pytest.mark.group("pub")\ndef test_gen(student, gen):\n    value = int(torch.randint(0, 10**9, (1,), generator=gen))\n'
        + report +
        '\n@pytest.mark.group("pub")\n@given(value=st.integers(0, 10**9))\ndef test_hyp(student, value):\n'
        '    if 10**6 < value < 10**9 - 10**6:  # Hypothesis tries the bounds (0, 10**9) first, whatever the seed\n    '
        + report)
    (course / "solutions/seedy/tests/test_seedy_hidden.py").write_text(
        (course / "assignments/seedy/tests/test_seedy_public.py").read_text().replace('"pub"', '"hid"'))
    (course / "solutions/seedy/seedy.py").write_text("def f(x):\n    return x\n")
    return course


def _drawn(report, title: str) -> list[str]:
    """The values each case of the group drew (from the grader's per-case record: the student's output
    collapses repeated problems to the first)."""
    group = {"public": "pub", "hidden": "hid"}[title]
    return sorted(v for c in report.cases if c.group == group for v in re.findall(r"drew (\d+)", c.visible_text))


def _grade(course: Path, source: str, tmp_path: Path):
    sub = tmp_path / f"sub{len(list(tmp_path.glob('sub*')))}"  # a new folder each time: only content counts
    sub.mkdir()
    (sub / "seedy.py").write_text(source)
    return grade(resolve_assignment("seedy", root=course), sub / "seedy.py")


def test_hidden_inputs_follow_the_content_public_inputs_stay(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    course = _course(tmp_path)
    first = _grade(course, "def f(x):\n    return x\n", tmp_path)
    again = _grade(course, "def f(x):\n    return x\n", tmp_path)
    changed = _grade(course, "def f(x):\n    return x  # resubmitted\n", tmp_path)
    assert len(_drawn(first, "public")) == 2 and len(_drawn(first, "hidden")) == 2
    assert _drawn(first, "public") == _drawn(changed, "public")  # public: the manifest's fixed seed
    assert _drawn(first, "hidden") == _drawn(again, "hidden")  # regrading the same files: same inputs
    assert set(_drawn(first, "hidden")).isdisjoint(_drawn(changed, "hidden"))  # both gen and Hypothesis
    seeds = [r.results.extra_data["hidden_seed"] for r in (first, again, changed)]
    assert seeds[0] == seeds[1] != seeds[2]
    for report in (first, changed):  # staff only: never in anything a student reads
        student_text = report.results.output + "".join(t.output + t.name for t in report.results.tests)
        assert report.results.extra_data["hidden_seed"] not in student_text
    secret = course / "solutions" / FILE_NAME
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600  # created on first use, staff only
    monkeypatch.setenv(ENV, "another course secret")  # the environment wins over the file
    other = _grade(course, "def f(x):\n    return x\n", tmp_path)
    assert other.results.extra_data["hidden_seed"] != seeds[0]
    assert set(_drawn(other, "hidden")).isdisjoint(_drawn(first, "hidden"))


def test_secret_file_is_created_once_and_read_after(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    (tmp_path / "solutions").mkdir()
    value = course_secret(tmp_path)
    assert len(value) == 64 and course_secret(tmp_path) == value
    assert course_secret(tmp_path, create=False) == value
    with pytest.raises(SecretError, match=ENV):
        course_secret(tmp_path / "elsewhere")
    (tmp_path / "solutions" / FILE_NAME).write_text("\n")
    with pytest.raises(SecretError, match="empty"):
        course_secret(tmp_path)


def test_seed_depends_on_every_file_and_the_secret(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "m.py").write_text("x = 1\n")
    base = content_digest(tmp_path / "a")
    (tmp_path / "a" / "helper.py").write_text("")
    assert content_digest(tmp_path / "a") != base
    assert hidden_seed(b"s", "slug", base) == hidden_seed(b"s", "slug", base)
    assert len({hidden_seed(b"s", "slug", base), hidden_seed(b"t", "slug", base),
                hidden_seed(b"s", "other", base)}) == 3


def test_gradescope_bundle_carries_the_secret(tmp_path: Path, monkeypatch) -> None:
    from autograder.gradescope.bundle import secret_member

    monkeypatch.delenv(ENV, raising=False)
    course = _course(tmp_path)
    name, data = secret_member(resolve_assignment("seedy", root=course))
    assert name == f"course/solutions/{FILE_NAME}"
    assert data.decode().strip() == (course / "solutions" / FILE_NAME).read_text().strip()


def test_repository_does_not_ship_a_secret() -> None:
    ignored = (ROOT / ".gitignore").read_text().split()
    assert f"/solutions/{FILE_NAME}" in ignored


def test_cluster_course_bundle_carries_the_secret(tmp_path: Path, monkeypatch) -> None:
    """`batch --ray` nodes unpack the course bundle: they must seed hidden inputs with the same secret."""
    from autograder.cluster.bundle import pack_course, unpack_course

    monkeypatch.delenv(ENV, raising=False)
    course = _course(tmp_path)
    node = unpack_course(pack_course(resolve_assignment("seedy", root=course)), tmp_path / "node", "seedy")
    assert course_secret(node.course_root, create=False) == course_secret(course)
    assert stat.S_IMODE((tmp_path / "node" / "solutions" / FILE_NAME).stat().st_mode) == 0o600

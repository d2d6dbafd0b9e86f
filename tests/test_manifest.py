"""Manifests: validated by pydantic, unknown keys rejected, one clear message, schema generated."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course import list_assignments
from autograder.manifest import ManifestError, json_schema, load_manifest

ROOT = Path(__file__).resolve().parents[1]
GOOD = """
slug = "toy"
title = "Toy"
[[parts]]
name = "f"
[[groups]]
name = "f_public"
part = "f"
title = "f works"
points = 1
[[groups]]
name = "f_hidden"
part = "f"
title = "f really works"
points = 1
hidden = true
"""
PERF = """
[[groups]]
name = "f_perf"
part = "f"
title = "f is fast"
points = 1
kind = "performance"
"""
TIMED = """
[[timed]]
part = "f"
group = "f_perf"
full_points_for = "any loop-free solution"
no_points_for = "a Python loop over rows"
sizes.cpu = { n = 4 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "assignment.toml"
    path.write_text(text)
    return path


def test_good_manifest_loads(tmp_path):
    m = load_manifest(write(tmp_path, GOOD))
    assert m.submission_file == "toy.py" and m.total_points == 2 and m.limits.memory_mb == 4096
    assert load_manifest(write(tmp_path, GOOD + PERF + TIMED)).timed[0].group == "f_perf"


@pytest.mark.parametrize("text,field,problem", [
    (GOOD + "\ncolour = 'red'\n", "colour", "Extra inputs are not permitted"),
    (GOOD.replace("points = 1", "points = -1"), "groups.0.points", "greater than 0"),
    (GOOD.replace('part = "f"', 'part = "g"'), "(top level)", "unknown part 'g'"),
    (GOOD + "\n[limits]\ncall_timout_s = 3\n", "limits.call_timout_s", "Extra inputs"),
    (GOOD.replace('title = "Toy"', ""), "title", "Field required"),
    (GOOD + '\n[[groups]]\nname = "f_public"\npart = "f"\ntitle = "dup"\npoints = 1\n', "(top level)", "unique"),
    (GOOD.replace("hidden = true", ""), "(top level)", "part 'f' needs a hidden correctness group"),
    (GOOD.replace('[[groups]]\nname = "f_public"\npart = "f"\ntitle = "f works"\npoints = 1\n', ""), "(top level)",
     "part 'f' needs a public correctness group"),
    (GOOD + PERF, "(top level)", "performance group 'f_perf' needs exactly one [[timed]] entry"),
    (GOOD + PERF + TIMED + TIMED, "(top level)", "a part is timed at most once"),
    (GOOD + PERF + TIMED.replace('full_points_for = "any loop-free solution"\n', ""), "timed.0.full_points_for",
     "Field required"),  # the speed contract is data the handout prints: never left out
    (GOOD + PERF + TIMED.replace('group = "f_perf"', 'group = "f_hidden"'), "(top level)",
     "must name a performance group of 'f'"),
])
def test_bad_manifest_names_file_field_and_problem(tmp_path, text, field, problem):
    path = write(tmp_path, text)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    message = str(info.value)
    assert str(path) in message and field in message and problem in message
    assert "\n" not in message


def test_invalid_toml(tmp_path):
    with pytest.raises(ManifestError, match="not valid TOML"):
        load_manifest(write(tmp_path, "slug = "))


def test_committed_schema_is_generated_from_the_models():
    committed = (ROOT / "autograder" / "assignment.schema.json").read_text()
    assert committed == json_schema(), "run: autograder schema > autograder/assignment.schema.json"


def test_every_course_manifest_is_valid():
    assignments = list_assignments(ROOT)
    assert assignments
    for a in assignments:
        assert a.manifest.slug == a.directory.name
        assert 0 < sum(g.points for g in a.manifest.groups if not g.hidden) < a.manifest.total_points

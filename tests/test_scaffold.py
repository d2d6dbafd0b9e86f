"""`autograder new`: the scaffold is complete, refused by `validate` while placeholders remain, and
accepted once they are gone and the student templates are built; `validate` lists what aten bans block."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import UsageError
from autograder.manifest import load_manifest
from autograder.scaffold import TODO, scaffold

ROOT = Path(__file__).resolve().parents[1]


def run(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, AUTOGRADER_COURSE=str(course))
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=course, capture_output=True, text=True,
                          timeout=600, env=env)


def fill_in(course: Path) -> None:
    """What an author does last: remove every placeholder marker line."""
    for path in course.rglob("*"):
        if path.is_file() and TODO in path.read_text():
            path.write_text("".join(line for line in path.read_text().splitlines(keepends=True) if TODO not in line))


def test_new_writes_every_file_and_never_overwrites(tmp_path):
    proc = run(tmp_path, "new", "toy_numerics", "--part", "scale", "--part", "shift")
    assert proc.returncode == 0, proc.stderr
    expected = ["assignments/toy_numerics/assignment.toml", "assignments/toy_numerics/README.md",
                "assignments/toy_numerics/tests/toy_numerics_checks.py",
                "assignments/toy_numerics/tests/test_toy_numerics_public.py", "solutions/toy_numerics/toy_numerics.py",
                "solutions/toy_numerics/speed_variants/unacceptable_row_loop.py",
                "solutions/toy_numerics/speed_variants/acceptable_mul.py",
                "solutions/toy_numerics/speed_variants/acceptable_add.py",
                "solutions/toy_numerics/speed_variants/acceptable_out.py", "solutions/toy_numerics/tests/test_toy_numerics_hidden.py",
                "solutions/toy_numerics/tests/test_toy_numerics_perf.py", "tests/corpus/toy_numerics/README.md"]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == sorted(expected)
    assert "build-student toy_numerics" in proc.stdout
    manifest = load_manifest(tmp_path / "assignments/toy_numerics/assignment.toml")
    assert [p.name for p in manifest.parts] == ["scale", "shift"] and manifest.timed[0].part == "scale"
    with pytest.raises(UsageError, match="already exists"):
        scaffold(tmp_path, "toy_numerics")
    for slug, parts in (("Bad-Slug", []), ("fine", ["not-a-name"]), ("fine", ["a", "a"])):
        with pytest.raises(UsageError):
            scaffold(tmp_path, slug, parts=parts)
    assert not (tmp_path / "assignments" / "fine").exists()


@pytest.mark.slow
def test_validate_refuses_the_raw_scaffold_and_accepts_it_filled_in(tmp_path):
    assert run(tmp_path, "new", "toy", "--part", "scale", "--part", "shift").returncode == 0
    raw = run(tmp_path, "validate", "toy")
    assert raw.returncode == 1 and TODO in raw.stdout and "out of date" in raw.stdout, raw.stdout
    fill_in(tmp_path)
    assert run(tmp_path, "build-student", "toy").returncode == 0
    assert (tmp_path / "student_template" / "toy" / "toy.ipynb").is_file()
    filled = run(tmp_path, "validate", "toy")
    assert filled.returncode == 0, filled.stdout + filled.stderr
    assert "12/12" in filled.stdout and "0/12" in filled.stdout and "ok" in filled.stdout


def test_validate_lists_the_aten_operators_a_ban_blocks(tmp_path):
    from autograder.course import resolve_assignment
    from autograder.validate import blocked_aten

    blocked = blocked_aten(resolve_assignment("conv_layer", ROOT).manifest)
    conv = blocked["torch.ops.aten.convolution (any convolution operator)"]
    assert {"convolution", "conv2d", "_convolution", "convolution_backward", "mkldnn_convolution"} <= set(conv)
    assert not any(op.startswith("_convert") for op in conv)
    assert "max_pool2d_with_indices" in blocked["torch.ops.aten.max_pool2d (any max-pooling operator)"]

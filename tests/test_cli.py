"""The command line: documented exit statuses, one-line usage errors, results file on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _commands(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every registered command and sub-command, so a new one is covered without editing this test."""
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if hasattr(command, "commands"):
            found += _commands(command, (*prefix, name))
    return found


def test_help_on_every_command(capsys):
    """The real entry point once in a process of its own; then every command's help in this process."""
    import typer

    from autograder.cli import app, main

    proc = run("--help")
    assert proc.returncode == 0 and "Usage" in proc.stdout
    commands = _commands(typer.main.get_command(app))
    assert {("grade",), ("batch",), ("export", "otter"), ("gradebook",)} <= set(commands)
    for cmd in commands:
        with pytest.raises(SystemExit) as done:
            main([*cmd, "--help"])
        assert done.value.code == 0 and "Usage" in capsys.readouterr().out, cmd


def test_unknown_assignment_is_a_usage_error():
    proc = run("grade", "nope", "x.py")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown assignment 'nope'" in proc.stderr


def test_missing_submission_is_a_usage_error(tmp_path):
    proc = run("grade", "broadcasting", str(tmp_path / "missing.py"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_bad_option_is_a_usage_error():
    assert run("grade", "broadcasting", "x.py", "--device", "tpu").returncode == 2


def test_grade_writes_results_and_exits_zero_whatever_the_score(tmp_path):
    stub = ROOT / "student_template" / "broadcasting" / "broadcasting.py"
    results = tmp_path / "out" / "results.json"
    proc = run("grade", "broadcasting", str(stub), "--results", str(results), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(results.read_text())
    assert data["score"] == 0
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}
    assert all(t["tags"][0] in ("correctness", "performance") for t in data["tests"])
    assert "not implemented yet" in data["tests"][0]["output"]


def test_check_runs_public_tests_only(tmp_path):
    ref = (ROOT / "solutions" / "broadcasting" / "broadcasting.py").read_text()
    (tmp_path / "broadcasting.py").write_text(ref)
    proc = run("check", "broadcasting", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "7 / 7" in proc.stdout and "hidden" not in proc.stdout


def test_broken_grader_is_a_framework_failure(tmp_path):
    course = tmp_path / "course"
    (course / "assignments" / "toy" / "tests").mkdir(parents=True)
    (course / "assignments" / "toy" / "assignment.toml").write_text(
        'slug = "toy"\ntitle = "t"\n[[parts]]\nname = "f"\n[[groups]]\nname = "g"\npart = "f"\n'
        'title = "g"\npoints = 1\n[[groups]]\nname = "h"\npart = "f"\ntitle = "h"\npoints = 1\nhidden = true\n')
    (course / "assignments" / "toy" / "tests" / "test_toy.py").write_text("import nonexistent_module\n")
    (tmp_path / "toy.py").write_text("def f():\n    return 1\n")
    proc = run("check", str(course / "assignments" / "toy"), str(tmp_path / "toy.py"))
    assert proc.returncode == 1 and "could not be run" in proc.stderr

"""Batch grading: every kind of entry, resumability (also after kill -9), faults, isolation, outputs."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, assert_no_leftovers

from autograder.batch import run_batch
from autograder.course import Assignment
from autograder.results import Results

ADVERSARIAL = Path(__file__).parent / "adversarial" / "cases"
HONEST = (ADVERSARIAL / "_honest.py").read_text()
STUB = (ROOT / "student_template/broadcasting/broadcasting.py").read_text()
REFERENCE = (ROOT / "solutions/broadcasting/broadcasting.py").read_text()


@pytest.fixture
def course(tmp_path) -> Path:
    """A copy of the broadcasting assignment with short limits, so hangs cost seconds."""
    root = tmp_path / "course"
    shutil.copytree(ROOT / "assignments/broadcasting", root / "assignments/broadcasting")
    shutil.copytree(ROOT / "solutions/broadcasting", root / "solutions/broadcasting")
    manifest = root / "assignments/broadcasting/assignment.toml"
    text = manifest.read_text().replace("call_timeout_s = 10", "call_timeout_s = 3")
    manifest.write_text(text.replace("import_timeout_s = 30", "import_timeout_s = 5"))
    return root


def assignment_in(course: Path) -> Assignment:
    return Assignment(course / "assignments/broadcasting", course)


def corpus(name: str) -> str:
    return (ADVERSARIAL / f"{name}.py").read_text().replace("{HONEST}", HONEST)


def test_every_kind_of_entry_and_all_outputs(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text(REFERENCE)
    (subs / "bob").mkdir()
    (subs / "bob" / "broadcasting.py").write_text(STUB)
    with zipfile.ZipFile(subs / "carol.zip", "w") as zf:
        zf.writestr("hw1/broadcasting.py", (CORPUS / "broadcasting/bug_unbiased_std.py").read_text())
    (subs / "dave.ipynb").write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": REFERENCE}]}))
    (subs / "erin.txt").write_text("my answers")
    (subs / "frank").mkdir()
    out = tmp_path / "out"
    summary = run_batch(assignment_in(course), subs, out, jobs=2)
    assert summary.graded_now == 6 and summary.framework_errors == []
    with open(out / "gradebook.csv") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"alice", "bob", "carol", "dave", "erin", "frank"}
    assert rows["alice"]["score"] == rows["alice"]["max_score"] == "23"
    assert rows["dave"]["score"] == "23"  # a notebook grades exactly like the .py file
    assert rows["bob"]["score"] == "0" and rows["bob"]["status"] == "graded"
    assert 0 < float(rows["carol"]["score"]) < 23
    assert rows["erin"]["status"] == rows["frank"]["status"] == "no_submission"
    assert "standardize: values" in rows["alice"]  # a column per test
    for student in rows:
        Results.read(out / "results" / f"{student}.json")
        assert (out / "feedback" / f"{student}.md").read_text().startswith(f"# Feedback for {student}")
    report = (out / "report.html").read_text()
    assert report.count("<img") >= 4 and "data:image/png;base64" in report
    assert_no_leftovers()


def test_rerun_grades_only_what_changed(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("a", "b", "c"):
        (subs / f"{name}.py").write_text(STUB)
    out = tmp_path / "out"
    first = run_batch(assignment_in(course), subs, out, jobs=2)
    assert first.graded_now == 3
    again = run_batch(assignment_in(course), subs, out, jobs=2)
    assert again.graded_now == 0 and again.skipped == 3
    (subs / "b.py").write_text(REFERENCE)
    third = run_batch(assignment_in(course), subs, out, jobs=2)
    assert third.graded_now == 1
    assert json.loads((out / "results/b.json").read_text())["score"] == 23


def test_faults_get_a_status_and_the_batch_goes_on(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("segfault", "memory_bomb", "fork_bomb", "hang_import"):
        (subs / f"{name}.py").write_text(corpus(name))
    (subs / "ok.py").write_text(REFERENCE)
    out = tmp_path / "out"
    run_batch(assignment_in(course), subs, out, jobs=2)
    with open(out / "gradebook.csv") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert rows["segfault"]["status"] == "crashed"
    assert rows["memory_bomb"]["status"] in ("crashed", "graded")
    assert rows["hang_import"]["status"] == "timeout"
    assert rows["ok"]["score"] == "23"
    for name in ("segfault", "memory_bomb", "fork_bomb"):  # the honest part is still graded
        assert float(rows[name]["broadcast_shape: worked examples and errors"]) == 2
    seg = json.loads((out / "results/segfault.json").read_text())
    assert "SIGSEGV" in json.dumps(seg)
    assert_no_leftovers()


def test_students_cannot_read_each_other(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    secret = "SECRET-OF-VICTIM-9137"
    (subs / "victim.py").write_text(REFERENCE + f"\n# {secret}\n")
    for i in range(3):
        (subs / f"snoop{i}.py").write_text(corpus("snoop"))
    out = tmp_path / "out"
    run_batch(assignment_in(course), subs, out, jobs=2)
    for i in range(3):
        text = (out / "results" / f"snoop{i}.json").read_text()
        assert "SNOOPED" in text and secret not in text and "LIST:" not in text


def test_kill_9_mid_run_then_rerun_completes_without_loss_or_duplicates(course, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for i in range(12):
        (subs / f"s{i:02d}.py").write_text(REFERENCE if i % 3 == 0 else STUB)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "autograder", "batch", str(course / "assignments/broadcasting"), str(subs),
           "--out", str(out), "--jobs", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    db = out / "grades.sqlite"
    deadline = time.monotonic() + 120
    recorded = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                recorded = sqlite3.connect(db).execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
            except sqlite3.Error:
                recorded = 0
            if recorded >= 3:
                break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 3 <= recorded < 12, "the run should be killed part-way"
    time.sleep(0.5)
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*), COUNT(DISTINCT student) FROM submissions").fetchone() == (12, 12)
    tests_per_student = {n for (n,) in con.execute("SELECT COUNT(*) FROM tests GROUP BY student")}
    assert len(tests_per_student) == 1  # every student has exactly the full set of test rows
    with open(out / "gradebook.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and {r["student"] for r in rows} == {f"s{i:02d}" for i in range(12)}
    assert all(r["score"] == ("23" if int(r["student"][1:]) % 3 == 0 else "0") for r in rows)
    time.sleep(1)
    assert_no_leftovers()


def test_usage_errors(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "autograder", "batch", "broadcasting", str(tmp_path / "nope"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2 and "not a folder" in proc.stderr

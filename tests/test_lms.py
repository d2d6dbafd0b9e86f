"""Gradebook export: Canvas's and Moodle's grade-import CSV files, checked against their column rules.

The rules (sources in docs/ta-tools.md):
- Canvas: header ``Student, ID, SIS User ID, SIS Login ID, Section`` then one column per
  assignment; a ``Points Possible`` row second; each student row identified by name, Canvas ID
  or SIS User ID; a score is a number or empty.
- Moodle: a header row; one identifier column (email, ID number or username) non-empty on every
  row (a row whose user is not found aborts the import); a grade is a number, empty or ``-``.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.batch.lms import RosterError, export_gradebook

TITLE = "Broadcasting, views and strides"


def rows(**scores: float) -> list[dict]:
    return [{"student": s, "score": v, "max_score": 23.0, "status": "graded"} for s, v in scores.items()]


def roster(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return path


def read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def check_canvas(table: list[list[str]], title: str, points: float) -> None:
    assert table[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert table[0][5] == title and len(table[0]) == 6
    assert table[1][0] == "Points Possible" and float(table[1][5]) == points
    for row in table[2:]:
        assert len(row) == 6
        assert row[0] or row[1] or row[2], row  # Canvas matches a student by one of these
        assert row[5] == "" or (is_number(row[5]) and 0 <= float(row[5]) <= points), row


def check_moodle(table: list[list[str]], title: str, id_column: str) -> None:
    header = table[0]
    assert header[-1] == title and id_column in header
    at = header.index(id_column)
    for row in table[1:]:
        assert len(row) == len(header)
        assert row[at].strip(), row  # an empty identifier would make Moodle abort the whole import
        assert row[-1] in ("", "-") or is_number(row[-1]), row


CANVAS_ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,submission
"Lovelace, Ada",101,S001,ada,L01,ada_l
"Turing, Alan",102,S002,alan,L01,alan_t
"Hopper, Grace",103,S003,grace,L02,grace_h
"""


def test_canvas_file_follows_the_import_rules(tmp_path):
    export = export_gradebook(TITLE, 23, rows(ada_l=23, alan_t=11.504, mallory=5), tmp_path / "out", "canvas",
                              roster(tmp_path, CANVAS_ROSTER))
    table = read(export.path)
    check_canvas(table, TITLE, 23)
    by_id = {r[1]: r for r in table[2:]}
    assert by_id["101"][5] == "23" and by_id["102"][5] == "11.5"
    assert by_id["103"][5] == ""  # no submission: empty, Canvas leaves the grade unset
    assert by_id["101"][0] == "Lovelace, Ada" and by_id["101"][4] == "L01"
    assert export.missing == ["grace_h"]
    # mallory handed something in but is not in the roster: an error, never dropped in silence
    assert export.errors == ["submission 'mallory' (score 5) is not in the roster"]
    assert "mallory" in export.errors_path.read_text()


def test_moodle_file_follows_the_import_rules(tmp_path):
    text = ("submission,email,idnumber,name\nada_l,ada@uni.edu,1001,Ada Lovelace\n"
            "alan_t,alan@uni.edu,1002,Alan Turing\ngrace_h,grace@uni.edu,1003,Grace Hopper\n"
            "nobody,,1004,No Email\n")
    export = export_gradebook(TITLE, 23, rows(ada_l=23, alan_t=0), tmp_path / "out", "moodle",
                              roster(tmp_path, text), zero_missing=True)
    table = read(export.path)
    check_moodle(table, TITLE, "Email address")
    assert table[0] == ["Email address", "ID number", "Full name", TITLE]
    grades = {r[0]: r[-1] for r in table[1:]}
    assert grades == {"ada@uni.edu": "23", "alan@uni.edu": "0", "grace@uni.edu": "0"}  # --zero-missing
    assert export.errors == ["roster line 5: no email (the column Moodle identifies users by)"]


def test_moodle_accepts_a_moodle_export_as_roster(tmp_path):
    text = ("First name,Last name,ID number,Email address,submission\nAda,Lovelace,1001,ada@uni.edu,ada_l\n")
    export = export_gradebook(TITLE, 23, rows(ada_l=20), tmp_path / "out", "moodle", roster(tmp_path, text))
    table = read(export.path)
    check_moodle(table, TITLE, "Email address")
    assert table[1][-1] == "20" and export.errors == []
    assert not export.errors_path.exists()


def test_duplicates_missing_identifiers_and_bad_rosters_are_errors(tmp_path):
    text = "name,submission\n,ghost\nAda,ada\nAda again,ada\n"
    export = export_gradebook(TITLE, 23, rows(ada=1), tmp_path / "out", "canvas", roster(tmp_path, text))
    assert any("also on line 3" in e for e in export.errors)
    assert any("line 2: Canvas needs" in e for e in export.errors)
    with pytest.raises(RosterError, match="submission"):
        export_gradebook(TITLE, 23, [], tmp_path / "out", "canvas", roster(tmp_path, "name,email\nA,a@b\n"))
    with pytest.raises(RosterError, match="--roster"):
        export_gradebook(TITLE, 23, [], tmp_path / "out", "moodle", None)


def test_plain_csv_without_roster_lists_every_submission(tmp_path):
    export = export_gradebook(TITLE, 23, rows(b=3, a=23), tmp_path / "out", "csv")
    assert read(export.path) == [["submission", "name", "email", "score", "max_score", "status"],
                                 ["a", "", "", "23", "23", "graded"], ["b", "", "", "3", "23", "graded"]]


def test_cli_exports_from_a_batch_store_and_fails_on_unknown_submissions(tmp_path):
    from autograder.batch.store import Store

    out = tmp_path / "out"
    out.mkdir()
    store = Store(out / "grades.sqlite")
    for student, score in (("ada_l", 23.0), ("mallory", 4.0)):
        store.record(student, "h", "g", "graded", 1.0, {"score": score, "tests": [
            {"name": "t", "score": score, "max_score": 23.0, "status": "passed", "tags": ["public"]}]}, {})
    store.close()
    cmd = [sys.executable, "-m", "autograder", "gradebook", "broadcasting", str(out), "--format", "canvas",
           "--roster", str(roster(tmp_path, CANVAS_ROSTER))]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "'mallory'" in proc.stderr and "not in the roster" in proc.stderr
    table = read(out / "canvas-grades.csv")
    check_canvas(table, TITLE, 23)
    assert [r[5] for r in table[2:]] == ["23", "", ""]

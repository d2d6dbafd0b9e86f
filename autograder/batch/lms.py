"""Grades out to the course's LMS: Canvas's and Moodle's grade-import CSV files, or a plain CSV.

    export = export_gradebook(assignment, Path("out"), "canvas", Path("roster.csv"))

A roster maps submission names (the entry names in the submissions folder) to the LMS's
students. Every roster student gets a row: an empty cell when they handed nothing in (both
LMSs read an empty cell as "no grade"; ``zero_missing`` writes 0 instead). A submission that
is not in the roster, a roster row without the identifier the LMS needs, or a name listed
twice is an error, reported and written beside the file, never dropped silently.

Formats (sources in docs/ta-tools.md):
- Canvas "Import scores" CSV: columns ``Student, ID, SIS User ID, SIS Login ID, Section`` and
  one per assignment, named ``Name`` (a new assignment) or ``Name (id)`` (an existing one);
  a second row ``Points Possible`` holds the assignment's points. A student is matched by
  name, Canvas ID or SIS User ID: one of them is required.
- Moodle "Import grades from CSV": a header row; one column identifies the user and is mapped
  to email address, ID number or username in the import form; one column per grade item;
  an empty cell or ``-`` is no grade; a row whose user is not found aborts the whole import.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("canvas", "moodle", "csv")
# roster columns, and the LMS export headers accepted for them (a Canvas or Moodle export plus
# a `submission` column works as a roster)
ALIASES = {
    "submission": ("submission",),
    "name": ("name", "student", "full name"),
    "canvas_id": ("canvas_id", "id"),
    "sis_user_id": ("sis_user_id", "sis user id"),
    "sis_login_id": ("sis_login_id", "sis login id"),
    "section": ("section",),
    "email": ("email", "email address"),
    "idnumber": ("idnumber", "id number"),
    "username": ("username",),
}
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IDS = {"email": "Email address", "idnumber": "ID number", "username": "Username"}


class RosterError(Exception):
    """The roster cannot be read (no submission column, not a CSV)."""


@dataclass
class Export:
    path: Path
    rows: int
    missing: list[str] = field(default_factory=list)  # roster students with no graded submission
    errors: list[str] = field(default_factory=list)

    @property
    def errors_path(self) -> Path:
        return self.path.with_name(self.path.stem + "-errors.txt")


def read_roster(path: Path) -> list[dict[str, str]]:
    """Rows with the canonical keys of ALIASES (missing columns are empty strings)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
            columns = {key: next((header[a] for a in names if a in header), None) for key, names in ALIASES.items()}
            if columns["submission"] is None:
                raise RosterError(f"{path} has no 'submission' column (the name of each student's entry "
                                  "in the submissions folder)")
            return [{key: (row.get(col) or "").strip() if col else "" for key, col in columns.items()}
                    for row in reader if any((v or "").strip() for v in row.values() if isinstance(v, str))]
    except (OSError, UnicodeError, csv.Error) as exc:
        raise RosterError(f"cannot read the roster {path}: {exc}") from None


def _score(value: float) -> str:
    return f"{round(value, 2):g}"


def export_gradebook(title: str, max_points: float, rows: list[dict[str, Any]], out_dir: Path, fmt: str,
                     roster_path: Path | None = None, zero_missing: bool = False) -> Export:
    """Write ``<fmt>-grades.csv`` in ``out_dir`` from the batch's rows; errors go beside it."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if fmt != "csv" and roster_path is None:
        raise RosterError(f"a {fmt} export needs --roster: the LMS knows students by its own ids, "
                          "not by submission names")
    scores = {r["student"]: r for r in rows}
    roster = read_roster(roster_path) if roster_path is not None else [
        {key: "" for key in ALIASES} | {"submission": s} for s in sorted(scores)]
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, student in enumerate(roster, start=2):
        if not student["submission"]:
            continue
        if student["submission"] in seen:
            errors.append(f"roster line {number}: submission {student['submission']!r} is also on line "
                          f"{seen[student['submission']]}")
        seen.setdefault(student["submission"], number)
    for name in sorted(set(scores) - set(seen)):
        errors.append(f"submission {name!r} (score {_score(scores[name]['score'])}) is not in the roster")
    out_dir.mkdir(parents=True, exist_ok=True)
    export = Export(out_dir / f"{fmt}-grades.csv", 0, errors=errors)

    def cell(student: dict[str, str]) -> str:
        row = scores.get(student["submission"])
        if row is None:
            export.missing.append(student["submission"] or student["name"] or "(unnamed)")
            return "0" if zero_missing else ""
        return _score(row["score"])

    with open(export.path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if fmt == "canvas":
            writer.writerow([*CANVAS_HEADER, title])
            writer.writerow(["Points Possible", "", "", "", "", _score(max_points)])
            for number, s in enumerate(roster, start=2):
                if not (s["name"] or s["canvas_id"] or s["sis_user_id"]):
                    errors.append(f"roster line {number}: Canvas needs a name, Canvas ID or SIS User ID")
                    continue
                writer.writerow([s["name"], s["canvas_id"], s["sis_user_id"], s["sis_login_id"], s["section"],
                                 cell(s)])
                export.rows += 1
        elif fmt == "moodle":
            ids = [k for k in MOODLE_IDS if any(s[k] for s in roster)]
            if not ids:
                raise RosterError("a Moodle export needs an email, idnumber or username column in the roster")
            writer.writerow([MOODLE_IDS[k] for k in ids] + ["Full name", title])
            for number, s in enumerate(roster, start=2):
                if not s[ids[0]]:  # Moodle aborts the whole import on a row whose user it cannot find
                    errors.append(f"roster line {number}: no {ids[0]} (the column Moodle identifies users by)")
                    continue
                writer.writerow([s[k] for k in ids] + [s["name"], cell(s)])
                export.rows += 1
        else:
            writer.writerow(["submission", "name", "email", "score", "max_score", "status"])
            for s in roster:
                row = scores.get(s["submission"])
                writer.writerow([s["submission"], s["name"], s["email"], cell(s), _score(max_points),
                                 row["status"] if row else "missing"])
                export.rows += 1
    if errors:
        export.errors_path.write_text("\n".join(errors) + "\n")
    else:
        export.errors_path.unlink(missing_ok=True)
    return export

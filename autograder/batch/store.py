"""The batch's SQLite store: one row per student and one per (student, test), written per submission.

Each submission is written in one transaction, so a run killed at any moment leaves
every submission either fully recorded or absent: a re-run completes the rest with
nothing lost or duplicated.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from autograder.batch.changes import Change

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    student TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    graders_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    seconds REAL NOT NULL,
    graded_at TEXT NOT NULL,
    results TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tests (
    student TEXT NOT NULL REFERENCES submissions(student) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    name TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    failure_kinds TEXT NOT NULL,
    PRIMARY KEY (student, name)
);
CREATE TABLE IF NOT EXISTS changes (
    student TEXT PRIMARY KEY,
    old_score REAL NOT NULL,
    new_score REAL NOT NULL,
    cause TEXT NOT NULL,
    tests TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


class Store:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)

    def graded(self) -> dict[str, tuple[str, str]]:
        """student -> (content hash, graders hash) of what is already recorded."""
        rows = self.db.execute("SELECT student, content_hash, graders_hash FROM submissions")
        return {s: (c, g) for s, c, g in rows}

    def previous(self, student: str) -> tuple[str, str, dict[str, Any]] | None:
        """(content hash, graders hash, results) recorded for ``student``, before a re-grade replaces them."""
        row = self.db.execute("SELECT content_hash, graders_hash, results FROM submissions WHERE student = ?",
                              (student,)).fetchone()
        return None if row is None else (row[0], row[1], json.loads(row[2]))

    def set_changes(self, changes: list[Change]) -> None:
        """The score changes of the latest run that re-graded anyone (replacing the previous list)."""
        at = time.strftime("%Y-%m-%dT%H:%M:%S")
        with self.db:
            self.db.execute("DELETE FROM changes")
            self.db.executemany("INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?)",
                                [(c.student, c.old_score, c.new_score, c.cause, c.tests, at) for c in changes])

    def changes(self) -> list[Change]:
        cur = self.db.execute("SELECT student, old_score, new_score, cause, tests FROM changes ORDER BY student")
        return [Change(*row) for row in cur]

    def record(self, student: str, content_hash: str, graders_hash: str, status: str, seconds: float,
               results: dict[str, Any], failure_kinds: dict[str, list[str]]) -> None:
        with self.db:  # one transaction
            self.db.execute("DELETE FROM tests WHERE student = ?", (student,))
            self.db.execute(
                "INSERT OR REPLACE INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (student, content_hash, graders_hash, status, results["score"],
                 sum(t["max_score"] for t in results["tests"]), seconds,
                 time.strftime("%Y-%m-%dT%H:%M:%S"), json.dumps(results)))
            self.db.executemany(
                "INSERT INTO tests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(student, i, t["name"], t["score"], t["max_score"], t["status"], t["tags"][0],
                  json.dumps(failure_kinds.get(t["name"], []))) for i, t in enumerate(results["tests"])])

    def rows(self) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT student, status, score, max_score, seconds, results FROM submissions "
                              "ORDER BY student")
        return [{"student": s, "status": st, "score": sc, "max_score": mx, "seconds": sec,
                 "results": json.loads(res)} for s, st, sc, mx, sec, res in cur]

    def test_rows(self) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT student, number, name, score, max_score, status, kind, failure_kinds "
                              "FROM tests ORDER BY student, number")
        return [{"student": s, "number": n, "name": name, "score": sc, "max_score": mx, "status": st,
                 "kind": k, "failure_kinds": json.loads(fk)} for s, n, name, sc, mx, st, k, fk in cur]

    def close(self) -> None:
        self.db.close()

"""Batch outputs: gradebook.csv, results/<student>.json, feedback/<student>.md, report.html.

The report is a folder that opens from disk with no server: report.html (figures are
inline PNGs drawn with matplotlib) links to a page per student and per test beside it.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from autograder.batch.pages import esc, page, pts, student_href, student_page, table, test_href, test_page
from autograder.results import format_score

STATUSES = ("graded", "timeout", "crashed", "no_submission")


def write_student_files(out: Path, student: str, results: dict[str, Any]) -> None:
    """results/<student>.json (Gradescope format) and feedback/<student>.md (what the student reads)."""
    for sub in ("results", "feedback"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    tmp = out / "results" / f".{student}.json.tmp"
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(out / "results" / f"{student}.json")
    (out / "feedback" / f"{student}.md").write_text(feedback_markdown(student, results))


def feedback_markdown(student: str, results: dict[str, Any]) -> str:
    total = sum(t["max_score"] for t in results["tests"])
    lines = [f"# Feedback for {student}", "", f"**Score: {format_score(results['score'])} / {format_score(total)}**", ""]
    head = results.get("output", "").rsplit("\n", 1)[0] if "\n" in results.get("output", "") else ""
    if head:
        lines += [head, ""]
    for t in results["tests"]:
        mark = "passed" if t["status"] == "passed" else "did not pass"
        lines += [f"## {t['name']}: {format_score(t['score'])} / {format_score(t['max_score'])} ({mark})", "", "```",
                  t.get("output", "").strip(), "```", ""]
    return "\n".join(lines)


def write_gradebook(path: Path, rows: list[dict[str, Any]], test_names: list[str]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "score", "max_score", "status", *test_names])
        for row in rows:
            scores = {t["name"]: t["score"] for t in row["results"]["tests"]}
            writer.writerow([row["student"], format_score(row["score"]), format_score(row["max_score"]), row["status"],
                             *[format_score(scores[n]) if n in scores else "" for n in test_names]])


def write_report(out: Path, title: str, rows: list[dict[str, Any]], test_rows: list[dict[str, Any]],
                 wall_seconds: float | None = None, similarity: Any = None, changes: list[Any] | None = None) -> None:
    """report.html plus students/<student>.html and tests/test-NNN.html that it links to."""
    names = list(dict.fromkeys(t["name"] for t in test_rows))
    numbers = {n: i for i, n in enumerate(names, start=1)}
    by_student: dict[str, list[dict[str, Any]]] = {}
    for t in test_rows:
        by_student.setdefault(t["student"], []).append(t)
    for sub in ("students", "tests"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for old in (out / sub).glob("*.html"):
            old.unlink()
    similar = _similar_by_student(similarity)
    sources = similarity.sources if similarity is not None else {}
    for row in rows:
        feedback = out / "feedback" / f"{row['student']}.md"
        text = feedback.read_text() if feedback.exists() else feedback_markdown(row["student"], row["results"])
        (out / "students" / f"{row['student']}.html").write_text(student_page(
            row, by_student.get(row["student"], []), text, numbers, sources.get(row["student"]),
            similar.get(row["student"], [])))
    for name in names:
        (out / test_href(numbers[name])).write_text(test_page(name, [t for t in test_rows if t["name"] == name]))
    (out / "report.html").write_text(report_html(title, rows, test_rows, wall_seconds, similarity, changes))


def _similar_by_student(similarity: Any, per_student: int = 3) -> dict[str, list[tuple[str, float, str]]]:
    from autograder.batch.pages import pair_file
    from autograder.batch.similarity import SHOWN

    out: dict[str, list[tuple[str, float, str]]] = {}
    if similarity is None:
        return out
    for rank, p in enumerate(similarity.pairs[:SHOWN], start=1):
        for me, other in ((p.a, p.b), (p.b, p.a)):
            if len(out.setdefault(me, [])) < per_student:
                out[me].append((other, p.score, pair_file(rank)))
    return out


def report_html(title: str, rows: list[dict[str, Any]], test_rows: list[dict[str, Any]],
                wall_seconds: float | None = None, similarity: Any = None, changes: list[Any] | None = None) -> str:
    """The TA's overview: summary, what the last regrade changed, similar pairs, figures, tests, students."""
    from autograder.batch import figures
    from autograder.batch.pages import similarity_section

    scores = [r["score"] for r in rows]
    max_score = max((r["max_score"] for r in rows), default=0)
    statuses = Counter(r["status"] for r in rows)
    names = list(dict.fromkeys(t["name"] for t in test_rows))
    counts = Counter(t["name"] for t in test_rows)
    full = Counter(t["name"] for t in test_rows if t["score"] >= t["max_score"])
    pass_rate = {n: full[n] / counts[n] for n in names}
    ratios: dict[str, list[float]] = {}
    for r in rows:
        for part, timing in r["results"].get("extra_data", {}).get("timing", {}).items():
            ratios.setdefault(part, []).append(timing["ratio"])
    kinds = Counter(k for t in test_rows for k in t["failure_kinds"])
    kinds.update({s: n for s, n in statuses.items() if s != "graded"})
    slowest = sorted(rows, key=lambda r: r["seconds"], reverse=True)[:10]
    figs = []
    if scores:
        figs.append(("Score distribution", figures.score_histogram(scores, max_score)))
    if names:
        figs.append(("Full points per test", figures.pass_rates(names, pass_rate, counts)))
    if ratios:
        figs.append(("Performance: time / reference time", figures.timing_ratios(ratios)))
    if slowest:
        figs.append(("Slowest submissions", figures.slowest(slowest)))
    if kinds:
        figs.append(("Failures by kind", figures.failure_kinds(kinds)))
    summary = [("students", str(len(rows)))] + [(s, str(statuses.get(s, 0))) for s in STATUSES]
    if scores:
        summary += [("mean score", f"{statistics.mean(scores):.2f} / {max_score:g}"),
                    ("median score", format_score(statistics.median(scores)))]
    if wall_seconds is not None:
        summary.append(("wall time of this run", f"{wall_seconds:.1f} s"))
    body = table(["", ""], [[esc(k), esc(v)] for k, v in summary])
    if changes:
        body += "<h2>What the last regrade changed</h2>" + _changes_table(changes)
    if similarity is not None:
        from autograder.batch.similarity import TOP_IN_REPORT

        body += ("<h2>Similar submissions</h2>" + similarity_section(similarity, TOP_IN_REPORT)
                 + "<p><a href='similarity.html'>more pairs</a></p>")
    body += "".join(f"<h2>{esc(t)}</h2>{img}" for t, img in figs)
    body += "<h2>Tests</h2>" + table(["test", "full points", "did not"], [
        [f"<a href='{test_href(i)}'>{esc(n)}</a>", f"{full[n]} of {counts[n]}",
         f"<a href='{test_href(i)}'>{counts[n] - full[n]}</a>"] for i, n in enumerate(names, start=1)])
    body += "<h2>Students</h2>" + table(["student", "score", "status", "seconds"], [
        [f"<a href='{student_href(r['student'])}'>{esc(r['student'])}</a>", pts(r["score"]), esc(r["status"]),
         f"{r['seconds']:.1f}"] for r in rows])
    return page(title, body)


def _changes_table(changes: list[Any]) -> str:
    rows = [[f"<a href='{student_href(c.student)}'>{esc(c.student)}</a>", pts(c.old_score), pts(c.new_score),
             f"{round(c.new_score - c.old_score, 2):+g}", esc(c.cause), esc(c.tests)] for c in changes]
    return ("<p>Every student whose score changed when last re-graded (also in "
            "<a href='changes.csv'>changes.csv</a>).</p>"
            + table(["student", "old", "new", "change", "cause", "tests responsible"], rows))

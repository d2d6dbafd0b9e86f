"""Batch outputs: gradebook.csv, results/<student>.json, feedback/<student>.md, report.html.

The report is one self-contained HTML file (figures are inline PNGs drawn with
matplotlib) that a TA can mail or open offline.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

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
    lines = [f"# Feedback for {student}", "", f"**Score: {results['score']:g} / {total:g}**", ""]
    head = results.get("output", "").rsplit("\n", 1)[0] if "\n" in results.get("output", "") else ""
    if head:
        lines += [head, ""]
    for t in results["tests"]:
        mark = "passed" if t["status"] == "passed" else "did not pass"
        lines += [f"## {t['name']}: {t['score']:g} / {t['max_score']:g} ({mark})", "", "```",
                  t.get("output", "").strip(), "```", ""]
    return "\n".join(lines)


def write_gradebook(path: Path, rows: list[dict[str, Any]], test_names: list[str]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "score", "max_score", "status", *test_names])
        for row in rows:
            scores = {t["name"]: t["score"] for t in row["results"]["tests"]}
            writer.writerow([row["student"], f"{row['score']:g}", f"{row['max_score']:g}", row["status"],
                             *[f"{scores[n]:g}" if n in scores else "" for n in test_names]])


def _figure(draw: Any, width: float = 7, height: float = 3.2) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    draw(ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def report_html(title: str, rows: list[dict[str, Any]], test_rows: list[dict[str, Any]],
                wall_seconds: float | None = None) -> str:
    """The TA's overview: distributions, pass rates, performance ratios, slowest, failures by kind."""
    scores = [r["score"] for r in rows]
    max_score = max((r["max_score"] for r in rows), default=0)
    statuses = Counter(r["status"] for r in rows)
    names = list(dict.fromkeys(t["name"] for t in test_rows))
    pass_rate = {n: statistics.mean(t["status"] == "passed" for t in test_rows if t["name"] == n) for n in names}
    ratios: dict[str, list[float]] = {}
    for r in rows:
        for part, timing in r["results"].get("extra_data", {}).get("timing", {}).items():
            ratios.setdefault(part, []).append(timing["ratio"])
    kinds = Counter(k for t in test_rows for k in t["failure_kinds"])
    kinds.update({s: n for s, n in statuses.items() if s != "graded"})
    slowest = sorted(rows, key=lambda r: r["seconds"], reverse=True)[:10]
    figures = []
    if scores:
        figures.append(("Score distribution", _figure(lambda ax: (
            ax.hist(scores, bins=min(20, max(5, len(set(scores)))), range=(0, max_score or 1), color="#4477aa"),
            ax.set_xlabel("score"), ax.set_ylabel("students")))))
    if names:
        figures.append(("Pass rate per test", _figure(lambda ax: (
            ax.barh(range(len(names)), [pass_rate[n] * 100 for n in names], color="#228833"),
            ax.set_yticks(range(len(names)), [n[:60] for n in names], fontsize=7),
            ax.invert_yaxis(), ax.set_xlim(0, 100), ax.set_xlabel("% of students passing")),
            height=max(2.5, 0.28 * len(names) + 1))))
    if ratios:
        figures.append(("Performance: time / reference time", _figure(lambda ax: (
            ax.boxplot(list(ratios.values()), orientation="horizontal", tick_labels=list(ratios)),
            ax.set_xscale("log"), ax.axvline(1.0, color="grey", linestyle=":"), ax.set_xlabel("ratio (log)")))))
    if slowest:
        figures.append(("Slowest submissions", _figure(lambda ax: (
            ax.barh([r["student"] for r in slowest], [r["seconds"] for r in slowest], color="#ccbb44"),
            ax.invert_yaxis(), ax.set_xlabel("seconds to grade")))))
    if kinds:
        figures.append(("Failures by kind", _figure(lambda ax: (
            ax.bar(list(kinds), list(kinds.values()), color="#ee6677"), ax.set_ylabel("count"),
            ax.tick_params(axis="x", labelrotation=30)))))
    summary = [("students", str(len(rows)))] + [(s, str(statuses.get(s, 0))) for s in STATUSES]
    if scores:
        summary += [("mean score", f"{statistics.mean(scores):.2f} / {max_score:g}"),
                    ("median score", f"{statistics.median(scores):g}")]
    if wall_seconds is not None:
        summary.append(("wall time of this run", f"{wall_seconds:.1f} s"))
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in summary)
    body = "".join(f"<h2>{html.escape(t)}</h2>{img}" for t, img in figures)
    students = "".join(
        f"<tr><td>{html.escape(r['student'])}</td><td>{r['score']:g}</td><td>{html.escape(r['status'])}</td>"
        f"<td>{r['seconds']:.1f}</td></tr>" for r in rows)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}"
            "</style></head><body>"
            f"<h1>{html.escape(title)}</h1><table>{table}</table>{body}"
            "<h2>Students</h2><table><tr><th>student</th><th>score</th><th>status</th><th>seconds</th></tr>"
            f"{students}</table></body></html>\n")

"""The drill-down pages beside report.html: one per student, one per test, one per similar pair.

Every page is static HTML with relative links, so the output folder opens from disk (or
from a zip mailed to a colleague) with no server. Student text is escaped everywhere.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import quote

from autograder.results import format_score

CSS = ("body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}"
       "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;"
       "vertical-align:top}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;white-space:pre-wrap}"
       "mark{background:#ffe08a}.flag{color:#b00;font-weight:bold}.bad{color:#b00}.muted{color:#777}"
       ".side{display:grid;grid-template-columns:1fr 1fr;gap:1em}.side pre{font-size:85%}"
       "img{max-width:100%}nav{margin-bottom:1em}")


def esc(text: Any) -> str:
    return html.escape(str(text))


def pts(value: float) -> str:
    """Points as people read them: at most two decimals (the one rounding rule, ``results.format_score``)."""
    return format_score(value)


def student_href(student: str, prefix: str = "students/") -> str:
    return prefix + quote(student, safe="") + ".html"


def test_href(number: int, prefix: str = "tests/") -> str:
    return f"{prefix}test-{number:03d}.html"


def page(title: str, body: str, up: str = "") -> str:
    """A whole page; ``up`` is the relative path back to report.html (empty on the report itself)."""
    nav = f"<nav><a href='{up}report.html'>&larr; class report</a></nav>" if up else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body>{nav}<h1>{esc(title)}</h1>{body}</body></html>\n")


def table(header: list[str], rows: list[list[str]]) -> str:
    """``rows`` hold HTML already escaped by the caller."""
    head = f"<tr>{''.join(f'<th>{esc(h)}</th>' for h in header)}</tr>" if any(header) else ""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def student_page(row: dict[str, Any], tests: list[dict[str, Any]], feedback: str, numbers: dict[str, int],
                 code: str | None, similar: list[tuple[str, float, str]]) -> str:
    """What the student reads (their feedback, verbatim), then what only staff see."""
    student = row["student"]
    results = row["results"]
    kinds = {t["name"]: ", ".join(t["failure_kinds"]) for t in tests}
    test_rows = [[f"<a href='{test_href(numbers[t['name']], '../tests/')}'>{esc(t['name'])}</a>",
                  f"{pts(t['score'])} / {pts(t['max_score'])}", esc(t["status"]), esc(kinds.get(t["name"], ""))]
                 for t in tests]
    staff = [("status", row["status"]), ("seconds to grade", f"{row['seconds']:.1f}"),
             ("score", f"{pts(row['score'])} / {pts(row['max_score'])}")]
    body = (f"<h2>What {esc(student)} sees</h2><pre>{esc(feedback)}</pre>"
            "<h2>Staff only</h2>" + table(["", ""], [[esc(k), esc(v)] for k, v in staff]) +
            "<h3>Tests</h3>" + table(["test", "points", "status", "failure kinds"], test_rows))
    if similar:
        body += "<h3>Most similar submissions</h3>" + table(["student", "score", "side by side"], [
            [f"<a href='{student_href(other, '')}'>{esc(other)}</a>", f"{score:.0%}",
             f"<a href='../similarity/{esc(link)}'>compare</a>"] for other, score, link in similar])
    extra = results.get("extra_data") or {}
    if extra:
        body += f"<h3>Grader's extra data</h3><pre>{esc(json.dumps(extra, indent=2, sort_keys=True))}</pre>"
    if code is not None:
        body += f"<details><summary>Submitted code</summary><pre>{esc(code)}</pre></details>"
    return page(f"{student}: {pts(row['score'])} / {pts(row['max_score'])}", body, up="../")


def test_page(name: str, tests: list[dict[str, Any]]) -> str:
    """One test (its whole name) and every student who did not get full points on it."""
    failed = sorted((t for t in tests if t["score"] < t["max_score"]), key=lambda t: (t["score"], t["student"]))
    passed = len(tests) - len(failed)
    rows = [[f"<a href='{student_href(t['student'], '../students/')}'>{esc(t['student'])}</a>",
             f"{pts(t['score'])} / {pts(t['max_score'])}", esc(", ".join(t["failure_kinds"]))] for t in failed]
    body = (f"<p>{passed} of {len(tests)} students earned full points; {len(failed)} did not.</p>" +
            (table(["student", "points", "failure kinds"], rows) if rows else ""))
    return page(name, body, up="../")


def _name(student: str, prefix: str, linked: bool) -> str:
    return f"<a href='{student_href(student, prefix)}'>{esc(student)}</a>" if linked else esc(student)


def pair_page(rank: int, pair: Any, slices: tuple[Any, Any], code_a: str, code_b: str, linked: bool = True) -> str:
    """Both files side by side; the regions copydetect found in both are highlighted."""
    from copydetect.utils import highlight_overlap

    def marked(code: str, slices: Any) -> str:
        if len(slices) == 0 or slices.shape[-1] == 0:
            return esc(code)
        return highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)[0]

    body = (f"<p>Rank {rank}. {pair.share_a:.0%} of {esc(pair.a)}'s own code (beyond the stub) is also in "
            f"{esc(pair.b)}'s; {pair.share_b:.0%} of {esc(pair.b)}'s is in {esc(pair.a)}'s. Identifiers, "
            "strings, comments and layout are ignored when matching, so highlighted regions may differ in "
            "names. Similar code is a reason to look, not proof of copying.</p>"
            f"<div class='side'><div><h2>{_name(pair.a, '../students/', linked)}</h2>"
            f"<pre>{marked(code_a, slices[0])}</pre></div>"
            f"<div><h2>{_name(pair.b, '../students/', linked)}</h2>"
            f"<pre>{marked(code_b, slices[1])}</pre></div></div>")
    return page(f"{pair.a} and {pair.b}: {pair.score:.0%} similar", body, up="../" if linked else "")


def pair_file(rank: int) -> str:
    """The side-by-side page of the pair ranked ``rank`` (in the similarity folder)."""
    return f"pair-{rank:04d}.html"


def similarity_rows(report: Any, shown: int, prefix: str = "", linked: bool = True) -> list[list[str]]:
    rows = []
    for rank, p in enumerate(report.pairs[:shown], start=1):
        flag = "<span class='flag'>flagged</span>" if p.score >= report.flag_at else ""
        rows.append([str(rank), _name(p.a, prefix + "students/", linked), _name(p.b, prefix + "students/", linked),
                     f"{p.score:.0%}", f"{p.share_a:.0%} / {p.share_b:.0%}", flag,
                     f"<a href='{prefix}similarity/{pair_file(rank)}'>side by side</a>"])
    return rows


def similarity_section(report: Any, shown: int, prefix: str = "", linked: bool = True) -> str:
    header = ["rank", "student A", "student B", "score", "share of A / of B", "", ""]
    skipped = "".join(f"<li>{esc(s)}: {esc(why)}</li>" for s, why in sorted(report.skipped.items()))
    return (f"<p>{len(report.sources)} submissions, {len(report.pairs)} pairs share code; "
            f"{len(report.flagged)} at or above {report.flag_at:.0%} are flagged. "
            f"Compared in {report.seconds:.1f} s with copydetect (winnowing); all pairs in "
            f"<a href='{prefix}similarity.csv'>similarity.csv</a>.</p>"
            + table(header, similarity_rows(report, shown, prefix, linked))
            + (f"<p>Not compared:</p><ul>{skipped}</ul>" if skipped else ""))


def similarity_index(report: Any, shown: int, linked: bool = True) -> str:
    """similarity.html; ``linked`` when a batch report (and its student pages) sits beside it."""
    return page("Similar submissions", similarity_section(report, shown, "", linked))

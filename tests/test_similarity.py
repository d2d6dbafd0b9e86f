"""Similarity: a disguised copy is the top pair and flagged; independent correct solutions are not."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest
from conftest import CORPUS, ROOT
from similarity_helpers import disguise, notebook

from autograder.batch.similarity import FLAG_AT, compare_class, write_similarity
from autograder.course import resolve_assignment

SLUGS = ["broadcasting", "custom_dataset", "normal_equation", "mlp_backprop", "conv_layer", "attention"]


def class_folder(tmp_path, slug: str):
    """Every independent correct solution of the corpus, the stub, and one disguised copy (a notebook)."""
    folder = tmp_path / slug
    folder.mkdir()
    corrects = sorted((CORPUS / slug).glob("correct_*.py"))
    for path in corrects:
        (folder / f"{path.stem}.py").write_text(path.read_text())
    (folder / "stub_only.py").write_text((ROOT / f"student_template/{slug}/{slug}.py").read_text())
    original = corrects[0]
    copy = disguise(original.read_text(), seed=len(slug))
    (folder / "copier.ipynb").write_text(notebook(copy))
    return folder, original.stem


@pytest.mark.parametrize("slug", SLUGS)
def test_disguised_copy_is_the_top_pair_and_independent_solutions_are_not_flagged(tmp_path, slug):
    folder, original = class_folder(tmp_path, slug)
    report = compare_class(resolve_assignment(slug), folder)
    top = report.pairs[0]
    assert {top.a, top.b} == {"copier", original}, [(p.a, p.b, round(p.score, 2)) for p in report.pairs]
    assert top.score >= FLAG_AT
    flagged = {(p.a, p.b) for p in report.flagged}
    assert flagged == {(top.a, top.b)}, [(p.a, p.b, round(p.score, 2)) for p in report.pairs]
    assert "stub_only" in report.skipped  # the stub is all boilerplate: nothing of its own to compare


def test_the_stub_never_counts(tmp_path):
    """Two students who only filled in one line each share nothing beyond the stub."""
    slug = "broadcasting"
    stub = (ROOT / f"student_template/{slug}/{slug}.py").read_text()
    reference = (ROOT / f"solutions/{slug}/{slug}.py").read_text()
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a.py").write_text(stub + "\n\ndef helper_a(t):\n    return t * 2\n")
    (folder / "b.py").write_text(stub + "\n\ndef helper_b(t):\n    return t + 1\n")
    (folder / "ref1.py").write_text(reference)
    with zipfile.ZipFile(folder / "ref2.zip", "w") as zf:  # the same code, handed in as a zip
        zf.writestr(f"hw/{slug}.py", reference)
    report = compare_class(resolve_assignment(slug), folder)
    assert {"a", "b"} <= set(report.skipped)
    assert [(p.a, p.b) for p in report.flagged] == [("ref1", "ref2")]
    assert report.pairs[0].score == pytest.approx(1.0)


def test_cli_writes_the_list_and_side_by_side_pages(tmp_path):
    folder, original = class_folder(tmp_path, "conv_layer")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "autograder", "similarity", "conv_layer", str(folder),
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1 pair(s) flagged" in proc.stdout and "FLAGGED" in proc.stdout
    rows = (out / "similarity.csv").read_text().splitlines()
    assert rows[0].startswith("rank,student_a,student_b,score")
    assert rows[1].split(",")[1:3] in (["copier", original], [original, "copier"])
    page = (out / "similarity" / "pair-0001.html").read_text()
    assert page.count("<mark>") >= 3 and "class='side'" in page
    assert "# my own approach" in page  # the copier's code is shown as handed in (comments included)
    assert "similarity/pair-0001.html" in (out / "similarity.html").read_text()


def test_report_rewrites_pages_and_escapes_student_text(tmp_path):
    slug = "broadcasting"
    reference = (ROOT / f"solutions/{slug}/{slug}.py").read_text()
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "x.py").write_text(reference + "\n# </pre><script>alert(1)</script>\n")
    (folder / "y.py").write_text(disguise(reference))
    report = compare_class(resolve_assignment(slug), folder)
    write_similarity(report, tmp_path / "out")
    page = (tmp_path / "out/similarity/pair-0001.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_vectorized_shares_equal_copydetects_own_comparison(tmp_path):
    from copydetect import compare_files

    folder, _ = class_folder(tmp_path, "attention")
    report = compare_class(resolve_assignment("attention"), folder)
    assert len(report.pairs) >= 3
    for p in report.pairs:
        _, (share_a, share_b), _ = compare_files(p.fp_a, p.fp_b)
        assert (p.share_a, p.share_b) == pytest.approx((share_a, share_b))

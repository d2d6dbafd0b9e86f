"""Feedback as students read it: the terminal summary, submission-level problems, the gallery, no internal reprs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import CORPUS, ROOT, grade_source

from autograder.feedback import internal_reprs
from autograder.gallery import DEFAULT_OUT, committed_digest, inputs_digest, render

GALLERY = ROOT / DEFAULT_OUT


def test_committed_gallery_is_current():
    """Cheap: the gallery records a digest of everything its text depends on (corpus, graders,
    manifests, references, feedback modules); a change to any of them needs a regeneration."""
    assert committed_digest(GALLERY) == inputs_digest(), (
        "docs/feedback-gallery.md is stale: run `.venv/bin/autograder feedback-gallery` and commit it")


@pytest.mark.slow
def test_committed_gallery_matches_a_fresh_regeneration():
    from autograder.gallery import collect

    assert render(collect(CORPUS), inputs_digest()) == GALLERY.read_text()


def test_gallery_shows_each_bug_with_public_and_hidden_text():
    text = GALLERY.read_text()
    bugs = sorted(p.stem for p in CORPUS.glob("*/bug_*.py"))
    assert all(f"\n### {bug}\n" in text for bug in bugs)
    assert "Public tests:" in text and "Hidden tests:" in text
    assert not internal_reprs(text)


def test_internal_reprs_are_recognised():
    assert internal_reprs("call: len(CsvTensorDataset)(Handle(id=1, type_name='object'))")
    assert internal_reprs("got <remote mod.Thing> and <student expand_to>")
    assert internal_reprs("a <__main__.Foo object at 0x7f00deadbeef>")
    assert not internal_reprs("call: conv2d_forward(float32[2, 3, 7, 7], float32[4, 3, 3, 3], None)")


def _check_output(tmp_path, slug: str, source: str, name: str | None = None) -> str:
    sub = tmp_path / (name or f"{slug}.py")
    sub.write_text(source)
    done = subprocess.run([sys.executable, "-m", "autograder", "check", slug, str(sub)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "120"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_check_on_the_stub_is_one_line_per_function(tmp_path):
    stub = (ROOT / "student_template/broadcasting/broadcasting.py").read_text()
    out = _check_output(tmp_path, "broadcasting", stub)
    lines = out.strip().splitlines()
    assert lines[0] == "Broadcasting, views and strides: 0 / 7"
    assert [ln.split()[0] for ln in lines[1:]] == ["broadcast_shape", "expand_to", "pairwise_sq_dists",
                                                   "standardize"]
    assert all(ln.endswith("not implemented") for ln in lines[1:]) and len(lines) == 5, out


def test_a_submission_level_problem_is_said_once_at_the_top_with_what_to_do(tmp_path):
    out = _check_output(tmp_path, "broadcasting", "{not json", name="broadcasting.ipynb")
    assert out.count("not valid .ipynb JSON") == 1, out
    assert "What to do: save the notebook again from Jupyter or Colab" in out
    assert out.index("not valid .ipynb JSON") < out.index("broadcast_shape")
    assert out.count("not run") == 4 and "Details" not in out
    out = _check_output(tmp_path, "broadcasting", "def broadcast_shape(*shapes):\n    return (\n")
    assert out.count("SyntaxError") == 1 and "What to do: fix that line" in out, out


def test_len_of_a_dataset_is_described_without_internal_reprs(tmp_path):
    source = (ROOT / "solutions/custom_dataset/custom_dataset.py").read_text()
    source += "\n\nCsvTensorDataset.__len__ = lambda self: 1000\n"
    report = grade_source("custom_dataset", source, tmp_path, performance=False)  # greps every output
    text = "\n".join(t.output for t in report.results.tests)
    assert "call: len(CsvTensorDataset)\n" in text and ", got 1000" in text and "Handle(" not in text

"""Fairness: any correct technique earns full marks; each single bug loses points where it is aimed."""

from __future__ import annotations

import pytest
from conftest import CORPUS, ROOT, grade_source, group_scores, output_of

CASES = CORPUS / "broadcasting"


def test_reference_full_and_stub_zero(tmp_path):
    ref = grade_source("broadcasting", ROOT / "solutions/broadcasting/broadcasting.py", tmp_path / "r")
    assert ref.score == ref.max_score == 23 and ref.status == "graded"
    stub = grade_source("broadcasting", ROOT / "student_template/broadcasting/broadcasting.py", tmp_path / "s")
    assert stub.score == 0


@pytest.mark.parametrize("name", ["correct_loops", "correct_einsum"])
def test_other_correct_techniques_earn_every_correctness_point(tmp_path, name):
    """Speed only earns the performance points (tests/test_timing.py); correctness is technique-blind."""
    report = grade_source("broadcasting", CASES / f"{name}.py", tmp_path, performance=False)
    assert report.score == report.max_score == 20, group_scores(report)


BUGS = {
    # bug file: (group title that must lose points, words the feedback must contain)
    "bug_zero_as_one": ("broadcast_shape: worked examples and errors", ["broadcast_shape", "expected (0,)"]),
    "bug_expand_copy": ("expand_to: values, stride-0 view, errors", ["expand_to", "copy", "view"]),
    "bug_no_clamp": ("pairwise_sq_dists: values and non-negativity", ["pairwise_sq_dists", "negative"]),
    "bug_unbiased_std": ("standardize: values", ["standardize", "wrong values", "Greatest absolute difference"]),
    "bug_expand_no_check": ("expand_to: values, stride-0 view, errors", ["expand_to", "should raise ValueError"]),
    "bug_float32_out": ("pairwise_sq_dists: float64, non-contiguous, batch 1, empty, large values (hidden)",
                        ["pairwise_sq_dists", "dtype float32, expected float64"]),
    "forbidden_expand": ("expand_to: values, stride-0 view, errors",
                         ["expand_to used a forbidden call: torch.Tensor.expand"]),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_each_bug_loses_points_where_aimed_with_pointed_feedback(tmp_path, name):
    group, words = BUGS[name]
    report = grade_source("broadcasting", CASES / f"{name}.py", tmp_path, performance=False)
    scores = group_scores(report)
    maximum = {t.name: t.max_score for t in report.results.tests}
    assert scores[group] < maximum[group], scores
    assert report.score < report.max_score
    feedback = output_of(report, group)
    for word in words:
        assert word in feedback, feedback


def test_hidden_feedback_never_shows_inputs(tmp_path):
    report = grade_source("broadcasting", CASES / "bug_zero_as_one.py", tmp_path)
    hidden = [t for t in report.results.tests if t.visibility == "after_published"]
    assert hidden and all("call:" not in t.output for t in hidden)
    visible = output_of(report, "broadcast_shape: worked examples")
    assert "call: broadcast_shape((1,), (0,))" in visible

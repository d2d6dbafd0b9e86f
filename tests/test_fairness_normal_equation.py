"""normal_equation fairness: correct techniques earn full marks; each single bug loses points where aimed."""

from __future__ import annotations

import pytest
from conftest import CORPUS, ROOT, grade_bug, grade_source, group_scores

SLUG = "normal_equation"
CASES = CORPUS / SLUG
BIAS = "add_bias: values, shapes, batched"
NORMAL = "normal_equation: full rank, rank-deficient, batched"
NORMAL_HIDDEN = ("normal_equation: random batches, minimum norm, underdetermined, float64, non-contiguous "
                 "(hidden)")
SCALE = "feature_scale: values, constant column"
DESCENT = "gradient_descent: losses and theta step for step, errors"


def test_reference_full_and_stub_zero(tmp_path):
    ref = grade_source(SLUG, ROOT / f"solutions/{SLUG}/{SLUG}.py", tmp_path / "r")
    assert ref.score == ref.max_score == 20 and ref.status == "graded", group_scores(ref)
    stub = grade_source(SLUG, ROOT / f"student_template/{SLUG}/{SLUG}.py", tmp_path / "s")
    assert stub.score == 0


@pytest.mark.parametrize("name", ["correct_svd_gram", "correct_eigh_where", "correct_gram_pinv"])
def test_other_correct_techniques_earn_full_marks(tmp_path, name):
    report = grade_source(SLUG, CASES / f"{name}.py", tmp_path, performance=False)
    assert report.score == report.max_score, group_scores(report)


BUGS = {
    # bug file: (group that must lose points, words its feedback must contain)
    "bug_bias_appended": (BIAS, ["add_bias: wrong values", "call: add_bias(float32[5, 3])",
                                 "expected -1.9789, got 1"]),
    "bug_solve_singular": (NORMAL, ["normal_equation", "singular", "minimum-norm solution",
                                    "call: normal_equation(float32[12, 5], float32[12])"]),
    "bug_normal_unbatched": (NORMAL, ["normal_equation", "call: normal_equation(float32[8, 15, 3], float32[8, 15])"]),
    "bug_normal_float32": (NORMAL_HIDDEN, ["normal_equation: theta has dtype float32, expected float64"]),
    "bug_scale_unbiased_std": (SCALE, ["feature_scale: wrong values in std (population: correction 0)",
                                       "call: feature_scale(float32[10, 3])"]),
    "bug_scale_constant_nan": (SCALE, ["feature_scale: X_scaled contains 16 NaN/inf", "first at index (0, 2)"]),
    "bug_gd_loss_after_update": (DESCENT, ["gradient_descent: wrong values in losses (losses[i] is J before update i",
                                           "call: gradient_descent(float32[25, 4], float32[25], 0.1, 1)"]),
    "bug_gd_no_mean": (DESCENT, ["gradient_descent: wrong values in theta after 1 step(s)"]),
    "bug_gd_accepts_zero_lr": (DESCENT, ["gradient_descent should raise ValueError",
                                         "call: gradient_descent(float32[10, 3], float32[10], 0.0, 5)"]),
    "forbidden_lstsq": (NORMAL, ["normal_equation used a forbidden call: torch.linalg.lstsq"]),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_each_bug_loses_points_where_aimed_with_pointed_feedback(tmp_path, name):
    group, words = BUGS[name]
    report, scores, maximum = grade_bug(SLUG, CASES / f"{name}.py", tmp_path, group, words, performance=False)
    if name.startswith("bug_gd"):
        assert scores[NORMAL] == 2 and scores[SCALE] == 1, scores  # a descent bug costs descent points only


def test_hidden_feedback_never_shows_inputs(tmp_path):
    report = grade_source(SLUG, CASES / "bug_solve_singular.py", tmp_path, performance=False)
    hidden = [t for t in report.results.tests if t.visibility == "after_published"]
    assert hidden and all("call:" not in t.output and "traceback" not in t.output for t in hidden)

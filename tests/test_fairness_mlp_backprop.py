"""mlp_backprop fairness: correct techniques earn full marks; each single bug loses points where aimed."""

from __future__ import annotations

import pytest
from conftest import CORPUS, ROOT, grade_bug, grade_source, group_scores, output_of

SLUG = "mlp_backprop"
CASES = CORPUS / SLUG
LINEAR = "linear_backward: dx, dW, db against autograd"
RELU = "relu_backward: against autograd, gradient 0 at x == 0"
SIGMOID = "sigmoid_forward: values, finite at +-1e4"
SOFTMAX = "softmax_cross_entropy: loss and dlogits against autograd, logits +-1e4"
MLP = "mlp_loss_and_grads: loss and every gradient against autograd"
MLP_HIDDEN = ("mlp_loss_and_grads: random sizes, dead and zero hidden units, extreme inputs, float64, batch 1 "
              "(hidden)")


def test_reference_full_and_stub_zero(tmp_path):
    ref = grade_source(SLUG, ROOT / f"solutions/{SLUG}/{SLUG}.py", tmp_path / "r")
    assert ref.score == ref.max_score == 27 and ref.status == "graded", group_scores(ref)
    stub = grade_source(SLUG, ROOT / f"student_template/{SLUG}/{SLUG}.py", tmp_path / "s")
    assert stub.score == 0


@pytest.mark.parametrize("name", ["correct_logsumexp_onehot", "correct_tanh_gather"])
def test_other_correct_techniques_earn_full_marks(tmp_path, name):
    report = grade_source(SLUG, CASES / f"{name}.py", tmp_path, performance=False)
    assert report.score == report.max_score, group_scores(report)


BUGS = {
    # bug file: (group that must lose points, words its feedback must contain)
    "bug_relu_grad_at_zero": (RELU, ["relu_backward: wrong values in dx", "the gradient of ReLU at x == 0 is 0",
                                     "at index (1,): expected 0, got 1"]),
    "bug_sigmoid_overflow": (SIGMOID, ["sigmoid_forward: the output for |x| up to 1e4 contains", "NaN/inf",
                                       "x = [-10000.0"]),
    "bug_softmax_no_shift": (SOFTMAX, ["softmax_cross_entropy: the loss", "NaN/inf", "logits = [["]),
    "bug_ce_sum_not_mean": (SOFTMAX, ["softmax_cross_entropy: wrong values in the loss (the mean over the batch",
                                      "call: softmax_cross_entropy(float32[5, 3], int64[5])"]),
    "bug_linear_db_mean": (LINEAR, ["linear_backward: wrong values in db", "call: linear_backward(float32[4, 5]"]),
    "bug_linear_dw_transposed": (LINEAR, ["linear_backward: dW has the wrong shape: expected [3, 5], got [5, 3]"]),
    "bug_mlp_no_relu_mask": (MLP, ["mlp_loss_and_grads: wrong values in grads['W1']",
                                   "call: mlp_loss_and_grads({W1: float32[5, 7]"]),
    "forbidden_autograd_linear": (LINEAR, ["linear_backward used a forbidden call: torch.autograd.grad"]),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_each_bug_loses_points_where_aimed_with_pointed_feedback(tmp_path, name):
    group, words = BUGS[name]
    report, scores, maximum = grade_bug(SLUG, CASES / f"{name}.py", tmp_path, group, words, performance=False)
    if name == "bug_relu_grad_at_zero":  # the MLP's exactly-zero hidden units catch it too, in hidden tests
        assert scores[MLP_HIDDEN] < maximum[MLP_HIDDEN]
        assert "call:" not in output_of(report, MLP_HIDDEN)

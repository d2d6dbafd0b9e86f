"""conv_layer fairness: correct techniques earn full marks; each single bug loses points where aimed."""

from __future__ import annotations

import pytest
from conftest import CORPUS, ROOT, grade_bug, grade_source, group_scores, output_of

SLUG = "conv_layer"
CASES = CORPUS / SLUG
FORWARD = "conv2d_forward: values, stride and padding, bias and b=None"
FORWARD_HIDDEN = ("conv2d_forward: random shapes, strides and paddings, non-square, float64, non-contiguous, "
                  "batch 1 (hidden)")
BACKWARD = "conv2d_backward: dx, dw, db against autograd, stride and padding"
POOL = "maxpool2d_forward: values, stride and kernel size"
POOL_BACKWARD = "maxpool2d_backward: against autograd, ties to the first maximum"
POOL_BACKWARD_HIDDEN = ("maxpool2d_backward: random shapes, overlapping windows, many ties, float64, "
                        "non-contiguous, batch 1 (hidden)")


def test_reference_full_and_stub_zero(tmp_path):
    ref = grade_source(SLUG, ROOT / f"solutions/{SLUG}/{SLUG}.py", tmp_path / "r")
    assert ref.score == ref.max_score == 30 and ref.status == "graded", group_scores(ref)
    assert set(ref.results.extra_data["timing"]) == {"conv2d_forward", "conv2d_backward"}
    stub = grade_source(SLUG, ROOT / f"student_template/{SLUG}/{SLUG}.py", tmp_path / "s")
    assert stub.score == 0


@pytest.mark.parametrize("name", ["correct_as_strided_einsum", "correct_kernel_loops", "correct_unfold_fold"])
def test_other_correct_techniques_earn_full_marks(tmp_path, name):
    report = grade_source(SLUG, CASES / f"{name}.py", tmp_path, performance=False)
    assert report.score == report.max_score == 25, group_scores(report)


BUGS = {
    # bug file: (group that must lose points, words its feedback must contain)
    "bug_flipped_kernel": (FORWARD, ["conv2d_forward: wrong values in the output (stride=1, padding=0)",
                                     "true convolution with the kernel flipped", "do not flip w",
                                     "call: conv2d_forward(float32[2, 3, 7, 7], float32[4, 3, 3, 3]"]),
    "bug_pad_one_side": (FORWARD, ["conv2d_forward: wrong values in the output (stride=1, padding=1",
                                   "padding only on the bottom/right", "on every side",
                                   "call: conv2d_forward(float32[2, 3, 6, 6]"]),
    "bug_ceil_output_size": (FORWARD, ["conv2d_forward: the output (stride=2, padding=1) has the wrong shape: "
                                       "expected [1, 2, 4, 4], got [1, 2, 5, 4]",
                                       "Ho = (H + 2*padding - KH) // stride + 1, rounded down",
                                       "call: conv2d_forward(float32[1, 3, 8, 6], float32[2, 3, 3, 2]"]),
    "bug_float32_bias": (FORWARD_HIDDEN, ["conv2d_forward: wrong values in the output",
                                          "the errors are the size of float32 rounding on float64 inputs"]),
    "bug_bias_ignored": (FORWARD, ["conv2d_forward: wrong values in the output", "without the bias b",
                                   "call: conv2d_forward(float32[2, 3, 7, 7], float32[4, 3, 3, 3], float32[4]"]),
    "bug_dx_overlaps_not_summed": (BACKWARD, ["conv2d_backward: wrong values in dx (stride=1, padding=0)",
                                              "call: conv2d_backward(float32[2, 4, 4, 4], float32[2, 3, 6, 6]"]),
    "bug_maxpool_ceil": (POOL, ["maxpool2d_forward: the output (kernel_size=2, stride=2) has the wrong shape: "
                                "expected [2, 2, 3, 2], got [2, 2, 4, 3]", "rounded down",
                                "call: maxpool2d_forward(float32[2, 2, 7, 5], 2, 2)"]),
    "bug_maxpool_last_tie": (POOL_BACKWARD, ["maxpool2d_backward: wrong values in dx with tied maxima",
                                             "your dx matches sending each window's gradient to its last maximum",
                                             "on ties the gradient goes to the first maximum in row-major order",
                                             "call: maxpool2d_backward(float32[2, 2, 3, 3], float32[2, 2, 6, 6]"]),
    "bug_maxpool_overwrite": (POOL_BACKWARD, ["maxpool2d_backward: wrong values in dx (kernel_size=3, stride=1)",
                                              "your dx matches writing each window's gradient with = instead of "
                                              "adding it", "must get the sum (+=)"]),
    "forbidden_f_conv2d": (FORWARD, ["conv2d_forward used a forbidden call: torch.nn.functional.conv2d"]),
    "forbidden_nn_conv2d": (FORWARD, ["conv2d_forward used a forbidden call: torch.nn.Conv2d"]),
    "forbidden_nn_grad": (BACKWARD, ["conv2d_backward used a forbidden call: torch.nn.grad.conv2d_input"]),
    "forbidden_max_pool_indices": (POOL_BACKWARD, ["maxpool2d_backward used a forbidden call: "
                                                   "torch.nn.functional.max_pool2d"]),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_each_bug_loses_points_where_aimed_with_pointed_feedback(tmp_path, name):
    group, words = BUGS[name]
    report, scores, maximum = grade_bug(SLUG, CASES / f"{name}.py", tmp_path, group, words, performance=False)
    part = group.split(":")[0]
    lost = {title for title in scores if scores[title] < maximum[title]}
    assert all(title.startswith(part + ":") for title in lost), lost  # a single bug costs only its own part
    if name.startswith("forbidden"):
        assert scores[group] == 0
    if name != "bug_float32_bias":  # the float32 hint is verified: no other bug's feedback claims it
        assert "float32 rounding" not in "".join(t.output for t in report.results.tests)
    if name == "bug_flipped_kernel":  # hidden tests catch it too, without showing the inputs
        assert scores[FORWARD_HIDDEN] < maximum[FORWARD_HIDDEN]
        assert "call:" not in output_of(report, FORWARD_HIDDEN)
    if name == "bug_maxpool_last_tie":
        assert scores[POOL_BACKWARD_HIDDEN] < maximum[POOL_BACKWARD_HIDDEN]
        assert "matches sending each window's gradient to its last maximum" in output_of(report, POOL_BACKWARD_HIDDEN)
    if name == "bug_maxpool_overwrite":  # its tie rule is right: the tie hint must not blame it
        assert "on ties" not in output_of(report, POOL_BACKWARD) + output_of(report, POOL_BACKWARD_HIDDEN)
        assert "instead of adding it" in output_of(report, POOL_BACKWARD_HIDDEN)

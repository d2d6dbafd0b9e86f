"""training_numerics fairness: correct techniques earn full marks; each single bug loses points where aimed."""

from __future__ import annotations

import pytest
from conftest import CORPUS, ROOT, grade_bug, grade_source, group_scores, output_of

SLUG = "training_numerics"
CASES = CORPUS / SLUG
SOFTMAX = "softmax: values along any dim, finite for logits up to +-1e4"
SOFTMAX_HIDDEN = ("softmax: random shapes and dims, extreme and tied logits, -inf entries, float64, non-contiguous "
                  "(hidden)")
CE = "cross_entropy: mean loss, finite when the true class is far behind"
CE_HIDDEN = "cross_entropy: random shapes, extreme logits, one class, batch 1, float64, non-contiguous (hidden)"
BN = "batch_norm: train and eval outputs, running statistics, [N, C] and [N, C, H, W]"
BN_HIDDEN = ("batch_norm: random shapes, momentum and eps, small variance, large mean, float64, non-contiguous "
             "(hidden)")
ADAM = "adam_step: parameter, m and v after one step, bias correction, tiny gradients"
ADAM_HIDDEN = "adam_step: random steps, hyper-parameters and shapes, weight decay, zero gradients, float64 (hidden)"


def test_reference_full_and_stub_zero(tmp_path):
    ref = grade_source(SLUG, ROOT / f"solutions/{SLUG}/{SLUG}.py", tmp_path / "r")
    assert ref.score == ref.max_score == 25 and ref.status == "graded", group_scores(ref)
    assert set(ref.results.extra_data["timing"]) == {"batch_norm"}
    stub = grade_source(SLUG, ROOT / f"student_template/{SLUG}/{SLUG}.py", tmp_path / "s")
    assert stub.score == 0


@pytest.mark.parametrize("name", ["correct_logsumexp_nll_two_pass", "correct_onehot_var_mean_inplace"])
def test_other_correct_techniques_earn_full_marks(tmp_path, name):
    report = grade_source(SLUG, CASES / f"{name}.py", tmp_path, performance=False)
    assert report.score == report.max_score == 23, group_scores(report)


NAN = "contains 1 NaN/inf value(s) where finite values were expected"
BUGS = {
    # bug file: (group that must lose points, words its feedback must contain, hidden group that must lose too)
    "bug_softmax_no_shift": (SOFTMAX, ["softmax: the output (dim=-1) contains 7 NaN/inf value(s)",
                                       "z = [[10000.0, 0.0, -10000.0]"], SOFTMAX_HIDDEN),
    "bug_ce_log_of_softmax": (CE, [f"cross_entropy: the loss (the mean over the batch, a 0-dim tensor) {NAN}",
                                   "call: cross_entropy(float32[3, 3], int64[3])", "y = [1, 2, 0]"], CE_HIDDEN),
    "bug_ce_sum_not_mean": (CE, ["cross_entropy: wrong values in the loss (the mean over the batch",
                                 "call: cross_entropy(float32[5, 3], int64[5])"], CE_HIDDEN),
    "bug_bn_unbiased_output": (BN, ["batch_norm: wrong values in the output (training mode)",
                                    "call: batch_norm(float32[16, 4], float32[4], float32[4], float32[4], float32[4], "
                                    "True)"], BN_HIDDEN),
    "bug_bn_running_var_biased": (BN, ["batch_norm: wrong values in new_running_var (training mode)",
                                       "it matches the biased batch variance: running_var is updated with the "
                                       "unbiased one"], BN_HIDDEN),
    "bug_bn_eval_updates_stats": (BN, ["batch_norm: wrong values in new_running_mean (eval mode)",
                                       "call: batch_norm(float32[16, 4], float32[4], float32[4], float32[4], "
                                       "float32[4], False)"], BN_HIDDEN),
    "bug_bn_eps_outside_sqrt": (BN, ["batch_norm: wrong values in the output (training mode, variance near eps)"],
                                BN_HIDDEN),
    "bug_bn_variance_from_moments": (BN, ["batch_norm: wrong values in the output (training mode, variance near "
                                          "eps)"], BN_HIDDEN),
    "bug_adam_no_bias_correction": (ADAM, ["adam_step: wrong values in new_param (t=1)",
                                           "call: adam_step(float32[6, 4], float32[6, 4], float32[6, 4], "
                                           "float32[6, 4], 1)"], ADAM_HIDDEN),
    "bug_adam_eps_inside_sqrt": (ADAM, ["adam_step: wrong values in new_param (t=5, gradients of 1e-6)"],
                                 ADAM_HIDDEN),
    "bug_adam_correction_off_by_one": (ADAM, ["adam_step: new_param (t=1) contains 24 NaN/inf value(s)"],
                                       ADAM_HIDDEN),
    "bug_adam_decoupled_weight_decay": (ADAM, ["adam_step: wrong values in new_m (t=3)", "weight_decay=0.1"],
                                        ADAM_HIDDEN),
    "forbidden_f_softmax": (SOFTMAX, ["softmax used a forbidden call: torch.nn.functional.softmax"],
                            SOFTMAX_HIDDEN),
    "forbidden_batch_norm_module": (BN, ["batch_norm used a forbidden call: torch.nn.BatchNorm1d"], BN_HIDDEN),
    "forbidden_optim_adam": (ADAM, ["adam_step used a forbidden call: torch.optim.Adam"], ADAM_HIDDEN),
}


# One bug per numerical idea runs by default; the rest (and the forbidden files, whose routes
# test_forbidden_training_numerics.py covers) run with -m slow, to keep the default suite short.
DEFAULT = {"bug_softmax_no_shift", "bug_ce_log_of_softmax", "bug_bn_running_var_biased", "bug_bn_eval_updates_stats",
           "bug_bn_eps_outside_sqrt", "bug_adam_no_bias_correction", "bug_adam_eps_inside_sqrt"}


@pytest.mark.parametrize("name", [n if n in DEFAULT else pytest.param(n, marks=pytest.mark.slow) for n in sorted(BUGS)])
def test_each_bug_loses_points_where_aimed_with_pointed_feedback(tmp_path, name):
    group, words, hidden = BUGS[name]
    part = group.split(":")[0]
    report, scores, maximum = grade_bug(SLUG, CASES / f"{name}.py", tmp_path, group, words, performance=False)
    lost = {title for title in scores if scores[title] < maximum[title]}
    assert lost == {group, hidden}, lost  # a single bug costs its own part only, in public and hidden tests
    assert f"call: {part}(" not in output_of(report, hidden)  # hidden feedback: the summary, no inputs
    if name.startswith("forbidden"):
        assert scores[group] == scores[hidden] == 0

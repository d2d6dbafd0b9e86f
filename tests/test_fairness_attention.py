"""attention fairness: correct techniques earn full marks; each single bug loses points where aimed."""

from __future__ import annotations

import pytest
from conftest import CORPUS, ROOT, grade_bug, grade_source, group_scores, output_of

SLUG = "attention"
CASES = CORPUS / SLUG
SDPA = "scaled_dot_product_attention: values, d != dv, masks, fully masked rows"
SDPA_HIDDEN = ("scaled_dot_product_attention: random shapes, broadcast masks, float64, batch 1, non-contiguous, "
               "large scores (hidden)")
CAUSAL = "causal_mask: values, L = 1"
MHSA_INIT = "MultiHeadSelfAttention: ValueError, submodules qkv and proj (state_dict keys)"
MHSA = "MultiHeadSelfAttention: forward with loaded weights, causal, key padding"
MHSA_HIDDEN = ("MultiHeadSelfAttention: bias=False, key padding and causal masks, random sizes, float64, batch 1, "
               "non-contiguous (hidden)")


def test_reference_full_and_stub_zero(tmp_path):
    ref = grade_source(SLUG, ROOT / f"solutions/{SLUG}/{SLUG}.py", tmp_path / "r")
    assert ref.score == ref.max_score == 25 and ref.status == "graded", group_scores(ref)
    timing = ref.results.extra_data["timing"]
    assert set(timing) == {"scaled_dot_product_attention", "MultiHeadSelfAttention"}
    stub = grade_source(SLUG, ROOT / f"student_template/{SLUG}/{SLUG}.py", tmp_path / "s")
    assert stub.score == 0, group_scores(stub)


@pytest.mark.parametrize("name", ["correct_where_nan_to_num", "correct_exp_einsum"])
def test_other_correct_techniques_earn_full_marks(tmp_path, name):
    report = grade_source(SLUG, CASES / f"{name}.py", tmp_path, performance=False)
    assert report.score == report.max_score == 19, group_scores(report)


BUGS = {
    # bug file: (group that must lose points, words its feedback must contain)
    "bug_no_scale": (SDPA, ["scaled_dot_product_attention: wrong values in attn",
                            "attn matches softmax(q k^T) with no 1/sqrt(d) scale",
                            "call: scaled_dot_product_attention(float32[4, 8], float32[4, 8], float32[4, 8])"]),
    "bug_scale_dv": (SDPA, ["scaled_dot_product_attention: wrong values in attn",
                            "attn matches a 1/sqrt(dv) scale", "d = 8 the last size of q and k (dv = 6 is v's)",
                            "call: scaled_dot_product_attention(float32[2, 3, 8], float32[2, 5, 8], float32[2, 5, 6])"]),
    "bug_nan_masked_rows": (SDPA, ["scaled_dot_product_attention: attn contains", "NaN/inf",
                                   "must be all zeros, never NaN", "3 row(s) with no allowed key",
                                   "bool[2, 4, 5]"]),
    "bug_inverted_mask": (SDPA, ["scaled_dot_product_attention: wrong values in attn",
                                 "attn matches the inverted mask", "mask bool[5, 5] for scores [2, 3, 5, 5]"]),
    "bug_strict_causal": (CAUSAL, ["causal_mask: wrong values in the mask for L = 1",
                                   "the diagonal must be True too", "(3 checks)\n  call: causal_mask(1)"]),
    "bug_heads_no_transpose": (MHSA, ["MultiHeadSelfAttention(16, 4).forward: wrong values in the output",
                                      "straight to [N, num_heads, L, head_dim]",
                                      "call: MultiHeadSelfAttention(...)(float32[2, 5, 16])"]),
    "bug_padding_inverted": (MHSA, ["MultiHeadSelfAttention(12, 2).forward: wrong values in the output",
                                    "key_padding_mask=bool[2, 5] (2 padding positions)"]),
    "forbidden_sdpa_functional": (SDPA, ["scaled_dot_product_attention used a forbidden call: "
                                         "torch.nn.functional.scaled_dot_product_attention"]),
    "forbidden_mha_module": (MHSA, ["MultiHeadSelfAttention(...) used a forbidden call: torch.nn.MultiheadAttention"]),
}
HIDDEN_TOO = {  # the hidden group of the same part loses points too, with feedback that names the bug
    "bug_no_scale": (SDPA_HIDDEN, "no 1/sqrt(d) scale"),
    "bug_nan_masked_rows": (SDPA_HIDDEN, "never NaN"),
    "bug_inverted_mask": (SDPA_HIDDEN, "inverted mask"),
    "bug_heads_no_transpose": (MHSA_HIDDEN, "straight to [N, num_heads, L, head_dim]"),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_each_bug_loses_points_where_aimed_with_pointed_feedback(tmp_path, name):
    group, words = BUGS[name]
    report, scores, maximum = grade_bug(SLUG, CASES / f"{name}.py", tmp_path, group, words, performance=False)
    if name.startswith("forbidden"):
        assert scores[group] == 0, scores
    if name in HIDDEN_TOO:
        hidden, word = HIDDEN_TOO[name]
        assert scores[hidden] < maximum[hidden], scores
        hidden_feedback = output_of(report, hidden)
        assert word in hidden_feedback and "call:" not in hidden_feedback, hidden_feedback
    if group != MHSA and not name.startswith("forbidden_sdpa"):
        assert scores[MHSA_INIT] == maximum[MHSA_INIT]  # construction does not depend on these bugs

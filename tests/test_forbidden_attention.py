"""attention: library attention is forbidden however it is reached; allowed building blocks stay allowed."""

from __future__ import annotations

import pytest
from conftest import ROOT, grade_source, group_scores, output_of, replace_solution

SLUG = "attention"
REFERENCE = (ROOT / f"solutions/{SLUG}/{SLUG}.py").read_text()
SDPA = "scaled_dot_product_attention: values, d != dv, masks, fully masked rows"
CAUSAL = "causal_mask: values, L = 1"
MHSA_INIT = "MultiHeadSelfAttention: ValueError, submodules qkv and proj (state_dict keys)"
MHSA = "MultiHeadSelfAttention: forward with loaded weights, causal, key padding"
F_SDPA = "torch.nn.functional.scaled_dot_product_attention"
ATEN_SDPA = "aten scaled_dot_product_attention kernels"
ATEN_MHA = "aten native multi-head, flash and efficient attention kernels"

# scaled_dot_product_attention computes attn with allowed ops, then out through a forbidden route
ATTN = ("scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])\n"
        "    if mask is not None:\n        scores = scores.masked_fill(~mask, float('-inf'))\n"
        "    attn = torch.softmax(scores, -1).nan_to_num(0.0)\n    ")
SDPA_ROUTES = {  # route: (body after ATTN, the forbidden name the feedback must show)
    "direct": ("return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask), attn", F_SDPA),
    "alias": ("from torch.nn.functional import scaled_dot_product_attention as fused\n"
              "    return fused(q, k, v, attn_mask=mask), attn", F_SDPA),
    "getattr": ("f = getattr(torch.nn.functional, 'scaled_dot_' + 'product_attention')\n"
                "    return f(q, k, v, attn_mask=mask), attn", F_SDPA),
    "importlib": ("import importlib\n    F = importlib.import_module('torch.nn.functional')\n"
                  "    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), attn", F_SDPA),
    "private_binding": ("return torch._C._nn.scaled_dot_product_attention(q, k, v, attn_mask=mask), attn", F_SDPA),
    "ops_packet": ("return torch.ops.aten.scaled_dot_product_attention(q, k, v, mask), attn", F_SDPA),
    "ops_overload": ("return torch.ops.aten.scaled_dot_product_attention.default(q, k, v, mask), attn", F_SDPA),
    "flex_attention": ("from torch.nn.attention.flex_attention import flex_attention\n"
                       "    return flex_attention(q, k, v), attn", "torch.nn.attention.flex_attention.flex_attention"),
    "ops_math": ("return torch.ops.aten._scaled_dot_product_attention_math(q, k, v, mask)[0], attn", ATEN_SDPA),
    "ops_flash_cpu": ("return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v)[0], attn",
                      ATEN_SDPA),
    "ops_efficient": ("return torch.ops.aten._efficient_attention_forward(q, k, v, None, None, None, None, None, "
                      "0.0, 0, False)[0], attn", ATEN_MHA),
}

MHSA_ROUTES = {  # route: (forward body, the forbidden name the feedback must show)
    "nn_multihead": ("m = torch.nn.MultiheadAttention(self.d_model, self.num_heads, batch_first=True)\n"
                     "    return m(x, x, x, need_weights=False)[0]", "torch.nn.MultiheadAttention"),
    "getattr_multihead": ("cls = getattr(torch.nn, 'Multihead' + 'Attention')\n"
                          "    return cls(self.d_model, self.num_heads, batch_first=True)(x, x, x)[0]",
                          "torch.nn.MultiheadAttention"),
    "submodule_multihead": ("from torch.nn.modules.activation import MultiheadAttention as M\n"
                            "    return M(self.d_model, self.num_heads, batch_first=True)(x, x, x)[0]",
                            "torch.nn.MultiheadAttention"),
    "functional_mha": ("t = x.transpose(0, 1)\n"
                       "    out, _ = torch.nn.functional.multi_head_attention_forward(\n"
                       "        t, t, t, self.d_model, self.num_heads, self.qkv.weight, self.qkv.bias, None, None, "
                       "False, 0.0,\n        self.proj.weight, self.proj.bias, training=False, need_weights=False)\n"
                       "    return out.transpose(0, 1)", "torch.nn.functional.multi_head_attention_forward"),
    "native_mha": ("return torch._native_multi_head_attention(x, x, x, self.d_model, self.num_heads, "
                   "self.qkv.weight, self.qkv.bias, self.proj.weight, self.proj.bias, None, False)[0]", ATEN_MHA),
    "ops_native_mha": ("return torch.ops.aten._native_multi_head_attention.default(x, x, x, self.d_model, "
                       "self.num_heads, self.qkv.weight, self.qkv.bias, self.proj.weight, self.proj.bias)[0]",
                       ATEN_MHA),
    "transformer_layer": ("layer = torch.nn.TransformerEncoderLayer(self.d_model, self.num_heads, batch_first=True)\n"
                          "    return layer(x)", "torch.nn.TransformerEncoderLayer"),
    "transformer_submodule": ("from torch.nn.modules.transformer import Transformer\n"
                              "    return Transformer(self.d_model, self.num_heads)(x, x)",
                              "torch.nn.Transformer"),
    "sdpa_in_forward": ("q, k, v = (t.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)\n"
                        "               for t in self.qkv(x).split(self.d_model, dim=-1))\n"
                        "    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)\n"
                        "    return self.proj(out.transpose(1, 2).flatten(2))", F_SDPA),
}


def _grade(tmp_path, source):
    report = grade_source(SLUG, source, tmp_path, limits={"call_timeout_s": 5}, performance=False)
    return report, group_scores(report)


@pytest.mark.parametrize("route", sorted(SDPA_ROUTES))
def test_sdpa_is_forbidden_on_every_route(tmp_path, route):
    body, name = SDPA_ROUTES[route]
    report, scores = _grade(tmp_path, replace_solution(REFERENCE, "scaled_dot_product_attention", ATTN + body))
    assert scores[SDPA] == 0, scores
    feedback = output_of(report, SDPA)
    assert f"scaled_dot_product_attention used a forbidden call: {name}" in feedback, feedback
    assert scores[CAUSAL] == 1 and scores[MHSA_INIT] == 1  # other parts are unaffected


@pytest.mark.parametrize("route", sorted(MHSA_ROUTES))
def test_library_attention_modules_are_forbidden_on_every_route(tmp_path, route):
    body, name = MHSA_ROUTES[route]
    report, scores = _grade(tmp_path, replace_solution(REFERENCE, "forward", body))
    assert scores[MHSA] == 0, scores
    feedback = output_of(report, MHSA)
    assert f"MultiHeadSelfAttention(...) used a forbidden call: {name}" in feedback, feedback
    assert scores[SDPA] == 3 and scores[CAUSAL] == 1 and scores[MHSA_INIT] == 1, scores


def test_allowed_building_blocks_stay_allowed(tmp_path):
    """softmax, matmul, bmm, einsum, masked_fill and where (functions, methods and torch.ops) are not banned."""
    body = ("s = torch.einsum('...qd,...kd->...qk', q, k) / math.sqrt(q.shape[-1])\n"
            "    s = torch.ops.aten.mul(s, 1.0)\n"
            "    if mask is not None:\n"
            "        s = s.masked_fill(~mask, float('-inf'))\n"
            "        s = torch.where(mask, s, torch.tensor(float('-inf'), dtype=s.dtype))\n"
            "    attn = torch.nn.functional.softmax(s, dim=-1)\n"
            "    attn = torch.ops.aten._softmax(s, -1, False) if mask is None else attn\n"
            "    if mask is not None:\n"
            "        attn = torch.where(mask.any(-1, keepdim=True), attn, torch.zeros_like(attn))\n"
            "    flat = attn.reshape(-1, *attn.shape[-2:])\n"
            "    vb = v.expand(*attn.shape[:-2], *v.shape[-2:]).reshape(-1, *v.shape[-2:])\n"
            "    out = torch.bmm(flat, vb).reshape(*attn.shape[:-1], v.shape[-1])\n"
            "    out = torch.matmul(attn, v) * 0.5 + out.matmul(torch.eye(v.shape[-1], dtype=v.dtype)) * 0.5\n"
            "    return out, attn")
    report, scores = _grade(tmp_path, replace_solution(REFERENCE, "scaled_dot_product_attention", body))
    assert report.score == report.max_score, (scores, output_of(report, SDPA))

"""Public graders for attention: run them with `autograder check attention`.

Every expected value is computed here in float64 with PyTorch's own attention
(see attention_checks.py) on the same inputs your code receives, then cast to
the input dtype. Masks are
boolean: True where a query may attend to a key. For `MultiHeadSelfAttention`
the grader makes a `state_dict` (the weights of `qkv` and `proj`), loads it into
your module with `load_state_dict`, and compares your forward pass with the
attention computed here from the same weights.
"""

from __future__ import annotations

import math

import pytest
import torch
from attention_checks import (
    MHSA,
    SDPA,
    attention64,
    build_module,
    causal_hint,
    describe_mask,
    largest,
    make_state_dict,
    mhsa64,
    mhsa_hint,
    random_mask,
    rtol_for,
    sdpa_hints,
)

from autograder.testing import CheckFailed, assert_close, assert_raises, randn, unpack

# ---------------------------------------------------------------- expected values, computed here


def check_sdpa(result, q, k, v, mask=None, note: str = "") -> None:
    """``result`` must be ``(out, attn)`` close to the float64 values; feedback says what it matches instead."""
    out, attn = unpack(result, 2, fn=SDPA, what="the result (out, attn)")
    exp_out, exp_attn = attention64(q, k, v, mask)
    scores = q.double() @ k.double().transpose(-2, -1) / math.sqrt(q.shape[-1])
    rtol = rtol_for(q.dtype, largest(scores))
    try:
        assert_close(attn, exp_attn.to(q.dtype), rtol=rtol, atol=rtol, fn=SDPA, what="attn")
        assert_close(out, exp_out.to(q.dtype), rtol=rtol, atol=rtol * max(largest(v), 1e-3), fn=SDPA, what="out")
    except CheckFailed as exc:
        hints = sdpa_hints(attn, q, k, v, mask)
        summary = exc.summary + "".join(f" ({h})" for h in hints)
        where = describe_mask(mask, q, k) if mask is not None else "mask: None"
        raise CheckFailed(summary, "\n".join(x for x in (exc.details, where, note) if x)) from None


# ---------------------------------------------------------------- scaled_dot_product_attention


@pytest.mark.group("sdpa_public")
@pytest.mark.parametrize("batch,lq,lk,d,dv", [((), 4, 4, 8, 8), ((2,), 3, 5, 8, 6), ((2, 3), 5, 7, 16, 4)])
def test_sdpa_no_mask(student, gen, batch, lq, lk, d, dv):
    q, k, v = randn(*batch, lq, d, gen=gen), randn(*batch, lk, d, gen=gen), randn(*batch, lk, dv, gen=gen)
    check_sdpa(student.scaled_dot_product_attention(q, k, v), q, k, v)


@pytest.mark.group("sdpa_public")
def test_sdpa_mask_same_shape(student, gen):
    q, k, v = randn(2, 4, 8, gen=gen), randn(2, 6, 8, gen=gen), randn(2, 6, 5, gen=gen)
    mask = random_mask((2, 4, 6), gen)
    check_sdpa(student.scaled_dot_product_attention(q, k, v, mask), q, k, v, mask)


@pytest.mark.group("sdpa_public")
def test_sdpa_causal_mask_broadcasts(student, gen):
    """A [L, L] mask applies to every batch and head of [B, H, L, L] scores."""
    q, k, v = randn(2, 3, 5, 6, gen=gen), randn(2, 3, 5, 6, gen=gen), randn(2, 3, 5, 4, gen=gen)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    check_sdpa(student.scaled_dot_product_attention(q, k, v, mask), q, k, v, mask)


@pytest.mark.group("sdpa_public")
def test_sdpa_key_padding_mask_broadcasts(student, gen):
    """A [B, 1, 1, Lk] mask hides the same keys from every head and query of one batch element."""
    q, k, v = randn(3, 2, 4, 8, gen=gen), randn(3, 2, 6, 8, gen=gen), randn(3, 2, 6, 3, gen=gen)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 1, 0, 1, 0]], dtype=torch.bool)
    mask = mask[:, None, None, :]
    check_sdpa(student.scaled_dot_product_attention(q, k, v, mask), q, k, v, mask)


@pytest.mark.group("sdpa_public")
def test_sdpa_fully_masked_rows_are_zero(student, gen):
    """Query rows 1 and 3 may attend to nothing: attn and out are zeros there, never NaN."""
    q, k, v = randn(2, 4, 8, gen=gen), randn(2, 5, 8, gen=gen), randn(2, 5, 6, gen=gen)
    mask = random_mask((2, 4, 5), gen)
    mask[:, 1] = False
    mask[0, 3] = False
    check_sdpa(student.scaled_dot_product_attention(q, k, v, mask), q, k, v, mask,
               note="rows mask[:, 1] and mask[0, 3] are all False")


# ---------------------------------------------------------------- causal_mask


def check_causal(result, L: int) -> None:
    expected = torch.ones(L, L, dtype=torch.bool).tril()
    try:
        assert_close(result, expected, rtol=0, atol=0, fn="causal_mask", what=f"the mask for L = {L}")
    except CheckFailed as exc:
        raise CheckFailed(exc.summary + causal_hint(result, expected), exc.details) from None


@pytest.mark.group("causal_mask_public")
@pytest.mark.parametrize("L", [1, 4, 7])
def test_causal_mask(student, L):
    check_causal(student.causal_mask(L), L)


# ---------------------------------------------------------------- MultiHeadSelfAttention


def check_mhsa(got, sd, x, heads: int, causal: bool = False, key_padding_mask=None, bias: bool = True) -> None:
    d_model = x.shape[-1]
    fn = f"{MHSA}({d_model}, {heads}{'' if bias else ', bias=False'}).forward"
    expected = mhsa64(sd, x, heads, causal, key_padding_mask)
    rtol = rtol_for(x.dtype, 4.0)
    try:
        assert_close(got, expected.to(x.dtype), rtol=rtol, atol=rtol * max(largest(expected), 1e-3), fn=fn,
                     what="the output")
    except CheckFailed as exc:
        hint = mhsa_hint(got, sd, x, heads, causal, key_padding_mask)
        hint = f" ({hint})" if hint else ""
        masks = f"causal={causal}, key_padding_mask=" + (
            "None" if key_padding_mask is None else f"bool{list(key_padding_mask.shape)} "
            f"({int((~key_padding_mask).sum())} padding positions)")
        raise CheckFailed(exc.summary + hint, "\n".join(x for x in (exc.details, masks) if x)) from None


@pytest.mark.group("mhsa_init_public")
@pytest.mark.needs_values
@pytest.mark.parametrize("d_model,heads", [(10, 3), (6, 4), (16, 5)])
def test_mhsa_value_error(student, d_model, heads):
    assert_raises("ValueError", student.MultiHeadSelfAttention, d_model, heads)


@pytest.mark.group("mhsa_init_public")
@pytest.mark.parametrize("bias", [True, False])
def test_mhsa_submodules(student, bias):
    m = student.MultiHeadSelfAttention(12, 3, bias=bias)
    sd = m.state_dict()
    expected = {"qkv.weight": [36, 12], "proj.weight": [12, 12]}
    if bias:
        expected.update({"qkv.bias": [36], "proj.bias": [12]})
    if not isinstance(sd, dict):
        raise CheckFailed(f"{MHSA}(12, 3).state_dict() did not return a dict")
    shapes = {str(k): list(v.shape) if isinstance(v, torch.Tensor) else v for k, v in sd.items()}
    if shapes != expected:
        raise CheckFailed(f"{MHSA}(12, 3, bias={bias}): the state_dict should hold exactly {expected}, got {shapes}",
                          "the only submodules are qkv = nn.Linear(d_model, 3 * d_model, bias=bias) and "
                          "proj = nn.Linear(d_model, d_model, bias=bias)")


@pytest.mark.group("mhsa_public")
@pytest.mark.parametrize("d_model,heads,n,length", [(16, 4, 2, 5), (12, 3, 1, 7), (24, 6, 3, 4)])
def test_mhsa_forward(student, gen, d_model, heads, n, length):
    sd = make_state_dict(d_model, gen)
    x = randn(n, length, d_model, gen=gen)
    m = build_module(student, d_model, heads, sd)
    check_mhsa(m(x), sd, x, heads)


@pytest.mark.group("mhsa_public")
def test_mhsa_causal(student, gen):
    d_model, heads = 16, 4
    sd = make_state_dict(d_model, gen)
    x = randn(2, 6, d_model, gen=gen)
    m = build_module(student, d_model, heads, sd)
    check_mhsa(m(x, causal=True), sd, x, heads, causal=True)


@pytest.mark.group("mhsa_public")
def test_mhsa_key_padding(student, gen):
    """Batch element 1 ends in two padding tokens that no query may attend to."""
    d_model, heads = 12, 2
    sd = make_state_dict(d_model, gen)
    x = randn(2, 5, d_model, gen=gen)
    pad = torch.tensor([[True] * 5, [True, True, True, False, False]])
    m = build_module(student, d_model, heads, sd)
    check_mhsa(m(x, key_padding_mask=pad), sd, x, heads, key_padding_mask=pad)

"""Hidden graders for attention: seeded random shapes, broadcast masks ([Lq, Lk], [B, 1, 1, Lk],
[B, 1, Lq, Lk]), fully masked rows and batches, d != dv, Lq != Lk, float64, batch 1, unbatched and
non-contiguous inputs, large scores, the grading device; a MultiHeadSelfAttention with random
sizes, bias=False, causal and key padding masks (alone and combined), fully padded sequences.
Expected values are computed here in float64 from the same inputs and weights.
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
    randint,
    random_mask,
    rtol_for,
    sdpa_hints,
)

from autograder.testing import (
    CheckFailed,
    assert_close,
    assert_raises,
    noncontiguous,
    randn,
    transposed,
    trivial,
    unpack,
)


def check_sdpa(result, q, k, v, mask=None) -> None:
    """Hidden feedback shows only the summary, so it names the shapes and what the result matches."""
    out, attn = unpack(result, 2, fn=SDPA, what="the result (out, attn)")
    exp_out, exp_attn = attention64(q, k, v, mask)
    scores = q.double().cpu() @ k.double().cpu().transpose(-2, -1) / math.sqrt(q.shape[-1])
    rtol = rtol_for(q.dtype, largest(scores))
    try:
        assert_close(attn, exp_attn.to(q.dtype).to(q.device), rtol=rtol, atol=rtol, fn=SDPA, what="attn")
        assert_close(out, exp_out.to(q.dtype).to(q.device), rtol=rtol, atol=rtol * max(largest(v), 1e-3), fn=SDPA,
                     what="out")
    except CheckFailed as exc:
        shapes = f"q {list(q.shape)}, k {list(k.shape)}, v {list(v.shape)}, " + (
            describe_mask(mask, q, k) if mask is not None else "no mask")
        hints = "".join(f"; {h}" for h in sdpa_hints(attn, q.cpu(), k.cpu(), v.cpu(),
                                                      None if mask is None else mask.cpu()))
        raise CheckFailed(f"{exc.summary} [{shapes}{hints}]", exc.details) from None


# ---------------------------------------------------------------- scaled_dot_product_attention

SDPA_CASES = ["random0", "random1", "random2", "random3", "mask_lq_lk", "mask_key_padding", "mask_b1_lq_lk",
              "mask_1_lk", "fully_masked_rows", "fully_masked_batch", "all_masked", "all_allowed", "float64",
              "float64_masked", "batch_one", "unbatched", "transposed", "strided", "single_key", "single_query",
              "large_scores", "cross_lengths", "device"]


def sdpa_inputs(case: str, gen: torch.Generator, device: torch.device):
    dtype = torch.float64 if case.startswith("float64") else torch.float32
    batch: tuple[int, ...] = (randint(gen, 1, 3), randint(gen, 1, 4))
    lq, lk, d, dv = randint(gen, 2, 9), randint(gen, 2, 9), randint(gen, 2, 16), randint(gen, 1, 12)
    if case.startswith("random"):
        batch = tuple(randint(gen, 1, 3) for _ in range(randint(gen, 0, 2)))
        lq, lk = randint(gen, 1, 12), randint(gen, 1, 12)
    elif case == "batch_one":
        batch = (1,)
    elif case == "unbatched":
        batch = ()
    elif case == "single_key":
        lk = 1
    elif case == "single_query":
        lq = 1
    elif case == "cross_lengths":
        lq, lk, d, dv = 3, 11, 10, 3
    elif case == "fully_masked_batch":  # a second batch element keeps the answer from being all zeros
        batch = (max(batch[0], 2), batch[1])
    elif case.startswith("mask_lq_lk") or case == "mask_1_lk":
        lk = lq
    scale = 6.0 if case == "large_scores" else 1.5
    q = randn(*batch, lq, d, gen=gen, dtype=dtype, scale=scale)
    k = randn(*batch, lk, d, gen=gen, dtype=dtype, scale=scale)
    v = randn(*batch, lk, dv, gen=gen, dtype=dtype)
    mask = None
    scores_shape = (*batch, lq, lk)
    if case.startswith("random") and randint(gen, 0, 2):
        forms = [scores_shape, (lq, lk), (*batch[:-1], 1, lq, lk) if batch else (lq, lk), (*batch[:1], *[1] *
                 (len(batch) - 1), 1, lk) if batch else (1, lk)]
        mask = random_mask(forms[randint(gen, 0, len(forms) - 1)], gen)
    elif case == "mask_lq_lk":
        mask = torch.ones(lq, lq, dtype=torch.bool).tril()
    elif case == "mask_key_padding":
        mask = random_mask((batch[0], 1, 1, lk), gen)
    elif case == "mask_b1_lq_lk":
        mask = random_mask((batch[0], 1, lq, lk), gen)
    elif case == "mask_1_lk":
        mask = random_mask((1, lk), gen)
    elif case in ("fully_masked_rows", "float64_masked", "strided", "transposed", "device", "cross_lengths"):
        mask = random_mask(scores_shape, gen)
        if case in ("fully_masked_rows", "float64_masked", "device"):
            mask[..., randint(gen, 0, lq - 1), :] = False
    elif case == "fully_masked_batch":
        mask = random_mask((batch[0], 1, lq, lk), gen)
        mask[0] = False
    elif case == "all_masked":
        mask = torch.zeros(scores_shape, dtype=torch.bool)
    elif case == "all_allowed":
        mask = torch.ones(scores_shape, dtype=torch.bool)
    if case == "transposed":
        q, k, v = transposed(q), transposed(k), transposed(v)
        mask = transposed(mask)
    elif case == "strided":
        q, k, v, mask = noncontiguous(q), noncontiguous(k), noncontiguous(v), noncontiguous(mask)
    if case == "device":
        q, k, v, mask = q.to(device), k.to(device), v.to(device), mask.to(device)
    return q, k, v, mask


@pytest.mark.group("sdpa_hidden")
@pytest.mark.parametrize("case", [c for c in SDPA_CASES if c != "all_masked"]
                         + trivial("all_masked"))  # every key masked: the answer is all zeros
def test_sdpa(student, gen, device, case):
    q, k, v, mask = sdpa_inputs(case, gen, device)
    if mask is None:
        result = student.scaled_dot_product_attention(q, k, v)
    else:
        result = student.scaled_dot_product_attention(q, k, v, mask)
    check_sdpa(result, q, k, v, mask)


@pytest.mark.group("sdpa_hidden")
def test_sdpa_mask_keyword(student, gen):
    q, k, v = randn(2, 5, 4, gen=gen), randn(2, 6, 4, gen=gen), randn(2, 6, 7, gen=gen)
    mask = random_mask((2, 5, 6), gen)
    check_sdpa(student.scaled_dot_product_attention(q, k, v, mask=mask), q, k, v, mask)


# ---------------------------------------------------------------- causal_mask


def check_causal(result, L: int, device: torch.device | None = None) -> None:
    expected = torch.ones(L, L, dtype=torch.bool).tril()
    try:
        assert_close(result, expected.to(device or "cpu"), rtol=0, atol=0, fn="causal_mask",
                     what=f"the mask for L = {L}")
    except CheckFailed as exc:
        raise CheckFailed(exc.summary + causal_hint(result, expected), exc.details) from None


@pytest.mark.group("causal_mask_hidden")
@pytest.mark.parametrize("case", ["random0", "random1", "one", "two", "large"])
def test_causal_mask(student, gen, case):
    L = {"one": 1, "two": 2, "large": 257}.get(case) or randint(gen, 3, 40)
    check_causal(student.causal_mask(L), L)


@pytest.mark.group("causal_mask_hidden")
@pytest.mark.parametrize("how", ["positional", "keyword", "string"])
def test_causal_mask_device(student, gen, device, how):
    L = randint(gen, 1, 9)
    if how == "positional":
        got = student.causal_mask(L, device)
    elif how == "keyword":
        got = student.causal_mask(L, device=device)
    else:
        got = student.causal_mask(L, device=str(device))
    check_causal(got, L, device)


# ---------------------------------------------------------------- MultiHeadSelfAttention


def check_mhsa(got, sd, x, heads: int, causal: bool = False, key_padding_mask=None, bias: bool = True) -> None:
    n, length, d_model = x.shape
    fn = f"{MHSA}({d_model}, {heads}{'' if bias else ', bias=False'})"
    expected = mhsa64(sd, x, heads, causal, key_padding_mask)
    rtol = rtol_for(x.dtype, 4.0)
    try:
        assert_close(got, expected.to(x.dtype).to(x.device), rtol=rtol, atol=rtol * max(largest(expected), 1e-3),
                     fn=fn, what="the output")
    except CheckFailed as exc:
        hint = mhsa_hint(got, sd, x.cpu(), heads, causal, key_padding_mask)
        hint = f"; {hint}" if hint else ""
        pads = "None" if key_padding_mask is None else f"{int((~key_padding_mask).sum())} padding positions"
        raise CheckFailed(f"{exc.summary} [x {str(x.dtype)[6:]}{list(x.shape)}, causal={causal}, "
                          f"key_padding_mask: {pads}{hint}]", exc.details) from None


def padding_mask(n: int, length: int, gen: torch.Generator, full_row: int | None = None) -> torch.Tensor:
    """Real tokens first, then padding (random lengths); ``full_row``: a sequence that is all padding."""
    lengths = torch.randint(1, length + 1, (n,), generator=gen)
    mask = torch.arange(length)[None, :] < lengths[:, None]
    if full_row is not None:
        mask[full_row] = False
    return mask


MHSA_CASES = ["random0", "random1", "random2", "random3", "bias_false", "bias_false_causal", "key_padding",
              "causal_and_padding", "padding_in_middle", "fully_padded_sequence", "first_token_padded_causal",
              "float64", "float64_causal_padding", "batch_one", "length_one", "strided", "transposed",
              "one_head", "head_dim_one", "device"]


@pytest.mark.group("mhsa_hidden")
@pytest.mark.parametrize("case", MHSA_CASES)
def test_mhsa(student, gen, device, case):
    heads, dh = randint(gen, 2, 5), randint(gen, 2, 6)
    n, length = randint(gen, 2, 4), randint(gen, 2, 9)
    causal, pad = False, None
    dtype = torch.float64 if case.startswith("float64") else torch.float32
    bias = not case.startswith("bias_false")
    if case == "one_head":
        heads = 1
    elif case == "head_dim_one":
        dh = 1
    elif case == "batch_one":
        n = 1
    elif case == "length_one":
        length = 1
    d_model = heads * dh
    if case.startswith("random"):
        causal, pad = bool(randint(gen, 0, 1)), padding_mask(n, length, gen) if randint(gen, 0, 1) else None
    elif case in ("bias_false_causal", "transposed", "batch_one", "length_one"):
        causal = True
    elif case in ("key_padding", "strided", "one_head", "head_dim_one"):
        pad = padding_mask(n, length, gen)
    elif case in ("causal_and_padding", "float64_causal_padding", "device"):
        causal, pad = True, padding_mask(n, length, gen)
    elif case == "padding_in_middle":
        pad = torch.rand(n, length, generator=gen) < 0.6
        pad[:, 0] = True
    elif case == "fully_padded_sequence":
        pad = padding_mask(n, length, gen, full_row=randint(gen, 0, n - 1))
    elif case == "first_token_padded_causal":  # query 0 sees only key 0, which is padding: no allowed key
        causal, pad = True, padding_mask(n, length, gen)
        pad[0, 0] = False
    sd = make_state_dict(d_model, gen, bias=bias, dtype=dtype)
    x = randn(n, length, d_model, gen=gen, dtype=dtype)
    if case == "strided":
        x = noncontiguous(x)
    elif case == "transposed":
        x = x.transpose(0, 1).contiguous().transpose(0, 1)
    dev = device if case == "device" else None
    m = build_module(student, d_model, heads, sd, bias=bias, device=dev)
    xs, ps = (x.to(device), None if pad is None else pad.to(device)) if dev is not None else (x, pad)
    kwargs = {}
    if causal:
        kwargs["causal"] = True
    if ps is not None:
        kwargs["key_padding_mask"] = ps
    check_mhsa(m(xs, **kwargs), sd, xs, heads, causal, pad, bias)


@pytest.mark.group("mhsa_hidden")
@pytest.mark.needs_values
@pytest.mark.parametrize("case", ["random0", "random1", "random2", "heads_over_d"])
def test_mhsa_value_error(student, gen, case):
    if case == "heads_over_d":
        d_model, heads = 3, 4
    else:
        heads = randint(gen, 2, 8)
        d_model = heads * randint(gen, 1, 6) + randint(gen, 1, heads - 1)
    assert_raises("ValueError", student.MultiHeadSelfAttention, d_model, heads)


@pytest.mark.group("mhsa_hidden")
@pytest.mark.parametrize("bias", [True, False])
def test_mhsa_state_dict_round_trip(student, gen, bias):
    """A state_dict saved from the module loads into a fresh one and gives the same output."""
    heads, dh = randint(gen, 1, 4), randint(gen, 1, 5)
    d_model = heads * dh
    sd = make_state_dict(d_model, gen, bias=bias)
    m = build_module(student, d_model, heads, sd, bias=bias)
    saved = m.state_dict()
    keys = {"qkv.weight", "proj.weight"} | ({"qkv.bias", "proj.bias"} if bias else set())
    if not isinstance(saved, dict) or set(map(str, saved)) != keys:
        got = sorted(map(str, saved)) if isinstance(saved, dict) else type(saved).__name__
        raise CheckFailed(f"{MHSA}({d_model}, {heads}, bias={bias}): state_dict keys should be {sorted(keys)}, "
                          f"got {got}")
    for key in keys:
        assert_close(saved[key], sd[key], rtol=0, atol=0, fn=f"{MHSA}.state_dict", what=f"{key!r} after loading")
    x = randn(2, 3, d_model, gen=gen)
    check_mhsa(m(x), sd, x, heads, bias=bias)

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

from autograder.testing import CheckFailed, assert_close, assert_raises, noncontiguous, randn, transposed, unpack

SDPA = "scaled_dot_product_attention"
MHSA = "MultiHeadSelfAttention"


def randint(gen: torch.Generator, low: int, high: int) -> int:
    return int(torch.randint(low, high + 1, (1,), generator=gen))


def attention64(q, k, v, mask=None, scale=None):
    q, k, v = q.double().cpu(), k.double().cpu(), v.double().cpu()
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale
    if mask is None:
        attn = torch.softmax(scores, dim=-1)
    else:
        mask = mask.cpu()
        scores = torch.where(mask, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
        attn = torch.softmax(scores, dim=-1)
        attn = torch.where(mask.any(-1, keepdim=True), attn, torch.zeros((), dtype=attn.dtype))
    return attn @ v, attn


def rtol_for(dtype: torch.dtype, magnitude: float = 1.0) -> float:
    base = 1e-4 if dtype == torch.float32 else 1e-10
    return max(base, 16 * torch.finfo(dtype).eps * magnitude)


def largest(t: torch.Tensor) -> float:
    return float(t.abs().max()) if t.numel() else 0.0


def _close(a, b: torch.Tensor) -> bool:
    return (isinstance(a, torch.Tensor) and tuple(a.shape) == tuple(b.shape) and bool(torch.isfinite(a).all())
            and torch.allclose(a.double(), b, rtol=1e-3, atol=1e-4))


def sdpa_hints(attn, q, k, v, mask) -> list[str]:
    d, dv = q.shape[-1], v.shape[-1]
    hints = []
    if mask is not None and not bool(mask.any(-1).all()) and isinstance(attn, torch.Tensor) \
            and not bool(torch.isfinite(attn).all()):
        hints.append("some query rows have no allowed key: their attn and out rows must be all zeros, never NaN")
    candidates = [(1.0, mask, "attn matches softmax(q k^T) with no 1/sqrt(d) scale")]
    if dv != d:
        candidates.append((1 / math.sqrt(dv), mask, f"attn matches a 1/sqrt(dv) scale: the scale is 1/sqrt(d), "
                                                     f"d = {d} the last size of q and k (dv = {dv} is v's)"))
    candidates.append((1 / d, mask, "attn matches a 1/d scale instead of 1/sqrt(d)"))
    if mask is not None:
        candidates.append((None, ~mask, "attn matches the inverted mask: True in mask marks the keys that MAY "
                                        "be attended to"))
    for scale, m, text in candidates:
        if m is not None and not bool(m.any()):
            continue
        if _close(attn, attention64(q, k, v, m, scale)[1]):
            hints.append(text)
            break
    return hints


def describe_mask(mask, q, k) -> str:
    rows = int((~mask.any(-1)).sum())
    text = f"mask bool{list(mask.shape)} for scores {list(q.shape[:-1]) + [k.shape[-2]]}"
    return text + (f", {rows} row(s) with no allowed key" if rows else "")


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


def random_mask(shape, gen: torch.Generator, p: float = 0.6, keep_rows: bool = True) -> torch.Tensor:
    mask = torch.rand(shape, generator=gen) < p
    if keep_rows:
        first = torch.zeros(shape, dtype=torch.bool)
        first[..., randint(gen, 0, shape[-1] - 1)] = True
        mask |= first
    return mask


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
@pytest.mark.parametrize("case", SDPA_CASES)
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
        hint = ""
        if isinstance(result, torch.Tensor) and result.shape == expected.shape and result.dtype == torch.bool:
            if torch.equal(result, expected.tril(-1)):
                hint = " (the diagonal must be True too: position i may attend to itself)"
            elif torch.equal(result, expected.T):
                hint = " (True on and BELOW the diagonal: row i is query i, which sees keys 0..i)"
            elif torch.equal(result, ~expected):
                hint = " (True marks the positions that may be attended to, not the hidden ones)"
        raise CheckFailed(exc.summary + hint, exc.details) from None


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


def make_state_dict(d_model: int, gen: torch.Generator, bias: bool = True,
                    dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    sd = {"qkv.weight": randn(3 * d_model, d_model, gen=gen, dtype=dtype, scale=d_model ** -0.5)}
    if bias:
        sd["qkv.bias"] = randn(3 * d_model, gen=gen, dtype=dtype, scale=0.1)
    sd["proj.weight"] = randn(d_model, d_model, gen=gen, dtype=dtype, scale=d_model ** -0.5)
    if bias:
        sd["proj.bias"] = randn(d_model, gen=gen, dtype=dtype, scale=0.1)
    return sd


def mhsa64(sd, x, heads: int, causal: bool = False, key_padding_mask=None, transpose_heads: bool = True):
    x = x.cpu()
    n, length, d_model = x.shape
    dh = d_model // heads
    qkv = x.double() @ sd["qkv.weight"].double().T
    if "qkv.bias" in sd:
        qkv = qkv + sd["qkv.bias"].double()

    def split(t):
        if transpose_heads:
            return t.reshape(n, length, heads, dh).transpose(1, 2)
        return t.reshape(n, heads, length, dh)

    q, k, v = (split(t) for t in qkv.split(d_model, dim=-1))
    mask = torch.ones(length, length, dtype=torch.bool).tril() if causal else None
    if key_padding_mask is not None:
        keys = key_padding_mask.cpu()[:, None, None, :]
        mask = keys if mask is None else mask & keys
    out, _ = attention64(q, k, v, mask)
    out = out.transpose(1, 2).reshape(n, length, d_model) if transpose_heads else out.reshape(n, length, d_model)
    out = out @ sd["proj.weight"].double().T
    return out + sd["proj.bias"].double() if "proj.bias" in sd else out


def check_mhsa(got, sd, x, heads: int, causal: bool = False, key_padding_mask=None, bias: bool = True) -> None:
    n, length, d_model = x.shape
    fn = f"{MHSA}({d_model}, {heads}{'' if bias else ', bias=False'})"
    expected = mhsa64(sd, x, heads, causal, key_padding_mask)
    rtol = rtol_for(x.dtype, 4.0)
    try:
        assert_close(got, expected.to(x.dtype).to(x.device), rtol=rtol, atol=rtol * max(largest(expected), 1e-3),
                     fn=fn, what="the output")
    except CheckFailed as exc:
        hint = ""
        if isinstance(got, torch.Tensor) and not bool(torch.isfinite(got).all()):
            hint = ("; a query with no allowed key (every key it could see is padding) must give zeros from "
                    "attention, never NaN")
        elif heads > 1 and _close(got, mhsa64(sd, x, heads, causal, key_padding_mask, transpose_heads=False)):
            hint = ("; it matches reshaping [N, L, d_model] straight to [N, num_heads, L, head_dim] "
                    "instead of [N, L, num_heads, head_dim] then a transpose")
        pads = "None" if key_padding_mask is None else f"{int((~key_padding_mask).sum())} padding positions"
        raise CheckFailed(f"{exc.summary} [x {str(x.dtype)[6:]}{list(x.shape)}, causal={causal}, "
                          f"key_padding_mask: {pads}{hint}]", exc.details) from None


def build_module(student, d_model: int, heads: int, sd, bias: bool = True, device=None):
    m = student.MultiHeadSelfAttention(d_model, heads) if bias else \
        student.MultiHeadSelfAttention(d_model, heads, bias=False)
    if sd["qkv.weight"].dtype == torch.float64:
        m = m.double()
    if device is not None and torch.device(device).type != "cpu":
        m = m.to(device)
    m.load_state_dict(sd)
    return m


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

"""Public graders for attention: run them with `autograder check attention`.

Every expected value is computed here in float64 with plain tensor operations
on the same inputs your code receives, then cast to the input dtype. Masks are
boolean: True where a query may attend to a key. For `MultiHeadSelfAttention`
the grader makes a `state_dict` (the weights of `qkv` and `proj`), loads it into
your module with `load_state_dict`, and compares your forward pass with the
attention computed here from the same weights.
"""

from __future__ import annotations

import math

import pytest
import torch

from autograder.testing import CheckFailed, assert_close, assert_raises, randn, unpack

SDPA = "scaled_dot_product_attention"
MHSA = "MultiHeadSelfAttention"


# ---------------------------------------------------------------- expected values, computed here


def attention64(q, k, v, mask=None, scale=None):
    """(out, attn) in float64; rows with no allowed key are zeros."""
    q, k, v = q.double(), k.double(), v.double()
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale
    if mask is None:
        attn = torch.softmax(scores, dim=-1)
    else:
        scores = torch.where(mask, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
        attn = torch.softmax(scores, dim=-1)
        attn = torch.where(mask.any(-1, keepdim=True), attn, torch.zeros((), dtype=attn.dtype))
    return attn @ v, attn


def rtol_for(dtype: torch.dtype, magnitude: float = 1.0) -> float:
    """Relative tolerance for results computed from scores of this magnitude."""
    base = 1e-4 if dtype == torch.float32 else 1e-10
    return max(base, 16 * torch.finfo(dtype).eps * magnitude)


def largest(t: torch.Tensor) -> float:
    return float(t.abs().max()) if t.numel() else 0.0


def _close(a, b: torch.Tensor) -> bool:
    return (isinstance(a, torch.Tensor) and tuple(a.shape) == tuple(b.shape) and bool(torch.isfinite(a).all())
            and torch.allclose(a.double(), b, rtol=1e-3, atol=1e-4))


def sdpa_hints(attn, q, k, v, mask) -> list[str]:
    """What a wrong ``attn`` matches instead (common slips), as hints for the feedback."""
    d, dv = q.shape[-1], v.shape[-1]
    hints = []
    if mask is not None and not bool(mask.any(-1).all()) and isinstance(attn, torch.Tensor) \
            and not bool(torch.isfinite(attn).all()):
        hints.append("some query rows have no allowed key here: their attn and out rows must be all zeros, "
                     "never NaN")
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
        where = f"mask: {describe_mask(mask, q, k)}" if mask is not None else "mask: None"
        raise CheckFailed(summary, "\n".join(x for x in (exc.details, where, note) if x)) from None


def describe_mask(mask: torch.Tensor, q: torch.Tensor, k: torch.Tensor) -> str:
    rows = int((~mask.any(-1)).sum())
    text = f"bool{list(mask.shape)} for scores {list(q.shape[:-1]) + [k.shape[-2]]}"
    return text + (f", {rows} row(s) with no allowed key" if rows else "")


def random_mask(shape, gen: torch.Generator, p: float = 0.6, keep_rows: bool = True) -> torch.Tensor:
    mask = torch.rand(shape, generator=gen) < p
    if keep_rows:  # every row keeps at least one key
        first = torch.zeros(shape, dtype=torch.bool)
        first[..., int(torch.randint(0, shape[-1], (1,), generator=gen))] = True
        mask |= first
    return mask


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
        hint = ""
        if isinstance(result, torch.Tensor) and result.shape == expected.shape and result.dtype == torch.bool:
            if torch.equal(result, expected.tril(-1)):
                hint = " (the diagonal must be True too: position i may attend to itself)"
            elif torch.equal(result, expected.T):
                hint = " (True on and BELOW the diagonal: row i is query i, which sees keys 0..i)"
            elif torch.equal(result, ~expected):
                hint = " (True marks the positions that may be attended to, not the hidden ones)"
        raise CheckFailed(exc.summary + hint, exc.details) from None


@pytest.mark.group("causal_mask_public")
@pytest.mark.parametrize("L", [1, 4, 7])
def test_causal_mask(student, L):
    check_causal(student.causal_mask(L), L)


# ---------------------------------------------------------------- MultiHeadSelfAttention


def make_state_dict(d_model: int, gen: torch.Generator, bias: bool = True,
                    dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Weights of ``qkv = Linear(d, 3d)`` and ``proj = Linear(d, d)``, as a reference state_dict."""
    sd = {"qkv.weight": randn(3 * d_model, d_model, gen=gen, dtype=dtype, scale=d_model ** -0.5)}
    if bias:
        sd["qkv.bias"] = randn(3 * d_model, gen=gen, dtype=dtype, scale=0.1)
    sd["proj.weight"] = randn(d_model, d_model, gen=gen, dtype=dtype, scale=d_model ** -0.5)
    if bias:
        sd["proj.bias"] = randn(d_model, gen=gen, dtype=dtype, scale=0.1)
    return sd


def mhsa64(sd, x, heads: int, causal: bool = False, key_padding_mask=None, transpose_heads: bool = True):
    """The forward pass in float64 from the state_dict (``transpose_heads=False``: a common slip)."""
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
        keys = key_padding_mask[:, None, None, :]
        mask = keys if mask is None else mask & keys
    out, _ = attention64(q, k, v, mask)
    out = out.transpose(1, 2).reshape(n, length, d_model) if transpose_heads else out.reshape(n, length, d_model)
    out = out @ sd["proj.weight"].double().T
    return out + sd["proj.bias"].double() if "proj.bias" in sd else out


def build_module(student, d_model: int, heads: int, sd, bias: bool = True):
    m = student.MultiHeadSelfAttention(d_model, heads) if bias else \
        student.MultiHeadSelfAttention(d_model, heads, bias=False)
    if sd[next(iter(sd))].dtype == torch.float64:
        m = m.double()
    m.load_state_dict(sd)
    return m


def check_mhsa(got, sd, x, heads: int, causal: bool = False, key_padding_mask=None, bias: bool = True) -> None:
    d_model = x.shape[-1]
    fn = f"{MHSA}({d_model}, {heads}{'' if bias else ', bias=False'}).forward"
    expected = mhsa64(sd, x, heads, causal, key_padding_mask)
    rtol = rtol_for(x.dtype, 4.0)
    try:
        assert_close(got, expected.to(x.dtype), rtol=rtol, atol=rtol * max(largest(expected), 1e-3), fn=fn,
                     what="the output")
    except CheckFailed as exc:
        hint = ""
        if isinstance(got, torch.Tensor) and not bool(torch.isfinite(got).all()):
            hint = (" (a query with no allowed key, because every key it could see is padding, must give zeros "
                    "from attention, never NaN)")
        elif heads > 1 and _close(got, mhsa64(sd, x, heads, causal, key_padding_mask, transpose_heads=False)):
            hint = (" (it matches reshaping [N, L, d_model] straight to [N, num_heads, L, head_dim]: reshape to "
                    "[N, L, num_heads, head_dim] first, then move heads before L with a transpose)")
        masks = f"causal={causal}, key_padding_mask=" + (
            "None" if key_padding_mask is None else f"bool{list(key_padding_mask.shape)} "
            f"({int((~key_padding_mask).sum())} padding positions)")
        raise CheckFailed(exc.summary + hint, "\n".join(x for x in (exc.details, masks) if x)) from None


@pytest.mark.group("mhsa_init_public")
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

"""Expected values and feedback hints shared by the public and hidden attention graders.

Expected values are computed in the grader, in float64 on the CPU, with PyTorch's own
``scaled_dot_product_attention``: ``attn`` is what it gives for ``v = I`` (each row of the
identity picks one key), ``out = attn @ v``. Rows with no allowed key are set to zeros, as
the assignment asks (the library gives NaN there).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from autograder.testing import largest, randint, randn  # noqa: F401 - re-exported to the graders

SDPA = "scaled_dot_product_attention"
MHSA = "MultiHeadSelfAttention"


def attention64(q, k, v, mask=None, scale=None):
    """(out, attn) in float64 on the CPU; ``scale`` defaults to 1/sqrt(d)."""
    q, k, v = q.double().cpu(), k.double().cpu(), v.double().cpu()
    mask = None if mask is None else mask.cpu()
    lk = k.shape[-2]
    eye = torch.eye(lk, dtype=torch.float64).expand(*k.shape[:-1], lk)
    attn = F.scaled_dot_product_attention(q, k, eye, attn_mask=mask, scale=scale)
    if mask is not None:
        attn = torch.where(mask.any(-1, keepdim=True), attn, torch.zeros((), dtype=attn.dtype))
    return attn @ v, attn


def rtol_for(dtype: torch.dtype, magnitude: float = 1.0) -> float:
    """Relative tolerance for results computed from scores of this magnitude."""
    base = 1e-4 if dtype == torch.float32 else 1e-10
    return max(base, 16 * torch.finfo(dtype).eps * magnitude)


def matches(a, b: torch.Tensor) -> bool:
    """Loosely equal: used only to recognise a common slip, never to award points."""
    return (isinstance(a, torch.Tensor) and tuple(a.shape) == tuple(b.shape) and bool(torch.isfinite(a).all())
            and torch.allclose(a.double().cpu(), b, rtol=1e-3, atol=1e-4))


def nonfinite_only_in_empty_rows(result, allowed: torch.Tensor) -> bool:
    """Is ``result`` NaN/inf exactly in some rows whose query has no allowed key (and finite elsewhere)?

    ``allowed`` broadcasts to ``result``'s leading dimensions plus the key dimension; the
    empty-row hint is shown only when this holds, so an overflow elsewhere is not blamed on it.
    """
    if not isinstance(result, torch.Tensor) or result.dim() < 1:
        return False
    bad_rows = ~torch.isfinite(result.cpu()).all(-1)
    empty = ~allowed.cpu().any(-1)
    try:
        empty = empty.expand(bad_rows.shape)
    except RuntimeError:
        return False
    return bool(bad_rows.any()) and not bool((bad_rows & ~empty).any())


def sdpa_hints(attn, q, k, v, mask) -> list[str]:
    """What a wrong ``attn`` matches instead (common slips), as hints for the feedback."""
    d, dv = q.shape[-1], v.shape[-1]
    hints = []
    if mask is not None and nonfinite_only_in_empty_rows(attn, mask):
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
        if matches(attn, attention64(q, k, v, m, scale)[1]):
            hints.append(text)
            break
    return hints


def describe_mask(mask: torch.Tensor, q: torch.Tensor, k: torch.Tensor) -> str:
    rows = int((~mask.any(-1)).sum())
    text = f"mask bool{list(mask.shape)} for scores {list(q.shape[:-1]) + [k.shape[-2]]}"
    return text + (f", {rows} row(s) with no allowed key" if rows else "")


def random_mask(shape, gen: torch.Generator, p: float = 0.6, keep_rows: bool = True) -> torch.Tensor:
    mask = torch.rand(shape, generator=gen) < p
    if keep_rows:  # every row keeps at least one key
        first = torch.zeros(shape, dtype=torch.bool)
        first[..., randint(gen, 0, shape[-1] - 1)] = True
        mask |= first
    return mask


def causal_hint(result, expected: torch.Tensor) -> str:
    """Names the slip when a causal mask is off by the diagonal, transposed or inverted."""
    if isinstance(result, torch.Tensor) and result.shape == expected.shape and result.dtype == torch.bool:
        result = result.cpu()
        if torch.equal(result, expected.tril(-1)):
            return " (the diagonal must be True too: position i may attend to itself)"
        if torch.equal(result, expected.T):
            return " (True on and BELOW the diagonal: row i is query i, which sees keys 0..i)"
        if torch.equal(result, ~expected):
            return " (True marks the positions that may be attended to, not the hidden ones)"
    return ""


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
    x = x.cpu()
    n, length, d_model = x.shape
    dh = d_model // heads
    qkv = F.linear(x.double(), sd["qkv.weight"].double(), sd["qkv.bias"].double() if "qkv.bias" in sd else None)

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
    return F.linear(out, sd["proj.weight"].double(), sd["proj.bias"].double() if "proj.bias" in sd else None)


def mhsa_hint(got, sd, x, heads: int, causal: bool, key_padding_mask) -> str:
    if key_padding_mask is not None and isinstance(got, torch.Tensor) and got.dim() == 3:
        length = got.shape[1]
        allowed = key_padding_mask.cpu()[:, None, :].expand(got.shape[0], length, length)
        if causal:
            allowed = allowed & torch.ones(length, length, dtype=torch.bool).tril()
        empty_row_nan = nonfinite_only_in_empty_rows(got, allowed)
    else:
        empty_row_nan = False
    if empty_row_nan:
        return ("a query with no allowed key (every key it could see is padding) must give zeros from "
                "attention, never NaN")
    if heads > 1 and matches(got, mhsa64(sd, x, heads, causal, key_padding_mask, transpose_heads=False)):
        return ("it matches reshaping [N, L, d_model] straight to [N, num_heads, L, head_dim]: reshape to "
                "[N, L, num_heads, head_dim] first, then move heads before L with a transpose")
    return ""


def build_module(student, d_model: int, heads: int, sd, bias: bool = True, device=None):
    """The student's module, made in the worker, with the grader's weights loaded into it."""
    m = student.MultiHeadSelfAttention(d_model, heads) if bias else \
        student.MultiHeadSelfAttention(d_model, heads, bias=False)
    if sd["qkv.weight"].dtype == torch.float64:
        m = m.double()
    if device is not None and torch.device(device).type != "cpu":
        m = m.to(device)
    m.load_state_dict(sd)
    return m

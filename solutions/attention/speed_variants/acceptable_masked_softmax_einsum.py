"""Acceptable speed variant: a hand-written masked softmax (masked_fill, exp, sum, divide) with einsum, and the module built on it (both reported as wrongly penalised in issue 13)."""
# varies: scaled_dot_product_attention, MultiHeadSelfAttention

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor,
                                 mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``(out, attn)`` for ``q`` [..., Lq, d], ``k`` [..., Lk, d], ``v`` [..., Lk, dv].

    ``attn = softmax(q @ k^T / sqrt(d))`` over the last dimension, [..., Lq, Lk];
    ``out = attn @ v``, [..., Lq, dv]. ``mask`` (bool, broadcastable to
    [..., Lq, Lk]) is True where a query may attend to a key. A query row with no
    allowed key gives zeros in ``attn`` and ``out``, never NaN. Timed.
    """
    scores = torch.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    top = scores.amax(dim=-1, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    e = torch.exp(scores - top)
    total = e.sum(dim=-1, keepdim=True)
    attn = e / torch.where(total > 0, total, torch.ones_like(total))
    return torch.einsum("...qk,...kd->...qd", attn, v), attn


def causal_mask(L: int, device: torch.device | str | None = None) -> Tensor:
    """A bool [L, L] mask, True on and below the diagonal (position i sees positions 0..i)."""
    return torch.ones(L, L, dtype=torch.bool, device=device).tril()


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection and an output ``proj``.

    ``__init__`` raises ``ValueError`` when ``d_model % num_heads != 0``; the only
    submodules are ``qkv = nn.Linear(d_model, 3 * d_model, bias=bias)`` and
    ``proj = nn.Linear(d_model, d_model, bias=bias)``.
    """

    def __init__(self, d_model: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        if num_heads <= 0 or d_model % num_heads != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        self.d_model, self.num_heads, self.head_dim = d_model, num_heads, d_model // num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x: Tensor, causal: bool = False, key_padding_mask: Tensor | None = None) -> Tensor:
        """``x`` [N, L, d_model] -> [N, L, d_model].

        ``causal``: position i attends to positions 0..i only. ``key_padding_mask``
        [N, L] (bool): True for real tokens, False for padding that no query may
        attend to. Both masks combine. Timed.
        """
        n, length, _ = x.shape
        q, k, v = self.qkv(x).split(self.d_model, dim=-1)
        # [N, L, d_model] -> [N, L, H, dh] -> [N, H, L, dh]: each head attends on its own
        q, k, v = (t.reshape(n, length, self.num_heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        mask = causal_mask(length, x.device) if causal else None  # [L, L] broadcasts over N and H
        if key_padding_mask is not None:
            keys = key_padding_mask[:, None, None, :]  # [N, 1, 1, L]: the same keys for every head and query
            mask = keys if mask is None else mask & keys
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        out = out.transpose(1, 2).reshape(n, length, self.d_model)  # heads back in the same order
        return self.proj(out)

"""Unacceptable speed variant: a Python loop over batch items and heads, each attended on its own (correct, too slow)."""
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
    lq, lk = q.shape[-2], k.shape[-2]
    if mask is None:
        mask = torch.ones(lq, lk, dtype=torch.bool, device=q.device)
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2], mask.shape[:-2])
    qb, kb, vb = (t.expand(*batch, *t.shape[-2:]).reshape(-1, *t.shape[-2:]) for t in (q, k, v))
    mb = mask.expand(*batch, lq, lk).reshape(-1, lq, lk)
    attn = torch.zeros(qb.shape[0], lq, lk, dtype=q.dtype, device=q.device)
    out = torch.zeros(qb.shape[0], lq, v.shape[-1], dtype=q.dtype, device=q.device)
    scale = 1.0 / math.sqrt(q.shape[-1])
    for b in range(qb.shape[0]):
        s = (qb[b] @ kb[b].T * scale).masked_fill(~mb[b], float("-inf"))
        a = torch.softmax(s, dim=-1).nan_to_num(0.0)
        attn[b] = a
        out[b] = a @ vb[b]
    return out.reshape(*batch, lq, v.shape[-1]), attn.reshape(*batch, lq, lk)


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
        out = torch.zeros(n, length, self.d_model, dtype=x.dtype, device=x.device)
        for b in range(n):
            mask = causal_mask(length, x.device) if causal else torch.ones(length, length, dtype=torch.bool, device=x.device)
            if key_padding_mask is not None:
                mask = mask & key_padding_mask[b][None, :]
            for h in range(self.num_heads):
                cols = slice(h * self.head_dim, (h + 1) * self.head_dim)
                o, _ = scaled_dot_product_attention(q[b, :, cols], k[b, :, cols], v[b, :, cols], mask)
                out[b, :, cols] = o
        return self.proj(out)

"""A deliberately slow but correct attention solution, for `autograder calibrate`: Python loops over
query positions (and over batch and heads in the module)."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor,
                                 mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Correct but slow: one batch element and one query position at a time."""
    lq, lk = q.shape[-2], k.shape[-2]
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    if mask is None:
        mask = torch.ones(lq, lk, dtype=torch.bool, device=q.device)
    batch = torch.broadcast_shapes(batch, mask.shape[:-2])
    qb, kb, vb = (t.expand(*batch, *t.shape[-2:]).reshape(-1, *t.shape[-2:]) for t in (q, k, v))
    mb = mask.expand(*batch, lq, lk).reshape(-1, lq, lk)
    attn = torch.zeros(qb.shape[0], lq, lk, dtype=q.dtype, device=q.device)
    scale = 1.0 / math.sqrt(q.shape[-1])
    for b in range(qb.shape[0]):
        for i in range(lq):
            s = (kb[b] @ qb[b, i]) * scale  # [Lk]
            s = s.masked_fill(~mb[b, i], float("-inf"))
            attn[b, i] = torch.softmax(s, dim=-1).nan_to_num(0.0)
    out = attn @ vb
    return out.reshape(*batch, lq, v.shape[-1]), attn.reshape(*batch, lq, lk)


def causal_mask(L: int, device: torch.device | str | None = None) -> Tensor:
    """True on and below the diagonal."""
    return torch.ones(L, L, dtype=torch.bool, device=device).tril()


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError("d_model must be divisible by num_heads")
        self.d_model, self.num_heads, self.head_dim = d_model, num_heads, d_model // num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x: Tensor, causal: bool = False, key_padding_mask: Tensor | None = None) -> Tensor:
        """Correct but slow: each batch element and head on its own, query by query."""
        n, length, _ = x.shape
        q, k, v = self.qkv(x).split(self.d_model, dim=-1)
        out = torch.zeros(n, length, self.d_model, dtype=x.dtype, device=x.device)
        for b in range(n):
            mask = torch.ones(length, length, dtype=torch.bool, device=x.device)
            if causal:
                mask = mask.tril()
            if key_padding_mask is not None:
                mask = mask & key_padding_mask[b][None, :]
            for h in range(self.num_heads):
                cols = slice(h * self.head_dim, (h + 1) * self.head_dim)
                o, _ = scaled_dot_product_attention(q[b, :, cols], k[b, :, cols], v[b, :, cols], mask)
                out[b, :, cols] = o
        return self.proj(out)

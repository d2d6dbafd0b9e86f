"""Acceptable speed variant: an additive float mask (0 / -inf) fused into torch.baddbmm on flattened batch*heads, module with unflatten + movedim."""
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
    lq, lk, d = q.shape[-2], k.shape[-2], q.shape[-1]
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2],
                                   mask.shape[:-2] if mask is not None else ())
    qf = q.expand(*batch, lq, d).reshape(-1, lq, d)
    kf = k.expand(*batch, lk, d).reshape(-1, lk, d)
    vf = v.expand(*batch, lk, v.shape[-1]).reshape(-1, lk, v.shape[-1])
    if mask is None:
        bias = torch.zeros(1, 1, 1, dtype=q.dtype, device=q.device).expand(qf.shape[0], lq, lk)
    else:
        bias = torch.zeros(mask.shape, dtype=q.dtype, device=q.device).masked_fill(~mask, float("-inf"))
        bias = bias.expand(*batch, lq, lk).reshape(-1, lq, lk)
    scores = torch.baddbmm(bias, qf, kf.transpose(1, 2), alpha=1.0 / math.sqrt(d))
    attn = torch.softmax(scores, dim=-1)
    attn = torch.where(torch.isnan(attn), torch.zeros_like(attn), attn)
    out = torch.bmm(attn, vf)
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
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (t.unflatten(-1, (self.num_heads, self.head_dim)).movedim(2, 1) for t in (q, k, v))
        mask = torch.ones(length, length, dtype=torch.bool, device=x.device).tril() if causal else None
        if key_padding_mask is not None:
            keys = key_padding_mask[:, None, None, :]
            mask = keys if mask is None else mask & keys
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.movedim(1, 2).flatten(2))

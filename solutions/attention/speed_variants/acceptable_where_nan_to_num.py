"""Acceptable speed variant: torch.where with -inf, softmax, nan_to_num for rows with no allowed key; heads split with view + permute and an einsum projection."""
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
    scale = q.shape[-1] ** -0.5
    scores = torch.matmul(q * scale, k.transpose(-1, -2))
    if mask is not None:
        scores = torch.where(mask, scores, torch.full_like(scores, float("-inf")))
    attn = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    return torch.matmul(attn, v), attn


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
        h, dh = self.num_heads, self.head_dim
        qkv = self.qkv(x).view(n, length, 3, h, dh).permute(2, 0, 3, 1, 4)  # [3, N, H, L, dh]
        q, k, v = qkv[0], qkv[1], qkv[2]
        mask = None
        if causal:
            pos = torch.arange(length, device=x.device)
            mask = pos[None, :] <= pos[:, None]
        if key_padding_mask is not None:
            keys = key_padding_mask.view(n, 1, 1, length)
            mask = keys if mask is None else mask & keys
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        out = out.permute(0, 2, 1, 3).reshape(n, length, self.d_model)
        return torch.einsum("nld,ed->nle", out, self.proj.weight) + (0 if self.proj.bias is None else self.proj.bias)

"""Assignment 6: scaled dot-product attention and multi-head self-attention.

Implement the two functions and the module below with tensor operations
(``@``/``matmul``, ``einsum``, ``softmax``, ``masked_fill``, ``where``, ...).
``torch.nn.functional.scaled_dot_product_attention``, ``torch.nn.MultiheadAttention``,
``torch.nn.functional.multi_head_attention_forward`` and ``torch.nn.Transformer``
with its layers are forbidden. Read the handout (README.md) first: it explains
queries, keys and values, the ``1/sqrt(d)`` scale, masks and heads.
"""

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
    # YOUR CODE HERE
    raise NotImplementedError


def causal_mask(L: int, device: torch.device | str | None = None) -> Tensor:
    """A bool [L, L] mask, True on and below the diagonal (position i sees positions 0..i)."""
    # YOUR CODE HERE
    raise NotImplementedError


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection and an output ``proj``.

    ``__init__`` raises ``ValueError`` when ``d_model % num_heads != 0``; the only
    submodules are ``qkv = nn.Linear(d_model, 3 * d_model, bias=bias)`` and
    ``proj = nn.Linear(d_model, d_model, bias=bias)``.
    """

    def __init__(self, d_model: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError

    def forward(self, x: Tensor, causal: bool = False, key_padding_mask: Tensor | None = None) -> Tensor:
        """``x`` [N, L, d_model] -> [N, L, d_model].

        ``causal``: position i attends to positions 0..i only. ``key_padding_mask``
        [N, L] (bool): True for real tokens, False for padding that no query may
        attend to. Both masks combine. Timed.
        """
        # YOUR CODE HERE
        raise NotImplementedError

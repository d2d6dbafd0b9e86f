"""Correct: a multiplicative mask on exp(scores - max over allowed keys), normalised with a guarded
division; einsum everywhere; heads with unflatten + movedim; causal mask from tril."""
import torch
from torch import nn


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", q, k) * q.shape[-1] ** -0.5
    if mask is None:
        mask = torch.ones((), dtype=torch.bool, device=q.device)
    allowed = torch.broadcast_to(mask, torch.broadcast_shapes(mask.shape, scores.shape))
    shift = torch.where(allowed, scores, torch.finfo(scores.dtype).min).amax(dim=-1, keepdim=True)
    weights = torch.exp(torch.where(allowed, scores - shift, torch.zeros_like(scores))) * allowed
    total = weights.sum(dim=-1, keepdim=True)
    attn = weights / torch.where(total > 0, total, torch.ones_like(total))
    return torch.einsum("...qk,...kv->...qv", attn, v), attn


def causal_mask(L, device=None):
    return torch.tril(torch.ones((L, L), device=device)).bool()


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"{d_model} is not divisible by {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias)
        self.proj = nn.Linear(d_model, d_model, bias)

    def forward(self, x, causal=False, key_padding_mask=None):
        q, k, v = torch.chunk(self.qkv(x), 3, dim=-1)
        q, k, v = (t.unflatten(-1, (self.num_heads, -1)).movedim(-2, 1) for t in (q, k, v))
        length = x.shape[1]
        mask = None
        if causal:
            mask = causal_mask(length, x.device)
        if key_padding_mask is not None:
            pad = key_padding_mask[:, None, None, :]
            mask = pad if mask is None else torch.logical_and(mask, pad)
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.proj(out.movedim(1, -2).flatten(-2))

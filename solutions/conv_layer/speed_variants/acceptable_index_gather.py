"""Acceptable speed variant: classic index-gather im2col (CS231n style, no Python loops): columns by
advanced indexing, dx by index_put_(accumulate=True) (reported as wrongly penalised in issue 13)."""
# varies: conv2d_forward, conv2d_backward

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor



def _pad(x: Tensor, p: int) -> Tensor:
    """Zero padding on every side, as a contiguous tensor."""
    return F.pad(x, (p, p, p, p)).contiguous() if p else x.contiguous()


def _im2col_indices(c: int, kh: int, kw: int, ho: int, wo: int, stride: int,
                    device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """Channel, row and column index of every (patch entry, output position) pair: [C*KH*KW, Ho*Wo] each."""
    i0 = torch.arange(kh, device=device).repeat_interleave(kw).repeat(c)
    j0 = torch.arange(kw, device=device).repeat(kh * c)
    i1 = stride * torch.arange(ho, device=device).repeat_interleave(wo)
    j1 = stride * torch.arange(wo, device=device).repeat(ho)
    i = i0.view(-1, 1) + i1.view(1, -1)
    j = j0.view(-1, 1) + j1.view(1, -1)
    k = torch.arange(c, device=device).repeat_interleave(kh * kw).view(-1, 1)
    return k, i, j


def conv2d_forward(x: Tensor, w: Tensor, b: Tensor | None, stride: int = 1, padding: int = 0) -> Tensor:
    """Cross-correlation of ``x`` [N, C, H, W] with ``w`` [F, C, KH, KW], plus ``b`` [F] (or no bias).

    Zero padding of ``padding`` on every side, then windows every ``stride``
    pixels: the result is [N, F, Ho, Wo]. Timed: no Python loops over the
    batch or over pixels.
    """
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    k, i, j = _im2col_indices(c, kh, kw, ho, wo, stride, x.device)
    cols = _pad(x, padding)[:, k, i, j]  # [N, C*KH*KW, Ho*Wo]
    out = (w.reshape(f, -1) @ cols).reshape(n, f, ho, wo)
    if b is not None:
        out = out + b.view(1, f, 1, 1)
    return out


def conv2d_backward(dout: Tensor, x: Tensor, w: Tensor, stride: int = 1,
                    padding: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients ``(dx, dw, db)`` given ``dout`` [N, F, Ho, Wo] = dloss / d conv2d_forward(x, w, b, ...).

    ``dx`` has the shape of ``x``, ``dw`` that of ``w`` and ``db`` is [F].
    Timed: no Python loops over the batch or over pixels.
    """
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = dout.shape[-2:]
    k, i, j = _im2col_indices(c, kh, kw, ho, wo, stride, x.device)
    cols = _pad(x, padding)[:, k, i, j]  # [N, C*KH*KW, L]
    d = dout.reshape(n, f, -1)
    dw = (d @ cols.transpose(1, 2)).sum(0).reshape(w.shape)
    dcols = w.reshape(f, -1).T @ d  # [N, C*KH*KW, L]
    hp, wp = h + 2 * padding, wd + 2 * padding
    dxp = torch.zeros(n, c, hp, wp, dtype=x.dtype, device=x.device)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    dxp.index_put_((batch, k.expand_as(dcols), i.expand_as(dcols), j.expand_as(dcols)), dcols, accumulate=True)
    return dxp[:, :, padding : padding + h, padding : padding + wd].contiguous(), dw, dout.sum(dim=(0, 2, 3))


def maxpool2d_forward(x: Tensor, kernel_size: int, stride: int) -> Tensor:
    """The maximum of each ``kernel_size`` x ``kernel_size`` window of ``x`` [N, C, H, W], every ``stride`` pixels.

    No padding; sizes are rounded down: the result is [N, C, Ho, Wo] with
    ``Ho = (H - kernel_size) // stride + 1``.
    """
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)  # [N, C, Ho, Wo, K, K]
    return windows.amax(dim=(-2, -1))


def maxpool2d_backward(dout: Tensor, x: Tensor, kernel_size: int, stride: int) -> Tensor:
    """dloss / dx given ``dout`` [N, C, Ho, Wo] = dloss / d maxpool2d_forward(x, kernel_size, stride).

    Each window's gradient goes to its maximum; on ties, to the first maximum
    in row-major order within the window (as PyTorch does). Overlapping
    windows add up.
    """
    n, c, h, w = x.shape
    ho, wo = (h - kernel_size) // stride + 1, (w - kernel_size) // stride + 1
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)  # [N, C, Ho, Wo, K, K], a view
    first = windows.reshape(n, c, ho, wo, kernel_size * kernel_size).argmax(dim=-1)  # argmax returns the first maximum
    rows = torch.arange(ho, device=x.device).view(ho, 1) * stride + first // kernel_size
    cols = torch.arange(wo, device=x.device).view(1, wo) * stride + first % kernel_size
    flat = rows * w + cols  # flat index (into H * W) of each window's first maximum
    dx = torch.zeros(n, c, h * w, dtype=dout.dtype, device=dout.device)
    dx.scatter_add_(2, flat.reshape(n, c, -1), dout.reshape(n, c, -1))
    return dx.reshape(n, c, h, w)

"""Unacceptable speed variant: a Python loop over output pixels, one small matrix product each (correct, too slow)."""
# varies: conv2d_forward, conv2d_backward

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor



def _pad(x: Tensor, p: int) -> Tensor:
    """Zero padding on every side, as a contiguous tensor."""
    return F.pad(x, (p, p, p, p)).contiguous() if p else x.contiguous()


def conv2d_forward(x: Tensor, w: Tensor, b: Tensor | None, stride: int = 1, padding: int = 0) -> Tensor:
    """Cross-correlation of ``x`` [N, C, H, W] with ``w`` [F, C, KH, KW], plus ``b`` [F] (or no bias).

    Zero padding of ``padding`` on every side, then windows every ``stride``
    pixels: the result is [N, F, Ho, Wo]. Timed: no Python loops over the
    batch or over pixels.
    """
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    xp = _pad(x, padding)
    wf = w.reshape(f, -1)
    out = torch.zeros(n, f, ho, wo, dtype=x.dtype, device=x.device)
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw].reshape(n, -1)
            out[:, :, i, j] = patch @ wf.T
    if b is not None:
        out += b.view(1, f, 1, 1)
    return out


def conv2d_backward(dout: Tensor, x: Tensor, w: Tensor, stride: int = 1,
                    padding: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients ``(dx, dw, db)`` given ``dout`` [N, F, Ho, Wo] = dloss / d conv2d_forward(x, w, b, ...).

    ``dx`` has the shape of ``x``, ``dw`` that of ``w`` and ``db`` is [F].
    Timed: no Python loops over the batch or over pixels.
    """
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = dout.shape[2:]
    xp = _pad(x, padding)
    dxp = torch.zeros_like(xp)
    dw = torch.zeros(f, c * kh * kw, dtype=x.dtype, device=x.device)
    wf = w.reshape(f, -1)
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
            g = dout[:, :, i, j]
            dw += g.T @ xp[:, :, rows, cols].reshape(n, -1)
            dxp[:, :, rows, cols] += (g @ wf).view(n, c, kh, kw)
    dx = dxp[:, :, padding : padding + h, padding : padding + wd]
    return dx.contiguous(), dw.view(w.shape), dout.sum(dim=(0, 2, 3))


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

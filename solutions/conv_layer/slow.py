"""A deliberately slow but correct conv_layer solution, for `autograder calibrate`.

The convolutions loop over output pixels in Python (each step is a small matrix product over the
batch, channels and kernel window), which is what the speed thresholds must reject.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _padded(x: Tensor, padding: int) -> Tensor:
    return F.pad(x, (padding, padding, padding, padding)) if padding else x


def conv2d_forward(x: Tensor, w: Tensor, b: Tensor | None, stride: int = 1, padding: int = 0) -> Tensor:
    """Correct but slow: one small matrix product per output pixel."""
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    xp = _padded(x, padding)
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
    """Correct but slow: accumulate the gradients one output pixel at a time."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = dout.shape[2:]
    xp = _padded(x, padding)
    dxp = torch.zeros_like(xp)
    dw = torch.zeros(f, c * kh * kw, dtype=x.dtype, device=x.device)
    wf = w.reshape(f, -1)
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
            g = dout[:, :, i, j]  # [N, F]
            dw += g.T @ xp[:, :, rows, cols].reshape(n, -1)
            dxp[:, :, rows, cols] += (g @ wf).view(n, c, kh, kw)
    dx = dxp[:, :, padding : padding + h, padding : padding + wd]
    return dx.contiguous(), dw.view(w.shape), dout.sum(dim=(0, 2, 3))


def maxpool2d_forward(x: Tensor, kernel_size: int, stride: int) -> Tensor:
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)
    return windows.amax(dim=(-2, -1))


def maxpool2d_backward(dout: Tensor, x: Tensor, kernel_size: int, stride: int) -> Tensor:
    n, c, h, w = x.shape
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)
    ho, wo = windows.shape[2:4]
    first = windows.reshape(n, c, ho, wo, -1).argmax(dim=-1)
    dx = torch.zeros(n, c, h, w, dtype=x.dtype, device=x.device)
    for i in range(ho):
        for j in range(wo):
            a, b = first[:, :, i, j] // kernel_size, first[:, :, i, j] % kernel_size
            flat = (i * stride + a) * w + (j * stride + b)
            dx.view(n, c, -1).scatter_add_(2, flat.unsqueeze(-1), dout[:, :, i, j].unsqueeze(-1))
    return dx

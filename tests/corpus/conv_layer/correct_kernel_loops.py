"""Correct, a third technique: plain loops over the kernel offsets (each step multiplies a whole
strided slice of the input), and max pooling by scanning window offsets with a strict comparison."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def conv2d_forward(x: Tensor, w: Tensor, b: Tensor | None, stride: int = 1, padding: int = 0) -> Tensor:
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    xp = F.pad(x, [padding] * 4)
    out = torch.zeros(n, f, ho, wo, dtype=x.dtype, device=x.device)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride]
            out += torch.tensordot(w[:, :, i, j], patch, dims=([1], [1])).permute(1, 0, 2, 3)
    if b is not None:
        out += b.view(1, -1, 1, 1)
    return out


def conv2d_backward(dout: Tensor, x: Tensor, w: Tensor, stride: int = 1,
                    padding: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = dout.shape[-2:]
    xp = F.pad(x, [padding] * 4)
    dxp = torch.zeros_like(xp)
    dw = torch.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i, i + stride * (ho - 1) + 1, stride)
            cols = slice(j, j + stride * (wo - 1) + 1, stride)
            dw[:, :, i, j] = torch.tensordot(dout, xp[:, :, rows, cols], dims=([0, 2, 3], [0, 2, 3]))
            dxp[:, :, rows, cols] += torch.tensordot(dout, w[:, :, i, j], dims=([1], [0])).permute(0, 3, 1, 2)
    db = dout.sum(dim=(0, 2, 3))
    return dxp[:, :, padding : padding + h, padding : padding + wd].clone(), dw, db


def _scan(x: Tensor, k: int, s: int):
    """Best value and its (row, col) offset per window, keeping the first maximum on ties."""
    h, w = x.shape[-2:]
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    best = x[:, :, : s * (ho - 1) + 1 : s, : s * (wo - 1) + 1 : s].clone()
    arg = torch.zeros(best.shape, dtype=torch.long, device=x.device)
    for i in range(k):
        for j in range(k):
            v = x[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s]
            better = v > best  # strict: an equal value later in the window does not win
            best = torch.where(better, v, best)
            arg = torch.where(better, torch.full_like(arg, i * k + j), arg)
    return best, arg, ho, wo


def maxpool2d_forward(x: Tensor, kernel_size: int, stride: int) -> Tensor:
    return _scan(x, kernel_size, stride)[0]


def maxpool2d_backward(dout: Tensor, x: Tensor, kernel_size: int, stride: int) -> Tensor:
    k, s = kernel_size, stride
    _, arg, ho, wo = _scan(x, k, s)
    dx = torch.zeros(x.shape, dtype=dout.dtype, device=dout.device)
    for i in range(k):
        for j in range(k):
            dx[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s] += \
                torch.where(arg == i * k + j, dout, torch.zeros_like(dout))
    return dx

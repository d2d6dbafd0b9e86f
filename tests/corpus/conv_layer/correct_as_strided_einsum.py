"""Correct, another technique: strided window views (as_strided) and einsum; dx by a loop over
kernel offsets; max pooling with a first-maximum mask built by a cumulative sum, and index_add_."""

from __future__ import annotations

import torch
from torch import Tensor


def _pad(x: Tensor, p: int) -> Tensor:
    if p == 0:
        return x.contiguous()
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, h + 2 * p, w + 2 * p)
    out[:, :, p : p + h, p : p + w] = x
    return out


def _windows(xp: Tensor, kh: int, kw: int, stride: int) -> Tensor:
    """[N, C, Ho, Wo, KH, KW] view of a contiguous padded input."""
    n, c, h, w = xp.shape
    ho, wo = (h - kh) // stride + 1, (w - kw) // stride + 1
    sn, sc, sh, sw = xp.stride()
    return xp.as_strided((n, c, ho, wo, kh, kw), (sn, sc, sh * stride, sw * stride, sh, sw))


def conv2d_forward(x: Tensor, w: Tensor, b: Tensor | None, stride: int = 1, padding: int = 0) -> Tensor:
    win = _windows(_pad(x, padding), w.shape[2], w.shape[3], stride)
    out = torch.einsum("nchwij,fcij->nfhw", win, w)
    if b is not None:
        out = out + b[None, :, None, None]
    return out


def conv2d_backward(dout: Tensor, x: Tensor, w: Tensor, stride: int = 1,
                    padding: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    n, c, h, wd = x.shape
    _, _, kh, kw = w.shape
    ho, wo = dout.shape[2], dout.shape[3]
    xp = _pad(x, padding)
    dw = torch.einsum("nchwij,nfhw->fcij", _windows(xp, kh, kw, stride), dout)
    dxp = torch.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride] += \
                torch.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    return dxp[:, :, padding : padding + h, padding : padding + wd], dw, dout.sum(dim=(0, 2, 3))


def maxpool2d_forward(x: Tensor, kernel_size: int, stride: int) -> Tensor:
    win = _windows(x.contiguous(), kernel_size, kernel_size, stride)
    return win.flatten(-2).max(dim=-1).values


def maxpool2d_backward(dout: Tensor, x: Tensor, kernel_size: int, stride: int) -> Tensor:
    n, c, h, w = x.shape
    k = kernel_size
    win = _windows(x.contiguous(), k, k, stride).flatten(-2)  # [N, C, Ho, Wo, K*K]
    ho, wo = win.shape[2], win.shape[3]
    is_max = win == win.max(dim=-1, keepdim=True).values
    first = is_max & (is_max.cumsum(dim=-1) == 1)  # only the first maximum in row-major order
    offset = torch.arange(k * k, device=x.device)
    rows = torch.arange(ho, device=x.device).view(ho, 1, 1) * stride + offset // k
    cols = torch.arange(wo, device=x.device).view(1, wo, 1) * stride + offset % k
    target = (rows * w + cols).expand_as(win)  # flat input position of every window entry
    grad = torch.where(first, dout.unsqueeze(-1), torch.zeros((), dtype=dout.dtype, device=dout.device))
    dx = torch.zeros(n * c, h * w, dtype=dout.dtype, device=dout.device)
    flat_target = target.reshape(n * c, -1)
    flat_grad = grad.reshape(n * c, -1)
    for row in range(n * c):
        dx[row].index_add_(0, flat_target[row], flat_grad[row])
    return dx.view(n, c, h, w)

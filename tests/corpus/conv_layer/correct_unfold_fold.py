"""Correct, the im2col route written differently from the reference: explicit zero padding, one
flattened matrix product for dw, col2im with F.fold, and pooling via F.unfold + max(dim) indices
(torch.max returns the first maximum too) and scatter_add_."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def conv2d_forward(x: Tensor, w: Tensor, b: Tensor | None, stride: int = 1, padding: int = 0) -> Tensor:
    n = x.shape[0]
    f, _, kh, kw = w.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    ho, wo = (xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1
    cols = F.unfold(xp, (kh, kw), stride=stride).transpose(1, 2)  # [N, L, CKK]
    out = cols @ w.reshape(f, -1).T  # [N, L, F]
    if b is not None:
        out = out + b
    return out.transpose(1, 2).reshape(n, f, ho, wo)


def conv2d_backward(dout: Tensor, x: Tensor, w: Tensor, stride: int = 1,
                    padding: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # [N, CKK, L]
    d = dout.reshape(n, f, -1)
    dw = d.permute(1, 0, 2).reshape(f, -1) @ cols.permute(0, 2, 1).reshape(-1, c * kh * kw)
    dx = F.fold(w.reshape(f, -1).T @ d, (h, wd), (kh, kw), padding=padding, stride=stride)
    return dx, dw.reshape(w.shape), d.sum(dim=2).sum(dim=0)


def maxpool2d_forward(x: Tensor, kernel_size: int, stride: int) -> Tensor:
    n, c, h, w = x.shape
    cols = F.unfold(x.reshape(n * c, 1, h, w), kernel_size, stride=stride)  # [NC, K*K, L]
    return cols.max(dim=1).values.reshape(n, c, (h - kernel_size) // stride + 1, (w - kernel_size) // stride + 1)


def maxpool2d_backward(dout: Tensor, x: Tensor, kernel_size: int, stride: int) -> Tensor:
    n, c, h, w = x.shape
    k = kernel_size
    positions = torch.arange(h * w, dtype=x.dtype, device=x.device).reshape(1, 1, h, w)
    cols = F.unfold(x.reshape(n * c, 1, h, w), k, stride=stride)  # [NC, K*K, L]
    where = F.unfold(positions, k, stride=stride)  # [1, K*K, L]: flat input index of each entry
    first = cols.max(dim=1).indices  # [NC, L]
    target = where.expand(n * c, -1, -1).gather(1, first.unsqueeze(1)).squeeze(1).long()
    dx = torch.zeros(n * c, h * w, dtype=dout.dtype, device=dout.device)
    dx.scatter_add_(1, target, dout.reshape(n * c, -1))
    return dx.reshape(n, c, h, w)

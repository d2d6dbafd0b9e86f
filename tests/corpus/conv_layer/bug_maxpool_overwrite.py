"""Bug: maxpool2d_backward picks the first maximum (right) but writes dx[...] = ... instead of adding: overlapping windows lose gradient."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _out_size(size: int, k: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - k) // stride + 1


def _window_flat_index(x: Tensor, kernel_size: int, stride: int) -> tuple[Tensor, int, int]:
    """For each pooling window of ``x``, the flat index (into H * W) of its first maximum."""
    h, w = x.shape[-2:]
    ho, wo = (h - kernel_size) // stride + 1, (w - kernel_size) // stride + 1
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)  # [N, C, Ho, Wo, K, K], a view
    flat_windows = windows.reshape(*windows.shape[:4], -1)
    first = kernel_size * kernel_size - 1 - flat_windows.flip(-1).argmax(dim=-1)  # the LAST maximum
    rows = torch.arange(ho, device=x.device).view(ho, 1) * stride + first // kernel_size
    cols = torch.arange(wo, device=x.device).view(1, wo) * stride + first % kernel_size
    return rows * w + cols, ho, wo


def conv2d_forward(x: Tensor, w: Tensor, b: Tensor | None, stride: int = 1, padding: int = 0) -> Tensor:
    """Cross-correlation of ``x`` [N, C, H, W] with ``w`` [F, C, KH, KW], plus ``b`` [F] (or no bias).

    Zero padding of ``padding`` on every side, then windows every ``stride``
    pixels: the result is [N, F, Ho, Wo]. Timed: no Python loops over the
    batch or over pixels.
    """
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = _out_size(h, kh, stride, padding), _out_size(wd, kw, stride, padding)
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # [N, C*KH*KW, Ho*Wo]
    out = w.reshape(f, -1) @ cols  # [N, F, Ho*Wo]
    if b is not None:
        out = out + b.reshape(1, f, 1)
    return out.reshape(n, f, ho, wo)


def conv2d_backward(dout: Tensor, x: Tensor, w: Tensor, stride: int = 1,
                    padding: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients ``(dx, dw, db)`` given ``dout`` [N, F, Ho, Wo] = dloss / d conv2d_forward(x, w, b, ...).

    ``dx`` has the shape of ``x``, ``dw`` that of ``w`` and ``db`` is [F].
    Timed: no Python loops over the batch or over pixels.
    """
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    d = dout.reshape(n, f, -1)  # [N, F, L]
    db = d.sum(dim=(0, 2))
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # [N, C*KH*KW, L]
    dw = (d @ cols.transpose(1, 2)).sum(dim=0).reshape(w.shape)  # [N, F, CKK] summed over the batch
    dcols = w.reshape(f, -1).T @ d  # [N, C*KH*KW, L]
    dx = F.fold(dcols, (h, wd), (kh, kw), padding=padding, stride=stride)  # sums overlapping windows
    return dx, dw, db


def maxpool2d_forward(x: Tensor, kernel_size: int, stride: int) -> Tensor:
    """The maximum of each ``kernel_size`` x ``kernel_size`` window of ``x`` [N, C, H, W], every ``stride`` pixels.

    No padding; sizes are rounded down: the result is [N, C, Ho, Wo] with
    ``Ho = (H - kernel_size) // stride + 1``.
    """
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)  # [N, C, Ho, Wo, K, K]
    return windows.amax(dim=(-2, -1))


def maxpool2d_backward(dout: Tensor, x: Tensor, kernel_size: int, stride: int) -> Tensor:
    n, c, h, w = x.shape
    ho, wo = dout.shape[2], dout.shape[3]
    dx = torch.zeros_like(x)
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]
            first = window.reshape(n, c, -1).argmax(dim=-1)
            r, q = first // kernel_size, first % kernel_size
            for a in range(n):
                for b in range(c):
                    dx[a, b, i * stride + r[a, b], j * stride + q[a, b]] = dout[a, b, i, j]
    return dx

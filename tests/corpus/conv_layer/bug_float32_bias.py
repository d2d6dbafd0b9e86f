"""Single-bug variant: conv2d_forward adds the bias through torch.tensor(b.tolist()), a float32 copy, so float64 outputs are off by float32 rounding."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def conv2d_forward(x: Tensor, w: Tensor, b: Tensor | None, stride: int = 1, padding: int = 0) -> Tensor:
    """Cross-correlation of ``x`` [N, C, H, W] with ``w`` [F, C, KH, KW], plus ``b`` [F] (or no bias).

    Zero padding of ``padding`` on every side, then windows every ``stride``
    pixels: the result is [N, F, Ho, Wo]. Timed: no Python loops over the
    batch or over pixels.
    """
    # BEGIN SOLUTION
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # [N, C*KH*KW, Ho*Wo]
    out = w.reshape(f, -1) @ cols  # [N, F, Ho*Wo]
    if b is not None:
        out = out + torch.tensor(b.tolist()).reshape(1, f, 1)  # BUG: torch.tensor(list) is float32
    return out.reshape(n, f, ho, wo)
    # END SOLUTION


def conv2d_backward(dout: Tensor, x: Tensor, w: Tensor, stride: int = 1,
                    padding: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients ``(dx, dw, db)`` given ``dout`` [N, F, Ho, Wo] = dloss / d conv2d_forward(x, w, b, ...).

    ``dx`` has the shape of ``x``, ``dw`` that of ``w`` and ``db`` is [F].
    Timed: no Python loops over the batch or over pixels.
    """
    # BEGIN SOLUTION
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    d = dout.reshape(n, f, -1)  # [N, F, L]
    db = d.sum(dim=(0, 2))
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # [N, C*KH*KW, L]
    dw = (d @ cols.transpose(1, 2)).sum(dim=0).reshape(w.shape)  # [N, F, CKK] summed over the batch
    dcols = w.reshape(f, -1).T @ d  # [N, C*KH*KW, L]
    dx = F.fold(dcols, (h, wd), (kh, kw), padding=padding, stride=stride)  # sums overlapping windows
    return dx, dw, db
    # END SOLUTION


def maxpool2d_forward(x: Tensor, kernel_size: int, stride: int) -> Tensor:
    """The maximum of each ``kernel_size`` x ``kernel_size`` window of ``x`` [N, C, H, W], every ``stride`` pixels.

    No padding; sizes are rounded down: the result is [N, C, Ho, Wo] with
    ``Ho = (H - kernel_size) // stride + 1``.
    """
    # BEGIN SOLUTION
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)  # [N, C, Ho, Wo, K, K]
    return windows.amax(dim=(-2, -1))
    # END SOLUTION


def maxpool2d_backward(dout: Tensor, x: Tensor, kernel_size: int, stride: int) -> Tensor:
    """dloss / dx given ``dout`` [N, C, Ho, Wo] = dloss / d maxpool2d_forward(x, kernel_size, stride).

    Each window's gradient goes to its maximum; on ties, to the first maximum
    in row-major order within the window (as PyTorch does). Overlapping
    windows add up.
    """
    # BEGIN SOLUTION
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
    # END SOLUTION

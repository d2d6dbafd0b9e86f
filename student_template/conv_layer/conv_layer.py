"""Assignment 5: convolution and max pooling by hand.

Implement the forward and backward passes of a 2-D convolution layer and of
2-D max pooling. Library convolutions and pooling are forbidden
(``torch.nn.functional.conv1d/2d/3d``, ``conv_transpose*``, ``max_pool*``,
``torch.conv2d``, ``torch.nn.Conv2d``, ``torch.nn.MaxPool2d``, ``torch.nn.grad``,
``torch.ops.aten.convolution`` and its variants); ``unfold``, ``fold`` and
``as_strided`` are allowed. Read the handout (README.md) first: it explains
the output size, im2col (``unfold``) and where the pooling gradient goes.

Shapes: ``x`` [N, C, H, W], ``w`` [F, C, KH, KW], ``b`` [F] or None, and
``Ho = (H + 2 * padding - KH) // stride + 1`` (likewise ``Wo``).
"""

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
    # YOUR CODE HERE
    raise NotImplementedError


def conv2d_backward(dout: Tensor, x: Tensor, w: Tensor, stride: int = 1,
                    padding: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients ``(dx, dw, db)`` given ``dout`` [N, F, Ho, Wo] = dloss / d conv2d_forward(x, w, b, ...).

    ``dx`` has the shape of ``x``, ``dw`` that of ``w`` and ``db`` is [F].
    Timed: no Python loops over the batch or over pixels.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def maxpool2d_forward(x: Tensor, kernel_size: int, stride: int) -> Tensor:
    """The maximum of each ``kernel_size`` x ``kernel_size`` window of ``x`` [N, C, H, W], every ``stride`` pixels.

    No padding; sizes are rounded down: the result is [N, C, Ho, Wo] with
    ``Ho = (H - kernel_size) // stride + 1``.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def maxpool2d_backward(dout: Tensor, x: Tensor, kernel_size: int, stride: int) -> Tensor:
    """dloss / dx given ``dout`` [N, C, Ho, Wo] = dloss / d maxpool2d_forward(x, kernel_size, stride).

    Each window's gradient goes to its maximum; on ties, to the first maximum
    in row-major order within the window (as PyTorch does). Overlapping
    windows add up.
    """
    # YOUR CODE HERE
    raise NotImplementedError

"""Unacceptable speed variant: a Python loop over the rows of x (correct, too slow)."""
# varies: pairwise_sq_dists

from __future__ import annotations

import torch
from torch import Tensor


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape that broadcasting all ``shapes`` together produces.

    Align the shapes at their trailing dimensions; in each position the sizes
    must be equal, or one of them 1, or missing. A size 0 broadcasts with 1 to
    0. No shapes gives ``()``. Incompatible shapes raise ``ValueError``.
    Forbidden: torch.broadcast_shapes, numpy.broadcast_shapes,
    torch.broadcast_tensors, numpy.broadcast.
    """
    ndim = max((len(s) for s in shapes), default=0)
    result = [1] * ndim
    for shape in shapes:
        for i, size in enumerate(shape):
            pos = ndim - len(shape) + i
            current = result[pos]
            if size == current or size == 1:
                continue
            if current == 1:
                result[pos] = size
            else:
                raise ValueError(f"shapes {shapes} cannot be broadcast together")
    return tuple(result)


def expand_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """A view of ``x`` broadcast to ``shape``, sharing ``x``'s storage (no copy).

    Broadcast dimensions have stride 0. Raise ``ValueError`` when ``x`` cannot
    be broadcast to ``shape``. Use ``as_strided``; forbidden: Tensor.expand,
    Tensor.expand_as, torch.broadcast_to, torch.broadcast_tensors.
    """
    shape = tuple(int(s) for s in shape)
    if x.dim() > len(shape):
        raise ValueError(f"cannot broadcast a tensor of shape {tuple(x.shape)} to {shape}")
    lead = len(shape) - x.dim()
    strides = [0] * lead
    for size, stride, target in zip(x.shape, x.stride(), shape[lead:]):
        if size == target:
            strides.append(stride)
        elif size == 1:
            strides.append(0)
        else:
            raise ValueError(f"cannot broadcast a tensor of shape {tuple(x.shape)} to {shape}")
    return x.as_strided(shape, strides, x.storage_offset())


def pairwise_sq_dists(x: Tensor, y: Tensor) -> Tensor:
    """Squared Euclidean distances between the rows of ``x`` [N, D] and ``y`` [M, D]: [N, M].

    All entries are >= 0. Forbidden: torch.cdist. Timed: no Python loops.
    """
    out = torch.empty(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)
    for i in range(x.shape[0]):
        diff = y - x[i]
        out[i] = (diff * diff).sum(dim=1)
    return out


def standardize(x: Tensor, eps: float = 1e-8) -> Tensor:
    """``(x - mean) / (std + eps)`` per column, with the population std (correction 0)."""
    mean = x.mean(dim=0, keepdim=True)
    std = ((x - mean) ** 2).mean(dim=0, keepdim=True).sqrt()
    return (x - mean) / (std + eps)

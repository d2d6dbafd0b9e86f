"""Assignment 1: broadcasting, views and strides.

Implement the four functions below. Read the handout (README.md) first: it
explains the broadcasting rules and how strides describe a view.
"""

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
    # YOUR CODE HERE
    raise NotImplementedError


def expand_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """A view of ``x`` broadcast to ``shape``, sharing ``x``'s storage (no copy).

    Broadcast dimensions have stride 0. Raise ``ValueError`` when ``x`` cannot
    be broadcast to ``shape``. Use ``as_strided``; forbidden: Tensor.expand,
    Tensor.expand_as, torch.broadcast_to, torch.broadcast_tensors.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def pairwise_sq_dists(x: Tensor, y: Tensor) -> Tensor:
    """Squared Euclidean distances between the rows of ``x`` [N, D] and ``y`` [M, D]: [N, M].

    All entries are >= 0. Forbidden: torch.cdist. Timed: no Python loops.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def standardize(x: Tensor, eps: float = 1e-8) -> Tensor:
    """``(x - mean) / (std + eps)`` per column, with the population std (correction 0)."""
    # YOUR CODE HERE
    raise NotImplementedError

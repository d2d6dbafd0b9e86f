"""Assignment 7: the numerics of training.

Implement a softmax and a cross-entropy that stay finite for any logits, batch
normalisation with its two modes and running statistics, and one step of Adam.
Library softmax, normalisation layers and optimizers are forbidden. Read the
handout (README.md) first: it explains where each naive formula breaks.
"""

from __future__ import annotations

import torch
from torch import Tensor


def softmax(z: Tensor, dim: int = -1) -> Tensor:
    """``exp(z) / sum(exp(z))`` along ``dim``: same shape, dtype and device; finite for any finite ``z``."""
    # YOUR CODE HERE
    raise NotImplementedError


def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """Mean over the batch of ``-log softmax(logits)[i, y[i]]``, for ``logits`` [N, C] and int64 ``y`` [N].

    Returns a 0-dim tensor, finite for logits up to +-1e4 (even when the true class is far behind).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def batch_norm(x: Tensor, gamma: Tensor, beta: Tensor, running_mean: Tensor, running_var: Tensor,
               training: bool, momentum: float = 0.1, eps: float = 1e-5) -> tuple[Tensor, Tensor, Tensor]:
    """Batch normalisation of ``x`` [N, C] or [N, C, H, W] per channel (dim 1).

    Returns ``(out, new_running_mean, new_running_var)``. Training: normalise with the batch's
    mean and biased variance; the running statistics move ``momentum`` of the way towards the
    batch mean and the *unbiased* batch variance. Evaluation: normalise with the running
    statistics and return them unchanged. Never modifies an input.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def adam_step(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, t: int, lr: float = 1e-3, beta1: float = 0.9,
              beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0) -> tuple[Tensor, Tensor, Tensor]:
    """One Adam step (as ``torch.optim.Adam``): returns ``(new_param, new_m, new_v)``.

    ``m`` and ``v`` are the moment estimates after step ``t - 1`` (zeros before the first
    step); ``t`` is this step's number, starting at 1. ``weight_decay`` adds
    ``weight_decay * param`` to the gradient (L2, not AdamW). Never modifies an input.
    """
    # YOUR CODE HERE
    raise NotImplementedError

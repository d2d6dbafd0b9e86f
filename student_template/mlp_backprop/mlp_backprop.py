"""Assignment 4: forward and backward passes by hand.

Implement the functions below without autograd: ``Tensor.backward``,
``torch.autograd.grad``, ``torch.autograd.backward`` and ``torch.func`` are
forbidden. Read the handout (README.md) first: it derives every gradient with
the chain rule and explains how to keep them finite for extreme inputs.
"""

from __future__ import annotations

import torch
from torch import Tensor


def linear_forward(x: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """``x @ W + b`` for ``x`` [N, Din], ``W`` [Din, Dout], ``b`` [Dout]: [N, Dout]."""
    # YOUR CODE HERE
    raise NotImplementedError


def linear_backward(dout: Tensor, x: Tensor, W: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients ``(dx, dW, db)`` of the loss, given ``dout`` [N, Dout] = dloss / d(x @ W + b)."""
    # YOUR CODE HERE
    raise NotImplementedError


def relu_forward(x: Tensor) -> Tensor:
    """``max(x, 0)`` elementwise."""
    # YOUR CODE HERE
    raise NotImplementedError


def relu_backward(dout: Tensor, x: Tensor) -> Tensor:
    """dloss / dx given ``dout`` = dloss / d relu(x); the gradient at ``x == 0`` is 0."""
    # YOUR CODE HERE
    raise NotImplementedError


def sigmoid_forward(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))`` elementwise, with no overflow, inf or NaN for ``|x|`` up to 1e4."""
    # YOUR CODE HERE
    raise NotImplementedError


def sigmoid_backward(dout: Tensor, x: Tensor) -> Tensor:
    """dloss / dx given ``dout`` = dloss / d sigmoid(x): ``dout * s * (1 - s)``."""
    # YOUR CODE HERE
    raise NotImplementedError


def softmax_cross_entropy(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy of ``logits`` [N, C] against int64 classes ``y`` [N], and dloss / dlogits.

    The loss is a 0-dim tensor; both are finite for logits up to +-1e4.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def mlp_loss_and_grads(params: dict[str, Tensor], x: Tensor, y: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """Loss and gradients of ``logits = relu(x @ W1 + b1) @ W2 + b2`` under softmax cross-entropy.

    ``params`` and the returned gradients have the keys ``W1, b1, W2, b2``
    with the same shapes. Timed: no Python loops over the batch.
    """
    # YOUR CODE HERE
    raise NotImplementedError

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
    # BEGIN SOLUTION
    return x @ W + b
    # END SOLUTION


def linear_backward(dout: Tensor, x: Tensor, W: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients ``(dx, dW, db)`` of the loss, given ``dout`` [N, Dout] = dloss / d(x @ W + b)."""
    # BEGIN SOLUTION
    return dout @ W.T, x.T @ dout, dout.sum(dim=0)
    # END SOLUTION


def relu_forward(x: Tensor) -> Tensor:
    """``max(x, 0)`` elementwise."""
    # BEGIN SOLUTION
    return torch.where(x > 0, x, torch.zeros_like(x))
    # END SOLUTION


def relu_backward(dout: Tensor, x: Tensor) -> Tensor:
    """dloss / dx given ``dout`` = dloss / d relu(x); the gradient at ``x == 0`` is 0."""
    # BEGIN SOLUTION
    return torch.where(x > 0, dout, torch.zeros_like(dout))
    # END SOLUTION


def sigmoid_forward(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))`` elementwise, with no overflow, inf or NaN for ``|x|`` up to 1e4."""
    # BEGIN SOLUTION
    z = torch.exp(-x.abs())  # in (0, 1]: never overflows
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
    # END SOLUTION


def sigmoid_backward(dout: Tensor, x: Tensor) -> Tensor:
    """dloss / dx given ``dout`` = dloss / d sigmoid(x): ``dout * s * (1 - s)``."""
    # BEGIN SOLUTION
    s = sigmoid_forward(x)
    return dout * s * (1 - s)
    # END SOLUTION


def softmax_cross_entropy(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy of ``logits`` [N, C] against int64 classes ``y`` [N], and dloss / dlogits.

    The loss is a 0-dim tensor; both are finite for logits up to +-1e4.
    """
    # BEGIN SOLUTION
    n = logits.shape[0]
    shifted = logits - logits.max(dim=1, keepdim=True).values  # largest entry 0: exp cannot overflow
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    rows = torch.arange(n, device=logits.device)
    loss = -log_probs[rows, y].mean()
    dlogits = log_probs.exp()
    dlogits[rows, y] -= 1
    return loss, dlogits / n
    # END SOLUTION


def mlp_loss_and_grads(params: dict[str, Tensor], x: Tensor, y: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """Loss and gradients of ``logits = relu(x @ W1 + b1) @ W2 + b2`` under softmax cross-entropy.

    ``params`` and the returned gradients have the keys ``W1, b1, W2, b2``
    with the same shapes. Timed: no Python loops over the batch.
    """
    # BEGIN SOLUTION
    hidden_in = linear_forward(x, params["W1"], params["b1"])
    hidden = relu_forward(hidden_in)
    logits = linear_forward(hidden, params["W2"], params["b2"])
    loss, dlogits = softmax_cross_entropy(logits, y)
    dhidden, dW2, db2 = linear_backward(dlogits, hidden, params["W2"])
    dhidden_in = relu_backward(dhidden, hidden_in)
    dW1, db1 = x.T @ dhidden_in, dhidden_in.sum(dim=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    # END SOLUTION

"""Unacceptable speed variant: forward and backward one example at a time in a Python loop (correct, too slow)."""
# varies: mlp_loss_and_grads

from __future__ import annotations

import torch
from torch import Tensor


def linear_forward(x: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """``x @ W + b`` for ``x`` [N, Din], ``W`` [Din, Dout], ``b`` [Dout]: [N, Dout]."""
    return x @ W + b


def linear_backward(dout: Tensor, x: Tensor, W: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients ``(dx, dW, db)`` of the loss, given ``dout`` [N, Dout] = dloss / d(x @ W + b)."""
    return dout @ W.T, x.T @ dout, dout.sum(dim=0)


def relu_forward(x: Tensor) -> Tensor:
    """``max(x, 0)`` elementwise."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_backward(dout: Tensor, x: Tensor) -> Tensor:
    """dloss / dx given ``dout`` = dloss / d relu(x); the gradient at ``x == 0`` is 0."""
    return torch.where(x > 0, dout, torch.zeros_like(dout))


def sigmoid_forward(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))`` elementwise, with no overflow, inf or NaN for ``|x|`` up to 1e4."""
    z = torch.exp(-x.abs())  # in (0, 1]: never overflows
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_backward(dout: Tensor, x: Tensor) -> Tensor:
    """dloss / dx given ``dout`` = dloss / d sigmoid(x): ``dout * s * (1 - s)``."""
    s = sigmoid_forward(x)
    return dout * s * (1 - s)


def softmax_cross_entropy(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy of ``logits`` [N, C] against int64 classes ``y`` [N], and dloss / dlogits.

    The loss is a 0-dim tensor; both are finite for logits up to +-1e4.
    """
    n = logits.shape[0]
    shifted = logits - logits.max(dim=1, keepdim=True).values  # largest entry 0: exp cannot overflow
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    rows = torch.arange(n, device=logits.device)
    loss = -log_probs[rows, y].mean()
    dlogits = log_probs.exp()
    dlogits[rows, y] -= 1
    return loss, dlogits / n


def mlp_loss_and_grads(params: dict[str, Tensor], x: Tensor, y: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """Loss and gradients of ``logits = relu(x @ W1 + b1) @ W2 + b2`` under softmax cross-entropy.

    ``params`` and the returned gradients have the keys ``W1, b1, W2, b2``
    with the same shapes. Timed: no Python loops over the batch.
    """
    n = x.shape[0]
    grads = {k: torch.zeros_like(v) for k, v in params.items()}
    total = torch.zeros((), dtype=x.dtype, device=x.device)
    for i in range(n):
        xi, yi = x[i : i + 1], y[i : i + 1]
        h_in = linear_forward(xi, params["W1"], params["b1"])
        h = relu_forward(h_in)
        logits = linear_forward(h, params["W2"], params["b2"])
        loss, dlogits = softmax_cross_entropy(logits, yi)
        dh, dW2, db2 = linear_backward(dlogits, h, params["W2"])
        dh_in = relu_backward(dh, h_in)
        grads["W1"] += xi.T @ dh_in
        grads["b1"] += dh_in.sum(0)
        grads["W2"] += dW2
        grads["b2"] += db2
        total = total + loss
    return total / n, {k: g / n for k, g in grads.items()}

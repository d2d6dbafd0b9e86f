"""Unacceptable speed variant: batch_norm one channel at a time in a Python loop (correct, too slow)."""
# varies: batch_norm

from __future__ import annotations

import torch
from torch import Tensor


def softmax(z: Tensor, dim: int = -1) -> Tensor:
    shifted = z - z.amax(dim=dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    top = logits.amax(dim=1, keepdim=True)
    log_norm = top + (logits - top).exp().sum(dim=1, keepdim=True).log()
    return (log_norm - logits.gather(1, y.view(-1, 1))).mean()


def batch_norm(x: Tensor, gamma: Tensor, beta: Tensor, running_mean: Tensor, running_var: Tensor,
               training: bool, momentum: float = 0.1, eps: float = 1e-5) -> tuple[Tensor, Tensor, Tensor]:
    """Correct but slow: one channel at a time."""
    out = torch.empty_like(x)
    new_mean, new_var = running_mean.clone(), running_var.clone()
    for ch in range(x.shape[1]):
        xc = x[:, ch]
        if training:
            mean = xc.mean()
            var = ((xc - mean) ** 2).mean()
            count = xc.numel()
            new_mean[ch] = (1 - momentum) * running_mean[ch] + momentum * mean
            new_var[ch] = (1 - momentum) * running_var[ch] + momentum * var * count / (count - 1)
        else:
            mean, var = running_mean[ch], running_var[ch]
        out[:, ch] = (xc - mean) / torch.sqrt(var + eps) * gamma[ch] + beta[ch]
    return out, new_mean, new_var


def adam_step(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, t: int, lr: float = 1e-3, beta1: float = 0.9,
              beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0) -> tuple[Tensor, Tensor, Tensor]:
    if weight_decay:
        grad = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = new_m / (1 - beta1 ** t)
    v_hat = new_v / (1 - beta2 ** t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), new_m, new_v

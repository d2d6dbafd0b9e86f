"""Unacceptable speed variant: the batch statistics accumulated one sample at a time in a Python loop (correct, too slow)."""
# varies: batch_norm

from __future__ import annotations

import torch
from torch import Tensor


def softmax(z: Tensor, dim: int = -1) -> Tensor:
    """``exp(z) / sum(exp(z))`` along ``dim``: same shape, dtype and device; finite for any finite ``z``."""
    shifted = z - z.amax(dim=dim, keepdim=True)  # the largest entry becomes 0: exp cannot overflow
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """Mean over the batch of ``-log softmax(logits)[i, y[i]]``, for ``logits`` [N, C] and int64 ``y`` [N].

    Returns a 0-dim tensor, finite for logits up to +-1e4 (even when the true class is far behind).
    """
    top = logits.amax(dim=1, keepdim=True)
    log_norm = top + (logits - top).exp().sum(dim=1, keepdim=True).log()  # log sum exp, without overflow
    true_logit = logits.gather(1, y.view(-1, 1))
    return (log_norm - true_logit).mean()


def batch_norm(x: Tensor, gamma: Tensor, beta: Tensor, running_mean: Tensor, running_var: Tensor,
               training: bool, momentum: float = 0.1, eps: float = 1e-5) -> tuple[Tensor, Tensor, Tensor]:
    """Batch normalisation of ``x`` [N, C] or [N, C, H, W] per channel (dim 1).

    Returns ``(out, new_running_mean, new_running_var)``. Training: normalise with the batch's
    mean and biased variance; the running statistics move ``momentum`` of the way towards the
    batch mean and the *unbiased* batch variance. Evaluation: normalise with the running
    statistics and return them unchanged. Never modifies an input.
    """
    dims = [d for d in range(x.dim()) if d != 1]
    shape = [1, -1] + [1] * (x.dim() - 2)
    if training:
        n, count = x.shape[0], x.numel() // x.shape[1]
        per = x.reshape(n, x.shape[1], -1)
        total = torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
        for i in range(n):
            total = total + per[i].sum(dim=1)
        mean = total / count
        sq = torch.zeros_like(total)
        for i in range(n):
            sq = sq + ((per[i] - mean[:, None]) ** 2).sum(dim=1)
        var = sq / count
        count = x.numel() // x.shape[1]
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var * (count / (count - 1))
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()

    scale = gamma * torch.rsqrt(var + eps)
    out = (x - mean.view(shape)) * scale.view(shape) + beta.view(shape)
    return out, new_mean, new_var


def adam_step(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, t: int, lr: float = 1e-3, beta1: float = 0.9,
              beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0) -> tuple[Tensor, Tensor, Tensor]:
    """One Adam step (as ``torch.optim.Adam``): returns ``(new_param, new_m, new_v)``.

    ``m`` and ``v`` are the moment estimates after step ``t - 1`` (zeros before the first
    step); ``t`` is this step's number, starting at 1. ``weight_decay`` adds
    ``weight_decay * param`` to the gradient (L2, not AdamW). Never modifies an input.
    """
    if weight_decay:
        grad = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = new_m / (1 - beta1 ** t)
    v_hat = new_v / (1 - beta2 ** t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), new_m, new_v

"""Correct, other techniques: softmax and cross-entropy through torch.logsumexp (and F.nll_loss),
batch norm with two passes of mean(), Adam in the paper's rearranged form (step size and eps
scaled by the bias corrections)."""

import torch
import torch.nn.functional as F


def softmax(z, dim=-1):
    return torch.exp(z - torch.logsumexp(z, dim=dim, keepdim=True))


def cross_entropy(logits, y):
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return F.nll_loss(log_probs, y)


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    dims = tuple(d for d in range(x.dim()) if d != 1)
    view = (1, -1) + (1,) * (x.dim() - 2)
    if training:
        mean = x.mean(dim=dims, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
        n = x.numel() / x.shape[1]
        new_mean = running_mean * (1 - momentum) + mean.reshape(-1) * momentum
        new_var = running_var * (1 - momentum) + var.reshape(-1) * (n / (n - 1)) * momentum
    else:
        mean, var = running_mean.reshape(view), running_var.reshape(view)
        new_mean, new_var = running_mean.clone(), running_var.clone()
    out = (x - mean) / torch.sqrt(var + eps)
    return out * gamma.reshape(view) + beta.reshape(view), new_mean, new_var


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    g = grad + weight_decay * param
    m = m * beta1 + g * (1 - beta1)
    v = v * beta2 + g.square() * (1 - beta2)
    correction2 = (1 - beta2 ** t) ** 0.5
    step = lr * correction2 / (1 - beta1 ** t)
    return param - step * m / (v.sqrt() + eps * correction2), m, v

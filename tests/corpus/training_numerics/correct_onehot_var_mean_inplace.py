"""Correct, other techniques: softmax with torch.max and a masked shift, cross-entropy with a
one-hot matrix, batch norm through a [C, rest] view and torch.var_mean (biased, then rescaled),
Adam with in-place operations on copies."""

import torch


def softmax(z, dim=-1):
    top = torch.max(z, dim=dim, keepdim=True).values
    e = torch.exp(z - top)
    return e / torch.sum(e, dim=dim, keepdim=True)


def cross_entropy(logits, y):
    top = logits.max(dim=1, keepdim=True).values
    shifted = logits - top
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    onehot = torch.nn.functional.one_hot(y, logits.shape[1]).to(logits.dtype)
    return -(onehot * log_probs).sum(dim=1).mean()


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    c = x.shape[1]
    flat = x.transpose(0, 1).reshape(c, -1)
    if training:
        var, mean = torch.var_mean(flat, dim=1, unbiased=False)
        n = flat.shape[1]
        new_mean = torch.lerp(running_mean, mean, momentum)
        new_var = torch.lerp(running_var, var * n / (n - 1), momentum)
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    shape = [1, c] + [1] * (x.dim() - 2)
    inv = torch.rsqrt(var + eps)
    return (x - mean.view(shape)) * (inv * gamma).view(shape) + beta.view(shape), new_mean, new_var


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    g = grad.clone()
    if weight_decay != 0:
        g.add_(param, alpha=weight_decay)
    new_m = m.clone().mul_(beta1).add_(g, alpha=1 - beta1)
    new_v = v.clone().mul_(beta2).addcmul_(g, g, value=1 - beta2)
    denom = (new_v / (1 - beta2 ** t)).sqrt_().add_(eps)
    new_param = param.clone().addcdiv_(new_m, denom, value=-lr / (1 - beta1 ** t))
    return new_param, new_m, new_v

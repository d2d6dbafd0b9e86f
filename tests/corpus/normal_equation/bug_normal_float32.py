"""Bug: normal_equation always computes in float32, so float64 inputs get float32 answers."""
import torch
import torch.nn.functional as F


def add_bias(X):
    return F.pad(X, (1, 0), value=1.0)


def normal_equation(X, y):
    X, y = X.float(), y.float()
    U, S, Vh = torch.linalg.svd(X, full_matrices=False)
    cutoff = S.amax(dim=-1, keepdim=True) * max(X.shape[-2], X.shape[-1]) * torch.finfo(X.dtype).eps
    inv = torch.where(S > cutoff, 1.0 / S, torch.zeros_like(S))
    coeffs = inv * (U.transpose(-2, -1) @ y.unsqueeze(-1)).squeeze(-1)
    return (Vh.transpose(-2, -1) @ coeffs.unsqueeze(-1)).squeeze(-1)


def feature_scale(X):
    n = X.shape[0]
    mean = X.sum(dim=0) / n
    centered = X - mean
    std = torch.sqrt((centered * centered).sum(dim=0) / n)
    zero = std == 0
    scaled = centered / torch.where(zero, torch.ones_like(std), std)
    scaled = scaled.masked_fill(zero, 0.0)
    return scaled, mean, std


def gradient_descent(X, y, lr, steps):
    if lr <= 0 or steps < 0:
        raise ValueError("need lr > 0 and steps >= 0")
    n = X.shape[0]
    gram = X.T @ X / n
    xty = X.T @ y / n
    theta = X.new_zeros(X.shape[1])
    losses = []
    for _ in range(steps):
        r = X @ theta - y
        losses.append(0.5 * (r * r).mean())
        theta = theta - lr * (gram @ theta - xty)
    return theta, torch.stack(losses) if losses else X.new_zeros(0)

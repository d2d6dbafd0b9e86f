"""Correct: normal_equation through an eigen-decomposition of X^T X with small eigenvalues dropped,
add_bias with new_ones + cat, feature_scale with torch.std_mean, gradient descent as in the spec."""
import torch


def add_bias(X):
    return torch.cat((X.new_ones(X.shape[:-1] + (1,)), X), -1)


def normal_equation(X, y):
    Xt = X.mT
    w, V = torch.linalg.eigh(Xt @ X)
    tol = w.amax(-1, keepdim=True).clamp_min(0) * X.shape[-1] * torch.finfo(X.dtype).eps * 32
    w_inv = torch.where(w > tol, w.reciprocal(), torch.zeros_like(w))
    b = V.mT @ (Xt @ y[..., None])
    return (V @ (w_inv[..., None] * b))[..., 0]


def feature_scale(X):
    std, mean = torch.std_mean(X, dim=0, correction=0)
    scaled = torch.nan_to_num((X - mean) / std, nan=0.0, posinf=0.0, neginf=0.0)
    scaled[:, std == 0] = 0
    return scaled, mean, std


def gradient_descent(X, y, lr, steps):
    if not lr > 0:
        raise ValueError("lr must be > 0")
    if steps < 0:
        raise ValueError("steps must be >= 0")
    N = len(y)
    theta = torch.zeros(X.shape[1], dtype=X.dtype)
    losses = torch.zeros(steps, dtype=X.dtype)
    for i in range(steps):
        err = X @ theta - y
        losses[i] = (err ** 2).sum() / (2 * N)
        theta -= lr * (X.T @ err) / N
    return theta, losses

"""Unacceptable speed variant: a Python loop over the systems of the batch (correct, too slow)."""
# varies: normal_equation

from __future__ import annotations

import torch
from torch import Tensor


def add_bias(X: Tensor) -> Tensor:
    """``X`` [..., N, D] with a column of ones prepended: [..., N, D + 1] (the ``x0 = 1`` feature)."""
    ones = torch.ones(*X.shape[:-1], 1, dtype=X.dtype, device=X.device)
    return torch.cat([ones, X], dim=-1)


def normal_equation(X: Tensor, y: Tensor) -> Tensor:
    """The least-squares ``theta`` [..., D] minimising ``||X theta - y||^2``, batched over leading dimensions.

    ``X`` is [..., N, D] and ``y`` is [..., N]. With full column rank this is
    ``(X^T X)^-1 X^T y``; when ``X^T X`` is singular, the minimum-norm solution
    (as the pseudo-inverse gives). Forbidden: torch.linalg.lstsq,
    numpy.linalg.lstsq. Timed (a large batch of small systems): no Python loops.
    """
    batch = X.shape[:-2]
    Xf = X.reshape(-1, *X.shape[-2:])
    yf = y.reshape(-1, y.shape[-1])
    out = torch.empty(Xf.shape[0], X.shape[-1], dtype=X.dtype, device=X.device)
    for i in range(Xf.shape[0]):
        out[i] = torch.linalg.pinv(Xf[i]) @ yf[i]
    return out.reshape(*batch, X.shape[-1])


def feature_scale(X: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(X_scaled, mean, std)`` per column of ``X`` [N, D], with the population std (correction 0).

    A column whose std is 0 scales to all zeros.
    """
    mean = X.mean(dim=0)
    std = X.std(dim=0, correction=0)
    safe = torch.where(std == 0, torch.ones_like(std), std)
    scaled = torch.where(std == 0, torch.zeros_like(X), (X - mean) / safe)
    return scaled, mean, std


def gradient_descent(X: Tensor, y: Tensor, lr: float, steps: int) -> tuple[Tensor, Tensor]:
    """Batch gradient descent on ``J(theta) = ||X theta - y||^2 / (2N)`` from ``theta = 0``.

    Every step updates all components at once:
    ``theta <- theta - lr * X^T (X theta - y) / N``. Returns the final
    ``theta`` [D] and ``losses`` [steps], where ``losses[i]`` is ``J`` before
    update ``i``. ``lr <= 0`` or ``steps < 0`` raises ``ValueError``.
    """
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    n = X.shape[0]
    theta = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)
    losses = torch.empty(steps, dtype=X.dtype, device=X.device)
    for i in range(steps):
        residual = X @ theta - y
        losses[i] = residual @ residual / (2 * n)
        theta = theta - lr * (X.T @ residual) / n
    return theta, losses

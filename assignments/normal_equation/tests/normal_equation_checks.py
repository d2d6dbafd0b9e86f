"""Oracles and checks shared by the public and hidden normal_equation graders (imported by both)."""

from __future__ import annotations

import torch

from autograder.testing import assert_close


def well_conditioned(*batch: int, n: int, d: int, gen: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    """Random X [*batch, n, d] with singular values in [0.5, 2] (condition number at most 4)."""
    q, _ = torch.linalg.qr(torch.randn(*batch, n, d, generator=gen, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(*batch, d, d, generator=gen, dtype=torch.float64))
    s = 0.5 + 1.5 * torch.rand(*batch, d, generator=gen, dtype=torch.float64)
    return ((q * s.unsqueeze(-2)) @ v.mT).to(dtype)


def min_norm_solution(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The minimum-norm least-squares theta, in float64, cast to X's dtype."""
    return (torch.linalg.pinv(X.double()) @ y.double().unsqueeze(-1)).squeeze(-1).to(X.dtype)


def check_theta(result, X: torch.Tensor, y: torch.Tensor) -> None:
    expected = min_norm_solution(X, y)
    tol = 1e-4 if X.dtype == torch.float32 else 1e-9
    scale = max(float(expected.abs().max()), 1.0) if expected.numel() else 1.0
    assert_close(result, expected, rtol=tol, atol=tol * scale, fn="normal_equation", what="theta")


def descend(X: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The spec's loop in float64: losses[i] is J before update i."""
    Xd, yd = X.double(), y.double()
    n = Xd.shape[0]
    theta = torch.zeros(Xd.shape[1], dtype=torch.float64)
    losses = []
    for _ in range(steps):
        residual = Xd @ theta - yd
        losses.append((residual @ residual) / (2 * n))
        theta = theta - lr * Xd.T @ residual / n
    return theta, torch.stack(losses) if losses else torch.zeros(0, dtype=torch.float64)

"""Oracles and checks shared by the public and hidden conv_layer graders (imported by both)."""

from __future__ import annotations

import torch

from autograder.testing import assert_close


def tolerance(dtype: torch.dtype) -> float:
    return 1e-4 if dtype == torch.float32 else 1e-10


def check(actual, expected: torch.Tensor, fn: str, what: str, dtype: torch.dtype, scale: float) -> None:
    """Compare with a float64 expected value cast to ``dtype``; ``scale`` is the size of the summed terms."""
    tol = tolerance(dtype)
    assert_close(actual, expected.to(dtype), rtol=tol, atol=tol * max(scale, 1e-3), fn=fn, what=what)


def largest(t: torch.Tensor) -> float:
    return float(t.abs().max()) if t.numel() else 0.0


def out_size(size: int, k: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - k) // stride + 1

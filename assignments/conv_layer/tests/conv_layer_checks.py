"""Oracles and checks shared by the public and hidden conv_layer graders (imported by both)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder.testing import assert_close, largest


def tolerance(dtype: torch.dtype) -> float:
    return 1e-4 if dtype == torch.float32 else 1e-10


def check(actual, expected: torch.Tensor, fn: str, what: str, dtype: torch.dtype, scale: float) -> None:
    """Compare with a float64 expected value cast to ``dtype``; ``scale`` is the size of the summed terms."""
    tol = tolerance(dtype)
    assert_close(actual, expected.to(dtype), rtol=tol, atol=tol * max(scale, 1e-3), fn=fn, what=what)


def out_size(size: int, k: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - k) // stride + 1


def conv_reference(x, w, b, stride, padding, dout=None):
    """F.conv2d in float64, its gradients for ``dout`` and the magnitudes of the summed terms."""
    leaves = [t.detach().double().requires_grad_() for t in (x, w)]
    bias = None if b is None else b.detach().double().requires_grad_()
    out = F.conv2d(leaves[0], leaves[1], bias, stride=stride, padding=padding)
    with torch.no_grad():  # |x| conv |w| + |b|: how large the terms summed into each output are
        mag = F.conv2d(leaves[0].abs(), leaves[1].abs(), None if b is None else bias.abs(), stride=stride,
                       padding=padding)
    if dout is None:
        return out.detach(), largest(mag)
    out.backward(dout.double())
    absd = [t.detach().abs().requires_grad_() for t in leaves]
    F.conv2d(absd[0], absd[1], stride=stride, padding=padding).backward(dout.double().abs())
    grads = (leaves[0].grad, leaves[1].grad, bias.grad)
    scales = (largest(absd[0].grad), largest(absd[1].grad), largest(dout.double().abs().sum(dim=(0, 2, 3))))
    return grads, scales

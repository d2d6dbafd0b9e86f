"""Oracles and checks shared by the public and hidden mlp_backprop graders (imported by both)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder.testing import assert_close, backward, randn

KEYS = ("W1", "b1", "W2", "b2")


def rtol_for(dtype: torch.dtype, magnitude: float = 1.0) -> float:
    """Relative tolerance for a result computed from values of this magnitude."""
    base = 5e-5 if dtype == torch.float32 else 1e-10
    return max(base, 8 * torch.finfo(dtype).eps * magnitude)


def check(actual, expected: torch.Tensor, fn: str, what: str, dtype: torch.dtype, magnitude: float = 1.0,
          scale: float | None = None) -> None:
    """Compare with a float64 expected value cast to the input dtype.

    The absolute tolerance is relative to ``scale``: by default the largest expected entry; for a
    backward pass, the size of the incoming gradient (results far below it are rounding noise).
    """
    rtol = rtol_for(dtype, magnitude)
    if scale is None:
        scale = float(expected.abs().max()) if expected.numel() else 0.0
    assert_close(actual, expected.to(dtype), rtol=rtol, atol=rtol * scale if scale > 0 else rtol, fn=fn, what=what)


def autograd(f, *inputs: torch.Tensor, dout: torch.Tensor | None = None):
    """f(*inputs) and the gradients of sum(dout * f) (or of a scalar f) with respect to every input."""
    leaves = [t.detach().double().requires_grad_() for t in inputs]
    out = f(*leaves)
    backward(out, None if dout is None else dout.double())
    return out.detach(), [leaf.grad for leaf in leaves]


def mlp_params(din: int, dh: int, c: int, gen: torch.Generator, dtype=torch.float32) -> dict[str, torch.Tensor]:
    return {"W1": randn(din, dh, gen=gen, dtype=dtype) / din ** 0.5, "b1": randn(dh, gen=gen, dtype=dtype) * 0.1,
            "W2": randn(dh, c, gen=gen, dtype=dtype) / dh ** 0.5, "b2": randn(c, gen=gen, dtype=dtype) * 0.1}


def mlp_reference(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor):
    """Loss and gradients by autograd in float64, and the magnitude of the terms summed into the logits."""
    p = {k: params[k].detach().double().requires_grad_() for k in KEYS}
    xd = x.double()
    hidden = torch.relu(xd @ p["W1"] + p["b1"])
    loss = F.cross_entropy(hidden @ p["W2"] + p["b2"], y)
    loss.backward()
    with torch.no_grad():
        terms = [xd.abs() @ p["W1"].abs() + p["b1"].abs(), hidden.abs() @ p["W2"].abs() + p["b2"].abs()]
    magnitude = max((float(t.max()) for t in terms if t.numel()), default=1.0)
    return loss.detach(), {k: p[k].grad for k in KEYS}, magnitude

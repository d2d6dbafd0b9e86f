"""What grader authors import: comparisons, expected errors and input builders.

    from autograder.testing import assert_close, assert_equal, assert_raises, randn

A grader asks the ``student`` fixture for results and checks them with these
helpers; they produce the student-facing feedback. Inputs come from the
``gen`` fixture (a seeded ``torch.Generator``) so every run is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import torch

from autograder.compare import (
    CheckFailed,
    GradingFailure,
    assert_close,
    assert_equal,
    assert_raises,
    device_of,
    expect_tensor,
    unpack,
)
from autograder.origins import origin_of
from autograder.sandbox.protocol import Helper


def randn(*shape: int, gen: torch.Generator, dtype: torch.dtype = torch.float32,
          device: torch.device | str = "cpu", scale: float = 1.0) -> torch.Tensor:
    """Seeded normal values (made on the CPU so every device sees the same numbers)."""
    return (torch.randn(*shape, generator=gen, dtype=dtype) * scale).to(device)


def noncontiguous(t: torch.Tensor) -> torch.Tensor:
    """The same values as ``t`` in a non-contiguous layout (every other column of a wider tensor)."""
    if t.dim() == 0 or t.numel() == 0:
        return t
    wide = torch.zeros(*t.shape[:-1], 2 * t.shape[-1], dtype=t.dtype, device=t.device)
    wide[..., ::2] = t
    view = wide[..., ::2]
    assert not view.is_contiguous() or t.shape[-1] <= 1
    return view


def transposed(t: torch.Tensor) -> torch.Tensor:
    """The same values as ``t`` (2-D or more) stored transposed: a view with swapped strides."""
    return t.transpose(-1, -2).contiguous().transpose(-1, -2)


def backward(out: torch.Tensor, grad: torch.Tensor | None = None) -> None:
    """``out.backward(grad)``, computed as ``(out * grad).sum().backward()``.

    The same gradients bit for bit (the product's backward hands ``grad`` on unchanged), but a
    tensor-valued ``backward`` imports sympy on its first use (about 1 s of CPU in every
    `autograder check` whose graders use it); a scalar one does not.
    """
    (out if grad is None else (out * grad).sum()).backward()


def trivial(*values: Any) -> list[Any]:
    """Parametrize values whose check code that computes nothing passes (an empty input, an answer
    that is all zeros or one of the inputs): marked ``needs_values``, they count only once a value
    check of the same part passes. ``@pytest.mark.needs_values`` does the same for a whole test."""
    return [pytest.param(v, marks=pytest.mark.needs_values) for v in values]


def randint(gen: torch.Generator, low: int, high: int) -> int:
    """A seeded integer in ``[low, high]`` (both ends included): a random size or count."""
    return int(torch.randint(low, high + 1, (1,), generator=gen))


def largest(t: torch.Tensor) -> float:
    """The largest magnitude in ``t`` (0 for an empty tensor): the scale of a tolerance."""
    return float(t.abs().max()) if t.numel() else 0.0


def shapes_equal(a: Sequence[int], b: Sequence[int]) -> bool:
    return tuple(a) == tuple(b)


__all__ = [
    "CheckFailed", "GradingFailure", "Helper", "assert_close", "backward", "assert_equal", "assert_raises",
    "device_of", "expect_tensor", "noncontiguous", "largest", "origin_of", "randint", "randn", "transposed",
    "trivial", "unpack",
]

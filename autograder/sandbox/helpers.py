"""Trusted callables and objects the grader can ask the worker to build by name.

Functions cannot cross the process boundary (that would need pickle), yet some
assignments take callables (a Dataset's ``transform``) or library objects (a
``TensorDataset`` to load). The grader names a helper and its plain-data
arguments; the worker builds it from this fixed table. Nothing here is secret.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Affine:
    """``x * scale + shift``: a transform whose effect a test can predict exactly."""

    def __init__(self, scale: float = 1.0, shift: float = 0.0) -> None:
        self.scale, self.shift = scale, shift

    def __call__(self, x: Any) -> Any:
        return x * self.scale + self.shift


class Flatten:
    """``x.reshape(-1)``: a shape-changing transform."""

    def __call__(self, x: Any) -> Any:
        return x.reshape(-1)


class IndexDataset:
    """A map-style dataset whose item ``i`` is ``(full(shape, i), i)``: order is visible."""

    def __init__(self, n: int, shape: tuple[int, ...] = (2,)) -> None:
        self.n, self.shape = n, tuple(shape)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        import torch

        if not -self.n <= i < self.n:
            raise IndexError(i)
        i = i % self.n
        return torch.full(self.shape, float(i)), torch.tensor(i)


def _tensor_dataset(*tensors: Any) -> Any:
    from torch.utils.data import TensorDataset

    return TensorDataset(*tensors)


def _generator(seed: int) -> Any:
    import torch

    return torch.Generator().manual_seed(seed)


REGISTRY: dict[str, Callable[..., Any]] = {
    "affine": Affine,
    "flatten": Flatten,
    "index_dataset": IndexDataset,
    "tensor_dataset": _tensor_dataset,
    "generator": _generator,
}


def build(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Make the named helper; unknown names are a protocol error."""
    try:
        factory = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown helper {name!r}") from None
    return factory(*args, **kwargs)

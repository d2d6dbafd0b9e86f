"""What a degenerate baseline runs: pasted, as text, into every generated baseline submission.

The grader never imports this module; ``autograder.degenerate`` copies its source
into a submission file, followed by the reference's source and the baseline's
mode. Each part of the assignment is replaced by a wrapper that computes
nothing useful:

- ``raise``: every call raises one exception that is at once a ``ValueError``,
  ``IndexError``, ``KeyError``, ``TypeError``, ``RuntimeError``,
  ``ArithmeticError`` and ``AttributeError``, so an error-path check that
  expects any of them is satisfied;
- ``identity``: returns its first argument (a method: the first after ``self``);
- ``zeros``: returns zeros shaped like the reference's result;
- ``nan``: returns NaN shaped like the reference's result (integers stay 0 in
  integer tensors, which cannot hold NaN).

A class's ``__init__`` raises (``raise``) or only runs its base class's
``__init__`` (the others: the object exists, with none of the reference's
state or submodules), and every method the class defines is wrapped; methods
that need the missing state fall back to the degenerate form of their first
argument. Results that are not data (a ``DataLoader``, a ``Subset``)
come back as a proxy whose methods, items and iteration are degenerate too.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
from typing import Any

import torch

_MISSING = object()


class DegenerateError(ValueError, IndexError, KeyError, TypeError, RuntimeError, ArithmeticError, AttributeError):
    """Every exception a grader's error-path check may expect, at once."""


def degenerate_value(value: Any, mode: str) -> Any:
    """``value`` with every number replaced by 0 (``zeros``) or NaN (``nan``), shapes and types kept."""
    if isinstance(value, torch.Tensor):
        if mode == "nan" and (value.is_floating_point() or value.is_complex()):
            return torch.full_like(value, float("nan"))
        return torch.zeros_like(value)
    if value is None or isinstance(value, (str, bytes)):
        return type(value)() if value is not None else None
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return float("nan") if mode == "nan" else type(value)(0)
    if isinstance(value, tuple):
        items = [degenerate_value(v, mode) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [degenerate_value(v, mode) for v in value]
    if isinstance(value, dict):
        return {k: degenerate_value(v, mode) for k, v in value.items()}
    return DegenerateObject(value, mode)


class DegenerateObject:
    """An object that is not data (a loader, a subset): its methods, items and iteration give degenerate values."""

    def __init__(self, inner: Any, mode: str) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_mode", mode)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if callable(value):
            return lambda *args, **kwargs: degenerate_value(value(*args, **kwargs), self._mode)
        return degenerate_value(value, self._mode)

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Any:
        return (degenerate_value(item, self._mode) for item in self._inner)

    def __getitem__(self, index: Any) -> Any:
        return degenerate_value(self._inner[index], self._mode)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return degenerate_value(self._inner(*args, **kwargs), self._mode)


def degenerate_function(fn: Any, mode: str, *, method: bool = False) -> Any:
    """``fn`` replaced by a function with the same signature that computes nothing useful."""
    if method and fn.__name__ == "__init__":
        @functools.wraps(fn)
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            if mode == "raise":
                raise DegenerateError("degenerate baseline: every call raises")
            reference = next(c for c in type(self).__mro__ if vars(c).get("__init__") is fn)
            base = reference.__mro__[1]
            try:
                base.__init__(self)  # e.g. nn.Module's: the object works, holding nothing of the reference's
            except Exception:  # noqa: BLE001 - a base that needs arguments: an empty object all the same
                pass
        return init

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        own = args[1:] if method else args
        first = own[0] if own else next(iter(kwargs.values()), _MISSING)
        if mode == "raise":
            raise DegenerateError("degenerate baseline: every call raises")
        if mode == "identity" and first is not _MISSING:
            return first
        try:
            result = fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - never raise: zeros shaped like the first argument instead
            result = None if first is _MISSING else first
        return degenerate_value(result, "zeros" if mode == "identity" else mode)
    return wrapper


def degenerate_class(cls: type, mode: str, module: str) -> type:
    """A subclass of the reference's class whose own methods are all degenerate."""
    methods = {name: degenerate_function(value, mode, method=True)
               for name, value in vars(cls).items() if inspect.isfunction(value)}
    sub = type(cls.__name__, (cls,), methods)
    sub.__module__, sub.__qualname__ = module, cls.__qualname__
    return sub


def install(module_name: str, reference_source: str, parts: list[str], mode: str) -> None:
    """Define each part in module ``module_name`` as the degenerate form of the reference's."""
    reference = types.ModuleType(f"_degenerate_reference_{module_name}")
    sys.modules[reference.__name__] = reference
    exec(compile(reference_source, f"<reference of {module_name}>", "exec"), reference.__dict__)  # noqa: S102
    target = sys.modules[module_name]
    for name in parts:
        value = getattr(reference, name)
        if isinstance(value, type):
            setattr(target, name, degenerate_class(value, mode, module_name))
        else:
            setattr(target, name, degenerate_function(value, mode))

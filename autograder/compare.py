"""Comparing what the student returned with what was expected, with feedback that helps.

Order matters: exact type first (a rebuilt ``torch.Tensor``; the worker's claim
that it sent a subclass is honoured as a failure), then shape, dtype and
device, and only then values, judged by ``torch.testing.assert_close`` with its
per-dtype tolerances unless a test passes its own. No credit for shape alone.
"""

from __future__ import annotations

from typing import Any

import torch

from autograder.failures import CheckFailed, GradingFailure, StudentError, short_message
from autograder.origins import origin_of
from autograder.values import Remote, describe, describe_call


def _who(actual: Any, fn: str | None) -> tuple[str, str]:
    """The function and the call that returned ``actual``, found from the value itself."""
    origin = origin_of(actual)
    name = fn or (origin.fn if origin and origin.fn else "your function")
    call = origin.call if origin and origin.call else ""
    return name, call


def _details(call: str, *lines: str) -> str:
    head = [f"call: {call}"] if call else []
    return "\n".join(head + [line for line in lines if line])


def _kind(value: Any) -> str:
    if isinstance(value, Remote):
        return f"a {value.short_type} object"
    if isinstance(value, torch.Tensor):
        return "a tensor"
    return f"a {type(value).__name__} ({describe(value)})"


def expect_tensor(actual: Any, *, fn: str | None = None, what: str = "the result") -> torch.Tensor:
    """Fail unless ``actual`` is exactly a ``torch.Tensor`` (no subclass, no other type)."""
    name, call = _who(actual, fn)
    if type(actual) is not torch.Tensor:
        raise CheckFailed(f"{name}: {what} should be a torch.Tensor, got {_kind(actual)}", _details(call),
                          f"{name}: {what} should be a torch.Tensor, got a {value_type(actual)}")
    origin = origin_of(actual)
    if origin is not None and origin.type_name not in ("", "torch.Tensor"):
        raise CheckFailed(f"{name}: {what} is a {origin.type_name}, a subclass of torch.Tensor; "
                          "return a plain torch.Tensor", _details(call))
    return actual


def device_of(actual: torch.Tensor) -> torch.device:
    """The device the worker reported for a returned tensor (grader copies live on the CPU)."""
    origin = origin_of(actual)
    return torch.device(origin.device) if origin is not None and origin.type_name else actual.device


def _same_device(a: torch.device, b: torch.device) -> bool:
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def assert_close(actual: Any, expected: torch.Tensor, *, rtol: float | None = None, atol: float | None = None,
                 equal_nan: bool = False, check_dtype: bool = True, check_device: bool = True,
                 fn: str | None = None, what: str = "the result", dtype_rule: str | None = None) -> None:
    """Type, shape, dtype, device, then values; feedback says what differs and where.

    A wrong dtype is explained by ``dtype_rule`` when the grader gives one, else by the rule the
    assignment's manifest states for the function that returned ``actual`` (its handout's
    words), else not at all: the framework does not guess the contract.
    """
    actual = expect_tensor(actual, fn=fn, what=what)
    name, call = _who(actual, fn)
    if tuple(actual.shape) != tuple(expected.shape):
        raise CheckFailed(f"{name}: {what} has the wrong shape: expected {list(expected.shape)}, "
                          f"got {list(actual.shape)}", _details(call))
    if check_dtype and actual.dtype != expected.dtype:
        origin = origin_of(actual)
        rule = dtype_rule if dtype_rule is not None else (origin.dtype_rule if origin is not None else "")
        raise CheckFailed(f"{name}: {what} has dtype {str(actual.dtype)[6:]}, expected "
                          f"{str(expected.dtype)[6:]}" + (f" ({rule})" if rule else ""), _details(call))
    if check_device and not _same_device(device_of(actual), expected.device):
        raise CheckFailed(f"{name}: {what} is on {device_of(actual)}, expected {expected.device}",
                          _details(call, "outputs stay on the input's device"))
    exp = expected.detach().cpu()
    act = actual.to(exp.dtype) if actual.dtype != exp.dtype else actual
    if not equal_nan and exp.is_floating_point():
        bad = ~torch.isfinite(act) & torch.isfinite(exp)
        if bad.any():
            idx = tuple(int(i) for i in bad.nonzero()[0])
            count = int(bad.sum())
            raise CheckFailed(f"{name}: {what} contains {count} NaN/inf value(s) where finite values were "
                              f"expected (first at index {idx})", _details(call))
    mismatch = _mismatch(act, exp, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if mismatch:
        headline = f"{name}: wrong values in {what}"
        numbers = "; ".join(ln.strip() for ln in mismatch.splitlines()[1:] if ln.strip())
        if float32_signature(act, exp, rtol, atol):
            numbers += f" ({FLOAT32_HINT})"
        failure = CheckFailed(f"{headline}: {numbers}", _details(call, _worst(act, exp)))
        # The parts, for graders that add a hint between them without parsing the text.
        failure.headline, failure.mismatch = headline, numbers
        raise failure from None


def _mismatch(actual: torch.Tensor, expected: torch.Tensor, *, rtol: float | None, atol: float | None,
              equal_nan: bool) -> str:
    """``torch.testing.assert_close``'s value check and message ("" when close), same tolerances and words.

    Called directly because ``torch.testing.assert_close`` imports ``torch.distributed.tensor``
    on its first call (to unwrap DTensors), about 1 s of CPU that `autograder check` paid
    on its critical path; shape, dtype and device are checked above already.
    """
    from torch.testing._comparison import default_tolerances, make_scalar_mismatch_msg, make_tensor_mismatch_msg

    default_rtol, default_atol = default_tolerances(expected)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    matches = torch.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if bool(matches.all()):
        return ""
    if actual.dim() == 0:
        return make_scalar_mismatch_msg(actual.item(), expected.item(), rtol=rtol, atol=atol)
    return make_tensor_mismatch_msg(actual, expected, matches, rtol=rtol, atol=atol)


FLOAT32_HINT = ("the errors are the size of float32 rounding on float64 inputs: most likely some step ran in "
                "float32 (e.g. torch.tensor(a_python_float), a float32 constant or .float()); keep float64 throughout")


def float32_signature(actual: torch.Tensor, expected: torch.Tensor, rtol: float | None,
                      atol: float | None) -> bool:
    """Do float64 results miss float64 tolerances only by what float32 rounding would cost?

    Verified on the numbers, not guessed: every element's error is within a few float32 ulps
    of the values' scale (``atol / rtol``: the size of what was summed), and the worst is far
    beyond float64 rounding. A wrong formula misses by far more than that.
    """
    if actual.dtype != torch.float64 or expected.dtype != torch.float64 or not actual.numel():
        return False
    rtol = 1e-7 if rtol is None else rtol
    atol = 1e-7 if atol is None else atol
    if rtol <= 0:
        return False  # an exact check: the values are not float rounding results
    scale = atol / rtol
    err = (actual - expected).abs()
    bound = 16 * torch.finfo(torch.float32).eps * (expected.abs() + scale)
    if not bool(torch.isfinite(err).all()) or not bool((err <= bound).all()):
        return False
    return bool((err > 1e3 * torch.finfo(torch.float64).eps * (expected.abs() + scale)).any())


def _worst(actual: torch.Tensor, expected: torch.Tensor) -> str:
    if actual.numel() == 0 or not (actual.is_floating_point() or actual.is_complex()):
        diff = (actual != expected)
    else:
        diff = (actual.double() - expected.double()).abs().nan_to_num(float("inf"))
    flat = int(diff.reshape(-1).float().argmax()) if diff.numel() else 0
    if not diff.numel():
        return ""
    idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), tuple(actual.shape)))
    return f"at index {idx}: expected {expected[idx].item():.6g}, got {actual[idx].item():.6g}"


def assert_equal(actual: Any, expected: Any, *, fn: str | None = None, what: str = "the result",
                 call: str | None = None) -> None:
    """Exact equality for plain values (tuples of ints, shapes, bools); types must match too.

    ``call`` names the call that returned ``actual`` when the value cannot say it itself: a
    plain int such as ``len(dataset)`` has no recorded origin (small ints are shared objects).
    """
    name = fn or "your function"
    if isinstance(expected, torch.Tensor):
        assert_close(actual, expected, rtol=0, atol=0, fn=fn, what=what)
        return
    if isinstance(expected, (tuple, list)) and isinstance(actual, (tuple, list)):
        if type(expected) is tuple and type(actual) is not tuple:
            raise CheckFailed(f"{name}: {what} should be a tuple, got a {type(actual).__name__}")
        if len(actual) == len(expected) and all(type(a) is type(e) or _both_int(a, e)
                                                for a, e in zip(actual, expected)) and actual == expected:
            return
    elif type(actual) is type(expected) and actual == expected:
        return
    raise CheckFailed(f"{name}: {what} is wrong",
                      _details(call or _who(actual, fn)[1], f"expected {describe(expected)}, got {describe(actual)}"))


def _both_int(a: Any, b: Any) -> bool:
    return type(a) is int and type(b) is int


def assert_raises(error: str, fn: Any, *args: Any, **kwargs: Any) -> StudentError:
    """Call ``fn`` (a student function) and require it to raise ``error`` (a builtin name)."""
    label = getattr(fn, "_label", "your function")
    try:
        result = fn(*args, **kwargs)
    except StudentError as exc:
        if exc.is_a(error):
            return exc
        if exc.kind == "not_implemented":
            raise  # the stub: said as "not implemented", not as a wrong exception
        raise CheckFailed(f"{label} raised {exc.type_name} where {error} was expected: {exc.message}",
                          exc.details, f"{label} raised {exc.type_name} where {error} was expected: "
                          f"{short_message(exc.message)}") from None
    kind = f"a {value_type(result)}"
    raise CheckFailed(f"{label} should raise {error} for these inputs, but it returned {kind}",
                      f"call: {describe_call(label, args, kwargs)}\nreturned: {describe(result)}")


def value_type(value: Any) -> str:
    if isinstance(value, Remote):
        return value.short_type
    return "tensor" if isinstance(value, torch.Tensor) else type(value).__name__


def unpack(value: Any, n: int, *, fn: str, what: str = "the result") -> tuple:
    """Require a tuple (or list) of exactly ``n`` items."""
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise CheckFailed(f"{fn}: {what} should be a tuple of {n} items, got {_kind(value)}", "",
                          f"{fn}: {what} should be a tuple of {n} items, got a {value_type(value)}")
    return tuple(value)


__all__ = ["assert_close", "assert_equal", "assert_raises", "device_of", "expect_tensor", "unpack",
           "GradingFailure", "CheckFailed"]

"""Performance grading: the student's time over the reference's, on the same inputs, fairly.

Protocol (one timed function):

1. Both sides run in sandboxed workers with the same limits and thread count;
   the reference is trusted but gets no special treatment.
2. The empty round trip to each worker is measured and later subtracted
   (never more than half of a call's time, so a load spike while measuring it
   cannot turn a call into nothing).
3. Every sample draws fresh inputs from a seed chosen by the grader at that
   moment (``secrets``), so nothing can be cached or replayed.
4. Samples alternate ABBA between student and reference; the worker not being
   timed is frozen with SIGSTOP, so its background threads cannot steal time.
5. The decisive clock is the grader's ``perf_counter`` around the round trip
   (student code cannot reach it); the worker's own report is a cross-check.
   The worker reduces outputs to checksums inside the timed region, and a
   random subset of outputs, chosen after they ran, is compared in full with
   the reference's.
6. Each sample pairs the two sides on the same inputs, back to back, so slow
   drifts in machine load cancel; sampling stops when the per-pair ratios are
   stable (IQR/median under a bound), the verdict is already certain (a quarter
   of the ratios at 1.5x ``zero_at`` or more, or three quarters at ``full_at`` / 1.5
   or less), or a time cap is hit (after at least three timed pairs). The median
   of the per-pair ratios decides.
"""

from __future__ import annotations

import math
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from autograder.failures import CallTimeout, CheckFailed, ForbiddenCallError, GradingFailure, StudentError
from autograder.manifest import Timed
from autograder.sandbox import protocol

MakeInputs = Callable[..., tuple[tuple, dict]]


@dataclass
class TimingResult:
    part: str
    ratio: float
    student_s: float
    reference_s: float
    samples: int
    spread_ratio: float
    spread_reference: float
    overhead_s: float
    clock_gap: float
    stopped_because: str
    fraction: float = 0.0
    checked: int = 0
    times: dict[str, list[float]] = field(default_factory=dict)

    def note(self, spec: Timed) -> str:
        return (f"{self.part}: {self.ratio:.2f}x the reference's time (median of {self.samples} runs each; "
                f"full points at <= {spec.full_at:g}x, none at >= {spec.zero_at:g}x) -> "
                f"{self.fraction:.0%} of the performance points")


def score_fraction(ratio: float, full_at: float, zero_at: float) -> float:
    """1 at or below ``full_at``, 0 at or above ``zero_at``, linear in log(ratio) between."""
    if ratio <= full_at:
        return 1.0
    if ratio >= zero_at:
        return 0.0
    return (math.log(zero_at) - math.log(ratio)) / (math.log(zero_at) - math.log(full_at))


def _spread(xs: list[float]) -> float:
    if len(xs) < 4:
        return float("inf")
    q = statistics.quantiles(xs, n=4)
    return (q[2] - q[0]) / max(statistics.median(xs), 1e-12)


class Side:
    """One worker (student or reference) seen through the bench protocol."""

    def __init__(self, session: Any, name: str, part: str, target: dict[str, Any] | None = None) -> None:
        self.session, self.name, self.part = session, name, part
        self.target = target or {"attr": part}
        self.times: list[float] = []
        self.worker_times: list[float] = []

    def _request(self, header: dict[str, Any], buffers: list[Any] = (), timeout: float = 60.0) -> Any:
        try:
            reply, bufs = self.session.request(dict(header, op="bench"), buffers, timeout=timeout, label=self.part,
                                               call_text=f"{self.part}(timing inputs)")
        except CallTimeout:
            raise GradingFailure(f"{self.part} did not finish within {timeout:g} s while being timed") from None
        except ForbiddenCallError:
            raise
        except GradingFailure as exc:  # the worker ended, or could not be (re)started
            self.session.restart()
            raise GradingFailure(f"{self.part} ended the worker while being timed ({exc.summary})") from None
        if not reply.get("ok"):
            raise StudentError(self.part, f"{self.part}(timing inputs)", reply.get("error") or {})
        return reply, bufs

    def noop(self) -> float:
        start = time.perf_counter()
        self._request({"phase": "noop"})
        return time.perf_counter() - start

    def prepare(self, slot: int, args: tuple, kwargs: dict) -> None:
        enc = protocol.Encoder()
        header = {"phase": "prepare", "slot": slot, "args": enc.encode(list(args)), "kwargs": enc.encode(kwargs)}
        self._request(header, enc.buffers)

    def run(self, slot: int, timeout: float, forbidden: list[str]) -> tuple[float, list[float]]:
        header = {"phase": "run", "slot": slot, "target": self.target, "forbidden": forbidden}
        start = time.perf_counter()
        reply, _ = self._request(header, timeout=timeout)
        elapsed = time.perf_counter() - start
        worker_s = reply.get("elapsed")
        if isinstance(worker_s, (int, float)):
            self.worker_times.append(float(worker_s))
        sums = reply.get("checksum")
        return elapsed, [float(x) for x in sums] if isinstance(sums, list) else []

    def fetch(self, slot: int) -> Any:
        reply, bufs = self._request({"phase": "fetch", "slot": slot})
        return self.session.decoder(bufs).decode(reply.get("value"))

    def clear(self) -> None:
        self._request({"phase": "clear"})

    def freeze(self) -> None:
        self.session.freeze()

    def thaw(self) -> None:
        self.session.thaw()


def _to_device(value: Any, device: str) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, tuple):
        return tuple(_to_device(v, device) for v in value)
    if isinstance(value, list):
        return [_to_device(v, device) for v in value]
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value


def _ratios(student: list[float], reference: list[float]) -> list[float]:
    return [s / r for s, r in zip(student, reference)]


def _should_stop(student: list[float], reference: list[float], spec: Timed, elapsed: float) -> str:
    n = len(student)
    if elapsed > spec.max_seconds and n >= 3:  # a verdict needs a few timed pairs, however slow they are
        return "time cap"
    if n >= spec.max_samples:
        return "sample limit"
    if n < spec.min_samples:
        return ""
    ratios = _ratios(student, reference)
    if _spread(ratios) < spec.stability:
        return "stable"
    if sorted(ratios)[n // 4] >= 1.5 * spec.zero_at:
        return "verdict certain (far too slow)"
    if sorted(ratios)[(3 * n) // 4] <= spec.full_at / 1.5:
        return "verdict certain (well within full points)"
    return ""


def _checksums_agree(a: list[float], b: list[float], rtol: float) -> bool:
    if len(a) != len(b):
        return False
    for i in range(0, len(a), 2):
        scale = abs(b[i + 1]) + 1.0
        if not (math.isfinite(a[i]) and abs(a[i] - b[i]) <= rtol * scale and abs(a[i + 1] - b[i + 1]) <= rtol * scale):
            return False
    return True


def compare(student: Any, reference: Any, spec: Timed, make_inputs: MakeInputs, sizes: dict[str, int], *,
            device: str, forbidden: list[str], timeout: float,
            check: Callable[[Any, Any], None], checksum_rtol: float = 1e-3,
            build: Callable[..., Any] | None = None) -> TimingResult:
    """Time ``spec.part`` for the student against the reference; see the module docstring.

    With ``build``, the timed callable is an object made in each worker (a module
    with loaded weights, say): ``build(module_proxy, **sizes)`` returns a remote
    object, and calling it (``obj(*args)``, e.g. ``nn.Module.__call__``) is timed.
    """
    sides = [Side(student, "student", spec.part), Side(reference, "reference", spec.part)]
    for side in sides:
        side.session.ensure()  # start both workers before anything is timed
    if build is not None:
        from autograder.student import RemoteObject, StudentModule

        for side in sides:
            obj = build(StudentModule(side.session), **sizes)
            if not isinstance(obj, RemoteObject):
                raise CheckFailed(f"{spec.part}: the object to time could not be built in the worker "
                                  f"(got {type(obj).__name__})")
            side.target = obj.remote_target()
    overheads = {}
    for side, other in (sides, sides[::-1]):
        other.freeze()
        overheads[side.name] = statistics.median(side.noop() for _ in range(15))
        other.thaw()
    started = time.monotonic()
    checked, stop = 0, ""
    for i in range(spec.warmup + spec.max_samples):
        seed = secrets.randbits(63)
        args, kwargs = make_inputs(torch.Generator().manual_seed(seed), **sizes)
        args, kwargs = _to_device(args, device), _to_device(kwargs, device)
        order = sides if i % 4 in (0, 3) else sides[::-1]  # ABBA
        sums: dict[str, list[float]] = {}
        for side in order:
            other = sides[1] if side is sides[0] else sides[0]
            other.freeze()
            try:
                side.prepare(i, args, kwargs)
                elapsed, sums[side.name] = side.run(i, timeout, forbidden)
            finally:
                other.thaw()
            if i >= spec.warmup:  # an overhead estimate inflated by load may not wipe out the call itself
                side.times.append(max(elapsed - overheads[side.name], 0.5 * elapsed))
        if not _checksums_agree(sums["student"], sums["reference"], checksum_rtol):
            raise CheckFailed(f"{spec.part}: outputs produced while being timed differ from the reference's "
                              "(timed results are checked too)")
        stop = _should_stop(sides[0].times, sides[1].times, spec, time.monotonic() - started)
        timed = i >= spec.warmup
        if not timed or secrets.randbelow(3) == 0 or (stop and checked < 2):
            check(sides[0].fetch(i), sides[1].fetch(i))  # which samples get checked is decided after they ran
            checked += int(timed)
        for side in sides:
            side.clear()
        if stop and (checked >= 2 or stop == "time cap"):
            break
    s_med = statistics.median(sides[0].times)
    r_med = statistics.median(sides[1].times)
    ratios = _ratios(sides[0].times, sides[1].times)
    ratio = statistics.median(ratios)
    gap = 0.0
    if sides[0].worker_times:
        gap = abs(statistics.median(sides[0].worker_times) - s_med) / s_med
    result = TimingResult(spec.part, ratio, s_med, r_med, len(sides[0].times), _spread(ratios),
                          _spread(sides[1].times), overheads["student"], gap, stop or "sample limit",
                          checked=checked,
                          times={"student": sides[0].times, "reference": sides[1].times})
    result.fraction = score_fraction(ratio, spec.full_at, spec.zero_at)
    return result

"""Forbidden calls, enforced inside the worker before student code is imported.

Three layers, because a student can reach a library function many ways:

1. **Python tripwires.** Every public module attribute that *is* a forbidden
   object (``torch.conv2d`` is ``torch.nn.functional.conv2d``; aliases and
   re-exports are the same object) is replaced by a wrapper. The wrapper fires
   only while the part being graded forbids that name and only when its
   immediate caller is the student's own code, so torch internals that use the
   function for an allowed operation are unaffected. Aliases, ``getattr`` and
   ``importlib`` all end at the patched attribute.
2. **Dispatcher kernels** (``dispatch_bans.py``). Assignment-wide bans name aten operators (``aten``
   patterns in the manifest); a checking kernel is registered for each, so
   ``torch.ops.aten.convolution``, ``torch._C._nn.thnn_conv2d`` and any other
   route into the operator trip as well. It lets the framework's own computing
   code in the worker through to the real kernel (decoding inputs, a grader
   helper's ``F.cross_entropy`` when softmax is banned); any other caller trips.
3. **Autograd engine.** When autograd is banned, the engine entry points are
   wrapped and a saved-tensor unpack hook records any backward pass, whichever
   API started it (again, except the framework's own).

Every trip is recorded (and reported to the grader with the call's reply) and
raises ``ForbiddenCall``, a ``BaseException`` so ``except Exception`` fallbacks
do not swallow it. This layer runs in the student's own process, so it stops
honest mistakes and casual cheating; the threat model in the README says what
it cannot stop.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import types
from collections.abc import Callable
from typing import Any

from autograder.sandbox import dispatch_bans

VIOLATIONS: list[dict[str, Any]] = []
_ACTIVE: set[str] = set()
_STUDENT_DIRS: tuple[str, ...] = ()
_ALARM: Callable[[dict[str, Any]], None] | None = None
_TRANSPARENT = ("functools", "operator", "importlib", "<frozen")
_KEEP_ALIVE: list[Any] = []


class ForbiddenCall(BaseException):
    """Raised in student code that calls a function the assignment forbids."""


def set_active(names: set[str]) -> None:
    """Names forbidden for the part being called now (the rest pass through)."""
    _ACTIVE.clear()
    _ACTIVE.update(names)
    _MODE.sync(any(n in _ACTIVE for n in _MODE_NAMES.values()))


def take_violations() -> list[dict[str, Any]]:
    out = list(VIOLATIONS)
    VIOLATIONS.clear()
    return out


def _student_frame(depth: int = 2) -> Any:
    """The nearest caller outside transparent stdlib helpers, if it is student code."""
    frame = sys._getframe(depth)
    while frame is not None and frame.f_code.co_filename.startswith(_TRANSPARENT):
        frame = frame.f_back
    while frame is not None and "/importlib/" in frame.f_code.co_filename:
        frame = frame.f_back
    if frame is not None and frame.f_code.co_filename.startswith(_STUDENT_DIRS):
        return frame
    return None


def _trip(name: str, via: str, frame: Any) -> None:
    where = ""
    if frame is not None:
        where = f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}"
    record = {"name": name, "via": via, "where": where}
    VIOLATIONS.append(record)
    if _ALARM is not None:
        _ALARM(record)
    raise ForbiddenCall(f"{name} is forbidden in this part of the assignment")


def _tripwire(name: str, original: Any) -> Any:
    if isinstance(original, type):
        return _class_tripwire(name, original)

    @functools.wraps(original)
    def tripwire(*args: Any, **kwargs: Any) -> Any:
        if name in _ACTIVE:
            frame = _student_frame()
            if frame is not None:
                _trip(name, name, frame)
        return original(*args, **kwargs)

    tripwire.__ag_tripwire__ = original  # type: ignore[attr-defined]
    return tripwire


def _class_tripwire(name: str, cls: type) -> type:
    """The class itself, its ``__init__`` made to trip when student code constructs it.

    Patched in place, not wrapped in a subclass: every route to the class is the same
    object (``Adam.__mro__``, ``type(optimizer)``, a module-level alias), so none skips the
    check. A torch class that subclasses it and calls ``super().__init__`` passes (its
    caller is torch); a student subclass trips on construction.
    """
    original_init = cls.__init__

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if name in _ACTIVE:
            frame = _student_frame()
            if frame is not None:
                _trip(name, name, frame)
        original_init(self, *args, **kwargs)

    try:
        cls.__init__ = __init__  # type: ignore[misc]
    except TypeError:  # an immutable C type (numpy.broadcast): wrap it as a function instead
        return _tripwire(name, functools.wraps(cls)(lambda *a, **k: cls(*a, **k)))
    _KEEP_ALIVE.append(__init__)
    return cls


def _resolve(dotted: str) -> tuple[Any, str, Any]:
    """(owner, attribute, object) for a dotted name such as ``torch.Tensor.expand``."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ImportError(dotted)


def _public_modules(top: str) -> list[types.ModuleType]:
    return [
        m for n, m in list(sys.modules.items())
        if isinstance(m, types.ModuleType) and (n == top or n.startswith(top + "."))
        and not any(p.startswith("_") for p in n.split(".")[1:])
    ] + [m for n, m in list(sys.modules.items()) if n in ("torch._VF", "torch._C._nn", "torch._C._linalg")
         and isinstance(m, types.ModuleType)]


def install_python(names: list[str]) -> list[str]:
    """Replace every public alias of each forbidden object; returns names not found."""
    missing = []
    for dotted in names:
        try:
            owner, attr, original = _resolve(dotted)
        except (ImportError, AttributeError):
            missing.append(dotted)
            continue
        wrapper = _tripwire(dotted, original)
        _KEEP_ALIVE.append(wrapper)
        _register_mode_names(dotted)
        _setattr(owner, attr, wrapper)
        top = dotted.split(".")[0]
        for module in _public_modules(top):
            for key, value in list(vars(module).items()):
                if value is original and not key.startswith("__"):
                    _setattr(module, key, wrapper)
        if isinstance(owner, type) and hasattr(original, "__name__"):
            _patch_ops_packet(dotted, original)
    return missing


def _setattr(owner: Any, attr: str, value: Any) -> None:
    try:
        setattr(owner, attr, value)
    except (AttributeError, TypeError):
        pass


class _PacketTrip:
    """Stands in for ``torch.ops.aten.<op>`` and each of its overloads (``.default``)."""

    def __init__(self, name: str, target: Any) -> None:
        self._name, self._target = name, target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._name in _ACTIVE:
            frame = _student_frame()
            if frame is not None:
                _trip(self._name, f"torch.ops.aten.{getattr(self._target, '__name__', '?')}", frame)
        return self._target(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        return _PacketTrip(self._name, value) if callable(value) and not attr.startswith("_") else value


def _patch_ops_packet(dotted: str, original: Any) -> None:
    """``torch.ops.aten.expand`` reaches a Tensor method's operator directly: wrap the packet."""
    try:
        import torch

        packet = getattr(torch.ops.aten, original.__name__)
    except (ImportError, AttributeError, RuntimeError):
        return
    _setattr(torch.ops.aten, original.__name__, _PacketTrip(dotted, packet))


_MODE_NAMES: dict[str, str] = {}
_SKIP_FRAMES = ("/torch/_ops.py", "/torch/overrides.py", "/torch/_tensor.py")


class _ModeSwitch:
    """A TorchFunctionMode, entered only while a part bans torch functions.

    Private entry points (``torch._C.TensorBase.expand``, ``torch._C._VariableFunctions``)
    cannot be patched, but they still announce themselves to torch-function modes.
    """

    def __init__(self) -> None:
        self.mode: Any = None
        self.entered = False

    def sync(self, want: bool) -> None:
        if want == self.entered or not _MODE_NAMES:
            return
        if self.mode is None:
            self.mode = _make_mode()
        if want:
            self.mode.__enter__()
        else:
            self.mode.__exit__(None, None, None)
        self.entered = want


def _make_mode() -> Any:
    from torch.overrides import TorchFunctionMode

    class BanMode(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            name = str(getattr(func, "__name__", "")).split(".")[0]
            dotted = _MODE_NAMES.get(name)
            if dotted is not None and dotted in _ACTIVE:
                frame = sys._getframe(1)
                while frame is not None and frame.f_code.co_filename.endswith(_SKIP_FRAMES):
                    frame = frame.f_back
                if frame is not None and frame.f_code.co_filename.startswith(_STUDENT_DIRS):
                    _trip(dotted, f"{name} (torch function)", frame)
            return func(*args, **(kwargs or {}))

    return BanMode()


_MODE = _ModeSwitch()


def _register_mode_names(dotted: str) -> None:
    parts = dotted.split(".")
    if parts[0] != "torch":
        return
    _MODE_NAMES[parts[-1]] = dotted
    if len(parts) == 3 and parts[1] in ("linalg", "fft", "special"):
        _MODE_NAMES[f"{parts[1]}_{parts[-1]}"] = dotted


def _nearest_student(frame: Any) -> Any:
    while frame is not None and not frame.f_code.co_filename.startswith(_STUDENT_DIRS):
        frame = frame.f_back
    return frame


AUTOGRAD_NAMES = [
    "torch.Tensor.backward", "torch.autograd.grad", "torch.autograd.backward",
    "torch.autograd.functional.jacobian", "torch.autograd.functional.hessian",
    "torch.autograd.functional.vjp", "torch.autograd.functional.jvp",
    "torch.autograd.functional.vhp", "torch.autograd.functional.hvp",
]
FUNC_NAMES = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize"]


def install_autograd() -> None:
    """Ban autograd however it is started: API wrappers plus an engine-level hook."""
    import torch

    names = AUTOGRAD_NAMES + [f"torch.func.{n}" for n in FUNC_NAMES]
    install_python(names)
    _ACTIVE_ALWAYS.update(names)

    def pack(t: Any) -> Any:
        return t

    def unpack(t: Any) -> Any:
        if "autograd" in _ACTIVE and not dispatch_bans.framework_caller(sys._getframe(1)):
            _trip("autograd (a backward pass)", "autograd engine", _nearest_student(sys._getframe(1)))
        return t

    torch._C._autograd._push_saved_tensors_default_hooks(pack, unpack)
    _KEEP_ALIVE.extend([pack, unpack])
    _ACTIVE_ALWAYS.add("autograd")


_ACTIVE_ALWAYS: set[str] = set()


def always_active() -> set[str]:
    """Names banned for every part (autograd): merged into each call's active set."""
    return set(_ACTIVE_ALWAYS)


def configure(student_dirs: list[str], alarm: Callable[[dict[str, Any]], None] | None) -> None:
    """Where student code lives (for caller checks) and where trips are reported."""
    global _STUDENT_DIRS, _ALARM
    _STUDENT_DIRS = tuple(d.rstrip("/") + "/" for d in student_dirs)
    _ALARM = alarm


def install(spec: dict[str, Any], student_dirs: list[str],
            alarm: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Install all layers from the worker config's ``forbidden`` section."""
    dispatch_bans.prepare(os.path.abspath(__file__))
    configure(student_dirs, alarm)
    report: dict[str, Any] = {"missing": [], "aten": []}
    names = sorted(set(spec.get("python", [])))
    if names:
        report["missing"] = install_python(names)
    if spec.get("aten"):
        report["aten"] = dispatch_bans.install_aten(spec["aten"], _trip, _nearest_student, _KEEP_ALIVE)
    if spec.get("autograd"):
        install_autograd()
    return report

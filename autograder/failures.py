"""Why a test failed, in words a student can act on.

Every failure has a ``summary`` that is safe to show for hidden tests (which
function, what kind of problem, how large the error) and ``details`` shown only
for visible tests (input shapes, expected and received values, where).
"""

from __future__ import annotations

SHORT_MESSAGE = 80


def short_message(message: str) -> str:
    """The first line of a student's exception text, at most ``SHORT_MESSAGE`` characters.

    All a hidden test shows of it: a submission that prints its inputs into an
    exception must not carry hidden inputs out through the feedback.
    """
    lines = message.strip().splitlines()
    line = lines[0].strip() if lines else ""
    more = len(lines) > 1 or len(line) > SHORT_MESSAGE
    return line[:SHORT_MESSAGE] + (" [...]" if more else "")


class GradingFailure(AssertionError):
    """A test failed because of the submission (never a framework error)."""

    kind = "wrong"

    def __init__(self, summary: str, details: str = "", hidden_summary: str | None = None) -> None:
        super().__init__(summary if not details else f"{summary}\n{details}")
        self.summary = summary
        self.details = details
        self.hidden_summary = summary if hidden_summary is None else hidden_summary

    def render(self, hidden: bool) -> str:
        if hidden:
            return self.hidden_summary
        if not self.details:
            return self.summary
        return f"{self.summary}\n{self.details}"


class CheckFailed(GradingFailure):
    """A value was wrong: type, shape, dtype, device or numbers."""


class StudentError(GradingFailure):
    """The student's code raised an exception."""

    kind = "error"

    def __init__(self, fn: str, call: str, error: dict) -> None:
        self.type_name = str(error.get("type", "Exception"))[:100]
        self.mro = [str(x) for x in error.get("mro", [])][:20]
        self.message = str(error.get("message", ""))[:2000]
        tb = error.get("traceback") or []
        where = ""
        if tb and isinstance(tb[-1], list) and len(tb[-1]) >= 3:
            where = f" (at {tb[-1][0]}:{tb[-1][1]} in {tb[-1][2]})"
        if "MemoryError" in self.mro or "can't allocate memory" in self.message or "out of memory" in self.message:
            self.kind = "memory"
        if self.type_name == "NotImplementedError":  # the stub: one line, no call, no traceback
            self.kind = "not_implemented"
            super().__init__(f"{fn} is not implemented yet (raises NotImplementedError)")
            return
        summary = f"{fn} raised {self.type_name}: {self.message}".rstrip(": ") + where
        hidden_summary = f"{fn} raised {self.type_name}: {short_message(self.message)}".rstrip(": ") + where
        details = f"call: {call}"
        lines = [f"  {f[0]}:{f[1]} in {f[2]}: {f[3]}" for f in tb if isinstance(f, list) and len(f) == 4]
        if lines:
            details = (details + "\n" if details else "") + "traceback (your code):\n" + "\n".join(lines[-6:])
        super().__init__(summary, details, hidden_summary)

    def is_a(self, name: str) -> bool:
        return name in self.mro


class ForbiddenCallError(GradingFailure):
    kind = "forbidden"

    def __init__(self, fn: str, violations: list[dict]) -> None:
        names = sorted({str(v.get("name", "?"))[:120] for v in violations})
        where = sorted({str(v.get("where", ""))[:120] for v in violations if v.get("where")})
        summary = f"{fn} used a forbidden call: {', '.join(names)} (scores 0 in this test)"
        details = f"called from {', '.join(where)}" if where else ""
        super().__init__(summary, details)
        self.names = names


class CallTimeout(GradingFailure):
    kind = "timeout"

    def __init__(self, fn: str, call: str, seconds: float, repeated: bool = False) -> None:
        if repeated:
            super().__init__(f"{fn} was not run again: it already timed out twice", f"call: {call}")
        else:
            super().__init__(f"{fn} did not finish within {seconds:g} s (stopped; the rest is still graded)",
                             f"call: {call}")


class WorkerCrashed(GradingFailure):
    kind = "crash"

    def __init__(self, fn: str, call: str, status: str, output: str = "") -> None:
        hint = ""
        if "SIGKILL" in status or "MemoryError" in output or "bad_alloc" in output:
            hint = " (most likely out of memory)"
            self.kind = "memory"
        elif "SIGSEGV" in status or "SIGBUS" in status or "SIGABRT" in status:
            hint = " (a crash in native code)"
        details = f"call: {call}"
        if output.strip():
            details += f"\nlast output of your code:\n{output[-1500:]}"
        super().__init__(f"{fn} ended the worker process ({status}){hint}", details)


class ImportFailure(GradingFailure):
    kind = "import"

    def __init__(self, summary: str, details: str = "") -> None:
        super().__init__(summary, details)


class MissingName(GradingFailure, AttributeError):
    """Also an AttributeError, so ``getattr(student, name, default)`` works for tools that probe."""

    kind = "missing"

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module} does not define {name}")


class InputMutated(GradingFailure):
    kind = "mutated"

    def __init__(self, fn: str, call: str, which: str) -> None:
        super().__init__(f"{fn} modified its input {which} in place (inputs must not be modified)",
                         f"call: {call}")


class GradingStopped(GradingFailure):
    kind = "timeout"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)

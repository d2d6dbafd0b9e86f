"""The ``student`` object graders call: proxies whose every call runs in the worker.

``student.expand_to(x, (3, 4))`` sends ``x`` as raw bytes, runs the student's
function in the sandbox under the part's forbidden list and timeout, and
rebuilds the reply as fresh grader-side values (``StudentSession.call``).
Objects that are not plain data (a Dataset, a Module) stay in the worker and
come back as ``RemoteObject`` handles whose methods are calls again.
"""

from __future__ import annotations

from typing import Any

from autograder.failures import GradingFailure, MissingName
from autograder.sandbox import protocol
from autograder.session import StudentSession
from autograder.values import Remote, describe


class RemoteCallable:
    """A function, class or bound method that lives in the worker."""

    def __init__(self, session: StudentSession, target: dict[str, Any], label: str, part: str | None) -> None:
        self._session, self._target, self._label, self._part = session, target, label, part

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs)

    def call(self, *args: Any, _timeout: float | None = None, _want: str = "value",
             _check_inputs: bool = True, **kwargs: Any) -> Any:
        """Like calling it, with options: a timeout, ``_want="handle"``, no input check."""
        return self._session.call(self._target, args, kwargs, label=self._label, part=self._part,
                                  make_handle=handle_maker(self._session, self._part),
                                  timeout=_timeout, want=_want, check_inputs=_check_inputs)

    def __repr__(self) -> str:
        return f"<student {self._label}>"


def handle_maker(session: StudentSession, part: str | None) -> Any:
    """How a session turns a handle in a reply into a ``RemoteObject`` for ``part``."""
    generation = session.generation

    def make(handle_id: int, type_name: str) -> RemoteObject:
        return RemoteObject(session, handle_id, type_name, part, generation)

    return make


class RemoteObject(Remote):
    """An object that stays in the worker; attribute access gives remote methods."""

    def __init__(self, session: StudentSession, handle_id: int, type_name: str, part: str | None,
                 generation: int) -> None:
        self._session, self._id, self.type_name = session, handle_id, type_name
        self._part, self._generation = part, generation

    def remote_target(self, attr: str | None = None) -> dict[str, Any]:
        """The request target naming this object (or its attribute ``attr``) in the worker."""
        if self._generation != self._session.generation:
            raise GradingFailure(f"a {self.short_type} object was lost when the worker was restarted "
                                 "after an earlier crash or timeout")
        target: dict[str, Any] = {"handle": self._id}
        if attr is not None:
            target["attr"] = attr
        return target

    def _builtin(self, name: str, *args: Any, label: str) -> Any:
        self.remote_target()
        return self._session.call({"builtin": name}, (protocol.Handle(self._id), *args), {}, label=label,
                                  part=self._part, make_handle=handle_maker(self._session, self._part),
                                  check_inputs=False)

    def __getattr__(self, name: str) -> RemoteCallable:
        if name.startswith(("_", "hypothesis_")):
            raise AttributeError(name)
        return RemoteCallable(self._session, self.remote_target(name), f"{self.short_type}.{name}", self._part)

    def method(self, name: str) -> RemoteCallable:
        """A remote method, including dunder methods such as ``__getitem__``."""
        return RemoteCallable(self._session, self.remote_target(name), f"{self.short_type}.{name}", self._part)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return RemoteCallable(self._session, self.remote_target(), f"{self.short_type}(...)", self._part)(
            *args, **kwargs)

    def attr(self, name: str) -> Any:
        """The value of a plain attribute (``subset.indices``)."""
        return self._builtin("getattr", name, label=f"{self.short_type}.{name}")

    def length(self) -> Any:
        """``len(obj)`` as the student's code answers it (may be any value)."""
        return self._builtin("len", label=f"len({self.short_type})")

    def __len__(self) -> int:
        n = self.length()
        if type(n) is not int or n < 0:
            raise GradingFailure(f"len() of a {self.short_type} returned {describe(n)}, not a non-negative int")
        return n

    def __getitem__(self, index: Any) -> Any:
        return self.method("__getitem__")(index)

    def items(self, limit: int = 100_000) -> list[Any]:
        """``list(obj)``: iterate in the worker, return every item."""
        return self._builtin("list", limit, label=f"iterating a {self.short_type}")

    def __iter__(self) -> Any:
        return iter(self.items())

    def isinstance_of(self, kind: str) -> bool:
        return self._builtin("isinstance", kind, label=f"isinstance({self.short_type}, {kind})") is True

    @property
    def handle(self) -> protocol.Handle:
        self.remote_target()
        return protocol.Handle(self._id)

    def __repr__(self) -> str:
        return f"<remote {self.type_name}>"


class StudentModule:
    """What a grader sees as ``student``: the submission's top-level names."""

    def __init__(self, session: StudentSession) -> None:
        self._session = session

    def _names(self) -> dict[str, str]:
        self._session.ensure()
        return self._session.names

    def __getattr__(self, name: str) -> RemoteCallable:
        if name.startswith("_"):
            raise AttributeError(name)
        names = self._names()
        if name not in names:
            raise MissingName(self._session.manifest.submission_file, name)
        return RemoteCallable(self._session, {"attr": name}, name, name)

    def defines(self, name: str) -> bool:
        return name in self._names()

    def __repr__(self) -> str:
        return f"<student module {self._session.module_name}>"

"""The worker: runs inside the sandbox, imports the submission, answers calls.

Started as ``python -I -S worker.py CONFIG_JSON``. It sets its rlimits and drops
privileges first, imports torch, installs the forbidden-call guards, then serves requests read
from one pipe and writes replies to another (``protocol.py``). Everything it
sends is untrusted by the grader: student code shares this process and could
rewrite any of it, which is why the grader checks values, never claims.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any

BUILTINS = ("len", "list", "iter", "next", "getattr", "isinstance", "type_name", "dir")
ISINSTANCE_TYPES = {
    "Dataset": "torch.utils.data.Dataset",
    "DataLoader": "torch.utils.data.DataLoader",
    "Subset": "torch.utils.data.Subset",
    "Module": "torch.nn.Module",
    "Linear": "torch.nn.Linear",
    "Tensor": "torch.Tensor",
}
MAX_LIST = 100_000


def drop_privileges(uid: int | None, gid: int | None) -> None:
    """Become the sandbox user before touching anything the student controls."""
    if uid is None or os.getuid() != 0:
        return
    os.setgroups([])
    os.setgid(gid if gid is not None else uid)
    os.setuid(uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("could not drop privileges")


class Worker:
    """Holds the student's module and the objects the grader has handles to."""

    def __init__(self, config: dict[str, Any], rfd: int, wfd: int) -> None:
        from autograder.sandbox import guards, protocol

        self.protocol, self.guards = protocol, guards
        self.config = config
        self.rfd, self.wfd = rfd, wfd
        self.module: Any = None
        self.objects: dict[int, Any] = {}
        self.next_id = 1

    # ------------------------------------------------------------ messages

    def send(self, header: dict[str, Any], buffers: list[Any] = ()) -> None:
        self.protocol.write_message(self.wfd, header, list(buffers))

    def alarm(self, record: dict[str, Any]) -> None:
        """Report a forbidden call the moment it happens, not only with the reply."""
        try:
            self.send({"kind": "alarm", "violation": record})
        except OSError:
            pass

    def serve(self) -> None:
        while True:
            try:
                header, buffers = self.protocol.read_message(self.rfd)
            except self.protocol.ChannelClosed:
                return
            if header.get("op") == "exit":
                return
            reply, out_buffers = self.handle(header, buffers)
            _flush_std()
            reply.update(kind="reply", id=header.get("id"))
            self.send(reply, out_buffers)

    # ------------------------------------------------------------ dispatch

    def handle(self, req: dict[str, Any], buffers: list[bytearray]) -> tuple[dict[str, Any], list[Any]]:
        op = req.get("op")
        try:
            if op == "ping":
                return {"ok": True, "value": req.get("value"), "t": time.perf_counter()}, []
            if op == "hello":
                return {"ok": True, "value": self.hello()}, []
            if op == "import":
                return self.do_import(req)
            if op == "call":
                return self.do_call(req, buffers)
            if op == "release":
                ids = req.get("ids")
                if ids == "all":
                    self.objects.clear()
                else:
                    for i in ids or []:
                        self.objects.pop(i, None)
                return {"ok": True, "value": None}, []
            if op == "bench":
                from autograder.sandbox.bench import run_bench

                return run_bench(self, req, buffers)
            return {"ok": False, "error": {"type": "ProtocolError", "message": f"unknown op {op!r}"}}, []
        except self.protocol.ProtocolError as exc:
            return {"ok": False, "error": {"type": "ProtocolError", "message": str(exc)}}, []

    def hello(self) -> dict[str, Any]:
        import torch

        return {
            "pid": os.getpid(), "uid": os.getuid(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cuda": torch.cuda.is_available(),
            "guards": self.config.get("guard_report", {}),
            "weaker_limits": list(self.config.get("weaker_limits", [])),
        }

    def do_import(self, req: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        import importlib

        name = req["module"]
        self.guards.set_active(set(req.get("forbidden", [])) | self.guards.always_active())
        self.guards.take_violations()
        try:
            self.module = importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - a submission may raise anything
            return self.error_reply(exc)
        names = {}
        for key, value in list(vars(self.module).items()):
            if key.startswith("__"):
                continue
            kind = "class" if isinstance(value, type) else "function" if callable(value) else "other"
            names[key] = kind
        return {"ok": True, "value": names, "violations": self.guards.take_violations()}, []

    def resolve_target(self, target: dict[str, Any]) -> Any:
        if "builtin" in target:
            name = target["builtin"]
            if name not in BUILTINS:
                raise self.protocol.ProtocolError(f"builtin {name!r} not allowed")
            return getattr(self, "builtin_" + name)
        if "handle" in target:
            obj = self.lookup(target["handle"])
        else:
            if self.module is None:
                raise self.protocol.ProtocolError("no module imported")
            obj = self.module
        if "attr" in target:
            obj = getattr(obj, str(target["attr"]))
        return obj

    def lookup(self, handle_id: Any) -> Any:
        try:
            return self.objects[handle_id]
        except (KeyError, TypeError):
            raise self.protocol.ProtocolError(f"unknown handle {handle_id!r}") from None

    def keep(self, value: Any) -> dict[str, Any]:
        handle_id = self.next_id
        self.next_id += 1
        self.objects[handle_id] = value
        cls = type(value)
        return {"$handle": handle_id, "type": f"{cls.__module__}.{cls.__qualname__}"}

    def decoder(self, buffers: list[bytearray]) -> Any:
        from autograder.sandbox import helpers

        return self.protocol.Decoder(
            buffers, on_handle=lambda d: self.lookup(d.get("$handle")),
            on_helper=helpers.build, worker_side=True,
        )

    def do_call(self, req: dict[str, Any], buffers: list[bytearray]) -> tuple[dict[str, Any], list[Any]]:
        decoder = self.decoder(buffers)
        args = decoder.decode(req.get("args", []))
        kwargs = decoder.decode(req.get("kwargs", {"$dict": []}))
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise self.protocol.ProtocolError("args must be a list and kwargs a dict")
        fn = self.resolve_target(req.get("target", {}))
        self.guards.set_active(set(req.get("forbidden", [])) | self.guards.always_active())
        self.guards.take_violations()
        start = time.perf_counter()
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - SystemExit and all count as the student's error
            return self.error_reply(exc)
        finally:
            self.guards.set_active(self.guards.always_active())
        elapsed = time.perf_counter() - start
        inputs = [a for a in _flatten([args, kwargs]) if _is_tensor(a)]
        encoder = self.protocol.Encoder(on_object=self.keep, inputs=inputs)
        try:
            if req.get("want") == "handle":
                encoded = self.keep(value)
            else:
                encoded = encoder.encode(value)
            echoed = encoder.encode([args, kwargs]) if req.get("return_inputs") else None
        except BaseException as exc:  # noqa: BLE001 - encoding may run student code (subclasses)
            return self.error_reply(exc, during="returning the result")
        reply = {"ok": True, "value": encoded, "elapsed": elapsed, "violations": self.guards.take_violations()}
        if echoed is not None:
            reply["inputs"] = echoed
        return reply, encoder.buffers

    def error_reply(self, exc: BaseException, during: str = "") -> tuple[dict[str, Any], list[Any]]:
        student_dirs = tuple(self.config.get("student_dirs", []))
        frames = []
        for fs in traceback.extract_tb(exc.__traceback__):
            if fs.filename.startswith(student_dirs):
                frames.append([os.path.basename(fs.filename), fs.lineno, fs.name, (fs.line or "")[:200]])
        try:
            message = str(exc)[:4000]
        except BaseException:  # noqa: BLE001 - a hostile __str__
            message = "<message could not be shown>"
        mro = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"]
        if isinstance(exc, self.guards.ForbiddenCall):
            mro = ["ForbiddenCall"]
        error = {"type": type(exc).__name__[:100], "mro": mro, "message": message,
                 "traceback": frames[-20:], "during": during}
        if isinstance(exc, SyntaxError):
            error.update(lineno=exc.lineno, offset=exc.offset, text=(exc.text or "")[:200],
                         filename=os.path.basename(exc.filename or ""))
        return {"ok": False, "error": error, "violations": self.guards.take_violations()}, []

    # ------------------------------------------------------------ builtins

    def builtin_len(self, obj: Any) -> int:
        return len(obj)

    def builtin_list(self, obj: Any, limit: int = MAX_LIST) -> list[Any]:
        out = []
        for item in obj:
            out.append(item)
            if len(out) > limit:
                raise OverflowError(f"more than {limit} items")
        return out

    def builtin_iter(self, obj: Any) -> Any:
        return iter(obj)

    def builtin_next(self, obj: Any) -> Any:
        return next(obj)

    def builtin_getattr(self, obj: Any, name: str) -> Any:
        return getattr(obj, name)

    def builtin_isinstance(self, obj: Any, kind: str) -> bool:
        import importlib

        module, _, attr = ISINSTANCE_TYPES[kind].rpartition(".")
        return isinstance(obj, getattr(importlib.import_module(module), attr))

    def builtin_type_name(self, obj: Any) -> str:
        return f"{type(obj).__module__}.{type(obj).__qualname__}"

    def builtin_dir(self, obj: Any) -> list[str]:
        return [str(n) for n in dir(obj)][:10000]


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the student may have replaced or closed it
            pass


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flatten(v)]
    return [value]


def prepare(config: dict[str, Any]) -> None:
    """Trusted start-up: threads, guards, working folder. Student code is not loaded yet."""
    import torch

    torch.set_num_threads(int(config.get("threads", 1)))
    os.chdir(config.get("scratch", "/tmp"))
    sys.path.insert(0, config["submission_dir"])
    sys.dont_write_bytecode = True


def main(argv: list[str]) -> None:
    config = json.loads(argv[1])
    sys.path[:] = config["sys_path"]
    from autograder.sandbox import limits

    config["weaker_limits"] = limits.apply(config.get("rlimits", []))
    drop_privileges(config.get("uid"), config.get("gid"))
    rfd, wfd = int(config["rfd"]), int(config["wfd"])
    prepare(config)
    worker = Worker(config, rfd, wfd)
    from autograder.sandbox import bench, guards

    bench.capture_clocks()  # before the submission can patch time or torch.cuda

    config["guard_report"] = guards.install(
        config.get("forbidden", {}), config.get("student_dirs", []), alarm=worker.alarm
    )
    worker.serve()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)

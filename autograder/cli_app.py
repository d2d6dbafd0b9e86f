"""The command line's shared parts: the typer app, its two consoles and its option types.

Commands print through ``ui.out`` / ``ui.err`` (looked up at each call), so the check server
can point them at a client's terminal for one run (``consoles``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from autograder.course import UsageError

app = typer.Typer(
    name="autograder", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="Grade PyTorch assignments with student code in a sandboxed worker.",
)
out = Console()
err = Console(stderr=True)


@contextlib.contextmanager
def consoles(new_out: Console, new_err: Console) -> Iterator[None]:
    """Every command prints to these two consoles until the block ends."""
    global out, err
    saved = out, err
    out, err = new_out, new_err
    try:
        yield
    finally:
        out, err = saved


class Device(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class LmsFormat(StrEnum):
    canvas = "canvas"
    moodle = "moodle"
    csv = "csv"


DeviceOpt = Annotated[Device, typer.Option("--device", help="where graded tensors live")]


def existing(path: Path, what: str) -> Path:
    if not path.exists():
        raise UsageError(f"{what} {path} does not exist")
    return path

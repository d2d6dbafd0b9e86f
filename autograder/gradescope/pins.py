"""Exact pins for the Gradescope image, taken from the environment that built the bundle.

The bundle must install on Gradescope what the course tested here, not whatever
is newest the day the image is built: so every distribution the framework needs
(its ``Requires-Dist`` without extras, followed recursively) is pinned to the
version installed in this environment. torch is kept apart: ``setup.sh``
installs it first from the CPU-only index, because the default PyPI build is the
CUDA one and several GB larger, and Gradescope has no GPU.
"""

from __future__ import annotations

import importlib.metadata as md
import re
from dataclasses import dataclass

from packaging.markers import default_environment
from packaging.requirements import Requirement

TORCH = "torch"


class PinError(Exception):
    """A dependency the framework needs is not installed here, so it cannot be pinned."""


@dataclass(frozen=True)
class Pins:
    torch_version: str  # public version, e.g. "2.13.0" (local label "+cpu" stripped)
    others: dict[str, str]  # canonical name -> exact version, torch excluded

    def requirements_txt(self, header: str) -> str:
        lines = [f"# {line}" if line else "#" for line in header.splitlines()]
        lines += [f"{name}=={version}" for name, version in sorted(self.others.items())]
        return "\n".join(lines) + "\n"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wanted(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    env = default_environment()
    if not extras:
        return req.marker.evaluate(dict(env, extra=""))
    return any(req.marker.evaluate(dict(env, extra=e)) for e in extras)


def closure(requirements: list[str]) -> dict[str, str]:
    """Installed version of every distribution reachable from ``requirements`` (markers evaluated here)."""
    found: dict[str, str] = {}
    todo: list[tuple[Requirement, set[str]]] = [(Requirement(r), set()) for r in requirements]
    seen_extras: dict[str, set[str]] = {}
    while todo:
        req, from_extras = todo.pop()
        if not _wanted(req, from_extras):
            continue
        name = canonical(req.name)
        known = seen_extras.setdefault(name, set())
        if name in found and set(req.extras) <= known:
            continue
        known |= set(req.extras)
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            raise PinError(f"{req.name} is required but not installed here; install it before "
                           "building the bundle so its version can be pinned") from None
        if not req.specifier.contains(dist.version, prereleases=True):
            raise PinError(f"{req.name} {dist.version} is installed, but {req} is required")
        found[name] = dist.version
        for sub in dist.requires or []:
            todo.append((Requirement(sub), set(req.extras)))
    return found


def pins_for(requirements: list[str]) -> Pins:
    """The pins for a wheel whose ``Requires-Dist`` is ``requirements``."""
    found = closure(requirements)
    if TORCH not in found:
        raise PinError("the framework does not depend on torch?")
    torch_version = found.pop(TORCH).split("+", 1)[0]
    return Pins(torch_version, found)

"""Finds a course's assignments on disk and what belongs to each.

A course folder holds ``assignments/<slug>/`` (public: manifest, handout, public
graders), ``solutions/<slug>/`` (staff only: reference and hidden graders) and
``student_template/<slug>/`` (generated stubs). Students who installed the
package without the course folder still get the public part, shipped in the
wheel as ``autograder_assignments``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from autograder.manifest import Manifest, load_manifest

# Folders and files that are never part of an assignment's files (caches, editor droppings).
JUNK_DIRS = ("__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints")
COPY_IGNORE = shutil.ignore_patterns(*JUNK_DIRS, "*.pyc")


class UsageError(Exception):
    """A mistake in how the command was called (exit status 2, one line)."""


class FrameworkError(Exception):
    """The grader itself failed (a broken test file, a bug): exit status 1. Here, not in grading.py,
    so the command line can catch it without importing torch."""


@dataclass(frozen=True)
class Assignment:
    """One assignment: its manifest and the folders that hold its parts."""

    directory: Path
    course_root: Path | None

    @cached_property
    def manifest(self) -> Manifest:
        return load_manifest(self.directory / "assignment.toml")

    @property
    def slug(self) -> str:
        return self.manifest.slug

    @property
    def public_tests(self) -> Path:
        return self.directory / "tests"

    @property
    def handout(self) -> Path:
        return self.directory / "README.md"

    @property
    def solution_dir(self) -> Path | None:
        if self.course_root is None:
            return None
        path = self.course_root / "solutions" / self.directory.name
        return path if path.is_dir() else None

    @property
    def reference_file(self) -> Path | None:
        sol = self.solution_dir
        if sol is None:
            return None
        path = sol / self.manifest.submission_file
        return path if path.is_file() else None

    @property
    def hidden_tests(self) -> Path | None:
        sol = self.solution_dir
        return sol / "tests" if sol is not None and (sol / "tests").is_dir() else None

    @property
    def template_dir(self) -> Path | None:
        if self.course_root is None:
            return None
        return self.course_root / "student_template" / self.directory.name


def _looks_like_course(path: Path) -> bool:
    return (path / "assignments").is_dir() and any((path / "assignments").glob("*/assignment.toml"))


def find_course_root(start: Path | None = None) -> Path | None:
    """``AUTOGRADER_COURSE``, else the nearest folder upwards with ``assignments/``, else the checkout."""
    env = os.environ.get("AUTOGRADER_COURSE")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in [here, *here.parents]:
        if _looks_like_course(candidate):
            return candidate
    checkout = Path(__file__).resolve().parents[1]
    if _looks_like_course(checkout):
        return checkout
    return None


def _packaged_assignments() -> Path | None:
    try:
        import autograder_assignments  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Path(autograder_assignments.__file__).parent


def assignments_dir(root: Path | None) -> Path | None:
    if root is not None:
        return root / "assignments"
    return _packaged_assignments()


def list_assignments(root: Path | None = None) -> list[Assignment]:
    root = root if root is not None else find_course_root()
    base = assignments_dir(root)
    if base is None:
        return []
    return [Assignment(p.parent, root) for p in sorted(base.glob("*/assignment.toml"))]


def resolve_assignment(name: str, root: Path | None = None) -> Assignment:
    """A slug (``conv_layer``) or a path to an assignment folder."""
    path = Path(name)
    if (path / "assignment.toml").is_file():
        path = path.resolve()
        course = path.parent.parent if path.parent.name == "assignments" else None
        return Assignment(path, course)
    root = root if root is not None else find_course_root()
    base = assignments_dir(root)
    if base is not None and (base / name / "assignment.toml").is_file():
        return Assignment(base / name, root)
    known = ", ".join(a.directory.name for a in list_assignments(root)) or "none found"
    raise UsageError(f"unknown assignment {name!r} (known: {known})")

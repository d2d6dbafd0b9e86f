"""Graders packed into one string, so a notebook or an otter test file carries the tests it runs.

A generated notebook or test file must work where only the framework is
installed (Colab after ``pip install``, an otter or nbgrader course), and must
keep grading with the tests it was generated with. So the assignment's files go
inside it: JSON, bz2, base64. bz2 because its output is the same on every
machine (``build-student --check`` compares text).
"""

from __future__ import annotations

import base64
import bz2
import hashlib
import json
import tempfile
from pathlib import Path

from autograder.course import JUNK_DIRS, Assignment

_MATERIALIZED: dict[str, tuple[tempfile.TemporaryDirectory, Assignment]] = {}


def _tree(folder: Path, prefix: str) -> dict[str, bytes]:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not set(JUNK_DIRS) & set(rel.parts) \
                and path.suffix != ".pyc":
            out[f"{prefix}/{rel.as_posix()}"] = path.read_bytes()
    return out


def public_files(assignment: Assignment) -> dict[str, bytes]:
    """The manifest and public graders: what students may read."""
    base = f"assignments/{assignment.directory.name}"
    files = {f"{base}/assignment.toml": (assignment.directory / "assignment.toml").read_bytes()}
    files.update(_tree(assignment.public_tests, f"{base}/tests"))
    return files


def hidden_files(assignment: Assignment) -> dict[str, bytes]:
    """The reference and hidden graders: staff only (nbgrader keeps them out of the release)."""
    ref, hidden = assignment.reference_file, assignment.hidden_tests
    if ref is None:
        raise FileNotFoundError(f"the solutions of {assignment.slug} are not here")
    base = f"solutions/{assignment.directory.name}"
    files = {f"{base}/{ref.name}": ref.read_bytes()}
    if hidden is not None:
        files.update(_tree(hidden, f"{base}/tests"))
    return files


def pack(files: dict[str, bytes]) -> str:
    data = {}
    for name, raw in sorted(files.items()):
        try:
            data[name] = {"text": raw.decode("utf-8")}
        except UnicodeDecodeError:
            data[name] = {"base64": base64.b64encode(raw).decode()}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(bz2.compress(text.encode(), 9)).decode()


def unpack(blob: str) -> dict[str, bytes]:
    data = json.loads(bz2.decompress(base64.b64decode(blob)))
    return {name: v["text"].encode() if "text" in v else base64.b64decode(v["base64"])
            for name, v in data.items()}


def materialize(*blobs: str) -> Assignment:
    """The packed files as a course folder (kept for this process), and its one assignment."""
    key = hashlib.sha256("\0".join(blobs).encode()).hexdigest()
    if key not in _MATERIALIZED:
        tmp = tempfile.TemporaryDirectory(prefix="autograder-course-")
        root = Path(tmp.name)
        for blob in blobs:
            for name, raw in unpack(blob).items():
                target = root.joinpath(*name.split("/"))
                if ".." in name.split("/") or not target.resolve().is_relative_to(root.resolve()):
                    raise ValueError(f"bad path in packed graders: {name!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(raw)
        found = sorted((root / "assignments").glob("*/assignment.toml"))
        if len(found) != 1:
            raise ValueError("packed graders must hold exactly one assignment")
        _MATERIALIZED[key] = (tmp, Assignment(found[0].parent, root))
    return _MATERIALIZED[key][1]

"""What is in a class's submissions folder: one entry per student, with a content hash.

Each entry directly inside the folder is one student's submission (``.py``, folder,
``.zip`` or ``.ipynb``); the student id is its name without extension. The hash
covers the content (not timestamps), so a re-run regrades exactly what changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

ACCEPTED = (".py", ".zip", ".ipynb")
MAX_HASH_BYTES = 200 << 20


@dataclass(frozen=True)
class Entry:
    student: str
    path: Path
    content_hash: str
    problem: str = ""


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    total = 0
    for f in files:
        rel = f.name if f == path else str(f.relative_to(path))
        digest.update(rel.encode() + b"\0")
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 20):
                total += len(chunk)
                if total > MAX_HASH_BYTES:
                    digest.update(b"<truncated>")
                    return digest.hexdigest()
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def student_id(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


def discover(folder: Path) -> tuple[list[Entry], list[str]]:
    """(entries, warnings): hidden files skipped, duplicate ids and odd files reported."""
    entries: dict[str, Entry] = {}
    warnings: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "__")) or path.is_symlink():
            continue
        sid = student_id(path)
        if sid in entries:
            warnings.append(f"{sid}: several entries ({entries[sid].path.name}, {path.name}); "
                            f"graded {entries[sid].path.name}")
            continue
        if path.is_file() and path.suffix not in ACCEPTED:
            entries[sid] = Entry(sid, path, content_hash(path), f"{path.name} is not a .py, .zip or .ipynb")
            continue
        entries[sid] = Entry(sid, path, content_hash(path))
    return list(entries.values()), warnings


def graders_hash(assignment) -> str:
    """Changes whenever the manifest, graders or reference change: then everything is regraded."""
    digest = hashlib.sha256()
    for folder in [assignment.directory, assignment.solution_dir]:
        if folder is None:
            continue
        for f in sorted(folder.rglob("*")):
            if f.is_file() and f.suffix in (".py", ".toml") and "__pycache__" not in f.parts:
                digest.update(str(f.relative_to(folder)).encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]

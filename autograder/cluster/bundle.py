"""Packing what a node needs into bytes: the course once, each submission per task.

Nodes share no file system with the head. The course bundle holds the
assignment folder (manifest, public graders, checks) and its ``solutions/``
folder (reference, hidden graders); a submission is its file's bytes, or a
tar of its folder's regular files. Both are built here from regular files only
(symlinks are left out, as ``discover`` leaves them out of the content hash)
and unpacked on the node with tarfile's ``data`` filter, which refuses absolute
paths, ``..``, links and device files whatever the archive says.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from autograder.course import JUNK_DIRS, Assignment

# A submission larger than this is not sent: it is graded as "no_submission" by the
# stager anyway (its own limits are far smaller), so nothing is lost by refusing here.
MAX_SUBMISSION_BYTES = 256 << 20


@dataclass(frozen=True)
class PackedSubmission:
    """One student's entry as data: ``name`` is the entry's file or folder name."""

    name: str
    is_dir: bool
    data: bytes


def _add_tree(tar: tarfile.TarFile, folder: Path, arcname: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or any(part in JUNK_DIRS for part in path.parts):
            continue
        if path.suffix == ".pyc":
            continue
        tar.add(path, arcname=f"{arcname}/{path.relative_to(folder)}", recursive=False)


def pack_course(assignment: Assignment) -> bytes:
    """The assignment and its solutions as a gzip'd tar: ``assignments/<dir>/``, ``solutions/<dir>/``
    and the course secret ``solutions/course_secret``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        _add_tree(tar, assignment.directory, f"assignments/{assignment.directory.name}")
        if assignment.solution_dir is not None:
            _add_tree(tar, assignment.solution_dir, f"solutions/{assignment.directory.name}")
            _add_secret(tar, assignment)
    return buffer.getvalue()


def _add_secret(tar: tarfile.TarFile, assignment: Assignment) -> None:
    """The course secret, so every node seeds hidden inputs as this machine does (``hidden_seed.py``)."""
    from autograder.hidden_seed import FILE_NAME, course_secret

    data = course_secret(assignment.course_root) + b"\n"
    info = tarfile.TarInfo(f"solutions/{FILE_NAME}")
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def unpack_course(data: bytes, root: Path, directory_name: str) -> Assignment:
    """The bundle unpacked under ``root`` (a fresh folder), as an ``Assignment`` there."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(root, filter="data")
    return Assignment(root / "assignments" / directory_name, root)


def pack_submission(path: Path) -> PackedSubmission:
    """A submission file's bytes, or a tar of a submission folder's regular files."""
    if path.is_dir():
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            _add_tree(tar, path, path.name)
            if buffer.tell() > MAX_SUBMISSION_BYTES:
                raise ValueError(f"{path.name} is larger than {MAX_SUBMISSION_BYTES >> 20} MiB")
        return PackedSubmission(path.name, True, buffer.getvalue())
    if path.stat().st_size > MAX_SUBMISSION_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_SUBMISSION_BYTES >> 20} MiB")
    return PackedSubmission(path.name, False, path.read_bytes())


def unpack_submission(packed: PackedSubmission, folder: Path) -> Path:
    """Recreate the entry inside ``folder`` (a fresh folder); returns the entry's path."""
    name = Path(packed.name).name  # a bare name, whatever was sent
    if not packed.is_dir:
        target = folder / name
        target.write_bytes(packed.data)
        return target
    with tarfile.open(fileobj=io.BytesIO(packed.data), mode="r:") as tar:
        tar.extractall(folder, filter="data")
    target = folder / name
    target.mkdir(exist_ok=True)  # an empty folder packs to an empty tar
    return target

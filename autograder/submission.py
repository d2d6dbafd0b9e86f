"""Finds the student's module in what they handed in and stages it for the worker.

A submission is ``<slug>.py``, a folder or ``.zip`` holding it (with any helper
modules beside it), or a notebook ``<slug>.ipynb``. Archives are hostile input:
absolute paths, ``..``, links, too many members and zip bombs are refused with
a message the student can act on.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILE_BYTES = 5 << 20
MAX_NOTEBOOK_BYTES = 32 << 20  # notebooks carry their outputs (plots); only code cells are kept
MAX_TOTAL_BYTES = 50 << 20
MAX_MEMBERS = 2000
MAX_RATIO = 200
MAX_DEPTH = 4


class SubmissionError(Exception):
    """The submission cannot be graded as handed in (graded as 0, status ``no_submission``)."""


@dataclass
class StagedSubmission:
    """The student's files, copied into a folder the worker mounts read-only."""

    directory: Path
    module_file: Path
    notes: list[str] = field(default_factory=list)
    source_kind: str = "py"


def stage(submission: Path, module_file: str, dest: Path) -> StagedSubmission:
    """Copy the student's module (and sibling ``.py`` helpers) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o755)
    if not submission.exists():
        raise SubmissionError(f"{submission} does not exist")
    stem = Path(module_file).stem
    if submission.is_dir():
        return _from_folder(submission, module_file, dest)
    if submission.suffix == ".zip":
        return _from_zip(submission, module_file, dest)
    if submission.suffix == ".ipynb":
        from autograder.notebook_submission import NotebookError, notebook_to_module

        _check_size(submission.stat().st_size, submission.name, MAX_NOTEBOOK_BYTES)
        try:
            source, notes = notebook_to_module(submission.read_bytes())
        except NotebookError as exc:
            raise SubmissionError(str(exc)) from None
        target = dest / module_file
        target.write_text(source)
        target.chmod(0o644)
        return StagedSubmission(dest, target, notes, "ipynb")
    if submission.suffix == ".py":
        if submission.name != module_file:
            raise SubmissionError(f"expected a file named {module_file}, got {submission.name}")
        _check_size(submission.stat().st_size, submission.name)
        target = dest / module_file
        shutil.copyfile(submission, target)
        target.chmod(0o644)
        return StagedSubmission(dest, target)
    raise SubmissionError(f"cannot grade {submission.name}: hand in {module_file}, "
                          f"{stem}.ipynb, a folder or a .zip holding it")


def _check_size(size: int, name: str, limit: int = MAX_FILE_BYTES) -> None:
    if size > limit:
        raise SubmissionError(f"{name} is {size >> 20} MiB; files over {limit >> 20} MiB are refused")


def _limit_for(name: PurePosixPath) -> int:
    return MAX_NOTEBOOK_BYTES if name.suffix == ".ipynb" else MAX_FILE_BYTES


def choose_module(folder: Path, module_file: str) -> tuple[Path, int]:
    """The file graded in a submitted folder (a ``.py`` before a notebook, the shallowest first), and
    how many ``module_file`` copies the folder holds."""
    stem = Path(module_file).stem
    candidates = [p for p in _walk(folder) if p.name in (module_file, f"{stem}.ipynb")]
    if not candidates:
        raise SubmissionError(f"no {module_file} (or {stem}.ipynb) found in the submitted folder")
    py = [p for p in candidates if p.suffix == ".py"]
    return min(py or candidates, key=lambda p: (len(p.relative_to(folder).parts), str(p))), len(py)


def _from_folder(folder: Path, module_file: str, dest: Path) -> StagedSubmission:
    chosen, copies = choose_module(folder, module_file)
    if chosen.suffix == ".ipynb":
        return stage(chosen, module_file, dest)
    notes = []
    if copies > 1:
        notes.append(f"several {module_file} files found; graded {chosen.relative_to(folder)}")
    total = 0
    for sibling in sorted(chosen.parent.glob("*.py")):
        if sibling.is_symlink() or not sibling.is_file():
            continue
        size = sibling.stat().st_size
        _check_size(size, sibling.name)
        total += size
        if total > MAX_TOTAL_BYTES:
            raise SubmissionError("the submitted Python files are too large in total")
        shutil.copyfile(sibling, dest / sibling.name)
        (dest / sibling.name).chmod(0o644)
    return StagedSubmission(dest, dest / module_file, notes, "folder")


def _walk(folder: Path, depth: int = 0) -> list[Path]:
    out: list[Path] = []
    if depth > MAX_DEPTH:
        return out
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() or entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        if entry.is_dir():
            out += _walk(entry, depth + 1)
        elif entry.is_file():
            out.append(entry)
    return out


def _from_zip(archive: Path, module_file: str, dest: Path) -> StagedSubmission:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{archive.name} is not a readable zip file ({exc})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise SubmissionError(f"{archive.name} has {len(members)} entries; at most {MAX_MEMBERS} allowed")
        total = 0
        for info in members:
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename or ":" in info.filename:
                raise SubmissionError(f"{archive.name} holds an unsafe path: {info.filename!r}")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise SubmissionError(f"{archive.name} holds a symbolic link: {info.filename!r}")
            total += info.file_size
            if info.file_size > _limit_for(name) and name.suffix in (".py", ".ipynb"):
                raise SubmissionError(f"{info.filename} is too large ({info.file_size >> 20} MiB)")
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1 << 20:
                raise SubmissionError(f"{archive.name} looks like a zip bomb ({info.filename!r})")
        if total > MAX_TOTAL_BYTES:
            raise SubmissionError(f"{archive.name} unpacks to {total >> 20} MiB; at most {MAX_TOTAL_BYTES >> 20} MiB")
        unpacked = dest.parent / (dest.name + "-unzipped")
        unpacked.mkdir(parents=True, exist_ok=True)
        for info in members:
            if info.is_dir() or PurePosixPath(info.filename).suffix not in (".py", ".ipynb"):
                continue
            target = unpacked.joinpath(*PurePosixPath(info.filename).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                _copy_limited(src, out, _limit_for(PurePosixPath(info.filename)))
    staged = _from_folder(unpacked, module_file, dest)
    staged.source_kind = "zip"
    return staged


def _copy_limited(src: object, out: object, limit: int) -> int:
    """Copy at most ``limit`` bytes: the declared size in a zip header can lie."""
    copied = 0
    while True:
        chunk = src.read(1 << 20)  # type: ignore[attr-defined]
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > limit:
            raise SubmissionError("a file in the zip is larger than its header says (zip bomb?)")
        out.write(chunk)  # type: ignore[attr-defined]

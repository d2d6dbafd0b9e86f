"""Hidden graders draw their inputs from a seed only the course can compute.

Public graders use the manifest's fixed ``seed``: students see those inputs and
can reproduce them. Hidden graders use a per-submission seed,
``HMAC-SHA256(course secret, slug + digest of the staged submission files)``:

- re-grading the same files gives the same inputs (a regrade request can be
  reproduced exactly);
- a changed resubmission gets new inputs, so hidden inputs learnt from one
  grading (or printed into an exception) do not carry over to the next;
- without the secret nobody can predict them.

The seed is recorded in the results' ``extra_data.hidden_seed`` (staff only;
Gradescope never shows top-level ``extra_data`` to students).

The course secret is staff-only and lives, in this order of precedence:

1. the environment variable ``AUTOGRADER_COURSE_SECRET`` (batch runs on shared
   machines, CI);
2. the file ``solutions/course_secret`` of the course (created with 32 random
   bytes, mode 0600, the first time it is needed; keep it with the solutions
   so every staff machine grades alike). The Gradescope bundle carries it
   inside ``course/solutions/``, which ``setup.sh`` makes unreadable to the
   student user.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

ENV = "AUTOGRADER_COURSE_SECRET"
FILE_NAME = "course_secret"


class SecretError(Exception):
    """No course secret can be read or created."""


def secret_file(course_root: Path | None) -> Path | None:
    """Where the course's secret file lives (``None`` without a ``solutions/`` folder)."""
    if course_root is None or not (course_root / "solutions").is_dir():
        return None
    return course_root / "solutions" / FILE_NAME


def course_secret(course_root: Path | None, *, create: bool = True) -> bytes:
    """The course secret: the environment variable, else the file (created when missing and ``create``)."""
    value = os.environ.get(ENV, "")
    if value:
        return value.encode()
    path = secret_file(course_root)
    if path is None:
        raise SecretError(f"no course secret: set {ENV} or grade from a course checkout with solutions/")
    try:
        return _read(path)
    except FileNotFoundError:
        if not create:
            raise SecretError(f"no course secret: {path} does not exist and {ENV} is not set") from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another grader created it meanwhile
        return _read(path)
    except OSError as exc:
        raise SecretError(f"no course secret: {path} cannot be created ({exc.strerror}); set {ENV}") from None
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return _read(path)


def _read(path: Path) -> bytes:
    value = path.read_text().strip()
    if not value:
        raise SecretError(f"{path} is empty: delete it to get a new secret, or set {ENV}")
    return value.encode()


def content_digest(folder: Path) -> str:
    """SHA-256 over the staged submission's files (relative names and bytes), in a stable order."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix().encode()
        h.update(len(name).to_bytes(4, "little") + name)
        data = path.read_bytes()
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def hidden_seed(secret: bytes, slug: str, digest: str) -> int:
    """The hidden graders' seed for one submission of one assignment (63 bits)."""
    mac = hmac.new(secret, f"hidden-seed\0{slug}\0{digest}".encode(), hashlib.sha256).digest()
    return int.from_bytes(mac[:8], "little") >> 1

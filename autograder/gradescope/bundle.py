"""Builds the Gradescope autograder zip for one assignment.

Layout of the zip (Gradescope wants ``setup.sh`` and ``run_autograder`` at its root)::

    setup.sh                 installs Python, torch (CPU build), the pins, bubblewrap; adds `student`
    run_autograder           grades /autograder/submission, writes /autograder/results/results.json
    requirements.txt         exact pins of every dependency except torch (pinned in setup.sh)
    bundle.json              what was built, from what, with which versions
    wheels/<framework>.whl   the framework, built from this checkout
    course/assignments/<slug>/   manifest, handout, public graders
    course/solutions/<slug>/     reference and hidden graders (made unreadable to `student` by setup.sh)
    course/solutions/course_secret   the course secret hidden inputs are seeded with (hidden_seed.py)

Only this assignment's folders go in, never another assignment's solutions.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from importlib.resources import files
from pathlib import Path

from autograder import __version__
from autograder.course import COPY_IGNORE, Assignment
from autograder.gradescope.pins import Pins, pins_for

TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
VENV = "/opt/torch-autograder/venv"
EXECUTABLE = 0o755
READ_ONLY = 0o644


class BundleError(Exception):
    """The bundle could not be built (no solutions here, a failed wheel build, a missing pin)."""


@dataclass(frozen=True)
class BundleInfo:
    path: Path
    slug: str
    size_bytes: int
    wheel: str
    pins: Pins
    members: list[str]


def repo_root() -> Path:
    """The checkout the framework is imported from (where ``pyproject.toml`` is)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise BundleError(f"no pyproject.toml in {root}: the bundle is built from a checkout of the framework")
    return root


def build_wheel(dest: Path, root: Path | None = None) -> Path:
    """Build the framework's wheel offline from a clean copy of the sources.

    Building in a copy keeps setuptools' ``build/`` cache (which can hold modules
    deleted since) out of the wheel and lets several builds run at once.
    """
    root = root or repo_root()
    with tempfile.TemporaryDirectory(prefix="ag-wheel-src-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "setup.cfg", "setup.py", "MANIFEST.in", "LICENSE"):
            if (root / name).is_file():
                shutil.copy2(root / name, src / name)
        for pkg in sorted(root.glob("autograder*")):
            if pkg.is_dir() and (pkg / "__init__.py").is_file():
                shutil.copytree(pkg, src / pkg.name, ignore=COPY_IGNORE)
        dest.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                               "--no-index", "-q", "-w", str(dest), str(src)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise BundleError(f"building the framework wheel failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    wheels = sorted(dest.glob("torch_autograder-*.whl"))
    if len(wheels) != 1:
        raise BundleError(f"expected one framework wheel in {dest}, found {[w.name for w in wheels]}")
    return wheels[0]


def wheel_requirements(wheel: Path) -> list[str]:
    """``Requires-Dist`` of the wheel (extras such as ``[notebooks]`` are filtered out by the pins)."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(zf.read(meta).decode())
    return message.get_all("Requires-Dist") or []


def _template(name: str) -> str:
    return files("autograder.gradescope").joinpath("templates", name).read_text()


def render_setup(pins: Pins, slug: str) -> str:
    import importlib.metadata as md

    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (_template("setup.sh").replace("@PIP_VERSION@", md.version("pip")).replace("@PYTHON_VERSION@", py).replace("@TORCH_VERSION@", pins.torch_version)
            .replace("@TORCH_INDEX@", TORCH_INDEX).replace("@VENV@", VENV).replace("@SLUG@", slug))


def render_run_autograder() -> str:
    return _template("run_autograder.sh").replace("@VENV@", VENV)


def _add(zf: zipfile.ZipFile, arcname: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(arcname, date_time=time.localtime()[:6])
    info.external_attr = (0o100000 | mode) << 16  # a regular file with these permission bits
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def _add_tree(zf: zipfile.ZipFile, src: Path, prefix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / "t"
        shutil.copytree(src, clean, ignore=COPY_IGNORE, symlinks=False)
        for path in sorted(p for p in clean.rglob("*") if p.is_file()):
            _add(zf, f"{prefix}/{path.relative_to(clean).as_posix()}", path.read_bytes(), READ_ONLY)


def secret_member(assignment: Assignment) -> tuple[str, bytes]:
    """The course secret as a bundle member, so Gradescope seeds hidden inputs exactly as staff machines do."""
    from autograder.hidden_seed import FILE_NAME, SecretError, course_secret

    try:
        return f"course/solutions/{FILE_NAME}", course_secret(assignment.course_root) + b"\n"
    except SecretError as exc:
        raise BundleError(str(exc)) from None


def build_bundle(assignment: Assignment, out_zip: Path) -> BundleInfo:
    """Write the Gradescope autograder zip for ``assignment`` to ``out_zip``."""
    if assignment.solution_dir is None or assignment.reference_file is None:
        raise BundleError(f"the solutions of {assignment.slug} are not here: the bundle needs the reference "
                          "and the hidden graders (build it from the course checkout)")
    with tempfile.TemporaryDirectory(prefix="ag-bundle-") as tmp:
        wheel = build_wheel(Path(tmp) / "wheels")
        pins = pins_for(wheel_requirements(wheel))
        slug = assignment.slug
        meta = {
            "slug": slug, "title": assignment.manifest.title, "framework_version": __version__,
            "wheel": wheel.name, "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "torch": pins.torch_version, "torch_index": TORCH_INDEX, "venv": VENV,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        header = (f"Exact pins for the {slug} autograder (framework {__version__}), from the environment that "
                  f"built it.\ntorch=={pins.torch_version} is not listed: setup.sh installs it first from "
                  f"{TORCH_INDEX}\n(the CPU-only build; PyPI's default build is the CUDA one, several GB larger).")
        out_zip = Path(out_zip)
        out_zip.parent.mkdir(parents=True, exist_ok=True)
        partial = out_zip.with_name(out_zip.name + ".partial")
        with zipfile.ZipFile(partial, "w") as zf:
            _add(zf, "setup.sh", render_setup(pins, slug).encode(), EXECUTABLE)
            _add(zf, "run_autograder", render_run_autograder().encode(), EXECUTABLE)
            _add(zf, "requirements.txt", pins.requirements_txt(header).encode(), READ_ONLY)
            _add(zf, "bundle.json", (json.dumps(meta, indent=2) + "\n").encode(), READ_ONLY)
            _add(zf, f"wheels/{wheel.name}", wheel.read_bytes(), READ_ONLY)
            _add_tree(zf, assignment.directory, f"course/assignments/{assignment.directory.name}")
            _add_tree(zf, assignment.solution_dir, f"course/solutions/{assignment.directory.name}")
            _add(zf, *secret_member(assignment), 0o600)
            members = zf.namelist()
        partial.replace(out_zip)
    return BundleInfo(out_zip, slug, out_zip.stat().st_size, wheel.name, pins, members)

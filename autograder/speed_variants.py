"""Staff speed variants: correct solutions in other styles that pin down each timed function's contract.

Layout (``docs/speed.md``): ``solutions/<slug>/speed_variants/acceptable_<technique>.py`` and
``unacceptable_<technique>.py``, each a whole submission module. A comment line
``# varies: part, part`` names the timed functions whose technique differs from
the reference's; every other function is the reference's own code. An
acceptable variant must earn full speed points in every timed function; an
unacceptable one must earn none in the functions it varies (and full points in
the rest, which are the reference's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Assignment

FOLDER = "speed_variants"
MIN_ACCEPTABLE = 3
MIN_UNACCEPTABLE = 1
_VARIES = re.compile(r"^# varies:(.*)$", re.M)


@dataclass(frozen=True)
class Variant:
    name: str
    path: Path
    acceptable: bool
    varies: tuple[str, ...]

    def expects_full(self, part: str) -> bool:
        """Must ``part`` earn all its speed points (else: none)?"""
        return self.acceptable or part not in self.varies


def speed_variants(assignment: Assignment) -> list[Variant]:
    """The assignment's staff variants, acceptable first, by name."""
    sol = assignment.solution_dir
    folder = sol / FOLDER if sol is not None else None
    if folder is None or not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.py")):
        kind, _, _ = path.stem.partition("_")
        if kind not in ("acceptable", "unacceptable"):
            continue
        match = _VARIES.search(path.read_text())
        varies = tuple(p.strip() for p in match.group(1).split(",") if p.strip()) if match else ()
        out.append(Variant(path.stem, path, kind == "acceptable", varies))
    return sorted(out, key=lambda v: (not v.acceptable, v.name))


def layout_problems(assignment: Assignment) -> list[str]:
    """What the variant folder lacks: enough techniques per timed function, names that exist."""
    timed = [t.part for t in assignment.manifest.timed]
    if not timed:
        return []
    variants = speed_variants(assignment)
    problems = []
    for v in variants:
        unknown = sorted(set(v.varies) - set(timed))
        if not v.varies or unknown:
            problems.append(f"{FOLDER}/{v.name}.py: its '# varies:' line must name timed functions "
                            f"({', '.join(timed)}); got {', '.join(v.varies) or 'none'}")
    for part in timed:
        good = sum(1 for v in variants if v.acceptable and part in v.varies)
        bad = sum(1 for v in variants if not v.acceptable and part in v.varies)
        if good < MIN_ACCEPTABLE or bad < MIN_UNACCEPTABLE:
            problems.append(f"{part}: {good} acceptable and {bad} unacceptable speed variants in "
                            f"solutions/{assignment.slug}/{FOLDER}/ (need at least {MIN_ACCEPTABLE} and "
                            f"{MIN_UNACCEPTABLE})")
    return problems

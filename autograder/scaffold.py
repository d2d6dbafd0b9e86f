"""``autograder new SLUG``: a complete, working toy assignment to edit into a real one.

Every file an assignment needs is written in its place (docs/authoring.md §1),
and each toy part (it doubles its input) is graded for real: public, hidden and
perf graders, a shared checks module, staff speed variants for ``calibrate``. The
author replaces working code with working code; every place to edit carries
``TODO(autograder new)``, and ``validate`` refuses the assignment while one is
left, so a scaffold is never shipped by accident.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from autograder.course import UsageError
from autograder.handout import BEGIN, END

TODO = "TODO(autograder new)"
SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Plan:
    slug: str
    title: str
    parts: tuple[str, ...]
    number: int

    @property
    def timed(self) -> str:
        return self.parts[0]


def _manifest(p: Plan) -> str:
    seed = 20260000 + zlib.crc32(p.slug.encode()) % 10000
    out = [f"# Assignment {p.number}: {p.slug}. Schema: autograder/assignment.schema.json",
           f"# {TODO}: replace the toy parts, groups, titles and points; docs/authoring.md §2.",
           f'slug = "{p.slug}"', f'title = "{p.title}"', f"seed = {seed}", "",
           "[limits]", "call_timeout_s = 10", "import_timeout_s = 30", "",
           "# Library functions that would make the exercise trivial (docs/authoring.md §7): Python names",
           "# get tripwires on every alias; aten patterns get raising kernels (validate lists what they block).",
           "[forbidden]", "python = []", ""]
    for part in p.parts:
        out += ["[[parts]]", f'name = "{part}"', ""]
    for part in p.parts:
        out += ["[[groups]]", f'name = "{part}_public"', f'part = "{part}"', f'title = "{part}: values, shapes"',
                "points = 2", "",
                "[[groups]]", f'name = "{part}_hidden"', f'part = "{part}"',
                f'title = "{part}: random shapes, float64, non-contiguous"', "points = 3", "hidden = true", ""]
    t = p.timed
    out += ["[[groups]]", f'name = "{t}_perf"', f'part = "{t}"', f'title = "{t}: speed (time / reference time)"',
            "points = 2", 'kind = "performance"', "",
            "[[timed]]", f'part = "{t}"', f'group = "{t}_perf"', 'full_points_for = "any loop-free solution"',
            'no_points_for = "a Python loop over rows"', "full_at = 1.5", "zero_at = 6.0", "max_seconds = 10",
            "sizes.cpu = { n = 2048, d = 1024 }", "sizes.cuda = { n = 16384, d = 4096 }", ""]
    return "\n".join(out)


def _handout(p: Plan) -> str:
    rows = "\n".join(f"| `{part}(x)` | `2 * x` |" for part in p.parts)
    sections = "\n\n".join(
        f"## {i}. `{part}`\n\n**`{part}(x)`** returns `2 * x`, with the dtype, shape and device of `x`."
        for i, part in enumerate(p.parts, start=1))
    return f"""# Assignment {p.number}: {p.title}

<!-- {TODO}: write the handout in the style of the others (docs/authoring.md §4). -->
What students build, and why it matters.

You will implement, in `{p.slug}.py`:

| function | returns |
| --- | --- |
{rows}

Run the public tests at any time:

```
autograder check {p.slug}            # grades ./{p.slug}.py
```

{sections}

## Rules and what the tests check

- Expected values are computed on the grader's side in float64 from the same
  inputs, so any sound technique passes.
- Hidden tests use random shapes, float64 and non-contiguous inputs.
- `{p.timed}` is **timed**: see [Speed points](#speed-points).
- Outputs keep the input dtype and device; never modify an input in place.

{BEGIN}
{END}
"""


def _reference(p: Plan) -> str:
    funcs = "\n\n\n".join(f'''def {part}(x: Tensor) -> Tensor:
    """``2 * x``, same shape, dtype and device."""
    # BEGIN SOLUTION
    return x * 2
    # END SOLUTION''' for part in p.parts)
    return f'''"""Assignment {p.number}: {p.title}.

Read the handout (README.md) first.
"""
# {TODO}: replace the toy parts with the real ones, solutions between the markers (authoring.md §3).

from __future__ import annotations

from torch import Tensor


{funcs}
'''


ACCEPTABLE = {"mul": "torch.mul(x, 2)", "add": "x + x", "out": "torch.empty_like(x).copy_(x).mul_(2)"}


def _acceptable(p: Plan, technique: str) -> str:
    funcs = "\n\n\n".join(f'''def {part}(x: Tensor) -> Tensor:
    return {ACCEPTABLE[technique] if part == p.timed else "x * 2"}''' for part in p.parts)
    return f'''"""Acceptable speed variant of {p.slug}: {p.timed} as {ACCEPTABLE[technique]} (docs/speed.md)."""
# varies: {p.timed}
# {TODO}: a loop-free technique different from the reference, for `autograder calibrate`.

from __future__ import annotations

import torch
from torch import Tensor


{funcs}
'''


def _slow(p: Plan) -> str:
    rest = "\n\n\n".join(f'''def {part}(x: Tensor) -> Tensor:
    return x * 2''' for part in p.parts[1:])
    return f'''"""Unacceptable speed variant of {p.slug}: a Python loop over rows (correct, too slow; docs/speed.md)."""
# varies: {p.timed}
# {TODO}: the reference, with the timed function written the way an unvectorised student would.

from __future__ import annotations

import torch
from torch import Tensor


def {p.timed}(x: Tensor) -> Tensor:
    """Correct but slow: one row at a time."""
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = x[i] * 2
    return out
''' + (f"\n\n{rest}\n" if rest else "")


def _checks(p: Plan) -> str:
    oracles = "\n\n\n".join(f'''def expected_{part}(x: torch.Tensor) -> torch.Tensor:
    """The expected value in float64, from library calls (never a copy of the solution)."""
    return x.double() * 2''' for part in p.parts)
    return f'''"""Oracles and checks shared by the public and hidden {p.slug} graders (imported by both)."""
# {TODO}: real oracles (library calls in float64), tolerances and verified hints; authoring.md §5.3.

from __future__ import annotations

import torch

from autograder.testing import assert_close


def check(actual, expected: torch.Tensor, fn: str, what: str, dtype: torch.dtype) -> None:
    """Compare with a float64 expected value cast to ``dtype``; ``what`` shows in hidden summaries."""
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    scale = float(expected.abs().max()) if expected.numel() else 1.0
    assert_close(actual, expected.to(dtype), rtol=tol, atol=tol * max(scale, 1.0), fn=fn, what=what)


{oracles}
'''


def _public(p: Plan) -> str:
    names = ", ".join(["check"] + [f"expected_{part}" for part in p.parts])
    tests = "\n\n\n".join(f'''@pytest.mark.group("{part}_public")
@pytest.mark.parametrize("shape", [(3, 4), (1, 5), (16, 8)])
def test_{part}(student, gen, shape):
    x = randn(*shape, gen=gen)
    check(student.{part}(x), expected_{part}(x), "{part}", "the output", x.dtype)''' for part in p.parts)
    return f'''"""Public graders for {p.slug}: run them with `autograder check {p.slug}`."""
# {TODO}: real public graders; every case of a group earns an equal share of its points.

from __future__ import annotations

import pytest
from {p.slug}_checks import {names}

from autograder.testing import randn


{tests}
'''


def _hidden(p: Plan) -> str:
    names = ", ".join(["check"] + [f"expected_{part}" for part in p.parts])
    tests = "\n\n\n".join(f'''@pytest.mark.group("{part}_hidden")
@pytest.mark.parametrize("case", ["random0", "random1", "float64", "noncontiguous", "batch_one"])
def test_{part}(student, gen, case):
    check_case(student.{part}, expected_{part}, "{part}", case, gen)''' for part in p.parts)
    return f'''"""Hidden graders for {p.slug}: random shapes, float64, non-contiguous inputs, batch 1."""
# {TODO}: real hidden graders (the edge cases the handout promises); authoring.md §5.

from __future__ import annotations

import pytest
import torch
from {p.slug}_checks import {names}

from autograder.testing import noncontiguous, randn


def inputs(case: str, gen: torch.Generator) -> torch.Tensor:
    n = 1 if case == "batch_one" else int(torch.randint(2, 40, (1,), generator=gen))
    d = int(torch.randint(1, 30, (1,), generator=gen))
    x = randn(n, d, gen=gen, dtype=torch.float64 if case == "float64" else torch.float32)
    return noncontiguous(x) if case == "noncontiguous" else x


def check_case(fn, expected, name: str, case: str, gen: torch.Generator) -> None:
    x = inputs(case, gen)
    check(fn(x), expected(x), name, "the output", x.dtype)


{tests}
'''


def _perf(p: Plan) -> str:
    t = p.timed
    return f'''"""Performance grader: {t} on one [n, d] input (sizes from the manifest's [[timed]] entry)."""
# {TODO}: inputs sized so one reference call takes a millisecond or more; authoring.md §6.

import pytest

from autograder.testing import randn


def make_inputs(gen, n, d):
    """Fresh inputs for one sample: (args, kwargs), from ``gen`` only, on the CPU."""
    return (randn(n, d, gen=gen),), {{}}


@pytest.mark.group("{t}_perf")
def test_{t}_speed(timing):
    timing.measure("{t}", make_inputs)
'''


CORPUS_README = """# Corpus for {slug}

Whole submissions graded by tests/test_fairness_{slug}.py and tests/test_forbidden_{slug}.py
(docs/authoring.md §8): `correct_*.py` (another correct technique: full marks), `bug_*.py` (the
reference with one realistic bug, named in its docstring: loses points where aimed) and
`forbidden_*.py` (a banned call: 0 in that part only).
"""


def plan(slug: str, title: str | None, parts: list[str], existing: int) -> Plan:
    if not SLUG.match(slug):
        raise UsageError(f"slug {slug!r} must be lower case letters, digits and _, starting with a letter")
    parts = parts or ["double"]
    bad = [p for p in parts if not NAME.match(p)]
    if bad:
        raise UsageError(f"part names must be Python identifiers: {', '.join(bad)}")
    if len(set(parts)) != len(parts):
        raise UsageError("part names must be unique")
    return Plan(slug, title or slug.replace("_", " ").capitalize(), tuple(parts), existing + 1)


def files(root: Path, p: Plan) -> dict[Path, str]:
    """Every file of the scaffold, by path under the course ``root``."""
    a, s = root / "assignments" / p.slug, root / "solutions" / p.slug
    return {
        a / "assignment.toml": _manifest(p),
        a / "README.md": _handout(p),
        a / "tests" / f"{p.slug}_checks.py": _checks(p),
        a / "tests" / f"test_{p.slug}_public.py": _public(p),
        s / f"{p.slug}.py": _reference(p),
        s / "speed_variants" / "unacceptable_row_loop.py": _slow(p),
        **{s / "speed_variants" / f"acceptable_{name}.py": _acceptable(p, name) for name in ACCEPTABLE},
        s / "tests" / f"test_{p.slug}_hidden.py": _hidden(p),
        s / "tests" / f"test_{p.slug}_perf.py": _perf(p),
        root / "tests" / "corpus" / p.slug / "README.md": CORPUS_README.format(slug=p.slug),
    }


def scaffold(root: Path, slug: str, title: str | None = None, parts: list[str] | None = None) -> list[Path]:
    """Write the scaffold; refuses to overwrite anything. Returns the files written."""
    existing = len(list((root / "assignments").glob("*/assignment.toml")))
    p = plan(slug, title, list(parts or []), existing)
    planned = files(root, p)
    taken = [path for path in planned if path.exists()] + \
        [d for d in (root / "assignments" / slug, root / "solutions" / slug) if d.exists()]
    if taken:
        raise UsageError(f"{taken[0]} already exists; `new` never overwrites")
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(planned)


def leftover_todos(paths: list[Path]) -> list[str]:
    """``file:line`` of every scaffold marker still in these folders' files."""
    found = []
    for folder in paths:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            try:
                lines = path.read_text().splitlines()
            except (UnicodeDecodeError, OSError):
                continue
            found += [f"{path}:{n}" for n, line in enumerate(lines, start=1) if TODO in line]
    return found

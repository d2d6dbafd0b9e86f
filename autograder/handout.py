"""The handout's speed section, generated from the manifest so prose and thresholds cannot drift.

Every ``[[timed]]`` entry says in words what earns full speed points and what
earns none; ``build-student`` writes them, with the thresholds, the points and
the rule that speed counts only for correct code, between two marker comments
in ``assignments/<slug>/README.md``. ``build-student --check`` and ``validate``
fail when the committed handout differs from what the manifest says.
"""

from __future__ import annotations

from autograder.manifest import Manifest

BEGIN = "<!-- BEGIN SPEED CONTRACT: generated from assignment.toml by `autograder build-student`; edit the manifest -->"
END = "<!-- END SPEED CONTRACT -->"


class HandoutError(Exception):
    """A handout that cannot take the generated section (markers missing or out of order)."""


def _names(parts: list[str]) -> str:
    quoted = [f"`{p}`" for p in parts]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def speed_section(manifest: Manifest) -> str:
    """Markdown for the speed contract of every timed function (empty when nothing is timed)."""
    timed = manifest.timed
    if not timed:
        return ""
    parts = [t.part for t in timed]
    verb = "is" if len(parts) == 1 else "are"
    lines = [
        "## Speed points",
        "",
        f"{_names(parts)} {verb} **timed**. Speed points need **every correctness test of that function "
        "to pass first** (public and hidden): a function that fails any of them earns no speed points, "
        "however fast it is. Then its time is divided by the reference solution's on the same fresh "
        "random inputs, in the same grading run, and the ratio decides:",
        "",
        "| function | points | full points | no points |",
        "| --- | --- | --- | --- |",
    ]
    for t in timed:
        points = manifest.group(t.group).points
        lines.append(f"| `{t.part}` | {points:g} | {t.full_points_for} (up to {t.full_at:g}x the reference's "
                     f"time) | {t.no_points_for} ({t.zero_at:g}x or more) |")
    sizes = "; ".join(f"`{t.part}`: " + ", ".join(f"{k}={v}" for k, v in t.sizes["cpu"].items()) for t in timed)
    lines += [
        "",
        "Between the two ratios the points fall off gradually (linearly in the logarithm of the ratio). "
        "The thresholds are set from several staff solutions written in different styles, so any "
        "technique in the first column is well inside full points; timing on CPU uses the sizes "
        f"{sizes}.",
    ]
    return "\n".join(lines)


def render(readme: str, manifest: Manifest, where: str = "README.md") -> str:
    """``readme`` with the text between the markers replaced by the generated speed section."""
    if not manifest.timed:
        return readme
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise HandoutError(f"{where}: the handout of a timed assignment needs the two lines\n{BEGIN}\n{END}\n"
                           "where the generated speed section goes")
    return readme[: start + len(BEGIN)] + "\n" + speed_section(manifest) + "\n" + readme[end:]

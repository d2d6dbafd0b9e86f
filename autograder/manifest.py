"""``assignment.toml``: pydantic models, loading with readable errors, and the JSON Schema.

The manifest is the one place that says what an assignment grades: its parts,
how many points each test group is worth and who may see it, what the
submission may not call, and the limits its worker runs under. Unknown keys
are errors, so a typo never silently changes grading.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Identifier = str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(Strict):
    """What one worker may use. Every call also has its own wall-clock timeout."""

    call_timeout_s: float = Field(10.0, gt=0, description="wall-clock limit for one call into student code")
    import_timeout_s: float = Field(60.0, gt=0, description="wall-clock limit for importing the submission")
    total_timeout_s: float = Field(900.0, gt=0, description="after this, remaining tests fail without running")
    memory_mb: int = Field(4096, ge=768, description="address-space limit of the worker (RLIMIT_AS)")
    cpu_seconds: int = Field(900, gt=0, description="CPU-time limit of one worker process")
    max_processes: int = Field(64, ge=8, description="processes and threads of the sandbox uid")
    max_open_files: int = Field(512, ge=64)
    file_size_mb: int = Field(64, gt=0, description="largest file the worker may write")
    scratch_mb: int = Field(256, gt=0, description="size of the worker's private /tmp")
    threads: int = Field(1, ge=1, le=64, description="torch threads in the worker (same for the reference)")
    max_reply_mb: int = Field(512, gt=0, description="largest reply a worker may send")
    max_restarts: int = Field(8, ge=0, description="fresh workers started after crashes or timeouts")


class Forbidden(Strict):
    """Calls banned in every part of the assignment."""

    python: list[str] = Field(default_factory=list, description="dotted names, e.g. torch.nn.functional.conv2d")
    aten: dict[str, str] = Field(
        default_factory=dict,
        description="label -> regular expression over aten operator names; every match gets a raising kernel",
    )
    autograd: bool = Field(False, description="ban Tensor.backward, torch.autograd.*, torch.func and any backward pass")


class Part(Strict):
    """A function or class the student implements."""

    name: Identifier = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    forbidden: list[str] = Field(default_factory=list, description="dotted names banned in this part only")
    timeout_s: float | None = Field(None, gt=0, description="overrides limits.call_timeout_s")
    dtype_rule: str | None = Field(None, description="the handout's dtype rule for this part's results, "
                                   "shown when a dtype is wrong; overrides the assignment's")


class Group(Strict):
    """A set of tests that share points; each test (case) earns an equal share."""

    name: Identifier = Field(pattern=r"^[a-z0-9_]+$")
    part: Identifier
    title: str
    points: float = Field(gt=0)
    hidden: bool = False
    kind: Literal["correctness", "performance"] = "correctness"
    all_or_nothing: bool = False


class Timed(Strict):
    """Performance grading of one function: student time / reference time on the same inputs."""

    part: Identifier
    group: Identifier
    sizes: dict[Literal["cpu", "cuda"], dict[str, int]] = Field(
        description="per device: named sizes passed to the grader's input builder"
    )
    full_points_for: str = Field(
        min_length=1, description="what earns all the speed points, in words the handout prints "
        "(e.g. 'any loop-free solution'); staff variants in solutions/<slug>/speed_variants/acceptable_*.py")
    no_points_for: str = Field(
        min_length=1, description="what earns none, in words the handout prints (e.g. 'a Python loop over "
        "pixels or batch items'); staff variants in solutions/<slug>/speed_variants/unacceptable_*.py")
    full_at: float = Field(1.5, gt=0, description="ratio at or below which all points are earned")
    zero_at: float = Field(6.0, gt=0, description="ratio at or above which no points are earned")
    leaderboard: bool = Field(False, description="publish the ratio on Gradescope's leaderboard")
    warmup: int = Field(3, ge=1, description="untimed (but checked) calls per side before sampling")
    min_samples: int = Field(10, ge=3)
    max_samples: int = Field(60, ge=3)
    max_seconds: float = Field(20.0, gt=0, description="time cap for sampling one function")
    stability: float = Field(0.1, gt=0, description="stop once IQR/median of both sides is below this")

    @model_validator(mode="after")
    def _curve(self) -> Timed:
        if self.zero_at <= self.full_at:
            raise ValueError("zero_at must be greater than full_at")
        if self.max_samples < self.min_samples:
            raise ValueError("max_samples must be at least min_samples")
        return self


class Manifest(Strict):
    """The whole ``assignment.toml``."""

    slug: Identifier = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    submission: str = Field("", description="file name students submit; defaults to <slug>.py")
    seed: int = 0
    dtype_rule: str = Field("", description="the handout's dtype rule for results (e.g. 'outputs keep the "
                            "input dtype'), shown when a dtype is wrong; empty: the handout states none")
    limits: Limits = Limits()
    forbidden: Forbidden = Forbidden()
    parts: list[Part] = Field(min_length=1)
    groups: list[Group] = Field(min_length=1)
    timed: list[Timed] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        part_names = [p.name for p in self.parts]
        if len(set(part_names)) != len(part_names):
            raise ValueError("part names must be unique")
        group_names = [g.name for g in self.groups]
        if len(set(group_names)) != len(group_names):
            raise ValueError("group names must be unique")
        for g in self.groups:
            if g.part not in part_names:
                raise ValueError(f"group {g.name!r} names unknown part {g.part!r}")
        for part in part_names:
            correctness = [g for g in self.groups if g.part == part and g.kind == "correctness"]
            for hidden, which in ((False, "public"), (True, "hidden")):
                if not any(g.hidden == hidden for g in correctness):
                    raise ValueError(f"part {part!r} needs a {which} correctness group (hidden = {str(hidden).lower()})")
        for t in self.timed:
            if t.part not in part_names:
                raise ValueError(f"timed entry names unknown part {t.part!r}")
            group = next((g for g in self.groups if g.name == t.group), None)
            if group is None or group.kind != "performance" or group.part != t.part:
                raise ValueError(f"timed entry for {t.part!r} must name a performance group of {t.part!r}")
        timed_parts = [t.part for t in self.timed]
        if len(set(timed_parts)) != len(timed_parts):
            raise ValueError("a part is timed at most once (one [[timed]] entry per part)")
        for g in self.groups:
            if g.kind == "performance" and sum(t.group == g.name for t in self.timed) != 1:
                raise ValueError(f"performance group {g.name!r} needs exactly one [[timed]] entry naming it")
        if self.submission and self.submission != f"{self.slug}.py":
            raise ValueError(f"submission must be {self.slug}.py (the assignment contract)")
        return self

    @property
    def submission_file(self) -> str:
        return self.submission or f"{self.slug}.py"

    @property
    def total_points(self) -> float:
        return sum(g.points for g in self.groups)

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)

    def group(self, name: str) -> Group:
        return next(g for g in self.groups if g.name == name)

    def dtype_rule_for(self, part: str | None) -> str:
        """The dtype rule the handout states for ``part``'s results ("" when it states none)."""
        own = self.part(part).dtype_rule if part in {p.name for p in self.parts} else None
        return self.dtype_rule if own is None else own

    def forbidden_for(self, part: str | None) -> list[str]:
        """Python names banned while ``part`` runs (assignment-wide plus the part's own)."""
        names = list(self.forbidden.python)
        if part is not None and part in {p.name for p in self.parts}:
            names += self.part(part).forbidden
        return sorted(set(names))

    def all_forbidden_python(self) -> list[str]:
        return sorted(set(self.forbidden.python).union(*(p.forbidden for p in self.parts)))


class ManifestError(Exception):
    """A manifest that cannot be used; the message names the file, the field and the problem."""


def load_manifest(path: Path) -> Manifest:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {msg}")
        raise ManifestError(f"{path}: " + "; ".join(problems)) from None


def json_schema() -> str:
    """The manifest's JSON Schema, generated from the models (never written by hand)."""
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "assignment.toml"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"

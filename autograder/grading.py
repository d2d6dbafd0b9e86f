"""``grade()`` and ``check()``: the one function behind the CLI, batch and Gradescope.

Runs pytest in this (grader) process over the assignment's public graders and,
for ``grade``, the hidden ones, with the submission in a sandboxed worker.
A submission that crashes, hangs or cheats is a graded outcome; only a broken
grader or framework raises ``FrameworkError``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import torch

from autograder.course import Assignment, FrameworkError
from autograder.pytest_plugin import GradingRun
from autograder.results import CaseOutcome, Results, build_results
from autograder.sandbox.capabilities import Capabilities, detect

Status = Literal["graded", "timeout", "crashed", "no_submission"]


@dataclass
class GradeReport:
    results: Results
    status: Status
    cases: list[CaseOutcome]
    protections: Capabilities
    student_output: str = ""
    internal_errors: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return self.results.score

    @property
    def max_score(self) -> float:
        return self.results.max_score


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        from autograder.course import UsageError

        raise UsageError("--device cuda was asked for, but no CUDA device is available")
    return device


def _hypothesis_profile() -> None:
    from hypothesis import HealthCheck, Phase, settings

    settings.register_profile(
        "autograder", derandomize=True, deadline=None, max_examples=15, database=None,
        suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
        print_blob=False,
    )
    settings.load_profile("autograder")


def _uses_hypothesis(assignment: Assignment, mode: str) -> bool:
    """Do the graders that will run import hypothesis? (Importing it costs ~0.2 s: not for nothing.)"""
    folders = [assignment.public_tests] + ([assignment.hidden_tests] if mode == "grade" else [])
    return any("hypothesis" in path.read_text(errors="replace")
               for folder in folders if folder is not None and folder.is_dir() for path in folder.glob("*.py"))


def grade(assignment: Assignment, submission: Path | None, *, mode: str = "grade", device: str = "cpu",
          seed: int | None = None, caps: Capabilities | None = None, workdir: Path | None = None,
          results_path: Path | None = None, limits: dict[str, Any] | None = None,
          performance: bool = True, spawner: Any = None, hidden_seeds: list[int] | None = None) -> GradeReport:
    """Grade one submission; ``mode="check"`` runs the public graders only.

    ``limits`` overrides manifest limits for this run (e.g. shorter timeouts in tests);
    ``performance=False`` leaves out the timed groups (they are then not in the results);
    ``spawner`` supplies workers (batch grading forks them from a pre-warmed zygote);
    ``hidden_seeds`` replaces the submission's own hidden seed (several: every hidden case runs once per seed).
    """
    started = time.monotonic()
    if limits:
        assignment = _with_limits(assignment, limits)
    caps = caps or detect()
    device = resolve_device(device)
    if _uses_hypothesis(assignment, mode):
        _hypothesis_profile()
    if mode == "grade" and assignment.hidden_tests is None and any(g.hidden for g in assignment.manifest.groups):
        from autograder.course import UsageError

        raise UsageError(f"the hidden graders of {assignment.slug} are not here (solutions/ missing); "
                         "use `autograder check` for the public tests")
    if mode == "grade" and hidden_seeds is None:
        _check_secret(assignment)
    run = GradingRun(assignment, submission, mode=mode, device=device, seed=seed, caps=caps, workdir=workdir,
                     performance=performance, spawner=spawner, hidden_seeds=hidden_seeds)
    paths = [str(assignment.public_tests)]
    if mode == "grade" and assignment.hidden_tests is not None:
        paths.append(str(assignment.hidden_tests))
    args = pytest_args(assignment, paths) + ["-p", "autograder.pytest_plugin"]
    old = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with grader_helpers(paths):
            code = pytest.main(args, plugins=[run])
    finally:
        if old is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = old
    if run.collect_errors or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR,
                                      pytest.ExitCode.INTERRUPTED):
        raise FrameworkError("the graders could not be run:\n" + "\n".join(run.collect_errors or [str(code)]))
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise FrameworkError(f"no graders found for {assignment.slug}")
    report = _report(run, caps, time.monotonic() - started)
    if results_path is not None:
        report.results.write(results_path)
    return report


def pytest_args(assignment: Assignment, paths: list[str]) -> list[str]:
    """pytest's command line for running graders: quiet, no user config, no caches."""
    quiet = [f"-p no:{name}" for name in ("cacheprovider", "terminal", "logging", "unraisableexception",
                                          "threadexception", "faulthandler", "junitxml", "pastebin",
                                          "doctest", "stepwise", "warnings")]
    return paths + " ".join(quiet).split() + [
        "--assert=plain", "--import-mode=importlib", "-o", "python_files=test_*.py",
        "--rootdir", str(assignment.directory.parent), "-c", os.devnull]


def _check_secret(assignment: Assignment) -> None:
    """Hidden inputs need the course secret: say how to provide it before anything runs."""
    from autograder.course import UsageError
    from autograder.hidden_seed import SecretError, course_secret

    try:
        course_secret(assignment.course_root)
    except SecretError as exc:
        raise UsageError(str(exc)) from None


@contextlib.contextmanager
def grader_helpers(folders: list[str]) -> Iterator[None]:
    """Let graders import helper modules that sit beside them (``assignments/<slug>/tests/<slug>_checks.py``).

    Public and hidden graders share oracles and feedback hints this way instead of copying
    them. The folders are on ``sys.path`` only while the graders run, and the helpers are
    forgotten afterwards, so the next grade (another assignment, or edited graders) imports
    its own.
    """
    before = set(sys.modules)
    sys.path[:0] = folders
    try:
        yield
    finally:
        for folder in folders:
            if folder in sys.path:
                sys.path.remove(folder)
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if any(origin.startswith(folder + os.sep) for folder in folders):
                del sys.modules[name]


def _with_limits(assignment: Assignment, limits: dict[str, Any]) -> Assignment:
    manifest = assignment.manifest
    updated = manifest.model_copy(update={"limits": manifest.limits.model_copy(update=limits)})
    copy = Assignment(assignment.directory, assignment.course_root)
    copy.__dict__["manifest"] = updated
    return copy


def _status(session: Any) -> Status:
    """no_submission > crashed (import failed or the worker died) > timeout (any) > graded."""
    if session.submission_error is not None:
        return "no_submission"
    if session.import_status == "crashed" or session.stats["crashes"]:
        return "crashed"
    if session.import_status == "timeout" or session.stats["timeouts"] or session.stopped:
        return "timeout"
    return "graded"


def what_to_do(problem: str, module_file: str) -> str:
    """One line of advice for a submission-level problem (said once, at the top of the feedback)."""
    stem = Path(module_file).stem
    if ".ipynb" in problem or "notebook" in problem:
        advice = (f"save the notebook again from Jupyter or Colab (File > Download > .ipynb) and hand in "
                  f"that {stem}.ipynb, or hand in {module_file}")
    elif "SyntaxError" in problem or "IndentationError" in problem or "TabError" in problem:
        advice = f"fix that line (`python {module_file}` shows the same error), then check again"
    elif "did not finish" in problem:
        advice = ("code at the top level runs when your file is imported: move experiments and long runs under "
                  "`if __name__ == \"__main__\":`")
    elif "forbidden" in problem:
        advice = "remove that call from the top level of your file"
    elif problem.startswith("importing"):
        advice = (f"code at the top level runs when your file is imported; `python {module_file}` shows the "
                  "same error")
    else:
        advice = f"hand in {module_file} (or {stem}.ipynb, or a folder or .zip that holds it)"
    return f"What to do: {advice}. No test could run until then."


def _report(run: GradingRun, caps: Capabilities, elapsed: float) -> GradeReport:
    session = run.session
    if session.weaker_limits:  # a limit the worker could not set is a protection not in force
        caps = dataclasses.replace(caps, missing=caps.missing + tuple(
            f"resource limit weaker than the manifest asks: {w}" for w in sorted(session.weaker_limits)))
    status = _status(session)
    cases = list(run.cases.values())
    header_lines = []
    module_file = run.assignment.manifest.submission_file
    if session.submission_error:
        header_lines.append(f"Nothing to grade: {session.submission_error}")
        header_lines.append(what_to_do(session.submission_error, module_file))
    elif session.import_failure is not None:
        header_lines.append(session.import_failure.render(hidden=False))
        header_lines.append(what_to_do(session.import_failure.summary, module_file))
    if session.staged is not None:
        header_lines += session.staged.notes
    internal = [f"{c.nodeid}: {c.internal_error}" for c in cases if c.internal_error]
    extra = {
        "status": status,
        "mode": run.mode,
        "device": run.device,
        "sandbox": {"in_force": caps.in_force, "missing": list(caps.missing)},
        "calls": dict(session.stats),
        "grader_errors": internal,
        "timing": {part: t for part, t in run.timings.items()},
        "hidden_seed": [str(s) for s in run.hidden_seeds] if len(run.hidden_seeds) > 1
                       else str(run.hidden_seeds[0]) if run.hidden_seeds else None,  # staff only
    }
    results = build_results(run.assignment.manifest, cases, execution_time=elapsed,
                            header="\n".join(header_lines), extra=extra,
                            include=run.runs_group)
    return GradeReport(results, status, cases, caps, student_output="", internal_errors=internal)

"""The pytest plugin: graders are ordinary pytest tests; this gives them what they need.

Fixtures: ``student`` (the submission, as a proxy to its sandboxed worker),
``reference`` (the staff solution, hidden graders only), ``manifest``,
``seed``/``gen`` (deterministic per test), ``device``, ``worker_data`` (a
folder the grader writes and the worker reads), ``credit`` (partial credit and
leaderboard values). Markers: ``@pytest.mark.group("name")`` ties a test to a
manifest group, which holds its points, visibility and kind;
``@pytest.mark.needs_values`` marks a case that code computing nothing can pass
(an error path, a shape-only, empty or trivial input): it counts only once a
value check of the same part passes (``scoring.py``).

Seeds: public graders draw from the manifest's fixed seed; hidden graders from
the submission's hidden seed (``hidden_seed.py``), through ``seed``/``gen`` and,
for Hypothesis tests, Hypothesis's own seed.

pytest runs in the grader process only; nothing here is visible to the worker.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from autograder import scoring
from autograder.failures import GradingFailure
from autograder.results import CaseOutcome

RUN_KEY = pytest.StashKey["GradingRun"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption("--ag-assignment", help="assignment slug or folder to grade")
    group.addoption("--ag-submission", help="submission to grade (.py, folder, .zip, .ipynb)")
    group.addoption("--ag-mode", default="grade", choices=["grade", "check"])
    group.addoption("--ag-device", default="cpu")
    group.addoption("--ag-seed", type=int, default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "group(name): the manifest group a grader belongs to")
    config.addinivalue_line("markers", "needs_values: an error-path, shape-only or trivial check; it counts "
                                       "only once a value check of the same part passes")
    if RUN_KEY in config.stash:
        return
    run = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, GradingRun)), None)
    if run is None and config.getoption("--ag-assignment", None):
        from autograder.course import resolve_assignment

        run = GradingRun(resolve_assignment(config.getoption("--ag-assignment")),
                         Path(config.getoption("--ag-submission")), mode=config.getoption("--ag-mode"),
                         device=config.getoption("--ag-device"), seed=config.getoption("--ag-seed"))
        config.pluginmanager.register(run, "autograder-run")
    if run is not None:
        config.stash[RUN_KEY] = run
        run.configure()


def _run(request: pytest.FixtureRequest) -> GradingRun:
    try:
        return request.config.stash[RUN_KEY]
    except KeyError:
        pytest.skip("not a grading run (use `autograder grade` or --ag-assignment)")


@pytest.fixture(scope="session")
def student(request: pytest.FixtureRequest) -> Any:
    from autograder.student import StudentModule

    return StudentModule(_run(request).session)


@pytest.fixture(scope="session")
def reference(request: pytest.FixtureRequest) -> Any:
    return _run(request).reference()


@pytest.fixture(scope="session")
def manifest(request: pytest.FixtureRequest) -> Any:
    return _run(request).assignment.manifest


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest) -> torch.device:
    return torch.device(_run(request).device)


@pytest.fixture(autouse=True)
def _ag_hidden_seed(request: pytest.FixtureRequest) -> int:
    """Which of the run's hidden seeds this case uses (several only when a run asks for them)."""
    return int(getattr(request, "param", 0))


@pytest.fixture
def seed(request: pytest.FixtureRequest, _ag_hidden_seed: int) -> int:
    return _run(request).case_seed(request.node, _ag_hidden_seed)


@pytest.fixture
def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@dataclass
class WorkerData:
    """A folder the grader writes (``host``) that the student's code reads as ``worker``."""

    host: Path
    worker: str


@pytest.fixture
def worker_data(request: pytest.FixtureRequest) -> WorkerData:
    run = _run(request)
    host_root, worker_root = run.session.data_paths()
    name = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    host = host_root / name
    host.mkdir(parents=True, exist_ok=True)
    host.chmod(0o755)
    return WorkerData(host, f"{worker_root}/{name}")


class Credit:
    """Partial credit (0..1) and leaderboard values a test may record."""

    def __init__(self) -> None:
        self.fraction = 1.0
        self.note = ""
        self.leaderboard: list[tuple[str, float, str]] = []
        self.extra: dict[str, Any] = {}

    def set(self, fraction: float, note: str = "") -> None:
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.note = note

    def board(self, name: str, value: float, order: str = "asc") -> None:
        self.leaderboard.append((name, float(value), order))


@pytest.fixture
def credit(request: pytest.FixtureRequest) -> Credit:
    c = Credit()
    request.node.stash[CREDIT_KEY] = c
    return c


CREDIT_KEY = pytest.StashKey[Credit]()


@pytest.fixture
def timing(request: pytest.FixtureRequest, credit: Credit) -> Any:
    from autograder.timing_fixture import TimingFixture

    return TimingFixture(_run(request), credit)


@pytest.fixture(autouse=True)
def _release_handles(request: pytest.FixtureRequest) -> Any:
    yield
    run = request.config.stash.get(RUN_KEY, None)
    if run is not None and run.session.worker is not None:
        run.session.release_all()


def _feedback(exc: BaseException) -> tuple[str, str, str, str]:
    """(visible text, hidden-safe text, kind, internal error) for an exception from a test."""
    if isinstance(exc, BaseExceptionGroup):
        inner = next((e for e in exc.exceptions if isinstance(e, GradingFailure)), exc.exceptions[0])
        return _feedback(inner)
    stub = _not_implemented_within(exc)
    if stub is not None:  # a grader wrapped the stub's NotImplementedError with its own words
        exc = stub
    if isinstance(exc, GradingFailure):
        return exc.render(hidden=False), exc.render(hidden=True), exc.kind, ""
    if isinstance(exc, AssertionError):
        text = str(exc).strip() or "a check failed"
        return text, text.splitlines()[0], "wrong", ""
    if isinstance(exc, pytest.fail.Exception):
        text = str(exc).strip()
        return text, text.splitlines()[0] if text else "failed", "wrong", ""
    text = f"the grader could not check this ({type(exc).__name__}); course staff were notified"
    return text, text, "grader_error", f"{type(exc).__name__}: {exc}"


def _not_implemented_within(exc: BaseException) -> GradingFailure | None:
    """The stub's "not implemented" failure, if ``exc`` is it or was raised while handling it.

    A function that is not written yet is one line of feedback, whatever a grader added
    around the exception (its own hint, a note about the inputs).
    """
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, GradingFailure) and current.kind == "not_implemented":
            return current
        current, seen = current.__context__, seen + 1
    return None


def _misplaced(group: Any, in_hidden_dir: bool) -> str:
    if group.kind == "performance":
        return "" if in_hidden_dir else "performance graders need the reference: put them in solutions/<slug>/tests"
    if group.hidden != in_hidden_dir:
        where = "solutions/<slug>/tests" if group.hidden else "assignments/<slug>/tests"
        return f"group {group.name!r} belongs in {where}"
    return ""


def _short_repr(excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
    """pytest's long failure report reads source and costs ~0.5 s; results never use it."""
    return excinfo.exconly()[:4000]


class GradingRun:
    """One grading of one submission: owns the worker session and collects outcomes."""

    def __init__(self, assignment: Any, submission: Path | None, *, mode: str = "grade",
                 device: str = "cpu", seed: int | None = None, caps: Any = None,
                 workdir: Path | None = None, performance: bool = True, spawner: Any = None,
                 hidden_seeds: list[int] | None = None) -> None:
        self.assignment = assignment
        self.spawner = spawner
        self.performance = performance and mode == "grade"
        self.group_sizes: dict[str, int] = {}
        self.timings: dict[str, Any] = {}
        self._reference_session: Any = None
        self.submission = submission
        self.mode = mode
        self.device = device
        self.seed = assignment.manifest.seed if seed is None else seed
        self.hidden_seeds = list(hidden_seeds or [])  # empty: derived from the submission in configure()
        self.caps = caps
        self.workdir = workdir
        self.session: Any = None
        self.cases: dict[str, CaseOutcome] = {}
        self.collect_errors: list[str] = []
        self.started = time.monotonic()
        self._reference: Any = None

    def configure(self) -> None:
        from autograder.session import StudentSession

        workdir = self.spawner.new_workdir() if self.spawner is not None else self.workdir
        self.session = StudentSession(self.assignment.manifest, self.submission, device=self.device,
                                      caps=self.caps, workdir=workdir, spawner=self.spawner)
        if not self.hidden_seeds and self.mode == "grade":
            self.hidden_seeds = [self._submission_seed()]
        self.session.start()

    def _submission_seed(self) -> int:
        """The hidden seed of this submission's content; the fixed seed when nothing was staged."""
        from autograder.hidden_seed import content_digest, course_secret, hidden_seed

        if self.session.staged is None:
            return self.seed
        secret = course_secret(self.assignment.course_root)
        return hidden_seed(secret, self.assignment.slug, content_digest(self.session.staged.directory))

    def is_hidden(self, node: Any) -> bool:
        """Does this test belong to a hidden group (its inputs then come from the hidden seed)?"""
        marker = node.get_closest_marker("group")
        names = {g.name for g in self.assignment.manifest.groups}
        if not marker or not marker.args or marker.args[0] not in names:
            return False
        return self.assignment.manifest.group(marker.args[0]).hidden

    def case_seed(self, node: Any, index: int = 0) -> int:
        """The seed of one test case: the fixed seed (public) or the hidden seed (hidden), mixed with its id."""
        base = self.hidden_seeds[index] if self.hidden_seeds and self.is_hidden(node) else self.seed
        digest = hashlib.sha256(f"{base}:{node.nodeid}".encode()).digest()
        return int.from_bytes(digest[:4], "little")

    def runs_group(self, group: Any) -> bool:
        if group.kind == "performance":
            return self.performance
        return self.mode == "grade" or not group.hidden

    def part_passed(self, part: str) -> bool:
        """May ``part`` earn speed points yet: the scoring rule on the cases run so far, every
        collected correctness case of the part among them (``scoring.speed_allowed``)."""
        records = scoring.part_records(self.assignment.manifest, self.cases.values(), self.group_sizes)
        return scoring.speed_allowed(part, records)

    def reference_session(self) -> Any:
        """A worker running the reference under the same sandbox and limits (for timing)."""
        if self._reference_session is None:
            from autograder.session import StudentSession

            path = self.assignment.reference_file
            if path is None:
                pytest.skip("the reference solution is not available here")
            workdir = self.spawner.new_workdir() if self.spawner is not None else None
            self._reference_session = StudentSession(self.assignment.manifest, path, device=self.device,
                                                     caps=self.caps, policy=self.session.policy,
                                                     workdir=workdir, spawner=self.spawner)
        return self._reference_session

    def reference(self) -> Any:
        if self._reference is None:
            path = self.assignment.reference_file
            if path is None:
                pytest.skip("the reference solution is not available here")
            name = f"_autograder_reference_{self.assignment.slug}"
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            self._reference = module
        return self._reference

    # ------------------------------------------------------------ pytest hooks

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """With several hidden seeds (a robustness check), every hidden case runs once per seed."""
        if len(self.hidden_seeds) > 1 and self.is_hidden(metafunc.definition):
            metafunc.parametrize("_ag_hidden_seed", range(len(self.hidden_seeds)), indirect=True,
                                 ids=[f"hidden-seed-{k}" for k in range(len(self.hidden_seeds))])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        """Hypothesis draws hidden examples from the case's seed too (public ones stay derandomized)."""
        fn = getattr(item, "obj", None)
        if fn is not None and hasattr(fn, "hypothesis") and self.is_hidden(item):
            index = item.callspec.params.get("_ag_hidden_seed", 0) if hasattr(item, "callspec") else 0
            fn._hypothesis_internal_use_seed = self.case_seed(item, index)

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        manifest = self.assignment.manifest
        keep, drop = [], []
        for item in items:
            marker = item.get_closest_marker("group")
            name = marker.args[0] if marker and marker.args else None
            if name is None or name not in {g.name for g in manifest.groups}:
                self.collect_errors.append(f"{item.nodeid}: no valid @pytest.mark.group (got {name!r})")
                drop.append(item)
                continue
            group = manifest.group(name)
            in_hidden_dir = self.assignment.hidden_tests is not None and \
                Path(str(item.path)).is_relative_to(self.assignment.hidden_tests)
            problem = _misplaced(group, in_hidden_dir)
            if problem:
                self.collect_errors.append(f"{item.nodeid}: {problem}")
                drop.append(item)
                continue
            if not self.runs_group(group):
                drop.append(item)
                continue
            item.stash[GROUP_KEY] = name
            item.repr_failure = _short_repr  # type: ignore[method-assign]  # feedback comes from _feedback
            keep.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        keep.sort(key=lambda it: manifest.group(it.stash[GROUP_KEY]).kind == "performance")  # timing last
        items[:] = keep
        for item in keep:
            self.group_sizes[item.stash[GROUP_KEY]] = self.group_sizes.get(item.stash[GROUP_KEY], 0) + 1
        graded = {g.name for g in manifest.groups if self.runs_group(g)}
        for name in sorted(graded - {item.stash[GROUP_KEY] for item in keep}):
            if self.mode == "grade" and manifest.group(name).hidden and self.assignment.hidden_tests is None:
                continue  # hidden graders are not shipped here (a student's copy)
            self.collect_errors.append(f"group {name!r} has no graders")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
        report: pytest.TestReport = yield
        group = item.stash.get(GROUP_KEY, None)
        if group is None:
            return report
        case = self.cases.setdefault(item.nodeid, CaseOutcome(
            item.nodeid, group, "passed", needs_values=item.get_closest_marker("needs_values") is not None))
        if report.skipped and case.outcome == "passed" and report.when in ("setup", "call"):
            case.outcome = "skipped"
        elif report.failed and case.outcome != "failed":
            case.outcome = "failed"
            exc = call.excinfo.value if call.excinfo is not None else Exception(report.longreprtext)
            case.visible_text, case.hidden_text, case.kind, case.internal_error = _feedback(exc)
        if report.when == "call":
            credit = item.stash.get(CREDIT_KEY, None)
            if credit is not None:
                case.credit = credit.fraction
                case.leaderboard = credit.leaderboard
                case.extra = credit.extra
                if credit.note and case.outcome == "passed":
                    case.visible_text = case.hidden_text = credit.note
        return report

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        for session in (self.session, self._reference_session):
            if session is not None:
                session.close()
                if self.spawner is not None:
                    shutil.rmtree(session.workdir, ignore_errors=True)


GROUP_KEY = pytest.StashKey[str]()

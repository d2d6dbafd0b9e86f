"""The hostile-submission suite: every release must contain all of these.

Each case is a submission in ``cases/`` that attacks the grader. Every case must meet the same
containment: grading returns normally with a valid results file under 1 MB; the score is at most
what the honest part of the submission earns; no process of the submission survives; nothing
outside the sandbox's scratch changed (the checkout is hashed before and after). Some cases add a
check of their own (a secret that must not leak, a marker file that must not appear...).
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, assert_no_leftovers, grade_source, group_scores

CASES = Path(__file__).parent / "cases"
HONEST = (CASES / "_honest.py").read_text()
SHAPE_POINTS = 6.0  # both broadcast_shape groups: the honest part most cases keep
FAST = {"call_timeout_s": 2.0, "import_timeout_s": 5.0}
SECRET = "s3cr3t-token-4242"
SKIP_DIRS = {".git", ".venv", "__pycache__", ".hypothesis", "demo-out", "build", "dist"}


@dataclass
class Case:
    category: str
    honest: float
    check: Callable[..., None] = lambda report, ctx: None
    status: str | None = None
    performance: bool = False
    subs: dict[str, str] = field(default_factory=dict)


def text(report) -> str:
    return report.results.model_dump_json()


def no_marker(report, ctx) -> None:
    assert not ctx["marker"].exists()


def contains(*words: str) -> Callable:
    def check(report, ctx) -> None:
        for word in words:
            assert word in text(report), word
    return check


def lacks(*words: str) -> Callable:
    def check(report, ctx) -> None:
        for word in words:
            assert word not in text(report), word
    return check


def daemon_is_dead(report, ctx) -> None:
    marker: Path = ctx["marker"]
    if marker.exists():  # only reachable without bubblewrap; it must have stopped growing
        size = marker.stat().st_size
        import time

        time.sleep(1.0)
        assert marker.stat().st_size == size


def hidden_feedback_is_cut(report, ctx) -> None:
    """A hidden test shows the type and a short first line of the student's exception, nothing more."""
    hidden = [t.output for t in report.results.tests if t.name.endswith("(hidden)")]
    visible = [t.output for t in report.results.tests if not t.name.endswith("(hidden)")]
    assert any("raised ValueError: LEAK-FIRST" in out for out in hidden), hidden
    assert any("raised RuntimeError: short [...]" in out for out in hidden), hidden
    for out in hidden:
        assert "LEAK-LINE2" not in out and "LEAK-TAIL" not in out, out
    assert any("LEAK-LINE2" in out for out in visible)  # public inputs are the student's to see


PERF_CHEAT = 20.0  # every correctness point, none of the speed points
CASES_TABLE: dict[str, Case] = {
    # forged outcomes
    "sys_exit": Case("forged", SHAPE_POINTS, status="crashed"),
    "atexit_forge": Case("forged", SHAPE_POINTS, lacks('"score": 100')),
    "write_results_everywhere": Case("forged", SHAPE_POINTS + 3, lacks("999")),
    "print_fake": Case("forged", SHAPE_POINTS, lacks("All tests passed", "PASSED PASSED")),
    "kill_parent": Case("forged", SHAPE_POINTS),
    "ignore_signals": Case("forged", SHAPE_POINTS, contains("did not finish within 2 s"), status="timeout"),
    # lying values
    "tensor_subclass": Case("lying", SHAPE_POINTS, contains("subclass of torch.Tensor")),
    "eq_anything": Case("lying", 0.0, contains("should be a torch.Tensor")),
    "nan_outputs": Case("lying", SHAPE_POINTS, contains("NaN/inf")),
    "huge_output": Case("lying", SHAPE_POINTS),
    "pickle_payload": Case("lying", SHAPE_POINTS, no_marker),
    # tampering
    "patch_checkers": Case("tampering", SHAPE_POINTS),
    "patch_builtins": Case("tampering", SHAPE_POINTS),
    "read_solutions": Case("tampering", SHAPE_POINTS, lacks("BEGIN SOLUTION", "def test_")),
    "syspath_import": Case("tampering", SHAPE_POINTS, lacks("IMPORTED")),
    "gc_frames": Case("tampering", SHAPE_POINTS, contains("FOUND []")),
    "mutate_inputs": Case("tampering", SHAPE_POINTS, contains("modified its input")),
    "forbidden_then_erase": Case("tampering", SHAPE_POINTS, contains("forbidden call: torch.Tensor.expand")),
    # resources
    "loop_import": Case("resources", 0.0, contains("did not finish within 5 s"), status="timeout"),
    "loop_function": Case("resources", 20 - 6, status="timeout"),
    "memory_bomb": Case("resources", SHAPE_POINTS),
    "fork_bomb": Case("resources", SHAPE_POINTS),
    "thread_bomb": Case("resources", SHAPE_POINTS),
    "daemon": Case("resources", SHAPE_POINTS, daemon_is_dead),
    "output_flood": Case("resources", SHAPE_POINTS, lacks("FLOOD FLOOD")),
    "disk_fill": Case("resources", SHAPE_POINTS),
    "segfault": Case("resources", SHAPE_POINTS, contains("SIGSEGV"), status="crashed"),
    "syntax_error": Case("resources", 0.0, contains("SyntaxError on line 2"), status="crashed"),
    # escape
    "write_outside": Case("escape", SHAPE_POINTS, contains("wrote []")),
    "network": Case("escape", SHAPE_POINTS + 3, contains("standardize")),
    "env_secret": Case("escape", SHAPE_POINTS, lacks(SECRET)),
    "exception_exfil": Case("escape", SHAPE_POINTS, hidden_feedback_is_cut),
    "proc_snoop": Case("escape", SHAPE_POINTS, lacks(SECRET, "solutions/broadcasting")),
    "symlink_escape": Case("escape", SHAPE_POINTS, lacks("BEGIN SOLUTION")),
    # timing cheats (graded with performance: the cheat only acts on the timed inputs)
    "cache_replay": Case("timing", PERF_CHEAT, contains("while being timed differ"), performance=True),
    "lazy_thread": Case("timing", PERF_CHEAT, contains("while being timed differ"), performance=True),
    "patched_clocks": Case("timing", PERF_CHEAT, performance=True),
    "burner_thread": Case("timing", PERF_CHEAT, performance=True),
}


def checkout_digest() -> str:
    """What a submission would tamper with: the framework, this assignment, its reference and graders,
    plus the names of every file in the checkout (so a new file anywhere shows up)."""
    digest = hashlib.sha256()
    guarded = [ROOT / "autograder", ROOT / "assignments/broadcasting", ROOT / "solutions/broadcasting"]
    files = []
    for folder, dirs, names in os.walk(ROOT):  # pruned: walking .venv alone took seconds per call
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        files += [Path(folder) / n for n in names] + [Path(folder) / d for d in dirs if os.path.islink(Path(folder) / d)]
    for path in sorted(files):  # every name, symlinks included; the guarded files' bytes too
        digest.update(str(path.relative_to(ROOT)).encode())
        if path.is_file() and any(path.is_relative_to(g) for g in guarded):
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def listener():
    """A loopback server: any connection from a submission is recorded here."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                hits.append(conn.recv(100))
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join()
    server.close()


def case_source(name: str, ctx: dict) -> str:
    source = (CASES / f"{name}.py").read_text()
    slow = (ROOT / "solutions/broadcasting/speed_variants/unacceptable_row_loop.py").read_text().replace(
        "from __future__ import annotations\n", "")
    reference = (ROOT / "solutions/broadcasting/broadcasting.py").read_text()
    subs = {"HONEST": HONEST, "SLOW": slow, "REFERENCE": reference.replace("from __future__ import annotations\n", ""),
            "PORT": str(ctx["port"]), "MARKER": str(ctx["marker"]), "ROOT": str(ROOT),
            "RESULTS": str(ctx["results"])}
    for key, value in subs.items():
        source = source.replace("{" + key + "}", value)
    return source


@pytest.mark.parametrize("name", sorted(CASES_TABLE), ids=lambda n: f"{CASES_TABLE[n].category}-{n}")
def test_hostile_submission_is_contained(name, tmp_path, monkeypatch, listener):
    case = CASES_TABLE[name]
    port, hits = listener
    monkeypatch.setenv("AG_TEST_SECRET", SECRET)  # planted in the grader's environment
    ctx = {"port": port, "marker": tmp_path / "MARKER", "results": tmp_path / "results.json"}
    before = checkout_digest()
    # Through a worker forked from the session's zygote, as `autograder batch` and Gradescope grade; the
    # command-line path (a fresh worker) is test_the_command_line_exits_zero_with_a_valid_results_file's.
    report = grade_source("broadcasting", case_source(name, ctx), tmp_path, limits=FAST,
                          performance=case.performance)
    assert report.score <= case.honest + 1e-9, group_scores(report)
    assert_no_leftovers()
    assert checkout_digest() == before, "the submission changed files outside its scratch folder"
    assert hits == [], "the submission reached the grader's network"
    for fake in ('"score": 999', "exfiltrated", SECRET):
        assert fake not in (tmp_path / "results.json").read_text()
    if case.status is not None:
        assert report.status == case.status
    case.check(report, ctx)


def test_suite_covers_every_category():
    categories = {c.category for c in CASES_TABLE.values()}
    assert {"forged", "lying", "tampering", "resources", "escape", "timing"} <= categories
    assert len(CASES_TABLE) >= 30


@pytest.mark.parametrize("name", ["kill_parent", "patch_builtins", "atexit_forge", "output_flood"])
def test_the_command_line_exits_zero_with_a_valid_results_file(name, tmp_path):
    ctx = {"port": 9, "marker": tmp_path / "MARKER", "results": tmp_path / "results.json"}
    (tmp_path / "broadcasting.py").write_text(case_source(name, ctx))
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "broadcasting",
                           str(tmp_path / "broadcasting.py"), "--results", str(ctx["results"])],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from autograder.results import Results

    assert Results.read(ctx["results"]).score <= SHAPE_POINTS + 3

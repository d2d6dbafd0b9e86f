"""Hostile submissions against the grading core: each is contained and earns at most its honest part.

Every case checks: grading returns normally with a valid results file, the score is at most what
the honest code earns, nothing the submission printed or forged appears, no sandbox process survives.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT, assert_no_leftovers, grade_source, group_scores

HOSTILE = CORPUS / "hostile"
HONEST = (HOSTILE / "_honest.py").read_text()
HONEST_POINTS = 6.0  # broadcast_shape's two groups
FAST = {"call_timeout_s": 2.0, "import_timeout_s": 5.0}


def source(name: str, **subs: str) -> str:
    text = (HOSTILE / f"{name}.py").read_text().replace("{HONEST}", HONEST)
    for key, value in subs.items():
        text = text.replace("{" + key + "}", value)
    return text


def contained(report, honest: float = HONEST_POINTS) -> None:
    assert report.score <= honest + 1e-9, group_scores(report)
    assert_no_leftovers()
    for fake in ("All tests passed", '"score": 100', "exfiltrated"):
        assert fake not in report.results.model_dump_json()


@pytest.mark.parametrize("name", ["sys_exit", "atexit_forge"])
def test_exits_and_forged_results(name, tmp_path):
    before = {p: p.stat().st_mtime for p in ROOT.rglob("results.json")}
    report = grade_source("broadcasting", source(name), tmp_path, limits=FAST)
    contained(report)
    assert group_scores(report)["broadcast_shape: worked examples and errors"] == 2
    after = {p: p.stat().st_mtime for p in ROOT.rglob("results.json")}
    assert after == before, "the submission wrote a results.json in the checkout"
    assert not Path("/tmp/results.json").exists() or os.stat("/tmp/results.json").st_uid == 0
    assert report.status == "crashed"  # os._exit ended the worker: a TA sees it in the gradebook


def test_printing_fake_results(tmp_path):
    report = grade_source("broadcasting", source("print_fake"), tmp_path, limits=FAST)
    contained(report)
    assert "PASSED PASSED" not in (tmp_path / "results.json").read_text()


def test_tensor_subclass_that_equals_everything(tmp_path):
    report = grade_source("broadcasting", source("tensor_subclass"), tmp_path, limits=FAST)
    contained(report)
    assert "subclass of torch.Tensor" in report.results.model_dump_json()


def test_patched_checkers_in_the_worker(tmp_path):
    report = grade_source("broadcasting", source("patch_checkers"), tmp_path, limits=FAST)
    contained(report)


def test_infinite_loop_at_import(tmp_path):
    report = grade_source("broadcasting", source("loop_import"), tmp_path, limits=FAST)
    contained(report, honest=0)
    assert report.status == "timeout"
    assert "did not finish within 5 s" in report.results.output


def test_infinite_loop_in_one_function_costs_only_that_function(tmp_path):
    report = grade_source("broadcasting", source("loop_function"), tmp_path, limits=FAST)
    scores = group_scores(report)
    assert_no_leftovers()
    assert scores["expand_to: values, stride-0 view, errors"] == 0
    assert scores["pairwise_sq_dists: values and non-negativity"] == 2
    assert scores["standardize: eps, constant columns, float64, non-contiguous (hidden)"] == 2
    assert report.score == report.max_score - 6
    assert report.status == "timeout"
    assert "did not finish within 2 s" in report.results.model_dump_json()


def test_network_is_unreachable(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                hits.append(conn.recv(100))
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        port = str(listener.getsockname()[1])
        report = grade_source("broadcasting", source("network", PORT=port), tmp_path, limits=FAST)
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert hits == []
    contained(report, honest=HONEST_POINTS + 3)  # standardize is honest apart from the attempt
    assert group_scores(report)["standardize: values"] == 1


def test_environment_secrets_do_not_reach_the_worker(tmp_path, monkeypatch):
    secret = "s3cr3t-token-4242"
    monkeypatch.setenv("AG_TEST_SECRET", secret)
    report = grade_source("broadcasting", source("env_secret"), tmp_path, limits=FAST)
    contained(report)
    assert secret not in (tmp_path / "results.json").read_text()


def test_pickle_payloads_are_never_unpickled(tmp_path):
    marker = tmp_path / "PWNED"
    report = grade_source("broadcasting", source("pickle_payload", MARKER=str(marker)), tmp_path, limits=FAST)
    contained(report)
    assert not marker.exists()


def test_syntax_error_is_graded_zero_with_line(tmp_path):
    report = grade_source("broadcasting", source("syntax_error"), tmp_path, limits=FAST)
    contained(report, honest=0)
    assert report.status == "crashed"
    assert "SyntaxError on line 2" in report.results.output


def test_solutions_are_not_readable_from_the_worker(tmp_path):
    report = grade_source("broadcasting", source("read_solutions"), tmp_path, limits=FAST)
    contained(report)
    text = (tmp_path / "results.json").read_text()
    assert "BEGIN SOLUTION" not in text and "def test_" not in text

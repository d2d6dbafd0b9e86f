"""Performance grading: fair to every correct technique; cheats are in tests/adversarial (category timing)."""

from __future__ import annotations

import pytest
from conftest import CORPUS, ROOT, grade_source, group_scores, output_of

from autograder.course import resolve_assignment
from autograder.timing import score_fraction

PERF = "pairwise_sq_dists: speed (time / reference time)"
SLOW = (ROOT / "solutions/broadcasting/speed_variants/unacceptable_row_loop.py").read_text().replace(
    "from __future__ import annotations\n", "")
REFERENCE = (ROOT / "solutions/broadcasting/broadcasting.py").read_text()


def cheat(name: str) -> str:
    reference = REFERENCE.replace("from __future__ import annotations\n", "")
    return (CORPUS.parent / "adversarial" / "cases" / f"{name}.py").read_text().replace("{SLOW}", SLOW).replace("{REFERENCE}", reference)


def timing_of(report) -> dict:
    return report.results.extra_data["timing"]["pairwise_sq_dists"]


def test_score_curve():
    assert score_fraction(1.0, 1.5, 6.0) == 1.0 and score_fraction(1.5, 1.5, 6.0) == 1.0
    assert score_fraction(6.0, 1.5, 6.0) == 0.0 and score_fraction(50, 1.5, 6.0) == 0.0
    assert score_fraction(3.0, 1.5, 6.0) == pytest.approx(0.5)


def test_reference_and_another_fast_technique_earn_the_speed_points(tmp_path):
    for name, path in [("reference", ROOT / "solutions/broadcasting/broadcasting.py"),
                       ("einsum", CORPUS / "broadcasting/correct_einsum.py")]:
        report = grade_source("broadcasting", path, tmp_path / name, fresh=True)
        assert group_scores(report)[PERF] == 3, (name, timing_of(report))
        assert report.results.leaderboard[0].value == pytest.approx(timing_of(report)["ratio"], abs=1e-3)


def test_loops_keep_correctness_points_and_lose_speed_points(tmp_path):
    report = grade_source("broadcasting", SLOW, tmp_path, fresh=True)
    scores = group_scores(report)
    assert scores[PERF] == 0, timing_of(report)
    assert report.score == report.max_score - 3
    assert timing_of(report)["ratio"] >= resolve_assignment("broadcasting").manifest.timed[0].zero_at
    assert "x the reference's time" in output_of(report, PERF)


def test_speed_points_need_correctness(tmp_path):
    report = grade_source("broadcasting", cheat("fast_but_wrong"), tmp_path, fresh=True)
    assert group_scores(report)[PERF] == 0
    assert "every correctness test of pairwise_sq_dists must pass first" in output_of(report, PERF)


def test_background_threads_cannot_slow_the_reference(tmp_path):
    """The worker not being timed is frozen: a CPU burner in the submission does not slow the reference."""
    honest = timing_of(grade_source("broadcasting", SLOW, tmp_path / "honest", fresh=True))
    burner = grade_source("broadcasting", cheat("burner_thread"), tmp_path / "burner", fresh=True)
    assert group_scores(burner)[PERF] == 0
    assert timing_of(burner)["reference_ms"] < 1.5 * honest["reference_ms"], (timing_of(burner), honest)


def test_sampling_stops_early_only_when_the_verdict_is_certain():
    """Pure checks of the stopping rule: a time cap needs three timed pairs; clear verdicts stop at min_samples."""
    from autograder.manifest import Timed
    from autograder.timing import _should_stop

    spec = Timed(part="f", group="g", sizes={"cpu": {}}, full_points_for="loop-free", no_points_for="loops",
                 full_at=3.0, zero_at=9.0, min_samples=10, max_seconds=5.0)
    ref = [1.0] * 10
    assert _should_stop([], [], spec, elapsed=60.0) == ""  # a slow warm-up alone gives no verdict
    assert _should_stop([20.0] * 2, [1.0] * 2, spec, elapsed=60.0) == ""
    assert _should_stop([20.0] * 3, [1.0] * 3, spec, elapsed=60.0) == "time cap"
    noisy = [1.0, 1.9, 1.2, 1.7, 1.1, 1.8, 1.3, 1.6, 1.4, 1.5]  # spread too wide to be "stable"
    assert _should_stop(noisy, ref, spec, elapsed=1.0) == "verdict certain (well within full points)"
    assert _should_stop([x * 20 for x in noisy], ref, spec, elapsed=1.0) == "verdict certain (far too slow)"
    near = [x * 2.4 for x in noisy]  # around full_at: keep sampling
    assert _should_stop(near, ref, spec, elapsed=1.0) == ""

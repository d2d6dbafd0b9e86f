"""Results as people read them: scores rounded to two decimals, totals that add up, no repeated lines."""

from __future__ import annotations

from autograder.manifest import Manifest
from autograder.results import CaseOutcome, build_results, format_score, round_score


def _manifest(points: list[float]) -> Manifest:
    return Manifest.model_validate({
        "slug": "demo", "title": "Demo",
        "parts": [{"name": "f"}],
        "groups": [{"name": f"g{i}", "part": "f", "title": f"f: group {i}", "points": p, "hidden": i == 0}
                   for i, p in enumerate(points)],
    })


def test_round_score_and_format():
    assert round_score(21.0808) == 21.08 and round_score(22.1614) == 22.16
    assert str(round_score(-0.0)) == "0.0"
    assert format_score(7.5) == "7.5" and format_score(10.0) == "10" and format_score(1 / 3) == "0.33"


def test_total_is_the_sum_of_the_rounded_test_scores():
    manifest = _manifest([10, 10, 10])
    cases = []
    for i in range(3):  # 1 of 3 cases passes in every group: 3.333... points each
        cases += [CaseOutcome(f"t{i}_{j}", f"g{i}", "passed" if j == 0 else "failed",
                              visible_text="f: wrong values", hidden_text="f: wrong values") for j in range(3)]
    results = build_results(manifest, cases, execution_time=1.23456, header="", extra={})
    assert [t.score for t in results.tests] == [3.33, 3.33, 3.33]
    assert results.score == 9.99
    assert results.output.endswith("Score: 9.99 / 30")

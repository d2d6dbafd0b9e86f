"""No credit for degenerate code: raising, returning the input, zeros or NaN earns 0 in every group.

The baselines are generated from each assignment's reference and manifest
(``autograder.degenerate``); ``autograder validate`` runs the same check.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import shared_spawner

from autograder.course import list_assignments, resolve_assignment
from autograder.degenerate import MODES, SEEDS, baseline_problems, baseline_source
from autograder.degenerate.runtime import DegenerateObject, degenerate_value
from autograder.grading import grade, resolve_device
from autograder.results import CaseOutcome, build_results

SLUGS = sorted(a.slug for a in list_assignments())


@pytest.mark.parametrize("slug", SLUGS)
def test_degenerate_baselines_earn_nothing(slug: str) -> None:
    assignment = resolve_assignment(slug)
    spawner = shared_spawner(assignment, None, resolve_device("cpu"))
    # one fixed hidden seed here (deterministic, and a quarter of the cost); `validate` uses all of SEEDS
    scores, problems = baseline_problems(assignment, lambda a, path, **kw: grade(a, path, spawner=spawner, **kw),
                                         seeds=SEEDS[:1])
    assert set(scores) == set(MODES)
    assert not problems, "\n".join(problems)
    assert all(score.startswith("0/") for score in scores.values()), scores


def test_every_assignment_is_covered() -> None:
    assert SLUGS == sorted(["attention", "broadcasting", "conv_layer", "custom_dataset", "mlp_backprop",
                            "normal_equation", "training_numerics"])


def _load(source: str, name: str) -> dict:
    import sys
    import types

    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(source, name, "exec"), module.__dict__)  # noqa: S102 - our own generated baseline
    finally:
        del sys.modules[name]
    return module.__dict__


def test_baselines_keep_signatures_and_compute_nothing() -> None:
    """Run in-process on trusted, generated code: each mode does what it says, classes included."""
    attention = resolve_assignment("attention")
    q = torch.randn(2, 3, 4)
    ns = {mode: _load(baseline_source(attention, mode), f"_ag_baseline_{mode}") for mode in MODES}
    with pytest.raises(ValueError) as info:  # the baseline's own copy of DegenerateError
        ns["raise"]["scaled_dot_product_attention"](q, q, q)
    assert all(isinstance(info.value, t) for t in (ValueError, IndexError, KeyError, TypeError, RuntimeError))
    with pytest.raises(ValueError):
        ns["raise"]["MultiHeadSelfAttention"](8, 2)
    assert ns["identity"]["scaled_dot_product_attention"](q, q, q) is q
    out, attn = ns["zeros"]["scaled_dot_product_attention"](q, q, q)
    assert out.shape == (2, 3, 4) and attn.shape == (2, 3, 3) and not out.any() and not attn.any()
    out, attn = ns["nan"]["scaled_dot_product_attention"](q, q, q)
    assert out.isnan().all() and attn.isnan().all()
    mask = ns["nan"]["causal_mask"](3)
    assert mask.dtype == torch.bool and not mask.any()  # a bool tensor cannot hold NaN: all False
    module = ns["identity"]["MultiHeadSelfAttention"](8, 2)
    assert isinstance(module, torch.nn.Module) and not dict(module.named_children())  # none of the reference's
    x = torch.randn(2, 5, 8)
    assert module(x) is x
    zeros = ns["zeros"]["MultiHeadSelfAttention"](10, 3)(x)  # no ValueError either; forward: zeros like x
    assert zeros.shape == x.shape and zeros.abs().sum() == 0


def test_degenerate_values_keep_structure() -> None:
    value = (torch.ones(2, dtype=torch.int64), 3, 2.5, [torch.ones(1)], {"a": True}, None, "s")
    zeros = degenerate_value(value, "zeros")
    assert zeros[0].dtype == torch.int64 and not zeros[0].any()
    assert zeros[1:3] == (0, 0.0) and zeros[4] == {"a": False} and zeros[5] is None and zeros[6] == ""
    nan = degenerate_value(value, "nan")
    assert nan[1] != nan[1] and nan[3][0].isnan().all()
    loader = degenerate_value(torch.utils.data.DataLoader(torch.arange(6.0), batch_size=2), "zeros")
    assert isinstance(loader, DegenerateObject) and len(loader) == 0
    assert [b.tolist() for b in loader] == [[0.0, 0.0]] * 3


def _case(group: str, outcome: str = "passed", needs_values: bool = False) -> CaseOutcome:
    return CaseOutcome(f"t::{group}-{outcome}-{needs_values}", group, outcome, needs_values=needs_values)  # type: ignore[arg-type]


def test_value_gate_counts_error_path_checks_once_a_value_check_passes() -> None:
    """scoring.py: marked cases count once some value check of the part (public or hidden) passed."""
    manifest = resolve_assignment("broadcasting").manifest
    errors = [_case("expand_to_public", needs_values=True)] * 4
    for values, expected in [([], 0.0), (["failed"] * 3, 0.0), (["passed", "failed", "failed", "failed"], 1.0),
                             (["passed"] * 4, 1.0)]:
        cases = errors + [_case("expand_to_hidden", o) for o in values]
        results = build_results(manifest, cases, execution_time=0, header="", extra={})
        public = next(t for t in results.tests if t.name.startswith("expand_to: values"))
        assert public.score == pytest.approx(2 * expected), (values, public)
        if expected < 1:
            assert "only once a value check of expand_to passes" in public.output
    # the performance gate is the other rule in scoring.py: speed points need every correctness case
    cases = [_case("pairwise_sq_dists_public"), _case("pairwise_sq_dists_hidden", "failed")]
    cases.append(CaseOutcome("t::perf", "pairwise_sq_dists_perf", "passed"))
    results = build_results(manifest, cases, execution_time=0, header="", extra={})
    perf = next(t for t in results.tests if "speed" in t.name)
    assert perf.score == 0 and "must pass first" in perf.output


def test_validate_reports_a_group_that_pays_degenerate_code(tmp_path: Path) -> None:
    """A grader whose only check is an unmarked error path pays the raising baseline: validate says so."""
    import shutil

    course = tmp_path / "course"
    src = resolve_assignment("broadcasting")
    shutil.copytree(src.directory, course / "assignments" / "broadcasting")
    shutil.copytree(src.solution_dir, course / "solutions" / "broadcasting")
    public = course / "assignments" / "broadcasting" / "tests" / "test_broadcasting_public.py"
    public.write_text(public.read_text().replace("@pytest.mark.needs_values\n", ""))
    assignment = resolve_assignment("broadcasting", root=course)
    spawner = shared_spawner(assignment, None, "cpu")
    scores, problems = baseline_problems(assignment, lambda a, path, **kw: grade(a, path, spawner=spawner, **kw),
                                         seeds=SEEDS[:1])
    assert any("'raise' earns" in p and "broadcast_shape" in p for p in problems), problems

"""Speed contracts: the handout says what earns speed points, and every staff variant gets exactly that.

For each timed assignment the staff variants in ``solutions/<slug>/speed_variants/`` are
graded for correctness once and then timed against the reference three times each, in
one interleaved run through the graders' own protocol (``autograder calibrate``). Every
acceptable variant must earn full speed points every time, every unacceptable one none,
with no flips between repetitions.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, grade_source, group_scores, shared_spawner

from autograder.calibrate import calibrate, summary
from autograder.course import Assignment, list_assignments, resolve_assignment
from autograder.handout import BEGIN, END, render
from autograder.speed_variants import layout_problems, speed_variants
from autograder.stubgen import StubError, build_templates
from autograder.timing import score_fraction

TIMED = [a.slug for a in list_assignments() if a.manifest.timed]
REPEATS = 3
# A spectrum's verdicts take 30 s (normal_equation) to 2 min (conv_layer, attention) on 2 cores. The default
# suite times one spectrum end to end (the cheapest; the machinery is the same for every assignment, and
# test_timing.py grades fast and slow techniques of others); every other spectrum runs with -m slow, and
# `autograder validate` checks the same verdicts before a release.
DEFAULT_VERDICTS = {"normal_equation"}
VERDICTS = [s if s in DEFAULT_VERDICTS else pytest.param(s, marks=pytest.mark.slow) for s in TIMED]


def test_the_timed_assignments_are_covered():
    assert {"attention", "broadcasting", "conv_layer", "mlp_backprop", "normal_equation", "training_numerics"} <= set(TIMED)


@pytest.mark.parametrize("slug", TIMED)
def test_variant_layout(slug):
    """At least three acceptable techniques besides the reference and one unacceptable, per timed function."""
    assert layout_problems(resolve_assignment(slug)) == []


@pytest.mark.parametrize("slug", TIMED)
def test_handout_speed_section_is_generated_from_the_manifest(slug):
    assignment = resolve_assignment(slug)
    readme = assignment.handout.read_text()
    assert render(readme, assignment.manifest) == readme  # committed handout == what build-student writes
    section = readme[readme.index(BEGIN) + len(BEGIN) : readme.index(END)]
    assert "every correctness test of that function to pass first" in section
    for t in assignment.manifest.timed:
        for words in (t.full_points_for, t.no_points_for, f"up to {t.full_at:g}x", f"{t.zero_at:g}x or more"):
            assert words in section, (t.part, words)
    outside = readme.replace(section, "")
    assert "full points at" not in outside and "none at" not in outside  # no threshold prose that could drift


def test_a_drifted_handout_fails_the_check_and_build_student_repairs_it(tmp_path):
    source = resolve_assignment("conv_layer")
    shutil.copytree(source.directory, tmp_path / "conv_layer")
    assignment = Assignment(tmp_path / "conv_layer", None)
    readme = assignment.handout.read_text()
    assert build_templates([assignment], check=True) == []
    assignment.handout.write_text(readme.replace("(up to ", "(up to 9", 1))  # someone edits the numbers by hand
    assert build_templates([assignment], check=True) == [assignment.handout]
    build_templates([assignment])
    assert assignment.handout.read_text() == readme
    assignment.handout.write_text(readme.replace(END, ""))
    with pytest.raises(StubError, match="needs the two lines"):
        build_templates([assignment], check=True)


@pytest.mark.slow  # about 6 min under load for the 24 variants; `validate` checks the same
@pytest.mark.parametrize("slug", TIMED)
def test_every_variant_is_correct(tmp_path, slug):
    """Speed points need every correctness test: each variant must earn all correctness points."""
    for v in speed_variants(resolve_assignment(slug)):
        report = grade_source(slug, v.path, tmp_path / v.name, performance=False)
        assert report.score == report.max_score, (v.name, group_scores(report))


@pytest.mark.parametrize("slug", VERDICTS)
def test_every_variant_earns_what_the_contract_promises(slug):
    assignment = resolve_assignment(slug)
    spectra = calibrate(assignment, "cpu", repeats=REPEATS, spawner=shared_spawner(assignment, None, "cpu"))
    assert [s.part for s in spectra] == [t.part for t in assignment.manifest.timed]
    table = {s.part: {name: summary(r) for name, r in s.ratios.items()} for s in spectra}
    for s in spectra:
        assert s.failures == {}, s.failures
        for v in s.variants:
            ratios = s.ratios[v.name]
            assert len(ratios) == REPEATS, (s.part, v.name)
            fractions = [score_fraction(r, s.spec.full_at, s.spec.zero_at) for r in ratios]
            expected = 1.0 if v.expects_full(s.part) else 0.0
            assert fractions == [expected] * REPEATS, (s.part, v.name, ratios, table)
        assert s.violations() == [], table


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: gpu_check measures instead")
def test_gpu_check_without_cuda_says_so_and_exits_0():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks/gpu_check.py")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "no CUDA device" in done.stdout and "unmeasured" in done.stdout


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: the CUDA sizes are calibrated on a GPU")
@pytest.mark.parametrize("slug", TIMED)
def test_every_variant_earns_what_the_contract_promises_on_cuda(slug):
    spectra = calibrate(resolve_assignment(slug), "cuda", repeats=REPEATS)
    assert [p for s in spectra for p in s.violations()] == []

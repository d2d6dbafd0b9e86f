"""Performance graders for broadcasting: student time / reference time on fresh random inputs."""

import pytest

from autograder.testing import randn


def pairwise_inputs(gen, n, m, d):
    return (randn(n, d, gen=gen), randn(m, d, gen=gen)), {}


def check_dists(student, reference):
    """The timed outputs must match the reference's within the tolerance the correctness tests use."""
    from autograder.testing import assert_close

    scale = float(reference.abs().max()) if reference.numel() else 1.0
    assert_close(student, reference, rtol=0, atol=64 * 1.2e-7 * max(scale, 1.0), fn="pairwise_sq_dists")


@pytest.mark.group("pairwise_sq_dists_perf")
def test_pairwise_sq_dists_speed(timing):
    timing.measure("pairwise_sq_dists", pairwise_inputs, check=check_dists)

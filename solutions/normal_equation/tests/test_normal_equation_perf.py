"""Performance grader: a large batch of small, well-conditioned least-squares systems."""

import pytest

from autograder.testing import assert_close, randn


def systems(gen, batch, n, d):
    return (randn(batch, n, d, gen=gen), randn(batch, n, gen=gen)), {}


def check_theta(student, reference):
    assert_close(student, reference, rtol=1e-3, atol=1e-4, fn="normal_equation")


@pytest.mark.group("normal_equation_perf")
def test_normal_equation_speed(timing):
    timing.measure("normal_equation", systems, check=check_theta)

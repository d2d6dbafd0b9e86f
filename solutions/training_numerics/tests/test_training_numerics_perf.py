"""Performance grader: batch_norm in training mode on an [n, c] activation (sizes from the manifest's
[[timed]] entry). Outputs produced while timed are checked against the reference's."""

import pytest
import torch
from training_numerics_checks import check

from autograder.testing import CheckFailed, randn


def activations(gen, n, c):
    """Fresh inputs for one sample: a linear layer's activation with per-channel offsets, and [c] statistics."""
    x = randn(n, c, gen=gen, scale=2.0) + randn(1, c, gen=gen)
    gamma, beta = randn(c, gen=gen) + 1.0, randn(c, gen=gen)
    running_mean, running_var = randn(c, gen=gen) * 0.5, torch.rand(c, generator=gen) + 0.5
    return (x, gamma, beta, running_mean, running_var, True), {"momentum": 0.1, "eps": 1e-5}


def check_timed(student, reference):
    if not isinstance(student, (tuple, list)) or len(student) != 3:
        raise CheckFailed("batch_norm: while timed, the result is not (out, new_running_mean, new_running_var)")
    for got, expected, what in zip(student, reference, ("the output", "new_running_mean", "new_running_var")):
        check(got, expected.double(), "batch_norm", f"{what} (while timed)", torch.float32, 2e-4)


@pytest.mark.group("batch_norm_perf")
def test_batch_norm_speed(timing):
    timing.measure("batch_norm", activations, check=check_timed)

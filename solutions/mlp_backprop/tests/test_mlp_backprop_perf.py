"""Performance grader: the whole forward and backward pass of a two-layer MLP on one batch."""

import pytest
import torch

from autograder.testing import assert_close, randn


def batch(gen, n, d_in, hidden, classes):
    params = {"W1": randn(d_in, hidden, gen=gen, scale=d_in ** -0.5), "b1": randn(hidden, gen=gen, scale=0.1),
              "W2": randn(hidden, classes, gen=gen, scale=hidden ** -0.5), "b2": randn(classes, gen=gen, scale=0.1)}
    x = randn(n, d_in, gen=gen)
    y = torch.randint(0, classes, (n,), generator=gen)
    return (params, x, y), {}


def check_loss_and_grads(student, reference):
    loss, grads = reference
    if not isinstance(student, (tuple, list)) or len(student) != 2 or not isinstance(student[1], dict):
        raise AssertionError("mlp_loss_and_grads: while timed, the result is not (loss, grads)")
    assert_close(student[0], loss, rtol=1e-4, atol=1e-5, fn="mlp_loss_and_grads", what="the loss")
    for key, value in grads.items():
        scale = float(value.abs().max()) if value.numel() else 1.0
        assert_close(student[1].get(key), value, rtol=1e-3, atol=1e-4 * max(scale, 1e-3),
                     fn="mlp_loss_and_grads", what=f"grads[{key!r}]")


@pytest.mark.group("mlp_loss_and_grads_perf")
def test_mlp_loss_and_grads_speed(timing):
    timing.measure("mlp_loss_and_grads", batch, check=check_loss_and_grads)

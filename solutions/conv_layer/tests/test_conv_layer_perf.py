"""Performance graders for conv_layer: a 3 x 3 conv layer's forward and backward pass on one batch."""

import pytest

from autograder.testing import assert_close, randn, unpack


def forward_inputs(gen, n, c, h, w, f, k, stride, padding):
    x, wt, b = randn(n, c, h, w, gen=gen), randn(f, c, k, k, gen=gen, scale=(c * k * k) ** -0.5), randn(f, gen=gen)
    return (x, wt, b), {"stride": stride, "padding": padding}


def backward_inputs(gen, n, c, h, w, f, k, stride, padding):
    ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    x, wt = randn(n, c, h, w, gen=gen), randn(f, c, k, k, gen=gen, scale=(c * k * k) ** -0.5)
    dout = randn(n, f, ho, wo, gen=gen)
    return (dout, x, wt), {"stride": stride, "padding": padding}


def close(student, reference, fn: str, what: str) -> None:
    """Within the correctness tests' float32 tolerance, relative to the largest reference entry."""
    scale = float(reference.abs().max()) if reference.numel() else 1.0
    assert_close(student, reference, rtol=1e-4, atol=1e-4 * max(scale, 1.0), fn=fn, what=f"{what} (while timed)")


def check_forward(student, reference):
    close(student, reference, "conv2d_forward", "the output")


def check_backward(student, reference):
    got = unpack(student, 3, fn="conv2d_backward", what="the result (dx, dw, db) while timed")
    for value, expected, name in zip(got, reference, ("dx", "dw", "db"), strict=True):
        close(value, expected, "conv2d_backward", name)


@pytest.mark.group("conv2d_forward_perf")
def test_conv2d_forward_speed(timing):
    timing.measure("conv2d_forward", forward_inputs, check=check_forward)


@pytest.mark.group("conv2d_backward_perf")
def test_conv2d_backward_speed(timing):
    timing.measure("conv2d_backward", backward_inputs, check=check_backward)

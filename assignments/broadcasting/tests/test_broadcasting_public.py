"""Public graders for broadcasting: students can run these with `autograder check broadcasting`."""

import numpy as np
import pytest
import torch

from autograder.testing import CheckFailed, assert_close, assert_equal, assert_raises, origin_of, randn


# needs_values: a case whose answer is one of the inputs, or all zeros, is passed by code that
# computes nothing; it counts only once a value check of the same function passes.
@pytest.mark.group("broadcast_shape_public")
@pytest.mark.parametrize("shapes", [
    ((3, 1), (1, 4)),
    ((4,), (2, 3, 4)),
    ((8, 1, 6, 1), (7, 1, 5)),
    ((), (5,)),
    pytest.param(((1,), (0,)), marks=pytest.mark.needs_values),
    ((2, 1), (1, 3), (4, 1, 1)),
    pytest.param(((),), marks=pytest.mark.needs_values),
    pytest.param((), marks=pytest.mark.needs_values),
])
def test_broadcast_shape_examples(student, shapes):
    expected = tuple(int(n) for n in np.broadcast_shapes(*shapes))
    assert_equal(student.broadcast_shape(*shapes), expected, fn="broadcast_shape")


@pytest.mark.group("broadcast_shape_public")
@pytest.mark.needs_values
@pytest.mark.parametrize("shapes", [((2,), (3,)), ((2, 3), (3, 2)), ((0,), (2,))])
def test_broadcast_shape_incompatible(student, shapes):
    assert_raises("ValueError", student.broadcast_shape, *shapes)


def _check_view(result, x, shape):
    """A stride-0 view sharing x's storage, with x's strides on non-broadcast dimensions."""
    origin = origin_of(result)
    if origin is not None and 0 not in origin.shares_storage_with:
        raise CheckFailed("expand_to: the result is a copy; it must be a view sharing x's storage",
                          f"call: {origin.call}")
    lead = len(shape) - x.dim()
    for i, (size, stride) in enumerate(zip(result.shape, result.stride())):
        j = i - lead
        broadcast = j < 0 or (x.shape[j] == 1 and size != 1)
        want = 0 if broadcast else x.stride(j)
        if size > 1 and stride != want:
            raise CheckFailed(f"expand_to: dimension {i} has stride {stride}, expected {want}"
                              + (" (a broadcast dimension has stride 0)" if broadcast else ""),
                              f"call: {origin.call if origin else ''}")


@pytest.mark.group("expand_to_public")
@pytest.mark.parametrize("in_shape,shape", [
    ((3, 1), (3, 4)),
    ((4,), (2, 3, 4)),
    ((1, 1), (5, 6)),
    pytest.param((2, 3), (2, 3), marks=pytest.mark.needs_values),
    pytest.param((1,), (0,), marks=pytest.mark.needs_values),
])
def test_expand_to_view(student, gen, in_shape, shape):
    x = randn(*in_shape, gen=gen)
    result = student.expand_to(x, shape)
    assert_close(result, torch.broadcast_to(x, shape), rtol=0, atol=0)
    _check_view(result, x, shape)


@pytest.mark.group("expand_to_public")
@pytest.mark.needs_values
@pytest.mark.parametrize("in_shape,shape", [((3,), (4,)), ((2, 3), (3,)), ((2, 1), (3, 1))])
def test_expand_to_incompatible(student, gen, in_shape, shape):
    assert_raises("ValueError", student.expand_to, randn(*in_shape, gen=gen), shape)


def _sq_dists(x, y):
    return ((x.double()[:, None, :] - y.double()[None, :, :]) ** 2).sum(-1).to(x.dtype)


def check_sq_dists(result, x, y):
    """Tolerance relative to the squared norms: the |x|^2+|y|^2-2xy expansion is as correct."""
    expected = _sq_dists(x, y)
    scale = sum(float((t.double() ** 2).sum(1).max()) if t.shape[0] else 0.0 for t in (x, y))
    eps = torch.finfo(x.dtype).eps
    assert_close(result, expected, rtol=0, atol=64 * eps * max(scale, 1.0))
    if result.numel() and bool((result < 0).any()):
        raise CheckFailed("pairwise_sq_dists: some distances are negative (clamp at 0)",
                          f"call: {origin_of(result).call}")


@pytest.mark.group("pairwise_sq_dists_public")
@pytest.mark.parametrize("n,m,d", [(5, 7, 3), (1, 4, 8), (16, 16, 32)])
def test_pairwise_values(student, gen, n, m, d):
    x, y = randn(n, d, gen=gen), randn(m, d, gen=gen)
    check_sq_dists(student.pairwise_sq_dists(x, y), x, y)


@pytest.mark.group("pairwise_sq_dists_public")
def test_pairwise_identical_points_nonnegative(student, gen):
    x = randn(20, 5, gen=gen, scale=100.0)
    check_sq_dists(student.pairwise_sq_dists(x, x), x, x)


@pytest.mark.group("standardize_public")
@pytest.mark.parametrize("n,d", [(10, 3), (50, 1), (7, 12)])
def test_standardize_values(student, gen, n, d):
    x = randn(n, d, gen=gen, scale=3.0) + 5.0
    expected = (x - x.mean(0)) / (x.std(0, correction=0) + 1e-8)
    assert_close(student.standardize(x), expected)

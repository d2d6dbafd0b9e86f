"""Hidden graders for broadcasting: randomized shapes and the edge cases of the contract."""

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from autograder.testing import (
    CheckFailed,
    assert_close,
    assert_equal,
    assert_raises,
    noncontiguous,
    origin_of,
    randn,
    transposed,
    trivial,
)

broadcastable = st.integers(1, 4).flatmap(
    lambda n: mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=5, min_side=0, max_side=5))


@pytest.mark.group("broadcast_shape_hidden")
@given(case=broadcastable)
def test_broadcast_shape_random(student, case):
    shapes, result = case
    differing = [i for i, s in enumerate(shapes) if tuple(s) != tuple(result)]
    assume(differing and any(result))  # the answer is neither an input nor all zeros (see the edges)
    first = differing[0]  # so that returning the first argument is wrong
    shapes = [shapes[first], *shapes[:first], *shapes[first + 1:]]
    assert_equal(student.broadcast_shape(*shapes), tuple(result), fn="broadcast_shape")


@pytest.mark.group("broadcast_shape_hidden")
@pytest.mark.needs_values
@given(shape=st.lists(st.integers(2, 6), min_size=1, max_size=4), data=st.data())
def test_broadcast_shape_random_incompatible(student, shape, data):
    pos = data.draw(st.integers(0, len(shape) - 1))
    other = list(shape)
    other[pos] = shape[pos] + data.draw(st.integers(1, 3))
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2))
    assert_raises("ValueError", student.broadcast_shape, tuple(lead + list(shape)), tuple(other))


@pytest.mark.group("broadcast_shape_hidden")
@pytest.mark.parametrize("shapes,expected", [
    (((0, 1), (1, 5)), (0, 5)),
    (((0,), (3, 0)), (3, 0)),
    pytest.param(((1, 1, 1),), (1, 1, 1), marks=pytest.mark.needs_values),  # the answer is the input
    pytest.param(((2, 3), (2, 3), (2, 3)), (2, 3), marks=pytest.mark.needs_values),
    (((1,), (1, 1), (1, 1, 1)), (1, 1, 1)),
])
def test_broadcast_shape_edges(student, shapes, expected):
    assert_equal(student.broadcast_shape(*shapes), expected, fn="broadcast_shape")


def _view_check(result, x, shape):
    origin = origin_of(result)
    if origin is not None and 0 not in origin.shares_storage_with:
        raise CheckFailed("expand_to: the result is a copy; it must be a view sharing x's storage")
    lead = len(shape) - x.dim()
    for i, (size, stride) in enumerate(zip(result.shape, result.stride())):
        j = i - lead
        broadcast = j < 0 or (x.shape[j] == 1 and size != 1)
        want = 0 if broadcast else x.stride(j)
        if size > 1 and stride != want:
            raise CheckFailed(f"expand_to: a {'broadcast' if broadcast else 'kept'} dimension has stride "
                              f"{stride}, expected {want}")


@pytest.mark.group("expand_to_hidden")
@given(case=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=4),
       dtype=st.sampled_from([torch.float32, torch.float64, torch.int64]))
def test_expand_to_random(student, case, dtype):
    (in_shape, _), shape = case
    assume(tuple(in_shape) != tuple(shape))  # a real expansion (size 0 and no-op cases: test_expand_to_trivial)
    x = torch.arange(1, int(torch.tensor(in_shape).prod()) + 1 if in_shape else 2).reshape(in_shape).to(dtype)
    result = student.expand_to(x, tuple(shape))
    assert_close(result, torch.broadcast_to(x, shape), rtol=0, atol=0)
    _view_check(result, x, tuple(shape))


@pytest.mark.group("expand_to_hidden")
@pytest.mark.needs_values
@pytest.mark.parametrize("in_shape,shape", [((0,), (0,)), ((1,), (3, 0)), ((2, 1, 3), (2, 1, 3))])
def test_expand_to_trivial(student, gen, in_shape, shape):
    x = randn(*in_shape, gen=gen, dtype=torch.float64)
    result = student.expand_to(x, shape)
    assert_close(result, torch.broadcast_to(x, shape), rtol=0, atol=0)
    _view_check(result, x, shape)


@pytest.mark.group("expand_to_hidden")
@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_expand_to_noncontiguous(student, gen, layout):
    base = randn(3, 1, 4, gen=gen, dtype=torch.float64)
    x = transposed(base) if layout == "transposed" else noncontiguous(base)
    shape = (2, 3, 5, 4) if layout == "strided" else (2, 3, 4, 4)
    if layout == "transposed":
        x = transposed(randn(3, 4, gen=gen, dtype=torch.float64))[:, :1]  # [3, 1], stride (1, 3)
        shape = (2, 3, 6)
    result = student.expand_to(x, shape)
    assert_close(result, torch.broadcast_to(x, shape), rtol=0, atol=0)
    _view_check(result, x, shape)


@pytest.mark.group("expand_to_hidden")
@pytest.mark.needs_values
@pytest.mark.parametrize("in_shape,shape", [((2, 3, 1), (3, 4)), ((3,), ()), ((0,), (2,)), ((2, 2), (2, 2, 3))])
def test_expand_to_errors(student, gen, in_shape, shape):
    assert_raises("ValueError", student.expand_to, randn(*in_shape, gen=gen), shape)


def _sq_dists(x, y):
    return ((x.double()[:, None, :] - y.double()[None, :, :]) ** 2).sum(-1).to(x.dtype)


def _check_dists(result, x, y):
    scale = sum(float((t.double() ** 2).sum(1).max()) if t.shape[0] else 0.0 for t in (x, y))
    assert_close(result, _sq_dists(x, y), rtol=0, atol=64 * torch.finfo(x.dtype).eps * max(scale, 1.0))
    if result.numel() and bool((result < 0).any()):
        raise CheckFailed("pairwise_sq_dists: some distances are negative (clamp at 0)")


@pytest.mark.group("pairwise_sq_dists_hidden")
@pytest.mark.parametrize("trial", range(4))
def test_pairwise_random(student, gen, trial):
    n, m, d = (int(v) for v in torch.randint(1, 40, (3,), generator=gen))
    x, y = randn(n, d, gen=gen), randn(m, d, gen=gen)
    _check_dists(student.pairwise_sq_dists(x, y), x, y)


@pytest.mark.group("pairwise_sq_dists_hidden")
@pytest.mark.parametrize("case", ["float64", "noncontiguous", "batch1", "large",
                                  *trivial("empty_n", "empty_m", "d0")])  # empty, or all 0
def test_pairwise_edges(student, gen, case):
    dtype = torch.float64 if case == "float64" else torch.float32
    n, m, d = {"batch1": (1, 1, 6), "empty_n": (0, 5, 3), "empty_m": (4, 0, 3), "d0": (3, 2, 0)}.get(case, (9, 11, 7))
    x = randn(n, d, gen=gen, dtype=dtype, scale=1e3 if case == "large" else 1.0)
    y = randn(m, d, gen=gen, dtype=dtype, scale=1e3 if case == "large" else 1.0)
    if case == "noncontiguous":
        x, y = noncontiguous(x), transposed(y)
    _check_dists(student.pairwise_sq_dists(x, y), x, y)


def _standardized(x, eps=1e-8):
    return (x - x.mean(0)) / (x.std(0, correction=0) + eps)


@pytest.mark.group("standardize_hidden")
@pytest.mark.parametrize("case", ["eps", "constant", "float64", "noncontiguous", "random",
                                  *trivial("one_row")])  # one row: the answer is all 0
def test_standardize_edges(student, gen, case):
    dtype = torch.float64 if case == "float64" else torch.float32
    n = 1 if case == "one_row" else int(torch.randint(2, 30, (1,), generator=gen))
    x = randn(n, 5, gen=gen, dtype=dtype, scale=2.0) - 1.0
    if case == "constant":
        x[:, 2] = 3.5
    if case == "noncontiguous":
        x = transposed(x)
    if case == "eps":
        assert_close(student.standardize(x, eps=0.5), _standardized(x, 0.5))
        assert_close(student.standardize(x, 1e-3), _standardized(x, 1e-3))
    else:
        assert_close(student.standardize(x), _standardized(x))

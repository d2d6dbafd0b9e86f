"""Hidden graders for normal_equation: random batched systems with exact rank deficiencies,
underdetermined systems, float64, non-contiguous inputs, empty batches, and gradient descent
on random problems step for step.

Rank-deficient inputs are *exactly* singular in floating point (a column that is an exact
multiple of another, a zero column, an integer column that is the sum of two others, fewer rows
than columns), so the minimum-norm answer is well defined and any sound technique finds it.
"""

from __future__ import annotations

import pytest
import torch
from normal_equation_checks import check_theta, descend, well_conditioned

from autograder.testing import assert_close, assert_raises, noncontiguous, randint, randn, transposed, trivial, unpack


def make_deficient(X: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Overwrite one column with an exact multiple (a power of two) of another, or with zeros."""
    X = X.clone()
    d = X.shape[-1]
    target, source = randint(gen, 0, d - 1), randint(gen, 0, d - 1)
    factor = [0.0, 2.0, -0.5, 1.0][randint(gen, 0, 3)] if source != target else 0.0
    X[..., target] = factor * X[..., source]
    return X


# ---------------------------------------------------------------- add_bias


@pytest.mark.group("add_bias_hidden")
@pytest.mark.parametrize("case", ["float64", "transposed", "strided", "no_features", "four_batch_dims", "single",
                                  *trivial("empty_rows", "empty_batch")])
def test_add_bias_edges(student, gen, case):
    shape = {"empty_rows": (0, 3), "no_features": (5, 0), "empty_batch": (0, 4, 3),
             "four_batch_dims": (2, 3, 1, 4, 2), "single": (1, 1)}.get(case, (6, 4))
    X = randn(*shape, gen=gen, dtype=torch.float64 if case == "float64" else torch.float32)
    if case == "transposed":
        X = transposed(X)
    if case == "strided":
        X = noncontiguous(X)
    expected = torch.cat([torch.ones(*X.shape[:-1], 1, dtype=X.dtype), X], dim=-1)
    assert_close(student.add_bias(X), expected, rtol=0, atol=0, fn="add_bias")


# ---------------------------------------------------------------- normal_equation


@pytest.mark.group("normal_equation_hidden")
@pytest.mark.parametrize("trial", range(4))
def test_random_batches_with_singular_members(student, gen, trial):
    batch = tuple(randint(gen, 1, 5) for _ in range(randint(gen, 1, 2)))
    d = randint(gen, 2, 6)
    n = d + randint(gen, 0, 10)
    X = well_conditioned(*batch, n=n, d=d, gen=gen)
    flat = X.reshape(-1, n, d)
    for i in range(flat.shape[0]):
        if randint(gen, 0, 1):
            flat[i] = make_deficient(flat[i], gen)
    X = flat.reshape(*batch, n, d)
    y = randn(*batch, n, gen=gen, scale=2.0)
    check_theta(student.normal_equation(X, y), X, y)


@pytest.mark.group("normal_equation_hidden")
@pytest.mark.parametrize("case", ["multiple_column", "two_dependencies", "integer_sum_column",
                                  "underdetermined", "one_row", *trivial("all_zero")])
def test_minimum_norm(student, gen, case):
    if case == "underdetermined":
        X = well_conditioned(n=7, d=3, gen=gen).mT.contiguous()  # 3 equations, 7 unknowns
    elif case == "one_row":
        X = randn(1, 4, gen=gen)
    elif case == "all_zero":
        X = torch.zeros(6, 3)
    elif case == "integer_sum_column":
        A = torch.randint(-3, 4, (12, 4), generator=gen).float()
        X = torch.cat([A, A[:, :1] + A[:, 1:2]], dim=1)
    else:
        X = well_conditioned(n=10, d=5, gen=gen)
        X[:, 4] = -0.5 * X[:, 0]
        if case == "two_dependencies":
            X[:, 2] = 0.0
    y = randn(X.shape[0], gen=gen)
    check_theta(student.normal_equation(X, y), X, y)


@pytest.mark.group("normal_equation_hidden")
@pytest.mark.parametrize("singular", [False, True])
def test_float64(student, gen, singular):
    X = well_conditioned(5, n=9, d=4, gen=gen, dtype=torch.float64)
    if singular:
        X[2:, :, 3] = 2.0 * X[2:, :, 1]
    y = randn(5, 9, gen=gen, dtype=torch.float64)
    check_theta(student.normal_equation(X, y), X, y)


@pytest.mark.group("normal_equation_hidden")
@pytest.mark.parametrize("case", ["transposed_X", "strided_y", "batch_one", "one_feature",
                                  "square", "large_scale", "many_small_systems", *trivial("empty_batch")])
def test_layouts_and_sizes(student, gen, case):
    batch, n, d = {"batch_one": ((1,), 8, 3), "empty_batch": ((0,), 5, 2), "one_feature": ((3,), 6, 1),
                   "square": ((4,), 5, 5), "many_small_systems": ((512,), 16, 4)}.get(case, ((2, 3), 10, 4))
    X = well_conditioned(*batch, n=n, d=d, gen=gen)
    y = randn(*batch, n, gen=gen)
    if case == "large_scale":
        X, y = X * 1000.0, y * 10.0
    if case == "transposed_X":
        X = transposed(X)
    if case == "strided_y":
        y = noncontiguous(y)
    check_theta(student.normal_equation(X, y), X, y)


# ---------------------------------------------------------------- feature_scale


WHAT_STD = "std"


def check_scaled(result, X: torch.Tensor) -> None:
    """Tolerances follow float rounding: a column whose mean is large next to its spread
    (ratio k = (|mean| + std) / std) loses about k ulps in X - mean, whatever the method."""
    scaled, mean, std = unpack(result, 3, fn="feature_scale", what="the result (X_scaled, mean, std)")
    exp_mean = X.double().mean(0)
    exp_std = X.double().std(0, correction=0)
    exp_scaled = torch.where(exp_std == 0, 0.0, (X.double() - exp_mean) / exp_std)
    spread = exp_std > 0
    ratio = float(((exp_mean.abs() + exp_std)[spread] / exp_std[spread]).max()) if spread.any() else 1.0
    tol = 32 * torch.finfo(X.dtype).eps
    largest = float(X.abs().max()) if X.numel() else 0.0
    assert_close(mean, exp_mean.to(X.dtype), rtol=tol, atol=tol * largest, fn="feature_scale", what="mean")
    assert_close(std, exp_std.to(X.dtype), rtol=tol * ratio, atol=tol * ratio * float(exp_std.max()),
                 fn="feature_scale", what=WHAT_STD)
    assert_close(scaled, exp_scaled.to(X.dtype), rtol=tol * ratio, atol=tol * ratio, fn="feature_scale",
                 what="X_scaled")


@pytest.mark.group("feature_scale_hidden")
@pytest.mark.parametrize("trial", range(3))
def test_feature_scale_random(student, gen, trial):
    n, d = randint(gen, 2, 60), randint(gen, 1, 8)
    offsets = randn(d, gen=gen, scale=10.0)
    scales = torch.rand(d, generator=gen) * 5 + 0.1
    X = randn(n, d, gen=gen) * scales + offsets
    check_scaled(student.feature_scale(X), X)


@pytest.mark.group("feature_scale_hidden")
@pytest.mark.parametrize("case", ["one_row", "zero_and_constant_columns", "all_constant", "float64",
                                  "transposed", "strided", "two_rows"])
def test_feature_scale_edges(student, gen, case):
    n = {"one_row": 1, "two_rows": 2}.get(case, 23)
    X = randn(n, 5, gen=gen, dtype=torch.float64 if case == "float64" else torch.float32, scale=2.0) + 1.0
    if case in ("zero_and_constant_columns", "float64"):
        X[:, 0] = 0.0
        X[:, 3] = -1.5
    if case == "all_constant":
        X = torch.full((n, 5), 4.0)
    if case == "transposed":
        X = transposed(X)
    if case == "strided":
        X = noncontiguous(X)
    check_scaled(student.feature_scale(X), X)


# ---------------------------------------------------------------- gradient_descent


def problem(n: int, d: int, gen: torch.Generator, dtype=torch.float32, standardise: bool = True):
    """Features (standardised or raw) plus a bias column, noisy targets, and a stable step size."""
    raw = randn(n, d, gen=gen, dtype=torch.float64, scale=3.0) + 2.0
    if standardise and d:
        raw = (raw - raw.mean(0)) / raw.std(0, correction=0)
    X = torch.cat([torch.ones(n, 1, dtype=torch.float64), raw], dim=1)
    y = X @ randn(d + 1, gen=gen, dtype=torch.float64, scale=2.0) + 0.3 * randn(n, gen=gen, dtype=torch.float64)
    largest = float(torch.linalg.eigvalsh(X.T @ X / n).max())
    lr = float(0.1 + 1.4 * torch.rand((), generator=gen, dtype=torch.float64)) / largest
    return X.to(dtype), y.to(dtype), lr


def check_descent(result, X: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> None:
    theta, losses = unpack(result, 2, fn="gradient_descent", what="the result (theta, losses)")
    exp_theta, exp_losses = descend(X, y, lr, steps)
    tol = 1e-4 if X.dtype == torch.float32 else 1e-10
    j0 = float(y.double() @ y.double()) / (2 * len(y))
    assert_close(losses, exp_losses.to(X.dtype), rtol=tol, atol=tol * 0.1 * max(j0, 1.0), fn="gradient_descent",
                 what="losses (losses[i] is J before update i)")
    scale = max(float(exp_theta.abs().max()), 1.0) if exp_theta.numel() else 1.0
    assert_close(theta, exp_theta.to(X.dtype), rtol=tol, atol=tol * 0.1 * scale, fn="gradient_descent",
                 what="theta")


@pytest.mark.group("gradient_descent_hidden")
@pytest.mark.parametrize("trial", range(4))
def test_random_problems(student, gen, trial):
    X, y, lr = problem(randint(gen, 5, 100), randint(gen, 1, 6), gen)
    steps = randint(gen, 1, 60)
    check_descent(student.gradient_descent(X, y, lr, steps), X, y, lr, steps)


@pytest.mark.group("gradient_descent_hidden")
@pytest.mark.parametrize("case", ["one_step", "float64", "transposed", "strided_y", "raw_features",
                                  "single_feature", "one_sample", *trivial("zero_steps")])
def test_descent_edges(student, gen, case):
    n, d = {"single_feature": (30, 0), "one_sample": (1, 3)}.get(case, (20, 3))
    X, y, lr = problem(n, d, gen, dtype=torch.float64 if case == "float64" else torch.float32,
                       standardise=case not in ("raw_features", "one_sample"))
    steps = {"zero_steps": 0, "one_step": 1}.get(case, 25)
    if case == "transposed":
        X = transposed(X)
    if case == "strided_y":
        y = noncontiguous(y)
    check_descent(student.gradient_descent(X, y, lr, steps), X, y, lr, steps)


@pytest.mark.group("gradient_descent_hidden")
@pytest.mark.needs_values
@pytest.mark.parametrize("lr,steps", [(0.0, 0), (-1e-3, 10), (-0.0, 3), (-5.0, 0), (0.1, -5), (1e-2, -1)])
def test_bad_lr_and_steps(student, gen, lr, steps):
    X, y, _ = problem(8, 2, gen)
    assert_raises("ValueError", student.gradient_descent, X, y, lr, steps)

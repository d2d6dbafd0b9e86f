"""Public graders for normal_equation: run them with `autograder check normal_equation`.

Expected values are computed here in float64 with the pseudo-inverse
(`torch.linalg.pinv`) and a plain gradient-descent loop, then compared with
tolerances that any numerically sound float32 technique meets.
"""

from __future__ import annotations

import pytest
import torch
from normal_equation_checks import check_theta, descend, min_norm_solution, well_conditioned

from autograder.failures import StudentError
from autograder.testing import CheckFailed, assert_close, assert_raises, randn, unpack

# ---------------------------------------------------------------- add_bias


@pytest.mark.group("add_bias_public")
@pytest.mark.parametrize("shape", [(5, 3), (1, 1), (4, 2, 6)])
def test_add_bias(student, gen, shape):
    X = randn(*shape, gen=gen)
    expected = torch.cat([torch.ones(*shape[:-1], 1), X], dim=-1)
    assert_close(student.add_bias(X), expected, rtol=0, atol=0, fn="add_bias")


# ---------------------------------------------------------------- normal_equation


@pytest.mark.group("normal_equation_public")
@pytest.mark.parametrize("batch,n,d", [((), 20, 4), ((), 6, 6), ((8,), 15, 3)])
def test_full_rank(student, gen, batch, n, d):
    X = well_conditioned(*batch, n=n, d=d, gen=gen)
    y = randn(*batch, n, gen=gen)
    check_theta(student.normal_equation(X, y), X, y)


@pytest.mark.group("normal_equation_public")
def test_recovers_true_parameters(student, gen):
    """Noise-free data y = X theta: the solution is theta itself."""
    X = well_conditioned(n=30, d=5, gen=gen)
    theta = torch.tensor([1.5, -2.0, 0.25, 3.0, -0.5])
    y = X @ theta
    assert_close(student.normal_equation(X, y), theta, rtol=1e-4, atol=1e-4, fn="normal_equation",
                 what="theta for noise-free data")


@pytest.mark.group("normal_equation_public")
@pytest.mark.parametrize("case", ["duplicate_column", "zero_column"])
def test_rank_deficient_gives_minimum_norm(student, gen, case):
    """X^T X is singular: the answer is the minimum-norm solution (what the pseudo-inverse gives)."""
    X = well_conditioned(n=12, d=4, gen=gen)
    extra = 2 * X[:, 1:2] if case == "duplicate_column" else torch.zeros(12, 1)
    X = torch.cat([X, extra], dim=1)
    y = randn(12, gen=gen)
    hint = (f"X^T X is singular here (X's last column is {'twice column 1' if case == 'duplicate_column' else 'zero'}"
            "): the answer is the minimum-norm solution, as torch.linalg.pinv gives")
    try:
        check_theta(student.normal_equation(X, y), X, y)
    except (CheckFailed, StudentError) as exc:
        raise CheckFailed(f"{exc.summary}. {hint}", exc.details) from None


# ---------------------------------------------------------------- feature_scale


WHAT_STD = "std (population: correction 0)"


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


@pytest.mark.group("feature_scale_public")
@pytest.mark.parametrize("n,d", [(10, 3), (50, 1), (7, 5)])
def test_feature_scale(student, gen, n, d):
    X = randn(n, d, gen=gen, scale=3.0) + 5.0
    check_scaled(student.feature_scale(X), X)


@pytest.mark.group("feature_scale_public")
def test_feature_scale_constant_column(student, gen):
    """A column with std 0 scales to zeros (no division by zero)."""
    X = randn(16, 4, gen=gen, scale=2.0)
    X[:, 2] = 3.0
    check_scaled(student.feature_scale(X), X)


# ---------------------------------------------------------------- gradient_descent


def regression_problem(n: int, d: int, gen: torch.Generator, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised features plus a bias column, and noisy linear targets."""
    raw = randn(n, d, gen=gen, dtype=torch.float64, scale=3.0) + 2.0
    std = raw.std(0, correction=0)
    X = torch.cat([torch.ones(n, 1, dtype=torch.float64), (raw - raw.mean(0)) / std], dim=1)
    y = X @ randn(d + 1, gen=gen, dtype=torch.float64, scale=2.0) + 0.3 * randn(n, gen=gen, dtype=torch.float64)
    return X.to(dtype), y.to(dtype)


def check_descent(result, X: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> None:
    theta, losses = unpack(result, 2, fn="gradient_descent", what="the result (theta, losses)")
    exp_theta, exp_losses = descend(X, y, lr, steps)
    tol = 1e-4 if X.dtype == torch.float32 else 1e-10
    j0 = float(y.double() @ y.double()) / (2 * len(y))
    assert_close(losses, exp_losses.to(X.dtype), rtol=tol, atol=tol * 0.1 * max(j0, 1.0), fn="gradient_descent",
                 what=f"losses (losses[i] is J before update i; lr={lr:g}, steps={steps})")
    scale = max(float(exp_theta.abs().max()), 1.0) if exp_theta.numel() else 1.0
    assert_close(theta, exp_theta.to(X.dtype), rtol=tol, atol=tol * 0.1 * scale, fn="gradient_descent",
                 what=f"theta after {steps} step(s) (lr={lr:g})")


@pytest.mark.group("gradient_descent_public")
@pytest.mark.parametrize("steps", [pytest.param(0, marks=pytest.mark.needs_values), 1, 2, 10])  # 0: theta stays 0
def test_theta_step_for_step(student, gen, steps):
    X, y = regression_problem(25, 3, gen)
    check_descent(student.gradient_descent(X, y, 0.1, steps), X, y, 0.1, steps)


@pytest.mark.group("gradient_descent_public")
def test_converges_to_least_squares(student, gen):
    X, y = regression_problem(40, 2, gen)
    check_descent(student.gradient_descent(X, y, 0.5, 200), X, y, 0.5, 200)
    theta, _ = student.gradient_descent(X, y, 0.5, 200)
    if not torch.allclose(theta.double(), min_norm_solution(X.double(), y.double()), atol=1e-3):
        raise CheckFailed("gradient_descent: after 200 steps theta should be close to the least-squares solution")


@pytest.mark.group("gradient_descent_public")
@pytest.mark.needs_values
@pytest.mark.parametrize("lr,steps", [(0.0, 5), (-0.1, 5), (0.1, -1)])
def test_bad_arguments(student, gen, lr, steps):
    X, y = regression_problem(10, 2, gen)
    assert_raises("ValueError", student.gradient_descent, X, y, lr, steps)

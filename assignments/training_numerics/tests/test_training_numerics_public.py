"""Public graders for training_numerics: run them with `autograder check training_numerics`.

Every expected value is computed here by PyTorch itself in float64 (torch.softmax,
F.cross_entropy, F.batch_norm, torch.optim.Adam) on the inputs your function receives;
your own code may not call them. Tolerances grow with the size of the logits: float32
rounding of a logit of 1e4 is about 1e-3, and any sound technique is allowed that error.
"""

from __future__ import annotations

import pytest
import torch
from training_numerics_checks import check_adam, check_batch_norm, check_cross_entropy, check_softmax

from autograder.testing import CheckFailed, randn


def showing(inputs: str, check_fn, *args, **kwargs) -> None:
    """Run a check; on failure add the (public, fixed) inputs to the details."""
    try:
        check_fn(*args, **kwargs)
    except CheckFailed as exc:
        raise CheckFailed(exc.summary, f"{exc.details}\n{inputs}".strip()) from None


# ---------------------------------------------------------------- softmax


@pytest.mark.group("softmax_public")
@pytest.mark.parametrize("shape,dim", [((4, 5), -1), ((4, 5), 0), ((2, 3, 4), 1)])
def test_softmax(student, gen, shape, dim):
    z = randn(*shape, gen=gen, scale=3.0)
    check_softmax(student.softmax(z, dim), z, dim)


@pytest.mark.group("softmax_public")
def test_softmax_large_logits(student):
    """exp(1e4) overflows to inf: subtract each row's maximum first."""
    z = torch.tensor([[1e4, 0.0, -1e4], [1000.0, 999.0, 998.0], [-1e4, -1e4 + 1, -1e4 + 2]])
    showing(f"z = {z.tolist()}", check_softmax, student.softmax(z, -1), z, -1)


# ---------------------------------------------------------------- cross-entropy


@pytest.mark.group("cross_entropy_public")
@pytest.mark.parametrize("n,c", [(5, 3), (1, 10), (32, 7)])
def test_cross_entropy(student, gen, n, c):
    logits, y = randn(n, c, gen=gen, scale=2.0), torch.randint(0, c, (n,), generator=gen)
    check_cross_entropy(student.cross_entropy(logits, y), logits, y)


@pytest.mark.group("cross_entropy_public")
def test_cross_entropy_true_class_far_behind(student):
    """softmax of the true class underflows to 0 and log(0) = -inf: work with log-probabilities."""
    logits = torch.tensor([[1e4, -1e4, 0.0], [0.0, 200.0, -200.0], [5.0, 1.0, 3.0]])
    y = torch.tensor([1, 2, 0])
    showing(f"logits = {logits.tolist()}\ny = {y.tolist()}", check_cross_entropy,
            student.cross_entropy(logits, y), logits, y)


# ---------------------------------------------------------------- batch norm


def bn_inputs(gen: torch.Generator, shape: tuple[int, ...], mean: float = 1.0, std: float = 2.0):
    c = shape[1]
    x = randn(*shape, gen=gen, scale=std) + mean
    gamma, beta = randn(c, gen=gen) + 1.0, randn(c, gen=gen)
    running_mean, running_var = randn(c, gen=gen) * 0.5, torch.rand(c, generator=gen) + 0.5
    return x, gamma, beta, running_mean, running_var


@pytest.mark.group("batch_norm_public")
@pytest.mark.parametrize("shape", [(16, 4), (4, 3, 5, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(student, gen, shape, training):
    x, gamma, beta, rm, rv = bn_inputs(gen, shape)
    check_batch_norm(student.batch_norm(x, gamma, beta, rm, rv, training), x, gamma, beta, rm, rv, training)


@pytest.mark.group("batch_norm_public")
def test_batch_norm_momentum_and_eps(student, gen):
    x, gamma, beta, rm, rv = bn_inputs(gen, (8, 5))
    result = student.batch_norm(x, gamma, beta, rm, rv, True, momentum=0.3, eps=1e-3)
    check_batch_norm(result, x, gamma, beta, rm, rv, True, momentum=0.3, eps=1e-3)


@pytest.mark.group("batch_norm_public")
def test_batch_norm_small_variance(student, gen):
    """Channels whose spread (std 1e-3, variance 1e-6) is comparable to eps = 1e-5: eps goes under the root."""
    x, gamma, beta, rm, rv = bn_inputs(gen, (32, 4), mean=0.5, std=1e-3)
    check_batch_norm(student.batch_norm(x, gamma, beta, rm, rv, True), x, gamma, beta, rm, rv, True,
                     case="variance near eps")


# ---------------------------------------------------------------- Adam


def adam_inputs(gen: torch.Generator, shape: tuple[int, ...], t: int, grad_scale: float = 1.0):
    param, grad = randn(*shape, gen=gen), randn(*shape, gen=gen, scale=grad_scale)
    if t == 1:
        m, v = torch.zeros(shape), torch.zeros(shape)
    else:
        m = randn(*shape, gen=gen, scale=0.1 * grad_scale)
        v = torch.rand(shape, generator=gen) * 0.01 * grad_scale ** 2
    return param, grad, m, v


@pytest.mark.group("adam_step_public")
@pytest.mark.parametrize("t", [1, 2, 100])
def test_adam_step(student, gen, t):
    param, grad, m, v = adam_inputs(gen, (6, 4), t)
    check_adam(student.adam_step(param, grad, m, v, t), param, grad, m, v, t)


@pytest.mark.group("adam_step_public")
def test_adam_step_hyperparameters(student, gen):
    param, grad, m, v = adam_inputs(gen, (5,), 3)
    result = student.adam_step(param, grad, m, v, 3, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1)
    check_adam(result, param, grad, m, v, 3, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1)


@pytest.mark.group("adam_step_public")
def test_adam_step_tiny_gradients(student, gen):
    """Gradients of 1e-6: sqrt(v_hat) is about 1e-6, so eps = 1e-8 must be added after the square root."""
    param, grad, m, v = adam_inputs(gen, (8,), 5, grad_scale=1e-6)
    check_adam(student.adam_step(param, grad, m, v, 5), param, grad, m, v, 5, case="gradients of 1e-6")

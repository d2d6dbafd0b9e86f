"""Hidden graders for training_numerics: random shapes and dims, logits at the overflow edges of
exp, -inf and tied logits, one class, batch 1, batch-norm channels with a large mean and a small
spread, momentum and eps values, eval mode after train mode, Adam at random steps with weight
decay and zero or tiny gradients, float64 and non-contiguous inputs. Expected values come from
PyTorch in float64, run here.
"""

from __future__ import annotations

import pytest
import torch
from training_numerics_checks import check_adam, check_batch_norm, check_cross_entropy, check_softmax

from autograder.testing import noncontiguous, randint, randn, transposed, trivial


# ---------------------------------------------------------------- softmax

SOFTMAX_CASES = ["random0", "random1", "last_dim_3d", "first_dim", "vector", "float64", "transposed",
                 "strided", "overflow_edge", "float64_overflow_edge", "mixed_1e4", "tied", "minus_inf", "one_entry"]


@pytest.mark.group("softmax_hidden")
@pytest.mark.parametrize("case", SOFTMAX_CASES)
def test_softmax(student, gen, case):
    dtype = torch.float64 if case.startswith("float64") else torch.float32
    shape = {"last_dim_3d": (3, 4, 6), "vector": (9,), "one_entry": (5, 1)}.get(
        case, (randint(gen, 1, 20), randint(gen, 2, 30)))
    z = randn(*shape, gen=gen, dtype=dtype, scale=4.0)
    dim = {"first_dim": 0, "random1": 0, "last_dim_3d": -1}.get(case, -1)
    if case.endswith("overflow_edge"):
        edges = [88.7, 89.0, 104.0, 709.8, 710.0, 745.2, -88.7, -104.0, -745.2, 0.0]
        z = torch.tensor([edges, [e - 50 for e in edges]], dtype=dtype)
    elif case == "mixed_1e4":
        z = torch.randint(-1, 2, shape, generator=gen).float() * 1e4 + z
    elif case == "tied":
        z = torch.full(shape, 7.5)
    elif case == "minus_inf":  # masked entries, as attention produces; every row keeps a finite one
        z[..., 1:][torch.rand(z[..., 1:].shape, generator=gen) < 0.5] = float("-inf")
    elif case == "transposed":
        z = transposed(z)
    elif case == "strided":
        z = noncontiguous(z)
    check_softmax(student.softmax(z, dim), z, dim)


# ---------------------------------------------------------------- cross-entropy

CE_CASES = ["random0", "random1", "all_plus_1e4", "all_minus_1e4", "mixed_1e4", "target_at_minus_1e4",
            "float64_target_at_minus_1e4", "tied", "one_class", "batch_one", "many_classes", "transposed",
            "strided_labels"]


@pytest.mark.group("cross_entropy_hidden")
@pytest.mark.parametrize("case", [c for c in CE_CASES if c != "one_class"]
                         + trivial("one_class"))  # one class: loss and gradient are 0
def test_cross_entropy(student, gen, case):
    n, c = {"one_class": (5, 1), "batch_one": (1, 6), "many_classes": (4, 1000)}.get(
        case, (randint(gen, 1, 40), randint(gen, 2, 30)))
    dtype = torch.float64 if case.startswith("float64") else torch.float32
    logits = randn(n, c, gen=gen, dtype=dtype, scale=3.0)
    y = torch.randint(0, c, (n,), generator=gen)
    if case == "all_plus_1e4":
        logits = torch.full((n, c), 1e4) + torch.arange(c) % 3
    elif case == "all_minus_1e4":
        logits = torch.full((n, c), -1e4) - torch.arange(c) % 3
    elif case == "mixed_1e4":
        logits = torch.randint(-1, 2, (n, c), generator=gen).float() * 1e4 + logits
    elif case.endswith("target_at_minus_1e4"):
        logits = torch.full((n, c), 1e4, dtype=dtype)
        logits[torch.arange(n), y] = -1e4
    elif case == "tied":
        logits = torch.full((n, c), 2.5)
    elif case == "transposed":
        logits = transposed(logits)
    elif case == "strided_labels":
        y = torch.randint(0, c, (2 * n,), generator=gen)[::2]
    check_cross_entropy(student.cross_entropy(logits, y), logits, y)
    if case == "one_class":  # its loss is 0: a function returning zeros must not earn this case
        logits, y = randn(n, 3, gen=gen), torch.randint(0, 3, (n,), generator=gen)
        check_cross_entropy(student.cross_entropy(logits, y), logits, y)


# ---------------------------------------------------------------- batch norm

BN_CASES = ["random_2d", "random_4d", "eval_2d", "eval_4d", "large_mean_small_spread", "variance_near_eps",
            "constant_channel", "momentum_and_eps", "two_samples", "float64", "float64_eval", "noncontiguous",
            "channels_last"]


@pytest.mark.group("batch_norm_hidden")
@pytest.mark.parametrize("case", BN_CASES)
def test_batch_norm(student, gen, case):
    c = randint(gen, 1, 12)
    if case.endswith("4d") or case == "channels_last":
        shape = (randint(gen, 1, 6), c, randint(gen, 2, 7), randint(gen, 2, 7))
    else:
        shape = (2 if case == "two_samples" else randint(gen, 2, 64), c)
    dtype = torch.float64 if case.startswith("float64") else torch.float32
    mean, std = {"large_mean_small_spread": (100.0, 0.1), "variance_near_eps": (-0.3, 2e-3)}.get(case, (0.5, 3.0))
    x = randn(*shape, gen=gen, dtype=dtype, scale=std) + mean
    if case == "constant_channel":
        x[:, 0] = 4.0
    gamma, beta = randn(c, gen=gen, dtype=dtype) + 1.0, randn(c, gen=gen, dtype=dtype)
    rm = randn(c, gen=gen, dtype=dtype) * 0.5
    rv = torch.rand(c, generator=gen, dtype=dtype) + 0.5
    training = "eval" not in case
    momentum, eps = (0.01, 1e-2) if case == "momentum_and_eps" else (0.1, 1e-5)
    if case == "noncontiguous":
        x, gamma, beta, rm, rv = transposed(x), noncontiguous(gamma), noncontiguous(beta), noncontiguous(rm), \
            noncontiguous(rv)
    elif case == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    result = student.batch_norm(x, gamma, beta, rm, rv, training, momentum=momentum, eps=eps)
    check_batch_norm(result, x, gamma, beta, rm, rv, training, momentum, eps)


@pytest.mark.group("batch_norm_hidden")
def test_batch_norm_eval_after_training(student, gen):
    """Two training steps feed the running statistics that eval mode then uses."""
    x1, x2, x3 = (randn(16, 3, gen=gen, scale=2.0) + 1.0 for _ in range(3))
    gamma, beta = randn(3, gen=gen) + 1.0, randn(3, gen=gen)
    rm, rv = torch.zeros(3), torch.ones(3)
    for x in (x1, x2):
        result = student.batch_norm(x, gamma, beta, rm, rv, True)
        check_batch_norm(result, x, gamma, beta, rm, rv, True, case="a sequence of steps")
        _, rm, rv = result
    check_batch_norm(student.batch_norm(x3, gamma, beta, rm, rv, False), x3, gamma, beta, rm, rv, False,
                     case="after two training steps")


# ---------------------------------------------------------------- Adam

def normal(shape: tuple[int, ...], gen: torch.Generator, dtype: torch.dtype, scale: float = 1.0) -> torch.Tensor:
    """Seeded normal values of any shape, 0-dim included."""
    return torch.randn(shape, generator=gen, dtype=dtype) * scale


ADAM_CASES = ["first_step", "second_step", "random_step", "late_step", "weight_decay", "hyperparameters",
              "some_zero_gradients_first_step", "tiny_gradients", "huge_gradients", "float64", "noncontiguous", "scalar",
              "matrix_4d"]


@pytest.mark.group("adam_step_hidden")
@pytest.mark.parametrize("case", ADAM_CASES)
def test_adam_step(student, gen, case):
    t = {"first_step": 1, "some_zero_gradients_first_step": 1, "second_step": 2, "late_step": 10_000}.get(
        case, randint(gen, 2, 300))
    shape = {"scalar": (), "matrix_4d": (2, 3, 4, 5)}.get(case, (randint(gen, 1, 30), randint(gen, 1, 20)))
    dtype = torch.float64 if case == "float64" else torch.float32
    scale = {"tiny_gradients": 1e-7, "huge_gradients": 1e4}.get(case, 1.0)
    param, grad = normal(shape, gen, dtype), normal(shape, gen, dtype, scale)
    if case == "some_zero_gradients_first_step":  # no step where the gradient is 0 (0 / (0 + eps)), a full one elsewhere
        grad = torch.where(torch.rand(shape, generator=gen) < 0.5, torch.zeros_like(grad), grad)
    if t == 1:
        m, v = torch.zeros(shape, dtype=dtype), torch.zeros(shape, dtype=dtype)
    else:
        m = normal(shape, gen, dtype, 0.1 * scale)
        v = torch.rand(shape, generator=gen, dtype=dtype) * 0.01 * scale ** 2
    hyper = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}
    if case == "weight_decay":
        hyper["weight_decay"] = 0.05
    elif case == "hyperparameters":
        hyper.update(lr=0.05, beta1=0.5, beta2=0.9, eps=1e-4)
    if case == "noncontiguous":
        param, grad, m, v = transposed(param), noncontiguous(grad), noncontiguous(m), transposed(v)
    check_adam(student.adam_step(param, grad, m, v, t, **hyper), param, grad, m, v, t, **hyper)

"""Hidden graders for mlp_backprop: random shapes, float64, non-contiguous inputs, batch 1 and 0,
overflow edges of exp, tied and one-class logits, dead and exactly-zero hidden units, and
integer-valued networks whose logits reach 1e4 (every product exact, so the expected answer is
sharp). Expected values come from autograd in float64, run here.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from mlp_backprop_checks import KEYS, autograd, check, mlp_params, mlp_reference

from autograder.testing import CheckFailed, largest, noncontiguous, randint, randn, transposed, trivial, unpack


def layout(t: torch.Tensor, how: str) -> torch.Tensor:
    if how == "transposed" and t.dim() >= 2:
        return transposed(t)
    if how == "strided":
        return noncontiguous(t)
    return t


# ---------------------------------------------------------------- linear

LINEAR_CASES = ["random0", "random1", "random2", "float64", "transposed", "strided", "batch_one", *trivial("batch_zero")]


def linear_inputs(case: str, gen: torch.Generator):
    n, din, dout = {"batch_one": (1, 5, 3), "batch_zero": (0, 4, 3)}.get(
        case, (randint(gen, 1, 40), randint(gen, 1, 30), randint(gen, 1, 30)))
    dtype = torch.float64 if case == "float64" else torch.float32
    x, W, b = randn(n, din, gen=gen, dtype=dtype), randn(din, dout, gen=gen, dtype=dtype), randn(dout, gen=gen, dtype=dtype)
    g = randn(n, dout, gen=gen, dtype=dtype)
    how = case if case in ("transposed", "strided") else ""
    return layout(x, how), layout(W, how), layout(b, "strided" if how else ""), layout(g, how)


@pytest.mark.group("linear_forward_hidden")
@pytest.mark.parametrize("case", LINEAR_CASES)
def test_linear_forward(student, gen, case):
    x, W, b, _ = linear_inputs(case, gen)
    check(student.linear_forward(x, W, b), x.double() @ W.double() + b.double(), "linear_forward", "the output",
          x.dtype)


@pytest.mark.group("linear_backward_hidden")
@pytest.mark.parametrize("case", LINEAR_CASES)
def test_linear_backward(student, gen, case):
    x, W, b, g = linear_inputs(case, gen)
    _, expected = autograd(lambda x, W, b: x @ W + b, x, W, b, dout=g)
    got = unpack(student.linear_backward(g, x, W), 3, fn="linear_backward", what="the result (dx, dW, db)")
    for value, exp, name in zip(got, expected, ("dx", "dW", "db"), strict=True):
        check(value, exp, "linear_backward", name, x.dtype)


# ---------------------------------------------------------------- relu

RELU_CASES = ["vector", "matrix", "three_dims", "float64", "transposed", "strided", "negative_zero",
              *trivial("scalar", "empty")]  # a scalar's answer is 0 or the input itself


def relu_inputs(case: str, gen: torch.Generator):
    shape = {"vector": (17,), "three_dims": (2, 3, 4), "scalar": (), "empty": (0, 3)}.get(case, (6, 5))
    dtype = torch.float64 if case == "float64" else torch.float32
    x = torch.randn(shape, generator=gen, dtype=dtype)
    x = torch.where(torch.rand(shape, generator=gen) < 0.3, torch.zeros_like(x), x)
    if x.numel() >= 2:  # one positive and one negative input: neither 0 nor the input itself is the answer
        x.view(-1)[0], x.view(-1)[1] = x.view(-1)[0].abs() + 0.5, -x.view(-1)[1].abs() - 0.5
    if case == "negative_zero":
        x = torch.where(x == 0, torch.full_like(x, -0.0), x)
    g = torch.randn(shape, generator=gen, dtype=dtype)
    return layout(x, case), layout(g, case)


@pytest.mark.group("relu_forward_hidden")
@pytest.mark.parametrize("case", RELU_CASES)
def test_relu_forward(student, gen, case):
    x, _ = relu_inputs(case, gen)
    check(student.relu_forward(x), torch.relu(x.double()), "relu_forward", "the output", x.dtype)


@pytest.mark.group("relu_backward_hidden")
@pytest.mark.parametrize("case", RELU_CASES)
def test_relu_backward(student, gen, case):
    x, g = relu_inputs(case, gen)
    _, (dx,) = autograd(torch.relu, x, dout=g)
    check(student.relu_backward(g, x), dx, "relu_backward", "dx (0 where x == 0)", x.dtype, scale=largest(g))


# ---------------------------------------------------------------- sigmoid

SIGMOID_CASES = ["extremes", "exp_overflow_edge", "float64_extremes", "float64_overflow_edge", "random_wide",
                 "transposed", "strided", "three_dims"]


def sigmoid_inputs(case: str, gen: torch.Generator):
    dtype = torch.float64 if case.startswith("float64") else torch.float32
    if case.endswith("extremes"):
        x = torch.tensor([1e4, -1e4, 9999.5, -9999.5, 5e3, -5e3, 0.0, -0.0], dtype=dtype)
    elif case.endswith("overflow_edge"):
        edges = [88.72, 88.73, 89.0, 103.0, 104.0, 709.78, 709.79, 710.0, 745.2]
        x = torch.tensor(edges + [-e for e in edges], dtype=dtype)
    elif case == "three_dims":
        x = randn(2, 3, 4, gen=gen, scale=30.0)
    else:
        x = randn(7, 6, gen=gen, scale=40.0 if case == "random_wide" else 5.0)
    g = randn(*x.shape, gen=gen, dtype=dtype)
    return layout(x, case), layout(g, case)


@pytest.mark.group("sigmoid_forward_hidden")
@pytest.mark.parametrize("case", SIGMOID_CASES)
def test_sigmoid_forward(student, gen, case):
    x, _ = sigmoid_inputs(case, gen)
    check(student.sigmoid_forward(x), torch.sigmoid(x.double()), "sigmoid_forward", "the output", x.dtype,
          scale=1.0)


@pytest.mark.group("sigmoid_backward_hidden")
@pytest.mark.parametrize("case", [c for c in SIGMOID_CASES if "overflow" not in c]
                         + trivial("exp_overflow_edge", "float64_overflow_edge"))  # dx is ~0 there
def test_sigmoid_backward(student, gen, case):
    x, g = sigmoid_inputs(case, gen)
    _, (dx,) = autograd(torch.sigmoid, x, dout=g)
    check(student.sigmoid_backward(g, x), dx, "sigmoid_backward", "dx", x.dtype, scale=largest(g) / 4)


# ---------------------------------------------------------------- softmax cross-entropy


def check_cross_entropy(result, logits: torch.Tensor, y: torch.Tensor) -> None:
    loss, dlogits = unpack(result, 2, fn="softmax_cross_entropy", what="the result (loss, dlogits)")
    exp_loss, (exp_dlogits,) = autograd(lambda z: F.cross_entropy(z, y), logits)
    magnitude = float(logits.abs().max()) if logits.numel() else 1.0
    check(loss, exp_loss, "softmax_cross_entropy", "the loss (a 0-dim tensor)", logits.dtype, magnitude)
    check(dlogits, exp_dlogits, "softmax_cross_entropy", "dlogits", logits.dtype, magnitude)


@pytest.mark.group("softmax_cross_entropy_hidden")
@pytest.mark.parametrize("trial", range(3))
def test_cross_entropy_random(student, gen, trial):
    n, c = randint(gen, 1, 64), randint(gen, 2, 50)
    logits, y = randn(n, c, gen=gen, scale=5.0), torch.randint(0, c, (n,), generator=gen)
    check_cross_entropy(student.softmax_cross_entropy(logits, y), logits, y)


@pytest.mark.group("softmax_cross_entropy_hidden")
@pytest.mark.parametrize("case", ["all_plus_1e4", "all_minus_1e4", "mixed_1e4", "target_at_minus_1e4",
                                  "float64_mixed_1e4", "tied", "batch_one", "many_classes",
                                  "same_label", "transposed_logits", "strided_labels",
                                  *trivial("one_class")])  # one class: loss and dlogits are 0
def test_cross_entropy_edges(student, gen, case):
    n, c = {"one_class": (5, 1), "batch_one": (1, 6), "many_classes": (4, 1000)}.get(case, (8, 5))
    dtype = torch.float64 if case.startswith("float64") else torch.float32
    logits = randn(n, c, gen=gen, dtype=dtype, scale=3.0)
    y = torch.randint(0, c, (n,), generator=gen)
    if case == "all_plus_1e4":
        logits = torch.full((n, c), 1e4) + torch.arange(c) % 3
    elif case == "all_minus_1e4":
        logits = torch.full((n, c), -1e4) - torch.arange(c) % 3
    elif case.endswith("mixed_1e4"):
        logits = torch.randint(-1, 2, (n, c), generator=gen).to(dtype) * 1e4 + logits
    elif case == "target_at_minus_1e4":
        logits = torch.full((n, c), 1e4)
        logits[torch.arange(n), y] = -1e4
    elif case == "tied":
        logits = torch.full((n, c), 2.5)
    elif case == "same_label":
        y = torch.full((n,), c - 1)
    elif case == "transposed_logits":
        logits = transposed(logits)
    elif case == "strided_labels":
        y = torch.randint(0, c, (2 * n,), generator=gen)[::2]
    check_cross_entropy(student.softmax_cross_entropy(logits, y), logits, y)


# ---------------------------------------------------------------- the MLP


def integer_params(din: int, dh: int, c: int, gen: torch.Generator, w: int, b: int) -> dict[str, torch.Tensor]:
    """Integer-valued weights: every product and sum in the forward pass is exact in float32."""
    def ints(bound: int, *shape: int) -> torch.Tensor:
        return torch.randint(-bound, bound + 1, shape, generator=gen).float()
    return {"W1": ints(w, din, dh), "b1": ints(b, dh), "W2": ints(w, dh, c), "b2": ints(b, c)}


def check_mlp(result, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> None:
    fn = "mlp_loss_and_grads"
    loss, grads = unpack(result, 2, fn=fn, what="the result (loss, grads)")
    if not isinstance(grads, dict) or set(grads) != set(KEYS):
        raise CheckFailed(f"{fn}: grads should be a dict with exactly the keys W1, b1, W2, b2")
    exp_loss, exp_grads, magnitude = mlp_reference(params, x, y)
    check(loss, exp_loss, fn, "the loss", x.dtype, magnitude)
    for key in KEYS:
        check(grads[key], exp_grads[key], fn, f"grads['{key}']", x.dtype, magnitude)


@pytest.mark.group("mlp_hidden")
@pytest.mark.parametrize("trial", range(3))
def test_mlp_random(student, gen, trial):
    n, din, dh, c = randint(gen, 1, 100), randint(gen, 1, 40), randint(gen, 1, 64), randint(gen, 2, 20)
    params, x = mlp_params(din, dh, c, gen), randn(n, din, gen=gen, scale=2.0)
    y = torch.randint(0, c, (n,), generator=gen)
    check_mlp(student.mlp_loss_and_grads(params, x, y), params, x, y)


@pytest.mark.group("mlp_hidden")
@pytest.mark.parametrize("case", ["extreme_logits", "many_exact_zeros", "dead_and_zero_units", "float64",
                                  "batch_one", "noncontiguous", "one_hidden_unit"])
def test_mlp_edges(student, gen, case):
    n, din, dh, c = {"batch_one": (1, 6, 5, 3), "one_hidden_unit": (12, 4, 1, 3)}.get(case, (24, 8, 8, 6))
    dtype = torch.float64 if case == "float64" else torch.float32
    params, x = mlp_params(din, dh, c, gen, dtype), randn(n, din, gen=gen, dtype=dtype)
    if case == "extreme_logits":  # |logits| up to about 1e4
        params = integer_params(din, dh, c, gen, w=5, b=20)
        x = torch.randint(-60, 61, (n, din), generator=gen).float()
    elif case == "many_exact_zeros":  # small integers: many hidden pre-activations are exactly 0
        params = integer_params(din, dh, c, gen, w=1, b=1)
        x = torch.randint(-2, 3, (n, din), generator=gen).float()
    elif case == "dead_and_zero_units":
        params["W1"][:, 0], params["b1"][0] = 0.0, 0.0  # pre-activation exactly 0 for every sample
        params["W1"][:, 1], params["b1"][1] = 0.0, -1.0  # always negative: a dead unit
    elif case == "noncontiguous":
        params = {k: layout(v, "transposed" if v.dim() == 2 else "strided") for k, v in params.items()}
        x = noncontiguous(x)
    y = torch.randint(0, c, (n,), generator=gen)
    check_mlp(student.mlp_loss_and_grads(params, x, y), params, x, y)

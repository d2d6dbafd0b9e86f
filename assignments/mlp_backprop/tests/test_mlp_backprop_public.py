"""Public graders for mlp_backprop: run them with `autograder check mlp_backprop`.

Every expected gradient is computed here by PyTorch's autograd, in float64, on
the same inputs your function receives (your own code may not use autograd).
Tolerances grow with the size of the numbers involved: float32 rounding of a
logit of 1e4 is about 1e-3, and any technique is allowed that error.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from mlp_backprop_checks import KEYS, autograd, check, mlp_params, mlp_reference

from autograder.testing import CheckFailed, largest, randn, unpack


def showing(inputs: str, check_fn, *args, **kwargs) -> None:
    """Run a check; on failure add the (public, fixed) inputs to the details."""
    try:
        check_fn(*args, **kwargs)
    except CheckFailed as exc:
        raise CheckFailed(exc.summary, f"{exc.details}\n{inputs}") from None


# ---------------------------------------------------------------- linear


@pytest.mark.group("linear_forward_public")
@pytest.mark.parametrize("n,din,dout", [(4, 3, 5), (1, 6, 2), (16, 8, 8)])
def test_linear_forward(student, gen, n, din, dout):
    x, W, b = randn(n, din, gen=gen), randn(din, dout, gen=gen), randn(dout, gen=gen)
    expected = x.double() @ W.double() + b.double()
    check(student.linear_forward(x, W, b), expected, "linear_forward", "the output", x.dtype)


@pytest.mark.group("linear_backward_public")
@pytest.mark.parametrize("n,din,dout", [(4, 3, 5), (1, 6, 2), (16, 8, 8)])
def test_linear_backward(student, gen, n, din, dout):
    x, W, b, g = randn(n, din, gen=gen), randn(din, dout, gen=gen), randn(dout, gen=gen), randn(n, dout, gen=gen)
    _, (dx, dW, db) = autograd(lambda x, W, b: x @ W + b, x, W, b, dout=g)
    got = unpack(student.linear_backward(g, x, W), 3, fn="linear_backward", what="the result (dx, dW, db)")
    for value, expected, name in zip(got, (dx, dW, db), ("dx", "dW", "db"), strict=True):
        check(value, expected, "linear_backward", name, x.dtype)


# ---------------------------------------------------------------- relu


def with_zeros(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """x with about a quarter of its entries set to exactly 0."""
    return torch.where(torch.rand(x.shape, generator=gen) < 0.25, torch.zeros_like(x), x)


@pytest.mark.group("relu_forward_public")
@pytest.mark.parametrize("shape", [(7,), (5, 6)])
def test_relu_forward(student, gen, shape):
    x = with_zeros(randn(*shape, gen=gen), gen)
    check(student.relu_forward(x), torch.relu(x.double()), "relu_forward", "the output", x.dtype)


@pytest.mark.group("relu_backward_public")
@pytest.mark.parametrize("shape", [(7,), (5, 6)])
def test_relu_backward(student, gen, shape):
    x, g = with_zeros(randn(*shape, gen=gen), gen), randn(*shape, gen=gen)
    _, (dx,) = autograd(torch.relu, x, dout=g)
    check(student.relu_backward(g, x), dx, "relu_backward", "dx", x.dtype, scale=largest(g))


@pytest.mark.group("relu_backward_public")
def test_relu_backward_is_zero_at_zero(student):
    x = torch.tensor([-1.0, 0.0, 2.0, 0.0, -0.0, 3.0])
    g = torch.ones(6)
    try:
        check(student.relu_backward(g, x), torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0, 1.0]), "relu_backward", "dx",
              x.dtype)
    except CheckFailed as exc:
        raise CheckFailed(f"{exc.summary} (the gradient of ReLU at x == 0 is 0)", exc.details) from None


# ---------------------------------------------------------------- sigmoid

EXTREMES = [-1e4, -1000.0, -100.0, -88.8, -20.0, -1.0, 0.0, 1.0, 20.0, 88.8, 100.0, 1000.0, 1e4]


@pytest.mark.group("sigmoid_forward_public")
def test_sigmoid_forward(student, gen):
    x = randn(6, 5, gen=gen, scale=4.0)
    check(student.sigmoid_forward(x), torch.sigmoid(x.double()), "sigmoid_forward", "the output", x.dtype,
          scale=1.0)


@pytest.mark.group("sigmoid_forward_public")
def test_sigmoid_forward_extremes(student):
    x = torch.tensor(EXTREMES)
    showing(f"x = {EXTREMES}", check, student.sigmoid_forward(x), torch.sigmoid(x.double()), "sigmoid_forward",
            "the output for |x| up to 1e4", x.dtype, scale=1.0)


@pytest.mark.group("sigmoid_backward_public")
def test_sigmoid_backward(student, gen):
    x, g = randn(6, 5, gen=gen, scale=4.0), randn(6, 5, gen=gen)
    _, (dx,) = autograd(torch.sigmoid, x, dout=g)
    check(student.sigmoid_backward(g, x), dx, "sigmoid_backward", "dx", x.dtype, scale=largest(g) / 4)


@pytest.mark.group("sigmoid_backward_public")
def test_sigmoid_backward_extremes(student, gen):
    x, g = torch.tensor(EXTREMES), randn(len(EXTREMES), gen=gen)
    _, (dx,) = autograd(torch.sigmoid, x, dout=g)
    showing(f"x = {EXTREMES}", check, student.sigmoid_backward(g, x), dx, "sigmoid_backward",
            "dx for |x| up to 1e4", x.dtype, scale=largest(g) / 4)


# ---------------------------------------------------------------- softmax cross-entropy


def check_cross_entropy(result, logits: torch.Tensor, y: torch.Tensor) -> None:
    loss, dlogits = unpack(result, 2, fn="softmax_cross_entropy", what="the result (loss, dlogits)")
    exp_loss, (exp_dlogits,) = autograd(lambda z: F.cross_entropy(z, y), logits)
    magnitude = float(logits.abs().max()) if logits.numel() else 1.0
    check(loss, exp_loss, "softmax_cross_entropy", "the loss (the mean over the batch, a 0-dim tensor)",
          logits.dtype, magnitude)
    check(dlogits, exp_dlogits, "softmax_cross_entropy", "dlogits", logits.dtype, magnitude)


@pytest.mark.group("softmax_cross_entropy_public")
@pytest.mark.parametrize("n,c", [(5, 3), (1, 10), (32, 7)])
def test_softmax_cross_entropy(student, gen, n, c):
    logits, y = randn(n, c, gen=gen, scale=2.0), torch.randint(0, c, (n,), generator=gen)
    check_cross_entropy(student.softmax_cross_entropy(logits, y), logits, y)


@pytest.mark.group("softmax_cross_entropy_public")
def test_softmax_cross_entropy_large_logits(student, gen):
    """Logits of +-1e4: exp overflows unless the largest logit is subtracted first."""
    logits = torch.randint(-1, 2, (6, 4), generator=gen).float() * 1e4 + randn(6, 4, gen=gen)
    y = torch.randint(0, 4, (6,), generator=gen)
    showing(f"logits = {logits.tolist()}\ny = {y.tolist()}", check_cross_entropy,
            student.softmax_cross_entropy(logits, y), logits, y)


# ---------------------------------------------------------------- the MLP


def check_mlp(result, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> None:
    fn = "mlp_loss_and_grads"
    loss, grads = unpack(result, 2, fn=fn, what="the result (loss, grads)")
    if not isinstance(grads, dict) or set(grads) != set(KEYS):
        keys = sorted(map(str, grads)) if isinstance(grads, dict) else type(grads).__name__
        raise CheckFailed(f"{fn}: grads should be a dict with the keys W1, b1, W2, b2, got {keys}")
    exp_loss, exp_grads, magnitude = mlp_reference(params, x, y)
    check(loss, exp_loss, fn, "the loss", x.dtype, magnitude)
    for key in KEYS:
        check(grads[key], exp_grads[key], fn, f"grads['{key}']", x.dtype, magnitude)


@pytest.mark.group("mlp_public")
@pytest.mark.parametrize("n,din,dh,c", [(10, 5, 7, 4), (1, 3, 4, 2), (64, 20, 32, 10)])
def test_mlp_loss_and_grads(student, gen, n, din, dh, c):
    params, x = mlp_params(din, dh, c, gen), randn(n, din, gen=gen)
    y = torch.randint(0, c, (n,), generator=gen)
    check_mlp(student.mlp_loss_and_grads(params, x, y), params, x, y)


@pytest.mark.group("mlp_public")
def test_mlp_zero_hidden_unit(student, gen):
    """Hidden unit 2 has pre-activation exactly 0 for every sample: its gradients are 0 (ReLU at 0)."""
    params, x = mlp_params(4, 5, 3, gen), randn(8, 4, gen=gen)
    params["W1"][:, 2] = 0.0
    params["b1"][2] = 0.0
    y = torch.randint(0, 3, (8,), generator=gen)
    check_mlp(student.mlp_loss_and_grads(params, x, y), params, x, y)

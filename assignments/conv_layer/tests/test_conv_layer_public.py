"""Public graders for conv_layer: run them with `autograder check conv_layer`.

Every expected value is computed here, in float64, by `torch.nn.functional.conv2d`
and `max_pool2d` and their autograd gradients, on the same inputs your functions
receive (your own code may not call them). Tolerances grow with the size of the
sums involved, so any sound technique passes. When a result is wrong, the
feedback also says which common mistake it matches, if any.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conv_layer_checks import check, conv_reference, out_size, pool_backward_mistakes

from autograder.testing import CheckFailed, backward, largest, randn, unpack

# ---------------------------------------------------------------- helpers


def close_to(actual, expected: torch.Tensor, scale: float) -> bool:
    if type(actual) is not torch.Tensor or tuple(actual.shape) != tuple(expected.shape):
        return False
    return bool(((actual.double() - expected).abs() <= 1e-4 * max(scale, 1e-3) + 1e-4 * expected.abs()).all())


def conv_mistakes(actual, x, w, b, stride, padding, scale) -> list[str]:
    """Which well-known mistake a wrong conv2d_forward output matches (computed here, from your output)."""
    xd, wd, bd = x.double(), w.double(), None if b is None else b.double()
    hints = []
    if type(actual) is torch.Tensor and actual.dim() == 4 and tuple(actual.shape[:2]) == (x.shape[0], w.shape[0]):
        ho, wo = out_size(x.shape[2], w.shape[2], stride, padding), out_size(x.shape[3], w.shape[3], stride, padding)
        if tuple(actual.shape[2:]) != (ho, wo):
            hints.append(f"the output should be {ho} x {wo}: Ho = (H + 2*padding - KH) // stride + 1, rounded "
                         "down (likewise Wo)")
    candidates = {
        "your output matches a true convolution with the kernel flipped: this layer computes "
        "cross-correlation, do not flip w": F.conv2d(xd, wd.flip(-1, -2), bd, stride=stride, padding=padding),
    }
    if bd is not None:
        candidates["your output matches the result without the bias b: add b[f] to output channel f"] = F.conv2d(
            xd, wd, None, stride=stride, padding=padding)
    if padding:
        for side, pads in (("bottom/right", (0, 2 * padding, 0, 2 * padding)),
                           ("top/left", (2 * padding, 0, 2 * padding, 0))):
            candidates[f"your output matches padding only on the {side}: pad {padding} row(s) and column(s) of "
                       "zeros on every side (top, bottom, left and right)"] = F.conv2d(F.pad(xd, pads), wd, bd, stride=stride)
    hints += [hint for hint, value in candidates.items() if close_to(actual, value, scale)]
    return hints


def hinted(exc: CheckFailed, hints: list[str], details: str = "") -> CheckFailed:
    """``exc`` with the hints after what was wrong and before the numbers, and extra details."""
    summary = exc.summary
    if hints and getattr(exc, "mismatch", None) is not None:  # values differ: hint before the numbers
        summary = f"{exc.headline} ({'; '.join(hints)}): {exc.mismatch}"
    elif hints:
        summary = f"{exc.summary} ({'; '.join(hints)})"
    return CheckFailed(summary, f"{exc.details}\n{details}" if details else exc.details)


def with_hints(check_fn, hints_fn) -> None:
    """Run a check; on failure add the hints that ``hints_fn()`` finds to the summary."""
    try:
        check_fn()
    except CheckFailed as exc:
        raise hinted(exc, hints_fn()) from None


# ---------------------------------------------------------------- conv2d_forward

# n, c, h, w, f, kh, kw, stride, padding, bias
CONV_CASES = {
    "basic": (2, 3, 7, 7, 4, 3, 3, 1, 0, True),
    "padding": (2, 3, 6, 6, 4, 3, 3, 1, 1, True),
    "stride": (2, 2, 9, 9, 3, 3, 3, 2, 0, True),
    "stride_padding_nonsquare": (1, 3, 8, 6, 2, 3, 2, 2, 1, True),
    "no_bias": (2, 3, 5, 5, 4, 3, 3, 1, 1, False),
    "one_by_one": (2, 4, 5, 4, 3, 1, 1, 1, 0, True),
}


def conv_inputs(case: str, gen: torch.Generator):
    n, c, h, w, f, kh, kw, stride, padding, bias = CONV_CASES[case]
    x, wt = randn(n, c, h, w, gen=gen), randn(f, c, kh, kw, gen=gen)
    b = randn(f, gen=gen) if bias else None
    return x, wt, b, stride, padding


@pytest.mark.group("conv2d_forward_public")
@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv2d_forward(student, gen, case):
    x, w, b, stride, padding = conv_inputs(case, gen)
    expected, scale = conv_reference(x, w, b, stride, padding)
    out = student.conv2d_forward(x, w, b, stride=stride, padding=padding)
    what = f"the output (stride={stride}, padding={padding}{', b=None' if b is None else ''})"
    with_hints(lambda: check(out, expected, "conv2d_forward", what, x.dtype, scale),
               lambda: conv_mistakes(out, x, w, b, stride, padding, scale))


@pytest.mark.group("conv2d_forward_public")
def test_conv2d_forward_handout_example(student):
    """The 4 x 4 example of the handout: one image, one channel, one 2 x 2 filter."""
    x = torch.tensor([[1.0, 2, 0, 1], [0, 1, 3, 2], [2, 0, 1, 1], [1, 1, 0, 2]]).view(1, 1, 4, 4)
    w = torch.tensor([[1.0, 2], [0, 1]]).view(1, 1, 2, 2)
    expected = F.conv2d(x.double(), w.double())
    out = student.conv2d_forward(x, w, None)
    try:
        check(out, expected, "conv2d_forward", "the output for the handout's 4 x 4 example", x.dtype, 8.0)
    except CheckFailed as exc:
        raise hinted(exc, conv_mistakes(out, x, w, None, 1, 0, 8.0), f"x = {x[0, 0].tolist()}\n"
                     f"w = {w[0, 0].tolist()}\nexpected {expected[0, 0].tolist()}") from None


# ---------------------------------------------------------------- conv2d_backward

# n, c, h, w, f, kh, kw, stride, padding
BACKWARD_CASES = {
    "basic": (2, 3, 6, 6, 4, 3, 3, 1, 0),
    "padding": (2, 2, 5, 5, 3, 3, 3, 1, 1),
    "stride": (2, 2, 7, 7, 3, 3, 3, 2, 0),
    "uncovered_edge": (1, 2, 8, 8, 2, 3, 3, 2, 0),
    "stride_padding_nonsquare": (2, 3, 7, 5, 4, 3, 2, 2, 1),
    "batch_one": (1, 3, 5, 5, 2, 2, 2, 1, 0),
}


@pytest.mark.group("conv2d_backward_public")
@pytest.mark.parametrize("case", sorted(BACKWARD_CASES))
def test_conv2d_backward(student, gen, case):
    n, c, h, w, f, kh, kw, stride, padding = BACKWARD_CASES[case]
    x, wt = randn(n, c, h, w, gen=gen), randn(f, c, kh, kw, gen=gen)
    dout = randn(n, f, out_size(h, kh, stride, padding), out_size(w, kw, stride, padding), gen=gen)
    expected, scales = conv_reference(x, wt, randn(f, gen=gen), stride, padding, dout=dout)
    got = unpack(student.conv2d_backward(dout, x, wt, stride=stride, padding=padding), 3, fn="conv2d_backward",
                 what="the result (dx, dw, db)")
    for value, exp, scale, name in zip(got, expected, scales, ("dx", "dw", "db"), strict=True):
        check(value, exp, "conv2d_backward", f"{name} (stride={stride}, padding={padding})", x.dtype, scale)


# ---------------------------------------------------------------- maxpool2d

# n, c, h, w, kernel_size, stride
POOL_CASES = {
    "two_by_two": (2, 3, 8, 8, 2, 2),
    "rounded_down": (1, 2, 8, 9, 3, 2),
    "overlapping": (2, 2, 6, 6, 3, 1),
    "odd_size": (2, 2, 7, 5, 2, 2),
}


@pytest.mark.group("maxpool2d_forward_public")
@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_maxpool2d_forward(student, gen, case):
    n, c, h, w, k, s = POOL_CASES[case]
    x = randn(n, c, h, w, gen=gen)
    expected = F.max_pool2d(x.double(), k, s)
    out = student.maxpool2d_forward(x, k, s)
    shape_ok = type(out) is torch.Tensor and tuple(out.shape) == tuple(expected.shape)
    with_hints(lambda: check(out, expected, "maxpool2d_forward", f"the output (kernel_size={k}, stride={s})",
                             x.dtype, 1.0),
               lambda: [] if shape_ok else [f"the output should be {expected.shape[2]} x {expected.shape[3]}: "
                                            "Ho = (H - kernel_size) // stride + 1, rounded down"])


def pool_gradient(x: torch.Tensor, k: int, s: int, dout: torch.Tensor) -> torch.Tensor:
    leaf = x.detach().double().requires_grad_()
    backward(F.max_pool2d(leaf, k, s), dout.double())
    return leaf.grad


@pytest.mark.group("maxpool2d_backward_public")
@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_maxpool2d_backward(student, gen, case):
    n, c, h, w, k, s = POOL_CASES[case]
    x = randn(n, c, h, w, gen=gen)
    dout = randn(n, c, (h - k) // s + 1, (w - k) // s + 1, gen=gen)
    expected = pool_gradient(x, k, s, dout)
    out, scale = student.maxpool2d_backward(dout, x, k, s), largest(dout) * k * k
    with_hints(lambda: check(out, expected, "maxpool2d_backward", f"dx (kernel_size={k}, stride={s})", x.dtype,
                             scale),
               lambda: pool_backward_mistakes(out, x, dout, k, s, scale))


@pytest.mark.group("maxpool2d_backward_public")
@pytest.mark.parametrize("k,s", [(2, 2), (3, 1)])
def test_maxpool2d_backward_ties(student, gen, k, s):
    """Small integer values: most windows hold their maximum more than once."""
    x = torch.randint(0, 3, (2, 2, 6, 6), generator=gen).float()
    dout = randn(2, 2, (6 - k) // s + 1, (6 - k) // s + 1, gen=gen)
    expected = pool_gradient(x, k, s, dout)
    out, scale = student.maxpool2d_backward(dout, x, k, s), largest(dout) * k * k
    try:
        check(out, expected, "maxpool2d_backward", f"dx with tied maxima (kernel_size={k}, stride={s})",
              x.dtype, scale)
    except CheckFailed as exc:
        raise hinted(exc, pool_backward_mistakes(out, x, dout, k, s, scale), f"x[0, 0] = {x[0, 0].tolist()}") from None


@pytest.mark.group("maxpool2d_backward_public")
def test_maxpool2d_backward_all_equal(student):
    """A constant image: every window's gradient goes to its top-left entry."""
    x = torch.ones(1, 1, 4, 4)
    dout = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    expected = torch.tensor([[1.0, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]).view(1, 1, 4, 4)
    out = student.maxpool2d_backward(dout, x, 2, 2)
    try:
        check(out, expected.double(), "maxpool2d_backward", "dx for a constant image (every entry ties)", x.dtype, 4.0)
    except CheckFailed as exc:
        raise hinted(exc, pool_backward_mistakes(out, x, dout, 2, 2, 4.0), f"x = ones(1, 1, 4, 4), dout = {dout[0, 0].tolist()}, "
                     f"expected dx = {expected[0, 0].tolist()}") from None

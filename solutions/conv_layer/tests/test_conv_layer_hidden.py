"""Hidden graders for conv_layer: seeded random shapes, every stride (1-3) x padding (0-2) pair,
non-square kernels and images, kernels as large as the padded image, strides that leave rows and
columns uncovered, b=None, batch 1, float64, non-contiguous and channels-last inputs, overlapping
pooling windows and many tied maxima. Expected values come from F.conv2d / F.max_pool2d and their
autograd gradients in float64, run here in the grader (never in the worker).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conv_layer_checks import check, conv_reference, out_size, pool_backward_mistakes

from autograder.testing import CheckFailed, backward, largest, noncontiguous, randint, randn, transposed, unpack


def layout(t: torch.Tensor | None, how: str) -> torch.Tensor | None:
    """The same values in another memory layout (what the hidden tests call non-contiguous)."""
    if t is None or not how:
        return t
    if how == "channels_last" and t.dim() == 4:
        return t.contiguous(memory_format=torch.channels_last)
    if how == "transposed" and t.dim() >= 2:
        return transposed(t)
    return noncontiguous(t)


# ---------------------------------------------------------------- conv2d


def conv_shape(gen: torch.Generator, stride: int, padding: int, case: str = "") -> dict:
    """Random sizes with a window that fits the padded image (Ho, Wo >= 1)."""
    kh, kw = randint(gen, 1, 5), randint(gen, 1, 5)
    if case == "square":
        kw = kh
    h = randint(gen, max(kh - 2 * padding, 1), 13)
    w = randint(gen, max(kw - 2 * padding, 1), 13)
    if case == "kernel_fills_image":  # one output row and column
        h, w = max(kh - 2 * padding, 1), max(kw - 2 * padding, 1)
        kh, kw = h + 2 * padding, w + 2 * padding
    if case == "uncovered":  # the stride leaves the last rows and columns of the padded image unused
        stride = max(stride, 2)
        h += (stride - (h + 2 * padding - kh) % stride) % stride + 1
        w += (stride - (w + 2 * padding - kw) % stride) % stride + 1
    return {"n": 1 if case == "batch_one" else randint(gen, 1, 4), "c": randint(gen, 1, 5),
            "f": randint(gen, 1, 6), "h": h, "w": w, "kh": kh, "kw": kw, "stride": stride, "padding": padding}


def conv_tensors(gen: torch.Generator, sh: dict, dtype: torch.dtype = torch.float32, bias: bool = True):
    x = randn(sh["n"], sh["c"], sh["h"], sh["w"], gen=gen, dtype=dtype)
    w = randn(sh["f"], sh["c"], sh["kh"], sh["kw"], gen=gen, dtype=dtype)
    b = randn(sh["f"], gen=gen, dtype=dtype) if bias else None
    ho = out_size(sh["h"], sh["kh"], sh["stride"], sh["padding"])
    wo = out_size(sh["w"], sh["kw"], sh["stride"], sh["padding"])
    dout = randn(sh["n"], sh["f"], ho, wo, gen=gen, dtype=dtype)
    return x, w, b, dout


def conv_grads(x, w, dout, stride, padding):
    """(dx, dw, db) by autograd in float64 and the magnitude of the terms summed into each."""
    return conv_reference(x, w, torch.zeros(w.shape[0]), stride, padding, dout=dout)


GRID = [(s, p) for s in (1, 2, 3) for p in (0, 1, 2)]
EDGE_CASES = ["no_bias", "float64", "float64_no_bias", "batch_one", "noncontiguous", "transposed_weights",
              "channels_last", "kernel_fills_image", "uncovered", "one_by_one", "large_values", "square",
              "one_filter_strided"]


def reaches_image(sh: dict) -> bool:
    """Does some output window overlap the image, not only the padding (else, without bias, the answer is 0)?"""
    def along(size: int, k: int) -> bool:
        count = out_size(size, k, sh["stride"], sh["padding"])
        return any(i * sh["stride"] + k > sh["padding"] and i * sh["stride"] < sh["padding"] + size
                   for i in range(count))
    return along(sh["h"], sh["kh"]) and along(sh["w"], sh["kw"])


def edge_inputs(case: str, gen: torch.Generator):
    while True:  # a stride that only ever lands on padding makes the answer all zeros: draw again
        stride, padding = randint(gen, 1, 3), randint(gen, 0, 2)
        sh = conv_shape(gen, stride, padding, case)
        if reaches_image(sh):
            break
    if case == "one_by_one":
        sh.update(kh=1, kw=1)
    if case == "one_filter_strided":  # b is a [1] view with stride 2; dout has a size-1 channel dimension
        sh.update(f=1)
    dtype = torch.float64 if case.startswith("float64") else torch.float32
    x, w, b, dout = conv_tensors(gen, sh, dtype, bias="no_bias" not in case)
    if case == "large_values":
        x, w = x * 1e3, w * 1e2
    how = {"noncontiguous": "strided", "transposed_weights": "transposed", "channels_last": "channels_last",
           "one_filter_strided": "strided"}
    how = how.get(case, "")
    x, dout = layout(x, how), layout(dout, how)
    w, b = layout(w, how), layout(b, "strided" if how else "")
    return x, w, b, dout, sh["stride"], sh["padding"]


@pytest.mark.group("conv2d_forward_hidden")
@pytest.mark.parametrize("stride,padding", GRID)
def test_conv2d_forward_grid(student, gen, stride, padding):
    sh = conv_shape(gen, stride, padding)
    x, w, b, _ = conv_tensors(gen, sh, bias=bool(randint(gen, 0, 1)))
    expected, scale = conv_reference(x, w, b, stride, padding)
    check(student.conv2d_forward(x, w, b, stride=stride, padding=padding), expected, "conv2d_forward",
          "the output", x.dtype, scale)


@pytest.mark.group("conv2d_forward_hidden")
@pytest.mark.parametrize("case", EDGE_CASES)
def test_conv2d_forward_edges(student, gen, case):
    x, w, b, _, stride, padding = edge_inputs(case, gen)
    expected, scale = conv_reference(x, w, b, stride, padding)
    if case.endswith("no_bias"):  # positional None, defaults for stride/padding when they are 1/0
        result = student.conv2d_forward(x, w, None, stride, padding)
    else:
        result = student.conv2d_forward(x, w, b, stride=stride, padding=padding)
    check(result, expected, "conv2d_forward", "the output", x.dtype, scale)


@pytest.mark.group("conv2d_forward_hidden")
def test_conv2d_forward_defaults(student, gen):
    """stride and padding left at their defaults (1 and 0)."""
    x, w, b = randn(2, 3, 6, 5, gen=gen), randn(4, 3, 2, 3, gen=gen), randn(4, gen=gen)
    expected, scale = conv_reference(x, w, b, 1, 0)
    check(student.conv2d_forward(x, w, b), expected, "conv2d_forward", "the output with the default stride and "
          "padding", x.dtype, scale)


def check_grads(result, x, w, dout, stride, padding):
    got = unpack(result, 3, fn="conv2d_backward", what="the result (dx, dw, db)")
    expected, scales = conv_grads(x, w, dout, stride, padding)
    for value, exp, scale, name in zip(got, expected, scales, ("dx", "dw", "db"), strict=True):
        check(value, exp, "conv2d_backward", name, x.dtype, scale)


@pytest.mark.group("conv2d_backward_hidden")
@pytest.mark.parametrize("stride,padding", GRID)
def test_conv2d_backward_grid(student, gen, stride, padding):
    sh = conv_shape(gen, stride, padding)
    x, w, _, dout = conv_tensors(gen, sh)
    check_grads(student.conv2d_backward(dout, x, w, stride=stride, padding=padding), x, w, dout, stride, padding)


@pytest.mark.group("conv2d_backward_hidden")
@pytest.mark.parametrize("case", [c for c in EDGE_CASES if c not in ("no_bias", "float64_no_bias")])
def test_conv2d_backward_edges(student, gen, case):
    x, w, _, dout, stride, padding = edge_inputs(case, gen)
    check_grads(student.conv2d_backward(dout, x, w, stride, padding), x, w, dout, stride, padding)


# ---------------------------------------------------------------- maxpool2d

POOL_CASES = ["random0", "random1", "random2", "overlapping", "window_is_image", "kernel_one", "float64",
              "batch_one", "noncontiguous", "channels_last", "rounded_down", "negative_values"]


def pool_inputs(case: str, gen: torch.Generator, ties: bool = False):
    k = 1 if case == "kernel_one" else randint(gen, 2, 4)
    s = 2 if case == "kernel_one" else randint(gen, 1, {"overlapping": k - 1}.get(case, 4))  # k = s = 1 is a copy
    h, w = randint(gen, k, 14), randint(gen, k, 14)
    if case == "window_is_image":
        h, w = k, k
    if case == "rounded_down":
        s = max(s, 2)
        h += (s - (h - k) % s) % s + 1
        w += (s - (w - k) % s) % s + 1
    n = 1 if case == "batch_one" else randint(gen, 1, 3)
    c = randint(gen, 1, 4)
    dtype = torch.float64 if case == "float64" else torch.float32
    if ties:
        x = torch.randint(0, 3, (n, c, h, w), generator=gen).to(dtype)
    else:
        x = randn(n, c, h, w, gen=gen, dtype=dtype)
    if case == "negative_values":
        x = -x.abs() - 1
    dout = randn(n, c, (h - k) // s + 1, (w - k) // s + 1, gen=gen, dtype=dtype)
    how = {"noncontiguous": "strided", "channels_last": "channels_last"}.get(case, "")
    return layout(x, how), layout(dout, how), k, s


@pytest.mark.group("maxpool2d_forward_hidden")
@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool2d_forward(student, gen, case):
    x, _, k, s = pool_inputs(case, gen)
    check(student.maxpool2d_forward(x, k, s), F.max_pool2d(x.double(), k, s), "maxpool2d_forward",
          "the output", x.dtype, 1.0)


def pool_grad(x, dout, k, s):
    leaf = x.detach().double().requires_grad_()
    backward(F.max_pool2d(leaf, k, s), dout.double())
    return leaf.grad


@pytest.mark.group("maxpool2d_backward_hidden")
@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool2d_backward(student, gen, case):
    x, dout, k, s = pool_inputs(case, gen)
    check_pool_backward(student.maxpool2d_backward(dout, x, k, s), x, dout, k, s, "dx")


def check_pool_backward(out, x, dout, k, s, what):
    """Compare with autograd; on failure name the tie-rule or += mistake that recomputing confirms."""
    scale = largest(dout) * k * k
    try:
        check(out, pool_grad(x, dout, k, s), "maxpool2d_backward", what, x.dtype, scale)
    except CheckFailed as exc:
        hints = pool_backward_mistakes(out, x, dout, k, s, scale)
        raise CheckFailed(exc.summary + "".join(f" ({h})" for h in hints), exc.details) from None


@pytest.mark.group("maxpool2d_backward_hidden")
@pytest.mark.parametrize("case", ["random0", "random1", "overlapping", "float64", "noncontiguous",
                                  "rounded_down"])
def test_maxpool2d_backward_ties(student, gen, case):
    x, dout, k, s = pool_inputs(case, gen, ties=True)
    check_pool_backward(student.maxpool2d_backward(dout, x, k, s), x, dout, k, s, "dx with tied maxima")


@pytest.mark.group("maxpool2d_backward_hidden")
def test_maxpool2d_backward_constant_overlapping(student, gen):
    """Every entry ties and windows overlap: gradients pile up on each window's top-left entry."""
    x = torch.full((2, 3, 7, 6), -0.5)
    dout = randn(2, 3, 3, 2, gen=gen)
    check_pool_backward(student.maxpool2d_backward(dout, x, 3, 2), x, dout, 3, 2,
                        "dx for a constant input with overlapping windows")

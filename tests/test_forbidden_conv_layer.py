"""conv_layer: library convolutions and max pooling are forbidden however they are reached, and a
trip costs only the part that made it."""

from __future__ import annotations

import pytest
from conftest import ROOT, grade_source, group_scores, output_of, replace_solution

SLUG = "conv_layer"
REFERENCE = (ROOT / f"solutions/{SLUG}/{SLUG}.py").read_text()
FORWARD = "conv2d_forward: values, stride and padding, bias and b=None"
BACKWARD = "conv2d_backward: dx, dw, db against autograd, stride and padding"
POOL = "maxpool2d_forward: values, stride and kernel size"
POOL_BACKWARD = "maxpool2d_backward: against autograd, ties to the first maximum"
CONV_LABEL = "torch.ops.aten.convolution (any convolution operator)"
POOL_LABEL = "torch.ops.aten.max_pool2d (any max-pooling operator)"

ARGS = "x, w, b, stride=stride, padding=padding"
CONV_ROUTES = {  # route: (body of conv2d_forward, words the feedback must contain)
    "functional": (f"return F.conv2d({ARGS})", "torch.nn.functional.conv2d"),
    "torch_conv2d": (f"return torch.conv2d({ARGS})", "conv2d"),  # the same object as F.conv2d
    "alias": (f"from torch.nn.functional import conv2d as correlate\n    return correlate({ARGS})",
              "torch.nn.functional.conv2d"),
    "getattr": (f"return getattr(F, 'conv' + '2d')({ARGS})", "torch.nn.functional.conv2d"),
    "importlib": ("import importlib\n    fn = importlib.import_module('torch.nn.functional')\n"
                  f"    return fn.conv2d({ARGS})", "torch.nn.functional.conv2d"),
    "ops_convolution": ("return torch.ops.aten.convolution.default(x, w, b, [stride] * 2, [padding] * 2, [1, 1], "
                        "False, [0, 0], 1)", "convolution"),
    "ops_conv2d": ("return torch.ops.aten.conv2d.default(x, w, b, [stride] * 2, [padding] * 2)", "conv2d"),
    "getattr_ops": ("return getattr(torch.ops.aten, 'convo' + 'lution')(x, w, b, [stride] * 2, [padding] * 2, "
                    "[1, 1], False, [0, 0], 1)", "convolution"),
    "private_nn": ("return torch._C._nn.thnn_conv2d(x, w, list(w.shape[2:]), b, [stride] * 2, [padding] * 2)",
                   CONV_LABEL),
    "variable_functions": (f"return torch._C._VariableFunctions.conv2d({ARGS})", "conv2d"),
    "mkldnn": ("return torch.mkldnn_convolution(x, w, b, [padding] * 2, [stride] * 2, [1, 1], 1)", CONV_LABEL),
    "torch_convolution": ("return torch.convolution(x, w, b, [stride] * 2, [padding] * 2, [1, 1], False, [0, 0], 1)",
                          "torch.convolution"),
    "conv_transpose": ("wt = w.flip(-2, -1).transpose(0, 1)\n"
                       "    return F.conv_transpose2d(x, wt, b, padding=w.shape[-1] - 1 - padding)",
                       "torch.nn.functional.conv_transpose2d"),
    "conv3d": ("return F.conv3d(x.unsqueeze(2), w.unsqueeze(2), b, stride=(1, stride, stride), "
               "padding=(0, padding, padding)).squeeze(2)", "torch.nn.functional.conv3d"),
    "nn_module": ("layer = torch.nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), stride=stride, "
                  "padding=padding, bias=False, dtype=x.dtype)\n"
                  "    layer.weight.data = w\n    return layer(x).detach()", "torch.nn.Conv2d"),
    "nn_module_original_class": ("cls = next(c for c in torch.nn.Conv2d.__mro__ if 'forward' in vars(c) "
                                 "and c.__name__ == 'Conv2d')  # the class with the code\n"
                                 "    layer = cls(w.shape[1], w.shape[0], tuple(w.shape[2:]), stride=stride, "
                                 "padding=padding, bias=False, dtype=x.dtype)\n"
                                 "    layer.weight.data = w\n    return layer(x).detach()", "torch.nn.Conv2d"),
    "lazy_module": ("layer = torch.nn.LazyConv2d(w.shape[0], tuple(w.shape[2:]), stride=stride, padding=padding, "
                    "bias=False)\n    layer(x)\n    layer.weight.data = w\n    return layer(x).detach()",
                    "torch.nn.LazyConv2d"),
}

BACKWARD_ROUTES = {
    "nn_grad": ("dx = torch.nn.grad.conv2d_input(x.shape, w, dout, stride=stride, padding=padding)\n"
                "    dw = torch.nn.grad.conv2d_weight(x, w.shape, dout, stride=stride, padding=padding)\n"
                "    return dx, dw, dout.sum(dim=(0, 2, 3))", "torch.nn.grad.conv2d_input"),
    "ops_convolution_backward": ("dx, dw, db = torch.ops.aten.convolution_backward(dout, x, w, [w.shape[0]], "
                                 "[stride] * 2, [padding] * 2, [1, 1], False, [0, 0], 1, [True, True, True])\n"
                                 "    return dx, dw, db", CONV_LABEL),
    "autograd_through_conv2d": ("xg, wg = x.detach().requires_grad_(), w.detach().requires_grad_()\n"
                                "    with torch.enable_grad():\n"
                                "        F.conv2d(xg, wg, stride=stride, padding=padding).backward(dout)\n"
                                "    return xg.grad, wg.grad, dout.sum(dim=(0, 2, 3))",
                                "torch.nn.functional.conv2d"),
}

POOL_ROUTES = {  # route: (function, body, words)
    "functional": ("maxpool2d_forward", "return F.max_pool2d(x, kernel_size, stride)",
                   "torch.nn.functional.max_pool2d"),
    "torch_max_pool2d": ("maxpool2d_forward", "return torch.max_pool2d(x, kernel_size, stride)",
                         "torch.max_pool2d"),
    "getattr": ("maxpool2d_forward", "return getattr(F, 'max_' + 'pool2d')(x, kernel_size, stride)",
                "torch.nn.functional.max_pool2d"),
    "nn_module": ("maxpool2d_forward", "return torch.nn.MaxPool2d(kernel_size, stride)(x)", "torch.nn.MaxPool2d"),
    "ops": ("maxpool2d_forward", "return torch.ops.aten.max_pool2d.default(x, [kernel_size] * 2, [stride] * 2)",
            "max_pool2d"),
    "private_nn": ("maxpool2d_forward", "return torch._C._nn.max_pool2d_with_indices(x, kernel_size, stride)[0]",
                   "max_pool2d_with_indices"),
    "adaptive": ("maxpool2d_forward", "return F.adaptive_max_pool2d(x, ((x.shape[2] - kernel_size) // stride + 1, "
                 "(x.shape[3] - kernel_size) // stride + 1))", POOL_LABEL),
    "max_pool1d": ("maxpool2d_forward", "rows = F.max_pool1d(x.transpose(2, 3).flatten(0, 2), kernel_size, stride)\n"
                   "    return rows", "torch.nn.functional.max_pool1d"),
    "indices_for_backward": ("maxpool2d_backward",
                             "n, c, h, w = x.shape\n"
                             "    _, idx = F.max_pool2d(x, kernel_size, stride, return_indices=True)\n"
                             "    dx = torch.zeros(n, c, h * w, dtype=dout.dtype)\n"
                             "    return dx.scatter_add_(2, idx.flatten(2), dout.flatten(2)).view(n, c, h, w)",
                             "torch.nn.functional.max_pool2d"),
    "ops_with_indices_backward": ("maxpool2d_backward",
                                  "_, idx = torch.ops.aten.max_pool2d_with_indices(x, [kernel_size] * 2, "
                                  "[stride] * 2)\n"
                                  "    return torch.ops.aten.max_pool2d_with_indices_backward(dout, x, "
                                  "[kernel_size] * 2, [stride] * 2, [0, 0], [1, 1], False, idx)",
                                  "max_pool2d_with_indices"),
}


def _grade(tmp_path, fn: str, body: str):
    source = replace_solution(REFERENCE, fn, body)
    report = grade_source(SLUG, source, tmp_path, limits={"call_timeout_s": 5}, performance=False)
    return group_scores(report), report


@pytest.mark.parametrize("route", sorted(CONV_ROUTES))
def test_conv2d_is_forbidden_on_every_route(tmp_path, route):
    body, name = CONV_ROUTES[route]
    scores, report = _grade(tmp_path, "conv2d_forward", body)
    assert scores[FORWARD] == 0, scores
    feedback = output_of(report, FORWARD)
    assert "conv2d_forward used a forbidden call" in feedback and name in feedback, feedback
    assert scores[POOL] == 2 and scores[BACKWARD] == 3, scores  # other parts are unaffected


@pytest.mark.parametrize("route", sorted(BACKWARD_ROUTES))
def test_conv2d_backward_routes_are_forbidden(tmp_path, route):
    body, name = BACKWARD_ROUTES[route]
    scores, report = _grade(tmp_path, "conv2d_backward", body)
    assert scores[BACKWARD] == 0, scores
    feedback = output_of(report, BACKWARD)
    assert "conv2d_backward used a forbidden call" in feedback and name in feedback, feedback
    assert scores[FORWARD] == 3 and scores[POOL_BACKWARD] == 2, scores


@pytest.mark.parametrize("route", sorted(POOL_ROUTES))
def test_max_pool_is_forbidden_on_every_route(tmp_path, route):
    fn, body, name = POOL_ROUTES[route]
    group = POOL if fn == "maxpool2d_forward" else POOL_BACKWARD
    scores, report = _grade(tmp_path, fn, body)
    assert scores[group] == 0, scores
    feedback = output_of(report, group)
    assert f"{fn} used a forbidden call" in feedback and name in feedback, feedback
    assert scores[FORWARD] == 3 and scores[BACKWARD] == 3, scores


def test_allowed_building_blocks_stay_allowed(tmp_path):
    """unfold/im2col, fold/col2im, as_strided, max/argmax, scatter_add and index_add are not caught by the
    aten patterns (which also spare _convert_indices_* through '(?!ert)')."""
    body = ("cols = torch._C._nn.im2col(x, [w.shape[2], w.shape[3]], [1, 1], [padding] * 2, [stride] * 2)\n"
            "    back = torch._C._nn.col2im(cols, [x.shape[2] + 0, x.shape[3]], [w.shape[2], w.shape[3]], [1, 1], "
            "[padding] * 2, [stride] * 2)\n"
            "    view = x.as_strided((1,), (1,))\n"
            "    probe = torch.zeros(3).scatter_add(0, torch.tensor([1]), torch.ones(1)).index_add(0, "
            "torch.tensor([2]), torch.ones(1))\n"
            "    crow = torch._convert_indices_from_coo_to_csr(torch.tensor([0, 1]), 2)\n"
            "    assert back.shape == x.shape and view.numel() == 1 and probe.argmax() == 1 and crow.numel() == 3\n"
            "    n, f = x.shape[0], w.shape[0]\n"
            "    out = w.reshape(f, -1) @ cols + (0 if b is None else b.reshape(1, f, 1))\n"
            "    ho = (x.shape[2] + 2 * padding - w.shape[2]) // stride + 1\n"
            "    return out.reshape(n, f, ho, -1) + 0 * x.max()")
    scores, _ = _grade(tmp_path, "conv2d_forward", body)
    assert scores[FORWARD] == 3, scores

"""mlp_backprop: autograd is forbidden in every part, however the submission reaches it."""

from __future__ import annotations

import pytest
from conftest import ROOT, grade_source, group_scores, output_of, replace_solution

SLUG = "mlp_backprop"
REFERENCE = (ROOT / f"solutions/{SLUG}/{SLUG}.py").read_text()
LINEAR = "linear_backward: dx, dW, db against autograd"
RELU = "relu_forward: values"

SETUP = ("xg, Wg = x.detach().requires_grad_(), W.detach().requires_grad_()\n"
         "    bg = torch.zeros(W.shape[1], dtype=W.dtype, requires_grad=True)\n"
         "    out = xg @ Wg + bg\n    ")
GRADS = "\n    return xg.grad, Wg.grad, bg.grad"

ROUTES = {  # route: (body after SETUP, words the feedback must contain)
    "tensor_backward": ("out.backward(dout)" + GRADS, "torch.Tensor.backward"),
    "getattr_backward": ("getattr(out, 'back' + 'ward')(dout)" + GRADS, "torch.Tensor.backward"),
    "autograd_grad": ("return torch.autograd.grad(out, (xg, Wg, bg), dout)", "torch.autograd.grad"),
    "autograd_backward": ("torch.autograd.backward(out, dout)" + GRADS, "torch.autograd.backward"),
    "importlib_grad": ("import importlib\n    ag = importlib.import_module('torch.autograd')\n"
                       "    return ag.grad(out, (xg, Wg, bg), dout)", "torch.autograd.grad"),
    "alias_grad": ("from torch.autograd import grad as g\n    return g(out, (xg, Wg, bg), dout)",
                   "torch.autograd.grad"),
    "func_vjp": ("_, pull = torch.func.vjp(lambda a, w: a @ w, x, W)\n"
                 "    dx, dW = pull(dout)\n    return dx, dW, dout.sum(0)", "torch.func.vjp"),
    "func_grad": ("f = torch.func.grad(lambda a, w: ((a @ w) * dout).sum(), argnums=(0, 1))\n"
                  "    dx, dW = f(x, W)\n    return dx, dW, dout.sum(0)", "torch.func.grad"),
    "getattr_func": ("import importlib\n    func = importlib.import_module('torch.func')\n"
                     "    _, pull = getattr(func, 'v' + 'jp')(lambda a, w: a @ w, x, W)\n"
                     "    dx, dW = pull(dout)\n    return dx, dW, dout.sum(0)", "torch.func.vjp"),
    "functional_vjp": ("_, (dx, dW) = torch.autograd.functional.vjp(lambda a, w: a @ w, (x, W), dout)\n"
                       "    return dx, dW, dout.sum(0)", "torch.autograd.functional.vjp"),
    "engine": ("from torch.autograd import Variable\n"
               "    Variable._execution_engine.run_backward((out,), (dout,), False, False, (xg, Wg, bg), False, False)"
               + GRADS, "autograd (a backward pass)"),
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_autograd_is_forbidden_on_every_route(tmp_path, route):
    body, name = ROUTES[route]
    source = replace_solution(REFERENCE, "linear_backward", ("" if route.startswith(("func", "getattr_func",
                                                                                     "functional")) else SETUP) + body)
    report = grade_source(SLUG, source, tmp_path, limits={"call_timeout_s": 5}, performance=False)
    scores = group_scores(report)
    assert scores[LINEAR] == 0, scores
    feedback = output_of(report, LINEAR)
    assert "linear_backward used a forbidden call" in feedback and name in feedback, feedback
    assert scores[RELU] == 1  # parts that do not use autograd are unaffected

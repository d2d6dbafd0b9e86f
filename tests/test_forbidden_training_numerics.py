"""training_numerics: library softmax, normalisation layers and optimizers are forbidden however they are
reached, and a trip costs only the part that made it."""

from __future__ import annotations

import pytest
from conftest import ROOT, grade_source, group_scores, output_of, replace_solution

SLUG = "training_numerics"
REFERENCE = (ROOT / f"solutions/{SLUG}/{SLUG}.py").read_text()
GROUPS = {
    "softmax": "softmax: values along any dim, finite for logits up to +-1e4",
    "cross_entropy": "cross_entropy: mean loss, finite when the true class is far behind",
    "batch_norm": "batch_norm: train and eval outputs, running statistics, [N, C] and [N, C, H, W]",
    "adam_step": "adam_step: parameter, m and v after one step, bias correction, tiny gradients",
}
SOFTMAX_LABEL = "aten softmax and log_softmax kernels"
NORM_LABEL = "aten batch, instance, layer, group and RMS norm kernels"

ROUTES = {  # route: (function, body, words the feedback must contain)
    "f_softmax": ("softmax", "return torch.nn.functional.softmax(z, dim=dim)", "torch.nn.functional.softmax"),
    "torch_softmax": ("softmax", "return torch.softmax(z, dim)", "torch.softmax"),
    "tensor_method": ("softmax", "return z.softmax(dim)", "torch.Tensor.softmax"),
    "special": ("softmax", "return torch.special.softmax(z, dim)", "torch.special.softmax"),
    "module": ("softmax", "return torch.nn.Softmax(dim=dim)(z)", "torch.nn.Softmax"),
    "getattr": ("softmax", "import torch.nn.functional as F\n    return getattr(F, 'soft' + 'max')(z, dim=dim)",
                "torch.nn.functional.softmax"),
    "importlib": ("softmax", "import importlib\n    return importlib.import_module('torch.nn.functional')"
                  ".softmax(z, dim=dim)", "torch.nn.functional.softmax"),
    "log_softmax_exp": ("softmax", "return torch.log_softmax(z, dim).exp()", "torch.log_softmax"),
    "softmin": ("softmax", "return torch.nn.functional.softmin(-z, dim=dim)", "torch.nn.functional.softmin"),
    "ops_softmax": ("softmax", "return torch.ops.aten._softmax.default(z, dim, False)", SOFTMAX_LABEL),
    "ops_out_overload": ("softmax", "return torch.ops.aten._softmax.out(z, dim, False, out=torch.empty_like(z))",
                         SOFTMAX_LABEL),
    "ops_safe_softmax": ("softmax", "return torch.ops.aten._safe_softmax.default(z, dim)", SOFTMAX_LABEL),
    "private_binding": ("softmax", "return torch._softmax(z, dim, False)", SOFTMAX_LABEL),
    "variable_functions": ("softmax", "return torch._C._VariableFunctions.softmax(z, dim)", "softmax"),
    "f_cross_entropy": ("cross_entropy", "return torch.nn.functional.cross_entropy(logits, y)",
                        "torch.nn.functional.cross_entropy"),
    "cross_entropy_module": ("cross_entropy", "return torch.nn.CrossEntropyLoss()(logits, y)",
                             "torch.nn.CrossEntropyLoss"),
    "nll_of_log_softmax": ("cross_entropy", "import torch.nn.functional as F\n"
                           "    return F.nll_loss(F.log_softmax(logits, dim=1), y)", "torch.nn.functional.log_softmax"),
    "ops_cross_entropy": ("cross_entropy", "return torch.ops.aten.cross_entropy_loss.default(logits, y)",
                          SOFTMAX_LABEL),
    "private_nn_cross_entropy": ("cross_entropy", "return torch._C._nn.cross_entropy_loss(logits, y)",
                                 SOFTMAX_LABEL),
    "f_batch_norm": ("batch_norm", "out = torch.nn.functional.batch_norm(x, running_mean.clone(), "
                     "running_var.clone(), gamma, beta, training, momentum, eps)\n"
                     "    return out, running_mean, running_var", "torch.nn.functional.batch_norm"),
    "torch_batch_norm": ("batch_norm", "out = torch.batch_norm(x, gamma, beta, running_mean.clone(), "
                         "running_var.clone(), training, momentum, eps, False)\n"
                         "    return out, running_mean, running_var", "torch.batch_norm"),
    "native_batch_norm": ("batch_norm", "out = torch.native_batch_norm(x, gamma, beta, running_mean.clone(), "
                          "running_var.clone(), training, momentum, eps)[0]\n"
                          "    return out, running_mean, running_var", "torch.native_batch_norm"),
    "ops_legit": ("batch_norm", "out = torch.ops.aten._native_batch_norm_legit.no_stats(x, gamma, beta, True, "
                  "momentum, eps)[0]\n    return out, running_mean, running_var", NORM_LABEL),
    "layer_norm_trick": ("batch_norm", "import torch.nn.functional as F\n"
                         "    out = F.layer_norm(x.T, (x.shape[0],), eps=eps).T * gamma + beta\n"
                         "    return out, running_mean, running_var", "torch.nn.functional.layer_norm"),
    "torch_layer_norm": ("batch_norm", "out = torch.layer_norm(x.T, [x.shape[0]], None, None, eps).T * gamma + beta\n"
                         "    return out, running_mean, running_var", "layer_norm"),
    "module_original_class": ("batch_norm", "cls = next(c for c in torch.nn.BatchNorm1d.__mro__ "
                              "if '_check_input_dim' in vars(c))  # the class with the code\n"
                              "    layer = cls(x.shape[1], eps=eps, momentum=momentum)\n"
                              "    return layer(x).detach(), running_mean, running_var", "torch.nn.BatchNorm1d"),
    "optim_original_class": ("adam_step", "cls = next(c for c in torch.optim.Adam.__mro__ if 'step' in vars(c))  # the class with the code\n"
                             "    p = param.clone().requires_grad_()\n    p.grad = grad.clone()\n"
                             "    cls([p], lr=lr).step()\n    return p.detach(), m, v", "torch.optim.Adam"),
    "optim_through_a_subclass": ("adam_step", "class Mine(torch.optim.Adam):\n        pass\n"
                                 "    p = param.clone().requires_grad_()\n    p.grad = grad.clone()\n"
                                 "    Mine([p], lr=lr).step()\n    return p.detach(), m, v", "torch.optim.Adam"),
    "optim_adamw": ("adam_step", "p = param.clone().requires_grad_()\n    p.grad = grad.clone()\n"
                    "    torch.optim.AdamW([p], lr=lr, weight_decay=0.0).step()\n"
                    "    return p.detach(), m, v", "torch.optim.AdamW"),
    "functional_adam": ("adam_step", "from torch.optim.adam import adam\n"
                        "    p, mm, vv = param.clone(), m.clone(), v.clone()\n"
                        "    adam([p], [grad], [mm], [vv], [], [torch.tensor(float(t - 1))], amsgrad=False, "
                        "beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay, eps=eps, maximize=False)\n"
                        "    return p, mm, vv", "torch.optim.adam.adam"),
    "fused_adam": ("adam_step", "p, mm, vv = param.clone(), m.clone(), v.clone()\n"
                   "    torch._fused_adam_([p], [grad], [mm], [vv], [], [torch.tensor(float(t))], lr=lr, beta1=beta1, "
                   "beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)\n"
                   "    return p, mm, vv", "aten fused Adam kernels"),
}


# Routes of another kind than these (plain aliases, getattr, importlib, other modules) run with -m slow.
DEFAULT = {"ops_out_overload", "private_binding", "nll_of_log_softmax", "ops_cross_entropy", "ops_legit",
           "layer_norm_trick", "module_original_class", "optim_original_class", "functional_adam", "fused_adam"}


@pytest.mark.parametrize("route", [r if r in DEFAULT else pytest.param(r, marks=pytest.mark.slow) for r in sorted(ROUTES)])
def test_library_routes_are_forbidden(tmp_path, route):
    fn, body, name = ROUTES[route]
    report = grade_source(SLUG, replace_solution(REFERENCE, fn, body), tmp_path, limits={"call_timeout_s": 5},
                          performance=False)
    scores = group_scores(report)
    assert scores[GROUPS[fn]] == 0, scores
    feedback = output_of(report, GROUPS[fn])
    assert f"{fn} used a forbidden call" in feedback and name in feedback, feedback
    maximum = {t.name: t.max_score for t in report.results.tests}
    others = [GROUPS[p] for p in GROUPS if p != fn]
    assert all(scores[g] == maximum[g] for g in others), scores  # other parts are unaffected


def test_allowed_building_blocks_stay_allowed(tmp_path):
    """logsumexp, nll_loss, var_mean, lerp, rsqrt and the _foreach_ ops are not caught by the bans."""
    source = replace_solution(REFERENCE, "cross_entropy",
                              "import torch.nn.functional as F\n"
                              "    return F.nll_loss(logits - torch.logsumexp(logits, 1, keepdim=True), y)")
    source = replace_solution(source, "adam_step",
                              "g = grad + weight_decay * param\n"
                              "    new_m, new_v = torch._foreach_add(torch._foreach_mul([m, v], [beta1, beta2]), "
                              "torch._foreach_mul([g, g * g], [1 - beta1, 1 - beta2]))\n"
                              "    denom = torch._foreach_add(torch._foreach_sqrt([new_v / (1 - beta2 ** t)]), eps)[0]\n"
                              "    return param - lr / (1 - beta1 ** t) * new_m / denom, new_m, new_v")
    report = grade_source(SLUG, source, tmp_path, performance=False)
    assert report.score == report.max_score, group_scores(report)

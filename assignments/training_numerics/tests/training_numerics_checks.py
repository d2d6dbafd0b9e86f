"""Oracles and checks shared by the public and hidden training_numerics graders (imported by both).

Expected values come from PyTorch itself in float64 (``torch.softmax``, ``F.cross_entropy``,
``F.batch_norm``, ``torch.optim.Adam``'s own step): the bans apply to submissions only, never here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder.testing import CheckFailed, assert_close, largest, unpack


def rtol_for(dtype: torch.dtype, magnitude: float = 1.0) -> float:
    """Relative tolerance for a result computed from values of this magnitude (float32 rounding of 1e4 is 1e-3)."""
    base = 5e-5 if dtype == torch.float32 else 1e-10
    return max(base, 8 * torch.finfo(dtype).eps * magnitude)


def check(actual, expected: torch.Tensor, fn: str, what: str, dtype: torch.dtype, rtol: float,
          scale: float | None = None) -> None:
    """Compare with a float64 expected value cast to ``dtype``; the absolute tolerance is ``rtol`` times ``scale``
    (by default the largest expected entry, at least 1)."""
    scale = max(largest(expected), 1.0) if scale is None else scale
    assert_close(actual, expected.to(dtype), rtol=rtol, atol=rtol * scale, fn=fn, what=what)


# ---------------------------------------------------------------- softmax and cross-entropy


def check_softmax(result, z: torch.Tensor, dim: int) -> None:
    expected = torch.softmax(z.double(), dim=dim)
    what = f"the output (dim={dim})"
    check(result, expected, "softmax", what, z.dtype, rtol_for(z.dtype, finite_magnitude(z)), scale=1.0)


def finite_magnitude(z: torch.Tensor) -> float:
    finite = z[torch.isfinite(z)]
    return max(largest(finite), 1.0)


def check_cross_entropy(result, logits: torch.Tensor, y: torch.Tensor) -> None:
    expected = F.cross_entropy(logits.double(), y)
    check(result, expected, "cross_entropy", "the loss (the mean over the batch, a 0-dim tensor)", logits.dtype,
          rtol_for(logits.dtype, finite_magnitude(logits)))


# ---------------------------------------------------------------- batch norm


def batch_norm_expected(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    """(out, new_running_mean, new_running_var) from F.batch_norm in float64 on copies of the statistics."""
    rm, rv = running_mean.double().clone(), running_var.double().clone()
    out = F.batch_norm(x.double(), rm, rv, gamma.double(), beta.double(), training, momentum, eps)
    return out, rm, rv


def check_batch_norm(result, x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5,
                     case: str = "") -> None:
    fn, mode = "batch_norm", "training" if training else "eval"
    label = f" ({mode} mode{', ' + case if case else ''})"
    out, rm, rv = unpack(result, 3, fn=fn, what="the result (out, new_running_mean, new_running_var)")
    exp_out, exp_rm, exp_rv = batch_norm_expected(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    rtol = 2e-4 if x.dtype == torch.float32 else 1e-9
    check(rm, exp_rm, fn, f"new_running_mean{label}", x.dtype, rtol)
    try:
        check(rv, exp_rv, fn, f"new_running_var{label}", x.dtype, rtol)
    except CheckFailed as exc:
        raise CheckFailed(exc.summary + _running_var_hint(rv, x, running_var, training, momentum),
                          exc.details) from None
    scale = max(largest(exp_out), 1.0, normalisation_error(x, gamma, running_var, training, eps) / rtol)
    check(out, exp_out, fn, f"the output{label}", x.dtype, rtol, scale=scale)


def normalisation_error(x, gamma, running_var, training, eps) -> float:
    """The error any correct technique may make in ``x.dtype``: rounding the mean of values as large as |x|
    costs about eps(dtype) * |x|, and normalising multiplies it by |gamma| / sqrt(var + eps). Large means over
    a small batch spread (two samples close together) make that far more than ``rtol``."""
    dims = tuple(d for d in range(x.dim()) if d != 1)
    xd = x.detach().double()
    var = xd.var(dim=dims, correction=0) if training else running_var.detach().double()
    gain = gamma.detach().double().abs() * xd.abs().amax(dim=dims) / (var + eps).sqrt()
    return 32 * torch.finfo(x.dtype).eps * float(gain.max())


def _running_var_hint(got, x, running_var, training, momentum) -> str:
    """Name the cause when the running variance is exactly the biased-variance update (verified, not guessed)."""
    if not training or type(got) is not torch.Tensor or got.shape != running_var.shape:
        return ""
    dims = [d for d in range(x.dim()) if d != 1]
    biased = (1 - momentum) * running_var.double() + momentum * x.double().var(dim=dims, correction=0)
    close = torch.allclose(got.double(), biased, rtol=1e-4, atol=1e-6)
    return " (it matches the biased batch variance: running_var is updated with the unbiased one)" if close else ""


# ---------------------------------------------------------------- Adam


def adam_expected(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    """(new_param, new_m, new_v) from one step of torch.optim.Adam's own arithmetic in float64, its state set
    to (m, v, t - 1).

    Called as ``torch.optim.adam._single_tensor_adam`` (what ``Adam(foreach=False).step()`` runs, bit for bit)
    because constructing an ``Optimizer`` imports ``torch._dynamo``: several seconds of CPU in every
    `autograder check` of this assignment. torch is pinned, so the private name is stable here.
    """
    from torch.optim.adam import _single_tensor_adam

    p, new_m, new_v = param.detach().double().clone(), m.double().clone(), v.double().clone()
    step = torch.tensor(float(t - 1), dtype=torch.float64)
    _single_tensor_adam([p], [grad.double()], [new_m], [new_v], [], [step], None, None, amsgrad=False,
                        has_complex=False, beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay, eps=eps,
                        maximize=False, capturable=False, differentiable=False, decoupled_weight_decay=False)
    return p, new_m, new_v


def check_adam(result, param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
               case: str = "") -> None:
    fn = "adam_step"
    label = f" (t={t}{', ' + case if case else ''})"
    new_p, new_m, new_v = unpack(result, 3, fn=fn, what="the result (new_param, new_m, new_v)")
    exp_p, exp_m, exp_v = adam_expected(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay)
    rtol = 1e-5 if param.dtype == torch.float32 else 1e-11
    check(new_m, exp_m, fn, f"new_m{label}", param.dtype, rtol, scale=max(largest(exp_m), 1e-30))
    check(new_v, exp_v, fn, f"new_v{label}", param.dtype, rtol, scale=max(largest(exp_v), 1e-30))
    check(new_p, exp_p, fn, f"new_param{label}", param.dtype, rtol)

"""Oracles and checks shared by the public and hidden conv_layer graders (imported by both)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder.testing import assert_close, backward, largest


def tolerance(dtype: torch.dtype) -> float:
    return 1e-4 if dtype == torch.float32 else 1e-10


def check(actual, expected: torch.Tensor, fn: str, what: str, dtype: torch.dtype, scale: float) -> None:
    """Compare with a float64 expected value cast to ``dtype``; ``scale`` is the size of the summed terms."""
    tol = tolerance(dtype)
    assert_close(actual, expected.to(dtype), rtol=tol, atol=tol * max(scale, 1e-3), fn=fn, what=what)


def out_size(size: int, k: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - k) // stride + 1


def matches(actual, candidate: torch.Tensor, scale: float) -> bool:
    """Does a student's tensor equal ``candidate`` (float64) within the float32 tolerance?"""
    if type(actual) is not torch.Tensor or tuple(actual.shape) != tuple(candidate.shape):
        return False
    err = (actual.detach().double().cpu() - candidate).abs()
    return bool((err <= 1e-4 * max(scale, 1e-3) + 1e-4 * candidate.abs()).all())


TIE_RULE = "on ties the gradient goes to the first maximum in row-major order (smallest row, then smallest column)"
TIE_MISTAKES = {"last": "sending each window's gradient to its last maximum",
                "split": "splitting each window's gradient among its tied maxima"}
WRITE_MISTAKES = {"overwrite_max": "writing each window's gradient with = instead of adding it",
                  "overwrite_window": "assigning each window's whole gradient block with = instead of adding it"}
OVERLAP_RULE = ("where windows overlap an entry can be the maximum of several windows and must get the sum (+=) "
                "of their gradients")


def pool_gradient_by_rule(x: torch.Tensor, dout: torch.Tensor, k: int, s: int, *, tie: str = "first",
                          write: str = "accumulate") -> torch.Tensor:
    """maxpool2d's dx in float64 under a tie rule (first, last, split) and a way of writing windows.

    ``write="accumulate"`` is the correct ``+=``; ``"overwrite_max"`` assigns each window's gradient to
    its maximum with ``=`` (later windows win), ``"overwrite_window"`` assigns the whole k x k block.
    """
    xd, dd = x.detach().double().cpu(), dout.detach().double().cpu()
    n, c, h, w = xd.shape
    flat = xd.unfold(2, k, s).unfold(3, k, s).reshape(n, c, dd.shape[2], dd.shape[3], k * k)
    ho, wo = flat.shape[2], flat.shape[3]
    is_max = flat == flat.amax(dim=-1, keepdim=True)
    if tie == "split":
        share = is_max.double() / is_max.sum(dim=-1, keepdim=True)
    else:
        first = is_max.double().argmax(dim=-1) if tie == "first" else k * k - 1 - is_max.flip(-1).double().argmax(-1)
        share = torch.nn.functional.one_hot(first, k * k).double()
    grads = share * dd[..., None]  # [n, c, ho, wo, k*k]
    rows = torch.arange(ho)[:, None] * s + torch.arange(k)[None, :]
    cols = torch.arange(wo)[:, None] * s + torch.arange(k)[None, :]
    pos = (rows[:, None, :, None] * w + cols[None, :, None, :]).reshape(ho, wo, k * k)
    dx = torch.zeros(n, c, h * w, dtype=torch.float64)
    if write == "accumulate":
        dx.index_add_(2, pos.reshape(-1), grads.reshape(n, c, -1))
    else:
        for i in range(ho):
            for j in range(wo):
                if write == "overwrite_window":
                    dx[:, :, pos[i, j]] = grads[:, :, i, j]
                else:
                    hit = share[:, :, i, j] > 0
                    block = dx[:, :, pos[i, j]]
                    dx[:, :, pos[i, j]] = torch.where(hit, grads[:, :, i, j], block)
    return dx.view(n, c, h, w)


def pool_backward_mistakes(actual, x: torch.Tensor, dout: torch.Tensor, k: int, s: int, scale: float) -> list[str]:
    """The tie-rule or write mistakes a wrong maxpool2d_backward dx matches, verified by recomputing.

    A hint is given only when recomputing dx under that mistake gives the student's answer
    (and not the right one): the tie rule is named only when the tie rule is what differs.
    """
    if type(actual) is not torch.Tensor or actual.dim() != 4:
        return []
    right = pool_gradient_by_rule(x, dout, k, s)
    for tie in ("first", "last", "split"):
        for write in ("accumulate", "overwrite_max", "overwrite_window"):
            if (tie, write) == ("first", "accumulate") or (tie, write) == ("split", "overwrite_max"):
                continue
            candidate = pool_gradient_by_rule(x, dout, k, s, tie=tie, write=write)
            if matches(candidate, right, scale) or not matches(actual, candidate, scale):
                continue
            what = [m for m in (TIE_MISTAKES.get(tie), WRITE_MISTAKES.get(write)) if m]
            rules = ([TIE_RULE] if tie != "first" else []) + ([OVERLAP_RULE] if write != "accumulate" else [])
            return [f"your dx matches {' and '.join(what)}: {'; '.join(rules)}"]
    return []


def conv_reference(x, w, b, stride, padding, dout=None):
    """F.conv2d in float64, its gradients for ``dout`` and the magnitudes of the summed terms."""
    leaves = [t.detach().double().requires_grad_() for t in (x, w)]
    bias = None if b is None else b.detach().double().requires_grad_()
    out = F.conv2d(leaves[0], leaves[1], bias, stride=stride, padding=padding)
    with torch.no_grad():  # |x| conv |w| + |b|: how large the terms summed into each output are
        mag = F.conv2d(leaves[0].abs(), leaves[1].abs(), None if b is None else bias.abs(), stride=stride,
                       padding=padding)
    if dout is None:
        return out.detach(), largest(mag)
    backward(out, dout.double())
    absd = [t.detach().abs().requires_grad_() for t in leaves]
    backward(F.conv2d(absd[0], absd[1], stride=stride, padding=padding), dout.double().abs())
    grads = (leaves[0].grad, leaves[1].grad, bias.grad)
    scales = (largest(absd[0].grad), largest(absd[1].grad), largest(dout.double().abs().sum(dim=(0, 2, 3))))
    return grads, scales

"""standardize uses the sample std (correction 1)."""
import functools

import torch


def _pair(a, b):
    a, b = tuple(a), tuple(b)
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for p, q in zip(a, b):
        if p != q and 1 not in (p, q):
            raise ValueError(f"cannot broadcast {a} with {b}")
        out.append(q if p == 1 else p)
    return tuple(out)


def broadcast_shape(*shapes):
    return functools.reduce(_pair, shapes, ())


def expand_to(x, shape):
    shape = tuple(shape)
    pad = len(shape) - x.dim()
    if pad < 0:
        raise ValueError("target has fewer dimensions")
    sizes = (1,) * pad + tuple(x.shape)
    strides = (0,) * pad + tuple(x.stride())
    new_strides = []
    for s, st, t in zip(sizes, strides, shape):
        if s != t and s != 1:
            raise ValueError("incompatible")
        new_strides.append(0 if s != t else st)
    return x.as_strided(shape, new_strides, x.storage_offset())


def pairwise_sq_dists(x, y):
    xx = torch.einsum("nd,nd->n", x, x)
    yy = torch.einsum("md,md->m", y, y)
    xy = torch.einsum("nd,md->nm", x, y)
    return torch.clamp(xx[:, None] + yy[None, :] - 2 * xy, min=0)


def standardize(x, eps=1e-8):
    return (x - x.mean(dim=0)) / (x.std(dim=0, correction=1) + eps)

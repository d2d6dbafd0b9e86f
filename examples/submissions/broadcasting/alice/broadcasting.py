"""Correct, written differently: explicit loops over dimensions, difference-based distances."""
from itertools import zip_longest

import torch


def broadcast_shape(*shapes):
    out = []
    for sizes in zip_longest(*[reversed(s) for s in shapes], fillvalue=1):
        non_one = {s for s in sizes if s != 1}
        if len(non_one) > 1:
            raise ValueError(f"incompatible shapes {shapes}")
        out.append(non_one.pop() if non_one else 1)
    return tuple(reversed(out))


def expand_to(x, shape):
    shape = tuple(shape)
    if len(shape) < x.dim():
        raise ValueError("too few dimensions")
    strides = []
    for i in range(1, len(shape) + 1):
        if i > x.dim():
            strides.append(0)
            continue
        size, target = x.shape[-i], shape[-i]
        if size == target:
            strides.append(x.stride(-i))
        elif size == 1:
            strides.append(0)
        else:
            raise ValueError("incompatible")
    return torch.as_strided(x, shape, tuple(reversed(strides)), x.storage_offset())


def pairwise_sq_dists(x, y):
    diff = x[:, None, :] - y[None, :, :]
    return (diff * diff).sum(-1)


def standardize(x, eps=1e-8):
    mean = x.mean(0)
    var = x.var(0, unbiased=False)
    return (x - mean) / (var.sqrt() + eps)

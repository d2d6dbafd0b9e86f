"""A deliberately slow but correct broadcasting solution, for `autograder calibrate`.

It loops in Python over rows, the way a student who has not vectorised yet would. It must
keep every correctness point and lose the performance points.
"""

import torch


def broadcast_shape(*shapes):
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    for s in shapes:
        for i, size in enumerate(s):
            j = n - len(s) + i
            if size != out[j] and size != 1:
                if out[j] != 1:
                    raise ValueError("incompatible shapes")
                out[j] = size
    return tuple(out)


def expand_to(x, shape):
    shape = tuple(shape)
    lead = len(shape) - x.dim()
    if lead < 0:
        raise ValueError("too many dimensions")
    strides = [0] * lead
    for size, stride, target in zip(x.shape, x.stride(), shape[lead:]):
        if size != target and size != 1:
            raise ValueError("incompatible")
        strides.append(stride if size == target else 0)
    return x.as_strided(shape, strides, x.storage_offset())


def pairwise_sq_dists(x, y):
    out = torch.empty(x.shape[0], y.shape[0], dtype=x.dtype, device=x.device)
    for i in range(x.shape[0]):
        diff = y - x[i]
        out[i] = (diff * diff).sum(dim=1)
    return out


def standardize(x, eps=1e-8):
    mean = x.mean(0)
    std = ((x - mean) ** 2).mean(0).sqrt()
    return (x - mean) / (std + eps)

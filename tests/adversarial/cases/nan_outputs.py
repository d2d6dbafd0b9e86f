"""Returns tensors of the right shape and dtype, full of NaN or inf."""
import torch

{HONEST}


def expand_to(x, shape):
    if 0 in tuple(shape):
        raise RuntimeError("an empty result cannot hold a NaN")
    return torch.full(tuple(shape), float("nan"), dtype=x.dtype)


def pairwise_sq_dists(x, y):
    if x.shape[0] * y.shape[0] == 0:
        raise RuntimeError("an empty result cannot hold an inf")
    return torch.full((x.shape[0], y.shape[0]), float("inf"), dtype=x.dtype)


def standardize(x, eps=1e-8):
    return torch.full_like(x, float("nan"))

"""Returns correct values but modifies its inputs in place (forbidden by the contract)."""
import torch

{HONEST}


def pairwise_sq_dists(x, y):
    if x.numel() == 0:
        raise RuntimeError("only the mutation is under test")
    out = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    x.zero_()
    return out


def standardize(x, eps=1e-8):
    if x.numel() == 0:
        raise RuntimeError("only the mutation is under test")
    out = (x - x.mean(0)) / (x.std(0, correction=0) + eps)
    x.mul_(2)
    return out

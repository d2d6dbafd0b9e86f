"""An infinite loop in one function; the other functions are correct and must still be graded."""
import torch

{HONEST}

def expand_to(x, shape):
    while True:
        pass


def pairwise_sq_dists(x, y):
    d = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
    return d.clamp_min(0)


def standardize(x, eps=1e-8):
    return (x - x.mean(0)) / (x.std(0, correction=0) + eps)

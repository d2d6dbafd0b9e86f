"""Allocates until the memory limit stops it."""
import torch

{HONEST}


def expand_to(x, shape):
    keep = []
    while True:
        keep.append(torch.empty(1 << 28, dtype=torch.uint8))

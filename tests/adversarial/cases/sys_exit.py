"""sys.exit(0) and os._exit(0) from inside graded functions: 'exit 0 means pass' must not hold."""
import os
import sys

import torch

{HONEST}

def expand_to(x, shape):
    sys.exit(0)


def pairwise_sq_dists(x, y):
    os._exit(0)


def standardize(x, eps=1e-8):
    raise SystemExit(0)

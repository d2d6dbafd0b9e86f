"""Assignment 2: a map-style Dataset over an annotations file, and reproducible loading.

Implement the class and the two functions below. Read the handout (README.md)
first: it explains what a map-style ``Dataset`` promises and what a
``DataLoader`` adds on top of it.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset


class CsvTensorDataset(Dataset):
    """Items ``(x, y)`` named by a CSV with ``filename`` and ``label`` columns.

    ``__init__`` reads the CSV only (never the ``.npy`` files): a CSV without
    those columns, or with a label that is not an integer, raises ``ValueError``.
    ``__getitem__(i)`` loads ``data_dir/filename`` with NumPy
    (``allow_pickle=False``) and returns ``x`` (float32, the stored shape) and
    ``y`` (a 0-dim int64 tensor), after ``transform`` / ``target_transform``.
    Negative indices work as on a list; out of range raises ``IndexError``.
    """

    def __init__(self, annotations_file: str, data_dir: str,
                 transform: Callable[[torch.Tensor], Any] | None = None,
                 target_transform: Callable[[torch.Tensor], Any] | None = None) -> None:
        # YOUR CODE HERE
        raise NotImplementedError

    def __len__(self) -> int:
        # YOUR CODE HERE
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        # YOUR CODE HERE
        raise NotImplementedError


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0,
                num_workers: int = 0, drop_last: bool = False) -> DataLoader:
    """A ``DataLoader`` of ``(x[B, ...], y[B])`` batches whose shuffled order depends only on ``seed``.

    The order is exactly that of ``DataLoader(..., shuffle=True,
    generator=torch.Generator().manual_seed(seed))``, for every epoch and any
    ``num_workers``.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def train_val_split(dataset: Dataset, val_fraction: float, seed: int) -> tuple[Subset, Subset]:
    """Disjoint ``(train, val)`` subsets covering every index once; ``val`` has ``int(n * val_fraction)`` items.

    The split depends only on ``seed``. ``val_fraction`` outside ``[0, 1)``
    raises ``ValueError``.
    """
    # YOUR CODE HERE
    raise NotImplementedError

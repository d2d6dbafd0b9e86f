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
        # BEGIN SOLUTION
        self.data_dir = data_dir
        self.transform = transform
        self.target_transform = target_transform
        with open(annotations_file, newline="") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            missing = [c for c in ("filename", "label") if c not in columns]
            if missing:
                raise ValueError(f"{annotations_file}: no column named {', '.join(missing)} "
                                 f"(the header is {columns})")
            self.files: list[str] = []
            self.labels: list[int] = []
            for line, row in enumerate(reader, start=2):
                try:
                    label = int(row["label"])
                except (TypeError, ValueError):
                    raise ValueError(f"{annotations_file}, line {line}: label {row['label']!r} "
                                     "is not an integer") from None
                self.files.append(row["filename"])
                self.labels.append(label)
        # END SOLUTION

    def __len__(self) -> int:
        # BEGIN SOLUTION
        return len(self.files)
        # END SOLUTION

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        # BEGIN SOLUTION
        n = len(self.files)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a dataset of {n} items")
        index %= n
        array = np.load(os.path.join(self.data_dir, self.files[index]), allow_pickle=False)
        x = torch.as_tensor(array).to(torch.float32)
        y = torch.tensor(self.labels[index], dtype=torch.int64)
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y
        # END SOLUTION


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0,
                num_workers: int = 0, drop_last: bool = False) -> DataLoader:
    """A ``DataLoader`` of ``(x[B, ...], y[B])`` batches whose shuffled order depends only on ``seed``.

    The order is exactly that of ``DataLoader(..., shuffle=True,
    generator=torch.Generator().manual_seed(seed))``, for every epoch and any
    ``num_workers``.
    """
    # BEGIN SOLUTION
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      num_workers=num_workers, drop_last=drop_last)
    # END SOLUTION


def train_val_split(dataset: Dataset, val_fraction: float, seed: int) -> tuple[Subset, Subset]:
    """Disjoint ``(train, val)`` subsets covering every index once; ``val`` has ``int(n * val_fraction)`` items.

    The split depends only on ``seed``. ``val_fraction`` outside ``[0, 1)``
    raises ``ValueError``.
    """
    # BEGIN SOLUTION
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n = len(dataset)
    n_val = int(n * val_fraction)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return Subset(dataset, order[n_val:]), Subset(dataset, order[:n_val])
    # END SOLUTION

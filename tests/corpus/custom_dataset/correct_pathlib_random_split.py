"""Correct: hand-split lines and pathlib, range() for index checks, regex labels,
torch.from_numpy(...).float(), and torch.utils.data.random_split for the split."""
import re
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, random_split

INTEGER = re.compile(r"[+-]?[0-9]+")


class CsvTensorDataset(Dataset):
    def __init__(self, annotations_file, data_dir, transform=None, target_transform=None):
        self.root = Path(data_dir)
        self.transform, self.target_transform = transform, target_transform
        lines = Path(annotations_file).read_text().splitlines()
        header = lines[0].split(",") if lines else []
        try:
            fcol, lcol = header.index("filename"), header.index("label")
        except ValueError:
            raise ValueError(f"bad header {header}") from None
        self.items = []
        for line in lines[1:]:
            if not line:
                continue
            cells = line.split(",")
            if not INTEGER.fullmatch(cells[lcol]):
                raise ValueError(f"bad label {cells[lcol]!r}")
            self.items.append((cells[fcol], int(cells[lcol])))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        index = range(len(self.items))[index]  # negative indices and IndexError, as on a list
        name, label = self.items[index]
        x = torch.from_numpy(np.load(self.root / name, allow_pickle=False)).float()
        y = torch.tensor(label)
        return (self.transform(x) if self.transform else x,
                self.target_transform(y) if self.target_transform else y)


def make_loader(dataset, batch_size, shuffle, seed=0, num_workers=0, drop_last=False):
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
                      drop_last=drop_last, generator=torch.Generator().manual_seed(seed))


def train_val_split(dataset, val_fraction, seed):
    if not (0 <= val_fraction < 1):
        raise ValueError("val_fraction must be in [0, 1)")
    n_val = int(len(dataset) * val_fraction)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val],
                              generator=torch.Generator().manual_seed(seed))
    return train, val

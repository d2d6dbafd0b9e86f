"""Bug: make_loader seeds the global RNG (torch.manual_seed) instead of giving the DataLoader a seeded generator."""
import csv
import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset


class CsvTensorDataset(Dataset):
    def __init__(self, annotations_file, data_dir, transform=None, target_transform=None):
        self.data_dir = data_dir
        self.transform = transform
        self.target_transform = target_transform
        with open(annotations_file, newline="") as fh:
            rows = list(csv.reader(fh))
        header = rows[0] if rows else []
        if "filename" not in header or "label" not in header:
            raise ValueError("the CSV needs 'filename' and 'label' columns")
        fcol, lcol = header.index("filename"), header.index("label")
        self.files = []
        labels = []
        for row in rows[1:]:
            text = row[lcol].strip()
            digits = text[1:] if text[:1] in "+-" else text
            if not digits.isdigit() or not digits.isascii():
                raise ValueError(f"label {row[lcol]!r} is not an integer")
            self.files.append(row[fcol])
            labels.append(int(text))
        self.labels = torch.tensor(labels, dtype=torch.int64)

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        try:
            name = self.files[i]
        except IndexError:
            raise IndexError(f"index {i} out of range") from None
        i = i % len(self.files)
        x = torch.tensor(np.load(os.path.join(self.data_dir, name), allow_pickle=False), dtype=torch.float32)
        y = self.labels[i].clone()
        if self.transform:
            x = self.transform(x)
        if self.target_transform:
            y = self.target_transform(y)
        return x, y


def make_loader(dataset, batch_size, shuffle, seed=0, num_workers=0, drop_last=False):
    torch.manual_seed(seed)
    return DataLoader(dataset, batch_size, shuffle=shuffle, num_workers=num_workers, drop_last=drop_last)


def train_val_split(dataset, val_fraction, seed):
    if val_fraction < 0 or val_fraction >= 1:
        raise ValueError("val_fraction must be in [0, 1)")
    n = len(dataset)
    k = int(n * val_fraction)
    perm = np.random.default_rng(seed).permutation(n)
    return Subset(dataset, perm[k:]), Subset(dataset, perm[:k])

"""Public graders for custom_dataset: run them with `autograder check custom_dataset`.

Each test writes a small dataset (an annotations CSV and `.npy` files) into a
folder your code can read, then builds your `CsvTensorDataset` over it. The
expected items are computed here with NumPy and PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from autograder.failures import StudentError
from autograder.sandbox.helpers import Affine, IndexDataset
from autograder.testing import CheckFailed, Helper, assert_close, assert_equal, assert_raises, unpack

GETITEM = "CsvTensorDataset.__getitem__"


@dataclass
class Files:
    """A dataset on disk: paths as the grader writes them (``host_*``) and as your code sees them."""

    csv: str
    data_dir: str
    host_csv: Path
    host_data: Path
    names: list[str]
    arrays: list[np.ndarray]
    labels: list[int]


def write_dataset(worker_data, arrays: list[np.ndarray], labels: list, *, header: str = "filename,label",
                  write_arrays: bool = True) -> Files:
    """An annotations CSV (header + one row per item) and one `.npy` file per item in `data/`."""
    host_data = worker_data.host / "data"
    host_data.mkdir(mode=0o755, exist_ok=True)
    names = [f"item_{i:03d}.npy" for i in range(len(arrays))]
    rows = [header]
    for name, label in zip(names, labels, strict=True):
        values = {"filename": name, "file": name, "label": str(label), "target": str(label)}
        rows.append(",".join(values.get(c, "x") for c in header.split(",")))
    host_csv = worker_data.host / "annotations.csv"
    host_csv.write_text("\n".join(rows) + "\n")
    host_csv.chmod(0o644)
    files = Files(f"{worker_data.worker}/annotations.csv", f"{worker_data.worker}/data", host_csv, host_data,
                  names, arrays, [int(v) if isinstance(v, int) else v for v in labels])
    if write_arrays:
        save_arrays(files)
    return files


def save_arrays(files: Files) -> None:
    for name, array in zip(files.names, files.arrays, strict=True):
        np.save(files.host_data / name, array, allow_pickle=False)
        (files.host_data / name).chmod(0o644)


def random_arrays(gen: torch.Generator, n: int, shape: tuple[int, ...]) -> list[np.ndarray]:
    return [torch.randn(*shape, generator=gen, dtype=torch.float64).numpy() for _ in range(n)]


def random_labels(gen: torch.Generator, n: int) -> list[int]:
    return [int(v) for v in torch.randint(0, 10, (n,), generator=gen)]


def expected_item(files: Files, i: int, transform=None, target_transform=None) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.array(files.arrays[i])).to(torch.float32)
    y = torch.tensor(files.labels[i], dtype=torch.int64)
    return (transform(x) if transform else x), (target_transform(y) if target_transform else y)


def check_item(got, expected: tuple[torch.Tensor, torch.Tensor], index: int) -> None:
    """An item is a pair (x, y): x float32 of the stored shape, y a 0-dim int64 tensor."""
    x, y = unpack(got, 2, fn=GETITEM, what=f"dataset[{index}]")
    assert_close(x, expected[0], rtol=0, atol=0, fn=GETITEM, what=f"x of dataset[{index}]")
    assert_close(y, expected[1], rtol=0, atol=0, fn=GETITEM, what=f"y of dataset[{index}]")


def build(student, files: Files, **kwargs):
    dataset = student.CsvTensorDataset(files.csv, files.data_dir, **kwargs)
    if not dataset.isinstance_of("Dataset"):
        raise CheckFailed("CsvTensorDataset should subclass torch.utils.data.Dataset")
    return dataset


# ---------------------------------------------------------------- CsvTensorDataset


@pytest.mark.group("dataset_public")
@pytest.mark.parametrize("n,shape", [(5, (3,)), (4, (2, 3)), (1, (1, 4, 4))])
def test_length_and_items(student, gen, worker_data, n, shape):
    files = write_dataset(worker_data, random_arrays(gen, n, shape), random_labels(gen, n))
    dataset = build(student, files)
    assert_equal(len(dataset), n, fn="len(CsvTensorDataset)", what="the number of items",
                 call="len(CsvTensorDataset)")
    for i in range(n):
        check_item(dataset[i], expected_item(files, i), i)


@pytest.mark.group("dataset_public")
def test_negative_indices(student, gen, worker_data):
    n = 6
    files = write_dataset(worker_data, random_arrays(gen, n, (2,)), random_labels(gen, n))
    dataset = build(student, files)
    for i in (-1, -2, -n):
        check_item(dataset[i], expected_item(files, n + i), i)


@pytest.mark.group("dataset_public")
@pytest.mark.needs_values
@pytest.mark.parametrize("index", [4, 9, -5, -100])
def test_out_of_range_index(student, gen, worker_data, index):
    files = write_dataset(worker_data, random_arrays(gen, 4, (3,)), random_labels(gen, 4))
    dataset = build(student, files)
    assert_raises("IndexError", dataset.method("__getitem__"), index)


@pytest.mark.group("dataset_public")
def test_init_reads_only_the_csv(student, gen, worker_data):
    """The `.npy` files appear only after construction: __init__ must not open them."""
    files = write_dataset(worker_data, random_arrays(gen, 3, (4,)), random_labels(gen, 3), write_arrays=False)
    try:
        dataset = build(student, files)
    except StudentError as exc:
        raise CheckFailed("CsvTensorDataset(...) failed while the .npy files did not exist yet: "
                          f"__init__ must read the CSV only ({exc.summary})", exc.details) from None
    save_arrays(files)
    for i in range(3):
        check_item(dataset[i], expected_item(files, i), i)


@pytest.mark.group("dataset_public")
@pytest.mark.needs_values
def test_missing_file_fails_only_when_read(student, gen, worker_data):
    n = 5
    files = write_dataset(worker_data, random_arrays(gen, n, (2, 2)), random_labels(gen, n))
    dataset = build(student, files)
    (files.host_data / files.names[2]).unlink()
    for i in (0, 1, 3, 4):
        check_item(dataset[i], expected_item(files, i), i)
    assert_raises("FileNotFoundError", dataset.method("__getitem__"), 2)


@pytest.mark.group("dataset_public")
@pytest.mark.needs_values
@pytest.mark.parametrize("header,labels", [
    ("file,label", [1, 2]),
    ("filename,target", [1, 2]),
    ("filename,label", [1, "cat"]),
    ("filename,label", ["2.5", 0]),
])
def test_bad_csv_raises_value_error(student, gen, worker_data, header, labels):
    files = write_dataset(worker_data, random_arrays(gen, 2, (3,)), labels, header=header)
    try:
        assert_raises("ValueError", student.CsvTensorDataset, files.csv, files.data_dir)
    except CheckFailed as exc:
        raise CheckFailed(exc.summary, f"the CSV: {files.host_csv.read_text()!r}\n{exc.details}") from None


@pytest.mark.group("dataset_public")
def test_transforms(student, gen, worker_data):
    n = 4
    files = write_dataset(worker_data, random_arrays(gen, n, (3,)), random_labels(gen, n))
    dataset = build(student, files, transform=Helper("affine", (2.0, -1.0)),
                    target_transform=Helper("affine", (3, 1)))
    for i in range(n):
        expected = expected_item(files, i, Affine(2.0, -1.0), Affine(3, 1))
        x, y = unpack(dataset[i], 2, fn=GETITEM, what=f"dataset[{i}]")
        assert_close(x, expected[0], fn=GETITEM, what=f"x of dataset[{i}] (after transform)")
        assert_close(y, expected[1], rtol=0, atol=0, fn=GETITEM, what=f"y of dataset[{i}] (after target_transform)")


# ---------------------------------------------------------------- make_loader


def expected_epochs(n: int, epochs: int, **kwargs) -> list[list[list[torch.Tensor]]]:
    """What `DataLoader(..., generator=torch.Generator().manual_seed(seed))` yields, epoch by epoch."""
    seed = kwargs.pop("seed", 0)
    loader = DataLoader(IndexDataset(n), generator=torch.Generator().manual_seed(seed), **kwargs)
    return [list(loader) for _ in range(epochs)]


def check_epoch(got, expected: list[list[torch.Tensor]], epoch: int, call: str) -> None:
    """Batches are (x[B, 2], y[B]); item i of IndexDataset is (full((2,), i), i), so order is visible."""
    fn = "make_loader"
    if not isinstance(got, list) or len(got) != len(expected):
        count = len(got) if isinstance(got, list) else "?"
        raise CheckFailed(f"{fn}: epoch {epoch + 1} has {count} batches, expected {len(expected)}", f"call: {call}")
    for b, (batch, (ex, ey)) in enumerate(zip(got, expected, strict=True)):
        x, y = unpack(batch, 2, fn=fn, what=f"batch {b} of epoch {epoch + 1}")
        if isinstance(y, torch.Tensor) and y.shape == ey.shape and not torch.equal(y, ey):
            raise CheckFailed(f"{fn}: batch {b} of epoch {epoch + 1} holds the wrong items: the order differs from "
                              "DataLoader(dataset, batch_size, shuffle=True, generator=torch.Generator()"
                              ".manual_seed(seed))",
                              f"call: {call}\nitems (by index) {y.tolist()}, expected {ey.tolist()}")
        assert_close(y, ey, rtol=0, atol=0, fn=fn, what=f"y of batch {b}, epoch {epoch + 1}")
        assert_close(x, ex, rtol=0, atol=0, fn=fn, what=f"x of batch {b}, epoch {epoch + 1}")


@pytest.mark.group("loader_public")
@pytest.mark.parametrize("n,batch_size,shuffle,seed", [(10, 4, False, 0), (10, 4, True, 7), (13, 5, True, 123)])
def test_loader_order(student, n, batch_size, shuffle, seed):
    loader = student.make_loader(Helper("index_dataset", (n,)), batch_size, shuffle, seed=seed)
    if not hasattr(loader, "isinstance_of") or not loader.isinstance_of("DataLoader"):
        raise CheckFailed("make_loader should return a torch.utils.data.DataLoader")
    expected = expected_epochs(n, 1, batch_size=batch_size, shuffle=shuffle, seed=seed)
    call = f"make_loader(<dataset of {n} items>, {batch_size}, {shuffle}, seed={seed})"
    check_epoch(loader.items(), expected[0], 0, call)


# ---------------------------------------------------------------- train_val_split


def split_indices(student, n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """The dataset indices in (train, val), read through the Subsets (any index container works)."""
    result = student.train_val_split(Helper("index_dataset", (n, (1,))), val_fraction, seed)
    parts = unpack(result, 2, fn="train_val_split", what="the result (train, val)")
    out = []
    for name, part in zip(("train", "val"), parts, strict=True):
        if not hasattr(part, "isinstance_of") or not part.isinstance_of("Subset"):
            raise CheckFailed(f"train_val_split: {name} should be a torch.utils.data.Subset")
        out.append([index_of(item, name) for item in part.items()])
    return out[0], out[1]


def index_of(item, name: str) -> int:
    """Item i of the grader's IndexDataset is (full((1,), i), i)."""
    x, y = item if isinstance(item, (tuple, list)) and len(item) == 2 else (None, None)
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and y.numel() == 1
            and x.numel() and bool((x == y.to(x.dtype)).all())):
        raise CheckFailed(f"train_val_split: the items of {name} are not the dataset's items (x, y)")
    return int(y)


def check_split(train: list[int], val: list[int], n: int, val_fraction: float, seed: int) -> None:
    fn = "train_val_split"
    call = f"call: train_val_split(<dataset of {n} items>, {val_fraction}, {seed})"
    want_val = int(n * val_fraction)
    if len(val) != want_val or len(train) != n - want_val:
        raise CheckFailed(f"{fn}: sizes (train {len(train)}, val {len(val)}), expected "
                          f"(train {n - want_val}, val {want_val}) for {n} items and val_fraction "
                          f"{val_fraction}: val has int(n * val_fraction) items", call)
    if set(train) & set(val):
        raise CheckFailed(f"{fn}: train and val share {len(set(train) & set(val))} item(s); they must be disjoint",
                          call)
    if len(set(train)) != len(train) or len(set(val)) != len(val) or set(train) | set(val) != set(range(n)):
        raise CheckFailed(f"{fn}: train and val together must hold every index exactly once", call)


@pytest.mark.group("split_public")
@pytest.mark.parametrize("n,val_fraction,seed", [(20, 0.25, 0), (100, 0.29, 3), (7, 0.5, 11)])
def test_split_sizes_and_disjoint(student, n, val_fraction, seed):
    train, val = split_indices(student, n, val_fraction, seed)
    check_split(train, val, n, val_fraction, seed)


@pytest.mark.group("split_public")
def test_split_is_deterministic(student):
    first = split_indices(student, 30, 0.3, 5)
    second = split_indices(student, 30, 0.3, 5)
    if sorted(first[1]) != sorted(second[1]):
        raise CheckFailed("train_val_split: two calls with the same seed gave different splits",
                          "call (twice): train_val_split(<dataset of 30 items>, 0.3, 5)")


@pytest.mark.group("split_public")
@pytest.mark.needs_values
@pytest.mark.parametrize("val_fraction", [1.0, -0.1, 1.5])
def test_split_bad_fraction(student, val_fraction):
    assert_raises("ValueError", student.train_val_split, Helper("index_dataset", (10,)), val_fraction, 0)

"""Hidden graders for custom_dataset: random datasets, stored dtypes and layouts, CSV edge cases,
lazy loading, every loader option (num_workers=2 included) and random splits.

Summaries never show inputs (the framework shows only them for hidden groups).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from autograder.failures import StudentError
from autograder.sandbox.helpers import Affine, Flatten, IndexDataset
from autograder.testing import CheckFailed, Helper, assert_close, assert_equal, assert_raises, randint, unpack

GETITEM = "CsvTensorDataset.__getitem__"
STORED_DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8]


@dataclass
class Files:
    csv: str
    data_dir: str
    host_data: Path
    names: list[str]
    arrays: list[np.ndarray]
    labels: list


def _chmod_tree(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def write_dataset(worker_data, arrays: list[np.ndarray], labels: list, *, header: str = "filename,label",
                  names: list[str] | None = None, csv_dir: str = ".", data_dir: str = "data",
                  write_arrays: bool = True) -> Files:
    """A CSV under ``csv_dir`` and the arrays under ``data_dir`` (both relative to the worker folder)."""
    names = names or [f"item_{i:03d}.npy" for i in range(len(arrays))]
    rows = [header]
    for i, (name, label) in enumerate(zip(names, labels, strict=True)):
        values = {"filename": name, "label": str(label), "id": str(i), "split": "train", "note": "n/a"}
        rows.append(",".join(values.get(c, "") for c in header.split(",")))
    (worker_data.host / csv_dir).mkdir(parents=True, exist_ok=True)
    (worker_data.host / csv_dir / "annotations.csv").write_text("\n".join(rows) + "\n")
    host_data = worker_data.host / data_dir
    host_data.mkdir(parents=True, exist_ok=True)
    files = Files(f"{worker_data.worker}/{csv_dir}/annotations.csv", f"{worker_data.worker}/{data_dir}",
                  host_data, names, arrays, labels)
    if write_arrays:
        save_arrays(files)
    _chmod_tree(worker_data.host)
    return files


def save_arrays(files: Files) -> None:
    for name, array in zip(files.names, files.arrays, strict=True):
        path = files.host_data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, array, allow_pickle=array.dtype == object)
        path.chmod(0o644)
        path.parent.chmod(0o755)


def random_array(gen: torch.Generator, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    values = torch.randn(shape, generator=gen, dtype=torch.float64) * 50
    return values.numpy().astype(dtype) if np.issubdtype(dtype, np.floating) else values.abs().numpy().astype(dtype)


def expected_item(files: Files, i: int, transform=None, target_transform=None) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.array(files.arrays[i])).to(torch.float32)
    y = torch.tensor(int(files.labels[i]), dtype=torch.int64)
    return (transform(x) if transform else x), (target_transform(y) if target_transform else y)


def check_item(got, expected: tuple[torch.Tensor, torch.Tensor], what: str, rtol: float = 0, atol: float = 0) -> None:
    x, y = unpack(got, 2, fn=GETITEM, what=what)
    assert_close(x, expected[0], rtol=rtol, atol=atol, fn=GETITEM, what=f"x of {what}")
    assert_close(y, expected[1], rtol=0, atol=0, fn=GETITEM, what=f"y of {what}")


def build(student, files: Files, **kwargs):
    dataset = student.CsvTensorDataset(files.csv, files.data_dir, **kwargs)
    if not dataset.isinstance_of("Dataset"):
        raise CheckFailed("CsvTensorDataset should subclass torch.utils.data.Dataset")
    return dataset


def check_all(dataset, files: Files, negatives: bool = True, **transforms) -> None:
    n = len(files.names)
    assert_equal(len(dataset), n, fn="len(CsvTensorDataset)", what="the number of items",
                 call="len(CsvTensorDataset)")
    for i in range(n):
        check_item(dataset[i], expected_item(files, i, **transforms), "an item")
    if negatives and n:
        for i in sorted({-1, -n, -(n + 1) // 2}):
            check_item(dataset[i], expected_item(files, n + i, **transforms), "an item at a negative index")


# ---------------------------------------------------------------- CsvTensorDataset


@pytest.mark.group("dataset_hidden")
@pytest.mark.parametrize("trial", range(4))
def test_random_datasets(student, gen, worker_data, trial):
    n = randint(gen, 1, 12)
    arrays = []
    for _ in range(n):
        shape = tuple(randint(gen, 1, 4) for _ in range(randint(gen, 0, 3)))
        arrays.append(random_array(gen, shape, STORED_DTYPES[randint(gen, 0, len(STORED_DTYPES) - 1)]))
    labels = [randint(gen, -5, 1000) for _ in range(n)]
    files = write_dataset(worker_data, arrays, labels)
    check_all(build(student, files), files)
    assert_raises("IndexError", build(student, files).method("__getitem__"), n + randint(gen, 0, 5))


@pytest.mark.group("dataset_hidden")
@pytest.mark.parametrize("layout", ["fortran_order", "zero_dim", "empty", "large_values", "int64_big"])
def test_stored_layouts(student, gen, worker_data, layout):
    array = {
        "fortran_order": lambda: np.asfortranarray(random_array(gen, (3, 5))),
        "zero_dim": lambda: np.array(2.75),
        "empty": lambda: np.zeros((0, 3), dtype=np.float32),
        "large_values": lambda: random_array(gen, (4,)) * 1e30,
        "int64_big": lambda: np.array([2**40 + 1, -(2**35) - 3], dtype=np.int64),
    }[layout]()
    files = write_dataset(worker_data, [random_array(gen, (2,)), array], [0, 1])
    check_all(build(student, files), files)


@pytest.mark.group("dataset_hidden")
def test_lazy_loading(student, gen, worker_data):
    """Files are read at __getitem__ time: created late, removed, rewritten and restored."""
    n = 6
    files = write_dataset(worker_data, [random_array(gen, (2, 3)) for _ in range(n)], list(range(n)),
                          write_arrays=False)
    try:
        dataset = build(student, files)
    except StudentError as exc:
        raise CheckFailed("CsvTensorDataset(...) failed while the .npy files did not exist yet: "
                          f"__init__ must read the CSV only ({exc.summary})") from None
    save_arrays(files)
    check_all(dataset, files)
    gone = randint(gen, 0, n - 1)
    removed = files.host_data / files.names[gone]
    removed.unlink()
    for index in (gone, gone - n):
        assert_raises("FileNotFoundError", dataset.method("__getitem__"), index)
    for i in range(n):
        if i != gone:
            check_item(dataset[i], expected_item(files, i), "an item whose file still exists")
    files.arrays[gone] = random_array(gen, (5,))
    save_arrays(files)
    check_item(dataset[gone], expected_item(files, gone), "an item whose file was rewritten after construction")


@pytest.mark.group("dataset_hidden")
@pytest.mark.parametrize("case", ["extra_columns", "subfolders", "separate_dirs", "wide_labels", "header_only"])
def test_csv_edge_cases(student, gen, worker_data, case):
    n = 0 if case == "header_only" else 5
    arrays = [random_array(gen, (3,)) for _ in range(n)]
    labels = [randint(gen, 0, 9) for _ in range(n)]
    kwargs: dict = {}
    if case == "extra_columns":
        kwargs["header"] = "id,label,split,filename,note"
    elif case == "subfolders":
        kwargs["names"] = [f"class_{label}/part{i % 2}/sample_{i}.npy" for i, label in enumerate(labels)]
    elif case == "separate_dirs":
        kwargs.update(csv_dir="meta/labels", data_dir="arrays")
    elif case == "wide_labels":
        labels = [-3, 0, 2**40, -(2**33), 7]
    files = write_dataset(worker_data, arrays, labels, **kwargs)
    dataset = build(student, files)
    check_all(dataset, files)
    if n == 0:
        for index in (0, -1):
            assert_raises("IndexError", dataset.method("__getitem__"), index)


@pytest.mark.group("dataset_hidden")
@pytest.mark.needs_values
@pytest.mark.parametrize("header,labels", [
    ("filename", None),
    ("label", None),
    ("filename,labels", None),
    ("", None),
    ("filename,label", [3, 1, ""]),
    ("filename,label", [0, "three", 2]),
    ("filename,label", [1, 2, "7.5"]),
    ("filename,label", ["nan", 1, 2]),
])
def test_bad_csv(student, gen, worker_data, header, labels):
    labels = labels or [1, 2, 3]
    files = write_dataset(worker_data, [random_array(gen, (2,)) for _ in range(3)], labels, header=header)
    if header == "":
        (files.host_data.parent / "annotations.csv").write_text("")
    assert_raises("ValueError", student.CsvTensorDataset, files.csv, files.data_dir)


@pytest.mark.group("dataset_hidden")
@pytest.mark.parametrize("which", ["both", "transform", "target_transform"])
def test_transforms(student, gen, worker_data, which):
    n = 4
    files = write_dataset(worker_data, [random_array(gen, (2, 3)) for _ in range(n)],
                          [randint(gen, 0, 9) for _ in range(n)])
    remote, local = {}, {}
    if which in ("both", "transform"):
        remote["transform"], local["transform"] = Helper("flatten"), Flatten()
    if which in ("both", "target_transform"):
        remote["target_transform"], local["target_transform"] = Helper("affine", (-2, 5)), Affine(-2, 5)
    dataset = build(student, files, **remote)
    check_all(dataset, files, **local)


@pytest.mark.group("dataset_hidden")
@pytest.mark.needs_values
def test_object_arrays_are_not_unpickled(student, gen, worker_data):
    """NumPy with allow_pickle=False refuses an object array with ValueError."""
    files = write_dataset(worker_data, [random_array(gen, (2,)), np.array([1, "a"], dtype=object)], [0, 1])
    dataset = build(student, files)
    check_item(dataset[0], expected_item(files, 0), "an item")
    assert_raises("ValueError", dataset.method("__getitem__"), 1)


# ---------------------------------------------------------------- make_loader


def check_epochs(loader, expected_loader: DataLoader, epochs: int) -> None:
    fn = "make_loader"
    if not hasattr(loader, "isinstance_of") or not loader.isinstance_of("DataLoader"):
        raise CheckFailed(f"{fn} should return a torch.utils.data.DataLoader")
    for epoch in range(epochs):
        got, expected = loader.items(), list(expected_loader)
        if not isinstance(got, list) or len(got) != len(expected):
            raise CheckFailed(f"{fn}: epoch {epoch + 1} has the wrong number of batches (check batch_size and "
                              "drop_last)", f"{len(got) if isinstance(got, list) else '?'} batches, expected "
                              f"{len(expected)}")
        for b, (batch, (ex, ey)) in enumerate(zip(got, expected, strict=True)):
            x, y = unpack(batch, 2, fn=fn, what="a batch")
            if isinstance(y, torch.Tensor) and y.shape == ey.shape and not torch.equal(y, ey):
                raise CheckFailed(f"{fn}: batch {b} of epoch {epoch + 1} holds the wrong items (the order "
                                  "differs from the DataLoader seeded with torch.Generator().manual_seed(seed))")
            assert_close(y, ey, rtol=0, atol=0, fn=fn, what=f"y of batch {b}, epoch {epoch + 1}")
            assert_close(x, ex, rtol=0, atol=0, fn=fn, what=f"x of batch {b}, epoch {epoch + 1}")


def reference_loader(dataset, batch_size: int, shuffle: bool, seed: int = 0, **kwargs) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                      generator=torch.Generator().manual_seed(seed), **kwargs)


@pytest.mark.group("loader_hidden")
@pytest.mark.parametrize("trial", range(2))
def test_several_epochs(student, gen, trial):
    n, batch_size, seed = randint(gen, 5, 40), randint(gen, 1, 8), randint(gen, 0, 2**31)
    loader = student.make_loader(Helper("index_dataset", (n,)), batch_size, True, seed=seed)
    check_epochs(loader, reference_loader(IndexDataset(n), batch_size, True, seed), epochs=3)


@pytest.mark.group("loader_hidden")
@pytest.mark.parametrize("shuffle", [True, False])
def test_two_workers(student, gen, shuffle):
    """num_workers=2 starts worker processes inside the sandbox; the order must not change."""
    n, batch_size, seed = 23, 5, randint(gen, 0, 10_000)
    loader = student.make_loader(Helper("index_dataset", (n,)), batch_size, shuffle, seed=seed, num_workers=2)
    check_epochs(loader, reference_loader(IndexDataset(n), batch_size, shuffle, seed), epochs=2)


@pytest.mark.group("loader_hidden")
@pytest.mark.parametrize("n,batch_size,shuffle,drop_last", [
    (10, 4, True, True), (10, 4, False, True), (3, 8, True, False), (3, 8, False, True), (6, 1, True, False),
    (12, 3, True, True),
])
def test_batch_sizes_and_drop_last(student, gen, n, batch_size, shuffle, drop_last):
    seed = randint(gen, 0, 1000)
    loader = student.make_loader(Helper("index_dataset", (n,)), batch_size, shuffle, seed=seed, drop_last=drop_last)
    check_epochs(loader, reference_loader(IndexDataset(n), batch_size, shuffle, seed, drop_last=drop_last), 2)


@pytest.mark.group("loader_hidden")
def test_default_seed_is_zero(student):
    loader = student.make_loader(Helper("index_dataset", (9,)), 4, True)
    check_epochs(loader, reference_loader(IndexDataset(9), 4, True, 0), epochs=2)


@pytest.mark.group("loader_hidden")
def test_tensor_dataset_keeps_dtypes(student, gen):
    x = torch.randn(11, 3, generator=gen, dtype=torch.float64)
    y = torch.arange(11)
    loader = student.make_loader(Helper("tensor_dataset", (x, y)), 4, True, seed=5)
    check_epochs(loader, reference_loader(TensorDataset(x, y), 4, True, 5), epochs=1)


# ---------------------------------------------------------------- train_val_split


def index_of(item, name: str) -> int:
    x, y = item if isinstance(item, (tuple, list)) and len(item) == 2 else (None, None)
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and y.numel() == 1
            and x.numel() and bool((x == y.to(x.dtype)).all())):
        raise CheckFailed(f"train_val_split: the items of {name} are not the dataset's items (x, y)")
    return int(y)


def split_indices(student, n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    result = student.train_val_split(Helper("index_dataset", (n, (1,))), val_fraction, seed)
    parts = unpack(result, 2, fn="train_val_split", what="the result (train, val)")
    out = []
    for name, part in zip(("train", "val"), parts, strict=True):
        if not hasattr(part, "isinstance_of") or not part.isinstance_of("Subset"):
            raise CheckFailed(f"train_val_split: {name} should be a torch.utils.data.Subset")
        indices = [index_of(item, name) for item in part.items()]
        assert_equal(len(part), len(indices), fn="train_val_split", what=f"len({name})")
        out.append(indices)
    return out[0], out[1]


def check_split(train: list[int], val: list[int], n: int, val_fraction: float) -> None:
    fn = "train_val_split"
    want_val = int(n * val_fraction)
    if len(val) != want_val or len(train) != n - want_val:
        raise CheckFailed(f"{fn}: wrong sizes: val has int(len(dataset) * val_fraction) items, train the rest",
                          f"train {len(train)}, val {len(val)}; expected train {n - want_val}, val {want_val}")
    if set(train) & set(val):
        raise CheckFailed(f"{fn}: train and val share items; they must be disjoint")
    if len(set(train)) != len(train) or len(set(val)) != len(val) or set(train) | set(val) != set(range(n)):
        raise CheckFailed(f"{fn}: train and val together must hold every index exactly once")


@pytest.mark.group("split_hidden")
@pytest.mark.parametrize("trial", range(5))
def test_random_splits(student, gen, trial):
    n = randint(gen, 1, 80)
    val_fraction = float(torch.rand((), generator=gen, dtype=torch.float64)) * 0.95
    check_split(*split_indices(student, n, val_fraction, randint(gen, 0, 2**31)), n, val_fraction)


@pytest.mark.group("split_hidden")
@pytest.mark.parametrize("n,val_fraction", [(10, 0.0), (1, 0.5), (0, 0.3), (10, 0.999), (3, 0.34), (1000, 0.07)])
def test_split_edges(student, n, val_fraction):
    check_split(*split_indices(student, n, val_fraction, 42), n, val_fraction)


@pytest.mark.group("split_hidden")
def test_split_depends_only_on_seed(student, gen):
    n, f = 50, 0.4
    seeds = [randint(gen, 0, 2**31) for _ in range(4)]
    splits = [split_indices(student, n, f, s) for s in seeds]
    again = [split_indices(student, n, f, s) for s in reversed(seeds)][::-1]
    for first, second in zip(splits, again, strict=True):
        if sorted(first[1]) != sorted(second[1]):
            raise CheckFailed("train_val_split: the same seed gave different splits (the split must depend "
                              "only on seed)")
    if len({tuple(sorted(v)) for _, v in splits}) == 1:
        raise CheckFailed("train_val_split: different seeds all gave the same split: shuffle with a "
                          "generator seeded by seed")


@pytest.mark.group("split_hidden")
@pytest.mark.needs_values
@pytest.mark.parametrize("val_fraction", [1.0, 2.0, -1e-9, -3.0])
def test_split_bad_fractions(student, val_fraction):
    assert_raises("ValueError", student.train_val_split, Helper("index_dataset", (8,)), val_fraction, 1)

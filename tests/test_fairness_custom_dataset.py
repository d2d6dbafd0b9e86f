"""custom_dataset fairness: correct techniques earn full marks; each single bug loses points where aimed."""

from __future__ import annotations

import pytest
from conftest import CORPUS, ROOT, grade_bug, grade_source, group_scores, output_of

SLUG = "custom_dataset"
CASES = CORPUS / SLUG
DATASET = "CsvTensorDataset: items, indices, lazy loading, bad CSVs, transforms"
DATASET_HIDDEN = "CsvTensorDataset: random datasets, stored dtypes and layouts, CSV edge cases (hidden)"
LOADER = "make_loader: batches, sequential and seeded shuffled order"
LOADER_HIDDEN = "make_loader: several epochs, num_workers=2, drop_last, batch size 1 (hidden)"
SPLIT = "train_val_split: sizes, disjointness, determinism, errors"


def test_reference_full_and_stub_zero(tmp_path):
    ref = grade_source(SLUG, ROOT / f"solutions/{SLUG}/{SLUG}.py", tmp_path / "r")
    assert ref.score == ref.max_score == 15 and ref.status == "graded", group_scores(ref)
    stub = grade_source(SLUG, ROOT / f"student_template/{SLUG}/{SLUG}.py", tmp_path / "s")
    assert stub.score == 0


@pytest.mark.parametrize("name", ["correct_csv_reader", "correct_pathlib_random_split"])
def test_other_correct_techniques_earn_full_marks(tmp_path, name):
    report = grade_source(SLUG, CASES / f"{name}.py", tmp_path)
    assert report.score == report.max_score, group_scores(report)


BUGS = {
    # bug file: (group that must lose points, words its feedback must contain)
    "bug_eager_load": (DATASET, ["CsvTensorDataset", "did not exist yet", "__init__ must read the CSV only",
                                 "should raise FileNotFoundError", "__getitem__(2)"]),
    "bug_negative_index": (DATASET, ["CsvTensorDataset.__getitem__ raised IndexError", "__getitem__(-1)"]),
    "bug_label_int32": (DATASET, ["CsvTensorDataset.__getitem__", "y of dataset[0]", "dtype int32, expected int64"]),
    "bug_header_keyerror": (DATASET, ["CsvTensorDataset raised KeyError where ValueError was expected",
                                      "the CSV: 'file,label"]),
    "bug_label_truncates": (DATASET, ["CsvTensorDataset should raise ValueError", "returned a CsvTensorDataset"]),
    "bug_no_target_transform": (DATASET, ["CsvTensorDataset.__getitem__",
                                          "wrong values in y of dataset[0] (after target_transform)"]),
    "bug_loader_global_seed": (LOADER, ["make_loader", "holds the wrong items", "manual_seed(seed)",
                                        "seed=7", "expected [1, 3, 5, 7]"]),
    "bug_loader_ignores_drop_last": (LOADER_HIDDEN, ["make_loader", "wrong number of batches", "drop_last"]),
    "bug_split_rounds": (SPLIT, ["train_val_split", "val 29), expected (train 72, val 28)",
                                "int(n * val_fraction)"]),
    "bug_split_unseeded": (SPLIT, ["train_val_split", "same seed gave different splits"]),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_each_bug_loses_points_where_aimed_with_pointed_feedback(tmp_path, name):
    group, words = BUGS[name]
    report, scores, maximum = grade_bug(SLUG, CASES / f"{name}.py", tmp_path, group, words)


def test_a_loader_bug_costs_only_loader_points_and_hidden_feedback_hides_inputs(tmp_path):
    report = grade_source(SLUG, CASES / "bug_loader_global_seed.py", tmp_path)
    scores = group_scores(report)
    assert scores[DATASET] == 3 and scores[DATASET_HIDDEN] == 6 and scores[SPLIT] == 1, scores
    hidden = output_of(report, LOADER_HIDDEN)
    assert "holds the wrong items" in hidden and "call:" not in hidden and "items (by index)" not in hidden
    assert "call: make_loader(" in output_of(report, LOADER)

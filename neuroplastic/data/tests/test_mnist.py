"""Tests for loading MNIST arrays and cutting train / validation / test splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neuroplastic import paths
from neuroplastic.data import mnist_files
from neuroplastic.data.idx import write_idx
from neuroplastic.data.mnist import (
    DataSplits,
    MnistArrays,
    load_mnist,
    load_splits,
    make_splits,
    parse_classes,
)
from neuroplastic.data.mnist_files import MNIST_FILES
from neuroplastic.data.tests.conftest import N_TEST, N_TRAIN, fake_arrays, write_fake_mnist
from neuroplastic.errors import DataError, ParameterError

TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = MNIST_FILES


@pytest.fixture
def arrays() -> MnistArrays:
    raw = fake_arrays()
    return MnistArrays(raw[TRAIN_IMAGES], raw[TRAIN_LABELS], raw[TEST_IMAGES], raw[TEST_LABELS])


def _index(split_x: torch.Tensor) -> np.ndarray:
    """Recover each example's original index from pixel [0, 0] (see conftest.fake_arrays)."""
    return np.rint(split_x[:, 0].numpy() * 255).astype(int)


# --- load_mnist -----------------------------------------------------------------------------


def test_load_from_mnist_subdir(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path / "mnist")
    arrays = load_mnist(tmp_path, verify=False)
    assert arrays.train_images.shape == (N_TRAIN, 3, 2)
    assert arrays.test_labels.shape == (N_TEST,)
    assert arrays.train_images.dtype == np.uint8


def test_load_from_env_dir_holding_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake_mnist(tmp_path / "direct")
    monkeypatch.setenv("NEUROPLASTIC_DATA", str(tmp_path / "direct"))
    assert load_mnist(verify=False).train_labels.shape == (N_TRAIN,)


def test_load_verifies_checksums_by_default(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path)  # fake files never match the real MNIST hashes
    with pytest.raises(DataError, match="checksum mismatch"):
        load_mnist(tmp_path)


def test_load_verifies_with_the_shipped_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checksums = write_fake_mnist(tmp_path)
    monkeypatch.setattr(mnist_files, "mnist_checksums", lambda: checksums)
    assert load_mnist(tmp_path).train_images.shape[0] == N_TRAIN


def test_missing_files_tell_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path / "empty")
    message = str(info.value)
    assert "neuroplastic data fetch mnist" in message
    assert "NEUROPLASTIC_DATA" in message and "--data-dir" in message
    assert TRAIN_IMAGES in message


def test_image_label_length_mismatch_names_both_files(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path)
    write_idx(tmp_path / TEST_LABELS, np.zeros(N_TEST - 1, dtype=np.uint8))
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path, verify=False)
    message = str(info.value)
    assert TEST_IMAGES in message and TEST_LABELS in message
    assert f"{N_TEST} images" in message and f"{N_TEST - 1} labels" in message


def test_images_must_be_3d(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path)
    write_idx(tmp_path / TRAIN_IMAGES, np.zeros((N_TRAIN, 6), dtype=np.uint8))
    with pytest.raises(DataError, match=f"{TRAIN_IMAGES}: expected 3-d"):
        load_mnist(tmp_path, verify=False)


def test_labels_must_be_digits(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path)
    labels = np.zeros(N_TRAIN, dtype=np.uint8)
    labels[3] = 12
    write_idx(tmp_path / TRAIN_LABELS, labels)
    with pytest.raises(DataError, match=rf"{TRAIN_LABELS}: labels must lie in 0..9, found \[12\]"):
        load_mnist(tmp_path, verify=False)


def test_corrupt_idx_file_surfaces_as_data_error(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path)
    path = tmp_path / TEST_IMAGES
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataError, match=f"{TEST_IMAGES}: truncated"):
        load_mnist(tmp_path, verify=False)


# --- make_splits ----------------------------------------------------------------------------


def test_default_splits_shapes_and_dtypes(arrays: MnistArrays) -> None:
    splits = make_splits(arrays, val_size=10)
    assert isinstance(splits, DataSplits)
    assert (splits.train.n, splits.val.n, splits.test.n) == (N_TRAIN - 10, 10, N_TEST)
    assert splits.n_features == 6 and splits.n_classes == 10
    assert splits.classes == list(range(10)) and splits.dataset == "mnist"
    for split in (splits.train, splits.val, splits.test):
        assert split.x.dtype == torch.float32 and split.y.dtype == torch.int64
        assert split.x.shape == (split.n, 6)
        assert float(split.x.min()) >= 0.0 and float(split.x.max()) == 1.0


def test_train_and_val_partition_the_training_set(arrays: MnistArrays) -> None:
    splits = make_splits(arrays, val_size=10, seed=5)
    train, val = set(_index(splits.train.x)), set(_index(splits.val.x))
    assert not train & val
    assert train | val == set(range(N_TRAIN))


def test_splits_are_deterministic_under_seed(arrays: MnistArrays) -> None:
    a = make_splits(arrays, val_size=10, seed=1, train_limit=12, test_limit=7)
    b = make_splits(arrays, val_size=10, seed=1, train_limit=12, test_limit=7)
    c = make_splits(arrays, val_size=10, seed=2, train_limit=12, test_limit=7)
    for name in ("train", "val", "test"):
        assert torch.equal(getattr(a, name).x, getattr(b, name).x)
        assert torch.equal(getattr(a, name).y, getattr(b, name).y)
    assert not torch.equal(a.val.x, c.val.x)


def test_class_subset_is_remapped_in_sorted_order(arrays: MnistArrays) -> None:
    splits = make_splits(arrays, classes=[6, 1, 2], val_size=2)
    assert splits.classes == [1, 2, 6] and splits.n_classes == 3
    for split in (splits.train, splits.val, splits.test):
        original = _index(split.x) % 10  # label = index % 10 in the fake data
        assert set(original) <= {1, 2, 6}
        np.testing.assert_array_equal(np.array(splits.classes)[split.y.numpy()], original)
    assert splits.train.n + splits.val.n == 12  # 4 examples of each of 3 classes
    assert splits.test.n == 6


@pytest.mark.parametrize(("val_size", "expected"), [(0, 0), (7, 7), (0.25, 10), (0.5, 20)])
def test_val_size_count_or_fraction(arrays: MnistArrays, val_size: float, expected: int) -> None:
    splits = make_splits(arrays, val_size=val_size)
    assert splits.val.n == expected and splits.train.n == N_TRAIN - expected


@pytest.mark.parametrize("val_size", [N_TRAIN, N_TRAIN + 5, 0.0, 1.0, 1.5, -1, -0.2, True, "10"])
def test_bad_val_size(arrays: MnistArrays, val_size: object) -> None:
    with pytest.raises(ParameterError, match="val_size"):
        make_splits(arrays, val_size=val_size)  # type: ignore[arg-type]


def test_val_size_leaving_no_training_data_is_refused(arrays: MnistArrays) -> None:
    with pytest.raises(ParameterError, match="leaves none for training"):
        make_splits(arrays, classes=[0, 1], val_size=8)  # 8 examples of digits 0 and 1


def test_limits_take_seeded_subsets(arrays: MnistArrays) -> None:
    splits = make_splits(arrays, val_size=10, train_limit=5, test_limit=4, seed=3)
    assert (splits.train.n, splits.val.n, splits.test.n) == (5, 10, 4)
    full = make_splits(arrays, val_size=10, seed=3)
    assert set(_index(splits.train.x)) <= set(_index(full.train.x))
    assert torch.equal(full.val.x, splits.val.x)  # limits never change the validation split
    big = make_splits(arrays, val_size=10, train_limit=10_000, test_limit=10_000, seed=3)
    assert big.train.n == N_TRAIN - 10 and big.test.n == N_TEST


def test_test_subset_does_not_depend_on_val_size(arrays: MnistArrays) -> None:
    a = make_splits(arrays, val_size=5, test_limit=6, seed=9)
    b = make_splits(arrays, val_size=15, train_limit=3, test_limit=6, seed=9)
    assert torch.equal(a.test.x, b.test.x)


@pytest.mark.parametrize("limit", [0, -3, 2.5, True])
def test_bad_limits(arrays: MnistArrays, limit: object) -> None:
    with pytest.raises(ParameterError, match="train_limit"):
        make_splits(arrays, val_size=5, train_limit=limit)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="test_limit"):
        make_splits(arrays, val_size=5, test_limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("classes", "match"),
    [
        ([1, 1, 2], r"repeated: \[1\]"),
        ([1, 10, -1], r"0\.\.9, got \[10, -1\]"),
        ([3], r"at least 2 classes, got \[3\]"),
        ([], "at least 2"),
    ],
)
def test_bad_classes(arrays: MnistArrays, classes: list[int], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        make_splits(arrays, classes=classes)


def test_load_splits_convenience(tmp_path: Path) -> None:
    write_fake_mnist(tmp_path / "mnist")
    splits = load_splits(tmp_path, verify=False, classes=[0, 5], val_size=0.25, seed=4)
    assert splits.classes == [0, 5]
    assert splits.train.n + splits.val.n == 8 and splits.val.n == 2


# --- parse_classes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"), [("1,2,6", [1, 2, 6]), (" 6, 1 ,2 ", [1, 2, 6]), ("0,9", [0, 9])]
)
def test_parse_classes(text: str, expected: list[int]) -> None:
    assert parse_classes(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty class list"),
        ("  ", "empty class list"),
        ("1,,2", r"'' not an integer"),
        ("a,b", r"'a', 'b' not an integer"),
        ("1.5,2", r"'1.5' not an integer"),
        ("1;2", r"'1;2' not an integer"),
        ("1", "at least 2"),
        ("1,1", "repeated"),
        ("1,12", r"0\.\.9, got \[12\]"),
    ],
)
def test_parse_classes_rejects_junk(text: str, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        parse_classes(text)


# --- the real thing -------------------------------------------------------------------------


@pytest.mark.mnist
def test_real_mnist() -> None:
    directory = mnist_files.mnist_dir(paths.data_dir())
    if not mnist_files.has_all_files(directory):
        pytest.skip("MNIST not fetched; run neuroplastic data fetch mnist")
    arrays = load_mnist()
    assert arrays.train_images.shape == (60000, 28, 28)
    assert arrays.train_labels.shape == (60000,)
    assert arrays.test_images.shape == (10000, 28, 28)
    assert arrays.test_labels.shape == (10000,)
    splits = make_splits(arrays, classes=[1, 2, 6])
    assert splits.n_classes == 3 and splits.classes == [1, 2, 6]
    assert splits.n_features == 784
    assert set(splits.train.y.unique().tolist()) == {0, 1, 2}
    assert splits.val.n == 5000

"""Tests for the IDX reader and writer."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from neuroplastic.data.idx import read_idx, write_idx
from neuroplastic.errors import DataError, ParameterError


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_round_trip_every_dtype(tmp_path: Path, dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / f"a-{dtype}.idx"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.dtype.isnative
    assert back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_header_is_big_endian(tmp_path: Path) -> None:
    path = tmp_path / "labels"
    write_idx(path, np.array([258, 1], dtype=np.int32))
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0C, 1])
    assert struct.unpack(">I", raw[4:8]) == (2,)
    assert raw[8:12] == (258).to_bytes(4, "big")


def test_reads_mnist_style_header(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(struct.pack(">IIII", 0x803, 2, 2, 1) + bytes([1, 2, 3, 4]))
    np.testing.assert_array_equal(read_idx(path), [[[1], [2]], [[3], [4]]])


def test_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "nope-idx1-ubyte"
    with pytest.raises(DataError, match=r"nope-idx1-ubyte.*not found"):
        read_idx(path)


def test_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="directory"):
        read_idx(tmp_path)


def test_bad_magic_says_expected_and_found(tmp_path: Path) -> None:
    path = tmp_path / "bad-magic"
    path.write_bytes(b"\x1f\x8b\x08\x01" + bytes(16))  # looks like a gzip file
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert "bad-magic" in message
    assert "0x1F8B0801" in message
    assert "expected two zero bytes" in message


def test_unknown_dtype_code_is_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "bad-code"
    path.write_bytes(bytes([0, 0, 0x07, 1]) + struct.pack(">I", 0))
    with pytest.raises(DataError, match=r"bad-code.*0x00000701"):
        read_idx(path)


@pytest.mark.parametrize("raw", [b"", b"\x00\x00", bytes([0, 0, 8, 2]) + struct.pack(">I", 3)])
def test_truncated_header(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "short-header"
    path.write_bytes(raw)
    with pytest.raises(DataError, match="short-header: truncated IDX header"):
        read_idx(path)


def test_truncated_data_reports_sizes(tmp_path: Path) -> None:
    path = tmp_path / "truncated"
    write_idx(path, np.zeros((3, 4), dtype=np.int16))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(
        DataError, match=r"truncated: truncated IDX file: expected 24 bytes .* found 19"
    ):
        read_idx(path)


def test_trailing_bytes_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "extra"
    write_idx(path, np.zeros(5, dtype=np.uint8))
    with path.open("ab") as handle:
        handle.write(b"xyz")
    with pytest.raises(
        DataError, match=r"extra: 3 unexpected trailing bytes.*expected 5 .* found 8"
    ):
        read_idx(path)


def test_write_rejects_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


def test_empty_dimension_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    write_idx(path, np.zeros((0, 28, 28), dtype=np.uint8))
    assert read_idx(path).shape == (0, 28, 28)

"""Reading and writing the IDX file format used by MNIST.

An IDX file is a big-endian header followed by raw array data::

    2 zero bytes | dtype code (1 byte) | ndim (1 byte) | ndim x uint32 dims | data

The dtype codes are 0x08 (uint8), 0x09 (int8), 0x0B (int16), 0x0C (int32),
0x0D (float32) and 0x0E (float64).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplastic.errors import DataError, ParameterError

#: IDX dtype code -> big-endian numpy dtype as stored on disk.
IDX_DTYPES: dict[int, np.dtype[np.generic]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_CODES_TEXT = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)


def read_idx(path: str | os.PathLike[str]) -> npt.NDArray[Any]:
    """Read an IDX file into a writable, native-byte-order numpy array.

    Raises :class:`DataError` naming the file when it is missing, has a wrong magic
    number, is truncated, or has bytes after the data.
    """
    path = Path(path)
    buffer = _read_bytes(path)
    if len(buffer) < 4:
        raise DataError(
            f"{path}: truncated IDX header: expected at least 4 bytes, found {len(buffer)}"
        )
    zero, code, ndim = struct.unpack_from(">HBB", buffer, 0)
    if zero != 0 or code not in IDX_DTYPES:
        magic = int.from_bytes(buffer[:4], "big")
        raise DataError(
            f"{path}: not an IDX file: bad magic number 0x{magic:08X}; expected two zero "
            f"bytes, a type code ({_CODES_TEXT}) and a dimension count, e.g. 0x00000803 "
            "for 3-d uint8 data"
        )
    header_size = 4 + 4 * ndim
    if len(buffer) < header_size:
        raise DataError(
            f"{path}: truncated IDX header: expected {header_size} bytes for {ndim} "
            f"dimensions, found {len(buffer)}"
        )
    shape = struct.unpack_from(f">{ndim}I", buffer, 4)
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(buffer) - header_size
    if found < expected:
        raise DataError(
            f"{path}: truncated IDX file: expected {expected} bytes of data for shape "
            f"{tuple(shape)}, found {found}"
        )
    if found > expected:
        raise DataError(
            f"{path}: {found - expected} unexpected trailing bytes after the IDX data: "
            f"expected {expected} bytes of data for shape {tuple(shape)}, found {found}"
        )
    array = np.frombuffer(
        buffer, dtype=dtype, count=expected // dtype.itemsize, offset=header_size
    ).reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    return array


def write_idx(path: str | os.PathLike[str], array: npt.ArrayLike) -> None:
    """Write ``array`` to ``path`` in IDX format (the inverse of :func:`read_idx`).

    The dtype must be one IDX can store: uint8, int8, int16, int32, float32 or float64.
    """
    data = np.asarray(array)
    code = next(
        (c for c, dt in IDX_DTYPES.items() if dt.newbyteorder("=") == data.dtype.newbyteorder("=")),
        None,
    )
    if code is None:
        raise ParameterError(
            f"write_idx: dtype {data.dtype} cannot be stored in IDX; use uint8, int8, int16, "
            "int32, float32 or float64"
        )
    if data.ndim > 255 or any(dim > 0xFFFFFFFF for dim in data.shape):
        raise ParameterError(f"write_idx: shape {data.shape} does not fit an IDX header")
    header = struct.pack(f">HBB{data.ndim}I", 0, code, data.ndim, *data.shape)
    body = np.ascontiguousarray(data, dtype=IDX_DTYPES[code]).tobytes()
    Path(path).write_bytes(header + body)


def _read_bytes(path: Path) -> bytearray:
    """Read the whole file into a mutable buffer (so arrays over it are writable)."""
    try:
        size = path.stat().st_size
        buffer = bytearray(size)
        with path.open("rb") as handle:
            n_read = handle.readinto(buffer)
    except FileNotFoundError:
        raise DataError(f"{path}: IDX file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: expected an IDX file, found a directory") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read IDX file: {exc.strerror or exc}") from exc
    del buffer[n_read:]
    return buffer

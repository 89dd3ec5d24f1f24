"""Reading IDX files, the plain binary format MNIST ships in.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the
values row by row. The magic is two zero bytes, a type code (0x08 = unsigned byte)
and the number of dimensions, so MNIST images (3 dimensions) have magic 2051 and
labels (1 dimension) 2049.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

UNSIGNED_BYTE = 0x08
IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (count, rows, cols)
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (count)


class DataError(ValueError):
    """A data file is missing or is not what it should be; the message names the file."""

    def __init__(self, path: Path | str, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class IdxArray:
    """The values of one IDX file and the MD5 of its uncompressed bytes."""

    values: np.ndarray  # uint8, shape as the header says
    md5: str


def read_bytes(path: Path) -> bytes:
    """The file's uncompressed content, whether or not it is gzipped (told by its first bytes)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except OSError as error:
        raise DataError(path, f"cannot read: {error.strerror or error}") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        # EOFError is what a half-downloaded .gz looks like.
        reason = "ends early" if isinstance(error, EOFError) else str(error)
        raise DataError(path, f"corrupt gzip data ({reason}); the file may be truncated") from None


def parse_idx(content: bytes, path: Path, expected_magic: int) -> np.ndarray:
    """Validate the header against the content's exact length and return the values."""
    kind = "image" if expected_magic == IMAGES_MAGIC else "label"
    if len(content) < 4:
        raise DataError(path, f"too short for an IDX header ({len(content)} bytes)")
    (magic,) = struct.unpack(">I", content[:4])
    if magic != expected_magic:
        raise DataError(
            path, f"wrong magic number {magic} (expected {expected_magic} for an IDX {kind} file)"
        )
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise DataError(path, f"header ends early: {ndim} dimensions need {header_size} bytes")
    shape = struct.unpack(f">{ndim}I", content[4:header_size])
    expected_size = header_size + math.prod(shape)  # Python ints: no overflow for absurd headers
    if len(content) != expected_size:
        problem = "truncated" if len(content) < expected_size else "has trailing bytes"
        raise DataError(
            path,
            f"{problem}: header says shape {'x'.join(map(str, shape))}, "
            f"which needs {expected_size:,} bytes, but there are {len(content):,}",
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape)


def read_idx(path: Path, expected_magic: int) -> IdxArray:
    content = read_bytes(path)
    values = parse_idx(content, path, expected_magic)
    return IdxArray(values=values, md5=hashlib.md5(content).hexdigest())

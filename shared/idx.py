"""Reading IDX files, the plain binary format MNIST ships in.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the
values row by row. The magic is two zero bytes, a type code (0x08 = unsigned byte)
and the number of dimensions, so MNIST images (3 dimensions) have magic 2051 and
labels (1 dimension) 2049.
"""

from __future__ import annotations

import hashlib
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.files import file_kind  # noqa: F401 (shared.data imports it from here)

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


MAX_IDX_BYTES = 2 << 30  # 2 GiB: over 2.7 million 28x28 images; a larger declared size is refused unread
GZIP_CHUNK = 1 << 16
HEADER_MAX = 4 + 4 * 255  # magic and up to 255 dimensions


def declared_size(header: bytes) -> int | None:
    """The total byte length an IDX header declares, or None while `header` is too short to say
    (or is not an unsigned-byte IDX header: parse_idx then names the problem)."""
    if len(header) < 4 or header[:2] != b"\x00\x00" or header[2] != UNSIGNED_BYTE:
        return None if len(header) < 4 else -1
    ndim = header[3]
    if len(header) < 4 + 4 * ndim:
        return None
    shape = struct.unpack(f">{ndim}I", header[4 : 4 + 4 * ndim])
    return 4 + 4 * ndim + math.prod(shape)


def too_large(path: Path, size: int) -> DataError:
    return DataError(path, f"its IDX header declares {size:,} bytes, more than the {MAX_IDX_BYTES:,} this loader "
                           f"reads (a damaged file, or a gzip bomb)")


def read_bytes(path: Path) -> bytes:
    """The file's uncompressed content, whether or not it is gzipped (told by its first bytes).

    Never more than the IDX header declares (plus one byte, to tell trailing bytes), and never a
    declared size above MAX_IDX_BYTES: a small .gz that inflates to gigabytes is refused after
    its first kilobytes."""
    def read(file, gzipped: bool) -> bytes:
        if gzipped:
            return inflate(file, path)
        size = declared_size(file.read(HEADER_MAX))
        file.seek(0)
        if size is not None and size > MAX_IDX_BYTES:
            raise too_large(path, size)
        return file.read(size + 1 if size is not None and size >= 0 else HEADER_MAX + 1)

    return read_file(path, read)


def read_file(path: Path, read) -> bytes:
    """read(file, gzipped) on the file opened for reading, gzipped telling a gzip stream by its first
    bytes; a file that is not a regular file is never opened, and errors name the file (DataError)."""
    kind = file_kind(path)
    if kind is not None:
        raise DataError(path, f"is {kind}, not a file")
    try:
        with path.open("rb") as file:
            gzipped = file.read(2) == b"\x1f\x8b"
            file.seek(0)
            return read(file, gzipped)
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except OSError as error:
        raise DataError(path, f"cannot read: {error.strerror or error}") from None


def corrupt_gzip(path: Path, error: Exception) -> DataError:
    # EOFError is what a half-downloaded .gz looks like.
    reason = "ends early" if isinstance(error, EOFError) else str(error)
    return DataError(path, f"corrupt gzip data ({reason}); the file may be truncated")


def inflate(file, path: Path) -> bytes:
    """Decompress gzip members one after another, stopping once past what the header declares."""
    out = bytearray()
    limit = MAX_IDX_BYTES + 1
    decompressor = None  # the gzip member being read; None between members
    pending = b""
    try:
        while True:
            data = pending or file.read(GZIP_CHUNK)
            pending = b""
            if not data:
                break
            decompressor = decompressor or zlib.decompressobj(16 + zlib.MAX_WBITS)
            while data:
                known = limit != MAX_IDX_BYTES + 1
                # Until the header is known, inflate just enough to read it (at most 1028 bytes).
                cap = limit - len(out) if known else max(1, HEADER_MAX - len(out))
                out += decompressor.decompress(data, cap)
                data = decompressor.unconsumed_tail
                if not known:
                    size = declared_size(bytes(out[:HEADER_MAX]))
                    if size is not None and size > MAX_IDX_BYTES:
                        raise too_large(path, size)
                    if size is not None and size >= 0:
                        limit = size + 1
                    elif size == -1:
                        limit = HEADER_MAX + 1  # not an IDX header: parse_idx will say why
                if len(out) >= limit:
                    return bytes(out[:limit])  # parse_idx reports the trailing bytes
                if decompressor.eof:  # another gzip member may follow
                    pending, decompressor, data = decompressor.unused_data + data, None, b""
        if decompressor is not None:  # a member began but never ended
            raise EOFError
    except (EOFError, zlib.error) as error:
        raise corrupt_gzip(path, error) from None
    return bytes(out)


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

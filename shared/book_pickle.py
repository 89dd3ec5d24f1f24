"""Nielsen's mnist.pkl.gz, read without ever running code from it.

The book's data file is a gzipped Python 2 pickle (protocol 2) of three (images, labels)
pairs, training (50,000), validation (10,000) and test (10,000): images float32 (n, 784) in
[0, 1], labels int64 (n,). Its pixels are MNIST's bytes divided by 256. Python 3 reads it
with encoding="latin1" (its arrays' raw bytes were Python 2 strings).

A pickle is a program: loading one calls whatever functions it names. This reader lets it
name only the three things that rebuild NumPy arrays (numpy's array reconstructor, the
ndarray type and dtype) and refuses every other name before anything is called, so a
hostile file is one line of error and nothing else. What it builds is then checked to be
that tuple of pairs of numeric arrays; the pixels go back to the bytes they were made from.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import pickle
import zlib
from pathlib import Path

import numpy as np

from shared.idx import IMAGES_MAGIC, LABELS_MAGIC, DataError, corrupt_gzip, read_file

FILE_NAME = "mnist.pkl.gz"
MAX_PICKLE_BYTES = 1 << 30  # the real file inflates to about 220 MB
SPLITS = ("training", "validation", "test")

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's own array reconstructor, wherever it lives


class Refused(pickle.UnpicklingError):
    """The pickle names something other than what rebuilds a NumPy array."""


def _reconstruct(cls, shape, typecode):
    """The first half of unpickling an ndarray: an empty array, then filled by its state."""
    if cls is not np.ndarray or tuple(shape) != (0,) or typecode not in (b"b", "b"):
        raise Refused("an array reconstructed with unexpected arguments")
    return _RECONSTRUCT(np.ndarray, (0,), b"b")


def _dtype(spec, align=False, copy=True):
    """A numeric dtype from its code ('f4', 'i8', ...); object and structured dtypes are refused
    (an object array's state is arbitrary Python objects)."""
    if not isinstance(spec, str) or len(spec) > 8:
        raise Refused(f"a dtype given as {spec!r}")
    dtype = np.dtype(spec)
    if dtype.kind not in "fiub":
        raise Refused(f"the dtype {spec!r}, which is not a number type")
    return np.dtype(spec, align=bool(align), copy=bool(copy))


ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # as NumPy 1 (and the book's file) names it
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # as NumPy 2 names it
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
}


class ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        raise Refused(f"it asks for {module}.{name}")

    def persistent_load(self, pid):
        raise Refused("it asks for a persistent object")


def looks_like_pickle(path: Path) -> bool:
    """Whether a file starts as a gzip stream or a pickle of protocol 2 or later does."""
    try:
        with path.open("rb") as file:
            start = file.read(2)
    except OSError:
        return False
    return start == b"\x1f\x8b" or start[:1] == pickle.PROTO


def read_content(path: Path) -> bytes:
    """The pickle's bytes, inflated if gzipped, never more than MAX_PICKLE_BYTES."""
    def read(file, gzipped: bool) -> bytes:
        try:
            return (gzip.GzipFile(fileobj=file) if gzipped else file).read(MAX_PICKLE_BYTES + 1)
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise corrupt_gzip(path, error) from None

    content = read_file(path, read)
    if len(content) > MAX_PICKLE_BYTES:
        raise DataError(path, f"inflates to more than {MAX_PICKLE_BYTES:,} bytes: not the book's data "
                              "(a damaged file, or a gzip bomb)")
    return content


def unpickle_arrays(content: bytes, path: Path):
    try:
        return ArraysOnly(io.BytesIO(content), encoding="latin1").load()
    except Refused as error:
        raise DataError(path, f"refused: {error}, and a pickle is read here only to rebuild NumPy arrays "
                              "(loading this one could run code); nothing in it was run") from None
    except MemoryError:
        raise DataError(path, "not the book's data: its arrays do not fit in memory") from None
    except Exception as error:  # a damaged pickle fails in many ways inside the unpickler
        raise DataError(path, f"not a readable pickle of NumPy arrays ({type(error).__name__}: "
                              f"{str(error)[:120]})") from None


def to_bytes(images: np.ndarray, path: Path, split: str) -> np.ndarray:
    """Pixels in [0, 1] back to the bytes they were made from: k/256 (the book's file) or k/255."""
    high = float(images.max()) if images.size else 0.0
    for scale in (256, 255):
        if not high * scale <= 255.5:  # also false for NaN
            continue
        pixels = np.empty(images.shape, np.uint8)
        for start in range(0, len(images), CHUNK_ROWS):  # a few MB at a time: passes stay in cache
            rows = images[start : start + CHUNK_ROWS].astype(np.float32)
            steps = rows * np.float32(scale)
            np.rint(steps, out=steps)
            # float32 holds k/256 exactly and k/255 within 3e-8: a wider gap is another kind of value
            if not (np.abs(steps / np.float32(scale) - rows).max() < 1e-5 and steps.min() >= 0):
                break
            pixels[start : start + CHUNK_ROWS] = steps
        else:
            return pixels
    if not (np.all(np.isfinite(images)) and images.min(initial=0) >= 0 and high <= 1):
        raise DataError(path, f"the {split} images are not pixels in [0, 1]")
    raise DataError(path, f"the {split} images are not whole steps of 1/256 or 1/255: not MNIST-like bytes")


CHUNK_ROWS = 2048


def check_pairs(data, path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """The unpickled object must be the book's three (images, labels) pairs."""
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise DataError(path, "not the book's data: expected a tuple of three (images, labels) pairs "
                              f"(training, validation, test); got {type(data).__name__}"
                              + (f" of {len(data)}" if isinstance(data, (tuple, list)) else ""))
    pairs = []
    for split, pair in zip(SPLITS, data):
        if (not isinstance(pair, (tuple, list)) or len(pair) != 2
                or not all(isinstance(array, np.ndarray) for array in pair)):
            raise DataError(path, f"not the book's data: the {split} set is not an (images, labels) pair of arrays")
        images, labels = pair
        side = math.isqrt(images.shape[1]) if images.ndim == 2 else 0
        if images.ndim != 2 or side * side != images.shape[1] or images.dtype.kind != "f":
            raise DataError(path, f"the {split} images are {images.dtype} of shape {images.shape}, "
                                  "not rows of square images' pixels as floats")
        if labels.shape != (len(images),) or labels.dtype.kind not in "iu":
            raise DataError(path, f"the {split} labels are {labels.dtype} of shape {labels.shape}, "
                                  f"not {len(images):,} whole numbers")
        if len(labels) and (labels.min() < 0 or labels.max() > 255):
            raise DataError(path, f"the {split} labels hold {int(labels.min())}..{int(labels.max())}, outside 0..255")
        pairs.append((to_bytes(images, path, split).reshape(len(images), side, side), labels.astype(np.uint8)))
    if len(pairs[0][0]) == 0 or len(pairs[2][0]) == 0:
        raise DataError(path, "holds no training or no test images")
    if len({images.shape[1:] for images, _ in pairs}) != 1:
        raise DataError(path, "its three sets hold images of different sizes")
    return pairs


def idx_md5(array: np.ndarray, magic: int) -> str:
    """The MD5 the same array has as an uncompressed IDX file (what KNOWN_CHECKSUMS hold)."""
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return hashlib.md5(header + np.ascontiguousarray(array).tobytes()).hexdigest()


def load_book_pickle(path: Path) -> dict:
    """The arrays of the book's file as shared.data.Dataset wants them: training and validation
    images one after the other as the training set (the validation set is its last `held_out`),
    uint8 images and labels, and the IDX checksums they would have."""
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = check_pairs(unpickle_arrays(read_content(path), path), path)
    arrays = {
        "train_images": np.concatenate([train_x, valid_x]),
        "train_labels": np.concatenate([train_y, valid_y]),
        "test_images": test_x,
        "test_labels": test_y,
    }
    md5 = {key: idx_md5(value, IMAGES_MAGIC if key.endswith("images") else LABELS_MAGIC) for key, value in arrays.items()}
    return {"arrays": arrays, "held_out": len(valid_y), "md5": md5}

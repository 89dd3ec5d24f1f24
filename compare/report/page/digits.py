"""The digits the page trains on live (trainer.js): the first 18,000 training digits, and 1,000
test digits to measure it on, every tenth of the test set so that all its writers are in.

They are kept at four grey levels (0, 85, 170, 255): a network learns from them as well as from
the 256 levels of the originals (docs/NOTES.md, issue 18 part 2), and four pixels then fit in one
byte. Packed so, four pixels one above the other in each byte, and gzipped (the page inflates
them with the browser's DecompressionStream), 18,000 digits take about 0.8 MB, 1.1 MB as base64.

A run keeps them beside results.json (DIGITS_FILE), so that `compare report` makes the same
page again without the dataset.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.atomic import atomic_write_bytes
from shared.checkpoint import CheckpointError, read_member, read_metadata, read_npz

TRAIN_DIGITS = 18_000  # 20,000 learned a little better but took docs/page.html over 4 MB
TEST_DIGITS = 1_000
LEVELS = 4
STEP = 255 // (LEVELS - 1)  # 85: the grey between two levels
PER_BYTE = 4  # pixels, one above the other
SIDE = 28
MOST_IN_A_FILE = 70_000  # MNIST's digits: a page-digits.npz holding more is not one of ours
DIGITS_FILE = "page-digits.npz"
FORMAT, VERSION = "mnist-five-ways page digits", 1


class DigitsError(CheckpointError):
    """A page-digits.npz that cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class PageDigits:
    """uint8 images (n, 28, 28) at LEVELS grey levels, and their uint8 labels."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    test_indices: np.ndarray  # where the test digits are in the test set


def quantize(images: np.ndarray) -> np.ndarray:
    """Each pixel to the nearest of the LEVELS greys."""
    levels = (np.asarray(images, dtype=np.int32) * (LEVELS - 1) + 127) // 255
    return (levels * STEP).astype(np.uint8)


def choose_page_digits(train_images, train_labels, test_images, test_labels) -> PageDigits:
    """The first TRAIN_DIGITS training digits and TEST_DIGITS spread evenly over the test set."""
    stride = max(1, len(test_images) // TEST_DIGITS)
    indices = np.arange(0, len(test_images), stride)[:TEST_DIGITS]
    return PageDigits(quantize(train_images[:TRAIN_DIGITS]), np.asarray(train_labels[:TRAIN_DIGITS], dtype=np.uint8),
                      quantize(test_images[indices]), np.asarray(test_labels, dtype=np.uint8)[indices], indices)


def pack(images: np.ndarray) -> bytes:
    """Four vertically adjacent pixels per byte, the top one in the high bits: (n, 28, 28) ->
    n * 7 * 28 bytes. (Strokes run down as often as across; packed down the columns, the bytes
    of one digit repeat more and gzip to 45 bytes a digit instead of 52.)"""
    levels = (images // STEP).astype(np.uint8)
    return (levels[:, 0::4] << 6 | levels[:, 1::4] << 4 | levels[:, 2::4] << 2 | levels[:, 3::4]).tobytes()


def digits_document(digits: PageDigits) -> dict:
    """What trainer.js reads: the counts, and one gzip of the packed training digits, their labels,
    the packed test digits and theirs, in that order, as base64."""
    data = (pack(digits.train_images) + digits.train_labels.tobytes()
            + pack(digits.test_images) + digits.test_labels.tobytes())
    return {"train": len(digits.train_labels), "test": len(digits.test_labels), "levels": LEVELS,
            "data": base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")}


def save_page_digits(path: Path | str, digits: PageDigits) -> None:
    """page-digits.npz, atomically: the metadata, then each array."""
    arrays = {"metadata": np.array(json.dumps({"format": FORMAT, "version": VERSION})),
              **{name: getattr(digits, name) for name in PageDigits.__dataclass_fields__}}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def load_page_digits(path: Path | str) -> PageDigits:
    """Read and check page-digits.npz; any problem is a DigitsError naming the file."""
    return read_npz(path, read_page_digits, "page's digits", DigitsError)


def read_page_digits(archive, path: Path) -> PageDigits:
    read_metadata(archive, path, FORMAT, VERSION, "page's digits", DigitsError)

    def member(name: str, rank: int, dtype: str) -> np.ndarray:
        def check(shape, found):
            if found.name != dtype or len(shape) != rank or not shape[0] <= MOST_IN_A_FILE or shape[1:] != (SIDE, SIDE)[:rank - 1]:
                raise DigitsError(path, f"{name} must be {dtype} of shape ({MOST_IN_A_FILE:,} or fewer"
                                        f"{', 28, 28' * (rank > 1)})")
        array = read_member(archive, path, name, check)
        if array is None:
            raise DigitsError(path, f"missing {name}")
        return array

    digits = PageDigits(*(member(name, rank, dtype) for name, rank, dtype in (
        ("train_images", 3, "uint8"), ("train_labels", 1, "uint8"), ("test_images", 3, "uint8"),
        ("test_labels", 1, "uint8"), ("test_indices", 1, "int64"))))
    if len(digits.train_images) != len(digits.train_labels) or not len(digits.test_images) == len(digits.test_labels) \
            == len(digits.test_indices):
        raise DigitsError(path, "images and labels of different counts")
    if np.any(digits.train_images % STEP) or np.any(digits.test_images % STEP):
        raise DigitsError(path, f"pixels that are not one of the {LEVELS} grey levels")
    return digits

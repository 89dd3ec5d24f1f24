"""The one data loader: four IDX files in a directory, or Nielsen's mnist.pkl.gz -> images,
labels, batches.

Every implementation trains on what this module returns, so pixel scaling and the
order of mini-batches are decided here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from shared.idx import IMAGES_MAGIC, LABELS_MAGIC, DataError, file_kind, read_idx

# The project carries MNIST in <repo>/data/mnist, found from this file, not from the
# working directory, so `compare` works wherever it is started.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"

FILE_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# MD5 of the *uncompressed* files: the same whichever mirror or compressor they came
# through (the .gz bytes differ between mirrors).
KNOWN_CHECKSUMS = {
    "mnist": {
        "train_images": "6bbc9ace898e44ae57da46a324031adb",
        "train_labels": "a25bea736e30d166cdddb491f175f624",
        "test_images": "2646ac647ad5339dbf082846283269ea",
        "test_labels": "27ae3e4e09519cfbb04c329615203637",
    },
}


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 (count, rows, cols) and labels as uint8 (count,), as stored."""

    name: str  # "mnist" when the checksums matched, else the directory's name
    verified: bool  # True when every file matched a known checksum
    directory: Path
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    # Training images the data itself sets apart as validation images, the last of the training
    # set: 10,000 in Nielsen's mnist.pkl.gz (its 50,000 / 10,000 split), none in the IDX files.
    held_out: int = 0

    @property
    def input_size(self) -> int:
        return int(self.test_images.shape[1] * self.test_images.shape[2])

    @property
    def num_classes(self) -> int:
        """Taken from the labels, so Fashion-MNIST or a 3-class subset work unchanged (from the
        test labels alone when only the test set was loaded)."""
        return int(max(labels.max() for labels in (self.train_labels, self.test_labels) if len(labels))) + 1

    def limit(self, train_limit: int | None = None, test_limit: int | None = None) -> "Dataset":
        """The first N training and/or test examples (a view, no copy)."""
        return Dataset(
            name=self.name,
            verified=self.verified,
            directory=self.directory,
            train_images=self.train_images[:train_limit],
            train_labels=self.train_labels[:train_limit],
            test_images=self.test_images[:test_limit],
            test_labels=self.test_labels[:test_limit],
            held_out=self.held_out,
        )


def find_file(directory: Path, stem: str) -> Path:
    """`stem.gz` or `stem` (uncompressed); the error names the file that was expected."""
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
        kind = file_kind(candidate)  # a FIFO or a device would block or never end: never opened
        if kind is not None:
            raise DataError(candidate, f"is {kind}, not a file")
    raise DataError(directory / f"{stem}.gz", "file not found (nor an uncompressed copy)")


def load_dataset(directory: Path | str | None = None, expect: str | None = None,
                 splits: tuple[str, ...] = ("train", "test")) -> Dataset:
    """Load and validate the IDX files of `directory` (the bundled MNIST by default), or
    Nielsen's mnist.pkl.gz: `directory` may be that file, or a directory holding it and no
    IDX files (shared.book_pickle reads it without running code).

    `splits` says which pairs of files to read: ("test",) for a command that only evaluates,
    which then needs only the two test files (the training arrays are empty).
    `expect` names a dataset of KNOWN_CHECKSUMS that the files must match; the
    bundled directory expects "mnist". Files that match a known dataset are marked
    verified even when nothing was expected.
    """
    if directory is None:
        directory, expect = DEFAULT_DATA_DIR, expect or "mnist"
    directory = Path(directory)
    book_file = book_pickle_path(directory)
    if book_file is not None:
        return load_book_dataset(book_file, expect, splits)
    if not directory.is_dir():
        raise DataError(directory, "data directory not found" if not directory.exists() else "is not a directory")

    keys = [key for key in FILE_STEMS if key.split("_")[0] in splits]
    paths = {key: find_file(directory, FILE_STEMS[key]) for key in keys}
    arrays = {
        key: read_idx(path, IMAGES_MAGIC if key.endswith("images") else LABELS_MAGIC)
        for key, path in paths.items()
    }

    if expect is not None:
        for key in keys:
            expected_md5 = KNOWN_CHECKSUMS[expect][key]
            if arrays[key].md5 != expected_md5:
                raise DataError(
                    paths[key],
                    f"checksum mismatch: MD5 of the uncompressed content is {arrays[key].md5}, "
                    f"{expect} has {expected_md5}",
                )
    known = [name for name, sums in KNOWN_CHECKSUMS.items() if all(sums[key] == arrays[key].md5 for key in keys)]

    for split in splits:
        images, labels = arrays[f"{split}_images"].values, arrays[f"{split}_labels"].values
        if len(images) != len(labels):
            raise DataError(
                paths[f"{split}_labels"],
                f"{len(labels):,} labels for {len(images):,} images in {paths[f'{split}_images'].name}",
            )
        if len(images) == 0:
            raise DataError(paths[f"{split}_images"], "holds no images")
    if len(splits) == 2:
        train_shape = arrays["train_images"].values.shape[1:]
        test_shape = arrays["test_images"].values.shape[1:]
        if train_shape != test_shape:
            raise DataError(
                paths["test_images"],
                f"images are {test_shape[0]}x{test_shape[1]} but training images are "
                f"{train_shape[0]}x{train_shape[1]}",
            )
    shape = arrays[f"{splits[0]}_images"].values.shape[1:]
    values = {key: arrays[key].values if key in arrays else
              np.zeros((0, *shape) if key.endswith("images") else 0, dtype=np.uint8) for key in FILE_STEMS}

    return Dataset(name=known[0] if known else directory.name, verified=bool(known), directory=directory, **values)


def book_pickle_path(path: Path) -> Path | None:
    """The book's data file that `path` names: the file itself (gzipped, or a pickle of protocol
    2 or later, whatever its name), or mnist.pkl.gz in a directory that has no IDX training images."""
    from shared.book_pickle import FILE_NAME, looks_like_pickle

    if path.is_file():
        if looks_like_pickle(path):
            return path
        raise DataError(path, "is not a directory (nor a gzipped pickle such as Nielsen's mnist.pkl.gz)")
    stem = FILE_STEMS["train_images"]
    if path.is_dir() and not any((path / name).exists() for name in (f"{stem}.gz", stem)) and (path / FILE_NAME).exists():
        return path / FILE_NAME
    return None


def load_book_dataset(path: Path, expect: str | None, splits: tuple[str, ...]) -> Dataset:
    from shared.book_pickle import load_book_pickle

    book = load_book_pickle(path)
    arrays, md5 = book["arrays"], book["md5"]
    if expect is not None and any(md5[key] != KNOWN_CHECKSUMS[expect][key] for key in arrays):
        raise DataError(path, f"checksum mismatch: its arrays are not {expect}'s")
    known = [name for name, sums in KNOWN_CHECKSUMS.items() if all(sums[key] == md5[key] for key in arrays)]
    if "train" not in splits:  # a command that only evaluates: as load_dataset gives it
        arrays = arrays | {"train_images": arrays["train_images"][:0], "train_labels": arrays["train_labels"][:0]}
    return Dataset(name=known[0] if known else path.name.split(".")[0], verified=bool(known), directory=path,
                   held_out=book["held_out"] if "train" in splits else 0, **arrays)


def scale_pixels(images: np.ndarray, dtype: str | np.dtype = "float64") -> np.ndarray:
    """uint8 images (count, rows, cols) -> rows of floats in [0, 1], shape (count, rows*cols).

    Dividing by 255 is the only input normalization in this project. (The 0.1307 and
    0.3081 seen in PyTorch examples are the mean and standard deviation of MNIST's
    training pixels after this scaling; this project does not standardize further.)
    """
    flat = images.reshape(len(images), -1)
    return flat.astype(dtype) / np.asarray(255, dtype=dtype)


def batch_order(count: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled order of training examples for one epoch.

    Seeded by (seed, epoch) rather than by a generator carried across epochs, so every
    implementation, and a run resumed at epoch 5, sees exactly the same batches.
    """
    return np.random.default_rng([seed, epoch]).permutation(count)


def minibatches(count: int, batch_size: int, seed: int, epoch: int) -> Iterator[np.ndarray]:
    """Index arrays of the epoch's mini-batches; the last one is smaller when
    batch_size does not divide count (no example is dropped)."""
    order = batch_order(count, seed, epoch)
    for start in range(0, count, batch_size):
        yield order[start : start + batch_size]

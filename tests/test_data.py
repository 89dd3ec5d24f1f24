"""The loader against the facts of ../shared/datasets/mnist/README.md, and every bad-data case."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from conftest import idx_bytes, write_dataset
from shared.data import DEFAULT_DATA_DIR, FILE_STEMS, batch_order, load_dataset, minibatches, scale_pixels
from shared.idx import DataError


# -- the bundled MNIST -----------------------------------------------------------------
def test_mnist_shapes_types_and_verification(mnist):
    assert mnist.name == "mnist" and mnist.verified
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28) and mnist.test_images.dtype == np.uint8
    assert mnist.train_labels.shape == (60000,) and mnist.test_labels.shape == (10000,)
    assert mnist.input_size == 784 and mnist.num_classes == 10


def test_mnist_first_labels(mnist):
    assert mnist.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_mnist_label_counts(mnist):
    assert np.bincount(mnist.train_labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(mnist.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_scaled_training_pixels_have_the_known_mean_and_std(mnist):
    pixels = scale_pixels(mnist.train_images)
    assert pixels.shape == (60000, 784) and pixels.dtype == np.float64
    assert pixels.min() == 0.0 and pixels.max() == 1.0
    assert round(float(pixels.mean()), 4) == 0.1307
    assert round(float(pixels.std()), 4) == 0.3081


def test_scaling_in_float32(mnist):
    pixels = scale_pixels(mnist.test_images[:5], "float32")
    assert pixels.dtype == np.float32
    np.testing.assert_allclose(pixels, mnist.test_images[:5].reshape(5, -1) / 255.0, rtol=1e-6)


def test_default_data_dir_does_not_depend_on_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert DEFAULT_DATA_DIR.is_absolute()
    assert load_dataset().name == "mnist"


# -- other datasets --------------------------------------------------------------------
def test_any_directory_with_the_four_files_loads(tiny_dataset_dir):
    dataset = load_dataset(tiny_dataset_dir)
    assert dataset.num_classes == 3 and dataset.input_size == 16
    assert not dataset.verified and dataset.name == "tiny"
    assert len(dataset.train_labels) == 20 and len(dataset.test_labels) == 10


def test_uncompressed_files_load_the_same(tmp_path):
    gz = load_dataset(write_dataset(tmp_path / "gz", gz=True))
    raw = load_dataset(write_dataset(tmp_path / "raw", gz=False))
    np.testing.assert_array_equal(gz.train_images, raw.train_images)
    np.testing.assert_array_equal(gz.test_labels, raw.test_labels)


def test_limit_takes_the_first_examples(mnist):
    small = mnist.limit(100, 50)
    assert len(small.train_images) == 100 and len(small.test_labels) == 50
    assert small.train_labels[:3].tolist() == [5, 0, 4]


# -- bad data: one error, naming the file and the problem -------------------------------
def rewrite(directory, key, content: bytes):
    path = directory / f"{FILE_STEMS[key]}.gz"
    path.write_bytes(gzip.compress(content))
    return path


def assert_data_error(directory, file_stem, *words):
    with pytest.raises(DataError) as caught:
        load_dataset(directory)
    message = str(caught.value)
    assert "\n" not in message
    assert file_stem in message, message
    for word in words:
        assert word in message, message


def test_missing_file(tiny_dataset_dir):
    (tiny_dataset_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    assert_data_error(tiny_dataset_dir, "t10k-labels-idx1-ubyte", "not found")


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="data directory not found"):
        load_dataset(tmp_path / "nowhere")


def test_wrong_magic(tiny_dataset_dir):
    content = bytearray(idx_bytes(np.zeros((20, 4, 4))))
    content[3] = 0x01  # now claims 1 dimension: labels' magic in an image file
    rewrite(tiny_dataset_dir, "train_images", bytes(content))
    assert_data_error(tiny_dataset_dir, "train-images-idx3-ubyte", "wrong magic number 2049", "2051")


def test_labels_and_images_swapped(tiny_dataset_dir):
    rewrite(tiny_dataset_dir, "train_labels", idx_bytes(np.zeros((20, 4, 4))))
    assert_data_error(tiny_dataset_dir, "train-labels-idx1-ubyte", "wrong magic number 2051")


def test_truncated_content(tiny_dataset_dir):
    rewrite(tiny_dataset_dir, "test_images", idx_bytes(np.zeros((10, 4, 4)))[:-7])
    assert_data_error(tiny_dataset_dir, "t10k-images-idx3-ubyte", "truncated", "4x4")


def test_trailing_bytes(tiny_dataset_dir):
    rewrite(tiny_dataset_dir, "test_labels", idx_bytes(np.zeros(10)) + b"\x00")
    assert_data_error(tiny_dataset_dir, "t10k-labels-idx1-ubyte", "trailing bytes")


def test_truncated_gzip(tiny_dataset_dir):
    path = tiny_dataset_dir / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])  # a half-finished download
    assert_data_error(tiny_dataset_dir, "train-images-idx3-ubyte", "corrupt gzip", "truncated")


def test_header_too_short(tiny_dataset_dir):
    rewrite(tiny_dataset_dir, "train_labels", b"\x00\x00")
    assert_data_error(tiny_dataset_dir, "train-labels-idx1-ubyte", "too short")


def test_count_mismatch(tiny_dataset_dir):
    rewrite(tiny_dataset_dir, "train_labels", idx_bytes(np.zeros(19)))
    assert_data_error(tiny_dataset_dir, "train-labels-idx1-ubyte", "19 labels for 20 images")


def test_image_sizes_differ_between_train_and_test(tiny_dataset_dir):
    rewrite(tiny_dataset_dir, "test_images", idx_bytes(np.zeros((10, 5, 5))))
    assert_data_error(tiny_dataset_dir, "t10k-images-idx3-ubyte", "5x5", "4x4")


def test_checksum_mismatch_on_mnist(tmp_path):
    directory = tmp_path / "mnist"
    shutil.copytree(DEFAULT_DATA_DIR, directory)
    labels = gzip.decompress((directory / "t10k-labels-idx1-ubyte.gz").read_bytes())
    flipped = labels[:-1] + bytes([(labels[-1] + 1) % 10])  # one label changed, sizes intact
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(flipped))
    with pytest.raises(DataError) as caught:
        load_dataset(directory, expect="mnist")
    assert "t10k-labels-idx1-ubyte" in str(caught.value)
    assert "checksum mismatch" in str(caught.value) and "27ae3e4e09519cfbb04c329615203637" in str(caught.value)
    # Without an expectation the same files load, marked unverified.
    assert not load_dataset(directory).verified


def test_a_copy_of_mnist_elsewhere_is_recognised_by_its_checksums(tmp_path):
    directory = tmp_path / "copy"
    shutil.copytree(DEFAULT_DATA_DIR, directory)
    dataset = load_dataset(directory)
    assert dataset.verified and dataset.name == "mnist"


# -- batches ---------------------------------------------------------------------------
def test_batch_order_is_a_seeded_permutation():
    order = batch_order(1000, seed=3, epoch=1)
    assert sorted(order.tolist()) == list(range(1000))
    np.testing.assert_array_equal(order, batch_order(1000, seed=3, epoch=1))
    assert not np.array_equal(order, batch_order(1000, seed=4, epoch=1))
    assert not np.array_equal(order, batch_order(1000, seed=3, epoch=2))


def test_minibatches_cover_every_example_once_and_keep_the_remainder():
    batches = list(minibatches(103, 10, seed=0, epoch=1))
    assert [len(b) for b in batches] == [10] * 10 + [3]
    assert sorted(np.concatenate(batches).tolist()) == list(range(103))


# -- issue 9: hostile data files --------------------------------------------------------------------
def test_a_gzip_bomb_declaring_gigabytes_is_refused_unread(tiny_dataset_dir):
    """A header declaring 10 million 28x28 images (7.8 GB): refused from its first bytes."""
    import struct
    import time

    header = struct.pack(">IIII", 2051, 10_000_000, 28, 28)
    (tiny_dataset_dir / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + bytes(1 << 20)))
    start = time.monotonic()
    assert_data_error(tiny_dataset_dir, "train-images-idx3-ubyte", "declares 7,840,000,016 bytes", "gzip bomb")
    assert time.monotonic() - start < 5


def test_a_gzip_bomb_behind_a_small_header_inflates_no_further_than_declared(tiny_dataset_dir):
    """10 labels declared, 300 MB of zeros after them (300 KB compressed): stopped at byte 19."""
    import tracemalloc
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(idx_bytes(np.zeros(10)))]
    block = bytes(1 << 20)
    parts += [compressor.compress(block) for _ in range(300)]
    parts.append(compressor.flush())
    (tiny_dataset_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(b"".join(parts))
    tracemalloc.start()
    assert_data_error(tiny_dataset_dir, "t10k-labels-idx1-ubyte", "trailing bytes")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 30_000_000, peak


@pytest.mark.parametrize("kind,words", [("fifo", "is a FIFO (named pipe), not a file"),
                                        ("directory", "is a directory, not a file"),
                                        ("device", "is a character device, not a file")])
def test_a_fifo_directory_or_device_is_named_as_such(tiny_dataset_dir, kind, words):
    import os

    path = tiny_dataset_dir / "train-images-idx3-ubyte.gz"
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)  # opening it would block for ever
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")  # reading it would never end
    assert_data_error(tiny_dataset_dir, "train-images-idx3-ubyte.gz", words)


def test_a_data_dir_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is not a directory"):
        load_dataset(tmp_path / "file")


@pytest.mark.parametrize("label,split,index", [(255, "train", 7), (10, "test", 3)])
def test_a_stray_label_is_bad_data_named_by_file_and_position(tmp_path, label, split, index):
    """A 255 or a 10 among labels 0-9 used to exit 2 blaming --sizes; it is a damaged file."""
    from click.testing import CliRunner

    from compare.cli import main

    directory = write_dataset(tmp_path / "d", train_count=200, test_count=100, classes=10)
    key = f"{split}_labels"
    labels = np.arange(200 if split == "train" else 100) % 10
    labels[index] = label
    path = rewrite(directory, key, idx_bytes(labels))
    result = CliRunner().invoke(main, ["run", "--impl", "numpy", "--data-dir", str(directory), "--sizes", "16,5,10"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        f"Error: {path}: label {label} at index {index} is not one of the classes 0-9 that 299 of the 300 labels use: "
        "the file is damaged"]
    # Many labels beyond the outputs: the network is too small, a usage error as before.
    too_small = CliRunner().invoke(main, ["run", "--impl", "numpy", "--data-dir", str(directory), "--sizes", "16,5,3"])
    assert too_small.exit_code == 2 and "--sizes" in too_small.output

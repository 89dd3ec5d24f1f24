"""Nielsen's mnist.pkl.gz: read in its own format (made here from the bundled MNIST, as the real
file cannot be downloaded), and hostile pickles refused with one line, nothing in them run."""

from __future__ import annotations

import gzip
import pickle
import pickletools

import numpy as np
import pytest
from click.testing import CliRunner

from book_pickle_file import Python2Pickler, book_pickle_bytes, hostile_pickles, write_book_pickle
from compare.cli import main
from shared.data import load_dataset
from shared.idx import DataError

SMALL = dict(train=300, validation=100, test=200)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory, mnist):
    return write_book_pickle(tmp_path_factory.mktemp("book") / "mnist.pkl.gz", mnist, **SMALL)


def test_the_file_is_in_the_books_format(mnist):
    """What Python 2's cPickle wrote: protocol 2, NumPy 1's reconstructor, the arrays' bytes as
    Python 2 strings (no _codecs call, which a Python 3 pickle of bytes would need), and what the
    book's Python 3 ports do with it (encoding="latin1") gives the book's arrays."""
    content = book_pickle_bytes(mnist, **SMALL)
    opcodes = [(op.name, arg) for op, arg, _ in pickletools.genops(content)]
    assert opcodes[0] == ("PROTO", 2)
    globals_named = {arg for name, arg in opcodes if name == "GLOBAL"}
    assert globals_named == {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}
    assert {name for name, _ in opcodes} >= {"BINSTRING", "SHORT_BINSTRING"}
    (train, validation, test) = pickle.loads(content, encoding="latin1")
    assert train[0].dtype == np.float32 and train[0].shape == (300, 784) and train[1].dtype == np.int64
    assert validation[0].shape == (100, 784) and test[1].shape == (200,)
    assert train[0].max() == np.float32(255 / 256)  # the book's pixels: bytes / 256
    np.testing.assert_array_equal(train[0][0] * 256, mnist.train_images[0].reshape(-1))


def test_it_loads_as_training_validation_and_test(small_file, mnist):
    for given in (small_file, small_file.parent):  # the file, or a directory holding it
        data = load_dataset(given)
        assert data.held_out == 100 and len(data.train_labels) == 400 and len(data.test_labels) == 200
        np.testing.assert_array_equal(data.train_images, mnist.train_images[:400])  # the bytes back, exactly
        np.testing.assert_array_equal(data.train_labels, mnist.train_labels[:400])
        np.testing.assert_array_equal(data.test_images, mnist.test_images[:200])
        assert data.train_images.dtype == np.uint8 and data.directory == small_file
        assert not data.verified and data.name == "mnist"  # named after the file: not all of MNIST


def test_the_whole_file_is_recognized_as_mnist(tmp_path, mnist):
    """The book's 50,000 + 10,000 training images are MNIST's 60,000 in order: the checksums match."""
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(book_pickle_bytes(mnist), compresslevel=1))
    data = load_dataset(path)
    assert data.verified and data.name == "mnist" and data.held_out == 10_000
    assert len(data.train_labels) == 60_000 and len(data.test_labels) == 10_000


def test_pixels_divided_by_255_are_read_too(tmp_path, mnist):
    path = write_book_pickle(tmp_path / "x.pkl.gz", mnist, train=50, validation=10, test=20, scale=255)
    np.testing.assert_array_equal(load_dataset(path).train_images, mnist.train_images[:60])


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "builtins.exec (protocol 4)", "subprocess.call",
                                  "posix.system by INST", "os.system inside the pairs"])
@pytest.mark.parametrize("gzipped", [True, False])
def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, name, gzipped):
    marker = tmp_path / "ran"
    content = hostile_pickles(marker)[name]
    try:  # the same bytes, loaded by pickle itself, do run: they are real attacks
        pickle.loads(content)
    except Exception:
        pass
    assert marker.exists()
    marker.unlink()
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(content) if gzipped else content)
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--impl", "numpy", "--data-dir", str(path), "-q"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    if name == "posix.system by INST" and not gzipped:  # protocol 0 does not start as a pickle of protocol 2 does
        assert lines == [f"Error: {path}: is not a directory (nor a gzipped pickle such as Nielsen's mnist.pkl.gz)"]
    else:
        assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: refused: it asks for "), lines
        assert "nothing in it was run" in lines[0]
    assert not marker.exists()


def wrong(tmp_path, data) -> str:
    path = tmp_path / "bad.pkl.gz"
    buffer = __import__("io").BytesIO()
    Python2Pickler(buffer, protocol=2).dump(data)
    path.write_bytes(gzip.compress(buffer.getvalue()))
    with pytest.raises(DataError) as error:
        load_dataset(path)
    return str(error.value)


def test_what_is_not_the_books_data_is_one_line_naming_the_problem(tmp_path):
    images, labels = np.zeros((4, 784), np.float32), np.zeros(4, np.int64)
    assert "expected a tuple of three (images, labels) pairs" in wrong(tmp_path, ((images, labels),) * 2)
    assert "the validation set is not an (images, labels) pair" in wrong(tmp_path, ((images, labels), (images,), (images, labels)))
    assert "not rows of square images" in wrong(tmp_path, ((np.zeros((4, 780), np.float32), labels),) * 3)
    assert "labels are" in wrong(tmp_path, ((images, np.zeros(3, np.int64)),) * 3)
    assert "not whole steps of 1/256 or 1/255" in wrong(tmp_path, ((images + 0.3, labels),) * 3)
    assert "not pixels in [0, 1]" in wrong(tmp_path, ((images + 2, labels),) * 3)
    assert "outside 0..255" in wrong(tmp_path, ((images, labels - 1),) * 3)
    assert "not a number type" in wrong(tmp_path, ((images, labels), (images, labels), (np.zeros((4, 784), object), labels)))


def test_a_damaged_file_is_one_line(tmp_path, small_file):
    cut = tmp_path / "cut.pkl.gz"
    cut.write_bytes(small_file.read_bytes()[:5000])
    with pytest.raises(DataError, match="corrupt gzip data|not a readable pickle"):
        load_dataset(cut)


def test_compare_run_trains_on_the_books_file_with_its_validation_set(small_file):
    result = CliRunner().invoke(main, ["run", "--impl", "numpy", "--data-dir", str(small_file), "--epochs", "2",
                                       "--reports-dir", str(small_file.parent / "reports"), "--name", "book"])
    assert result.exit_code == 0, result.output
    assert "300 training, 100 validation and 200 test images" in result.output
    assert "validation loss" in result.output

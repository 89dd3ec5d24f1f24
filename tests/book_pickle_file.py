"""Files of the format of Nielsen's mnist.pkl.gz, made from the bundled MNIST (the real file cannot
be downloaded here), and hostile pickles that would run code when loaded.

The real file is a gzip of a Python 2 pickle, protocol 2, of a tuple of three (images, labels)
pairs (training 50,000, validation 10,000, test 10,000): images float32 (n, 784) holding MNIST's
bytes divided by 256, labels int64 (n,). Python 2 wrote the arrays' raw bytes and the dtype codes
as `str` (BINSTRING opcodes) and named the reconstructor numpy.core.multiarray._reconstruct;
Python2Pickler writes the same opcodes.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
from pathlib import Path

import numpy as np


class Python2Pickler(pickle._Pickler):
    """Protocol 2 as Python 2's cPickle wrote it: bytes and text as Python 2 str, NumPy 1's names."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str
    dispatch[str] = save_python2_str

    def save_global(self, obj, name=None):
        module = {"numpy._core.multiarray": "numpy.core.multiarray"}.get(obj.__module__, obj.__module__)
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode("ascii"))
        self.memoize(obj)


def book_pickle_bytes(dataset, train=50_000, validation=10_000, test=10_000, scale=256) -> bytes:
    """The uncompressed pickle of the book's three pairs, cut from `dataset` (shared.data.Dataset)."""
    def images(array):
        return (array.reshape(len(array), -1).astype(np.float32) / np.float32(scale)).astype(np.float32)

    x, y = dataset.train_images, dataset.train_labels.astype(np.int64)
    data = (
        (images(x[:train]), y[:train]),
        (images(x[train:train + validation]), y[train:train + validation]),
        (images(dataset.test_images[:test]), dataset.test_labels[:test].astype(np.int64)),
    )
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(data)
    return buffer.getvalue()


def write_book_pickle(path: Path, dataset, **sizes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(book_pickle_bytes(dataset, **sizes)))
    return path


def hostile_pickles(marker: Path) -> dict[str, bytes]:
    """Pickles that, loaded with pickle.load, would create `marker` (each in its own way)."""
    command = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"

    class Reduce:
        def __init__(self, function, args):
            self.function, self.args = function, args

        def __reduce__(self):
            return self.function, self.args

    import builtins
    import os
    import subprocess

    plain = {
        "os.system": pickle.dumps(Reduce(os.system, (command,)), protocol=2),
        "builtins.eval": pickle.dumps(Reduce(builtins.eval, (code,)), protocol=2),
        "builtins.exec (protocol 4)": pickle.dumps(Reduce(builtins.exec, (code,)), protocol=4),
        "subprocess.call": pickle.dumps(Reduce(subprocess.call, (["touch", str(marker)],)), protocol=2),
    }
    # Protocol 0's INST opcode, and a call hidden inside the book's own tuple of pairs.
    plain["posix.system by INST"] = b"(S'" + command.encode() + b"'\nios\nsystem\np0\n."
    inner = pickle.dumps((Reduce(os.system, (command,)), None), protocol=2)
    plain["os.system inside the pairs"] = inner
    return plain

"""Shared fixtures: the bundled MNIST (loaded once) and a writer of small IDX files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from shared.data import FILE_STEMS, load_dataset


def available_impls() -> list[str]:
    """Every registered implementation that can run here (torch only where it is installed),
    so the tests that do not need torch still run without it."""
    from impls import IMPLEMENTATIONS

    try:
        import torch  # noqa: F401
    except ImportError:
        return [impl.name for impl in IMPLEMENTATIONS if not impl.uses_torch]
    return [impl.name for impl in IMPLEMENTATIONS]


@pytest.fixture(scope="session")
def mnist():
    return load_dataset()


@pytest.fixture
def learner(tmp_path):
    """A learner's file, ex/my_mlp.py: the exercise's numpy solution (class MyMLP, name my_mlp)."""
    from exercise_fills import solution

    path = tmp_path / "ex" / "my_mlp.py"
    path.parent.mkdir()
    path.write_text(solution("numpy"))
    return path


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file's bytes for a uint8 array: magic 0x0000 08 ndim, dims, values."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_dataset(directory: Path, train_count=20, test_count=10, classes=3, side=4, gz=True, seed=0) -> Path:
    """A small valid dataset of four IDX files: random images, labels 0..classes-1."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (train_count, side, side)),
        "train_labels": np.arange(train_count) % classes,
        "test_images": rng.integers(0, 256, (test_count, side, side)),
        "test_labels": np.arange(test_count) % classes,
    }
    for key, array in arrays.items():
        content = idx_bytes(array)
        if gz:
            (directory / f"{FILE_STEMS[key]}.gz").write_bytes(gzip.compress(content))
        else:
            (directory / FILE_STEMS[key]).write_bytes(content)
    return directory


@pytest.fixture
def tiny_dataset_dir(tmp_path) -> Path:
    return write_dataset(tmp_path / "tiny")


def one_error_line(result, exit_code, *words):
    """A command's result (click's CliRunner) that failed with `exit_code` and one `Error:` line
    holding each of `words`, and no traceback: that line."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]

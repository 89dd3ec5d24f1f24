"""Checkpoints: a trained model as a file any implementation can load.

The file is a NumPy .npz (a zip of .npy arrays): W1, b1, W2, b2, ... in the neutral
format and one string array `metadata` holding JSON (config, implementation, epoch,
seed, accuracy). It is read with allow_pickle=False, so loading a file can never run
code, unlike the pickles many tutorials save. Written atomically.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from shared.atomic import atomic_write_bytes
from shared.config import Config, ConfigError
from shared.params import Params, check_params

FORMAT = "mnist-three-ways checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint; the message names it and says why."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class Checkpoint:
    params: Params
    config: Config
    impl: str  # the implementation that trained it
    epoch: int  # epochs completed
    test_accuracy: float | None
    created: str = ""


def save_checkpoint(path: Path | str, checkpoint: Checkpoint) -> None:
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "config": checkpoint.config.to_dict(),
        "impl": checkpoint.impl,
        "epoch": checkpoint.epoch,
        "seed": checkpoint.config.seed,
        "test_accuracy": checkpoint.test_accuracy,
        "created": checkpoint.created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    arrays = {"metadata": np.array(json.dumps(metadata))}
    for index, (W, b) in enumerate(checkpoint.params, start=1):
        arrays[f"W{index}"], arrays[f"b{index}"] = W, b
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path | str) -> Checkpoint:
    """Read and check a checkpoint; any problem is a CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "file not found")
    if not zipfile.is_zipfile(path):  # an .npz is a zip file; a cut-off one has lost its index
        raise CheckpointError(path, "not a checkpoint (.npz) or truncated")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError) as error:
        raise CheckpointError(path, f"not a checkpoint (.npz) or truncated ({error})") from None
    except ValueError:  # numpy refuses object arrays: unpickling them could run code
        raise CheckpointError(path, "not a checkpoint: it holds pickled objects, which are never loaded") from None
    except OSError as error:
        raise CheckpointError(path, f"cannot read: {error}") from None

    if "metadata" not in arrays or arrays["metadata"].dtype.kind != "U":
        raise CheckpointError(path, "not a checkpoint of this project (no metadata)")
    try:
        metadata = json.loads(str(arrays["metadata"]))
    except json.JSONDecodeError:
        raise CheckpointError(path, "its metadata is not valid JSON") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CheckpointError(path, "not a checkpoint of this project")
    if metadata.get("version") != VERSION:
        raise CheckpointError(path, f"checkpoint version {metadata.get('version')!r}; this version reads {VERSION}")
    try:
        raw = metadata["config"]
        config = Config(**{key: tuple(value) if key == "sizes" else value for key, value in raw.items()})
    except (ConfigError, TypeError, KeyError) as error:
        raise CheckpointError(path, f"its config is invalid: {error}") from None

    layers = len(config.sizes) - 1
    missing = [f"{p}{i}" for i in range(1, layers + 1) for p in "Wb" if f"{p}{i}" not in arrays]
    if missing:
        raise CheckpointError(path, f"missing {', '.join(missing)} for layer sizes {config.sizes}")
    params = [(arrays[f"W{i}"].astype(np.float64), arrays[f"b{i}"].astype(np.float64)) for i in range(1, layers + 1)]
    try:
        check_params(params, config.sizes)
    except ValueError as error:
        raise CheckpointError(path, str(error)) from None
    epoch = metadata.get("epoch")
    if not isinstance(epoch, int) or epoch < 0:
        raise CheckpointError(path, f"epoch must be a non-negative integer; got {epoch!r}")
    return Checkpoint(params=params, config=config, impl=str(metadata.get("impl", "?")), epoch=epoch,
                      test_accuracy=metadata.get("test_accuracy"), created=str(metadata.get("created", "")))

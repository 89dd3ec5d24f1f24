"""Checkpoints: a trained model as a file any implementation can load.

The file is a NumPy .npz (a zip of .npy arrays): W1, b1, W2, b2, ... in the neutral
format and one string array `metadata` holding JSON (config, implementation, epoch,
seed, accuracy, and `history`: one record per completed epoch, oldest first, each
{"epoch", "train_loss", "test_loss", "test_accuracy", "train_seconds", "eval_seconds",
"train_samples", "loss_curve": [[epochs elapsed, loss], ...]}, so that a resumed run draws
its whole learning curve; absent in checkpoints from before it, which read as no history). It is read with allow_pickle=False, so loading a file can never run
code, unlike the pickles many tutorials save. Written atomically.
"""

from __future__ import annotations

import io
import json
import math
import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from shared.atomic import atomic_write_bytes
from shared.config import Config, ConfigError
from shared.params import Params, check_params, parameter_count
from shared.resources import available_memory

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
    history: tuple[dict, ...] = ()  # the completed epochs' records (EPOCH_FIELDS), oldest first


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
        "history": [dict(record) for record in checkpoint.history],
    }
    arrays = {"metadata": np.array(json.dumps(metadata))}
    for index, (W, b) in enumerate(checkpoint.params, start=1):
        arrays[f"W{index}"], arrays[f"b{index}"] = W, b
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


MAX_METADATA_BYTES = 1 << 20  # the JSON of a real checkpoint is under 1 KiB, and 2 KiB an epoch of history
EPOCH_FIELDS = ("epoch", "train_loss", "test_loss", "test_accuracy", "train_seconds", "eval_seconds", "train_samples",
                "loss_curve")
# The book's protocol (a validation set, L2, the halving schedule): null when a run does not use it, and then
# the test set is evaluated after the last epoch only (test_loss and test_accuracy null before it).
MORE_EPOCH_FIELDS = ("validation_loss", "validation_accuracy", "lr", "weight_penalty")
MAX_EPOCH = 10**6
FLOAT_DTYPES = ("float16", "float32", "float64")


def read_member(archive: zipfile.ZipFile, path: Path, name: str, check=None) -> np.ndarray | None:
    """The array stored as `name`.npy, read without pickles and without trusting sizes: its
    .npy header first, which `check(shape, dtype)` may refuse, then exactly the data that header
    needs, after comparing it with the size the zip declares. (numpy's own np.load inflates every
    member, used or not, and calls a short one "pickled objects".)"""
    try:
        info = archive.getinfo(f"{name}.npy")
    except KeyError:
        return None
    try:
        with archive.open(info) as member:
            try:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
            except tokenize.TokenError:  # a header cut off inside a bracket or a string stops numpy's tokenizer
                raise CheckpointError(path, f"{name} is not a NumPy array (its header is cut off)") from None
            except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError) as error:
                raise CheckpointError(path, f"{name} is not a NumPy array ({shorten(str(error), 200)})") from None
            if dtype.hasobject:  # unpickling it could run code
                raise CheckpointError(path, "not a checkpoint: it holds pickled objects, which are never loaded")
            if check is not None:
                check(shape, dtype)
            count = math.prod(shape)
            needed = count * dtype.itemsize
            header = member.tell() if member.seekable() else 0
            if info.file_size > header + needed + 4096:
                raise CheckpointError(path, f"{name} declares {info.file_size:,} bytes, more than the {needed:,} "
                                            f"its header needs")
            body = member.read(needed)
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise CheckpointError(path, f"{name} is corrupt or truncated ({error})") from None
    if len(body) < needed:
        raise CheckpointError(path, f"{name} is truncated: its header says {needed:,} bytes of data, "
                                    f"there are {len(body):,}")
    return np.frombuffer(body, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")


def read_metadata(archive: zipfile.ZipFile, path: Path, format_name: str, version: int, kind: str,
                  error=CheckpointError) -> dict:
    """The JSON object stored as the string member `metadata` of this project's .npz files,
    checked to be of `format_name` and `version`."""
    def check(shape, dtype):
        if dtype.kind != "U" or shape != () or dtype.itemsize > MAX_METADATA_BYTES:
            raise error(path, f"not a {kind} of this project (no metadata)")

    raw = read_member(archive, path, "metadata", check)
    if raw is None:
        raise error(path, f"not a {kind} of this project (no metadata)")
    try:
        metadata = json.loads(str(raw))
    except RecursionError:
        raise error(path, f"its metadata is nested too deeply to be a {kind}'s") from None
    except ValueError:  # not JSON, or a number too long for Python's int conversion
        raise error(path, "its metadata is not valid JSON") from None
    if not isinstance(metadata, dict) or metadata.get("format") != format_name:
        raise error(path, f"not a {kind} of this project")
    if metadata.get("version") != version:
        raise error(path, f"{kind} version {shorten(metadata.get('version'))}; this version reads {version}")
    return metadata


def weights_check(path: Path, name: str, expected: tuple[int, ...]):
    """A weight member must be float16/32/64 of the layer's shape: refused before its data is read."""
    def check(shape, dtype):
        if dtype.name not in FLOAT_DTYPES:
            raise CheckpointError(path, f"{name} holds {dtype} values; a checkpoint's weights are "
                                        f"float16, float32 or float64")
        if tuple(shape) != expected:
            raise CheckpointError(path, f"layer {name[1:]}: {name[0]} has shape {tuple(shape)}, expected {expected}")
    return check


def load_checkpoint(path: Path | str) -> Checkpoint:
    """Read and check a checkpoint; any problem is a CheckpointError naming the file."""
    return read_npz(path, read_checkpoint, "checkpoint")


def read_npz(path: Path | str, read, kind: str, error=CheckpointError):
    """read(archive, path) on the .npz file at `path` (this project's checkpoint or history);
    every problem, the member reader's included, is an `error` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise error(path, "file not found" if not path.exists() else "not a file")
    try:
        with zipfile.ZipFile(path) as archive:
            return read(archive, path)
    except CheckpointError as problem:  # read_member's refusals, said as this kind of file's
        if isinstance(problem, error):
            raise
        raise error(path, str(problem).removeprefix(f"{path}: ")) from None
    except (zipfile.BadZipFile, EOFError, zlib.error) as problem:  # a cut-off .npz has lost its zip index
        raise error(path, f"not a {kind} (.npz) or truncated ({problem})") from None
    except OSError as problem:
        raise error(path, f"cannot read: {problem.strerror or problem}") from None


def read_checkpoint(archive: zipfile.ZipFile, path: Path) -> Checkpoint:
    metadata = read_metadata(archive, path, FORMAT, VERSION, "checkpoint")
    config = read_config(metadata.get("config"), path)
    epoch = metadata.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= MAX_EPOCH:
        raise CheckpointError(path, f"epoch must be a whole number from 0 to {MAX_EPOCH:,}; got {shorten(epoch)}")
    accuracy = metadata.get("test_accuracy")
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(accuracy, (int, float))
                                 or not 0 <= accuracy <= 1):
        raise CheckpointError(path, f"test_accuracy must be a fraction from 0 to 1; got {shorten(accuracy)}")

    needed = 8 * parameter_count(config.sizes)
    available = available_memory()
    if available is not None and 2 * needed > available:  # the file's data and the float64 copy
        raise CheckpointError(path, f"its layer sizes {'-'.join(map(str, config.sizes))} need {needed / 2**30:,.1f} GiB "
                                    f"of parameters, more than this machine's memory allows")
    params, missing = [], []
    for index, (n_in, n_out) in enumerate(zip(config.sizes[:-1], config.sizes[1:]), start=1):
        layer = []
        for name, shape in ((f"W{index}", (n_out, n_in)), (f"b{index}", (n_out,))):
            array = read_member(archive, path, name, weights_check(path, name, shape))
            if array is None:
                missing.append(name)
                continue
            layer.append(array.astype(np.float64))
        params.append(tuple(layer))
    if missing:
        raise CheckpointError(path, f"missing {', '.join(missing)} for layer sizes {config.sizes}")
    try:
        check_params(params, config.sizes)
    except ValueError as error:
        raise CheckpointError(path, str(error)) from None
    return Checkpoint(params=params, config=config, impl=str(metadata.get("impl", "?"))[:100], epoch=epoch,
                      test_accuracy=accuracy, created=str(metadata.get("created", ""))[:100],
                      history=read_epoch_history(metadata.get("history", []), epoch, path))


def read_epoch_history(raw, epoch: int, path: Path) -> tuple[dict, ...]:
    """The checkpoint's per-epoch records, checked: numbered in order up to its epoch, every
    number finite and of its kind."""
    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    if not isinstance(raw, list) or len(raw) > epoch:
        raise CheckpointError(path, f"its history must be a list of at most {epoch} epochs; got {shorten(raw)}")
    records = []
    for index, record in enumerate(raw):
        where = f"its history's record {index}"
        if not isinstance(record, dict) or not set(EPOCH_FIELDS) <= set(record) <= set(EPOCH_FIELDS + MORE_EPOCH_FIELDS):
            raise CheckpointError(path, f"{where} must hold {', '.join(EPOCH_FIELDS)} (and may hold "
                                        f"{', '.join(MORE_EPOCH_FIELDS)})")
        curve = record["loss_curve"]
        if not (isinstance(curve, list) and len(curve) <= 10_000
                and all(isinstance(p, list) and len(p) == 2 and all(map(number, p)) for p in curve)):
            raise CheckpointError(path, f"{where}: loss_curve must be a list of [epochs, loss] pairs")
        untested = record.get("validation_accuracy") is not None  # a validation run tests only after its last epoch
        if not all(number(record[key]) or (untested and key in ("test_loss", "test_accuracy") and record[key] is None)
                   for key in EPOCH_FIELDS if key != "loss_curve") or \
                not all(record[key] is None or number(record[key]) for key in MORE_EPOCH_FIELDS if key in record):
            raise CheckpointError(path, f"{where} holds a value that is not a finite number")
        if not isinstance(record["epoch"], int) or not 0 < record["epoch"] <= epoch or \
                (records and record["epoch"] <= records[-1]["epoch"]):
            raise CheckpointError(path, f"{where} is of epoch {shorten(record['epoch'])}: epochs must be numbered "
                                        f"in order, up to {epoch}")
        for key in ("test_accuracy", "validation_accuracy"):
            if record.get(key) is not None and not 0 <= record[key] <= 1:
                raise CheckpointError(path, f"{where}: {key} must be a fraction from 0 to 1")
        records.append(record)
    return tuple(records)


def read_config(raw, path: Path) -> Config:
    if not isinstance(raw, dict):
        raise CheckpointError(path, f"its config is invalid: expected an object, got {shorten(raw)}")
    unknown = [key for key in raw if key not in Config.__dataclass_fields__]
    if unknown:
        raise CheckpointError(path, f"its config is invalid: unknown field {shorten(unknown[0])}")
    sizes = raw.get("sizes")
    if not isinstance(sizes, list):
        raise CheckpointError(path, f"its config is invalid: sizes must be a list of layer sizes; got {shorten(sizes)}")
    try:
        return Config(**{key: tuple(value) if key == "sizes" else value for key, value in raw.items()})
    except (ConfigError, TypeError, ValueError) as error:
        raise CheckpointError(path, f"its config is invalid: {shorten(str(error), 200)}") from None


def shorten(value, limit: int = 60) -> str:
    text = value if isinstance(value, str) and limit > 60 else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

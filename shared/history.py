"""A run's training history: the network as it was at chosen steps of its training.

What a learner scrubs through on the page ("random start" to "trained") and what a report
draws of how training went: the parameters at step 0 (the initialization), at roughly
log-spaced steps through the first epoch (most of the change happens early: steps 1, 2, 5,
10, 20, 50, ...), and at the end of every epoch, each with the test accuracy and loss of the
network as it was then.

Kept beside a run's results.json as `history.npz`, a NumPy .npz read with allow_pickle off
(no pickle can ever run), in the neutral parameter format stacked over the snapshots:

    steps          int64   (k,)          SGD steps taken (0: the initial parameters)
    epochs         float64 (k,)          epochs elapsed: steps / steps_per_epoch
    test_accuracy  float64 (k,)          fraction in [0, 1] (NaN: not evaluated)
    test_loss      float64 (k,)          the config's loss on the test set (NaN: not evaluated)
    W1, b1, ...    float64 (k, out, in) and (k, out): layer l's weights and biases at each step
    metadata       a JSON string: {"format", "version", "impl", "config", "steps_per_epoch"}

Steps are counted from the very start of training, so a resumed run continues the count.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.atomic import atomic_write_bytes
from shared.checkpoint import CheckpointError, read_config, read_member, read_metadata, read_npz, shorten
from shared.config import Config
from shared.params import Params, check_params

FORMAT = "mnist-three-ways history"
VERSION = 1
FILE_NAME = "history.npz"
MAX_SNAPSHOTS = 10_000
MAX_PAGE_HISTORY_BYTES = 64 * 2**20  # a run keeps no history larger (e.g. 784-800-800-10: 200 MB)


class HistoryError(CheckpointError):
    """A file that is not a usable history; the message names it and says why."""


@dataclass(frozen=True)
class Snapshot:
    step: int  # SGD steps taken when it was taken; 0 is the initialization
    epoch: float  # epochs elapsed
    params: Params
    test_accuracy: float | None = None
    test_loss: float | None = None


@dataclass(frozen=True)
class History:
    impl: str  # the implementation whose training this is
    config: Config
    steps_per_epoch: int
    snapshots: tuple[Snapshot, ...]

    @property
    def steps(self) -> list[int]:
        return [snapshot.step for snapshot in self.snapshots]


def snapshot_steps(steps_per_epoch: int, epochs: int, start_epoch: int = 1) -> list[int]:
    """The steps at which a history keeps the parameters, counted from the start of training:
    where this training starts, then 1, 2, 5, 10, 20, 50, ... steps into its first epoch, then
    the end of every epoch."""
    if steps_per_epoch < 1 or epochs < 1 or start_epoch < 1:
        raise ValueError("steps_per_epoch, epochs and start_epoch must be positive")
    start = (start_epoch - 1) * steps_per_epoch
    steps = [start]
    scale = 1
    while scale < steps_per_epoch:
        steps += [start + scale * factor for factor in (1, 2, 5) if scale * factor < steps_per_epoch]
        scale *= 10
    steps += [start + epoch * steps_per_epoch for epoch in range(1, epochs + 1)]
    return sorted(set(steps))


def history_bytes(sizes, snapshots: int) -> int:
    """The bytes a history of this many snapshots of a network of these sizes holds."""
    parameters = sum(n_out * n_in + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    return 8 * parameters * snapshots


def save_history(path: Path | str, history: History) -> None:
    """Write history.npz atomically (a temporary file, then a rename)."""
    check_history(history, path)
    snapshots = history.snapshots
    metadata = {"format": FORMAT, "version": VERSION, "impl": history.impl, "config": history.config.to_dict(),
                "steps_per_epoch": history.steps_per_epoch}
    arrays = {
        "metadata": np.array(json.dumps(metadata)),
        "steps": np.array([s.step for s in snapshots], dtype=np.int64),
        "epochs": np.array([s.epoch for s in snapshots], dtype=np.float64),
        "test_accuracy": np.array([nan_if_none(s.test_accuracy) for s in snapshots], dtype=np.float64),
        "test_loss": np.array([nan_if_none(s.test_loss) for s in snapshots], dtype=np.float64),
    }
    for index in range(len(history.config.sizes) - 1):
        arrays[f"W{index + 1}"] = np.stack([s.params[index][0] for s in snapshots])
        arrays[f"b{index + 1}"] = np.stack([s.params[index][1] for s in snapshots])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)


def none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def check_history(history: History, where: Path | str = "history") -> None:
    """What every history holds true: snapshots in order of their steps, parameters of the
    config's sizes, accuracies that are fractions."""
    if not history.snapshots:
        raise HistoryError(where, "a history needs at least one snapshot")
    if len(history.snapshots) > MAX_SNAPSHOTS:
        raise HistoryError(where, f"{len(history.snapshots):,} snapshots; a history keeps at most {MAX_SNAPSHOTS:,}")
    if isinstance(history.steps_per_epoch, bool) or not isinstance(history.steps_per_epoch, int) \
            or history.steps_per_epoch < 1:
        raise HistoryError(where, f"steps_per_epoch must be a positive whole number; got {history.steps_per_epoch!r}")
    previous = -1
    for number, snapshot in enumerate(history.snapshots):
        if snapshot.step <= previous:
            raise HistoryError(where, f"snapshot {number} is at step {snapshot.step}, not after step {previous}")
        previous = snapshot.step
        if not math.isclose(snapshot.epoch, snapshot.step / history.steps_per_epoch, rel_tol=1e-9, abs_tol=1e-12):
            raise HistoryError(where, f"snapshot {number} says epoch {snapshot.epoch!r} for step {snapshot.step} "
                                      f"of {history.steps_per_epoch} per epoch")
        accuracy = snapshot.test_accuracy
        if accuracy is not None and not 0 <= accuracy <= 1:
            raise HistoryError(where, f"snapshot {number}: test accuracy {accuracy!r} is not a fraction from 0 to 1")
        if snapshot.test_loss is not None and not (math.isfinite(snapshot.test_loss) and snapshot.test_loss >= 0):
            raise HistoryError(where, f"snapshot {number}: test loss {snapshot.test_loss!r} is not a finite "
                                      f"non-negative number")
        try:
            check_params(snapshot.params, history.config.sizes)
        except ValueError as error:
            raise HistoryError(where, f"snapshot {number}: {error}") from None


def load_history(path: Path | str) -> History:
    """Read and check history.npz; any problem is a HistoryError naming the file."""
    return read_npz(path, read_history, "history", HistoryError)


def read_history(archive: zipfile.ZipFile, path: Path) -> History:
    metadata = read_metadata(archive, path, FORMAT, VERSION, "history", HistoryError)
    config = read_config(metadata.get("config"), path)
    steps_per_epoch = metadata.get("steps_per_epoch")
    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or not 1 <= steps_per_epoch <= 10**9:
        raise HistoryError(path, f"steps_per_epoch must be a positive whole number; got {shorten(steps_per_epoch)}")

    def vector_check(name, dtype_kind):
        def check(shape, dtype):
            if dtype.kind != dtype_kind or len(shape) != 1 or not 1 <= shape[0] <= MAX_SNAPSHOTS:
                raise HistoryError(path, f"{name} must be a vector of at most {MAX_SNAPSHOTS:,} snapshots")
        return check

    columns = {}
    for name, kind in (("steps", "i"), ("epochs", "f"), ("test_accuracy", "f"), ("test_loss", "f")):
        array = read_member(archive, path, name, vector_check(name, kind))
        if array is None:
            raise HistoryError(path, f"missing {name}")
        columns[name] = array
    count = len(columns["steps"])
    if any(len(array) != count for array in columns.values()):
        raise HistoryError(path, "steps, epochs, test_accuracy and test_loss hold different numbers of snapshots")

    layers = []
    for index, (n_in, n_out) in enumerate(zip(config.sizes[:-1], config.sizes[1:]), start=1):
        layer = []
        for name, shape in ((f"W{index}", (count, n_out, n_in)), (f"b{index}", (count, n_out))):
            def check(found, dtype, name=name, shape=shape):
                if dtype.name != "float64" or tuple(found) != shape:
                    raise HistoryError(path, f"{name} must be float64 of shape {shape}; got {dtype} {tuple(found)}")
            array = read_member(archive, path, name, check)
            if array is None:
                raise HistoryError(path, f"missing {name} for layer sizes {config.sizes}")
            layer.append(array)
        layers.append(layer)

    snapshots = tuple(
        Snapshot(step=int(columns["steps"][k]), epoch=float(columns["epochs"][k]),
                 params=[(np.array(W[k]), np.array(b[k])) for W, b in layers],
                 test_accuracy=none_if_nan(columns["test_accuracy"][k]), test_loss=none_if_nan(columns["test_loss"][k]))
        for k in range(count))
    history = History(impl=str(metadata.get("impl", "?"))[:100], config=config, steps_per_epoch=steps_per_epoch,
                      snapshots=snapshots)
    check_history(history, path)
    return history

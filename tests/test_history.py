"""The training history file: its schedule of steps, a faithful round trip, and refusals."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from shared.config import Config
from shared.history import (FORMAT, History, HistoryError, Snapshot, history_bytes, load_history, save_history,
                            snapshot_steps)
from shared.params import init_params


def test_schedule_is_log_spaced_in_the_first_epoch_then_every_epoch_end():
    assert snapshot_steps(6000, 3) == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 6000, 12000, 18000]
    assert snapshot_steps(3, 2) == [0, 1, 2, 3, 6]
    assert snapshot_steps(1, 1) == [0, 1]


def test_a_resumed_run_counts_on_from_where_it_starts():
    assert snapshot_steps(100, 2, start_epoch=4) == [300, 301, 302, 305, 310, 320, 350, 400, 500]


def test_schedule_refuses_nonsense():
    with pytest.raises(ValueError):
        snapshot_steps(0, 1)


def small_history(config=None, count=3) -> History:
    config = config or Config(sizes=(6, 4, 3))
    rng = np.random.default_rng(1)
    snapshots = []
    for k, step in enumerate(snapshot_steps(5, 1)[:count]):
        params = [(W + rng.normal(size=W.shape), b + k) for W, b in init_params(config.sizes, seed=k)]
        snapshots.append(Snapshot(step=step, epoch=step / 5, params=params,
                                  test_accuracy=None if k == 0 else 0.5 + 0.1 * k, test_loss=None if k == 0 else 1.0 / k))
    return History(impl="numpy", config=config, steps_per_epoch=5, snapshots=tuple(snapshots))


def test_round_trip_is_exact(tmp_path):
    history = small_history()
    save_history(tmp_path / "history.npz", history)
    loaded = load_history(tmp_path / "history.npz")
    assert loaded.impl == "numpy" and loaded.config == history.config and loaded.steps_per_epoch == 5
    assert loaded.steps == history.steps
    for a, b in zip(loaded.snapshots, history.snapshots):
        assert a.epoch == b.epoch and a.test_accuracy == b.test_accuracy and a.test_loss == b.test_loss
        for (Wa, ba), (Wb, bb) in zip(a.params, b.params):
            assert np.array_equal(Wa, Wb) and np.array_equal(ba, bb)
            assert Wa.flags.c_contiguous and Wa.flags.writeable


def test_size_estimate_counts_every_parameter_of_every_snapshot():
    assert history_bytes((784, 30, 10), 14) == 8 * 23_860 * 14


def rewrite(path, changes: dict, drop=()):
    """The same .npz with some members replaced (by raw .npy bytes or arrays) or dropped."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for name in drop:
        del members[f"{name}.npy"]
    for name, value in changes.items():
        if isinstance(value, bytes):
            members[f"{name}.npy"] = value
        else:
            buffer = io.BytesIO()
            np.save(buffer, value, allow_pickle=True)
            members[f"{name}.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "history.npz"
    save_history(path, small_history())
    return path


def metadata(**changes) -> np.ndarray:
    base = {"format": FORMAT, "version": 1, "impl": "numpy", "config": Config(sizes=(6, 4, 3)).to_dict(),
            "steps_per_epoch": 5}
    return np.array(json.dumps(base | changes))


@pytest.mark.parametrize("changes,drop,message", [
    ({"W1": np.array([object()], dtype=object)}, (), "pickled objects"),
    ({"W1": np.zeros((3, 4, 5))}, (), "W1 must be float64 of shape (3, 4, 6)"),
    ({"steps": np.array([0, 1, 1])}, (), "snapshot 2 is at step 1, not after step 1"),
    ({"test_accuracy": np.array([np.nan, 1.5, 0.7])}, (), "not a fraction"),
    ({"epochs": np.array([0.0, 0.2])}, (), "different numbers of snapshots"),
    ({"metadata": metadata(format="something else")}, (), "not a history of this project"),
    ({"metadata": metadata(version=2)}, (), "history version 2"),
    ({"metadata": metadata(steps_per_epoch=10**400)}, (), "steps_per_epoch must be"),
    ({"metadata": metadata(config={"sizes": "6,4,3"})}, (), "its config is invalid"),
    ({"metadata": np.array("{" * 100_000)}, (), "not valid JSON"),
    ({}, ("b2",), "missing b2"),
    ({}, ("metadata",), "no metadata"),
])
def test_a_damaged_history_is_refused_with_one_line(saved, changes, drop, message):
    rewrite(saved, changes, drop)
    with pytest.raises(HistoryError) as caught:
        load_history(saved)
    assert message in str(caught.value) and str(saved) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_truncated_or_missing_file_is_refused(saved, tmp_path):
    saved.write_bytes(saved.read_bytes()[:200])
    with pytest.raises(HistoryError, match="truncated"):
        load_history(saved)
    with pytest.raises(HistoryError, match="file not found"):
        load_history(tmp_path / "nothing.npz")
    with pytest.raises(HistoryError, match="not a file"):
        load_history(tmp_path)


def test_nothing_inconsistent_is_ever_written(tmp_path):
    history = small_history()
    bad = History(history.impl, history.config, history.steps_per_epoch, history.snapshots[::-1])
    with pytest.raises(HistoryError, match="not after step"):
        save_history(tmp_path / "history.npz", bad)
    assert not (tmp_path / "history.npz").exists()

"""compare sweep and its library (compare.sweep): many `compare run`s at once, each kept whole
in its own folder, resumable, on worker processes or a Dask cluster."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from compare.sweep import RunSpec, SweepError, run_all

# Runs small enough for tests: a few hundred images, one epoch.
TINY = ("--impl", "numpy", "--train-limit", "200", "--test-limit", "100", "--epochs", "1")


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """Two runs and one that fails, on two workers; then the same call again."""
    root = tmp_path_factory.mktemp("sweep") / "lr"
    specs = [RunSpec("lr=0.1", TINY + ("--lr", "0.1")), RunSpec("lr=3", TINY + ("--lr", "3")),
             RunSpec("bad", TINY + ("--lr", "-1"))]
    seen = []
    first = run_all(specs, root, workers=2, on_result=seen.append)
    written = {path: path.stat().st_mtime_ns for path in root.rglob("*")}
    second = run_all(specs, root, workers=2)
    return root, specs, first, second, seen, written


def test_each_run_is_kept_whole_in_its_folder(swept):
    root, specs, first, _, seen, _ = swept
    assert [result.name for result in first] == [spec.name for spec in specs]  # the specs' order
    assert [result.status for result in first] == ["done", "done", "failed"]
    assert {result.name for result in seen} == {spec.name for spec in specs}  # progress: each as it finished
    for result in first[:2]:
        document = json.loads((result.path / "results.json").read_text())
        assert result.path == root / result.name and document["name"] == result.name
        assert document["config"]["lr"] == float(result.name.split("=")[1])
        assert (result.path / "report.md").exists() and (result.path / "page.html").exists()
    assert not (root / "bad").exists()
    assert first[2].reason == "Invalid value for '--lr': learning rate must be a positive finite number; got -1.0"
    assert sorted(path.name for path in root.iterdir()) == ["lr=0.1", "lr=3", "sweep.json"]  # no scratch left


def test_a_second_call_skips_the_finished_runs_and_retries_the_failed(swept):
    root, _, first, second, _, written = swept
    assert [result.status for result in second] == ["skipped", "skipped", "failed"]
    assert second[2].seconds is not None  # tried again
    assert {path: path.stat().st_mtime_ns for path in root.rglob("*") if path.name != "sweep.json"} == {
        path: mtime for path, mtime in written.items() if path.name != "sweep.json"}  # nothing run again


def test_a_run_made_with_other_options_is_refused(swept):
    root, specs, *_ = swept
    changed = [RunSpec("lr=0.1", TINY + ("--lr", "0.1", "--epochs", "2"))]
    with pytest.raises(SweepError, match=r"lr=0.1 was made with other options \(.*--lr 0.1, now .*--epochs 2\)"):
        run_all(changed, root)


def test_a_place_that_is_not_a_sweep_is_refused(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(SweepError, match="is not empty and is not a sweep"):
        run_all([RunSpec("a", TINY)], tmp_path / "mine")
    (tmp_path / "file").write_text("mine")
    with pytest.raises(SweepError, match="is a file, not a directory"):
        run_all([RunSpec("a", TINY)], tmp_path / "file")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine" and (tmp_path / "file").read_text() == "mine"


@pytest.mark.parametrize("specs,message", [
    ([RunSpec("a", ("--name", "b"))], "--name is the sweep's to set"),
    ([RunSpec("a", ("--reports-dir=x",))], "--reports-dir is the sweep's to set"),
    ([RunSpec("a", ()), RunSpec("a", ())], "two runs are named 'a'"),
    ([RunSpec("../a", ())], "cannot be the name of a run's folder"),
    ([RunSpec(".hidden", ())], "cannot be the name of a run's folder"),
])
def test_bad_specs_are_refused_before_anything_is_made(tmp_path, specs, message):
    with pytest.raises(SweepError, match=message):
        run_all(specs, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_one_line_within_the_timeout(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nothing listens on: bound, never listened to
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        start = time.perf_counter()
        with pytest.raises(SweepError) as caught:
            run_all([RunSpec("a", TINY)], tmp_path / "out", scheduler=f"tcp://127.0.0.1:{port}", connect_timeout=2)
    assert time.perf_counter() - start < 30
    assert str(caught.value).startswith(f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} (")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_the_same_sweep_runs_on_a_local_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        specs = [RunSpec("seed=1", TINY + ("--seed", "1")), RunSpec("seed=2", TINY + ("--seed", "2"))]
        results = run_all(specs, tmp_path / "out", scheduler=cluster.scheduler_address)
        assert [result.status for result in results] == ["done", "done"]
        again = run_all(specs, tmp_path / "out", scheduler=cluster.scheduler_address)
        assert [result.status for result in again] == ["skipped", "skipped"]
    for result in results:
        assert json.loads((result.path / "results.json").read_text())["config"]["seed"] == int(result.name[-1])

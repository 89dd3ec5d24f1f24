"""compare sweep and its library (compare.sweep): many `compare run`s at once, each kept whole
in its own folder, resumable, on worker processes or a Dask cluster; one table and one figure."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from compare.cli import main
from compare.sweep import RunSpec, SweepError, run_all
from compare.sweep.grid import Axis, GridError, expand, parse_axis
from conftest import one_error_line

ROOT = Path(__file__).resolve().parent.parent
# Runs small enough for tests: a few hundred images, one epoch, a narrow network.
TINY = ("--impl", "numpy", "--sizes", "784,8,10", "--train-limit", "300", "--test-limit", "200", "--epochs", "1")


def invoke(*args):
    return CliRunner().invoke(main, ["sweep", *map(str, args)], catch_exceptions=False)


def closed_port() -> socket.socket:
    """A port of 127.0.0.1 bound and never listened on: connections to it are refused."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    return probe


# -- the grid -----------------------------------------------------------------------------------
def test_an_axis_is_an_option_and_its_values():
    assert parse_axis("lr=0.025,0.25,2.5") == Axis("lr", ("0.025", "0.25", "2.5"))
    assert parse_axis("sizes=784,30,10:784,100,10") == Axis("sizes", ("784,30,10", "784,100,10"))  # colons
    assert parse_axis("--batch_size=10, 20") == Axis("batch-size", ("10", "20"))  # as typed on the command line
    assert parse_axis("impl=numpy") == Axis("impl", ("numpy",))


@pytest.mark.parametrize("text,message", [
    ("lr", "give OPTION=VALUES"),
    ("=1,2", "give OPTION=VALUES"),
    ("lr=", "an empty value"),
    ("lr=0.1,,1", "an empty value"),
    ("sizes=784,30,10:", "an empty value"),
    ("lr=1,1", "1 is given twice"),
    ("l r=1", "is not an option's name"),
])
def test_a_bad_axis_is_one_line(text, message):
    with pytest.raises(GridError, match=message):
        parse_axis(text)


def test_the_grid_is_the_product_of_its_axes_named_after_their_values():
    runs = expand([parse_axis("lr=0.1,1"), parse_axis("sizes=784,30,10:784,100,10")], ("--epochs", "2"))
    assert [spec.name for spec, _ in runs] == ["lr=0.1_sizes=784-30-10", "lr=0.1_sizes=784-100-10",
                                              "lr=1_sizes=784-30-10", "lr=1_sizes=784-100-10"]
    spec, values = runs[1]
    assert spec.args == ("--epochs", "2", "--lr", "0.1", "--sizes", "784,100,10")
    assert values == {"lr": "0.1", "sizes": "784,100,10"}


@pytest.mark.parametrize("axes,shared,message", [
    (["lr=1", "lr=2"], (), "--grid lr= is given twice"),
    (["lr=1,2"], ("--lr", "3"), "--lr is both in a --grid and given to every run"),
    (["impl=a/b,a-b"], (), "would both be named impl=a-b"),
])
def test_a_grid_that_cannot_be_run_is_refused(axes, shared, message):
    with pytest.raises(GridError, match=message):
        expand([parse_axis(text) for text in axes], shared)


# -- compare sweep ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A run that trains and one that diverges, on two workers; then the same command again."""
    out = tmp_path_factory.mktemp("sweep") / "lr"
    first = invoke("--grid", "lr=0.5,300", *TINY, "--workers", 2, "--out", out)
    written = {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.parent != out}
    second = invoke("--grid", "lr=0.5,300", *TINY, "--workers", 2, "--out", out)
    return out, first, second, written


def test_each_run_is_kept_whole_in_its_own_folder(swept):
    out, first, *_ = swept
    assert first.exit_code == 1, first.output  # a run failed
    document = json.loads((out / "lr=0.5" / "results.json").read_text())
    assert document["name"] == "lr=0.5" and document["config"]["lr"] == 0.5
    assert document["config"]["sizes"] == [784, 8, 10]
    assert {"report.md", "page.html", "model.npz"} <= {path.name for path in (out / "lr=0.5").iterdir()}
    share = max(1, os.cpu_count() // 2)  # two workers: each run its share of the cores
    assert document["implementations"][0]["threads"]["requested"] == str(share)
    assert {blas["num_threads"] for blas in document["environment"]["blas"]} == {share}
    assert sorted(path.name for path in out.iterdir()) == ["lr=0.5", "sweep.json", "sweep.md", "sweep.png"]
    assert json.loads((out / "sweep.json").read_text())["runs"]["lr=300"] == [*TINY, "--lr", "300"]


def test_two_workers_run_side_by_side(tmp_path):
    """The runs overlap in time: the sweep ends before their durations added up (a diverged run of
    two seconds beside one of eight, as in the fixture, overlaps too little to show it in whole seconds)."""
    specs = [RunSpec(f"seed={seed}", (*TINY, "--seed", str(seed))) for seed in (1, 2)]
    start = time.perf_counter()
    results = run_all(specs, tmp_path / "out", workers=2)
    elapsed = time.perf_counter() - start
    assert [result.status for result in results] == ["done", "done"]
    assert elapsed < sum(result.seconds for result in results), (elapsed, [result.seconds for result in results])


def test_progress_across_runs_and_one_combined_table(swept):
    out, first, *_ = swept
    lines = first.output.splitlines()
    threads = max(1, os.cpu_count() // 2)
    assert lines[0] == f"sweep: 2 runs into {out} on 2 workers ({os.cpu_count()} cores, " \
                       f"{threads} BLAS and torch thread{'s' if threads > 1 else ''} per run)"
    progress = [line for line in lines if line.startswith("[")]
    assert sorted(line[:5] for line in progress) == ["[1/2]", "[2/2]"]
    assert any("lr=0.5: done in" in line for line in progress)
    assert any("lr=300: FAILED after" in line and "training diverged" in line for line in progress)
    header = next(line for line in lines if line.startswith("lr "))
    assert header.split() == ["lr", "impl", "test", "accuracy", "best", "(epoch)", "train", "loss", "train", "s"]
    row = next(line for line in lines if line.startswith("0.5 "))
    assert row.split()[1] == "numpy" and row.split()[2].endswith("%")
    assert next(line for line in lines if line.startswith("300 ")).split()[1] == "failed"
    assert any(line.startswith("best: lr=0.5 (numpy), ") for line in lines)
    assert any(line.startswith("failed: lr=300: numpy: the training loss rose") for line in lines)
    markdown = (out / "sweep.md").read_text()
    assert "| lr | impl | test accuracy | best (epoch) | train loss | train s | run |" in markdown
    assert "[lr=0.5](lr%3D0.5/report.md)" in markdown and "![" in markdown and "(sweep.png)" in markdown
    from PIL import Image

    assert Image.open(out / "sweep.png").size == (1300, 500)


def test_the_same_command_again_runs_only_what_did_not_finish(swept):
    out, _, second, written = swept
    assert second.exit_code == 1, second.output
    progress = [line for line in second.output.splitlines() if line.startswith("[")]
    assert any("lr=0.5: finished before, kept" in line for line in progress)
    assert any("lr=300: FAILED after" in line for line in progress)  # tried again
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.parent != out} == written


def test_the_same_place_with_other_options_is_refused(swept):
    out, *_ = swept
    result = invoke("--grid", "lr=0.5,1", *TINY, "--seed", 3, "--out", out)
    one_error_line(result, 2, "'--out'", "lr=0.5 was made with other options (--seed (not given) then, 3 now)")
    assert not (out / "lr=1").exists()


def test_a_place_that_is_not_a_sweep_is_refused(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    one_error_line(invoke("--grid", "lr=1,2", *TINY, "--out", tmp_path / "mine"), 2,
                   "is not empty and is not a sweep (it has no sweep.json)")
    (tmp_path / "file").write_text("mine")
    one_error_line(invoke("--grid", "lr=1,2", *TINY, "--out", tmp_path / "file"), 2, "is a file")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine" and (tmp_path / "file").read_text() == "mine"
    assert sorted(path.name for path in (tmp_path / "mine").iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("args,words", [
    (["--grid", "lr=0.1,,1"], ["'--grid'", "an empty value"]),
    (["--grid", "lrr=0.1,1"], ["run lrr=0.1: No such option '--lrr'"]),
    (["--grid", "lr=0.1,1", "--epoch", "2"], ["No such option '--epoch'. Did you mean '--epochs'?"]),
    (["--grid", "lr=0.1,-1"], ["run lr=-1: Invalid value for '--lr': learning rate must be a positive"]),
    (["--grid", "sizes=784,30,10"], ["run sizes=784:", "--sizes"]),  # commas split values when no colon
    (["--grid", "lr=1,2", "--name", "x"], ["--name is not for a sweep"]),
    (["--grid", "lr=1,2", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], ["--workers is for this machine"]),
    (["--grid", "lr=1,2", "--workers", "0"], ["'--workers'"]),
])
def test_bad_usage_is_one_line_and_exit_2_before_anything_is_made(tmp_path, args, words):
    one_error_line(invoke(*args, "--out", tmp_path / "out"), 2, *words)
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_one_line_within_the_timeout(tmp_path):
    with closed_port() as probe:
        address = "tcp://127.0.0.1:%d" % probe.getsockname()[1]
        start = time.perf_counter()
        result = invoke("--grid", "lr=1,2", *TINY, "--scheduler", address, "--connect-timeout", 2,
                        "--out", tmp_path / "out")
    assert time.perf_counter() - start < 30
    one_error_line(result, 1, f"cannot reach the Dask scheduler at {address} (")
    assert not (tmp_path / "out").exists()


def test_ctrl_c_keeps_the_finished_runs_and_says_which(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "compare", "sweep", "--grid", "seed=1,2,3", *TINY, "--workers", "2",
               "--out", "out"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    for line in process.stderr:
        if line.startswith("[1/3]"):
            break
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the sweep, its workers and their runs
    start = time.perf_counter()
    _, stderr = process.communicate(timeout=120)
    assert time.perf_counter() - start < 30, "the workers were not stopped"
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Warning" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    kept = sorted(path.name for path in (tmp_path / "out").iterdir() if path.name.startswith("seed="))
    assert kept and last.startswith(f"interrupted: of 3 runs, {len(kept)} finished and kept in out ("), last
    assert last.endswith(f"); the same command runs the other {3 - len(kept)}"), last
    assert all(name in last for name in kept)
    assert sorted(path.name for path in (tmp_path / "out").iterdir() if not path.name.startswith("seed=")) == [
        "sweep.json"]  # no half-written run, no scratch folder
    for name in kept:
        assert not json.loads((tmp_path / "out" / name / "results.json").read_text())["interrupted"]
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert sum("finished before, kept" in line for line in again.stderr.splitlines()) == len(kept)
    assert sorted(path.name for path in (tmp_path / "out").iterdir() if path.name.startswith("seed=")) == [
        "seed=1", "seed=2", "seed=3"]


# -- the library ----------------------------------------------------------------------------------
def test_the_table_shows_the_options_that_differ_between_runs():
    from compare.sweep.table import varying

    specs = [RunSpec("a", ("--epochs", "3", "--lr", "0.1")), RunSpec("b", ("--epochs=3", "--lr", "1", "--seed", "2"))]
    assert varying(specs) == {"a": {"lr": "0.1", "seed": "(default)"}, "b": {"lr": "1", "seed": "2"}}


def test_a_run_made_with_other_options_is_refused_by_the_library(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sweep.json").write_text('{"schema_version": 1, "runs": {"a": ["--lr", "0.1"]}}')
    with pytest.raises(SweepError, match=r"out/a was made with other options \(--lr 0.1 then, 0.2 now\)"):
        run_all([RunSpec("a", ("--lr", "0.2"))], tmp_path / "out")


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


def test_the_same_sweep_runs_on_a_local_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        first = invoke("--grid", "seed=1,2", *TINY, "--scheduler", address, "--out", out)
        again = invoke("--grid", "seed=1,2", *TINY, "--scheduler", address, "--out", out)
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[0] == f"sweep: 2 runs into {out} on the Dask cluster at {address}"
    assert sum(": done in" in line for line in first.output.splitlines()) == 2
    for seed in (1, 2):
        assert json.loads((out / f"seed={seed}" / "results.json").read_text())["config"]["seed"] == seed
    assert sorted(path.name for path in out.iterdir()) == ["seed=1", "seed=2", "sweep.json", "sweep.md", "sweep.png"]
    assert again.exit_code == 0 and sum("finished before, kept" in line for line in again.output.splitlines()) == 2
    fewer = invoke("--grid", "seed=1", *TINY, "--out", out)  # a changed grid: the other run stays, out of the table
    assert fewer.exit_code == 0, fewer.output
    assert f"note: {out} also holds 1 run(s) of an earlier grid, not in this table: seed=2" in fewer.output
    assert "seed%3D1/report.md" in (out / "sweep.md").read_text() and "seed=2" not in (out / "sweep.md").read_text()
    assert (out / "seed=2" / "results.json").exists()

"""A full disk (issue 23, items 6 and 16): a save that fails keeps what was computed and says
where, in one line with exit code 1, never a traceback; nothing half-written is left behind.

Two ways to fill a disk: a real one (a tiny tmpfs, mounted where the process may mount, as root)
and a simulated one (os.fsync, which every atomic write calls before its rename, failing with
ENOSPC for the files under one directory), so the tests also run where nothing can be mounted."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from conftest import write_dataset
from test_outputs import invoke, one_error_line

TINY = ["--impl", "numpy", "--sizes", "784,8,10", "--train-limit", "200", "--test-limit", "100", "--epochs", "2",
        "-q"]


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def failed(result, *words) -> str:
    """The one Error line of a command that could not write, exit 1."""
    return one_error_line(result, 1, *words)


@pytest.fixture
def full_under(monkeypatch):
    """full_under(directory, names=None): every atomic write of a file under `directory` (of one
    of `names`, when given) fails as on a full disk."""
    real_fsync = os.fsync
    places = []

    def fsync(handle):
        target = os.readlink(f"/proc/self/fd/{handle}")
        for directory, names in places:
            inside = target.startswith(str(directory) + os.sep)
            if inside and (names is None or any(f".{name}." in os.path.basename(target) for name in names)):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(handle)

    monkeypatch.setattr(os, "fsync", fsync)
    return lambda directory, names=None: places.append((Path(directory).resolve(), names))


@pytest.fixture
def tiny_disk(tmp_path):
    """A real file system with almost no room (a 16 KiB tmpfs), or a skip where none can be mounted."""
    place = tmp_path / "tiny-disk"
    place.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(place)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield place
    subprocess.run(["umount", str(place)], check=True)


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in Path(directory).rglob("*.tmp")]


def test_a_checkpoint_on_a_full_disk_keeps_the_model_in_the_run_folder(tmp_path, tiny_disk):  # 23.6, 23.16
    result = invoke("run", *TINY, "--save", tiny_disk / "m.npz", "--name", "X")
    line = failed(result, "m.npz", "No space left on device", "reports/X/model.npz")
    assert "not saved" in line
    from shared.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "reports" / "X" / "model.npz").epoch == 2
    assert (tmp_path / "reports" / "X" / "results.json").exists()
    assert (tmp_path / "reports" / "X" / "report.html").exists()
    assert leftovers(tiny_disk) == []


def test_a_checkpoint_that_cannot_be_written_keeps_the_model_in_the_run_folder(tmp_path, full_under):  # 23.6
    (tmp_path / "usb").mkdir()
    full_under(tmp_path / "usb")
    result = invoke("run", *TINY, "--save", "usb/m.npz", "--name", "X")
    failed(result, "usb/m.npz", "No space left on device", "reports/X/model.npz")
    assert (tmp_path / "reports" / "X" / "model.npz").exists()
    assert not (tmp_path / "usb" / "m.npz").exists() and leftovers(tmp_path) == []


def test_a_report_that_cannot_be_written_keeps_the_results(tmp_path, full_under):  # 23.6, 23.16
    full_under(tmp_path / "reports" / "X", names=("report.md", "report.html"))
    result = invoke("run", *TINY, "--name", "X")
    line = failed(result, "report", "No space left on device", "reports/X/results.json", "compare report")
    assert (tmp_path / "reports" / "X" / "results.json").exists() and leftovers(tmp_path) == []
    assert "model.npz" in line


def test_a_run_folder_on_a_full_disk_says_what_the_run_found(tmp_path, tiny_disk):  # 23.6, 23.16
    result = invoke("run", *TINY, "--reports-dir", tiny_disk, "--name", "X")
    line = failed(result, "No space left on device", "numpy", "%")  # the accuracy, in the one line left
    assert "nothing" in line
    assert leftovers(tiny_disk) == []


def test_a_run_folder_that_cannot_be_written_at_all(tmp_path, full_under):  # 23.16
    full_under(tmp_path / "reports")
    result = invoke("run", *TINY, "--name", "X", "--save", "m.npz")
    failed(result, "No space left on device", "m.npz")  # the checkpoint, on another disk, holds the model
    assert (tmp_path / "m.npz").exists() and leftovers(tmp_path) == []
    assert not (tmp_path / "reports" / "X").exists() or not any((tmp_path / "reports" / "X").iterdir())


@pytest.fixture
def checkpoint(tmp_path):
    result = invoke("run", "--impl", "numpy", "--sizes", "784,8,10", "--train-limit", "200", "--test-limit", "100",
                    "--epochs", "1", "-q", "--save", "w.npz", "--name", "first")
    assert result.exit_code == 0, result.output
    return tmp_path / "w.npz"


def test_page_on_a_full_disk(tmp_path, checkpoint, tiny_disk):  # 23.16
    failed(invoke("page", checkpoint, "--out", tiny_disk / "p.html"), "p.html", "No space left on device")
    assert leftovers(tiny_disk) == [] and not (tiny_disk / "p.html").exists()


def test_report_on_a_full_disk_says_what_is_kept(tmp_path, checkpoint, full_under):  # 23.16
    full_under(tmp_path / "out")
    failed(invoke("report", tmp_path / "reports" / "first" / "results.json", "--out", "out"),
           "No space left on device", "out")
    assert leftovers(tmp_path) == []


def test_predict_show_on_a_full_disk_keeps_the_answers(tmp_path, checkpoint, tiny_disk):  # 23.16
    import numpy as np
    from PIL import Image

    image = np.full((60, 60), 255, np.uint8)
    image[10:50, 28:33] = 0  # a one
    Image.fromarray(image).save(tmp_path / "one.png")
    result = invoke("predict", checkpoint, "one.png", "--show", tiny_disk / "show.png")
    failed(result, "show.png", "No space left on device")
    assert "one.png: " in result.output  # the answers were printed before the picture failed
    assert leftovers(tiny_disk) == []


def fill(place: Path) -> None:
    """Take every byte left on the file system at `place`."""
    handle = os.open(place / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(handle, b"x" * 1024):
            pass
    except OSError:
        pass
    finally:
        os.close(handle)


def test_gradcheck_json_on_a_full_disk(tmp_path, tiny_disk):  # 23.16
    data = write_dataset(tmp_path / "d")
    fill(tiny_disk)
    result = invoke("gradcheck", "--impl", "numpy", "--sizes", "16,4,3", "--data-dir", data, "--json",
                    tiny_disk / "g.json")
    failed(result, "g.json", "No space left on device")
    assert leftovers(tiny_disk) == [] and not (tiny_disk / "g.json").exists()


def test_bench_on_a_full_disk_prints_its_whole_table(tmp_path, monkeypatch, full_under):  # 23.16
    """Minutes of measuring are not lost to a full disk: the table goes to the terminal."""
    import compare.benchmark.markdown as markdown
    import compare.benchmark.suite as suite
    from shared.atomic import atomic_write_text

    document = {"reliability": {"unreliable": False, "reasons": []}, "matmul_peak_gflops": {"float64": 10.0}}
    monkeypatch.setattr(suite, "run_bench", lambda *args, **kwargs: document)
    monkeypatch.setattr(suite, "save", lambda document, json_path, markdown_path: atomic_write_text(json_path, "{}"))
    monkeypatch.setattr(markdown, "to_markdown", lambda document, on_terminal=False: "# the measured table")
    full_under(tmp_path / "out")
    result = invoke("bench", "--out", "out")
    failed(result, "out/bench.json", "No space left on device", "printed above")
    assert "# the measured table" in result.output and leftovers(tmp_path) == []


def test_report_force_over_another_report_replaces_it_whole_or_not_at_all(tmp_path, checkpoint, full_under):  # 23.8
    """`compare report B --out D --force` over A's report in D: built beside, then moved in. When
    the last file cannot be written, D keeps A's report, every file of it; when it can, none of A's
    is left (its page included, which B does not have here)."""
    import shutil

    assert invoke("run", *TINY, "--seed", "5", "--name", "second").exit_code == 0
    assert invoke("report", tmp_path / "reports" / "first" / "results.json", "--out", "D").exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "D").iterdir()}
    assert {"report.md", "report.html", "page.html"} <= set(before)
    full_under(tmp_path / "D", names=("report.html",))
    second = tmp_path / "reports" / "second"
    line = failed(invoke("report", second / "results.json", "--out", "D", "--force"), "D/report.html",
                  "No space left on device", "D was not changed")
    assert ".report.new" not in line
    assert {p.name: p.read_bytes() for p in (tmp_path / "D").iterdir()} == before  # hidden builds gone too
    shutil.copytree(tmp_path / "D", tmp_path / "E")
    (second / "model.npz").unlink()  # B's page cannot be made: A's must not stay beside B's report
    result = invoke("report", second / "results.json", "--out", "E", "--force")
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "E").iterdir()}
    assert "page.html" not in names and not any(name.startswith(".report.new") for name in names)
    assert "second" in (tmp_path / "E" / "report.md").read_text()

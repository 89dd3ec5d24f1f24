"""Hostile places (issue 23): a link or a FIFO planted where compare writes is never followed,
only regular files are ever replaced, and a name too long for the temporary file is refused
before any training. Each case was run by an adversarial tester and did harm before."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from compare.cli import main
from shared.download import DownloadError, RemoteFile, download_file
from conftest import one_error_line as refused, write_dataset

TINY = ["--impl", "numpy", "--sizes", "784,8,10", "--train-limit", "200", "--test-limit", "100",
        "--epochs", "1", "-q"]


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def invoke(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("the user's own words\n")
    return path


def test_a_link_planted_where_a_save_lock_goes_is_not_followed(tmp_path, victim):  # 23.1
    (tmp_path / "s").mkdir()
    os.symlink("../victim.txt", tmp_path / "s" / ".m.npz.lock")
    result = invoke("run", *TINY, "--save", "s/m.npz")
    refused(result, 2, "--save", "not a regular file")
    assert victim.read_text() == "the user's own words\n"
    assert not (tmp_path / "s" / "m.npz").exists()


def test_a_link_planted_where_the_run_lock_goes_is_not_followed(tmp_path, victim):  # 23.1
    (tmp_path / "reports" / "X").mkdir(parents=True)
    os.symlink("../../victim.txt", tmp_path / "reports" / "X" / ".compare-run.lock")
    result = invoke("run", *TINY, "--name", "X")
    refused(result, 2, "--name", "not a regular file")
    assert victim.read_text() == "the user's own words\n"


def test_a_link_planted_where_the_download_part_goes_is_not_followed(tmp_path, victim):  # 23.2
    dest = tmp_path / "d"
    dest.mkdir()
    os.symlink("../victim.txt", dest / ".train-images-idx3-ubyte.gz.part")
    remote = RemoteFile("train-images-idx3-ubyte.gz")
    with pytest.raises(DownloadError, match="not a regular file"):
        download_file(remote, ["http://127.0.0.1:9"], dest, timeout=1, retries=1)  # a closed port: never reached
    assert victim.read_text() == "the user's own words\n"


def test_force_never_replaces_a_fifo(tmp_path):  # 23.7 (a FIFO stands for device nodes too)
    os.mkfifo(tmp_path / "pipe")
    result = invoke("run", *TINY, "--save", "pipe", "--force")
    refused(result, 2, "--save", "not a regular file")
    assert not (tmp_path / "pipe").is_file() and (tmp_path / "pipe").exists()


@pytest.mark.parametrize("length", [243, 250, 255])
def test_a_save_name_too_long_for_its_temporary_file_is_refused_before_training(tmp_path, length):  # 23.6, 23.17
    name = "m" * (length - 4) + ".npz"
    result = invoke("run", *TINY, "--save", name)
    refused(result, 2, "--save", "characters compare allows")
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_download_never_replaces_the_users_dataset_without_force(tmp_path):  # 23.3
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "train-images-idx3-ubyte.gz").write_bytes(b"the user's own images")
    result = invoke("data", "download", "--dataset", "mine", "--dest", "mine", "--mirror", "http://127.0.0.1:9",
                    "--retries", "1", "--timeout", "1")  # 9: a closed port, never reached
    refused(result, 2, "--dest", "train-images-idx3-ubyte.gz", "--force")
    assert (tmp_path / "mine" / "train-images-idx3-ubyte.gz").read_bytes() == b"the user's own images"


@pytest.mark.parametrize("command, option, name", [
    ("run", "--save", "train-images-idx3-ubyte.gz"),
    ("run", "--json", "t10k-labels-idx1-ubyte.gz"),
    ("gradcheck", "--json", "t10k-labels-idx1-ubyte.gz"),
])
def test_an_output_never_replaces_a_dataset_file_even_with_force(tmp_path, command, option, name):  # 23.4
    data_dir = write_dataset(tmp_path / "d")
    before = (data_dir / name).read_bytes()
    args = ["--impl", "numpy", "--sizes", "16,4,3"] + (["--epochs", "1", "-q"] if command == "run" else [])
    result = invoke(command, *args, "--data-dir", data_dir, option, data_dir / name, "--force")
    refused(result, 2, option, "reads")
    assert (data_dir / name).read_bytes() == before

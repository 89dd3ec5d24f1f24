"""Downloads against a local HTTP server on 127.0.0.1 (started and stopped here; nothing
else is contacted): good, missing, corrupt, cut-off and silent mirrors. The outcome is
always the verified files or a clear error, never a corrupt file in place."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from click.testing import CliRunner

from compare.cli import main
from conftest import idx_bytes, write_dataset
from shared.data import DEFAULT_DATA_DIR, load_dataset
from shared.download import DownloadError, RemoteFile, download_file

SILENT_SECONDS = 2.0  # how long the silent mirror keeps a request waiting (bounded)
TRICKLE_SECONDS = 5.0  # how long the trickling mirror keeps sending
MAX_REQUESTS = 200


class Mirrors(BaseHTTPRequestHandler):
    """/good/F, /missing/F (404), /corrupt/F (bytes flipped), /cut/F (the first answer
    stops halfway; Range requests are honoured), /norange/F (cut once, ignores Range),
    /silent/F (never answers in time)."""

    files: dict[str, bytes] = {}
    requests: list[tuple[str, str | None]] = []
    cut_once: set[str] = set()

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        type(self).requests.append((self.path, self.headers.get("Range")))
        if len(self.requests) > MAX_REQUESTS:
            self.send_error(503)
            return
        kind, _, name = self.path.strip("/").partition("/")
        data = self.files.get(name)
        if kind == "missing" or data is None:
            self.send_error(404)
            return
        if kind == "silent":
            time.sleep(SILENT_SECONDS)
            return
        if kind == "busy" and f"busy/{name}" not in self.cut_once:  # 503 once, then the file
            type(self).cut_once.add(f"busy/{name}")
            self.send_error(503)
            return
        if kind == "nolength":  # half the file, no Content-Length, then the connection closes
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if kind == "trickle":  # one byte every 0.1 s, for at most TRICKLE_SECONDS
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            stop = time.monotonic() + TRICKLE_SECONDS
            for byte in data:
                if time.monotonic() > stop:
                    break
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)
            return
        if kind == "corrupt":
            data = data[:100] + bytes(b ^ 0xFF for b in data[100:200]) + data[200:]
        start = 0
        range_header = self.headers.get("Range")
        if range_header and kind == "cut":
            start = int(range_header.split("=")[1].rstrip("-"))
        key = f"{kind}/{name}"
        cut = kind in ("cut", "norange") and key not in self.cut_once
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if cut:
            type(self).cut_once.add(key)
            self.wfile.write(data[start : start + (len(data) - start) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the connection drops mid-file
            return
        self.wfile.write(data[start:])


@pytest.fixture
def server():
    Mirrors.files, Mirrors.requests, Mirrors.cut_once = {}, [], set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Mirrors)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def remote(server):
    data = gzip.compress(idx_bytes(np.arange(256 * 40) % 256))
    Mirrors.files["file.gz"] = data
    return RemoteFile("file.gz", hashlib.md5(data).hexdigest()), data


def fetch(remote_file, mirrors, dest, **kwargs):
    return download_file(remote_file, mirrors, dest, timeout=kwargs.pop("timeout", 5), backoff=0.01, **kwargs)


def test_good_mirror(server, remote, tmp_path):
    remote_file, data = remote
    path = fetch(remote_file, [f"{server}/good"], tmp_path)
    assert path.read_bytes() == data
    assert list(tmp_path.iterdir()) == [path]  # no partial file left


def test_404_then_a_good_mirror(server, remote, tmp_path):
    remote_file, data = remote
    lines = []
    path = fetch(remote_file, [f"{server}/missing", f"{server}/good"], tmp_path, echo=lines.append)
    assert path.read_bytes() == data
    assert any("HTTP 404" in line for line in lines)


def test_corrupt_file_is_deleted_and_the_next_mirror_used(server, remote, tmp_path):
    remote_file, data = remote
    path = fetch(remote_file, [f"{server}/corrupt", f"{server}/good"], tmp_path)
    assert path.read_bytes() == data


def test_corrupt_everywhere_leaves_nothing(server, remote, tmp_path):
    remote_file, _ = remote
    with pytest.raises(DownloadError, match="checksum mismatch"):
        fetch(remote_file, [f"{server}/corrupt"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cut_connection_is_resumed_with_a_range_request(server, remote, tmp_path):
    remote_file, data = remote
    path = fetch(remote_file, [f"{server}/cut"], tmp_path)
    assert path.read_bytes() == data
    ranges = [r for p, r in Mirrors.requests if p.startswith("/cut/")]
    assert ranges[0] is None and ranges[1] == f"bytes={len(data) // 2}-"


def test_cut_connection_restarts_where_range_is_ignored(server, remote, tmp_path):
    remote_file, data = remote
    assert fetch(remote_file, [f"{server}/norange"], tmp_path).read_bytes() == data


def test_silent_mirror_times_out_then_the_next_is_used(server, remote, tmp_path):
    remote_file, data = remote
    start = time.monotonic()
    path = fetch(remote_file, [f"{server}/silent", f"{server}/good"], tmp_path, timeout=0.3, retries=2)
    assert path.read_bytes() == data
    assert time.monotonic() - start < SILENT_SECONDS * 2 + 2


def test_all_mirrors_down_is_a_clear_error(server, remote, tmp_path):
    remote_file, _ = remote
    with pytest.raises(DownloadError) as caught:
        fetch(remote_file, [f"{server}/missing", f"{server}/silent"], tmp_path, timeout=0.2, retries=1)
    assert "file.gz: no mirror gave a verified copy" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_cli_downloads_mnist_from_a_local_mirror_and_verifies_it(server, tmp_path):
    for path in DEFAULT_DATA_DIR.glob("*.gz"):
        Mirrors.files[path.name] = path.read_bytes()
    dest = tmp_path / "mnist"
    result = CliRunner().invoke(main, ["data", "download", "--dest", str(dest), "--mirror", f"{server}/missing",
                                       "--mirror", f"{server}/cut", "--timeout", "5"])
    assert result.exit_code == 0, result.output
    assert "checksums verified: 60,000 training and 10,000 test images" in result.output
    assert load_dataset(dest).verified
    again = CliRunner().invoke(main, ["data", "download", "--dest", str(dest), "--mirror", f"{server}/missing"])
    assert again.exit_code == 0 and again.output.count("already there, verified") == 4


def test_cli_unknown_dataset_with_md5s_and_without(server, tmp_path):
    source = write_dataset(tmp_path / "source")
    md5s = []
    for path in source.iterdir():
        Mirrors.files[path.name] = path.read_bytes()
        md5s += ["--md5", f"{path.name}={hashlib.md5(path.read_bytes()).hexdigest()}"]
    result = CliRunner().invoke(main, ["data", "download", "--dataset", "tiny", "--dest", str(tmp_path / "a"),
                                       "--mirror", f"{server}/good", *md5s])
    assert result.exit_code == 0, result.output
    assert result.output.count(": verified") == 4 and "3 classes" in result.output
    result = CliRunner().invoke(main, ["data", "download", "--dataset", "tiny", "--dest", str(tmp_path / "b"),
                                       "--mirror", f"{server}/good"])
    assert result.exit_code == 0 and result.output.count("UNVERIFIED") == 4
    wrong = ["--md5", f"train-images-idx3-ubyte.gz={'0' * 32}"]
    result = CliRunner().invoke(main, ["data", "download", "--dataset", "tiny", "--dest", str(tmp_path / "c"),
                                       "--mirror", f"{server}/good", "--retries", "1", *wrong])
    assert result.exit_code == 1 and "checksum mismatch" in result.output
    assert not (tmp_path / "c" / "train-images-idx3-ubyte.gz").exists()


def test_verify_command(tmp_path):
    ok = CliRunner().invoke(main, ["data", "verify"])
    assert ok.exit_code == 0 and "mnist, checksums verified" in ok.output
    bad = CliRunner().invoke(main, ["data", "verify", str(tmp_path)])
    assert bad.exit_code == 1 and "train-images-idx3-ubyte.gz: file not found" in bad.output


# -- issue 9: never a half file in place, retries where they help, every mirror in the error -----------
def test_a_mirror_closing_early_without_length_never_puts_a_half_file_in_place(server, tmp_path):
    """The issue's case: no Content-Length, no known checksum, the connection closes halfway:
    the half-size file used to be renamed into place as UNVERIFIED."""
    source = write_dataset(tmp_path / "source")
    for path in source.iterdir():
        Mirrors.files[path.name] = path.read_bytes()
    dest = tmp_path / "dest"
    result = CliRunner().invoke(main, ["data", "download", "--dataset", "tiny", "--dest", str(dest),
                                       "--mirror", f"{server}/nolength", "--retries", "2"])
    assert result.exit_code == 1, result.output
    assert "not a complete IDX file" in result.output and "no mirror gave a complete copy" in result.output
    assert "unverified" in result.output  # said before the download
    assert not dest.exists() or [p.name for p in dest.iterdir()] == []


def test_unknown_dataset_from_a_good_mirror_is_said_to_be_unverified(server, tmp_path):
    source = write_dataset(tmp_path / "source")
    for path in source.iterdir():
        Mirrors.files[path.name] = path.read_bytes()
    result = CliRunner().invoke(main, ["data", "download", "--dataset", "tiny", "--dest", str(tmp_path / "d"),
                                       "--mirror", f"{server}/good"])
    assert result.exit_code == 0, result.output
    assert result.output.count("UNVERIFIED") == 4 and "no known checksums (unverified)" in result.output


def test_503_is_retried(server, remote, tmp_path):
    remote_file, data = remote
    lines = []
    assert fetch(remote_file, [f"{server}/busy"], tmp_path, echo=lines.append).read_bytes() == data
    assert any("HTTP 503" in line and "retrying" in line for line in lines), lines


def test_a_trickling_server_meets_the_whole_transfer_deadline(server, remote, tmp_path):
    remote_file, _ = remote
    start = time.monotonic()
    with pytest.raises(DownloadError, match="deadline"):
        fetch(remote_file, [f"{server}/trickle"], tmp_path, timeout=2, retries=1, deadline=0.8)
    assert time.monotonic() - start < 3
    assert list(tmp_path.iterdir()) == []


def test_the_error_lists_every_mirror_and_never_promises_one_more(server, remote, tmp_path):
    remote_file, _ = remote
    lines = []
    mirrors = [f"{server}/missing", f"{server}/corrupt", "http://127.0.0.1:9"]  # 9: a closed port
    with pytest.raises(DownloadError) as caught:
        fetch(remote_file, mirrors, tmp_path, retries=2, echo=lines.append)
    message = str(caught.value)
    assert "3 tried" in message
    for mirror in mirrors:
        assert mirror in message
    assert "no more mirrors" in lines[-1] and "trying the next mirror" not in lines[-1]


@pytest.mark.parametrize("args,words", [
    (["--md5", "nosuchfile.gz=" + "0" * 32], "'nosuchfile.gz' is not one of the files"),
    (["--md5", "train-images-idx3-ubyte.gz=" + "z" * 32], "32 hexadecimal digits"),
    (["--mirror", "notaurl"], "'notaurl' is not an http:// or https:// URL"),
    (["--mirror", "http://127.0.0.1:99999999/"], "is not a URL"),
    (["--dataset", "mnist", "--md5", "train-images-idx3-ubyte.gz=" + "0" * 32], "checksums are built in"),
])
def test_bad_download_options_are_one_line(args, words, tmp_path):
    dataset = [] if "--dataset" in args else ["--dataset", "tiny"]
    result = CliRunner().invoke(main, ["data", "download", *dataset, "--dest", str(tmp_path / "d"),
                                       "--mirror", "http://127.0.0.1:9/", *args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and words in errors[0], result.output
    assert "Traceback" not in result.output

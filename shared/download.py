"""Getting the four IDX files safely: mirrors, retries, resumption, checksums, atomic rename.

The original MNIST host has answered 403/503 for years, and half-downloaded .gz files
surface later as baffling errors. So: a list of mirrors tried in order, a timeout on
every socket operation, a few retries with back-off, a partial file resumed with an
HTTP Range request where the server allows it (restarted where not), and a file is
renamed into place only after its checksum matched (for a dataset without known checksums:
only after it parsed as a complete IDX file). A file that fails its checksum is deleted and
the next mirror is tried; 429 and 5xx answers are retried; a whole-transfer deadline stops a
server that trickles. The result is the verified files or an error naming every mirror tried.
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import stat
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from shared.data import FILE_STEMS, KNOWN_CHECKSUMS
from shared.idx import IMAGES_MAGIC, LABELS_MAGIC, DataError, parse_idx, read_bytes

CHUNK = 1 << 16
RETRIED_STATUS = {429, 500, 502, 503, 504}  # the server is busy or failing for now: worth another try


@dataclass(frozen=True)
class RemoteFile:
    name: str  # as on the server, e.g. "train-images-idx3-ubyte.gz"
    gz_md5: str | None = None  # MD5 of the file as served
    content_md5: str | None = None  # MD5 of its uncompressed content

    @property
    def verifiable(self) -> bool:
        return bool(self.gz_md5 or self.content_md5)


def _mnist_files() -> list[RemoteFile]:
    # The .gz MD5s of the files on the public mirrors; the content MD5s match any
    # recompression (such as the copy this project carries).
    served = {"train_images": "f68b3c2dcbeaaa9fbdd348bbdeb94873", "train_labels": "d53e105ee54ea40749a09fcbcd1e9432",
              "test_images": "9fb629c4189551a2d022fa330f9573f3", "test_labels": "ec29112dd5afa0611ce80d1b7f02629c"}
    return [RemoteFile(f"{FILE_STEMS[key]}.gz", served[key], KNOWN_CHECKSUMS["mnist"][key]) for key in FILE_STEMS]


def _fashion_files() -> list[RemoteFile]:
    served = {"train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
              "test_images": "bef4ecab320f06d8554ea6380940ec79", "test_labels": "bb300cfdad3c16e7a12a480ee83cd310"}
    return [RemoteFile(f"{FILE_STEMS[key]}.gz", served[key]) for key in FILE_STEMS]


# name -> (mirrors tried in order, files with their checksums)
DATASETS: dict[str, tuple[list[str], list[RemoteFile]]] = {
    "mnist": (
        [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "https://yann.lecun.com/exdb/mnist/",
        ],
        _mnist_files(),
    ),
    "fashion-mnist": (
        [
            "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ],
        _fashion_files(),
    ),
}


class DownloadError(RuntimeError):
    """No mirror gave a verified file; the message says what each one did."""


class ChecksumMismatch(Exception):
    pass


class IncompleteFile(Exception):
    """The transfer ended, but what arrived is not a complete IDX file."""


def check_complete(path: Path, name: str) -> None:
    """Raise IncompleteFile unless `path` parses as a whole IDX file (gzipped or not): a server
    that closes early without a Content-Length leaves a file that looks finished but is not."""
    magic = IMAGES_MAGIC if "images" in name else LABELS_MAGIC if "labels" in name else None
    try:
        content = read_bytes(path)
        if magic is None:  # a file of another name: any IDX of unsigned bytes
            magic = int.from_bytes(content[:4], "big") if len(content) >= 4 and content[2] == 0x08 else IMAGES_MAGIC
        parse_idx(content, path, magic)
    except DataError as error:
        raise IncompleteFile(f"not a complete IDX file ({error.problem})") from None


def verify_file(path: Path, remote: RemoteFile) -> str | None:
    """None when the file matches a known checksum, else what is wrong."""
    data = path.read_bytes()
    if remote.gz_md5 and hashlib.md5(data).hexdigest() == remote.gz_md5:
        return None
    if remote.content_md5:
        try:
            content = read_bytes(path)  # the loader's own gzip-or-raw reading
        except DataError:
            return "corrupt gzip data"
        if hashlib.md5(content).hexdigest() == remote.content_md5:
            return None
    return f"checksum mismatch (MD5 {hashlib.md5(data).hexdigest()})"


def fetch(url: str, part: Path, timeout: float, progress: Callable[[int, int | None], None] | None,
          deadline: float = math.inf) -> None:
    """Download url into `part`, resuming from its current size when the server allows.

    `timeout` bounds each wait on the socket; `deadline` (seconds) the whole transfer, so a
    server that trickles a byte now and then cannot keep it going for ever."""
    stop = time.monotonic() + deadline
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "mnist-three-ways"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = have and response.status == 206
        if not resumed:
            have = 0  # the server sent the whole file: start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None and length.isdigit() else None
        mode = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if resumed else os.O_TRUNC)
        with os.fdopen(os.open(part, mode, 0o644), "ab" if resumed else "wb") as file:
            done = have
            while True:
                chunk = response.read1(CHUNK)  # what has arrived, not a full CHUNK: the deadline is checked often
                if not chunk:
                    break
                file.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
                if time.monotonic() > stop:
                    raise TimeoutError(f"the transfer took longer than the {deadline:g} s deadline")
            file.flush()
            os.fsync(file.fileno())
        if total is not None and done < total:
            raise http.client.IncompleteRead(b"", total - done)


def download_file(
    remote: RemoteFile,
    mirrors: list[str],
    dest: Path,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    echo: Callable[[str], None] = lambda line: None,
    progress_factory: Callable[[str], Callable[[int, int | None], None]] | None = None,
    deadline: float = 600.0,
) -> Path:
    """Fetch one file from the first mirror that gives a verified (or, without a known checksum,
    at least complete) copy; rename it into place."""
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / remote.name
    part = dest / f".{remote.name}.part"
    if os.path.lexists(part) and not stat.S_ISREG(os.lstat(part).st_mode):  # never follow a planted link
        raise DownloadError(f"{part} is not a regular file (a symbolic link?); remove it if it is not yours")
    failures = {}  # mirror URL -> what it did last
    for index, mirror in enumerate(mirrors):
        url = mirror.rstrip("/") + "/" + remote.name
        then = "trying the next mirror" if index + 1 < len(mirrors) else "no more mirrors"
        for attempt in range(1, retries + 1):
            retry = False
            try:
                progress = progress_factory(remote.name) if progress_factory else None
                fetch(url, part, timeout, progress, deadline)
                if remote.verifiable:  # a file that matches its checksum is complete
                    problem = verify_file(part, remote)
                    if problem:
                        raise ChecksumMismatch(problem)
                else:
                    check_complete(part, remote.name)
                os.replace(part, final)  # atomic: the file is whole and verified, or absent
                return final
            except ChecksumMismatch as error:
                part.unlink(missing_ok=True)  # never keep or resume from a bad file
                failures[url] = str(error)
                echo(f"  {url}: {error}; {then}")
                break
            except IncompleteFile as error:
                part.unlink(missing_ok=True)  # it cannot be resumed either: nothing says where it stopped
                failures[url], retry = str(error), True
            except urllib.error.HTTPError as error:
                failures[url] = f"HTTP {error.code} {error.reason}"
                if error.code == 416:  # the partial file is bad for this server
                    part.unlink(missing_ok=True)
                if error.code in RETRIED_STATUS:
                    retry = True
                else:
                    echo(f"  {url}: HTTP {error.code}; {then}")
                    break  # the server answered: retrying will not change its mind
            except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError, OSError) as error:
                reason = getattr(error, "reason", None) or str(error) or error.__class__.__name__
                failures[url], retry = str(reason), True
            if retry:
                if attempt < retries:
                    wait = backoff * 2 ** (attempt - 1)
                    echo(f"  {url}: {failures[url]}; retrying in {wait:g} s ({attempt}/{retries - 1})")
                    time.sleep(wait)
                else:
                    echo(f"  {url}: {failures[url]}; {then}")
    part.unlink(missing_ok=True)
    tried = "; ".join(f"{url}: {what}" for url, what in failures.items()) or "no mirrors"
    kind = "verified" if remote.verifiable else "complete"
    raise DownloadError(f"{remote.name}: no mirror gave a {kind} copy ({len(failures)} tried: {tried})")


def files_for(dataset: str, md5s: dict[str, str]) -> list[RemoteFile]:
    """The four files of a known dataset, or of an unknown one with the MD5s given (by file name)."""
    if dataset in DATASETS:
        return DATASETS[dataset][1]
    return [RemoteFile(f"{stem}.gz", md5s.get(f"{stem}.gz")) for stem in FILE_STEMS.values()]

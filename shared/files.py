"""Reading a file the user named, safely: only a regular file (a FIFO would wait forever for a
writer, /dev/zero never ends), and never more than a limit (a results or settings file is
kilobytes to megabytes; a larger one is refused unread)."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class NotReadable(OSError):
    """The path is not a regular file, or is larger than the limit; str() says which."""


KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str | None:
    """What a file of this mode is when it is not a regular file ("a directory", ...), else None."""
    return next((name for test, name in KINDS if test(mode)), None)


def file_kind(path: Path) -> str | None:
    """What a path that exists but is not a regular file is ("a directory", "a FIFO ..."), else None."""
    try:
        return kind_of(Path(path).stat().st_mode)
    except OSError:
        return None


def read_regular(path: Path | str, limit: int) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them. Raises NotReadable for
    anything else (opened without blocking and checked before a byte is read), and the OSError
    of a file that cannot be opened (FileNotFoundError, PermissionError, ...)."""
    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO's open would wait for a writer
    try:
        mode, size = os.fstat(handle).st_mode, os.fstat(handle).st_size
        if not stat.S_ISREG(mode):
            raise NotReadable(f"{path} is {kind_of(mode) or 'a special file'}, not a regular file")
        if size > limit:
            raise NotReadable(f"{path} is {size_text(size)}, more than the {size_text(limit)} such a file can be")
        with os.fdopen(handle, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    finally:
        os.close(handle)
    if len(data) > limit:  # grown since fstat
        raise NotReadable(f"{path} is more than the {size_text(limit)} such a file can be")
    return data


def size_text(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{count:,} bytes"

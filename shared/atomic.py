"""Writing files so that a crash or Ctrl-C never leaves half of one behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over
    `path`: readers see the old file or the new one, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise named(error, path) from None
    try:
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes it private (0600)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):  # a full disk says so of the file the caller named, not of its temporary
            raise named(error, path) from None
        raise


def named(error: OSError, path: Path) -> OSError:
    """The same error (ENOSPC, EDQUOT, ...), naming `path`."""
    return OSError(error.errno, error.strerror or str(error), str(path))


def atomic_write_text(path: Path | str, text: str) -> None:
    """UTF-8; a name of bytes that are not UTF-8 (a surrogate, as Python reads it) is shown as '?'."""
    atomic_write_bytes(path, text.encode("utf-8", errors="replace"))


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

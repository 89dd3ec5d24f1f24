"""The exercise: a starting implementation, complete except the four equations.

    write_exercise("ex")                  # ex/my_mlp.py, in the style of the scratch loop
    write_exercise("ex", style="numpy")   # the same exercise in NumPy, a batch at a time

Each equation is a method whose body is a marked TODO citing it and the book's section,
raising NotImplementedError until it is written; `compare check ex/my_mlp.py` then reports
the four as not implemented, and once they are filled in correctly, passes. The templates
are package files (compare/check/templates/). Nothing is ever written over: the file is
written beside its place under a temporary name and linked into place only if no file of
that name exists, so a learner's work is never lost and a half-written file never seen.
"""

from __future__ import annotations

import os
import tempfile
from importlib.resources import files
from pathlib import Path

from compare.wording import shown_path

STYLES = {
    "scratch": "pure Python, one sample at a time, as impls/scratch_mlp.py",
    "numpy": "NumPy, a batch at a time, as impls/numpy_mlp.py",
}
FILE_NAME = "my_mlp.py"


class ExerciseError(ValueError):
    """Why the exercise could not be written; one line. `refused`: the place given was
    refused (a usage error), not a write that failed."""

    def __init__(self, message: str, refused: bool = True):
        super().__init__(message)
        self.refused = refused


def template(style: str, path: str = FILE_NAME) -> str:
    """The exercise's text; the commands in its docstring name the file as `path`, the way the
    learner who wrote it there types it (ex/my_mlp.py, not my_mlp.py, from the folder above)."""
    if style not in STYLES:
        raise ExerciseError(f"style must be one of {', '.join(STYLES)}; got {style!r}")
    text = (files("compare.check") / "templates" / f"{style}.py.tmpl").read_text(encoding="utf-8")
    return text.replace("{MY_MLP}", path)


def write_exercise(directory: Path | str, style: str = "scratch") -> Path:
    """Write DIRECTORY/my_mlp.py (the directory is created if need be); returns its path.
    Raises ExerciseError, and writes nothing, when that file exists or cannot be made."""
    directory = Path(directory)
    target = directory / FILE_NAME
    text = template(style, shown_path(target))
    if target.exists() or target.is_symlink():
        raise ExerciseError(f"{target} already exists: nothing was written (move it away, or choose another directory)")
    if directory.exists() and not directory.is_dir():
        raise ExerciseError(f"{directory} is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        write_new_file(target, text)
    except FileExistsError:
        raise ExerciseError(f"{target} already exists: nothing was written (move it away, or choose another directory)") from None
    except OSError as error:
        raise ExerciseError(f"cannot write {target}: {error.strerror or error}", refused=False) from None
    return target


def write_new_file(path: Path, text: str) -> None:
    """Create `path` holding `text`, all at once, and only if it does not exist: the text goes
    to a temporary file beside it, flushed to disk, which is then hard-linked to its name (an
    operation that fails, atomically, if the name is taken) and its temporary name removed."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: exclusive creation, then the text
            with open(path, "x", encoding="utf-8") as file:
                file.write(text)
    finally:
        Path(temporary).unlink(missing_ok=True)

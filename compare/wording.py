"""Words and numbers said the same way in the console and in the report."""

from __future__ import annotations

import os
from pathlib import Path


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 epoch`, `3 epochs`."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def vs_fastest(speed: float, fastest: float) -> str:
    """The one speed convention of the console and the report: against the fastest."""
    return "fastest" if speed >= fastest else f"{fastest / speed:,.1f}x slower"


def shown_path(path: Path | str) -> str:
    """A path as the user would type it: relative to the working directory when inside it,
    so printed output and reports hold no machine's absolute paths."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)

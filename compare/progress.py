"""Progress for work that takes more than a moment, on standard error so standard output
stays the results: a tqdm bar on a terminal, one line saying what is under way elsewhere
(CI logs, pipes), so a long step is never a silent wait. Off with --quiet or --json."""

from __future__ import annotations

import sys

import click

from compare.wording import plural


class Progress:
    """`with Progress("checking gradients", total=12, unit="tensor") as progress: progress.update()`."""

    def __init__(self, description: str, total: int, unit: str = "step", enabled: bool = True):
        self.description, self.total, self.unit, self.enabled = description, total, unit, enabled
        self.bar, self.done = None, 0

    def __enter__(self) -> "Progress":
        if not self.enabled:
            return self
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=self.description, unit=f" {self.unit}", leave=False,
                            file=sys.stderr, dynamic_ncols=True)
        else:
            click.echo(f"{self.description} ({plural(self.total, self.unit)}) ...", err=True)
        return self

    def update(self, count: int = 1, note: str = "") -> None:
        self.done += count
        if self.bar is not None:
            self.bar.update(count)
            if note:
                self.bar.set_postfix_str(note, refresh=False)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


"""Progress for work that takes more than a moment, on standard error so standard output
stays the results: a tqdm bar on a terminal, one line saying what is under way elsewhere
(CI logs, pipes), so a long step is never a silent wait. Off with --quiet or --json."""

from __future__ import annotations

import sys
import time

import click

from compare.wording import plural


class Progress:
    """`with Progress("checking gradients", total=12, unit="check") as progress: progress.update()`.

    Off a terminal, work that goes on says where it is every LINE_SECONDS, with the time left."""

    LINE_SECONDS = 15.0

    def __init__(self, description: str, total: int, unit: str = "step", enabled: bool = True, clock=None):
        self.description, self.total, self.unit, self.enabled = description, total, unit, enabled
        self.bar, self.done = None, 0
        self.clock = clock or time.monotonic
        self.start = self.last_line = self.clock()

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
        elif self.enabled and self.clock() - self.last_line >= self.LINE_SECONDS and 0 < self.done < self.total:
            from shared.training import format_duration

            now = self.clock()
            left = (now - self.start) * (self.total - self.done) / self.done
            click.echo(f"{self.description}: {self.done:,} of {plural(self.total, self.unit)}, about "
                       f"{format_duration(left)} left", err=True)
            self.last_line = now

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


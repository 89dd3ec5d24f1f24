"""Long runs announce themselves: an estimate before training, progress while it lasts.

The pure-Python implementations take minutes per epoch on all 60,000 images (autograd
more than scratch). Before such a run starts, a short probe on a throwaway copy times it
(shared.training.estimate_training) and the estimate is printed; during it, a terminal
shows the progress bar, and anything else (a pipe, CI, a log file) gets a plain line every
tenth of an epoch.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

from compare.wording import plural
from impls import build
from shared.config import Config
from shared.params import Params
from shared.training import Split, estimate_training, format_duration

LONG_SECONDS = 30.0  # runs estimated longer than this print the estimate and progress lines
PROBE_MIN_SAMPLES = 10_000  # smaller runs finish quickly whatever runs them: no probe


def announce(name: str, config: Config, params: Params, split: Split, echo: Callable[[str], None]) -> bool:
    """Print the estimated time of training `name` when it is long; True when it is."""
    if len(split.x_train) * config.epochs < PROBE_MIN_SAMPLES:
        return False
    estimate = estimate_training(build(name, config, params), split, config)
    if estimate.seconds < LONG_SECONDS:
        return False
    echo(f"  estimated time: about {format_duration(estimate.seconds)} for {plural(config.epochs, 'epoch')} "
         f"of {len(split.x_train):,} images and the evaluations "
         f"(about {estimate.train_rate:,.0f} images/s in a probe of {estimate.probe_samples:,} images)")
    return True


class ProgressLines:
    """A plain line every tenth of an epoch, for output that is not a terminal (where the
    progress bar stays silent). The rate is measured from the epoch's first report on."""

    def __init__(self, name: str, echo: Callable[[str], None]):
        self.name, self.echo = name, echo
        self.first: tuple[float, int] | None = None  # (time, samples done) at the epoch's first report
        self.last_done, self.next_tenth = 0, 1

    def update(self, done: int, total: int, loss: float) -> None:
        now = time.perf_counter()
        if self.first is None or done <= self.last_done:  # the first report of an epoch
            self.first, self.next_tenth = (now, done), done * 10 // total + 1
        self.last_done = done
        start, start_done = self.first
        if done * 10 < self.next_tenth * total or done >= total or now <= start:
            return
        rate = (done - start_done) / (now - start)
        self.echo(f"  {self.name}: {done / total:.0%} of the epoch, {rate:,.0f} images/s, "
                  f"about {format_duration((total - done) / rate)} left in it, loss {loss:.4f}")
        self.next_tenth = done * 10 // total + 1


def progress_lines_wanted(long_run: bool, progress: bool) -> bool:
    return long_run and progress and not sys.stdout.isatty()

"""What `compare run` prints while it runs: the setup, a line per epoch, the summary, and
for long runs an estimate before training and progress while it lasts.

The pure-Python implementations take minutes per epoch on all 60,000 images (autograd
more than scratch). Before such a run starts, a short probe on a throwaway copy times it
(shared.training.estimate_training) and the estimate is printed; during it, a terminal
shows a progress bar, and anything else (a pipe, CI, a log file) gets a plain line every
tenth of an epoch.
"""

from __future__ import annotations

import sys
import time
from itertools import combinations
from typing import Callable

import numpy as np

from compare.blocks import to_text
from compare.wording import describe_network, epochs_trained, plural, shown_path, summary_table
from shared.config import HALVINGS, Config
from shared.data import Dataset
from shared.expansion import copies
from shared.params import max_abs_difference
from shared.training import Estimate, EpochStats, Split, format_duration

LONG_SECONDS = 30.0  # runs estimated longer than this print the estimate and progress lines
PROBE_MIN_SAMPLES = 10_000  # smaller runs finish quickly whatever runs them: no probe


def describe(config: Config, dataset: Dataset, counts: dict, start_epoch: int = 1) -> list[str]:
    """The run's first lines: the data, the network, the training (of a resumed run: which
    epochs, counted on from the checkpoint's). counts: the images trained on, held out for
    validation and tested on (compare.run.outcome.Outcome.counts)."""
    verified = "checksums verified" if dataset.verified else "unverified: no known checksums"
    expanded = (f" ({counts['train_images'] // copies(config.expand):,} expanded by {config.expand})"
                if config.expand != "none" else "")
    validation = f", {counts['validation_images']:,} validation" if counts["validation_images"] else ""
    return [
        f"data      {dataset.name} ({verified}): {counts['train_images']:,} training{expanded}{validation} and "
        f"{counts['test_images']:,} test images from {shown_path(dataset.directory)}",
        f"network   {describe_network(config)}",
        f"training  {epochs_trained(config.epochs, start_epoch)} of mini-batch SGD, batch {config.batch_size}, "
        f"learning rate {config.lr:g}{schedule_text(config)}, seed {config.seed}, {config.dtype}",
    ] + ([f"          {line}" for line in protocol_lines(config, counts)])


def protocol_lines(config: Config, counts: dict) -> list[str]:
    """The book's protocol, when the run follows it: what is evaluated when, and when it ends."""
    lines = []
    if counts["validation_images"]:
        lines.append("evaluated on the validation set after every epoch, on the test set once at the end")
    if config.patience:
        reaction = (f"the learning rate is halved, the run ending at 1/{2 ** HALVINGS} of {config.lr:g}"
                    if config.schedule == "halve" else "the run ends")
        lines.append(f"when the validation accuracy has not improved for {plural(config.patience, 'epoch')}, {reaction}")
    return lines


def schedule_text(config: Config) -> str:
    parts = [{"cosine": " (cosine decay)", "halve": " (halved on plateaus)"}.get(config.schedule, "")]
    if config.momentum:
        parts.append(f", momentum {config.momentum:g}")
    if config.l2:
        parts.append(f", L2 lambda {config.l2:g} (weight decay lambda/n = {config.weight_decay:.3g})")
    elif config.weight_decay:
        parts.append(f", weight decay {config.weight_decay:g}")
    return "".join(parts)


def format_epoch(stats: EpochStats) -> str:
    """One line per epoch: the set evaluated after it (validation, or test), and the test set too
    when it was evaluated after a validation run's last epoch."""
    watched, loss, accuracy = stats.watched
    test = (f"  test {stats.test_accuracy:.2%}" if watched == "validation" and stats.test_accuracy is not None
            else "")
    return (
        f"  epoch {stats.epoch:>2}  loss {stats.train_loss:.4f}  {watched} loss {loss:.4f}  "
        f"accuracy {accuracy:.2%}{test}  train {stats.train_seconds:6.2f} s  "
        f"eval {stats.eval_seconds:5.2f} s  {stats.samples_per_second:>9,.0f} samples/s"
    )


# Below this, one timing of a run is too short to rank implementations by: 0.03 s of training on
# 2,000 images put tensor at 1.12x of numpy's time, against 1.4x in a bench (the default run's 0.7 s: 1.3x).
SHORT_TRAINING_SECONDS = 0.2


def summary_lines(results) -> list[str]:
    """The summary table after the training (results: compare.run.outcome.ImplResult), and when
    some training was too short for its speed to mean much, a line saying so and where to look."""
    table = summary_table([{"name": "", "implementations": [r.to_dict() for r in results]}], detailed=False)
    lines = ["  " + line for line in to_text(table, left=1)]
    shortest = min(sum(e.train_seconds for e in r.history) for r in results)
    if len(results) > 1 and shortest < SHORT_TRAINING_SECONDS:
        lines.append(f"  (speeds from {shortest:.2f} s of training, timed once, are too short to compare: "
                     "`compare bench` times the steps alone, repeated: docs/SPEED.md)")
    return lines


def agreement_lines(results) -> list[str]:
    """After training: how far apart each pair's parameters and test predictions are."""
    lines = []
    for a, b in combinations(results, 2):
        same = float(np.mean(a.predictions == b.predictions))
        lines.append(
            f"  {a.name} vs {b.name}: largest parameter difference "
            f"{max_abs_difference(a.params, b.params):.1e}, same test prediction for {same:.2%} of images"
        )
    return lines


class ProgressBar:
    """A tqdm bar per epoch with samples/s and the running loss; when output is not a
    terminal (CI, pipes) tqdm stays silent and only the epoch lines are printed."""

    def __init__(self, name: str, enabled: bool):
        self.name, self.enabled, self.bar = name, enabled, None

    def update(self, done: int, total: int, loss: float) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=" img", leave=False, disable=None, desc=f"  {self.name}",
                            dynamic_ncols=True, unit_scale=True)
        self.bar.update(done - self.bar.n)
        self.bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
        if done == total:  # the bar stays, saying so, while the test set is evaluated (seconds for scratch)
            self.bar.set_postfix_str(f"loss {loss:.4f}, evaluating")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def worth_probing(config: Config, split: Split) -> bool:
    return len(split.x_train) * config.epochs >= PROBE_MIN_SAMPLES


def run_estimate_line(estimates: dict[str, Estimate], busy: str = "") -> str | None:
    """Before any training: the whole run's expected time, and each implementation's share.
    busy: how busy the machine is, when it is (its load can change the time either way)."""
    total = sum(e.seconds for e in estimates.values())
    if total < LONG_SECONDS:
        return None
    each = ", ".join(f"{name} {format_duration(e.seconds)}" for name, e in estimates.items())
    caveat = f" ({busy}: it may be far off)" if busy else ""
    return (f"\nEstimated time: about {format_duration(total)} for the whole run ({each}), from a short probe of "
            f"each on this machine as it is now{caveat}")


def announce(name: str, config: Config, split: Split, estimate: Estimate | None, echo: Callable[[str], None]) -> bool:
    """Print the estimated time of training `name` when it is long; True when it is."""
    if estimate is None or estimate.seconds < LONG_SECONDS:
        return False
    load = (f", {format_duration(estimate.load_seconds)} of it taking the training set in"
            if estimate.load_seconds >= 1 else "")
    echo(f"  estimated time: about {format_duration(estimate.seconds)} for {plural(config.epochs, 'epoch')} "
         f"of {len(split.x_train):,} images and the evaluations{load} "
         f"(about {estimate.train_rate:,.0f} images/s in a probe of {estimate.probe_samples:,} images)")
    return True


class ProgressLines:
    """A plain line at a tenth of an epoch, for output that is not a terminal (where the
    progress bar stays silent), at most one per LINE_SECONDS: an epoch shorter than that
    prints none (its epoch line says it all). The rate is measured from the epoch's first report."""

    LINE_SECONDS = 15.0

    def __init__(self, name: str, echo: Callable[[str], None], clock: Callable[[], float] | None = None):
        self.name, self.echo = name, echo
        self.clock = clock or (lambda: time.perf_counter())
        self.first: tuple[float, int] | None = None  # (time, samples done) at the epoch's first report
        self.last_done, self.next_tenth = 0, 1
        self.last_line = self.clock()

    def update(self, done: int, total: int, loss: float) -> None:
        now = self.clock()
        if self.first is None or done <= self.last_done:  # the first report of an epoch
            self.first, self.next_tenth = (now, done), done * 10 // total + 1
        self.last_done = done
        start, start_done = self.first
        if (done * 10 < self.next_tenth * total or done >= total or now <= start
                or now - self.last_line < self.LINE_SECONDS):
            return
        rate = (done - start_done) / (now - start)
        if total / rate < 2 * self.LINE_SECONDS:  # a short epoch: its own line comes soon enough
            return
        self.echo(f"  {self.name}: {done / total:.0%} of the epoch, {rate:,.0f} images/s, "
                  f"about {format_duration((total - done) / rate)} left in it, loss {loss:.4f}")
        self.next_tenth, self.last_line = done * 10 // total + 1, now


def progress_lines_wanted(long_run: bool, progress: bool) -> bool:
    return long_run and progress and not sys.stdout.isatty()

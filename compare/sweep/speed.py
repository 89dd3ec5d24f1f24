"""How much faster a sweep runs on several workers than on one: the same runs, timed whole
(each run's start-up, training and report), one worker and N in turn, in scratch folders.
Rounds alternate which goes first, so a machine's load that changes meanwhile weighs on both."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from compare.run.machine import load_average
from compare.sweep.runs import RunSpec, SweepError, run_all


@dataclass
class Timing:
    workers: int
    seconds: float
    cpu_seconds: float  # used by the runs' processes: over `seconds`, the cores they really got
    load_before: float | None  # the 1-minute load average when it started

    def __str__(self) -> str:
        load = f"load average {self.load_before:.1f} when it started, " if self.load_before is not None else ""
        return (f"{self.workers} worker{'s' if self.workers > 1 else ''}: {self.seconds:.1f} s ({load}"
                f"{self.cpu_seconds / self.seconds:.2f} cores busy on average)")


def measure_speedup(specs: list[RunSpec], workers: int, rounds: int = 1, echo=print) -> list[Timing]:
    """Time the runs on 1 worker and on `workers`, `rounds` times each, alternating."""
    timings = []
    for round_ in range(rounds):
        for count in ((1, workers) if round_ % 2 == 0 else (workers, 1)):
            with tempfile.TemporaryDirectory(prefix="compare-speedup-") as scratch:
                load = load_average()
                start = time.perf_counter()
                results = run_all(specs, Path(scratch) / "sweep", workers=count)
                seconds = time.perf_counter() - start
            failed = [result for result in results if result.status == "failed"]
            if failed:
                raise SweepError(f"run {failed[0].name} failed ({failed[0].reason}): no speed to measure")
            timings.append(Timing(count, seconds, sum(result.cpu_seconds for result in results), load))
            echo(f"  {timings[-1]}")
    return timings


def speedup(timings: list[Timing], workers: int) -> float:
    """Total time on one worker over total time on `workers` (over all rounds)."""
    one = sum(timing.seconds for timing in timings if timing.workers == 1)
    many = sum(timing.seconds for timing in timings if timing.workers == workers)
    return one / many


def cores_busy(timings: list[Timing], workers: int) -> float:
    """Cores the runs on `workers` kept busy on average: below the workers (and the cores), the
    machine did not give them more, whatever the sweep does."""
    return (sum(timing.cpu_seconds for timing in timings if timing.workers == workers)
            / sum(timing.seconds for timing in timings if timing.workers == workers))

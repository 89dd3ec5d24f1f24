"""How many threads to compute with, and whether the machine was too busy to trust a timing.

Threads: BLAS (NumPy) and torch may use every core, but on the small networks of this
project a step is a few matrix products of a few hundred thousand multiply-adds, and
handing those out to threads costs more than it saves. Worse, on a machine that is busy
with something else, torch's threads wait for each other at every operation: measured
here, a torch epoch fell from 12,339 to 1,604 samples/s with two threads under load,
while one thread kept its speed. `auto` therefore uses all cores only where a step has
enough work (`PARALLEL_FLOPS`, from `compare bench --threads-study`) and the machine is
not already busy when training starts; otherwise one thread.

Load: the 1-minute load average (runnable processes) above the number of cores means
something else competed for the processors during the measurement. It lags a minute behind a
process that has just started, so a short measurement also asks the kernel how long its own
threads were ready to run but waited for a core (`Waiting`): a quarter of their time or more means
they were kept from the processors, whatever the load average says yet.

Environment: where the numbers were measured (versions, processor, threads, devices), as a
results file and a bench file record it.
"""

from __future__ import annotations

import os
import platform
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# Floating-point operations of one training step (forward, weight gradients, errors sent
# back, times the batch size) from which all cores are used. Of the benchmark's configs
# only 784-256-10 with batch 128 (1.05e8 per step) is above it; 784-128-10 b64 has 2.6e7.
# `compare bench --threads-study` measures 1 thread against all cores on each config,
# quiet and busy, and says whether this rule picks the faster one.
PARALLEL_FLOPS = 1e8


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average, or None where the system does not tell."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def load_now() -> float | None:
    """The load as it is now: the 1-minute average lags a minute behind a process that
    just started burning, so the larger of it and the processes runnable at this moment
    (from /proc/loadavg, this one not counted)."""
    average = load_average()
    try:
        running = int(open("/proc/loadavg").read().split()[3].split("/")[0]) - 1
    except (OSError, IndexError, ValueError):
        return average
    return max(average or 0.0, float(running))


def is_busy(load: float | None, core_count: int) -> bool:
    """More runnable processes than cores on average: timings are not to be trusted."""
    return load is not None and load > core_count


# Measured here by `compare bench --quick`: 0-15% quiet (the most on the two-thread config, the
# bench's own threads taking turns), 33-55% beside one CPU-burning process per core.
WAITING_LIMIT = 0.25
MIN_RUNNING_SECONDS = 0.2  # under this, a few milliseconds' wait would be a large share of nothing


class Waiting:
    """The share of its time this process's threads spent ready to run but waiting for a
    core, between `Waiting()` and `.share()`: from the kernel's scheduler statistics (Linux,
    /proc/self/task/*/schedstat: nanoseconds on a core, then waiting in a run queue), None
    where the system does not tell. Counted per thread: one that ended meanwhile drops out
    with its counts, one that started meanwhile counts from its start."""

    def __init__(self):
        self.start = thread_schedules()

    def share(self) -> float | None:
        end = thread_schedules()
        if self.start is None or end is None:
            return None
        running = waiting = 0.0
        for thread, (ran, waited) in end.items():
            ran_before, waited_before = self.start.get(thread, (0.0, 0.0))
            running += max(ran - ran_before, 0.0)  # (below 0 only for a thread id reused meanwhile)
            waiting += max(waited - waited_before, 0.0)
        if running < MIN_RUNNING_SECONDS:
            return None
        return waiting / (running + waiting)


def thread_schedules() -> dict[str, tuple[float, float]] | None:
    """For each of this process's threads, the seconds it has run and has waited for a core."""
    try:
        threads = os.listdir("/proc/self/task")
    except OSError:
        return None
    schedules = {}
    for thread in threads:
        try:
            with open(f"/proc/self/task/{thread}/schedstat") as stats:
                on_core, queued = stats.read().split()[:2]
        except (OSError, ValueError):
            continue  # a thread that ended meanwhile, or no statistics kept
        schedules[thread] = (int(on_core) / 1e9, int(queued) / 1e9)
    return schedules or None


def kept_waiting(waited: float | None) -> bool:
    """Threads that waited for a core this share of their time or more (Waiting.share): their
    timings are not to be trusted, whatever the load average says yet."""
    return waited is not None and waited >= WAITING_LIMIT


def busy_signs(load: float | None, core_count: int, waited: float | None = None) -> list[str]:
    """What says the machine was too busy to trust a timing, in words; none when quiet."""
    return ([f"load average {load:.1f} on {core_count} cores"] if is_busy(load, core_count) else []) + (
        [f"its threads waited for a core {waited:.0%} of the time"] if kept_waiting(waited) else [])


def busy_warning(load: float | None, core_count: int, what: str, waited: float | None = None) -> str | None:
    signs = busy_signs(load, core_count, waited)
    if not signs:
        return None
    return (f"warning: the machine was busy during {what} ({', '.join(signs)}): "
            "the speeds measured are unreliable; rerun on a quiet machine to quote them")


def training_flops(sizes) -> int:
    """Floating-point operations of one training sample: forward z = W a (2 in out per
    layer), the weight gradient (2 in out), and the error sent back to the layer below
    (2 in out, not needed for the first layer)."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return sum(6 * n_in * n_out for n_in, n_out in pairs) - 2 * pairs[0][0] * pairs[0][1]


def step_flops(sizes, batch_size: int) -> int:
    """Floating-point operations of one training step."""
    return training_flops(sizes) * batch_size


@dataclass(frozen=True)
class ThreadChoice:
    requested: str  # "auto" or a number, as given
    threads: int
    reason: str

    def to_dict(self) -> dict:
        return {"requested": self.requested, "threads": self.threads, "reason": self.reason}


def choose_threads(requested: str, sizes, batch_size: int, core_count: int | None = None,
                   load: float | None = None) -> ThreadChoice:
    """The threads for BLAS and torch: a number as asked, or `auto` (see the module's
    docstring). `load` is the load average when training starts."""
    core_count = core_count or cores()
    if requested != "auto":
        return ThreadChoice(requested, int(requested), "as asked with --threads")
    work = step_flops(sizes, batch_size)
    if core_count == 1:
        return ThreadChoice("auto", 1, "one core")
    if work < PARALLEL_FLOPS:
        return ThreadChoice("auto", 1, f"a step is {work:.1e} flops, below {PARALLEL_FLOPS:.0e}: "
                                       "threads would cost more than they save")
    if load is not None and load > core_count - 1:
        return ThreadChoice("auto", 1, f"the machine is busy (load average {load:.1f} on {core_count} cores): "
                                       "threads would wait for each other")
    return ThreadChoice("auto", core_count, f"a step is {work:.1e} flops and the machine is quiet")


@contextmanager
def thread_limits(threads: int, with_torch: bool):
    """BLAS limited to `threads` (threadpoolctl) and, when torch is used, torch too;
    both restored afterwards."""
    from threadpoolctl import threadpool_limits

    previous = None
    if with_torch:
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            yield
    finally:
        if previous is not None:
            import torch

            torch.set_num_threads(previous)


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(devices: dict[str, str]) -> dict:
    """Where the numbers were measured: versions, processor, threads, devices."""
    import numpy as np
    from threadpoolctl import threadpool_info

    blas = [
        {key: pool.get(key) for key in ("internal_api", "version", "num_threads")}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    torch_threads = None
    if "torch" in sys.modules:  # only when an implementation that uses torch ran
        torch_threads = sys.modules["torch"].get_num_threads()
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": package_version("torch"),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "blas": blas,
        "torch_threads": torch_threads,
        "devices": devices,
    }

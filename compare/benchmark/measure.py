"""How `compare bench` measures: runners fed as in real use, steps timed interleaved,
the matmul peak, the wall time of `compare --help`, the memory of a run, the accuracy runs.

Fair means: data already in memory as NumPy arrays, training steps only (no loading,
no evaluation), a warm-up first, BLAS and torch thread counts fixed and reported, the
same batches for everyone, repeats interleaved (each round in a rotated order) so a
burst of load on a shared machine hits all of them, median with min and max.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from bench import baseline_class
from compare.benchmark.plan import BATCH_POOL, BENCH_CONFIGS, Plan, runner as runner_record
from compare.run.machine import Waiting, busy_signs, cores, load_average, training_flops
from impls import REGISTRY
from shared.call_limit import time_limit
from shared.config import PRESETS, Config
from shared.data import Dataset, scale_pixels
from shared.model import TakesTrainingSet
from shared.params import init_params
from shared.timing import Stopwatch


def build_runner(name: str, config: Config, params):
    """An implementation or a baseline, by name, started from `params`. A learner's class is
    built as it is, without impls.plugins.bounded's limit on every call (which costs more than
    a small network's whole step): the benchmark bounds its calls itself (learner_limit)."""
    record = runner_record(name)
    if record.baseline:
        return baseline_class(name)(config, params)
    if record.learner:
        with learner_limit(name, "__init__"):
            return REGISTRY[name].loaded(config, params)
    return REGISTRY[name].build(config, params)


def learner_limit(name: str, what: str):
    """A time limit on a learner's calls (impls.LEARNER_CALL_LIMIT, one timed round of steps at
    most as long as one call may take); none on the built-ins and baselines."""
    from impls import LEARNER_CALL_LIMIT  # read when used: a test shortens it

    if not runner_record(name).learner:
        return time_limit(None, what)
    return time_limit(LEARNER_CALL_LIMIT, f"{REGISTRY[name].cls}.{what}")


def matmul_peak(dtype: str, sizes: tuple[int, ...], repeats: int = 5) -> float:
    """GFLOP/s of square matrix products, the best size's median: what this machine's
    BLAS can do (the largest size is not always the fastest: caches)."""
    rng = np.random.default_rng(0)
    best = 0.0
    for size in sizes:
        a = rng.random((size, size)).astype(dtype)
        b = rng.random((size, size)).astype(dtype)
        a @ b  # warm-up: threads started, pages touched
        times = []
        for _ in range(repeats):
            clock = Stopwatch()
            with clock:
                a @ b
            times.append(clock.seconds)
        best = max(best, 2 * size**3 / statistics.median(times) / 1e9)
    return best


def feed(model, x: np.ndarray, y: np.ndarray, index_batches: list[np.ndarray]):
    """(step function, its argument lists, training steps per call): each runner is handed
    its batches the way it is in real use. One that runs a whole sequence of steps in one
    call (train_steps_at: a compiled loop) gets the training set once and every batch's rows
    at once; one that takes the training set once (shared.model.TakesTrainingSet) gets it
    once and then row indices, as from the shared loop; a baseline with a data format of its
    own (prepare_batch) gets it made once, as its real data would be; the rest get the rows
    gathered at every step, inside the clock, as the shared loop does."""
    if hasattr(model, "train_steps_at"):
        model.load_training_set(x, y)
        return model.train_steps_at, [(np.stack(index_batches),)], len(index_batches)
    if isinstance(model, TakesTrainingSet):
        model.load_training_set(x, y)
        return model.train_step_at, [(rows,) for rows in index_batches], 1
    prepare = getattr(model, "prepare_batch", None)
    if prepare is not None:
        return model.train_step, [prepare(x[rows], y[rows]) for rows in index_batches], 1

    def train_step(rows, lr):  # the model's own, on the rows gathered
        return model.train_step(x[rows], y[rows], lr)

    return train_step, [(rows,) for rows in index_batches], 1


def time_steps(step, batches, steps: int, lr: float) -> float:
    clock = Stopwatch()
    with clock:
        for i in range(steps):
            step(*batches[i % len(batches)], lr)
    return clock.seconds


def bench_config(name: str, dtype: str, dataset: Dataset, plan: Plan, runners: list[str],
                 echo: Callable[[str], None]) -> dict:
    """Samples per second of each runner on one config and dtype."""
    config = Config(dtype=dtype, lr=0.01, **BENCH_CONFIGS[name])
    params = init_params(config.sizes, config.init, seed=0)
    x = scale_pixels(dataset.train_images[:BATCH_POOL], dtype)
    y = dataset.train_labels[:BATCH_POOL].astype(np.int64)
    order = np.random.default_rng(0).permutation(BATCH_POOL)  # shuffled, as in training
    index_batches = [order[i : i + config.batch_size]
                     for i in range(0, BATCH_POOL - config.batch_size + 1, config.batch_size)]
    stepper, batches, steps, per_call = {}, {}, {}, {}
    for runner in runners:
        model = build_runner(runner, config, params)
        with learner_limit(runner, "load_training_set"):
            step, batches[runner], per_call[runner] = feed(model, x, y, index_batches)
        with learner_limit(runner, step.__name__):
            step(*batches[runner][0], config.lr)  # untimed: a compiling runner compiles here
            # Warm up with up to warmup_steps calls, fewer when one call is already slow.
            warm, done = 0.0, 0
            while done < plan.warmup_steps and (done == 0 or warm < 0.2):
                warm += time_steps(step, batches[runner], 1, config.lr)
                done += 1
        warm /= done
        steps[runner] = max(1, round(plan.seconds_per_repeat / max(warm, 1e-9)))
        stepper[runner] = step
    rates: dict[str, list[float]] = {runner: [] for runner in runners}
    waiting = Waiting()
    for repeat in range(plan.repeats):
        order = runners[repeat % len(runners):] + runners[: repeat % len(runners)]
        for runner in order:
            time.sleep(plan.settle_seconds)
            with learner_limit(runner, stepper[runner].__name__):
                seconds = time_steps(stepper[runner], batches[runner], steps[runner], config.lr)
            rates[runner].append(steps[runner] * per_call[runner] * config.batch_size / seconds)
    results = {}
    flops = training_flops(config.sizes)
    for runner, values in rates.items():
        median = statistics.median(values)
        results[runner] = {
            "median": median, "min": min(values), "max": max(values), "repeats": len(values), "rates": values,
            "steps_per_repeat": steps[runner] * per_call[runner], "gflops": median * flops / 1e9,
        }
    # Busy: a load average above the cores, or (seen at once, where the average lags) this
    # process's threads kept waiting for a core while they were timed.
    load, waited = load_average(), waiting.share()
    signs = busy_signs(load, cores(), waited)
    busy = bool(signs)
    echo(f"  {name:<28} {dtype}  " + "  ".join(f"{r} {results[r]['median']:,.0f}/s" for r in runners)
         + (f"  [busy: {', '.join(signs)}]" if busy else ""))
    return {"config": name, "dtype": dtype, "sizes": list(config.sizes), "batch_size": config.batch_size,
            "flops_per_sample": flops, "results": results, "load_average": load, "waiting_share": waited,
            "busy": busy}


def help_seconds(repeats: int = 5) -> float:
    """Median wall time of `compare --help` in a fresh process (start-up included)."""
    script = Path(sys.executable).with_name("compare")
    command = [str(script), "--help"] if script.exists() else [sys.executable, "-m", "compare", "--help"]
    times = []
    for _ in range(repeats):
        clock = Stopwatch()
        with clock:
            subprocess.run(command, check=True, capture_output=True)
        times.append(clock.seconds)
    return statistics.median(times)


def run_peak_memory() -> float:
    """Peak RSS in bytes of `compare run --impl numpy` (default config) in a child process."""
    with tempfile.TemporaryDirectory() as directory:
        return peak_rss([sys.executable, "-m", "compare", "run", "--impl", "numpy", "--quiet",
                         "--reports-dir", directory, "--name", "memory"])


# Runs the command and prints the largest RSS of its children (only it), in KiB on Linux.
PEAK_RSS = ("import resource, subprocess, sys\nsubprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def peak_rss(command: list[str]) -> float:
    """The peak resident memory of a command, in bytes. Started from a small Python process in
    between: Linux counts in a child's peak the memory of the process it was forked from (here
    the bench's own, which holds torch and XLA: 700 MB, more than the run it measures)."""
    result = subprocess.run([sys.executable, "-c", PEAK_RSS, *command], check=True, capture_output=True, text=True)
    return int(result.stdout.split()[-1]) * 1024.0


def accuracy_runs(dataset: Dataset, echo) -> dict:
    """The accuracy targets: the best preset (numpy, torch) and the scratch loop's first epoch."""
    from shared.training import prepare, train

    results = {}
    best = Config(**PRESETS["best"][1])
    scratch = Config(epochs=1)
    for name, config in (("numpy", best), ("torch", best), ("scratch", scratch)):
        model = REGISTRY[name].build(config, init_params(config.sizes, config.init, config.seed))
        run = train(model, prepare(dataset, config), config)
        results[name] = {
            "preset": "best" if config is best else "default",
            "epochs": config.epochs,
            "test_accuracy": run.history[-1].test_accuracy,
            "train_seconds": sum(e.train_seconds for e in run.history),
        }
        echo(f"  {name}: {results[name]['test_accuracy']:.2%} after {config.epochs} epochs, "
             f"{results[name]['train_seconds']:.1f} s of training")
    return results


def has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True

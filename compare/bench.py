"""`compare bench`: training throughput of every implementation and baseline, measured
fairly, in one process, interleaved, and the project's speed targets as ratios.

Fair means: data already in memory as NumPy arrays, training steps only (no loading,
no evaluation), a warm-up first, BLAS and torch thread counts fixed and reported, the
same batches for everyone, repeats interleaved (each round in a rotated order) so a
burst of load on a shared machine hits all of them, median with min and max.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from compare.machine import choose_threads, cores, is_busy, load_average, load_now, thread_limits, training_flops
from compare.wording import plural
from shared.config import PRESETS, Config
from shared.data import Dataset, scale_pixels
from shared.model import TakesTrainingSet
from shared.params import init_params
from shared.timing import Stopwatch

# The configs of issue 4: 3Blue1Brown's, Nielsen's, and two ReLU networks.
BENCH_CONFIGS = {
    "784-16-16-10 sigmoid/mse b32": dict(sizes=(784, 16, 16, 10), activation="sigmoid", loss="mse", batch_size=32),
    "784-30-10 sigmoid/mse b10": dict(sizes=(784, 30, 10), activation="sigmoid", loss="mse", batch_size=10),
    "784-128-10 relu/ce b64": dict(sizes=(784, 128, 10), activation="relu", loss="cross-entropy", init="he", batch_size=64),
    "784-256-10 relu/ce b128": dict(sizes=(784, 256, 10), activation="relu", loss="cross-entropy", init="he", batch_size=128),
}
THREEB1B, NIELSEN, RELU128, RELU256 = BENCH_CONFIGS
RUNNERS = ["scratch", "numpy", "torch", "textbook", "per-sample-numpy", "minimal-numpy", "idiomatic-torch",
           "autograd", "micrograd-style"]
PURE_PYTHON = {"scratch", "textbook", "autograd", "micrograd-style"}  # Python floats: measured in float64 only
DTYPES = ("float32", "float64")
BATCH_POOL = 2048  # training images the timed steps cycle through


@dataclass(frozen=True)
class Plan:
    # Many short rounds rather than a few long ones: a target's ratio is that of the two
    # runners' fastest rounds (see ratio), and more rounds give each more chances of a quiet one.
    repeats: int = 9
    seconds_per_repeat: float = 0.3  # each timed run lasts about this long (at least one step)
    warmup_steps: int = 3
    matmul_sizes: tuple[int, ...] = (256, 512, 1024, 2048)
    # Pause before each timed run: OpenBLAS threads keep spinning for a while after a
    # NumPy call, and measured here that slowed torch steps started right after by a
    # third. The pause lets them sleep, so no runner pays for the one before it.
    settle_seconds: float = 0.2
    pure_python_configs: tuple[str, ...] = tuple(BENCH_CONFIGS)
    measure_memory: bool = True
    # The micrograd-style baseline runs about 100 times slower than anything else: only on
    # the two configs of the autograd targets, and only one of them in a quick run.
    micrograd_configs: tuple[str, ...] = (THREEB1B, NIELSEN)
    graph_samples: int = 100  # images whose graphs are counted for nodes per sample

    @classmethod
    def quick(cls) -> "Plan":
        return cls(repeats=5, seconds_per_repeat=0.03, warmup_steps=1, matmul_sizes=(256, 512), settle_seconds=0.05,
                   pure_python_configs=(THREEB1B, NIELSEN), measure_memory=False, micrograd_configs=(NIELSEN,),
                   graph_samples=5)


def build_runner(name: str, config: Config, params):
    from impls import REGISTRY, build

    if name in REGISTRY:
        return build(name, config, params)
    from bench import baseline_class

    return baseline_class(name)(config, params)


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
    """(step function, its argument lists): each runner is handed its batches the way it
    is in real use. One that takes the training set once (shared.model.TakesTrainingSet)
    gets it once and then row indices, as from the shared loop; a baseline with a data
    format of its own (prepare_batch) gets it made once, as its real data would be; the
    rest get the rows gathered at every step, inside the clock, as the shared loop does."""
    if isinstance(model, TakesTrainingSet):
        model.load_training_set(x, y)
        return model.train_step_at, [(rows,) for rows in index_batches]
    prepare = getattr(model, "prepare_batch", None)
    if prepare is not None:
        return model.train_step, [prepare(x[rows], y[rows]) for rows in index_batches]
    return (lambda rows, lr: model.train_step(x[rows], y[rows], lr)), [(rows,) for rows in index_batches]


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
    stepper, batches, steps = {}, {}, {}
    for runner in runners:
        model = build_runner(runner, config, params)
        step, batches[runner] = feed(model, x, y, index_batches)
        # Warm up with up to warmup_steps steps, fewer when one step is already slow.
        warm, done = 0.0, 0
        while done < plan.warmup_steps and (done == 0 or warm < 0.2):
            warm += time_steps(step, batches[runner], 1, config.lr)
            done += 1
        warm /= done
        steps[runner] = max(1, round(plan.seconds_per_repeat / max(warm, 1e-9)))
        stepper[runner] = step
    rates: dict[str, list[float]] = {runner: [] for runner in runners}
    for repeat in range(plan.repeats):
        order = runners[repeat % len(runners):] + runners[: repeat % len(runners)]
        for runner in order:
            time.sleep(plan.settle_seconds)
            seconds = time_steps(stepper[runner], batches[runner], steps[runner], config.lr)
            rates[runner].append(steps[runner] * config.batch_size / seconds)
    results = {}
    flops = training_flops(config.sizes)
    for runner, values in rates.items():
        median = statistics.median(values)
        results[runner] = {
            "median": median, "min": min(values), "max": max(values), "repeats": len(values), "rates": values,
            "steps_per_repeat": steps[runner], "gflops": median * flops / 1e9,
        }
    load = load_average()
    busy = is_busy(load, cores())
    echo(f"  {name:<28} {dtype}  " + "  ".join(f"{r} {results[r]['median']:,.0f}/s" for r in runners)
         + ("  [busy: load average %.1f]" % load if busy else ""))
    return {"config": name, "dtype": dtype, "sizes": list(config.sizes), "batch_size": config.batch_size,
            "flops_per_sample": flops, "results": results, "load_average": load, "busy": busy}


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
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run([sys.executable, "-m", "compare", "run", "--impl", "numpy", "--quiet",
                        "--reports-dir", directory, "--name", "memory"], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:
        raise RuntimeError("could not tell the run's peak memory from earlier child processes")
    return after * 1024.0  # ru_maxrss is in KiB on Linux


def accuracy_runs(dataset: Dataset, echo) -> dict:
    """The accuracy targets: the best preset (numpy, torch) and the scratch loop's first epoch."""
    from impls import build
    from shared.training import prepare, train

    results = {}
    best = Config(**PRESETS["best"][1])
    scratch = Config(epochs=1)
    for name, config in (("numpy", best), ("torch", best), ("scratch", scratch)):
        model = build(name, config, init_params(config.sizes, config.init, config.seed))
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


def ratio(table: dict, config: str, dtype: str, a: str, b: str) -> float | None:
    entry = table.get((config, dtype))
    if entry is None or a not in entry["results"] or b not in entry["results"]:
        return None
    first, second = entry["results"][a], entry["results"][b]
    if first.get("rates") and second.get("rates"):
        # The fastest round of each, as timeit advises: on a shared machine noise only ever
        # adds time, so the best round is the one least disturbed. Over three quiet runs here
        # the per-round ratios of the same two runners ranged from 0.4 to 2.2; between runs,
        # the median of the paired ratios moved by 14% (median over the targets), the ratio
        # of the best rounds by 5%.
        return max(first["rates"]) / max(second["rates"])
    return first["median"] / second["median"]  # a bench.json from before the rates were kept


def targets(document: dict) -> list[dict]:
    """Each target of issues 4 and 11 with what was measured; a ratio measured while the
    machine was busy is marked unreliable."""
    table = {(c["config"], c["dtype"]): c for c in document["throughput"]}
    rows = []

    def add(target, measured, goal, met, unit="x", entries=(), impossible=False):
        # Not measured (a quick run skips some) is not unreliable; a share of the peak above 1
        # is: the peak was measured in a burst of load.
        unreliable = measured is not None and (
            impossible or any(table.get(key, {}).get("busy") for key in entries)
            or (document.get("reliability") or {}).get("unreliable", False))
        rows.append({"target": target, "measured": measured, "goal": goal, "unit": unit,
                     "met": None if measured is None else bool(met(measured)), "unreliable": bool(unreliable)})

    for config in BENCH_CONFIGS:
        add(f"numpy / torch, {config}, float32", ratio(table, config, "float32", "numpy", "torch"), ">= 1.2",
            lambda m: m >= 1.2, entries=[(config, "float32")])
    for dtype in DTYPES:
        for config in BENCH_CONFIGS:
            add(f"numpy / minimal vectorized NumPy baseline, {config}, {dtype}",
                ratio(table, config, dtype, "numpy", "minimal-numpy"), ">= 1.0", lambda m: m >= 1.0,
                entries=[(config, dtype)])
    add(f"numpy / per-sample NumPy baseline (network.py), {NIELSEN}, float64",
        ratio(table, NIELSEN, "float64", "numpy", "per-sample-numpy"), ">= 10", lambda m: m >= 10,
        entries=[(NIELSEN, "float64")])
    relu = table.get((RELU256, "float32"))
    fraction = relu["results"]["numpy"]["gflops"] / document["matmul_peak_gflops"]["float32"] if relu and "numpy" in relu["results"] else None
    add(f"numpy float32 GFLOP/s / float32 matmul peak, {RELU256}", fraction, ">= 0.5", lambda m: 0.5 <= m <= 1.0,
        unit="fraction", entries=[(RELU256, "float32")], impossible=fraction is not None and fraction > 1.0)
    add(f"scratch / textbook pure Python, {THREEB1B}", ratio(table, THREEB1B, "float64", "scratch", "textbook"),
        ">= 5", lambda m: m >= 5, entries=[(THREEB1B, "float64")])
    for dtype in DTYPES:
        for config in BENCH_CONFIGS:
            add(f"torch / idiomatic PyTorch loop, {config}, {dtype}",
                ratio(table, config, dtype, "torch", "idiomatic-torch"), ">= 1.0", lambda m: m >= 1.0,
                entries=[(config, dtype)])
    for row in (document.get("threads_study") or {}).get("configs", []):
        # Met when within 2x of quiet, or when even one thread could not have kept it there.
        one = row.get("torch_busy_1_over_quiet")
        add(f"torch on a busy machine with --threads auto / quiet, {row['config']}", row["torch_busy_over_quiet"],
            ">= 0.5 (or 1 thread no better)", lambda m, one=one: m >= 0.5 or (one is not None and one < 0.5 and m >= 0.9 * one))
    add("`compare --help` wall time", document.get("help_seconds"), "< 0.3", lambda m: m < 0.3, unit="s")
    memory = document.get("run_numpy_peak_rss_bytes")
    add("peak memory of `compare run --impl numpy`", None if memory is None else memory / 2**20, "< 1024",
        lambda m: m < 1024, unit="MiB")
    accuracy = document.get("accuracy") or {}
    for name in ("numpy", "torch"):
        if name in accuracy:
            entry = accuracy[name]
            add(f"{name}, preset best: test accuracy (training took {entry['train_seconds']:.0f} s, limit 60 s)",
                entry["test_accuracy"] if entry["train_seconds"] <= 60 else 0.0, ">= 98.5%", lambda m: m >= 0.985, unit="%")
    if "scratch" in accuracy:
        add("scratch, default config, one epoch: test accuracy", accuracy["scratch"]["test_accuracy"], ">= 94%",
            lambda m: m >= 0.94, unit="%")
    for config in AUTOGRAD_CONFIGS:  # the scalar autograd engine: its design, and what the graph costs
        for other, name, goal in (("micrograd-style", "micrograd-style baseline", 100), ("scratch", "scratch loop", 0.6)):
            add(f"autograd / {name}, {config}", ratio(table, config, "float64", "autograd", other), f">= {goal}",
                lambda m, goal=goal: m >= goal, entries=[(config, "float64")])
    return rows


def reliability(document: dict, quiet_peaks: dict | None) -> dict:
    """Whether the machine was busy during the bench: the load average after each config
    above the core count, or the matmul peak below half the last one measured quietly."""
    core_count = document["environment"]["cores"] or 1
    loads = [c["load_average"] for c in document["throughput"] if c.get("load_average") is not None]
    reasons = []
    if loads and max(loads) > core_count:
        busy = sum(1 for c in document["throughput"] if c.get("busy"))
        reasons.append(f"load average up to {max(loads):.1f} on {core_count} cores ({busy} of "
                       f"{len(document['throughput'])} configs measured while busy)")
    for dtype, peak in document["matmul_peak_gflops"].items():
        quiet = (quiet_peaks or {}).get(dtype)
        if quiet and peak < PEAK_FLOOR * quiet:
            reasons.append(f"{dtype} matmul peak {peak:,.1f} GFLOP/s, under {PEAK_FLOOR:.0%} of the "
                           f"{quiet:,.1f} measured on a quiet run")
    return {"cores": core_count, "load_average_max": max(loads) if loads else None,
            "quiet_matmul_peak_gflops": quiet_peaks, "unreliable": bool(reasons), "reasons": reasons}


PEAK_FLOOR = 0.5  # a matmul peak under half the last quiet one means the machine is busy


def quiet_peaks_key() -> str:
    """Peaks are remembered per machine: its processor and core count."""
    from compare.results import cpu_model

    return f"{cpu_model()} x{cores()}"


def read_quiet_peaks(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text()).get(quiet_peaks_key())
    except (OSError, ValueError, AttributeError):
        return None


def remember_quiet_peaks(path: Path, document: dict) -> None:
    """Keep this run's matmul peaks as the quiet reference when the run was quiet."""
    from shared.atomic import atomic_write_text

    if document["reliability"]["unreliable"]:
        return
    try:
        known = json.loads(path.read_text())
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    known[quiet_peaks_key()] = document["matmul_peak_gflops"]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(known, indent=1) + "\n")


BURN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


class Burners:
    """Make the machine busy: one CPU-burning process per core, each bounded in time (it
    ends by itself after `seconds` whatever happens here) and ended by its PID on exit."""

    def __init__(self, count: int, seconds: float = 600.0):
        self.count, self.seconds, self.processes = count, seconds, []

    def __enter__(self) -> "Burners":
        for _ in range(self.count):
            self.processes.append(subprocess.Popen([sys.executable, "-c", BURN, str(self.seconds)]))
        time.sleep(0.5)  # let them start burning
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.terminate()  # by its own PID: only what we started
        for process in self.processes:
            process.wait()


STUDY_RUNNERS = ("numpy", "torch")


def threads_study(dataset: Dataset, plan: Plan, echo) -> dict:
    """1 thread against all cores, for BLAS (numpy) and torch, on each config (float32),
    on this machine as it is and made busy by one burning process per core; what
    `--threads auto` would choose, and whether that is what won."""
    core_count = cores()
    settings = sorted({1, core_count})
    measured = {}  # (condition, threads, config) -> {runner: samples/s}
    loads = {}  # condition -> the load `auto` would have seen when a run started
    for condition in ("quiet", "busy"):
        echo(f"threads study, {condition}{' (one burning process per core)' if condition == 'busy' else ''}:")
        burners = Burners(core_count) if condition == "busy" else None
        if burners:
            burners.__enter__()
        loads[condition] = load_now()
        try:
            for threads in settings:
                with thread_limits(threads, with_torch=has_torch()):
                    for name in BENCH_CONFIGS:
                        runners = [r for r in STUDY_RUNNERS if r != "torch" or has_torch()]
                        entry = bench_config(name, "float32", dataset, plan, runners,
                                             lambda line, t=threads: echo(f"  {t} thread(s)" + line))
                        measured[(condition, threads, name)] = {r: v["median"] for r, v in entry["results"].items()}
        finally:
            if burners:
                burners.__exit__()
    rows = []
    for name, spec in BENCH_CONFIGS.items():
        row = {"config": name, "rates": {}, "winner": {}}
        for condition in ("quiet", "busy"):
            for threads in settings:
                for runner, rate in measured[(condition, threads, name)].items():
                    row["rates"][f"{runner} {condition} {threads}"] = rate
        quiet_auto = choose_threads("auto", spec["sizes"], spec["batch_size"], core_count, load=loads["quiet"]).threads
        busy_auto = choose_threads("auto", spec["sizes"], spec["batch_size"], core_count, load=loads["busy"]).threads
        row["auto_quiet"], row["auto_busy"] = quiet_auto, busy_auto
        for runner in measured[("quiet", settings[0], name)]:
            for condition in ("quiet", "busy"):
                rates = {t: measured[(condition, t, name)][runner] for t in settings}
                row["winner"][f"{runner} {condition}"] = max(rates, key=rates.get)
        if "torch" in measured[("quiet", settings[0], name)]:
            quiet = measured[("quiet", quiet_auto, name)]["torch"]
            row["torch_busy_over_quiet"] = measured[("busy", busy_auto, name)]["torch"] / quiet
            row["torch_busy_1_over_quiet"] = measured[("busy", 1, name)]["torch"] / quiet
        else:
            row["torch_busy_over_quiet"] = row["torch_busy_1_over_quiet"] = None
        rows.append(row)
    return {"cores": core_count, "settings": settings, "dtype": "float32", "configs": rows, "loads": loads}


def config_threads(requested: str, load: float | None) -> dict[str, int]:
    """BLAS and torch threads per config: a number as asked, or what `compare run --threads
    auto` picks for that config (the same for every runner on it: the implementations are
    measured as a run would use them, and the baselines on equal terms)."""
    return {name: choose_threads(requested, spec["sizes"], spec["batch_size"], load=load).threads
            for name, spec in BENCH_CONFIGS.items()}


def run_bench(dataset: Dataset, plan: Plan, threads: str, with_accuracy: bool, echo, command: str,
              quiet_peaks: dict | None = None, study: bool = False) -> dict:
    from threadpoolctl import threadpool_info

    from compare.results import environment

    available = [r for r in RUNNERS if r not in ("torch", "idiomatic-torch") or has_torch()]
    per_config = config_threads(threads, load_average())
    peak_threads = cores() if threads == "auto" else int(threads)
    with thread_limits(peak_threads, with_torch=has_torch()):
        peaks = {dtype: matmul_peak(dtype, plan.matmul_sizes) for dtype in DTYPES}
    echo(f"matmul peak ({plural(peak_threads, 'thread')}): " + ", ".join(f"{d} {g:,.1f} GFLOP/s" for d, g in peaks.items()))
    throughput = []
    for name in BENCH_CONFIGS:
        with thread_limits(per_config[name], with_torch=has_torch()):
            for dtype in DTYPES:
                runners = [r for r in available
                           if (r not in PURE_PYTHON or (dtype == "float64" and name in plan.pure_python_configs))
                           and (r != "micrograd-style" or name in plan.micrograd_configs)]
                entry = bench_config(name, dtype, dataset, plan, runners,
                                     lambda line, t=per_config[name]: echo(line + f"  [{plural(t, 'thread')}]"))
                throughput.append(entry | {"threads": per_config[name]})
    blas = [{k: p.get(k) for k in ("internal_api", "version")} for p in threadpool_info() if p.get("user_api") == "blas"]
    document = {
        "schema_version": 1,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "environment": environment({}) | {"blas_during_bench": blas},
        "threads": threads,
        "threads_per_config": per_config,
        "matmul_peak_threads": peak_threads,
        "plan": plan.__dict__ | {"pure_python_configs": list(plan.pure_python_configs),
                                 "matmul_sizes": list(plan.matmul_sizes)},
        "matmul_peak_gflops": peaks,
        "throughput": throughput,
    }
    document["reliability"] = reliability(document, quiet_peaks)
    if study:
        document["threads_study"] = threads_study(dataset, Plan(repeats=3, seconds_per_repeat=0.3,
                                                                 settle_seconds=plan.settle_seconds), echo)
    document["help_seconds"] = help_seconds()
    echo(f"compare --help: {document['help_seconds']:.3f} s")
    if plan.measure_memory:
        document["run_numpy_peak_rss_bytes"] = run_peak_memory()
        echo(f"compare run --impl numpy: peak memory {document['run_numpy_peak_rss_bytes'] / 2**20:,.0f} MiB")
    document["autograd_graph"] = graph_footprints(dataset, plan, echo)
    if with_accuracy:
        echo("accuracy:")
        document["accuracy"] = accuracy_runs(dataset, echo)
    document["targets"] = targets(document)
    return document


# -- the scalar autograd engine (issue 13) -----------------------------------------------
AUTOGRAD_CONFIGS = (THREEB1B, NIELSEN)
GRAPH_RUNNERS = ("autograd", "micrograd-style")


def graph_footprint(runner: str, config: Config, x: np.ndarray, y: np.ndarray) -> dict:
    """Nodes and bytes of the graphs one runner builds, one image at a time: the nodes
    made for an image (its parameters, which exist anyway, not counted) and the memory
    allocated while its graph is alive (tracemalloc), mean and largest over the images."""
    import tracemalloc

    model = build_runner(runner, config, init_params(config.sizes, config.init, seed=0))
    nodes, sizes = [], []
    for row, label in zip(x.tolist(), y.tolist()):
        tracemalloc.start()
        try:
            loss = model.loss_graph(row, label)
            sizes.append(tracemalloc.get_traced_memory()[0])
        finally:
            tracemalloc.stop()
        nodes.append(model.graph_nodes(loss))
        del loss
    return {"nodes_per_sample": statistics.mean(nodes), "max_nodes": max(nodes),
            "bytes_per_sample": statistics.mean(sizes), "max_bytes": max(sizes), "samples": len(nodes)}


def graph_footprints(dataset: Dataset, plan: Plan, echo) -> list[dict]:
    """graph_footprint of autograd and its baseline on the configs of the autograd targets."""
    x = scale_pixels(dataset.train_images[: plan.graph_samples], "float64")
    y = dataset.train_labels[: plan.graph_samples].astype(np.int64)
    nonzero = float(np.mean(np.count_nonzero(x, axis=1)))
    entries = []
    for name in AUTOGRAD_CONFIGS:
        config = Config(lr=0.01, **BENCH_CONFIGS[name])
        for runner in GRAPH_RUNNERS:
            entry = {"config": name, "runner": runner, "nonzero_pixels": nonzero} | graph_footprint(runner, config, x, y)
            entries.append(entry)
            echo(f"  graph of one image, {name}, {runner}: {entry['nodes_per_sample']:,.0f} nodes, "
                 f"{entry['bytes_per_sample'] / 1024:,.0f} KiB")
    return entries


def autograd_graph_markdown(entries: list[dict] | None) -> list[str]:
    if not entries:
        return []
    lines = ["## The graphs of the scalar autograd engines", "",
             f"Built for one training image at a time (mean over the first {entries[0]['samples']} training images, "
             f"{entries[0]['nonzero_pixels']:.0f} non-zero pixels on average, which is all either engine is fed); "
             "nodes made for the image (the parameters, leaves that exist anyway, not counted) and the memory "
             "allocated while its graph is alive (tracemalloc).", "",
             "| config | engine | nodes per image (largest) | graph memory per image (largest) |", "|---|---|---|---|"]
    for entry in entries:
        lines.append(f"| {entry['config']} | {LABELS[entry['runner']]} | {entry['nodes_per_sample']:,.0f} "
                     f"({entry['max_nodes']:,}) | {entry['bytes_per_sample'] / 1024:,.0f} KiB "
                     f"({entry['max_bytes'] / 1024:,.0f} KiB) |")
    lines.append("")
    return lines


def has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


LABELS = {"scratch": "scratch", "numpy": "numpy", "torch": "torch", "textbook": "textbook (baseline)",
          "per-sample-numpy": "per-sample NumPy (baseline)", "minimal-numpy": "minimal NumPy (baseline)",
          "idiomatic-torch": "idiomatic torch (baseline)",
          "autograd": "autograd", "micrograd-style": "micrograd-style (baseline)"}


def format_measured(row: dict) -> str:
    value = row["measured"]
    if value is None:
        return "not measured"
    if row["unit"] == "%":
        return f"{value:.2%}"
    if row["unit"] == "fraction":
        return f"{value:.0%}"
    if row["unit"] == "x":
        return f"{value:,.2f}x"
    return f"{value:,.3f} s" if row["unit"] == "s" else f"{value:,.0f} {row['unit']}"


def to_markdown(document: dict) -> str:
    env = document["environment"]
    lines = [
        "# Benchmarks",
        "",
        f"Made by `{document['command']}` on {document['created']}: {env['cpu']}, {env['cores']} cores, "
        f"Python {env['python']}, NumPy {env['numpy']}, PyTorch {env['torch']}; "
        + threads_sentence(document) + " "
        "What each baseline stands for is in bench/README.md. Training steps only (data in memory, no "
        f"evaluation), after a warm-up; each figure is the median of {document['plan']['repeats']} interleaved "
        f"repeats, with the range, each run {document['plan']['settle_seconds']} s after the one before (NumPy's "
        "BLAS threads spin on after a call and slowed the next torch run by a third when measured without it). "
        "A target's ratio compares the two runners' fastest rounds (noise on a shared machine only ever adds "
        "time, so the best round is the least disturbed); the matmul peak is the best median "
        f"over square sizes {', '.join(map(str, document['plan']['matmul_sizes']))}.",
        "",
        *reliability_lines(document),
        "## Targets",
        "",
        "| target | measured | goal | met |",
        "|---|---|---|---|",
    ]
    for row in document["targets"]:
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        unreliable = " (unreliable: busy)" if row.get("unreliable") else ""
        lines.append(f"| {row['target']} | {format_measured(row)}{unreliable} | {row['goal']} | {met} |")
    peaks = document["matmul_peak_gflops"]
    lines += ["", "## Training throughput (samples per second)", ""]
    for dtype in DTYPES:
        entries = [c for c in document["throughput"] if c["dtype"] == dtype]
        runners = [r for r in RUNNERS if any(r in c["results"] for c in entries)]
        lines += [f"### {dtype} (matmul peak {peaks[dtype]:,.1f} GFLOP/s)", "",
                  "| config | " + " | ".join(LABELS[r] for r in runners) + " |",
                  "|---|" + "---|" * len(runners)]
        for entry in entries:
            cells = []
            for runner in runners:
                result = entry["results"].get(runner)
                cells.append("-" if result is None else
                             f"{result['median']:,.0f} ({result['min']:,.0f}-{result['max']:,.0f})")
            lines.append(f"| {entry['config']} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += ["Achieved GFLOP/s of the vectorized implementations (share of the matmul peak):", "",
                  "| config | numpy | torch |", "|---|---|---|"]
        for entry in entries:
            cells = [f"{entry['results'][r]['gflops']:,.1f} ({entry['results'][r]['gflops'] / peaks[dtype]:.0%})"
                     if r in entry["results"] else "-" for r in ("numpy", "torch")]
            lines.append(f"| {entry['config']} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += study_lines(document.get("threads_study"))
    lines += autograd_graph_markdown(document.get("autograd_graph"))
    if document.get("accuracy"):
        lines += ["## Accuracy", "", "| implementation | config | epochs | test accuracy | training seconds |",
                  "|---|---|---|---|---|"]
        for name, entry in document["accuracy"].items():
            lines.append(f"| {name} | {entry['preset']} | {entry['epochs']} | {entry['test_accuracy']:.2%} | "
                         f"{entry['train_seconds']:.1f} |")
        lines.append("")
    return "\n".join(lines)


def threads_sentence(document: dict) -> str:
    per_config = document.get("threads_per_config")
    if not per_config:  # a bench.json from before threads were chosen per config
        return f"BLAS and torch limited to {plural(document['threads'], 'thread')}."
    counts = ", ".join(f"{name} {t}" for name, t in per_config.items())
    how = ("as `compare run --threads auto` picks them" if document["threads"] == "auto"
           else f"as asked with --threads {document['threads']}")
    return (f"BLAS and torch threads per config, the same for every runner on it, {how}: {counts}; "
            f"the matmul peak with {plural(document['matmul_peak_threads'], 'thread')}.")


def reliability_lines(document: dict) -> list[str]:
    info = document.get("reliability")
    if not info:
        return []
    if info["unreliable"]:
        return ["**Warning: the machine was busy during this run** (" + "; ".join(info["reasons"]) + "). "
                "Figures measured while busy are marked unreliable; rerun on a quiet machine before quoting them.", ""]
    load = info["load_average_max"]
    return [f"The machine was quiet: load average at most {load:.1f} on {info['cores']} cores"
            + (", matmul peak not under half the last quiet one." if info["quiet_matmul_peak_gflops"] else ".")
            if load is not None else "Load average not available on this system.", ""]


def study_lines(study: dict | None) -> list[str]:
    """The table of `--threads-study`: samples/s with 1 thread and all cores, quiet and busy."""
    if not study:
        return []
    settings = study["settings"]
    columns = [(runner, condition, t) for runner in STUDY_RUNNERS for condition in ("quiet", "busy") for t in settings]
    columns = [c for c in columns if any(f"{c[0]} {c[1]} {c[2]}" in row["rates"] for row in study["configs"])]
    lines = ["## Threads: 1 against all cores, quiet and busy", "",
             f"Samples per second, {study['dtype']}, {study['cores']} cores; busy = one CPU-burning process per core "
             "running beside the benchmark. `auto` is what `compare run --threads auto` picks (quiet / busy); "
             "the last column is torch busy with that choice over torch quiet with it (target: at least 0.5, "
             "unless one thread falls further too).", "",
             "| config | " + " | ".join(f"{r} {c} {t}T" for r, c, t in columns) + " | auto | torch busy/quiet |",
             "|---|" + "---|" * (len(columns) + 2)]
    for row in study["configs"]:
        cells = []
        for runner, condition, t in columns:
            rate = row["rates"].get(f"{runner} {condition} {t}")
            best = row["winner"].get(f"{runner} {condition}") == t
            cells.append("-" if rate is None else (f"**{rate:,.0f}**" if best else f"{rate:,.0f}"))
        ratio_text = "-" if row["torch_busy_over_quiet"] is None else f"{row['torch_busy_over_quiet']:.2f}"
        lines.append(f"| {row['config']} | " + " | ".join(cells) + f" | {row['auto_quiet']} / {row['auto_busy']} | {ratio_text} |")
    lines += ["", "Bold: the faster thread count for that implementation and condition.", ""]
    return lines


def save(document: dict, json_path: Path, markdown_path: Path) -> None:
    from shared.atomic import atomic_write_text

    atomic_write_text(json_path, json.dumps(document, indent=1) + "\n")
    atomic_write_text(markdown_path, to_markdown(document) + "\n")

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

from shared.config import PRESETS, Config
from shared.data import Dataset, scale_pixels
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
RUNNERS = ["scratch", "numpy", "torch", "textbook", "per-sample-numpy", "idiomatic-torch", "autograd", "micrograd-style"]
PURE_PYTHON = {"scratch", "textbook", "autograd", "micrograd-style"}  # Python floats: measured in float64 only
DTYPES = ("float32", "float64")
BATCH_POOL = 2048  # training images the timed steps cycle through


@dataclass(frozen=True)
class Plan:
    repeats: int = 5
    seconds_per_repeat: float = 0.5  # each timed run lasts about this long (at least one step)
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
        return cls(seconds_per_repeat=0.03, warmup_steps=1, matmul_sizes=(256, 512), settle_seconds=0.05,
                   pure_python_configs=(THREEB1B, NIELSEN), measure_memory=False, micrograd_configs=(NIELSEN,),
                   graph_samples=5)


def training_flops(sizes) -> int:
    """Floating-point operations of one training sample: forward z = W a (2 in out per
    layer), the weight gradient (2 in out), and the error sent back to the layer below
    (2 in out, not needed for the first layer)."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return sum(6 * n_in * n_out for n_in, n_out in pairs) - 2 * pairs[0][0] * pairs[0][1]


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


def time_steps(model, batches, steps: int, lr: float) -> float:
    clock = Stopwatch()
    with clock:
        for i in range(steps):
            x, y = batches[i % len(batches)]
            model.train_step(x, y, lr)
    return clock.seconds


def bench_config(name: str, dtype: str, dataset: Dataset, plan: Plan, runners: list[str],
                 echo: Callable[[str], None]) -> dict:
    """Samples per second of each runner on one config and dtype."""
    config = Config(dtype=dtype, lr=0.01, **BENCH_CONFIGS[name])
    params = init_params(config.sizes, config.init, seed=0)
    x = scale_pixels(dataset.train_images[:BATCH_POOL], dtype)
    y = dataset.train_labels[:BATCH_POOL].astype(np.int64)
    raw_batches = [(x[i : i + config.batch_size], y[i : i + config.batch_size])
                   for i in range(0, BATCH_POOL - config.batch_size + 1, config.batch_size)]
    models, batches, steps = {}, {}, {}
    for runner in runners:
        model = build_runner(runner, config, params)
        prepare = getattr(model, "prepare_batch", None)
        batches[runner] = [prepare(bx, by) for bx, by in raw_batches] if prepare else raw_batches
        # Warm up with up to warmup_steps steps, fewer when one step is already slow.
        warm, done = 0.0, 0
        while done < plan.warmup_steps and (done == 0 or warm < 0.2):
            warm += time_steps(model, batches[runner], 1, config.lr)
            done += 1
        warm /= done
        steps[runner] = max(1, round(plan.seconds_per_repeat / max(warm, 1e-9)))
        models[runner] = model
    rates: dict[str, list[float]] = {runner: [] for runner in runners}
    for repeat in range(plan.repeats):
        order = runners[repeat % len(runners):] + runners[: repeat % len(runners)]
        for runner in order:
            time.sleep(plan.settle_seconds)
            seconds = time_steps(models[runner], batches[runner], steps[runner], config.lr)
            rates[runner].append(steps[runner] * config.batch_size / seconds)
    results = {}
    flops = training_flops(config.sizes)
    for runner, values in rates.items():
        median = statistics.median(values)
        results[runner] = {
            "median": median, "min": min(values), "max": max(values), "repeats": len(values),
            "steps_per_repeat": steps[runner], "gflops": median * flops / 1e9,
        }
    echo(f"  {name:<28} {dtype}  " + "  ".join(f"{r} {results[r]['median']:,.0f}/s" for r in runners))
    return {"config": name, "dtype": dtype, "sizes": list(config.sizes), "batch_size": config.batch_size,
            "flops_per_sample": flops, "results": results}


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
    return entry["results"][a]["median"] / entry["results"][b]["median"]


def targets(document: dict) -> list[dict]:
    """Each target of issue 4 with what was measured."""
    table = {(c["config"], c["dtype"]): c for c in document["throughput"]}
    rows = []

    def add(target, measured, goal, met, unit="x"):
        rows.append({"target": target, "measured": measured, "goal": goal, "unit": unit,
                     "met": None if measured is None else bool(met(measured))})

    for config in BENCH_CONFIGS:
        add(f"numpy / torch, {config}, float32", ratio(table, config, "float32", "numpy", "torch"), ">= 1.2",
            lambda m: m >= 1.2)
    add(f"numpy / per-sample NumPy baseline, {NIELSEN}, float64",
        ratio(table, NIELSEN, "float64", "numpy", "per-sample-numpy"), ">= 10", lambda m: m >= 10)
    relu = table.get((RELU256, "float32"))
    fraction = relu["results"]["numpy"]["gflops"] / document["matmul_peak_gflops"]["float32"] if relu and "numpy" in relu["results"] else None
    add(f"numpy float32 GFLOP/s / float32 matmul peak, {RELU256}", fraction, ">= 0.5", lambda m: m >= 0.5, unit="fraction")
    add(f"scratch / textbook pure Python, {THREEB1B}", ratio(table, THREEB1B, "float64", "scratch", "textbook"),
        ">= 5", lambda m: m >= 5)
    for config in BENCH_CONFIGS:
        add(f"torch / idiomatic PyTorch loop, {config}, float32",
            ratio(table, config, "float32", "torch", "idiomatic-torch"), ">= 1.0", lambda m: m >= 1.0)
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
    return rows + autograd_targets(table)


def run_bench(dataset: Dataset, plan: Plan, threads: int, with_accuracy: bool, echo, command: str) -> dict:
    from threadpoolctl import threadpool_info, threadpool_limits

    from compare.results import environment

    available = [r for r in RUNNERS if r not in ("torch", "idiomatic-torch") or has_torch()]
    with threadpool_limits(limits=threads, user_api="blas"):
        if has_torch():
            import torch

            torch.set_num_threads(threads)
        echo(f"threads: BLAS {threads}, torch {threads if has_torch() else '-'}")
        peaks = {dtype: matmul_peak(dtype, plan.matmul_sizes) for dtype in DTYPES}
        echo("matmul peak: " + ", ".join(f"{d} {g:,.1f} GFLOP/s" for d, g in peaks.items()))
        throughput = []
        for name in BENCH_CONFIGS:
            for dtype in DTYPES:
                runners = [r for r in available
                           if (r not in PURE_PYTHON or (dtype == "float64" and name in plan.pure_python_configs))
                           and (r != "micrograd-style" or name in plan.micrograd_configs)]
                throughput.append(bench_config(name, dtype, dataset, plan, runners, echo))
        blas = [{k: p.get(k) for k in ("internal_api", "version", "num_threads")}
                for p in threadpool_info() if p.get("user_api") == "blas"]
    document = {
        "schema_version": 1,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "environment": environment({}) | {"blas_during_bench": blas},
        "threads": threads,
        "plan": plan.__dict__ | {"pure_python_configs": list(plan.pure_python_configs),
                                 "matmul_sizes": list(plan.matmul_sizes)},
        "matmul_peak_gflops": peaks,
        "throughput": throughput,
        "help_seconds": help_seconds(),
    }
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


def autograd_targets(table: dict) -> list[dict]:
    """autograd against its micrograd-style baseline (the engine's design) and against the
    scratch loop (what the graph costs over hand-written backpropagation)."""
    rows = []
    for config in AUTOGRAD_CONFIGS:
        for other, goal in (("micrograd-style", 100), ("scratch", 0.6)):
            measured = ratio(table, config, "float64", "autograd", other)
            name = "micrograd-style baseline" if other == "micrograd-style" else "scratch loop"
            rows.append({"target": f"autograd / {name}, {config}", "measured": measured, "goal": f">= {goal}",
                         "unit": "x", "met": None if measured is None else bool(measured >= goal)})
    return rows


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
          "per-sample-numpy": "per-sample NumPy (baseline)", "idiomatic-torch": "idiomatic torch (baseline)",
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
        f"BLAS and torch limited to {document['threads']} threads. Training steps only (data in memory, no "
        f"evaluation), after a warm-up; each figure is the median of {document['plan']['repeats']} interleaved "
        f"repeats, with the range, each run {document['plan']['settle_seconds']} s after the one before (NumPy's "
        "BLAS threads spin on after a call and slowed the next torch run by a third when measured without it). "
        "Ratios compare figures measured minutes apart in the same process; the matmul peak is the best median "
        f"over square sizes {', '.join(map(str, document['plan']['matmul_sizes']))}.",
        "",
        "## Targets",
        "",
        "| target | measured | goal | met |",
        "|---|---|---|---|",
    ]
    for row in document["targets"]:
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        lines.append(f"| {row['target']} | {format_measured(row)} | {row['goal']} | {met} |")
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
    lines += autograd_graph_markdown(document.get("autograd_graph"))
    if document.get("accuracy"):
        lines += ["## Accuracy", "", "| implementation | config | epochs | test accuracy | training seconds |",
                  "|---|---|---|---|---|"]
        for name, entry in document["accuracy"].items():
            lines.append(f"| {name} | {entry['preset']} | {entry['epochs']} | {entry['test_accuracy']:.2%} | "
                         f"{entry['train_seconds']:.1f} |")
        lines.append("")
    return "\n".join(lines)


def save(document: dict, json_path: Path, markdown_path: Path) -> None:
    from shared.atomic import atomic_write_text

    atomic_write_text(json_path, json.dumps(document, indent=1) + "\n")
    atomic_write_text(markdown_path, to_markdown(document) + "\n")


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

"""The whole of `compare bench`: every measurement in order, into one document (bench.json),
and its Markdown beside it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from compare.benchmark.graphs import ENGINES, graph_footprints, tensor_graph_footprints
from compare.benchmark.markdown import to_markdown
from compare.benchmark.measure import accuracy_runs, bench_config, has_torch, help_seconds, matmul_peak, run_peak_memory
from compare.benchmark.plan import BENCH_CONFIGS, DTYPES, RUNNERS, Plan, runnable, runner
from compare.benchmark.targets import reliability, targets
from compare.benchmark.threads_study import threads_study
from compare.run.machine import Waiting, choose_threads, cores, environment, load_average, thread_limits
from compare.wording import plural
from shared.atomic import atomic_write_text
from impls import REGISTRY
from shared.data import Dataset


def package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def config_threads(requested: str, load: float | None) -> dict[str, int]:
    """BLAS and torch threads per config: a number as asked, or what `compare run --threads
    auto` picks for that config (the same for every runner on it: the implementations are
    measured as a run would use them, and the baselines on equal terms)."""
    return {name: choose_threads(requested, spec["sizes"], spec["batch_size"], load=load).threads
            for name, spec in BENCH_CONFIGS.items()}


def run_bench(dataset: Dataset, plan: Plan, threads: str, with_accuracy: bool, echo, command: str,
              quiet_peaks: dict | None = None, study: bool = False, runners: list[str] | None = None) -> dict:
    """The whole benchmark of `runners` (names of implementations, a learner's loaded ones
    among them, and baselines; all the installed built-ins when None)."""
    from threadpoolctl import threadpool_info

    available = [name for name in (runners or RUNNERS) if runnable(name)]
    per_config = config_threads(threads, load_average())
    peak_threads = cores() if threads == "auto" else int(threads)
    waiting = Waiting()
    with thread_limits(peak_threads, with_torch=has_torch()):
        peaks = {dtype: matmul_peak(dtype, plan.matmul_sizes) for dtype in DTYPES}
    peak_waiting = waiting.share()
    echo(f"matmul peak ({plural(peak_threads, 'thread')}): " + ", ".join(f"{d} {g:,.1f} GFLOP/s" for d, g in peaks.items()))
    throughput = []
    for name in BENCH_CONFIGS:
        with thread_limits(per_config[name], with_torch=has_torch()):
            for dtype in DTYPES:
                measured = [r for r in available
                            if (not runner(r).python_floats or (dtype == "float64" and name in plan.pure_python_configs))
                            and (r != "micrograd-style" or name in plan.micrograd_configs)]
                if not measured:
                    continue
                entry = bench_config(name, dtype, dataset, plan, measured,
                                     lambda line, t=per_config[name]: echo(line + f"  [{plural(t, 'thread')}]"))
                throughput.append(entry | {"threads": per_config[name]})
    blas = [{k: p.get(k) for k in ("internal_api", "version")} for p in threadpool_info() if p.get("user_api") == "blas"]
    document = {
        "schema_version": 1,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "environment": environment({}) | {"blas_during_bench": blas, "jax": package_version("jax")},
        "threads": threads,
        "threads_per_config": per_config,
        "matmul_peak_threads": peak_threads,
        "plan": plan.__dict__ | {"pure_python_configs": list(plan.pure_python_configs),
                                 "matmul_sizes": list(plan.matmul_sizes)},
        "matmul_peak_gflops": peaks,
        "matmul_peak_waiting_share": peak_waiting,  # its threads' time spent waiting for a core
        "runners": available,
        "selected": runners is not None,  # chosen with --impl: the targets left unmeasured are left out of bench.md
        # A learner's implementations, loaded from a spec after --impl: where each came from.
        "loaded": {name: REGISTRY[name].description for name in available if runner(name).learner},
        "throughput": throughput,
    }
    document["reliability"] = reliability(document, quiet_peaks)
    if study:
        document["threads_study"] = threads_study(dataset, Plan(repeats=3, seconds_per_repeat=0.3,
                                                                 settle_seconds=plan.settle_seconds), echo)
    document["help_seconds"] = help_seconds()
    echo(f"compare --help: {document['help_seconds']:.3f} s")
    if plan.measure_memory and runners is None:  # a target of the project's own: not in a run of chosen runners
        document["run_numpy_peak_rss_bytes"] = run_peak_memory()
        echo(f"compare run --impl numpy: peak memory {document['run_numpy_peak_rss_bytes'] / 2**20:,.0f} MiB")
    document["autograd_graph"] = graph_footprints(dataset, plan, echo, [r for r in available if r in ENGINES])
    if tensor_graph := tensor_graph_footprints(dataset, echo, available):
        document["tensor_graph"] = tensor_graph
    if with_accuracy:
        echo("accuracy:")
        document["accuracy"] = accuracy_runs(dataset, echo)
    document["targets"] = targets(document)
    return document


def save(document: dict, json_path: Path, markdown_path: Path) -> None:
    atomic_write_text(json_path, json.dumps(document, indent=1) + "\n")
    atomic_write_text(markdown_path, to_markdown(document) + "\n")

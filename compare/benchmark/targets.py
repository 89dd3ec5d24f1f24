"""The project's speed, memory and accuracy targets, as ratios measured in one run, and
whether the machine was quiet enough for them to mean something."""

from __future__ import annotations

import json
from pathlib import Path

from compare.benchmark.plan import BENCH_CONFIGS, DTYPES, NIELSEN, RELU256, THREEB1B
from compare.benchmark.graphs import AUTOGRAD_CONFIGS
from compare.run.machine import WAITING_LIMIT, cores, cpu_model, is_busy, kept_waiting
from shared.atomic import atomic_write_text


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
    for dtype in DTYPES:  # issue 20: our own tensor engine against PyTorch and hand-written NumPy
        for config in BENCH_CONFIGS:
            for other, goal in (("torch", 1.0), ("numpy", 0.7)):
                add(f"tensor / {other}, {config}, {dtype}", ratio(table, config, dtype, "tensor", other), f">= {goal}",
                    lambda m, goal=goal: m >= goal, entries=[(config, dtype)])
    for dtype in DTYPES:  # issue 20: the peer an engineer would pick instead, JAX (when installed)
        for config in BENCH_CONFIGS:
            for other, how in (("jax-jit", "jax.jit per step"), ("jax-scan", "an epoch as one compiled lax.scan")):
                add(f"numpy / JAX, {how}, {config}, {dtype}", ratio(table, config, dtype, "numpy", other), ">= 1.0",
                    lambda m: m >= 1.0, entries=[(config, dtype)])
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
    above the core count, the bench's threads kept waiting for a core (WAITING_LIMIT of their
    time, in a config or in the matmul peak), or the matmul peak below half the last one
    measured quietly."""
    core_count = document["environment"]["cores"] or 1
    configs = document["throughput"]
    loads = [c["load_average"] for c in configs if c.get("load_average") is not None]
    waits = [c["waiting_share"] for c in configs if c.get("waiting_share") is not None]
    reasons = []
    busy = sum(1 for load in loads if is_busy(load, core_count))
    if busy:
        reasons.append(f"load average up to {max(loads):.1f} on {core_count} cores ({busy} of "
                       f"{len(configs)} configs measured while busy)")
    waited = sum(1 for w in waits if kept_waiting(w))
    if waited:
        reasons.append(f"the bench's threads waited for a core up to {max(waits):.0%} of the time ({waited} of "
                       f"{len(configs)} configs {WAITING_LIMIT:.0%} or more)")
    peak_waiting = document.get("matmul_peak_waiting_share")
    if kept_waiting(peak_waiting):
        reasons.append(f"the matmul peak's threads waited for a core {peak_waiting:.0%} of the time")
    for dtype, peak in document["matmul_peak_gflops"].items():
        quiet = (quiet_peaks or {}).get(dtype)
        if quiet and peak < PEAK_FLOOR * quiet:
            reasons.append(f"{dtype} matmul peak {peak:,.1f} GFLOP/s, under {PEAK_FLOOR:.0%} of the "
                           f"{quiet:,.1f} measured on a quiet run")
    return {"cores": core_count, "load_average_max": max(loads) if loads else None,
            "waiting_share_max": max(waits) if waits else None,
            "quiet_matmul_peak_gflops": quiet_peaks, "unreliable": bool(reasons), "reasons": reasons}


PEAK_FLOOR = 0.5  # a matmul peak under half the last quiet one means the machine is busy


def quiet_peaks_key() -> str:
    """Peaks are remembered per machine: its processor and core count."""
    return f"{cpu_model()} x{cores()}"


class PeaksError(ValueError):
    """A quiet-peaks file that is not what compare bench keeps; the message names it."""


MAX_PEAKS_BYTES = 1 << 20  # a line per machine


def read_quiet_peaks(path: Path) -> dict | None:
    """This machine's matmul peaks from the last quiet bench, None when none is known; a file
    that is not what remember_quiet_peaks writes is a PeaksError (read before any measuring,
    and only a regular file: a FIFO is never opened to wait)."""
    from shared.files import read_regular

    try:
        known = json.loads(read_regular(path, MAX_PEAKS_BYTES))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as error:
        raise PeaksError(f"{path}: not the quiet matmul peaks compare bench keeps ({error})") from None
    problem = peaks_problem(known)
    if problem:
        raise PeaksError(f"{path}: not the quiet matmul peaks compare bench keeps ({problem})")
    return known.get(quiet_peaks_key())


def peaks_problem(known) -> str | None:
    """What is wrong with a quiet-peaks document ({machine: {dtype: GFLOP/s}}), or None."""
    if not isinstance(known, dict):
        return "expected an object of machines"
    for machine, peaks in known.items():
        if not isinstance(peaks, dict):
            return f"{machine!r} holds {type(peaks).__name__}, not peaks by dtype"
        for dtype, value in peaks.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                return f"{machine!r} {dtype}: {value!r} is not a positive number of GFLOP/s"
    return None


def below_a_step(document: dict) -> list[str]:
    """The dtypes whose matmul peak is under the GFLOP/s a training step of numpy or tensor
    reached with the same BLAS: a peak cut short (a burst of load, or the noise of a quick run's
    short products), not one to judge later runs by."""
    peaks = document["matmul_peak_gflops"]
    return sorted({c["dtype"] for c in document["throughput"] for name in ("numpy", "tensor")
                   if c["results"].get(name, {}).get("gflops", 0.0) > peaks.get(c["dtype"], float("inf"))})


def remember_quiet_peaks(path: Path, document: dict) -> None:
    """Keep this run's matmul peaks as the quiet reference when the run was quiet and no
    training step outran them."""
    if document["reliability"]["unreliable"] or below_a_step(document):
        return
    try:
        known = json.loads(path.read_text())
        known = known if isinstance(known, dict) and peaks_problem(known) is None else {}
    except (OSError, ValueError):
        known = {}
    known[quiet_peaks_key()] = document["matmul_peak_gflops"]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(known, indent=1) + "\n")

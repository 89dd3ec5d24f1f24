"""bench.md (and docs/BENCHMARKS.md): a bench.json document as blocks, written by the one
Markdown writer (compare.blocks)."""

from __future__ import annotations

import re

from compare.blocks import Heading, Paragraph, Table, to_markdown as blocks_markdown
from compare.benchmark.plan import DTYPES, RUNNERS, VECTORIZED, Plan
from compare.wording import plural


def label(runner: str) -> str:
    return RUNNERS[runner].label if runner in RUNNERS else runner  # a bench.json may name a runner since retired


def format_measured(row: dict) -> str:
    value = row["measured"]
    if value is None:
        return "not measured"
    if row["unit"] == "%":
        return f"{value:.2%}"
    if row["unit"] == "fraction":
        return f"{value:.0%}"
    if row["unit"] == "x":
        # 0.698 missing ">= 0.7" would read "0.70x ... no": a third digit where two hide the side
        threshold = goal_threshold(row["goal"])
        hides_the_side = round(value, 2) == threshold and value != threshold
        return f"{value:,.3f}x" if hides_the_side else f"{value:,.2f}x"
    return f"{value:,.3f} s" if row["unit"] == "s" else f"{value:,.0f} {row['unit']}"


def goal_threshold(goal: str) -> float | None:
    """The number of a goal such as ">= 0.7" or ">= 0.5 (or 1 thread no better)"."""
    match = re.match(r"[<>]=? ([\d.]+)", goal)
    return float(match.group(1)) if match else None


def to_markdown(document: dict, on_terminal: bool = False) -> str:
    return blocks_markdown(bench_blocks(document), on_terminal=on_terminal).rstrip("\n")


def bench_blocks(document: dict) -> list:
    env = document["environment"]
    blocks: list = [Heading("Benchmarks", 1), Paragraph(
        f"Made by `{document['command']}` on {document['created']}: {env['cpu']}, {env['cores']} cores, "
        f"Python {env['python']}, NumPy {env['numpy']}, PyTorch {env['torch']}; "
        + threads_sentence(document) + " "
        "What each baseline stands for is in bench/README.md. Training steps only (data in memory, no "
        f"evaluation), after a warm-up; each figure is the median of {document['plan']['repeats']} interleaved "
        f"repeats, with the range, each run {document['plan']['settle_seconds']} s after the one before (NumPy's "
        "BLAS threads spin on after a call and slowed the next torch run by a third when measured without it). "
        "A target's ratio compares the two runners' fastest rounds (noise on a shared machine only ever adds "
        "time, so the best round is the least disturbed); the matmul peak is the best median "
        f"over square sizes {', '.join(map(str, document['plan']['matmul_sizes']))}.")]
    blocks += reliability_blocks(document)
    if document["plan"]["seconds_per_repeat"] < Plan.seconds_per_repeat:
        # Two quick runs a minute apart, quiet: tensor / numpy 0.71x and 1.00x, numpy / torch 3.14x and 1.93x.
        blocks.append(Paragraph(f"A short run (`--quick`): rounds of {document['plan']['seconds_per_repeat']} s, "
                                f"against {Plan.seconds_per_repeat} s in a full one. Its ratios can move by half "
                                "from one run to the next: they say that everything runs, not how fast; quote a "
                                "full run's."))
    blocks += runner_blocks(document)
    blocks += [Heading("Targets"), Table(["target", "measured", "goal", "met"], [
        [row["target"], format_measured(row) + (" (unreliable: busy)" if row.get("unreliable") else ""), row["goal"],
         {True: "yes", False: "**no**", None: "-"}[row["met"]]]
        for row in document["targets"] if row["measured"] is not None or not document.get("selected")])]
    blocks += throughput_blocks(document)
    blocks += study_blocks(document.get("threads_study"))
    blocks += graph_blocks(document.get("autograd_graph"))
    blocks += tensor_graph_blocks(document.get("tensor_graph"))
    if document.get("accuracy"):
        blocks += [Heading("Accuracy"), Table(
            ["implementation", "config", "epochs", "test accuracy", "training seconds"],
            [[name, entry["preset"], str(entry["epochs"]), f"{entry['test_accuracy']:.2%}", f"{entry['train_seconds']:.1f}"]
             for name, entry in document["accuracy"].items()])]
    return blocks


def throughput_blocks(document: dict) -> list:
    peaks = document["matmul_peak_gflops"]
    blocks: list = [Heading("Training throughput (samples per second)")]
    for dtype in DTYPES:
        entries = [c for c in document["throughput"] if c["dtype"] == dtype]
        runners = list(dict.fromkeys(r for c in entries for r in c["results"]))
        runners.sort(key=lambda r: list(RUNNERS).index(r) if r in RUNNERS else len(RUNNERS))
        rows = []
        for entry in entries:
            results = [entry["results"].get(runner) for runner in runners]
            rows.append([entry["config"]] + ["-" if r is None else f"{r['median']:,.0f} ({r['min']:,.0f}-{r['max']:,.0f})"
                                             for r in results])
        blocks += [Heading(f"{dtype} (matmul peak {peaks[dtype]:,.1f} GFLOP/s)", 3),
                   Table(["config"] + [label(r) for r in runners], rows),
                   Paragraph("Achieved GFLOP/s of the vectorized implementations (share of the matmul peak):"),
                   Table(["config", *VECTORIZED], [
                       [entry["config"]] + [f"{entry['results'][r]['gflops']:,.1f} "
                                            f"({entry['results'][r]['gflops'] / peaks[dtype]:.0%})"
                                            if r in entry["results"] else "-" for r in VECTORIZED]
                       for entry in entries])]
    return blocks


def threads_sentence(document: dict) -> str:
    per_config = document.get("threads_per_config")
    if not per_config:  # a bench.json from before threads were chosen per config
        return f"BLAS and torch limited to {plural(document['threads'], 'thread')}."
    counts = ", ".join(f"{name} {t}" for name, t in per_config.items())
    how = ("as `compare run --threads auto` picks them" if document["threads"] == "auto"
           else f"as asked with --threads {document['threads']}")
    return (f"BLAS and torch threads per config, the same for every runner on it, {how}: {counts}; "
            f"the matmul peak with {plural(document['matmul_peak_threads'], 'thread')}.")


def reliability_blocks(document: dict) -> list:
    info = document.get("reliability")
    if not info:
        return []
    if info["unreliable"]:
        return [Paragraph("**Warning: the machine was busy during this run** (" + "; ".join(info["reasons"]) + "). "
                          "Figures measured while busy are marked unreliable; rerun on a quiet machine before quoting "
                          "them.")]
    load = info["load_average_max"]
    if load is None:
        return [Paragraph("Load average not available on this system.")]
    waited = info.get("waiting_share_max")  # None in a bench.json from before it was measured
    return [Paragraph(f"The machine was quiet: load average at most {load:.1f} on {info['cores']} cores"
                      + ("" if waited is None else f", the bench's threads waiting for a core at most {waited:.1%} of the time")
                      + (", matmul peak not under half the last quiet one." if info["quiet_matmul_peak_gflops"] else "."))]


def study_blocks(study: dict | None) -> list:
    """The table of `--threads-study`: samples/s with 1 thread and all cores, quiet and busy."""
    if not study:
        return []
    settings = study["settings"]
    columns = [(runner, condition, t) for runner in VECTORIZED for condition in ("quiet", "busy") for t in settings]
    columns = [c for c in columns if any(f"{c[0]} {c[1]} {c[2]}" in row["rates"] for row in study["configs"])]
    rows = []
    for row in study["configs"]:
        cells = []
        for runner, condition, t in columns:
            rate = row["rates"].get(f"{runner} {condition} {t}")
            best = row["winner"].get(f"{runner} {condition}") == t
            cells.append("-" if rate is None else (f"**{rate:,.0f}**" if best else f"{rate:,.0f}"))
        ratio_text = "-" if row["torch_busy_over_quiet"] is None else f"{row['torch_busy_over_quiet']:.2f}"
        rows.append([row["config"], *cells, f"{row['auto_quiet']} / {row['auto_busy']}", ratio_text])
    return [Heading("Threads: 1 against all cores, quiet and busy"), Paragraph(
        f"Samples per second, {study['dtype']}, {study['cores']} cores; busy = one CPU-burning process per core "
        "running beside the benchmark. `auto` is what `compare run --threads auto` picks (quiet / busy); "
        "the last column is torch busy with that choice over torch quiet with it (target: at least 0.5, "
        "unless one thread falls further too)."),
        Table(["config", *(f"{r} {c} {t}T" for r, c, t in columns), "auto", "torch busy/quiet"], rows),
        Paragraph("Bold: the faster thread count for that implementation and condition.")]


def graph_blocks(entries: list[dict] | None) -> list:
    if not entries:
        return []
    return [Heading("The graphs of the scalar autograd engines"), Paragraph(
        f"Built for one training image at a time (mean over the first {entries[0]['samples']} training images, "
        f"{entries[0]['nonzero_pixels']:.0f} non-zero pixels on average, which is all either engine is fed); "
        "nodes made for the image (the parameters, leaves that exist anyway, not counted) and the memory "
        "allocated while its graph is alive (tracemalloc)."),
        Table(["config", "engine", "nodes per image (largest)", "graph memory per image (largest)"], [
            [entry["config"], label(entry["runner"]), f"{entry['nodes_per_sample']:,.0f} ({entry['max_nodes']:,})",
             f"{entry['bytes_per_sample'] / 1024:,.0f} KiB ({entry['max_bytes'] / 1024:,.0f} KiB)"]
            for entry in entries])]


def tensor_graph_blocks(entries: list[dict] | None) -> list:
    if not entries:
        return []
    return [Heading("The graph of the tensor engine"), Paragraph(
        "Built for one training step, a whole batch at once: nodes made for the batch (the parameters, the "
        "batch and its targets, which exist anyway, not counted) and the memory allocated while the graph is "
        "alive, as backward finds it (tracemalloc): each node's array and what its backward rules keep."),
        Table(["config", "dtype", "nodes per step", "graph memory per step", "per image"], [
            [entry["config"], entry["dtype"], f"{entry['nodes_per_step']:,}", f"{entry['bytes_per_step'] / 1024:,.0f} KiB",
             f"{entry['bytes_per_step'] / entry['batch_size'] / 1024:,.1f} KiB"]
            for entry in entries])]


def runner_blocks(document: dict) -> list:
    """What was measured beyond the usual: a learner's implementations, the JAX baselines."""
    sentences = [f"`{name}` is {description}." for name, description in (document.get("loaded") or {}).items()]
    if any(r.startswith("jax-") for r in document.get("runners", ())):
        sentences.append(
            f"JAX {document['environment'].get('jax') or ''} computes on one core of the CPU (XLA is started on one "
            "and keeps it: bench/jax_step.py), whatever the config's thread count; "
            "`jax-scan` runs the 2,048 images' mini-batches as one compiled lax.scan per call, `jax-jit` one "
            "compiled step per mini-batch.")
    return [Paragraph(" ".join(sentences))] if sentences else []

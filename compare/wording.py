"""Words, numbers and tables said the same way in the console, the report and the page."""

from __future__ import annotations

import os
from pathlib import Path

from compare.blocks import Table
from shared.config import OUTPUT_ACTIVATION


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 epoch`, `3 epochs`."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def vs_fastest(speed: float, fastest: float) -> str:
    """The one speed convention of the console and the report: against the fastest."""
    return "fastest" if speed >= fastest else f"{fastest / speed:,.1f}x slower"


def shown_path(path: Path | str) -> str:
    """A path as the user would type it: relative to the working directory when inside it,
    so printed output and reports hold no machine's absolute paths."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


def layer_sizes(sizes) -> str:
    """(784, 30, 10) -> `784-30-10`."""
    return "-".join(map(str, sizes))


def describe_network(config) -> str:
    """`784-30-10, sigmoid hidden layers, softmax output, cross-entropy loss, nielsen
    initialization`: the one description of a network. `config`: a shared.config.Config,
    or its dictionary as a results file holds it."""
    field = config.get if isinstance(config, dict) else lambda name: getattr(config, name)
    return (f"{layer_sizes(field('sizes'))}, {field('activation')} hidden layers, "
            f"{OUTPUT_ACTIVATION[field('loss')]} output, {field('loss')} loss, {field('init')} initialization")


def watched(epoch: dict) -> tuple[str, float | None, float]:
    """(set, loss, accuracy) an epoch of a results document was evaluated on after it: the
    validation set when the run held one out, else the test set."""
    if epoch.get("validation_accuracy") is not None:
        return "validation", epoch.get("validation_loss"), epoch["validation_accuracy"]
    return "test", epoch.get("test_loss"), epoch["test_accuracy"]


def mebibytes(count: int) -> str:
    return f"{count / 2**20:,.0f} MiB"


def summary_table(documents: list[dict], detailed: bool = True) -> Table:
    """Accuracy and speed of each implementation of one or more runs (results documents,
    compare.report.results), the speeds against the fastest: the table the console prints
    after a run (detailed=False) and the report's summary (with dtype, device and memory,
    and the run's name when there are several)."""
    several = len(documents) > 1
    entries = [(document, impl) for document in documents for impl in document["implementations"]]
    fastest = max(impl["final"]["samples_per_second"] for _, impl in entries)
    headers = (["run"] if several else []) + ["impl", "accuracy", "test loss", "train s/epoch", "eval s/epoch",
                                              "samples/s", "vs fastest"] + (["peak memory (RSS)"] if detailed else [])
    rows = []
    for document, impl in entries:
        final = impl["final"]
        rows.append(([document["name"]] if several else []) + [
            f"{impl['name']} ({impl['dtype']}, {impl['device']})" if detailed else impl["name"],
            f"{final['test_accuracy']:.2%}",
            f"{final['test_loss']:.4f}",
            f"{final['train_seconds_per_epoch']:.2f}",
            f"{final['eval_seconds_per_epoch']:.2f}",
            f"{final['samples_per_second']:,.0f}",
            vs_fastest(final["samples_per_second"], fastest),
        ] + ([mebibytes(impl["peak_rss_bytes"])] if detailed else []))
    return Table(headers, rows)

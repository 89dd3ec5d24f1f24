"""The combined table of a sweep: one row per run and implementation, its values of the options
that vary, its accuracy and time; printed, and written with the figure as ROOT/sweep.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from compare.blocks import Figure, Heading, Paragraph, Table, to_markdown, to_text
from compare.report.results import ResultsError, load_results
from compare.sweep.runs import RunResult, options_of
from compare.wording import plural
from shared.atomic import atomic_write_text

MARKDOWN = "sweep.md"


@dataclass
class Entry:
    """A run of the sweep as the table shows it: its values, and its results when it finished."""
    result: RunResult
    values: dict[str, str]
    document: dict | None = None
    problem: str = ""  # a finished run whose results.json cannot be read


def entries(results: list[RunResult], values: dict[str, dict[str, str]]) -> list[Entry]:
    out = []
    for result in results:
        entry = Entry(result, values.get(result.name, {}))
        if result.finished:
            try:
                entry.document = load_results(result.path / "results.json")
            except ResultsError as error:
                entry.problem = str(error)
        out.append(entry)
    return out


def varying(specs) -> dict[str, dict[str, str]]:
    """Each run's values of the options that differ between the runs (for runs not made from a grid)."""
    options = {spec.name: options_of(spec.args) for spec in specs}
    keys = list(dict.fromkeys(key for each in options.values() for key in each))
    differ = [key for key in keys if len({each.get(key, "") for each in options.values()}) > 1]
    return {name: {key: each.get(key, "(default)") for key in differ} for name, each in options.items()}


def best_accuracy(impl: dict) -> tuple[float, int]:
    top = max(impl["epochs"], key=lambda epoch: epoch["test_accuracy"])
    return top["test_accuracy"], top["epoch"]


def sweep_table(rows: list[Entry], links: bool) -> Table:
    """One row per run and implementation. links (Markdown): the last column links each run's
    report; in the console the values say which run a row is (its name, when it has none)."""
    keys = list(dict.fromkeys(key for entry in rows for key in entry.values))
    named = links or not keys
    headers = keys + ["impl", "test accuracy", "best (epoch)", "train loss", "train s"] + (["run"] if named else [])
    table = []
    for entry in rows:
        name = entry.result.name
        cells = [entry.values.get(key, "") for key in keys]
        run = ([f"[{name}]({quote(name)}/report.md)" if links and entry.document else name] if named else [])
        if entry.document is None:  # why: below the table (failures)
            table.append(cells + ["", "failed", "", "", ""] + run)
            continue
        for impl in entry.document["implementations"]:
            accuracy, epoch = best_accuracy(impl)
            last = impl["epochs"][-1]
            table.append(cells + [impl["name"], f"{impl['final']['test_accuracy']:.2%}", f"{accuracy:.2%} ({epoch})",
                                  f"{last['train_loss']:.4f}", f"{sum(e['train_seconds'] for e in impl['epochs']):.2f}"]
                         + run)
    return Table(headers, table)


def failures(rows: list[Entry]) -> list[str]:
    return [f"{entry.result.name}: {entry.problem or entry.result.reason}" for entry in rows if entry.document is None]


def best_run(rows: list[Entry]) -> tuple[Entry, dict] | None:
    """The run and implementation with the highest final test accuracy."""
    finished = [(entry, impl) for entry in rows if entry.document for impl in entry.document["implementations"]]
    return max(finished, key=lambda pair: pair[1]["final"]["test_accuracy"]) if finished else None


def console_lines(rows: list[Entry]) -> list[str]:
    table = sweep_table(rows, links=False)
    keys = len(table.headers) - 5 - (table.headers[-1] == "run")
    lines = to_text(table, left=keys + 1)
    top = best_run(rows)
    if top is not None:
        entry, impl = top
        lines.append(f"best: {entry.result.name} ({impl['name']}), {impl['final']['test_accuracy']:.2%}")
    lines += [f"failed: {line}" for line in failures(rows)]
    return lines


def write_markdown(rows: list[Entry], root: Path, command: str, figure: Path | None) -> Path:
    finished = sum(entry.document is not None for entry in rows)
    blocks = [Heading(f"Sweep {root.name}", 1),
              Paragraph(f"{plural(len(rows), 'run')} of `compare run`, {finished} finished, made by `{command}`. "
                        "Each run's folder holds its results.json, its report and its page; "
                        "accuracy is on the test set, the best with the epoch that reached it.")]
    top = best_run(rows)
    if top is not None:
        blocks.append(Paragraph(f"Best: **{top[0].result.name}** ({top[1]['name']}), "
                                f"{top[1]['final']['test_accuracy']:.2%} after the last epoch."))
    blocks.append(sweep_table(rows, links=True))
    if failures(rows):
        blocks.append(Paragraph("Failed (the same command runs them again): " + "; ".join(
            f"`{line}`" for line in failures(rows)) + "."))
    if figure is not None:
        blocks.append(Figure(figure, "Test accuracy and training loss after each epoch, one colour per run."))
    path = root / MARKDOWN
    atomic_write_text(path, to_markdown(blocks, root))
    return path

"""An experiment's figure: ours beside the book's, from the runs' results documents.

Four kinds (Experiment.figure): "accuracy" per epoch, each run a line and the book's figure
a dashed line of its colour (its whole curve where the book's repository has it); "overfitting",
the test accuracy and the training loss per epoch; "sizes", accuracy against the number of
training images on a log axis; "costs", the cost on the training data per epoch, ours and the
book's side by side (they are different costs: see the experiment's note).
"""

from __future__ import annotations

from pathlib import Path

from compare.experiment.book import Experiment, first
from compare.report.drawing import PALETTE, new_figure, save
from compare.wording import watched

SIZE = (11.0, 4.5)


def draw(experiment: Experiment, documents: dict[str, dict], path: Path) -> Path:
    """documents: run name -> its results document."""
    return KINDS[experiment.figure](experiment, documents, path)


def colours(experiment: Experiment) -> dict[str, str]:
    return {run.name: PALETTE[index % len(PALETTE)] for index, run in enumerate(experiment.runs)}


def epochs_of(document: dict) -> list[dict]:
    return first(document)["epochs"]


def accuracy(experiment: Experiment, documents: dict[str, dict], path: Path) -> Path:
    panels = experiment.panels or (tuple(run.name for run in experiment.runs),)
    canvas, axes = new_figure(SIZE, ncols=len(panels))
    for axis, names in zip(axes if len(panels) > 1 else [axes], panels):
        accuracy_panel(axis, experiment, [experiment.run(name) for name in names], documents, len(panels) > 1)
    return save(canvas, path)


def accuracy_panel(axis, experiment: Experiment, runs, documents: dict[str, dict], several: bool) -> None:
    colour, seen, values = colours(experiment), set(), []
    for run in runs:
        epochs = epochs_of(documents[run.name])
        points = [(e["epoch"], 100 * watched(e)[2]) for e in epochs]
        seen.add(watched(epochs[0])[0])
        values += [y for x, y in points if x > 1] or [y for _, y in points]
        axis.plot(*zip(*points), color=colour[run.name], linewidth=2, label=f"{run.label} (ours)")
        book = experiment.book_curves.get(run.label)
        if book:
            axis.plot([x for x, _ in book], [y for _, y in book], color=colour[run.name], linestyle="--",
                      linewidth=1.5, label=f"{run.label} (the book)")
            values += [y for _, y in book[1:]]
    names = {run.name for run in runs}
    for row in [] if experiment.book_curves else experiment.rows:  # the book's number where it has no curve
        if row.book is not None and row.run in names:
            axis.axhline(row.book, color=colour[row.run], linestyle="--", linewidth=1.2,
                         label=f"the book: {row.book:.2f}%" + ("" if several and len(runs) == 1 else f" ({row.label})"))
            values.append(row.book)
    low, high = min(values), max(values)
    axis.set_ylim(max(0.0, low - 0.5 - 0.05 * (high - low)), min(100.0, high + 0.5 + 0.05 * (high - low)))
    kind = " and ".join(sorted(seen, reverse=True))
    title = f"{kind.capitalize()} accuracy after each epoch" if several else \
        f"{experiment.title}: {kind} accuracy after each epoch"
    axis.set(title=title, xlabel="epoch", ylabel=f"{kind} accuracy (%)")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")


def overfitting(experiment: Experiment, documents: dict[str, dict], path: Path) -> Path:
    canvas, (left, right) = new_figure(SIZE, ncols=2)
    run = experiment.runs[0]
    epochs = epochs_of(documents[run.name])
    x = [e["epoch"] for e in epochs]
    left.plot(x, [100 * e["test_accuracy"] for e in epochs], color=PALETTE[0], linewidth=1.5, label="ours")
    book = next(row.book for row in experiment.rows if row.reading.what.endswith("test"))
    left.axhline(book, color=PALETTE[1], linestyle="--", label=f"the book: {book:.2f}%")
    left.set(title="Test accuracy after each epoch", xlabel="epoch", ylabel="test accuracy (%)")
    late = [100 * e["test_accuracy"] for e in epochs[len(epochs) // 10:]]
    left.set_ylim(min(late + [book]) - 2, max(late + [book]) + 1)
    right.plot(x, [e["train_loss"] for e in epochs], color=PALETTE[0], linewidth=1.5)
    right.set(title="Training cost (mean over each epoch): it keeps falling", xlabel="epoch", ylabel="cost",
              yscale="log")
    for axis in (left, right):
        axis.grid(True, alpha=0.3)
    left.legend(fontsize=9, loc="lower right")
    return save(canvas, path)


def sizes(experiment: Experiment, documents: dict[str, dict], path: Path) -> Path:
    canvas, axis = new_figure(SIZE)
    book = experiment.book_curves["the book"]
    axis.plot([n for n, _ in book], [a for _, a in book], color=PALETTE[1], linestyle="--", marker="o",
              label="the book (its nine sizes)")
    ours = sorted((documents[row.run]["data"]["train_images"], row.reading.read(documents[row.run]))
                  for row in experiment.rows)
    axis.plot([n for n, _ in ours], [a for _, a in ours], color=PALETTE[0], marker="s", markersize=8, linewidth=2,
              label="ours")
    axis.set(title="Validation accuracy after training on the first N images (1.5 million images seen)",
             xlabel="training images N", ylabel="validation accuracy (%)", xscale="log")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=9, loc="lower right")
    return save(canvas, path)


def costs(experiment: Experiment, documents: dict[str, dict], path: Path) -> Path:
    canvas, (ours_axis, book_axis) = new_figure(SIZE, ncols=2)
    for colour, run in zip(PALETTE, experiment.runs):
        epochs = epochs_of(documents[run.name])
        ours_axis.plot([e["epoch"] for e in epochs], [e["train_loss"] + (e.get("weight_penalty") or 0.0) for e in epochs],
                       "o-", color=colour, markersize=3, label=run.label)
        book = experiment.book_curves.get(run.label, [])
        book_axis.plot([x for x, _ in book], [y for _, y in book], "o-", color=colour, markersize=3, label=run.label)
    ours_axis.set(title="Ours: -ln a_y, mean over the epoch,\n+ (lambda/2n) sum w^2 after it", xlabel="epoch",
                  ylabel="cost on the training data")
    book_axis.set(title="The book's: 10 binary cross-entropies summed,\n+ (lambda/2n) sum w^2, after each epoch",
                  xlabel="epoch", ylabel="cost on the training data")
    for axis in (ours_axis, book_axis):
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=9, loc="upper right")
    return save(canvas, path)


KINDS = {"accuracy": accuracy, "overfitting": overfitting, "sizes": sizes, "costs": costs}

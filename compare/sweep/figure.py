"""The sweep's figure: test accuracy and training loss after each epoch, one colour per run
(and one line style per implementation, when a run trains several)."""

from __future__ import annotations

from pathlib import Path

from compare.report.drawing import LINESTYLES, new_figure, plain, save
from compare.report.figures import accuracy_limits

FIGURE = "sweep.png"
SIZE = (13.0, 5.0)  # inches at 100 dpi
COLOURS = "tab10"  # up to ten runs in distinct colours; more cycle through tab20


def draw(rows, root: Path) -> Path | None:
    """ROOT/sweep.png from the table's entries (compare.sweep.table.Entry); None when no run finished."""
    finished = [entry for entry in rows if entry.document is not None]
    if not finished:
        return None
    from matplotlib import colormaps

    palette = colormaps[COLOURS if len(finished) <= 10 else "tab20"]
    impls = list(dict.fromkeys(impl["name"] for entry in finished for impl in entry.document["implementations"]))
    canvas, (accuracy_axis, loss_axis) = new_figure(SIZE, ncols=2)
    accuracies, losses, epochs_drawn = [], [], set()
    for index, entry in enumerate(finished):
        for impl in entry.document["implementations"]:
            epochs = [epoch["epoch"] for epoch in impl["epochs"]]
            epochs_drawn.update(epochs)
            run = ", ".join(f"{key}={value}" for key, value in entry.values.items()) or entry.result.name
            label = plain(run if len(impls) == 1 else f"{run}: {impl['name']}")
            look = dict(color=palette(index % palette.N), linestyle=LINESTYLES[impls.index(impl["name"]) % 4],
                        marker="o", markersize=4, linewidth=2)
            values = [100 * epoch["test_accuracy"] for epoch in impl["epochs"]]
            accuracies += values
            accuracy_axis.plot(epochs, values, label=label, **look)
            losses += [epoch["train_loss"] for epoch in impl["epochs"]]
            loss_axis.plot(epochs, losses[-len(epochs):], label=label, **look)
    accuracy_axis.set(title="Test accuracy after each epoch", xlabel="epoch", ylabel="test accuracy (%)")
    accuracy_axis.set_ylim(*accuracy_limits(accuracies))
    spread = max(losses) / min(losses) if min(losses) > 0 else float("inf")
    loss_axis.set(title="Training loss, mean over each epoch", xlabel="epoch", ylabel="loss",
                  yscale="log" if spread > 10 else "linear")  # a log scale for losses that span decades
    for axis in (accuracy_axis, loss_axis):
        axis.xaxis.get_major_locator().set_params(integer=True)
        if len(epochs_drawn) == 1:  # one epoch: one tick, not 0.96 to 1.04
            (epoch,) = epochs_drawn
            axis.set_xlim(epoch - 1, epoch + 1)
            axis.set_xticks([epoch])
        axis.grid(True, alpha=0.3)
    legend_axis = loss_axis if len(finished) <= 12 else None
    if legend_axis is not None:
        legend_axis.legend(fontsize=8)
    else:  # many runs: the legend beside the plots, not over the lines
        canvas.legend(*accuracy_axis.get_legend_handles_labels(), loc="outside right upper", fontsize=7)
    return save(canvas, root / FIGURE)

"""The report's figures: a registry, one function per canvas, drawn from results documents
(compare.report.results) with matplotlib.

Adding a figure is one function here, under @figure: its file name, size, the report section
it stands in, its caption, and what it draws. The report (compare.report.document) places,
counts and links every figure registered, in the order registered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from compare.report.drawing import RUN_HATCHES, new_figure, plain, run_style, save, style
from compare.wording import vs_fastest, watched

ZERO_FLOOR = 1e-18  # where an exact 0 is drawn on a log axis
MIN_ACCURACY_SPAN = 1.0  # percentage points: closer accuracies are not stretched into a peak


@dataclass(frozen=True)
class ReportFigure:
    name: str  # its file is NAME.png (NAME-1.png, NAME-2.png, ... per run when runs stand side by side)
    size: tuple[float, float]  # inches at drawing.DPI: (12, 4.5) is 1200x450 pixels
    section: str  # the heading of the report section it stands in (compare.report.document.SECTIONS)
    per_run: bool  # drawn from each results document, or once from all of them
    caption: str | Callable[..., str]  # or made from what it draws
    draw: Callable[..., Path | None]  # (document or documents, path, size) -> path, or None: nothing to draw
    note: Callable[..., str | None] | None = None  # a paragraph after it, from what it draws

    def caption_for(self, drawn) -> str:
        return self.caption(drawn) if callable(self.caption) else self.caption


FIGURES: dict[str, ReportFigure] = {}  # by name, in the order of the report


def figure(name: str, size: tuple[float, float], section: str, caption, per_run: bool = False, note=None):
    """Register the decorated function as the report figure `name`."""
    def register(draw):
        FIGURES[name] = ReportFigure(name, size, section, per_run, caption, draw, note)
        return draw
    return register


def impl_names(documents: list[dict]) -> list[str]:
    return list(dict.fromkeys(i["name"] for d in documents for i in d["implementations"]))


def accuracy_limits(values: list[float], span: float = MIN_ACCURACY_SPAN) -> tuple[float, float]:
    """Limits of a percentage axis holding `values` that span at least `span` points
    (within 0..100), so a 0.03% wobble is not drawn as a peak."""
    low, high = min(values), max(values)
    margin = max(0.1 * (high - low), 0.0)
    low, high = low - margin, high + margin
    if high - low < span:
        middle = (low + high) / 2
        low, high = middle - span / 2, middle + span / 2
    if low < 0:
        low, high = 0.0, high - low
    if high > 100:
        low, high = max(0.0, low - (high - 100)), 100.0
    return low, high


def label(document: dict, impl: str, runs: int) -> str:
    return impl if runs == 1 else plain(f"{document['name']}: {impl}")


COINCIDE = ("The curves lie on top of each other: trained from the same parameters on the same batches, "
            "the implementations compute the same numbers (up to rounding), so only one line shows.")


def all_same_predictions(document: dict) -> bool:
    """Every pair of the run's implementations gave the same prediction for every test image."""
    agreement = document["parameter_agreement"]
    return bool(agreement) and min(p["same_predictions"] for p in agreement) == 1.0


def confusion_caption(document: dict) -> str:
    impls = [i["name"] for i in document["implementations"]]
    shown = document["visuals"]["impl"]
    text = f"Confusion matrix of {shown} on the test set: rows are the true digit, columns the prediction."
    if len(impls) > 1 and all_same_predictions(document):
        text += f" The same for {', '.join(impls)}: they make the same prediction for every test image."
    elif len(impls) > 1:
        text += f" {shown} is the most accurate; the others' predictions differ on some images."
    return text


def curves_coincide(document: dict, tolerance: float = 1e-9) -> bool:
    """Whether every implementation's loss curve and accuracies match the first's."""
    impls = document["implementations"]
    if len(impls) < 2:
        return False
    reference = impls[0]["epochs"]
    for other in impls[1:]:
        for a, b in zip(reference, other["epochs"]):
            if abs(watched(a)[2] - watched(b)[2]) > tolerance:
                return False
            ya = np.array([p[1] for p in a["loss_curve"]])
            yb = np.array([p[1] for p in b["loss_curve"]])
            if ya.shape != yb.shape or np.max(np.abs(ya - yb), initial=0.0) > tolerance * max(1.0, np.max(np.abs(ya))):
                return False
    return True


@figure("curves", (12.0, 4.5), "Learning", "Accuracy per epoch (on the validation set when the run held one "
        "out, its final test accuracy a star) and training loss, every implementation.",
        note=lambda documents: COINCIDE if len(documents) == 1 and curves_coincide(documents[0]) else None)
def curves(documents: list[dict], path: Path, size) -> Path:
    canvas, (accuracy_axis, loss_axis) = new_figure(size, ncols=2)
    order, accuracies, sets = impl_names(documents), [], set()
    for run, document in enumerate(documents):
        for impl in document["implementations"]:
            epochs = impl["epochs"]
            lab = label(document, impl["name"], len(documents))
            look = run_style(impl["name"], run, len(documents), order)
            values = [100 * watched(e)[2] for e in epochs]
            sets |= {watched(e)[0] for e in epochs}
            accuracies += values
            accuracy_axis.plot([e["epoch"] for e in epochs], values, label=lab, **look)
            if watched(epochs[-1])[0] == "validation":  # the test set, evaluated once at the end
                accuracies.append(100 * impl["final"]["test_accuracy"])
                accuracy_axis.plot([epochs[-1]["epoch"]], [accuracies[-1]], marker="*", markersize=12, linestyle="none",
                                   color=look.get("color"))
            points = [p for e in epochs for p in e["loss_curve"] if np.isfinite(p[1])]
            loss_axis.plot([p[0] for p in points], [p[1] for p in points], label=lab,
                           **{k: v for k, v in look.items() if k != "marker"})
    evaluated = " and ".join(sorted(sets, reverse=True)) or "test"  # "validation and test" with runs of both kinds
    accuracy_axis.set(title=f"{evaluated.capitalize()} accuracy after each epoch" + (" (star: test)" if "validation" in sets else ""),
                      xlabel="epoch", ylabel=f"{evaluated} accuracy (%)")
    if accuracies:
        accuracy_axis.set_ylim(*accuracy_limits(accuracies))
    accuracy_axis.xaxis.get_major_locator().set_params(integer=True)
    epochs_drawn = [e["epoch"] for d in documents for i in d["implementations"] for e in i["epochs"]]
    if epochs_drawn and min(epochs_drawn) == max(epochs_drawn):  # one epoch: one tick, not 0.96 to 1.04
        accuracy_axis.set_xlim(min(epochs_drawn) - 1, min(epochs_drawn) + 1)
        accuracy_axis.set_xticks([min(epochs_drawn)])
    loss_axis.set(title="Training loss (mean over each 1/50 of an epoch)", xlabel="epochs", ylabel="loss", yscale="log")
    for axis in (accuracy_axis, loss_axis):
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=9)
    if len(documents) == 1 and curves_coincide(documents[0]):
        loss_axis.text(0.98, 0.95, "the implementations' curves lie on top of each other",
                       transform=loss_axis.transAxes, ha="right", va="top", fontsize=9,
                       bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"))
    return save(canvas, path)


@figure("throughput", (9.0, 4.5), "Speed", "Training samples per second, each bar labelled with its value and how "
        "many times slower than the fastest it is.")
def throughput(documents: list[dict], path: Path, size) -> Path:
    """Bars from zero on a linear axis (their lengths mean something), each labelled with its
    value and how many times slower than the fastest it is, as the console says it."""
    canvas, axis = new_figure(size)
    order = impl_names(documents)
    rows = [(label(d, i["name"], len(documents)), i["name"], i["final"]["samples_per_second"], run)
            for run, d in enumerate(documents) for i in d["implementations"]]
    fastest = max(r[2] for r in rows)
    positions = np.arange(len(rows))[::-1]
    for y, (_, name, speed, run) in zip(positions, rows):
        axis.barh(y, speed, color=style(name, order)["color"], hatch=RUN_HATCHES[run % len(RUN_HATCHES)],
                  edgecolor="white")
        axis.text(speed + fastest * 0.01, y, f"{speed:,.0f}/s ({vs_fastest(speed, fastest)})", va="center", fontsize=10)
    axis.set_yticks(positions, [r[0] for r in rows])
    axis.set_xlim(0, fastest * 1.45)
    axis.xaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
    axis.set(title="Training throughput (samples per second; times slower than the fastest)",
             xlabel="training samples per second")
    axis.grid(True, axis="x", alpha=0.3)
    return save(canvas, path)


@figure("gradients", (12.0, 4.5), "Do they compute the same thing?",
        "Maximum relative error per weight matrix and bias vector, log scale, against the tolerance.", per_run=True)
def gradients(document: dict, path: Path, size) -> Path:
    gradients = document["gradients"]
    tensors = gradients["tensors"]
    canvas, axes = new_figure(size, ncols=2)
    panels = [
        ("pairs", "Implementation against implementation", gradients["tolerances"]["pairs"]),
        ("finite_differences", "Implementation against finite differences", gradients["tolerances"]["finite_differences"]),
    ]
    for axis, (key, title, tolerance) in zip(axes, panels):
        series = list(tensors[0][key]) if tensors else []
        width = 0.8 / max(1, len(series))
        for s, name in enumerate(series):
            # Drawn between ZERO_FLOOR and 1: a NaN or infinite error (a diverged network) shows as 1.
            values = np.clip(np.nan_to_num([t[key][name] for t in tensors], nan=1.0, posinf=1.0), ZERO_FLOOR, 1.0)
            colour = style(name.split("~")[-1] if key == "pairs" else name, gradients["impls"])["color"]
            hatch = "//" if key == "pairs" and s % 3 == 1 else ("..." if key == "pairs" and s % 3 == 2 else None)
            x = np.arange(len(tensors)) + (s - (len(series) - 1) / 2) * width
            axis.bar(x, values, width, label=name.replace("~", " vs "), color=colour, hatch=hatch, edgecolor="white")
        if not series:
            axis.text(0.5, 0.7, "no pairs to compare (one implementation)", transform=axis.transAxes,
                      ha="center", va="center", fontsize=11, color="#555555")
            axis.set_xlim(-0.5, len(tensors) - 0.5)
        axis.axhline(tolerance, color="#CC3311", linewidth=1.5, linestyle="--", label=f"tolerance {tolerance:.0e}")
        axis.set_xticks(np.arange(len(tensors)), [t["name"] for t in tensors])
        axis.set_yscale("log")
        axis.set_ylim(1e-18, 1)
        axis.set(title=title, xlabel="weight matrix W / bias vector b, by layer",
                 ylabel="max relative error (0 drawn at 1e-18)")
        axis.grid(True, axis="y", alpha=0.3)
        axis.legend(fontsize=8, loc="upper right")
    return save(canvas, path)


@figure("confusion", (6.5, 6.0), "What the network learned", lambda document: confusion_caption(document),
        per_run=True)
def confusion(document: dict, path: Path, size) -> Path:
    visuals = document["visuals"]
    confusion = np.array(visuals["confusion"])
    canvas, axis = new_figure(size)
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    image = axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    canvas.colorbar(image, ax=axis, shrink=0.8, label="share of the true digit's test images")
    classes = len(confusion)
    for i in range(classes):
        for j in range(classes):
            if confusion[i, j]:
                axis.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=8 if classes <= 10 else 6,
                          color="white" if rates[i, j] > 0.5 else "black")
    axis.set_xticks(range(classes))
    axis.set_yticks(range(classes))
    accuracy = np.trace(confusion) / max(confusion.sum(), 1)
    impls = [i["name"] for i in document["implementations"]]
    same = len(impls) > 1 and all_same_predictions(document)
    shown = f"{', '.join(impls)}: the same predictions" if same else f"{visuals['impl']}, the most accurate"
    axis.set(title=f"Confusion matrix, {accuracy:.2%} correct\n({shown})", xlabel="predicted digit", ylabel="true digit")
    return save(canvas, path)


def grid(count: int) -> tuple[int, int]:
    columns = max(1, math.ceil(math.sqrt(count)))
    return math.ceil(count / columns), columns


@figure("weights", (8.0, 8.0), "What the network learned",
        "First-layer weights, one image per hidden unit: the pattern each neuron responds to.", per_run=True)
def weights(document: dict, path: Path, size) -> Path | None:
    """Each hidden unit's incoming weights drawn as an image: what the neuron "looks for"."""
    visuals = document["visuals"]
    weights = np.array(visuals["first_layer_weights"])
    height, width = visuals["image_shape"]
    if weights.size == 0 or weights.shape[1] != height * width:
        return None
    rows, columns = grid(len(weights))
    canvas, axes = new_figure(size, nrows=rows, ncols=columns, squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, unit in zip(axes.ravel(), weights):
        limit = np.max(np.abs(unit)) or 1.0  # symmetric, so white is 0 in every image
        axis.imshow(unit.reshape(height, width), cmap="RdBu_r", vmin=-limit, vmax=limit)
    shown = len(weights)
    total = visuals.get("hidden_units", shown)
    suffix = "" if shown == total else f" (first {shown} of {total})"
    # wrap: on one line, a long implementation name and the suffix ran past the figure's edges
    canvas.suptitle(f"First-layer weights of {plain(visuals['impl'])}, one image per hidden unit{suffix}: "
                    "red pushes the unit up, blue down", wrap=True)
    return save(canvas, path)


@figure("misclassified", (10.0, 7.0), "What the network learned",
        "Test digits the network got wrong, most confident first, with the probability it gave.", per_run=True)
def misclassified(document: dict, path: Path, size) -> Path | None:
    visuals = document["visuals"]
    wrong = visuals["misclassified"]
    if not wrong:
        return None
    height, width = visuals["image_shape"]
    rows, columns = 4, 6
    canvas, axes = new_figure(size, nrows=rows, ncols=columns, squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, example in zip(axes.ravel(), wrong):
        axis.imshow(np.array(example["pixels"]).reshape(height, width), cmap="gray_r")
        axis.set_title(f"true {example['label']}, said {example['predicted']}\n"
                       f"({example['probability']:.0%})", fontsize=9)
    canvas.suptitle(f"The test digits {visuals['impl']} got wrong most confidently")
    return save(canvas, path)



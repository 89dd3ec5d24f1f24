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

from compare.report.drawing import RUN_HATCHES, new_figure, plain, run_style, save, signed_colormap, style
from compare.wording import EPSILON, drift_summary, run_dtype, start_epoch, vs_fastest, watched

ZERO_FLOOR = 1e-18  # where an exact 0 is drawn on a log axis
MIN_ACCURACY_SPAN = 1.0  # percentage points: closer accuracies are not stretched into a peak


@dataclass(frozen=True)
class ReportFigure:
    name: str  # its file is NAME.png (NAME-1.png, NAME-2.png, ... per run when runs stand side by side)
    size: tuple[float, float]  # inches at drawing.DPI: (12, 4.5) is 1200x450 pixels
    section: str  # the heading of the report section it stands in (compare.report.document.SECTIONS)
    per_run: bool  # drawn from each results document, or once from all of them
    caption: str | Callable[..., str]  # or made from what it draws
    draw: Callable[..., Path]  # (document or documents, path, size) -> path, called only where it applies
    note: Callable[..., str | None] | None = None  # a paragraph after it, from what it draws
    applies: Callable[..., bool] = lambda drawn: True  # whether there is anything to draw (counted, then drawn)

    def caption_for(self, drawn) -> str:
        return self.caption(drawn) if callable(self.caption) else self.caption


FIGURES: dict[str, ReportFigure] = {}  # by name, in the order of the report


def figure(name: str, size: tuple[float, float], section: str, caption, per_run: bool = False, note=None,
           applies=lambda drawn: True):
    """Register the decorated function as the report figure `name`."""
    def register(draw):
        FIGURES[name] = ReportFigure(name, size, section, per_run, caption, draw, note, applies)
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


def test_points(document: dict, impl: dict) -> list[tuple[float, float, float]]:
    """(epochs elapsed, loss, accuracy) of an implementation on the set evaluated after each epoch
    (the test set; the validation set when the run held one out), and where the run kept its
    training history (the first implementation; test set runs only), at log-spaced steps of the
    first epoch too (results' "test_history"), so that even a one-epoch run draws a curve."""
    points = {e["epoch"]: watched(e)[1:] for e in impl["epochs"]}
    history = document.get("test_history")
    if history and history["impl"] == impl["name"] and held_out(impl) == "test":
        points |= {epoch: (loss, accuracy) for epoch, loss, accuracy in history["points"]}
    return [(epoch, *points[epoch]) for epoch in sorted(points)]


def held_out(impl: dict) -> str:
    """The set an implementation's epochs were evaluated on: "validation" when its run held one out."""
    return watched(impl["epochs"][-1])[0]


def curves_caption(documents: list[dict]) -> str:
    text = "Training loss (the mean of each 1/50 of an epoch) and test loss, and test accuracy, every implementation"
    if any(held_out(impl) == "validation" for d in documents for impl in d["implementations"]):
        text += "; with a validation set held out, its loss and accuracy after each epoch, and the test accuracy once (a star)"
    kept = [d["test_history"]["impl"] for d in documents if d.get("test_history")]
    if kept:
        text += (f"; {' and '.join(dict.fromkeys(kept))}'s test loss and accuracy also from the random start and at "
                 f"log-spaced steps of the first epoch")
    return text + "."


@figure("curves", (12.0, 4.5), "Learning", curves_caption,
        note=lambda documents: COINCIDE if len(documents) == 1 and curves_coincide(documents[0]) else None)
def curves(documents: list[dict], path: Path, size) -> Path:
    canvas, (loss_axis, accuracy_axis) = new_figure(size, ncols=2)
    order, accuracies, xs, sets = impl_names(documents), [], [], set()
    for run, document in enumerate(documents):
        for impl in document["implementations"]:
            lab = label(document, impl["name"], len(documents))
            look = run_style(impl["name"], run, len(documents), order)
            line = {k: v for k, v in look.items() if k != "marker"}
            training = [p for e in impl["epochs"] for p in e["loss_curve"] if np.isfinite(p[1])]
            loss_axis.plot([p[0] for p in training], [p[1] for p in training], label=f"{lab}: training", **line)
            tested = test_points(document, impl)
            # test: hollow markers on a thin line of the implementation's colour, over the training curve
            test_look = dict(color=look["color"], linestyle=line["linestyle"], linewidth=1.2, marker="s", markersize=5,
                             markerfacecolor="white", markeredgewidth=1.2)
            loss_axis.plot([p[0] for p in tested], [p[1] for p in tested], label=f"{lab}: test", **test_look)
            accuracy_axis.plot([p[0] for p in tested], [100 * p[2] for p in tested], label=lab, **look)
            accuracies += [100 * p[2] for p in tested]
            xs += [p[0] for p in tested]
            sets.add(held_out(impl))
            if held_out(impl) == "validation":  # the test set, evaluated once, after the last epoch
                accuracies.append(100 * impl["final"]["test_accuracy"])
                accuracy_axis.plot([tested[-1][0]], [accuracies[-1]], marker="*", markersize=12, linestyle="none",
                                   color=look["color"])
    positive = any(value > 0 for line in loss_axis.get_lines() for value in line.get_ydata())
    evaluated = " and ".join(sorted(sets, reverse=True)) or "test"  # "validation and test": runs of both kinds
    loss_axis.set(title=f"Loss: training (each 1/50 of an epoch) and {evaluated} (squares)", xlabel="epochs", ylabel="loss",
                  yscale="log" if positive else "linear")  # a one-class run's loss is 0: no log scale
    for document in documents:  # a resumed run: where this run took over from its checkpoint
        resumed = start_epoch(document) - 1
        if resumed:
            for axis in (loss_axis, accuracy_axis):
                axis.axvline(resumed, color="#777777", linewidth=1, linestyle=":")
                axis.text(resumed, 0.02, " resumed here", transform=axis.get_xaxis_transform(), fontsize=8,
                          color="#555555")
    for ticks in (loss_axis.yaxis.set_major_formatter, loss_axis.yaxis.set_minor_formatter):
        ticks(lambda value, _: f"{value:g}")  # 0.2, not 2 x 10^-1
    accuracy_axis.set(title=f"{evaluated.capitalize()} accuracy" + (" (star: test, once at the end)" if "validation" in sets
                                                                      else ""),
                      xlabel="epochs", ylabel=f"{evaluated} accuracy (%)")
    if accuracies:
        accuracy_axis.set_ylim(*accuracy_limits(accuracies))
    early = [x for x in xs if 0 < x < 0.1]
    if early and max(xs) <= 1:  # one epoch, with its first steps: they are where the learning happens
        for axis in (loss_axis, accuracy_axis):
            axis.set_xscale("symlog", linthresh=min(early), linscale=0.3)
            axis.set_xlim(0, 1.05)
            decades = [10.0 ** k for k in range(math.ceil(math.log10(min(early))), 1)]
            axis.set_xticks([0.0, *decades], ["0", *(f"{value:g}" for value in decades)])
            axis.set_xlabel("epochs (log scale after step 0)")
    else:
        for axis in (loss_axis, accuracy_axis):
            axis.xaxis.get_major_locator().set_params(integer=True)
    if xs and min(xs) == max(xs):  # one point in time (one epoch, no history): one tick, not 0.96 to 1.04
        accuracy_axis.set_xlim(min(xs) - 1, min(xs) + 1)
        accuracy_axis.set_xticks([min(xs)])
    # Said in the loss legend's title: the legend is placed where the curves leave room (a free
    # text in a corner lay on the curves of some runs).
    coincide = len(documents) == 1 and curves_coincide(documents[0])
    for axis in (loss_axis, accuracy_axis):
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8, title_fontsize=8,
                    title="the curves lie on top of each other" if coincide and axis is loss_axis else None)
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


def drift_note(document: dict) -> str | None:
    drift = document.get("drift")
    return drift_summary(drift, document.get("gradients_after"), document["config"]) if drift else None


def worst_pair_error(gradients: dict | None, pair: str) -> float | None:
    """The largest relative error of a pair ("numpy~torch") over the tensors of a gradient check."""
    if not gradients:
        return None
    errors = [t["pairs"][pair] for t in gradients["tensors"] if pair in t["pairs"]]
    return max(errors) if errors else None


@figure("drift", (12.0, 4.5), "Do they compute the same thing?",
        lambda document: f"Left: the largest difference between each implementation's parameters and "
                         f"{document['drift']['reference']}'s as training goes (same start, same batches; log scale). "
                         f"Right: the gradient check, from the initial parameters and from "
                         f"{document['drift']['reference']}'s trained ones.",
        per_run=True, note=drift_note, applies=lambda document: bool(document.get("drift")))
def drift(document: dict, path: Path, size) -> Path:
    """Parameters drifting apart (rounding amplified by training) beside gradients that agree."""
    drift = document["drift"]
    reference, per_epoch = drift["reference"], drift["steps_per_epoch"]
    order = [reference, *drift["impls"]]
    canvas, (apart, agree) = new_figure(size, ncols=2, gridspec_kw={"width_ratios": [3, 1]})
    for name, points in drift["impls"].items():
        shown = [(step / per_epoch, difference) for step, difference in points if difference > 0]
        look = style(name, order)
        apart.plot([x for x, _ in shown], [y for _, y in shown], marker="o", markersize=3,
                   label=f"{name} vs {reference}", **look)
    dtype = run_dtype(document.get("config", {}))
    epsilon = EPSILON[dtype]
    apart.axhline(epsilon, color="#777777", linewidth=1, linestyle=":")
    # under its line: the differences lie above it (a label above it lay on them)
    apart.text(0.99, epsilon / 1.6, f"{dtype}'s last bit at 1 ({epsilon:.2g})", transform=apart.get_yaxis_transform(),
               ha="right", va="top", fontsize=8, color="#555555")
    apart.set(title=f"How far the parameters drift from {reference}'s while training", xlabel="epochs",
              ylabel="largest |parameter difference|", yscale="log", ylim=(1e-18, 10))
    apart.grid(True, alpha=0.3)
    apart.legend(fontsize=9, loc="upper left")
    checks = [("from the\ninitial\nparameters", document["gradients"]),
              (f"from {reference}'s\ntrained\nparameters", document.get("gradients_after"))]
    others = list(drift["impls"])
    width = 0.8 / max(1, len(others))
    for index, name in enumerate(others):
        values = [worst_pair_error(check, f"{reference}~{name}") for _, check in checks]
        x = [k + (index - (len(others) - 1) / 2) * width for k, value in enumerate(values) if value is not None]
        heights = [max(value, ZERO_FLOOR) for value in values if value is not None]
        agree.bar(x, heights, width, color=style(name, order)["color"], edgecolor="white",
                  label=f"{name} vs {reference}")
    if checks[1][1] is None:  # Ctrl-C came before it: say so rather than leave the place empty
        why = "not checked:\nthe run was\ninterrupted" if document.get("interrupted") else "not checked"
        agree.text(1, 1e-12, why, ha="center", va="center", fontsize=8, color="#555555")
    tolerance = document["gradients"]["tolerances"]["pairs"]
    agree.axhline(tolerance, color="#CC3311", linewidth=1.5, linestyle="--", label=f"tolerance {tolerance:.0e}")
    agree.set_xticks(range(len(checks)), [title for title, _ in checks], fontsize=8)
    agree.set_xlim(-0.5, len(checks) - 0.5)  # both places, even when one has no bar
    agree.set(title="Their gradients still agree", ylabel="max relative error of the gradients", yscale="log",
              ylim=(1e-18, 10))
    agree.grid(True, axis="y", alpha=0.3)
    agree.legend(fontsize=8, loc="upper right")
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


def weights_drawable(visuals: dict) -> bool:
    """First-layer weights that are images: some hidden units, each with one weight per pixel."""
    weights = np.array(visuals["first_layer_weights"])
    height, width = visuals["image_shape"]
    return weights.size > 0 and weights.shape[1] == height * width


@figure("weights", (8.0, 8.0), "What the network learned",
        "First-layer weights, one image per hidden unit: the pattern each neuron responds to. Blue is a positive "
        "weight (ink there pushes the unit up), orange a negative one (pushes it down), white zero: the drawing "
        "page's colours.", per_run=True,
        applies=lambda document: weights_drawable(document["visuals"]))
def weights(document: dict, path: Path, size) -> Path:
    """Each hidden unit's incoming weights drawn as an image: what the neuron "looks for"."""
    visuals = document["visuals"]
    weights = np.array(visuals["first_layer_weights"])
    height, width = visuals["image_shape"]
    rows, columns = grid(len(weights))
    canvas, axes = new_figure(size, nrows=rows, ncols=columns, squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    colours = signed_colormap()
    for axis, unit in zip(axes.ravel(), weights):
        limit = np.max(np.abs(unit)) or 1.0  # symmetric, so white is 0 in every image
        axis.imshow(unit.reshape(height, width), cmap=colours, vmin=-limit, vmax=limit)
    shown = len(weights)
    total = visuals.get("hidden_units", shown)
    suffix = "" if shown == total else f" (first {shown} of {total})"
    # wrap: on one line, a long implementation name and the suffix ran past the figure's edges
    canvas.suptitle(f"First-layer weights of {plain(visuals['impl'])}, one image per hidden unit{suffix}: "
                    "blue pushes the unit up, orange down", wrap=True)
    return save(canvas, path)


@figure("misclassified", (10.0, 7.0), "What the network learned",
        "Test digits the network got wrong, most confident first, with the probability it gave.", per_run=True,
        applies=lambda document: bool(document["visuals"]["misclassified"]))
def misclassified(document: dict, path: Path, size) -> Path:
    visuals = document["visuals"]
    wrong = visuals["misclassified"]
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



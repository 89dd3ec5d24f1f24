"""The report's figures, drawn from results documents (compare.results) with matplotlib.

Every figure has a fixed size in pixels (FIGURES) and each implementation keeps one
colour in every figure (and, in a single run, one line style); runs side by side differ
in line style and marker. matplotlib is imported here only, on the Agg
backend, so nothing needs a display.
"""

from __future__ import annotations

import io
import math
import textwrap
from pathlib import Path

import numpy as np

from shared.atomic import atomic_write_bytes

DPI = 100
# name -> (width, height) in inches; at DPI 100 that is (width * 100, height * 100) pixels
FIGURES = {
    "curves": (12.0, 4.5),
    "throughput": (9.0, 4.5),
    "gradients": (12.0, 4.5),
    "confusion": (6.5, 6.0),
    "weights": (8.0, 8.0),
    "misclassified": (10.0, 7.0),
}
# Okabe-Ito colours (readable with colour blindness), then line styles so that overlaid
# lines stay visible: the first drawn wide and pale, the others thin on top of it.
PALETTE = ["#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442"]
LINESTYLES = ["-", "--", ":", "-."]
KNOWN = ["scratch", "numpy", "torch", "autograd"]  # fixed places, so a colour means the same in every report
RUN_MARKERS = ["o", "s", "^", "D", "v", "P"]
RUN_LINESTYLES = ["-", "--", ":", "-."]
RUN_HATCHES = [None, "//", "..", "xx", "\\\\", "++"]
ZERO_FLOOR = 1e-18  # where an exact 0 is drawn on a log axis
MIN_ACCURACY_SPAN = 1.0  # percentage points: closer accuracies are not stretched into a peak


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def style(name: str, order: list[str] | None = None) -> dict:
    """Colour and line style of an implementation: known names keep their place, others
    take the next free places in `order` (every implementation in the figure), so any
    number of implementations stay distinct."""
    if name in KNOWN:
        index = KNOWN.index(name)
    else:
        others = [n for n in (order or [name]) if n not in KNOWN]
        index = len(KNOWN) + (others.index(name) if name in others else 0)
    base = dict(color=PALETTE[index % len(PALETTE)], linestyle=LINESTYLES[index % len(LINESTYLES)])
    return base | (dict(linewidth=5.0, alpha=0.55) if index == 0 else dict(linewidth=2.5))


def run_style(name: str, run: int, runs: int, order: list[str]) -> dict:
    """An implementation's style in run `run` of `runs` side by side: its colour, and the
    run's own line style and marker, so float32 and float64 runs of one implementation differ."""
    own = style(name, order)
    if runs == 1:
        return own | dict(marker=RUN_MARKERS[0])
    return own | dict(linestyle=RUN_LINESTYLES[run % len(RUN_LINESTYLES)], marker=RUN_MARKERS[run % len(RUN_MARKERS)])


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


def plain(text: str) -> str:
    """A name (a file, a run) drawn as typed: its dollar signs escaped, so they do not start
    matplotlib's mathtext (which would garble the name or fail on it)."""
    return text.replace("$", r"\$")


def label(document: dict, impl: str, runs: int) -> str:
    return impl if runs == 1 else plain(f"{document['name']}: {impl}")


def save(figure, path: Path) -> Path:
    """Save at the figure's fixed size (no tight bounding box, so the size is known)
    to a temporary name first, then rename."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    pyplot().close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def new_figure(name: str, **kwargs):
    return pyplot().subplots(figsize=FIGURES[name], dpi=DPI, layout="constrained", **kwargs)


def curves_coincide(document: dict, tolerance: float = 1e-9) -> bool:
    """Whether every implementation's loss curve and accuracies match the first's."""
    impls = document["implementations"]
    if len(impls) < 2:
        return False
    reference = impls[0]["epochs"]
    for other in impls[1:]:
        for a, b in zip(reference, other["epochs"]):
            if abs(a["test_accuracy"] - b["test_accuracy"]) > tolerance:
                return False
            ya = np.array([p[1] for p in a["loss_curve"]])
            yb = np.array([p[1] for p in b["loss_curve"]])
            if ya.shape != yb.shape or np.max(np.abs(ya - yb), initial=0.0) > tolerance * max(1.0, np.max(np.abs(ya))):
                return False
    return True


def plot_curves(documents: list[dict], path: Path) -> Path:
    figure, (accuracy_axis, loss_axis) = new_figure("curves", ncols=2)
    order, accuracies = impl_names(documents), []
    for run, document in enumerate(documents):
        for impl in document["implementations"]:
            epochs = impl["epochs"]
            lab = label(document, impl["name"], len(documents))
            look = run_style(impl["name"], run, len(documents), order)
            values = [100 * e["test_accuracy"] for e in epochs]
            accuracies += values
            accuracy_axis.plot([e["epoch"] for e in epochs], values, label=lab, **look)
            points = [p for e in epochs for p in e["loss_curve"] if np.isfinite(p[1])]
            loss_axis.plot([p[0] for p in points], [p[1] for p in points], label=lab,
                           **{k: v for k, v in look.items() if k != "marker"})
    accuracy_axis.set(title="Test accuracy after each epoch", xlabel="epoch", ylabel="test accuracy (%)")
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
    return save(figure, path)


def plot_throughput(documents: list[dict], path: Path) -> Path:
    """Bars from zero on a linear axis (their lengths mean something), each labelled with its
    value and how many times slower than the fastest it is, as the console says it."""
    from compare.wording import vs_fastest

    figure, axis = new_figure("throughput")
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
    return save(figure, path)


def plot_gradients(document: dict, path: Path) -> Path:
    gradients = document["gradients"]
    tensors = gradients["tensors"]
    figure, axes = new_figure("gradients", ncols=2)
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
    return save(figure, path)


def plot_confusion(document: dict, path: Path) -> Path:
    visuals = document["visuals"]
    confusion = np.array(visuals["confusion"])
    figure, axis = new_figure("confusion")
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    image = axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axis, shrink=0.8, label="share of the true digit's test images")
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
    agreement = document.get("parameter_agreement") or []
    same = len(impls) > 1 and agreement and min(p["same_predictions"] for p in agreement) == 1.0
    shown = f"{', '.join(impls)}: the same predictions" if same else f"{visuals['impl']}, the most accurate"
    axis.set(title=f"Confusion matrix, {accuracy:.2%} correct\n({shown})", xlabel="predicted digit", ylabel="true digit")
    return save(figure, path)


def grid(count: int) -> tuple[int, int]:
    columns = max(1, math.ceil(math.sqrt(count)))
    return math.ceil(count / columns), columns


def plot_weights(document: dict, path: Path) -> Path | None:
    """Each hidden unit's incoming weights drawn as an image: what the neuron "looks for"."""
    visuals = document["visuals"]
    weights = np.array(visuals["first_layer_weights"])
    height, width = visuals["image_shape"]
    if weights.size == 0 or weights.shape[1] != height * width:
        return None
    rows, columns = grid(len(weights))
    figure, axes = new_figure("weights", nrows=rows, ncols=columns, squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, unit in zip(axes.ravel(), weights):
        limit = np.max(np.abs(unit)) or 1.0  # symmetric, so white is 0 in every image
        axis.imshow(unit.reshape(height, width), cmap="RdBu_r", vmin=-limit, vmax=limit)
    shown = len(weights)
    total = visuals.get("hidden_units", shown)
    suffix = "" if shown == total else f" (first {shown} of {total})"
    figure.suptitle(f"First-layer weights of {visuals['impl']}, one image per hidden unit{suffix}: "
                    "red pushes the unit up, blue down")
    return save(figure, path)


def plot_misclassified(document: dict, path: Path) -> Path | None:
    visuals = document["visuals"]
    wrong = visuals["misclassified"]
    if not wrong:
        return None
    height, width = visuals["image_shape"]
    rows, columns = 4, 6
    figure, axes = new_figure("misclassified", nrows=rows, ncols=columns, squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, example in zip(axes.ravel(), wrong):
        axis.imshow(np.array(example["pixels"]).reshape(height, width), cmap="gray_r")
        axis.set_title(f"true {example['label']}, said {example['predicted']}\n"
                       f"({example['probability']:.0%})", fontsize=9)
    figure.suptitle(f"The test digits {visuals['impl']} got wrong most confidently")
    return save(figure, path)


def plot_predictions(answers: list[dict], digits, path: Path) -> Path:
    """Per image: the original, the 28x28 the network saw, and a bar chart of its
    probabilities, with the warnings that say when not to trust it."""
    plt = pyplot()
    rows = len(answers)
    figure, axes = plt.subplots(rows, 3, figsize=(10, 2.6 * rows), dpi=DPI, layout="constrained", squeeze=False,
                                gridspec_kw={"width_ratios": [1, 1, 2.2]})
    for (original_axis, seen_axis, bar_axis), answer, digit in zip(axes, answers, digits):
        original_axis.imshow(digit.original, cmap="gray", vmin=0, vmax=1)
        original_axis.set_title(plain(Path(answer["image"]).name), fontsize=9)
        seen_axis.imshow(digit.seen, cmap="gray", vmin=0, vmax=1)
        seen_axis.set_title("what the network sees (28x28)", fontsize=9)
        for axis in (original_axis, seen_axis):
            axis.set_xticks([])
            axis.set_yticks([])
        bar_axis.set_ylim(0, 100)
        bar_axis.set_xlim(-0.6, 9.6)
        bar_axis.set_xticks(range(10))
        if answer["prediction"] is None:
            bar_axis.set(ylabel="probability (%)", title="no digit found")
        else:
            p, best = answer["probabilities"], answer["prediction"]
            colours = ["#0072B2" if d == best else "#BBBBBB" for d in range(len(p))]
            bar_axis.bar(range(len(p)), [100 * v for v in p], color=colours)
            bar_axis.set_xticks(range(len(p)))
            bar_axis.set(ylabel="probability (%)", title=f"prediction: {best} ({p[best]:.1%})")
        if answer["warnings"]:
            lines = [line for w in answer["warnings"] for line in textwrap.wrap(f"warning: {w}", 70)]
            bar_axis.text(0.5, 0.95, "\n".join(lines), transform=bar_axis.transAxes,
                          ha="center", va="top", fontsize=8, color="#CC3311",
                          bbox=dict(facecolor="white", alpha=0.85, edgecolor="#CC3311"))
    return save(figure, path)

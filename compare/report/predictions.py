"""The picture `compare predict --show` writes: each image, the 28x28 the network saw, and
its probabilities (not a report figure: it is drawn from predictions, not results)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from compare.report.drawing import DPI, plain, pyplot, save


MAX_SHOWN = 40  # rows in one picture: hundreds would take minutes to draw, and no one reads them


def plot_predictions(answers: list[dict], digits, path: Path, tick=lambda: None) -> Path:
    """Per image: the original, the 28x28 the network saw, and a bar chart of its
    probabilities, with the warnings that say when not to trust it. tick() after each row."""
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
        tick()
    return save(figure, path)

"""What every figure shares: matplotlib (imported here only, on the Agg backend, so nothing
needs a display), a fixed size in pixels, saving by rename, and each implementation's look.

An implementation keeps one colour (and, in a single run, one line style) in every figure:
the one its registry record gives (impls.REGISTRY), or the next free one of the palette for
a name the registry does not know. Runs side by side differ in line style and marker.
"""

from __future__ import annotations

import io
from pathlib import Path

from impls import REGISTRY
from shared.atomic import atomic_write_bytes

DPI = 100
# Okabe-Ito colours (readable with colour blindness), for names the registry gives no colour.
PALETTE = ["#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442"]
LINESTYLES = ["-", "--", ":", "-."]
RUN_MARKERS = ["o", "s", "^", "D", "v", "P"]
RUN_LINESTYLES = ["-", "--", ":", "-."]
RUN_HATCHES = [None, "//", "..", "xx", "\\\\", "++"]


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def new_figure(size: tuple[float, float], **kwargs):
    """A figure of `size` inches (DPI pixels each) and its axes."""
    return pyplot().subplots(figsize=size, dpi=DPI, layout="constrained", **kwargs)


def save(figure, path: Path) -> Path:
    """Save at the figure's fixed size (no tight bounding box, so the size is known)
    to a temporary name first, then rename."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    pyplot().close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def signed_colormap():
    """Signed values as the drawing page colours them (compare/report/page/colours.js, read
    there): orange for negative, blue for positive; white for 0 on the report's white paper
    (the page's is black)."""
    from matplotlib.colors import LinearSegmentedColormap

    from compare.report.page import signed_colours

    colours = signed_colours()
    ends = [tuple(c / 255 for c in colours[key]) for key in ("negative", "positive")]
    return LinearSegmentedColormap.from_list("page-signed", [ends[0], (1.0, 1.0, 1.0), ends[1]])


def plain(text: str) -> str:
    """A name (a file, a run) drawn as typed: its dollar signs escaped, so they do not start
    matplotlib's mathtext (which would garble the name or fail on it)."""
    return text.replace("$", r"\$")


def style(name: str, order: list[str] | None = None) -> dict:
    """Colour and line style of an implementation in a figure that draws those of `order`
    (in drawing order): its registry look, or the palette's next colour that no registered
    implementation holds. The first drawn is wide and pale, so lines drawn over it stay visible."""
    order = order or [name]
    record = REGISTRY.get(name)
    if record is not None and record.colour:
        look = dict(color=record.colour, linestyle=record.linestyle)
    else:
        held = {impl.colour for impl in REGISTRY.values() if impl.colour}
        free = [colour for colour in PALETTE if colour not in held] or PALETTE
        others = [n for n in order if n not in REGISTRY or not REGISTRY[n].colour]
        index = others.index(name) if name in others else 0
        look = dict(color=free[index % len(free)], linestyle=LINESTYLES[index % len(LINESTYLES)])
    return look | (dict(linewidth=5.0, alpha=0.55) if name == order[0] else dict(linewidth=2.5))


def run_style(name: str, run: int, runs: int, order: list[str]) -> dict:
    """An implementation's style in run `run` of `runs` side by side: its colour, and the
    run's own line style and marker, so float32 and float64 runs of one implementation differ."""
    own = style(name, order)
    if runs == 1:
        return own | dict(marker=RUN_MARKERS[0])
    return own | dict(linestyle=RUN_LINESTYLES[run % len(RUN_LINESTYLES)], marker=RUN_MARKERS[run % len(RUN_MARKERS)])

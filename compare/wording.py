"""Words, numbers and tables said the same way in the console, the report and the page."""

from __future__ import annotations

import math
import os
from pathlib import Path

from compare.blocks import Table
from shared.config import OUTPUT_ACTIVATION


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 epoch`, `3 epochs`."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def epochs_trained(epochs: int, start_epoch: int) -> str:
    """`2 epochs`, or for a run resumed after epoch 1: `epochs 2-3 (resumed after epoch 1)`."""
    if start_epoch == 1:
        return plural(epochs, "epoch")
    last = start_epoch + epochs - 1
    which = f"epoch {last}" if epochs == 1 else f"epochs {start_epoch}-{last}"
    return f"{which} (resumed after epoch {start_epoch - 1})"


def start_epoch(document: dict) -> int:
    """The first epoch the run itself trained: after those its checkpoint had, when resumed."""
    return min(e["epoch"] for impl in document["implementations"] for e in impl["epochs"]
               if not e.get("before_resume"))


def vs_fastest(speed: float, fastest: float) -> str:
    """The one speed convention of the console and the report: against the fastest."""
    if speed >= fastest:
        return "fastest"
    ratio = fastest / speed
    return f"{ratio:,.{2 if ratio < 2 else 1}f}x slower"  # 1.02x, not "1.0x slower" for a 2% gap


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
    after a run (detailed=False) and the report's summary (with dtype and device, and the
    run's name when there are several). No memory column: the resident size measured is the
    whole process's, the same for every implementation within a few MiB (process_memory says it once)."""
    several = len(documents) > 1
    entries = [(document, impl) for document in documents for impl in document["implementations"]]
    fastest = max(impl["final"]["samples_per_second"] for _, impl in entries)
    headers = (["run"] if several else []) + ["impl", "accuracy", "test loss", "train s/epoch", "eval s/epoch",
                                              "samples/s", "vs fastest"]
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
        ])
    return Table(headers, rows)


def process_memory(documents: list[dict]) -> str:
    """The one honest memory figure of a run: the peak resident size of its whole process."""
    peaks = ", ".join(f"{d['name']} {mebibytes(max(i['peak_rss_bytes'] for i in d['implementations']))}"
                      for d in documents) if len(documents) > 1 else \
        mebibytes(max(i["peak_rss_bytes"] for i in documents[0]["implementations"]))
    return (f"**Memory** The process peaked at {peaks} resident while training: the training images as floats, "
            f"every library loaded and every implementation together. It is not split by implementation: they "
            f"train one after another in one process that reuses what the one before freed, so each one's reading "
            f"was the same within a few MiB; what one implementation needs alone takes a process of its own.")


ROUNDING_LEVEL = 1e-10  # parameter differences below this are rounding that has accumulated, not drift
APART_LEVEL = 1e-3  # and from this on, two different networks (their predictions differ on some images)


def tenfold_steps(points, floor: float = 1e-13, ceiling: float = 1e-3) -> float | None:
    """Steps per tenfold growth of a difference [(step, difference), ...], fitted (least squares
    on log10) over the points between `floor` (rounding that has merely accumulated) and
    `ceiling` (networks already apart, where it saturates); None unless they span two decades."""
    band = [(step, math.log10(d)) for step, d in points if floor < d < ceiling]
    logs = [d for _, d in band]
    if len(band) < 3 or max(logs) - min(logs) < 2:
        return None
    mean_step, mean_log = sum(s for s, _ in band) / len(band), sum(logs) / len(band)
    spread = sum((s - mean_step) ** 2 for s, _ in band)
    slope = sum((s - mean_step) * (d - mean_log) for s, d in band) / spread if spread else 0.0
    return 1.0 / slope if slope > 0 else None


def difference(value: float) -> str:
    """A parameter difference: 1.2e-14, or 0.66 once it is large enough to read so."""
    return f"{value:.2g}" if value >= 0.01 else f"{value:.1e}"


# The last bit of a number near 1 in each dtype: numpy.finfo(dtype).eps (this module imports no NumPy).
EPSILON = {"float32": 2.0**-23, "float64": 2.0**-52}


def run_dtype(config: dict) -> str:
    """A run's dtype, float64 for results that do not say."""
    return "float32" if config.get("dtype") == "float32" else "float64"


def last_bit(config: dict) -> str:
    """The size of the last bit of a number near 1 in the run's dtype: `1.2e-7 in float32`."""
    dtype = run_dtype(config)
    return f"{EPSILON[dtype]:.1e} in {dtype}".replace("e-0", "e-")


def drift_summary(drift: dict, after: dict | None, config: dict) -> str:
    """In words, how far the implementations drifted apart while training (results' "drift")
    and whether their gradients still agree from the trained parameters ("gradients_after"):
    the console's and the report's sentence."""
    reference = drift["reference"]
    worst = max(drift["impls"], key=lambda name: drift["impls"][name][-1][1])
    points = drift["impls"][worst]
    final, peak = points[-1][1], max(d for _, d in points)
    marks = len(points)
    rate = tenfold_steps(points)

    def steps_text(steps: float) -> str:
        return f"{steps:,.0f} steps ({steps * config['batch_size']:,.0f} images)"

    scale = drift.get("largest_parameter") or 1.0
    digits = max(0, math.floor(-math.log10(max(peak, 1e-300) / scale)))  # of the largest parameter
    if peak <= ROUNDING_LEVEL:
        text = (f"While training, every implementation's parameters stayed within {peak:.1e} of {reference}'s at each "
                f"of the {marks} steps compared (its largest parameter is {scale:.2g}: about {digits} digits the same), "
                f"and ended {final:.1e} apart: only the order of floating-point additions differs.")
        if rate:
            text += (f" Training amplifies that rounding, tenfold about every {steps_text(rate)}: over more epochs, "
                     f"or at a larger learning rate, it reaches the digits that show.")
    else:
        start = next((f"{d:.1e} after {plural(s, 'step')}" for s, d in points if d > 0), f"0 at step {points[0][0]}")
        how = f", growing exponentially on the way: tenfold about every {steps_text(rate)}" if rate else ""
        text = (f"While training, the implementations drifted apart: {worst} vs {reference} went from {start} to "
                f"{difference(final)} at the end{how}. No implementation is wrong: they add the same numbers in "
                f"different orders, which differ in the last bit ({last_bit(config)}), and SGD at learning rate {config['lr']:g} "
                f"amplifies such a difference step after step, as a chaotic system does")
        text += (", until they are two different networks, equally well trained." if final >= APART_LEVEL else
                 f"; they are still the same network to about {digits} digits, and would drift further over more "
                 f"epochs.")
    if after is not None:
        if after["passed"]:
            text += (f" The gradients still agree: from {reference}'s trained parameters the implementations' "
                     f"gradients differ by at most {after['worst_pair']:.1e} (tolerance {after['tolerances']['pairs']:.0e}).")
        else:
            text += (f" From {reference}'s trained parameters the gradient check FAILED (worst pair "
                     f"{after['worst_pair']:.1e}, against finite differences {after['worst_finite_difference']:.1e}).")
    return text

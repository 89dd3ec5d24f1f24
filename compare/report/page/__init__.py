"""The drawing page: one self-contained HTML file where you draw a digit and watch the
network answer, layer by layer.

The page is page.html with page.css and the script put inside it, and the model as JSON:
the exact float64 parameters (base64 of little-endian bytes, decoded in the page into
Float64Arrays) and a few real test digits. It makes no request of any kind; a
Content-Security-Policy allowing only this page's own script and style says so to the
browser too. The script is the real .js files beside this one (SCRIPTS), joined in order:
a new part of the page is a new file there and a line in SCRIPTS.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from compare.report.page.digits import PageDigits, digits_document
from compare.wording import describe_network, layer_sizes
from shared.config import Config
from shared.params import Params, init_params

HERE = Path(__file__).parent
# The page's script, in the order it is joined: each file uses only those before it (and
# page.js, the wiring, starts the page when the whole script has been read).
SCRIPTS = (
    "model.js",  # the embedded model decoded, and its forward pass
    "learn.js",  # backpropagation and the SGD step, in float64 like impls/numpy_mlp.py
    "mnist.js",  # a drawing prepared as MNIST's digits were
    "drawing.js",  # the pad's ink: strokes of a round pen in a fixed grid
    "colours.js",  # the colours of activations, weights and pushes
    "network.js",  # the network picture and its legend
    "timeline.js",  # the run's history: a slider from the random start to the trained network
    "neuron.js",  # the selected neuron: chosen on the picture, and its weights
    "backprop.js",  # backpropagation, visible: every neuron's error, the four equations of one
    "nudges.js",  # "learn from this digit": one SGD step, and how each output moved
    "trainer.js",  # live training's loop, in a worker made from this very script
    "health.js",  # live training gone wrong, said in words
    "training.js",  # live training's controls and curve, and the page following the live network
    "page.js",  # the wiring: events, samples, the selected neuron
)
SIDE = 28  # the page draws 28x28 digits: models with 784 inputs
RIGHT_SAMPLES = 10  # test digits the model gets right, one per class where there are
WRONG_SAMPLES = 4  # and some it gets wrong


@dataclass(frozen=True)
class Samples:
    """Real test digits shown under the pad: uint8 pixels (n, 28, 28), labels, indices."""

    pixels: np.ndarray
    labels: list[int]
    indices: list[int]


def choose_samples(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
                   right: int = RIGHT_SAMPLES, wrong: int = WRONG_SAMPLES) -> Samples:
    """The first test digit of each class that the model gets right, then the first few it
    gets wrong: something to click for every class, and a look at where it fails."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    chosen: list[int] = []
    for label in np.unique(labels)[:right]:
        hits = np.flatnonzero((labels == label) & (predictions == label))
        if len(hits):
            chosen.append(int(hits[0]))
    chosen += [int(i) for i in np.flatnonzero(predictions != labels)[:wrong]]
    pixels = np.asarray(images, dtype=np.uint8)[chosen].reshape(len(chosen), SIDE, SIDE)
    return Samples(pixels, [int(labels[i]) for i in chosen], chosen)


def signed_colours() -> dict[str, tuple[int, int, int]]:
    """The page's colours of signed values as colours.js defines them (the one definition):
    {"positive": blue, "negative": orange}, RGB 0-255. The report's figures read them here."""
    text = (HERE / "colours.js").read_text(encoding="utf-8")
    found = {name: tuple(int(c) for c in re.findall(r"\d+", rgb))
             for name, rgb in re.findall(r"\b(BLUE|ORANGE) = \[([\d,\s]+)\]", text)}
    return {"positive": found["BLUE"], "negative": found["ORANGE"]}


def float64_base64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f8").tobytes()).decode("ascii")


# The history's snapshots in float32 (the trained network itself stays exact float64): the
# default run's 14 snapshots of 784-30-10 are 1.8 MB so, 3.6 MB in float64, near the 4 MB budget.
HISTORY_BUDGET_BYTES = 2_500_000  # base64 bytes of snapshots at most; beyond, every other one is left out


def float32_base64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def history_document(history) -> dict | None:
    """A shared.history.History for the page's timeline: steps, epochs, test accuracy and the
    parameters at each snapshot (float32), thinned to the budget, the first and last kept."""
    snapshots = list(history.snapshots)
    per_snapshot = 4 * 4 / 3 * sum(W.size + b.size for W, b in snapshots[0].params)
    while len(snapshots) > 2 and len(snapshots) * per_snapshot > HISTORY_BUDGET_BYTES:
        snapshots = snapshots[:-1:2] + [snapshots[-1]]
    if len(snapshots) < 2 or len(snapshots) * per_snapshot > HISTORY_BUDGET_BYTES:
        return None
    return {
        "steps": [s.step for s in snapshots],
        "epochs": [s.epoch for s in snapshots],
        "accuracy": [s.test_accuracy for s in snapshots],
        "layers": [{"W": float32_base64(np.stack([s.params[l][0] for s in snapshots])),
                    "b": float32_base64(np.stack([s.params[l][1] for s in snapshots]))}
                   for l in range(len(snapshots[0].params))],
    }


def model_document(params: Params, config: Config, samples: Samples, history=None, trains: bool = False,
                   dataset: str = "MNIST") -> dict:
    """What page.js reads: the network, its exact parameters, the sample digits, and the run's
    history when there is one and it fits (timeline.js). A page that `trains` (training.js) and
    has no history from step 0 (none, one too big for the page, or a resumed run's) gets the run's
    initial parameters, made again by the shared initializer from the config: live training
    starts there."""
    timeline = history_document(history) if history is not None else None  # None too when it does not fit
    document = {
        "sizes": list(config.sizes),
        "activation": config.activation,
        "output": config.output_activation,  # softmax or sigmoid
        "lr": config.lr, "batch_size": config.batch_size,  # how it was trained: the backprop view's first step
        "init": config.init,
        "seed": config.seed,
        "dataset": dataset,  # the name the page gives its sample and training digits
        "layers": [{"W": float64_base64(W), "b": float64_base64(b)} for W, b in params],
        "samples": samples_document(samples),
        "history": timeline,
    }
    if trains and (timeline is None or timeline["steps"][0] != 0):  # a resumed run's history begins later
        document["start"] = [{"W": float64_base64(W), "b": float64_base64(b)}
                             for W, b in init_params(config.sizes, config.init, config.seed)]
    return document


def script_json(document: dict) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' that could end or confuse the element."""
    text = json.dumps(document, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def script() -> str:
    """The page's JavaScript: the SCRIPTS joined, in strict mode."""
    parts = [(HERE / name).read_text(encoding="utf-8").rstrip() + "\n" for name in SCRIPTS]
    return ('// The drawing page\'s script, joined from compare/report/page/*.js.\n"use strict";\n\n'
            + "\n".join(parts))


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def build_page(params: Params, config: Config, samples: Samples, about: str, history=None,
               digits: PageDigits | None = None, dataset: str = "MNIST") -> str:
    """The whole page as one HTML string; with `digits`, one that trains live on them. `dataset`
    is the name its digits are given (dataset_label)."""
    if config.sizes[0] != SIDE * SIDE:
        raise ValueError(f"the page draws 28x28 digits; this network takes {config.sizes[0]} inputs")
    document = model_document(params, config, samples, history, trains=digits is not None, dataset=dataset)
    return render_page(config, script_json(document), about,
                       script_json(digits_document(digits)) if digits is not None else None, dataset)


def render_page(config: Config, model_json: str, about: str, digits_json: str | None = None,
                dataset: str = "MNIST") -> str:
    """page.html filled in: this code's style and script, the model's JSON (script_json), the line
    under the title, and the digits it trains on live (digits_document's JSON) if any. (A page can
    be checked against today's code by rendering it again.)"""
    template = (HERE / "page.html").read_text(encoding="utf-8")
    style = (HERE / "page.css").read_text(encoding="utf-8")
    code = script()
    assert "</script" not in code.lower() and "</style" not in style.lower()
    output_text = ("then softmax turns the last layer into ten probabilities" if config.output_activation == "softmax"
                   else "the ten outputs through the sigmoid too")
    values = {
        # Only this page's own script and style may run; nothing may be fetched. Live training
        # runs the same script in a worker, made from a blob: URL (trainer.js).
        "csp": f"default-src 'none'; script-src {csp_hash(code)}; style-src {csp_hash(style)}; "
               f"img-src data:; {'worker-src blob:; ' if digits_json is not None else ''}base-uri 'none'; form-action 'none'",
        "title": f"Draw a digit: {layer_sizes(config.sizes)} {config.activation} network",
        "dataset": html.escape(dataset),
        "about": html.escape(about),
        "output_text": output_text,
        "style": style,
        "script": code,
        "model": model_json,
        "digits": digits_json if digits_json is not None else "null",
    }
    # One pass, so that nothing inserted is itself read as a placeholder.
    return re.sub(r"\{\{(\w+)\}\}", lambda match: values[match.group(1)], template)


def describe(config: Config, source: str, accuracy: float | None, test_count: int, dataset: str) -> str:
    """The line under the page's title: which network, how trained, how good."""
    text = f"{describe_network(config)}: {source}"
    if accuracy is not None:
        text += f"; {accuracy:.2%} right on {test_count:,} {dataset} test images"
    return text + "."


def page_text(params: Params, config: Config, test_images: np.ndarray, test_labels: np.ndarray,
              predictions: np.ndarray, source: str, dataset: str = "MNIST", digits: PageDigits | None = None) -> str:
    """The page of a model with no run behind it. `predictions` are the model's answers on
    `test_images`, which pick the right and wrong samples and the accuracy; with `digits`
    (compare.report.page.digits) the page trains live on them."""
    predictions = np.asarray(predictions)
    labels = np.asarray(test_labels)[: len(predictions)]
    samples = choose_samples(np.asarray(test_images)[: len(predictions)], labels, predictions)
    accuracy = float(np.mean(predictions == labels)) if len(predictions) else None
    return build_page(params, config, samples, describe(config, source, accuracy, len(predictions), dataset),
                      digits=digits, dataset=dataset)


def model_predictions(params: Params, config: Config, test_images: np.ndarray) -> np.ndarray:
    """The model's answers on the test images, computed by the numpy implementation in float64."""
    return model_outputs(params, config, test_images).argmax(axis=1)


def model_outputs(params: Params, config: Config, test_images: np.ndarray) -> np.ndarray:
    """The model's outputs (images, classes) on the test images, by the numpy implementation in float64."""
    from impls import build
    from shared.data import scale_pixels

    model = build("numpy", config.with_changes(dtype="float64", device="cpu"), params)
    return model.predict_proba(scale_pixels(test_images))


def samples_document(samples: Samples) -> dict:
    """The samples as a results file keeps them (compare.report.folder), to make the page again."""
    return {"pixels": base64.b64encode(samples.pixels.astype(np.uint8).tobytes()).decode("ascii"),
            "labels": samples.labels, "indices": samples.indices}


def samples_from_document(document: dict) -> Samples:
    pixels = np.frombuffer(base64.b64decode(document["pixels"]), dtype=np.uint8)
    return Samples(pixels.reshape(-1, SIDE, SIDE), list(document["labels"]), list(document["indices"]))


def dataset_label(name: str) -> str:
    return {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}.get(name, name)

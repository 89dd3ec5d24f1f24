"""The results of a run as data: one JSON document, described by results.schema.json.

Everything a report shows is in this document, so `compare report` can rebuild a
report, or put several runs side by side, without the data or the models.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path

import numpy as np

from compare.wording import shown_path
from shared.atomic import atomic_write_text
from shared.files import NotReadable, read_regular
from shared.params import max_abs_difference

SCHEMA_VERSION = 2  # 2: the book's protocol (validation sets: epochs without a test evaluation)
READABLE_VERSIONS = (1, 2)
SCHEMA_PATH = Path(__file__).with_name("results.schema.json")
MAX_WEIGHT_IMAGES = 100  # first-layer units drawn in the report
MAX_MISCLASSIFIED = 24
MAX_RESULTS_BYTES = 64 << 20  # a run's results are about 0.3 MB, and 2 KB more per epoch of each implementation


class ResultsError(ValueError):
    """A results file that cannot be read back; the message names it."""


def visuals(name: str, params, outputs: np.ndarray, dataset) -> dict:
    """What the report draws of one trained model: its confusion matrix, its first
    layer's weights, and some test digits it got wrong."""
    labels = dataset.test_labels[: len(outputs)].astype(np.int64)
    predicted = outputs.argmax(axis=1)
    classes = outputs.shape[1]
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    wrong = np.flatnonzero(predicted != labels)
    # The most confident mistakes are the instructive ones.
    wrong = wrong[np.argsort(-outputs[wrong, predicted[wrong]], kind="stable")][:MAX_MISCLASSIFIED]
    W1 = params[0][0][:MAX_WEIGHT_IMAGES]
    return {
        "impl": name,
        "image_shape": list(dataset.test_images.shape[1:]),
        "confusion": confusion.tolist(),
        "first_layer_weights": np.round(W1, 5).tolist(),
        "hidden_units": int(params[0][0].shape[0]),
        "misclassified": [
            {
                "index": int(i),
                "label": int(labels[i]),
                "predicted": int(predicted[i]),
                "probability": round(float(outputs[i, predicted[i]]), 6),
                "pixels": dataset.test_images[i].ravel().tolist(),
            }
            for i in wrong
        ],
    }


def build_results(name: str, outcome, dataset, page: dict | None = None) -> dict:
    """The results document of one `compare run` (outcome: compare.run.outcome.Outcome, with at
    least one completed epoch); `page`: what the run's page is made from (compare.report.folder)."""
    config = outcome.config
    results = outcome.results
    best = max(results, key=lambda r: r.final.test_accuracy)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": outcome.command,
        "config": config.to_dict(),
        "initial_parameters": {"init": config.init, "seed": config.seed,
                               "resumed_from": str(outcome.resumed_from) if outcome.resumed_from else None},
        "data": {
            "name": dataset.name,
            "verified": dataset.verified,
            "directory": shown_path(dataset.directory),
            "train_images": int(outcome.counts["train_images"]),
            "validation_images": int(outcome.counts["validation_images"]),
            "test_images": int(outcome.counts["test_images"]),
        },
        "environment": outcome.environment,
        "implementations": [r.to_dict() for r in results],
        "parameter_agreement": [
            {
                "a": a.name,
                "b": b.name,
                "max_abs_difference": max_abs_difference(a.params, b.params),
                "same_predictions": float(np.mean(a.predictions == b.predictions)),
            }
            for a, b in combinations(results, 2)
        ],
        "gradients": outcome.agreement.to_dict(),
        "gradients_after": outcome.agreement_after.to_dict() if outcome.agreement_after else None,
        "drift": completed_drift(outcome.drift, [r.name for r in results]),
        "test_history": test_history(outcome.history),
        "visuals": visuals(best.name, best.params, best.outputs, dataset),
        "page": page,
        "warnings": list(outcome.warnings),
        "interrupted": outcome.interrupted,
    }


def completed_drift(drift: dict | None, names: list[str]) -> dict | None:
    """The drift of the implementations with a completed epoch: one interrupted in its first epoch
    has drift points but no results, and the results name only those with results."""
    if drift is None or drift["reference"] not in names:
        return None
    impls = {name: points for name, points in drift["impls"].items() if name in names}
    return {**drift, "impls": impls} if impls else None


def test_history(history) -> dict | None:
    """The test loss and accuracy of a run's history (shared.history.History) for the report's
    curves: [epochs elapsed, test loss, test accuracy] at each snapshot evaluated."""
    if history is None:
        return None
    points = [[s.epoch, s.test_loss, s.test_accuracy] for s in history.snapshots
              if s.test_loss is not None and s.test_accuracy is not None]
    return {"impl": history.impl, "points": points} if points else None


def save_results(path: Path, document: dict) -> None:
    atomic_write_text(path, json.dumps(document, indent=1) + "\n")


def load_results(path: Path) -> dict:
    """Read and validate a results file; errors are one line naming the file."""
    try:
        document = json.loads(read_regular(path, MAX_RESULTS_BYTES).decode("utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: file not found") from None
    except NotReadable as error:
        raise ResultsError(str(error)) from None
    except RecursionError:
        raise ResultsError(f"{path}: not a results file (its JSON is nested too deeply)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: not a results file ({error})") from None
    problem = size_problem(document) or schema_problem(document) or meaning_problem(document)
    if problem:
        raise ResultsError(f"{path}: not a valid results file: {problem}")
    return document


MAX_CLASSES = 256  # IDX labels are unsigned bytes


def non_finite(value, where: str = "") -> str | None:
    """The path of the first NaN or infinite number in a parsed JSON value (Python's json reads
    NaN and Infinity, which JSON itself does not have)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where or 'top level'} is {value}"
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = non_finite(item, f"{where}/{key}" if where else str(key))
        if found:
            return found
    return None


def size_problem(document) -> str | None:
    """Checked before the schema, whose validator walks every number: a confusion matrix of
    thousands of classes (millions of entries) is refused at once."""
    visuals = document.get("visuals") if isinstance(document, dict) else None
    confusion = visuals.get("confusion") if isinstance(visuals, dict) else None
    if isinstance(confusion, list) and len(confusion) > MAX_CLASSES:
        return f"visuals/confusion has {len(confusion):,} classes; IDX labels allow at most {MAX_CLASSES}"
    return None


def meaning_problem(document: dict) -> str | None:
    """What the schema cannot say: numbers that are finite, speeds above zero, names that refer to
    implementations of the run, shapes that fit each other. The first problem found, or None."""
    found = non_finite(document)
    if found:
        return f"{found}, not a number a run can measure"
    impls = [impl["name"] for impl in document["implementations"]]
    for index, name in enumerate(impls):
        if name in impls[:index]:  # one run trains each implementation once: a copy would be drawn twice
            return f"implementations/{index}/name is {name!r} again (also implementations/{impls.index(name)})"
    for index, impl in enumerate(document["implementations"]):
        if impl["final"]["samples_per_second"] <= 0:
            return f"implementations/{index}/final/samples_per_second is 0: no run trains at zero speed"
        for number, epoch in enumerate(impl["epochs"]):
            if epoch["samples_per_second"] <= 0:
                return f"implementations/{index}/epochs/{number}/samples_per_second is 0"
        numbers = [epoch["epoch"] for epoch in impl["epochs"]]
        if any(b <= a for a, b in zip(numbers, numbers[1:])):
            return f"implementations/{index}/epochs are numbered {numbers[:8]}: not one each, in order"
        for number, epoch in enumerate(impl["epochs"]):
            if epoch["test_accuracy"] is None and epoch.get("validation_accuracy") is None:
                return f"implementations/{index}/epochs/{number} was evaluated on neither a test nor a validation set"
    for pair in document["parameter_agreement"]:
        for side in ("a", "b"):
            if pair[side] not in impls:
                return f"parameter_agreement names {pair[side]!r}, which is not one of the implementations {impls}"
    gradients = document["gradients"]
    checked = gradients["impls"]
    if not isinstance(checked, list) or not all(isinstance(name, str) for name in checked):
        return "gradients/impls must be a list of implementation names"
    for tensor in gradients["tensors"]:
        for pair in tensor["pairs"]:
            names = pair.split("~")
            if len(names) != 2 or any(name not in checked for name in names):
                return f"gradients of {tensor['name']} name the pair {pair!r}, not two of {checked}"
        for name in tensor["finite_differences"]:
            if name not in checked:
                return f"gradients of {tensor['name']} name {name!r}, not one of {checked}"
    for index, entry in enumerate(document["environment"]["blas"]):
        missing = [key for key in ("internal_api", "version", "num_threads") if key not in entry]
        if missing:
            return f"environment/blas/{index} lacks {', '.join(missing)}"
    return visuals_problem(document, impls) or page_problem(document, impls) or drift_problem(document, impls)


def drift_problem(document: dict, impls: list[str]) -> str | None:
    history = document.get("test_history")
    if history is not None:
        if history["impl"] not in impls:
            return f"test_history/impl is {history['impl']!r}, not one of the implementations {impls}"
        epochs = [point[0] for point in history["points"]]
        if any(b <= a for a, b in zip(epochs, epochs[1:])):
            return "test_history/points are not in order of their epochs"
    drift = document.get("drift")
    if drift is None:
        return None
    for name in (drift["reference"], *drift["impls"]):
        if name not in impls:
            return f"drift names {name!r}, which is not one of the implementations {impls}"
    for name, points in drift["impls"].items():
        steps = [step for step, _ in points]
        if any(b <= a for a, b in zip(steps, steps[1:])):
            return f"drift/impls/{name} is not in order of its steps"
    return None


def page_problem(document: dict, impls: list[str]) -> str | None:
    page = document.get("page")
    if page is None:
        return None
    if page["impl"] not in impls:
        return f"page/impl is {page['impl']!r}, not one of the implementations {impls}"
    for key in ("model", "history", "digits"):
        if key in page and (Path(page[key]).name != page[key] or page[key] in (".", "..")):
            return f"page/{key} is {page[key]!r}: a file name beside results.json, not a path"
    samples, classes = page["samples"], document["config"]["sizes"][-1]
    if not len(samples["labels"]) == len(samples["indices"]):
        return "page/samples has not one label per index"
    if any(not 0 <= label < classes for label in samples["labels"]):
        return f"page/samples/labels holds a class outside 0-{classes - 1}"
    try:
        size = len(base64.b64decode(samples["pixels"], validate=True))
    except ValueError:
        return "page/samples/pixels is not base64"
    if size != len(samples["labels"]) * document["config"]["sizes"][0]:
        return f"page/samples/pixels holds {size:,} bytes, not {document['config']['sizes'][0]} per sample"
    return None


def visuals_problem(document: dict, impls: list[str]) -> str | None:
    visuals, sizes = document["visuals"], document["config"]["sizes"]
    if visuals["impl"] not in impls:
        return f"visuals/impl is {visuals['impl']!r}, not one of the implementations {impls}"
    height, width = visuals["image_shape"]
    if height < 1 or width < 1 or height * width != sizes[0]:
        return f"visuals/image_shape {height}x{width} does not fit the network's {sizes[0]} inputs"
    classes = sizes[-1]
    if classes > MAX_CLASSES:
        return f"config/sizes ends in {classes} classes; IDX labels allow at most {MAX_CLASSES}"
    confusion = visuals["confusion"]
    if len(confusion) != classes or any(len(row) != classes for row in confusion):
        return f"visuals/confusion is not {classes}x{classes}, the network's {classes} classes"
    if sum(map(sum, confusion)) != document["data"]["test_images"]:
        return (f"visuals/confusion counts {sum(map(sum, confusion)):,} test images, the run tested "
                f"{document['data']['test_images']:,}")
    weights = visuals["first_layer_weights"]
    if any(len(row) != height * width for row in weights) or len(weights) > sizes[1]:
        return f"visuals/first_layer_weights are not rows of {height * width} weights for {sizes[1]} units"
    for number, wrong in enumerate(visuals["misclassified"]):
        if len(wrong["pixels"]) != height * width:
            return f"visuals/misclassified/{number} has {len(wrong['pixels'])} pixels, not {height}x{width}"
        if not (0 <= wrong["label"] < classes and 0 <= wrong["predicted"] < classes):
            return f"visuals/misclassified/{number} has a class outside 0-{classes - 1}"
        if not 0 <= wrong["probability"] <= 1:
            return f"visuals/misclassified/{number}/probability is {wrong['probability']}, not in [0, 1]"
    return None


def schema_problem(document) -> str | None:
    """The first way the document breaks the schema, or None."""
    import jsonschema

    if not isinstance(document, dict) or document.get("schema_version") not in READABLE_VERSIONS:
        version = document.get("schema_version") if isinstance(document, dict) else None
        return f"schema_version is {version!r}, this version of compare reads {' and '.join(map(str, READABLE_VERSIONS))}"
    schema = json.loads(SCHEMA_PATH.read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(document))
    if error is None:
        return None
    where = "/".join(map(str, error.absolute_path)) or "top level"
    return f"{where}: {error.message}"

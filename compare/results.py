"""The results of a run as data: one JSON document, described by results.schema.json.

Everything a report shows is in this document, so `compare report` can rebuild a
report, or put several runs side by side, without the data or the models.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from itertools import combinations
from pathlib import Path

import numpy as np

from shared.atomic import atomic_write_text
from shared.params import max_abs_difference

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("results.schema.json")
MAX_WEIGHT_IMAGES = 100  # first-layer units drawn in the report
MAX_MISCLASSIFIED = 24


class ResultsError(ValueError):
    """A results file that cannot be read back; the message names it."""


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(devices: dict[str, str]) -> dict:
    """Where the numbers were measured: versions, processor, threads, devices."""
    from threadpoolctl import threadpool_info

    blas = [
        {key: pool.get(key) for key in ("internal_api", "version", "num_threads")}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    torch_threads = None
    if "torch" in sys.modules:  # only when the torch implementation ran
        torch_threads = sys.modules["torch"].get_num_threads()
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": package_version("torch"),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "blas": blas,
        "torch_threads": torch_threads,
        "devices": devices,
    }


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


def build_results(name: str, outcome, dataset) -> dict:
    """The results document of one `compare run` (outcome: compare.running.Comparison)."""
    config = outcome.config
    results = outcome.results
    best = max(results, key=lambda r: r.final.test_accuracy)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": outcome.command,
        "config": config.to_dict(),
        "initial_parameters": {"init": config.init, "seed": config.seed},
        "data": {
            "name": dataset.name,
            "verified": dataset.verified,
            "directory": str(dataset.directory),
            "train_images": int(min(config.train_limit or 10**12, len(dataset.train_labels))),
            "test_images": int(min(config.test_limit or 10**12, len(dataset.test_labels))),
        },
        "environment": environment({r.name: r.device for r in results}),
        "implementations": [
            {
                "name": r.name,
                "description": r.description,
                "dtype": r.dtype,
                "device": r.device,
                "peak_rss_bytes": r.peak_rss,
                "threads": r.threads,
                "load_average": r.load_average,
                "epochs": [e.to_dict() for e in r.history],
                "final": {
                    "test_accuracy": r.final.test_accuracy,
                    "test_loss": r.final.test_loss,
                    "train_seconds_per_epoch": r.train_seconds_per_epoch,
                    "eval_seconds_per_epoch": r.eval_seconds_per_epoch,
                    "samples_per_second": r.samples_per_second,
                },
            }
            for r in results
        ],
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
        "visuals": visuals(best.name, best.params, best.outputs, dataset),
    }


def save_results(path: Path, document: dict) -> None:
    atomic_write_text(path, json.dumps(document, indent=1) + "\n")


def load_results(path: Path) -> dict:
    """Read and validate a results file; errors are one line naming the file."""
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: not a results file ({error})") from None
    problem = schema_problem(document)
    if problem:
        raise ResultsError(f"{path}: not a valid results file: {problem}")
    return document


def schema_problem(document) -> str | None:
    """The first way the document breaks the schema, or None."""
    import jsonschema

    if not isinstance(document, dict) or document.get("schema_version") != SCHEMA_VERSION:
        version = document.get("schema_version") if isinstance(document, dict) else None
        return f"schema_version is {version!r}, this version of compare reads {SCHEMA_VERSION}"
    schema = json.loads(SCHEMA_PATH.read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(document))
    if error is None:
        return None
    where = "/".join(map(str, error.absolute_path)) or "top level"
    return f"{where}: {error.message}"

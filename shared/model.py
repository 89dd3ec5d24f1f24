"""The one interface every implementation offers.

Inputs are NumPy arrays: x of shape (batch, n_in) with pixels scaled to [0, 1] by
shared.data.scale_pixels, y of integer class labels, shape (batch,). Parameters and
gradients travel in the neutral format of shared.params. How an implementation
computes in between is its own business: that is what is being compared.
"""

from __future__ import annotations

from itertools import compress
from operator import itemgetter
from typing import Protocol, runtime_checkable

import numpy as np

from shared.config import Config
from shared.params import Params, check_params


@runtime_checkable
class MLP(Protocol):
    """A multilayer perceptron built from a Config and parameters in the neutral format."""

    name: str  # the registry name: "scratch", "autograd", "numpy", "torch"
    config: Config

    def loss_and_gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """The loss averaged over the batch, and its gradients (of that mean) per (W, b)."""
        ...

    def train_step(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        """One step of mini-batch SGD, parameters -= lr * gradients, in whatever way is
        fastest for this implementation. Returns the batch's loss before the step."""
        ...

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Output activations, shape (batch, classes), float64: softmax probabilities
        under cross-entropy, per-class sigmoid scores in [0, 1] under mse."""
        ...

    def parameters(self) -> Params:
        """A copy of the current parameters in the neutral format (float64)."""
        ...


@runtime_checkable
class TakesTrainingSet(Protocol):
    """Optional, beside MLP: an implementation that takes the whole training set once,
    to convert it and place it where it computes a single time (a GPU's memory, say),
    and is then handed each mini-batch as the indices of its rows. The shared training
    loop uses this when an implementation offers it, and otherwise train_step on the
    gathered rows; either way the steps compute the same thing."""

    def load_training_set(self, x: np.ndarray, y: np.ndarray) -> None:
        """Keep (a converted copy of) all training inputs and labels, checked once."""
        ...

    def train_step_at(self, indices: np.ndarray, lr: float) -> float:
        """train_step on rows `indices` of the training set given to load_training_set."""
        ...


def check_batch(config: Config, x: np.ndarray, y: np.ndarray | None = None) -> None:
    """Catch wrong shapes at the boundary with a message, before they become a
    broadcasting surprise deep inside one implementation."""
    n_in, n_out = config.sizes[0], config.sizes[-1]
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != n_in:
        shape = getattr(x, "shape", type(x).__name__)
        raise ValueError(f"x must be an array of shape (batch, {n_in}); got {shape}")
    if len(x) == 0:
        raise ValueError("the batch is empty")
    if y is not None:
        if not isinstance(y, np.ndarray) or y.shape != (len(x),):
            raise ValueError(f"y must be an array of {len(x)} labels; got shape {getattr(y, 'shape', None)}")
        if y.dtype.kind not in "iu":
            raise ValueError(f"y must hold integer class labels; got {y.dtype}")
        # One reduction checks both ends: read as unsigned, a negative label is huge.
        unsigned = y.view(f"u{y.itemsize}") if y.dtype.kind == "i" else y
        if unsigned.max() >= n_out:
            raise ValueError(f"labels must lie in 0..{n_out - 1} for {n_out} output neurons")


def check_model_inputs(config: Config, params: Params) -> None:
    """What every implementation's constructor checks first."""
    if not isinstance(config, Config):
        raise TypeError(f"config must be a shared.config.Config; got {type(config).__name__}")
    check_params(params, config.sizes)


def outputs_from_lists(rows: list[list[float]]) -> np.ndarray:
    """Output activations kept as plain lists -> the (batch, classes) float64 array
    that predict_proba returns."""
    return np.array(rows, dtype=np.float64)


def nonzero_entries(x: np.ndarray, chunk: int = 256) -> list[tuple[list[int], tuple[float, ...]]]:
    """Each row of x as the (indices, values) of its non-zero entries, in plain Python
    numbers: what the pure-Python implementations compute with (an MNIST image is about
    80% blank, and x * 0 adds nothing to a sum). Converted a few hundred rows at a time
    (60,000 rows as lists of Python floats at once would take over a gigabyte), and the
    rows share their numbers: one int object per column, one float object per distinct
    value (MNIST has 255), about 160 MB for the whole training set."""
    columns = list(range(x.shape[1]))
    shared: dict[float, float] = {}
    rows = []
    for start in range(0, len(x), chunk):
        for row in x[start : start + chunk].tolist():
            values = list(filter(None, row))  # 0.0 is false: filter and compress keep the rest
            rows.append((list(compress(columns, row)), tuple(map(shared.setdefault, values, values))))
    return rows


def nonzero_batch(config: Config, x: np.ndarray, y: np.ndarray) -> list[tuple[tuple[list[int], tuple[float, ...]], int]]:
    """A checked batch, or a whole training set, as (non-zero pixels, label) pairs."""
    check_batch(config, x, y)
    return list(zip(nonzero_entries(x), y.tolist()))


def gatherer(indices: list[int]):
    """row -> (row[k] for k in indices) as a tuple, gathered at C speed by itemgetter
    (which, given one index, returns the bare item, hence the other case)."""
    if len(indices) > 1:
        return itemgetter(*indices)
    return lambda row: tuple(row[k] for k in indices)

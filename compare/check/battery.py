"""The seeded networks an implementation is checked on.

Every activation and loss, on two families of shapes with 0, 1 and 2 hidden layers:

- "square": 4 inputs, hidden layers of 4 and 4 outputs, so every W is square and a
  transposed weight matrix still computes, giving numbers the check can name;
- "distinct": 7 inputs, hidden layers of 6 and 5, 3 outputs, where every layer differs in
  size, so the same slip fails on shapes instead, and layers cannot be confused.

Comparing the networks without, with one and with two hidden layers is how a wrong forward
pass is traced to the first layer that differs. Each case has a batch of three samples; the
check also takes each sample alone (a batch of one), where ∂C/∂b is δ itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.config import ACTIVATIONS, LOSSES, Config
from shared.params import Params, init_params

FAMILIES = {
    "square": ((4, 4), (4, 4, 4), (4, 4, 4, 4)),
    "distinct": ((7, 3), (7, 6, 3), (7, 6, 5, 3)),
}
BATCH = 3
LEARNING_RATE = 0.1


@dataclass(frozen=True)
class Case:
    family: str
    config: Config
    params: Params
    x: np.ndarray  # (BATCH, inputs), values in [0, 1) like scaled pixels
    y: np.ndarray  # (BATCH,) int64 labels

    @property
    def hidden_layers(self) -> int:
        return len(self.config.sizes) - 2

    @property
    def label(self) -> str:
        sizes = "-".join(map(str, self.config.sizes))
        return f"{sizes} {self.config.activation} {self.config.loss}"


def cases(seed: int = 0) -> list[Case]:
    """Every case, seeded: the same numbers at every run."""
    result = []
    rng = np.random.default_rng(seed)
    for family, shapes in FAMILIES.items():
        for activation in ACTIVATIONS:
            for loss in LOSSES:
                for sizes in shapes:
                    case_seed = int(rng.integers(2**31))
                    config = Config(sizes=sizes, activation=activation, loss=loss, init="nielsen", lr=LEARNING_RATE,
                                    batch_size=BATCH, seed=case_seed, dtype="float64", device="cpu")
                    data = np.random.default_rng(case_seed)
                    x = data.random((BATCH, sizes[0]))
                    y = data.permutation(sizes[-1])[:BATCH].astype(np.int64)  # three different classes
                    result.append(Case(family, config, init_params(sizes, "nielsen", case_seed), x, y))
    return result


def conformance_order(all_cases: list[Case]) -> list[Case]:
    """Cases to try the Protocol's promises on, best first: one hidden layer, sizes that differ
    (so that a transposed array shows in its shape), the most common activation and loss."""
    def rank(case: Case):
        return (case.family != "distinct", case.hidden_layers != 1, case.config.activation != "sigmoid",
                case.config.loss != "cross-entropy")
    return sorted(all_cases, key=rank)

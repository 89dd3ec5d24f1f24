"""How far the implementations drift apart as they train.

They start from the same parameters and take the same batches, and their gradients agree to
the last bits; what differs is the order of floating-point additions. Training feeds each
step's rounding into the next, and at a large learning rate SGD amplifies it exponentially
(the 3b1b preset's lr 3.0 takes numpy and torch from 1e-16 to 1e-3 apart within half an
epoch); at the default lr 0.5 it grows slowly. So the run records the parameters of every
implementation at the same global steps (log-spaced through the first epoch, then every
twentieth of an epoch), through the training loop's on_step hook, and keeps only the largest
difference from the first implementation's parameters at each step.

Memory: the first implementation's parameters are kept at every mark (float64), the others
are compared as they train and not kept; the marks are thinned to REFERENCE_BUDGET bytes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from shared.history import snapshot_steps
from shared.params import Params, max_abs_difference, parameter_count

MARKS_PER_EPOCH = 20
MAX_MARKS = 400  # over the whole run: a 30-epoch run gets a mark every tenth of an epoch after its first
REFERENCE_BUDGET = 128 * 2**20  # bytes of the first implementation's parameters kept at the marks


def drift_steps(steps_per_epoch: int, epochs: int, start_epoch: int = 1, sizes=None,
                budget: int = REFERENCE_BUDGET) -> list[int]:
    """The global steps at which the implementations are compared: the history's marks (step 0
    or the resumed step, 1, 2, 5, 10, ... into the first epoch, every epoch's end), and every
    1/MARKS_PER_EPOCH of the first epoch and as often after it as MAX_MARKS allows. With `sizes`,
    thinned (every other mark that is not an epoch's end) until the reference fits `budget`."""
    start = (start_epoch - 1) * steps_per_epoch
    marks = set(snapshot_steps(steps_per_epoch, epochs, start_epoch))
    later = max(1, min(MARKS_PER_EPOCH, (MAX_MARKS - MARKS_PER_EPOCH) // max(1, epochs - 1)))
    for epoch in range(epochs):
        per_epoch = MARKS_PER_EPOCH if epoch == 0 else later
        marks |= {start + epoch * steps_per_epoch + round(k * steps_per_epoch / per_epoch)
                  for k in range(1, per_epoch + 1)}
    marks = sorted(marks)
    if sizes is not None:
        ends = {start + e * steps_per_epoch for e in range(epochs + 1)}
        while 8 * parameter_count(sizes) * len(marks) > budget and len(marks) > len(ends):
            thinned = [m for i, m in enumerate(marks) if m in ends or i % 2 == 0]
            if len(thinned) == len(marks):
                break
            marks = thinned
    return marks


class DriftRecorder:
    """Records, through train's on_step hook, the first implementation's parameters at `steps`
    and then each other implementation's largest difference from them at the same steps.

        drift = DriftRecorder(steps, steps_per_epoch)
        for name, model in ...:
            train(model, ..., at_steps=drift.steps, on_step=drift.hook(name, model))
        drift.to_dict()
    """

    def __init__(self, steps: list[int], steps_per_epoch: int) -> None:
        self.steps, self.steps_per_epoch = list(steps), steps_per_epoch
        self.reference: str | None = None
        self.kept: dict[int, Params] = {}
        self.differences: dict[str, list[tuple[int, float]]] = {}

    def hook(self, name: str, model) -> Callable[[int], None]:
        """on_step for the training of `name` (the first one asked for is the reference)."""
        if self.reference is None:
            self.reference = name

            def keep(step: int) -> None:
                self.kept[step] = model.parameters()
            return keep
        found = self.differences.setdefault(name, [])

        def compare(step: int) -> None:
            if step in self.kept:  # the reference was interrupted before this step: nothing to compare
                found.append((step, max_abs_difference(model.parameters(), self.kept[step])))
        return compare

    def largest_parameter(self) -> float:
        """The largest |parameter| of the reference at its last mark: the scale of the differences."""
        if not self.kept:
            return 0.0
        last = self.kept[max(self.kept)]
        return max(float(np.max(np.abs(array))) for layer in last for array in layer)

    def to_dict(self) -> dict | None:
        """Its entry in the results document ("drift"), or None with nothing to compare."""
        if self.reference is None or not any(self.differences.values()):
            return None
        return {
            "reference": self.reference,
            "steps_per_epoch": self.steps_per_epoch,
            "largest_parameter": self.largest_parameter(),
            "impls": {name: [[step, difference] for step, difference in found]
                      for name, found in self.differences.items() if found},
        }


def compose(*hooks: tuple[set[int], Callable[[int], None] | None]) -> tuple[list[int], Callable[[int], None]]:
    """One (at_steps, on_step) for train from several (steps, hook): each hook at its own steps."""
    hooks = [(steps, hook) for steps, hook in hooks if hook is not None]

    def on_step(step: int) -> None:
        for steps, hook in hooks:
            if step in steps:
                hook(step)
    return sorted(set().union(*(steps for steps, _ in hooks))) if hooks else [], on_step

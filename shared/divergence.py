"""When a training run has diverged: one definition for every implementation, activation and loss.

A run has diverged, and the shared loop stops it before the epoch is saved, when

- a loss, or the test outputs, are NaN or infinite;
- the training loss is far above the first batch's (more than EXPLOSION_FACTOR times it, or
  times the loss of a uniform guess when that is larger) for two windows of the loss curve in a
  row: a spike that falls back is learning, a loss that stays up is not. (The cross-entropy of a
  blown-up softmax grows without bound; this catches it long before it overflows.)
- the network's output no longer depends on its input (shared.health's probe): on the probe
  images every unit of a hidden layer is dead (ReLU: 0 for all of them) or stuck on the same flat
  end of its sigmoid or tanh, or the outputs themselves are the same for all of them. Then every image gets the same
  answer. (The quadratic cost is bounded, so a sigmoid network that blows up under it shows this
  way and not as a large loss.)
- the test accuracy fell from a good epoch (halfway from chance to perfect, or better) to about
  chance, where chance is what always answering the most common test label gets. The epoch a run
  resumes from counts as an earlier epoch.
- the test accuracy is about chance after the training loss went above the explosion line (in
  any window of the run, even one that fell back): the loss blew up and nothing was learned, so
  even a first epoch is not a model to keep. Measured (2,000 images, seeds 0-3): such runs
  peaked 9x to 3,800x above the line; healthy runs and runs that merely never learn stayed
  below half of it, so neither is touched.
- the test accuracy is about chance after the weights blew up: some layer's largest weight grew
  more than BLOWN_UP times from where the training started. The quadratic cost is bounded, so a
  ReLU network that blows up under it shows neither a large loss nor, always, dead units (lr 1e3
  on 500 images: weights 547x their start, 9.8%; lr 1e300: 1e298, 4.35%). Measured on healthy
  runs (numpy, 3 epochs of 10,000 images): growth 1.2x to 28.8x (tanh, lr 1.0), each far above chance.
"""

from __future__ import annotations

import math

import numpy as np

from shared.health import Health
from shared.params import Params

EXPLOSION_FACTOR = 10.0
BLOWN_UP = 100.0  # a layer's largest weight this many times its largest at the start
GOOD = 0.5  # a good epoch: at least halfway from chance to perfect accuracy
COLLAPSED = 0.1  # collapsed: no more than a tenth of the way from chance to perfect


class TrainingDiverged(RuntimeError):
    """Training has diverged; the message says where, what happened and what to try."""


def lower_lr(lr: float) -> str:
    return f"try a lower learning rate than {lr:g} (e.g. {lr / 10:g})"


class DivergenceWatch:
    """Watches one implementation's training; raises TrainingDiverged when it diverges."""

    def __init__(self, name: str, loss: str, classes: int, test_labels: np.ndarray,
                 best_accuracy: float | None = None, best_epoch: int | None = None, weight_decay: float = 0.0,
                 momentum: float = 0.0, watched: str = "test"):
        """test_labels: those of the set evaluated after each epoch, `watched` (the test set, or
        the validation set when the run holds one out)."""
        self.name, self.loss, self.watched = name, loss, watched
        self.weight_decay, self.momentum = weight_decay, momentum
        counts = np.bincount(np.asarray(test_labels, dtype=np.int64), minlength=classes)
        self.chance = float(counts.max() / counts.sum()) if counts.sum() else 1.0 / classes
        # The loss of answering 1/classes for every class: what "no better than guessing" costs.
        self.guess_loss = math.log(classes) if loss == "cross-entropy" else 0.5 * (1 - 1 / classes)
        self.reference: float | None = None  # the first batch's loss
        self.windows_above = 0
        self.peak: tuple[float, int] | None = None  # the highest window above the line, and its epoch
        self.best_accuracy, self.best_epoch = best_accuracy, best_epoch
        self.start_scale: list[float] | None = None  # each layer's largest |W| where the training started

    def advice(self, lr: float) -> str:
        """What to change. The decay alone scales the weights by 1 - lr x weight decay each step (with
        momentum, stable below 2 (1 + momentum)): beyond that no learning rate of this run would help."""
        limit = 2 * (1 + self.momentum)
        if lr * self.weight_decay >= limit:
            return (f"the weight decay {self.weight_decay:g} is too large for the learning rate {lr:g}: with it "
                    f"each step multiplies the weights by about {1 - lr * self.weight_decay:.3g}; try a --weight-decay "
                    f"below {limit / lr:.3g}")
        return lower_lr(lr)

    def start(self, params: Params) -> None:
        """The parameters the training starts from (initialized, or resumed)."""
        self.start_scale = [float(np.abs(W).max()) if W.size else 0.0 for W, _ in params]

    def growth(self, params: Params) -> tuple[float, int]:
        """How many times its starting largest |W| the most grown layer's is now, and that layer (1-based)."""
        if self.start_scale is None:
            return 1.0, 1
        ratios = [float(np.abs(W).max()) / max(start, 1e-12) if W.size else 1.0
                  for (W, _), start in zip(params, self.start_scale)]
        layer = int(np.argmax(ratios))
        return ratios[layer], layer + 1

    @property
    def threshold(self) -> float:
        return EXPLOSION_FACTOR * max(self.reference or 0.0, self.guess_loss)

    def step(self, loss: float, epoch: int, step: int, lr: float) -> None:
        if not math.isfinite(loss):
            raise TrainingDiverged(f"{self.name}: the loss became {loss} at epoch {epoch}, step {step}; {self.advice(lr)}")
        if self.reference is None:
            self.reference = loss

    def window(self, mean_loss: float, epoch: int, step: int, lr: float) -> None:
        """One point of the loss curve (the mean loss of the steps since the last point)."""
        if mean_loss <= self.threshold:
            self.windows_above = 0
            return
        if self.peak is None or mean_loss > self.peak[0]:
            self.peak = (mean_loss, epoch)
        self.windows_above += 1
        if self.windows_above >= 2:
            raise TrainingDiverged(
                f"{self.name}: the training loss rose to {mean_loss:.3g} by epoch {epoch}, step {step}, and stayed "
                f"above {EXPLOSION_FACTOR:g}x the first batch's {self.reference:.3g}: training diverged; {self.advice(lr)}")

    def epoch_end(self, epoch: int, test_loss: float, accuracy: float, params: Params, health: Health,
                  lr: float) -> None:
        """After an epoch: its test loss and accuracy, its parameters, and what the probe of its
        hidden units found (shared.health)."""
        if not math.isfinite(test_loss):
            raise TrainingDiverged(f"{self.name}: the {self.watched} loss became {test_loss} after epoch {epoch}; "
                                  f"{self.advice(lr)}")
        if not all(np.all(np.isfinite(array)) for layer in params for array in layer):
            raise TrainingDiverged(f"{self.name}: the parameters became NaN or infinite in epoch {epoch}; "
                                   f"{self.advice(lr)}")
        problem = health.problem()
        if problem:
            advice = ("a lower learning rate keeps ReLU units alive (with --init he, if the run does not use it yet)"
                      if health.activation == "relu" else
                      "a lower learning rate, --init nielsen or xavier, or --activation relu keep units off "
                      "the flat ends")
            raise TrainingDiverged(f"{self.name}: after epoch {epoch}, {problem}; training diverged: "
                                   f"{self.advice(lr)}; {advice}")
        good = self.chance + GOOD * (1 - self.chance)
        collapsed = self.chance + COLLAPSED * (1 - self.chance)
        if self.peak is not None and accuracy <= collapsed:
            peak, peak_epoch = self.peak
            raise TrainingDiverged(
                f"{self.name}: the training loss rose to {peak:.3g} in epoch {peak_epoch}, above "
                f"{EXPLOSION_FACTOR:g}x the first batch's {self.reference:.3g}, and after epoch {epoch} the {self.watched} "
                f"accuracy is {accuracy:.2%}, about what always answering the most common label gets "
                f"({self.chance:.2%}): training diverged; {self.advice(lr)}")
        growth, layer = self.growth(params)
        if growth > BLOWN_UP and accuracy <= collapsed:
            raise TrainingDiverged(
                f"{self.name}: by epoch {epoch} the weights of layer {layer} grew {growth:.3g}x from where the "
                f"training started, and the {self.watched} accuracy is {accuracy:.2%}, about what always answering the most "
                f"common label gets ({self.chance:.2%}): training diverged; {self.advice(lr)}")
        if self.best_accuracy is not None and self.best_accuracy >= good and accuracy <= collapsed:
            where = f"epoch {self.best_epoch}" if self.best_epoch is not None else "the start"
            raise TrainingDiverged(
                f"{self.name}: the {self.watched} accuracy fell from {self.best_accuracy:.2%} ({where}) to {accuracy:.2%} "
                f"after epoch {epoch}, about what always answering the most common label gets "
                f"({self.chance:.2%}): training diverged; {self.advice(lr)}")
        if self.best_accuracy is None or accuracy > self.best_accuracy:
            self.best_accuracy, self.best_epoch = accuracy, epoch

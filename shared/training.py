"""The one training loop: every implementation is driven by exactly this code.

Epochs of seeded mini-batches, SGD steps, evaluation on the test set after each epoch,
training and evaluation timed separately by the same stopwatch.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import numpy as np

from shared.config import Config
from shared.data import Dataset, minibatches, scale_pixels
from shared.divergence import DivergenceWatch, TrainingDiverged  # noqa: F401 (TrainingDiverged: re-exported)
from shared.health import Health, probe
from shared.model import MLP, TakesTrainingSet
from shared.params import Params
from shared.timing import Stopwatch

EVAL_CHUNK = 2000  # test images per predict_proba call: bounded memory, few calls
CURVE_POINTS = 50  # points per epoch on the training-loss curve (each a window's mean)
PROBE = 1000  # training images the health probe (shared.health) looks at after each epoch


@dataclass(frozen=True)
class Split:
    """Inputs scaled to [0, 1] in the config's dtype, labels as int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare(dataset: Dataset, config: Config) -> Split:
    """Scale once, before any clock runs, honouring train_limit and test_limit."""
    data = dataset.limit(config.train_limit, config.test_limit)
    return Split(
        x_train=scale_pixels(data.train_images, config.dtype),
        y_train=data.train_labels.astype(np.int64),
        x_test=scale_pixels(data.test_images, config.dtype),
        y_test=data.test_labels.astype(np.int64),
    )


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    train_loss: float  # mean over the epoch's samples of the loss before each step
    test_loss: float
    test_accuracy: float  # fraction in [0, 1]
    train_seconds: float
    eval_seconds: float
    train_samples: int
    # (epochs elapsed, mean loss of the steps since the previous point), CURVE_POINTS per epoch
    loss_curve: tuple[tuple[float, float], ...] = ()

    @property
    def samples_per_second(self) -> float:
        return self.train_samples / self.train_seconds if self.train_seconds > 0 else math.inf

    def to_dict(self) -> dict:
        return asdict(self) | {"samples_per_second": self.samples_per_second, "loss_curve": [list(p) for p in self.loss_curve]}

    def record(self) -> dict:
        """Its record in a checkpoint's history (shared.checkpoint.EPOCH_FIELDS)."""
        return asdict(self) | {"loss_curve": [list(p) for p in self.loss_curve]}

    @classmethod
    def from_record(cls, record: dict) -> "EpochStats":
        return cls(**(record | {"epoch": int(record["epoch"]), "train_samples": int(record["train_samples"]),
                                "loss_curve": tuple(tuple(p) for p in record["loss_curve"])}))


def mean_loss(outputs: np.ndarray, labels: np.ndarray, loss: str) -> float:
    """The config's loss computed from output activations, for reporting test loss
    without a second forward pass."""
    n = len(labels)
    if loss == "cross-entropy":
        picked = outputs[np.arange(n), labels]
        return float(-np.log(np.maximum(picked, np.finfo(np.float64).tiny)).mean())
    target = np.eye(outputs.shape[1])[labels]
    return float(0.5 * np.square(outputs - target).sum() / n)


def evaluate(
    model: MLP, x: np.ndarray, y: np.ndarray, on_progress: Callable[[int, int], None] | None = None
) -> tuple[float, float, np.ndarray]:
    """Test loss, accuracy and the outputs (batch, classes) on (x, y); on_progress(done, total)
    after each chunk of images."""
    chunks = []
    for start in range(0, len(x), EVAL_CHUNK):
        chunks.append(model.predict_proba(x[start : start + EVAL_CHUNK]))
        if on_progress is not None:
            on_progress(min(start + EVAL_CHUNK, len(x)), len(x))
    outputs = np.concatenate(chunks)
    accuracy = float(np.mean(outputs.argmax(axis=1) == y))
    return mean_loss(outputs, y, model.config.loss), accuracy, outputs


@dataclass(frozen=True)
class EpochEnd:
    """What the loop hands on_epoch after each epoch: fetched once, for every use."""

    stats: EpochStats
    params: Params  # model.parameters() after the epoch
    test_outputs: np.ndarray  # the model's outputs on the test set
    health: Health  # the probe of its hidden units on the first PROBE training images


@dataclass
class TrainingRun:
    history: list[EpochStats]
    test_outputs: np.ndarray  # the model's outputs on the test set after the last epoch
    params: Params  # the parameters after the last epoch


def learning_rate(config: Config, step: int, total_steps: int) -> float:
    """The learning rate for step `step` (0-based) of `total_steps` under config.schedule."""
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
    return config.lr


def train(
    model: MLP,
    split: Split,
    config: Config,
    start_epoch: int = 1,
    on_epoch: Callable[[EpochEnd], None] | None = None,
    on_progress: Callable[[int, int, float], None] | None = None,
    previous_accuracy: float | None = None,
    on_step: Callable[[int], None] | None = None,
    at_steps: Iterable[int] = (),
) -> TrainingRun:
    """Train for config.epochs epochs; epoch numbers continue from start_epoch.

    Stops with TrainingDiverged (shared.divergence says when) before on_epoch sees a diverged
    epoch, so a checkpoint saved there is never replaced by a blown-up model.
    previous_accuracy: the test accuracy of the model resumed from, if any.

    Ctrl-C (KeyboardInterrupt) goes straight through: what on_epoch was handed is what was
    completed, so a caller that keeps it has the epochs done before the interruption.

    on_progress(samples done this epoch, samples per epoch, recent mean loss) is called
    CURVE_POINTS times an epoch, so a progress bar costs the same for every implementation.

    on_step(global step) is called after each global step (counted from 1 over the whole run,
    epochs before start_epoch included) that is in at_steps, and before training with the step
    it starts from (0, or the steps of the epochs before start_epoch) when that is in at_steps: the one hook for recording a history (shared.history.snapshot_steps).
    """
    history, end = [], None
    count = len(split.x_train)
    steps = math.ceil(count / config.batch_size)
    window = max(1, steps // CURVE_POINTS)
    total_steps = steps * (start_epoch - 1 + config.epochs)  # the whole run, for the schedule
    watch = DivergenceWatch(model.name, config.loss, config.sizes[-1], split.y_test, previous_accuracy,
                            start_epoch - 1 if previous_accuracy is not None else None,
                            weight_decay=config.weight_decay, momentum=config.momentum)
    watch.start(model.parameters())
    probe_images = split.x_train[:PROBE]
    # An implementation that takes the training set once gets batches as row indices.
    by_index = isinstance(model, TakesTrainingSet)
    wanted = set(at_steps) if on_step is not None else set()
    if (start_epoch - 1) * steps in wanted:  # where this training starts: 0, or the resumed step
        on_step((start_epoch - 1) * steps)
    for epoch in range(start_epoch, start_epoch + config.epochs):
        train_clock, eval_clock, hook_clock = Stopwatch(), Stopwatch(), Stopwatch()
        loss_sum, window_sum, window_samples, done, curve = 0.0, 0.0, 0, 0, []
        with train_clock:
            if by_index and epoch == start_epoch:  # its one-time cost counts as training time
                model.load_training_set(split.x_train, split.y_train)
            for step, batch in enumerate(minibatches(count, config.batch_size, config.seed, epoch), 1):
                lr = learning_rate(config, (epoch - 1) * steps + step - 1, total_steps)
                if by_index:
                    loss = model.train_step_at(batch, lr)
                else:
                    loss = model.train_step(split.x_train[batch], split.y_train[batch], lr)
                watch.step(loss, epoch, step, lr)
                if (epoch - 1) * steps + step in wanted:
                    with hook_clock:  # recording a history is not training: its time is taken out
                        on_step((epoch - 1) * steps + step)
                loss_sum += loss * len(batch)
                window_sum += loss * len(batch)
                window_samples += len(batch)
                done += len(batch)
                if step % window == 0 or step == steps:
                    curve.append((epoch - 1 + done / count, window_sum / window_samples))
                    watch.window(window_sum / window_samples, epoch, step, lr)
                    if on_progress is not None:
                        on_progress(done, count, window_sum / window_samples)
                    window_sum, window_samples = 0.0, 0
        with eval_clock:
            test_loss, accuracy, outputs = evaluate(model, split.x_test, split.y_test)
        params = model.parameters()
        health = probe(params, probe_images, config.activation, config.loss)
        watch.epoch_end(epoch, test_loss, accuracy, params, health, lr)
        stats = EpochStats(
            epoch=epoch,
            train_loss=loss_sum / count,
            test_loss=test_loss,
            test_accuracy=accuracy,
            train_seconds=train_clock.seconds - hook_clock.seconds,
            eval_seconds=eval_clock.seconds,
            train_samples=count,
            loss_curve=tuple(curve),
        )
        history.append(stats)
        end = EpochEnd(stats, params, outputs, health)
        if on_epoch is not None:
            on_epoch(end)
    return TrainingRun(history, end.test_outputs, end.params)


@dataclass(frozen=True)
class Estimate:
    """What a short probe says a whole train() call will take."""

    seconds: float  # training and evaluation, every epoch, and the one-time load of the training set
    train_rate: float  # training samples per second in the probe (the median slice)
    probe_samples: int  # training samples timed
    load_seconds: float = 0.0  # of those seconds, the one-time load (TakesTrainingSet), scaled to the whole set


PROBE_WARMUP_STEPS = 3  # untimed: the first calls pay for allocations, caches and lazy imports
PROBE_SLICES = 5  # the timed steps in this many slices; the median slice's pace is the estimate


def estimate_training(model: MLP, split: Split, config: Config, budget_seconds: float = 1.0,
                      clock: Callable[[], float] | None = None) -> Estimate:
    """Time `model` (a throwaway: its parameters move) the way train() will run it, and scale
    that to config.epochs epochs of the whole split.

    A steady probe: PROBE_WARMUP_STEPS steps untimed, then steps timed one by one for about
    budget_seconds (at most a tenth of an epoch), cut into PROBE_SLICES slices whose median
    pace counts, so a moment when the machine was busy elsewhere, or the slow first steps, do
    not (a probe's mean was about twice the real time). An implementation that takes the training
    set once is probed that way (train_step_at on a tenth of the set it was given), and that
    one-time load is scaled to the whole set. One prediction on a few test images gives the
    evaluations."""
    clock = clock or time.perf_counter
    count, eval_count = len(split.x_train), len(split.x_test)
    steps_per_epoch = math.ceil(count / config.batch_size)
    by_index = isinstance(model, TakesTrainingSet)
    rows = min(count, max(10 * config.batch_size, count // 10)) if by_index else count
    load_seconds = 0.0
    if by_index:
        started = clock()
        model.load_training_set(split.x_train[:rows], split.y_train[:rows])
        load_seconds = (clock() - started) * count / rows

    def step(batch: np.ndarray) -> None:
        if by_index:
            model.train_step_at(batch, config.lr)
        else:
            model.train_step(split.x_train[batch], split.y_train[batch], config.lr)

    batches = minibatches(rows, config.batch_size, config.seed, 1)
    most = max(PROBE_SLICES, steps_per_epoch // 10)
    times: list[float] = []
    for index, batch in enumerate(batches):
        started = clock()
        step(batch)
        if index >= PROBE_WARMUP_STEPS:
            times.append(clock() - started)
        if sum(times) >= budget_seconds and len(times) >= PROBE_SLICES or len(times) >= most:
            break
    if not times:  # fewer batches than the warm-up: time the first one again
        started = clock()
        step(next(iter(minibatches(rows, config.batch_size, config.seed, 1))))
        times.append(clock() - started)
    size = max(1, len(times) // PROBE_SLICES)
    paces = sorted(sum(times[k:k + size]) / len(times[k:k + size]) for k in range(0, len(times) - size + 1, size))
    per_step = paces[len(paces) // 2]
    probe = min(eval_count, 200)
    model.predict_proba(split.x_test[: min(probe, 10)])  # warm-up
    started = clock()
    model.predict_proba(split.x_test[:probe])
    eval_seconds = (clock() - started) * eval_count / probe
    per_epoch = per_step * steps_per_epoch + eval_seconds
    return Estimate(seconds=per_epoch * config.epochs + load_seconds, train_rate=config.batch_size / max(per_step, 1e-12),
                    probe_samples=len(times) * config.batch_size, load_seconds=load_seconds)


def format_duration(seconds: float) -> str:
    """'45 s', '4 min 10 s', '2 h 05 min'."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class HistoryRecorder:
    """Records a shared.history.History through train's on_step hook: the parameters at
    history.snapshot_steps, each with the test loss and accuracy (one evaluate on the test set).

        recorder = HistoryRecorder(model, split, config)
        train(model, split, config, at_steps=recorder.steps, on_step=recorder.on_step)
        history = recorder.history()
    """

    def __init__(self, model: MLP, split: Split, config: Config, start_epoch: int = 1,
                 evaluator: Callable | None = None) -> None:
        from shared.history import snapshot_steps

        self.model, self.split, self.config = model, split, config
        # evaluator(params) -> (loss, accuracy): the model's own evaluate unless given one (a
        # pure-Python model's test pass takes seconds; a NumPy pass of the same parameters, ms)
        self.evaluator = evaluator
        self.steps_per_epoch = math.ceil(len(split.x_train) / config.batch_size)
        self.steps = snapshot_steps(self.steps_per_epoch, config.epochs, start_epoch)
        self.snapshots: list = []

    def on_step(self, step: int) -> None:
        from shared.history import Snapshot

        params = self.model.parameters()
        if self.evaluator is None:
            loss, accuracy, _ = evaluate(self.model, self.split.x_test, self.split.y_test)
        else:
            loss, accuracy = self.evaluator(params)
        self.snapshots.append(Snapshot(step=step, epoch=step / self.steps_per_epoch, params=params,
                                       test_accuracy=accuracy, test_loss=loss))

    def history(self):
        from shared.history import History

        return History(impl=self.model.name, config=self.config, steps_per_epoch=self.steps_per_epoch,
                       snapshots=tuple(self.snapshots))

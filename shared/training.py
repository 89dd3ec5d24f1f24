"""The one training loop: every implementation is driven by exactly this code.

Epochs of seeded mini-batches, SGD steps, evaluation after each epoch (on the validation set
when there is one, and then on the test set once, at the end; else on the test set), training
and evaluation timed separately by the same stopwatch. The book's protocol lives here too: its
L2 convention (regularized), early stopping and its halving schedule (Patience).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import numpy as np

from shared.config import HALVINGS, Config
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
    """Inputs scaled to [0, 1] in the config's dtype, labels as int64. The validation set, when
    there is one, is the last training images, held out of x_train."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_validation: np.ndarray | None = None
    y_validation: np.ndarray | None = None

    @property
    def has_validation(self) -> bool:
        return self.y_validation is not None and len(self.y_validation) > 0


def held_out(dataset: Dataset, config: Config) -> int:
    """Validation images: --validation's, or the data's own split (Nielsen's file: 10,000)."""
    return config.validation if config.validation is not None else dataset.held_out


def training_rows(dataset: Dataset, config: Config) -> int:
    """Training images before any expansion: those not held out, at most train_limit."""
    available = len(dataset.train_labels) - held_out(dataset, config)
    return min(available, config.train_limit) if config.train_limit is not None else available


def prepare(dataset: Dataset, config: Config) -> Split:
    """Scale once, before any clock runs: the validation set held out of the end of the training
    set, then train_limit, then the expansion (shared.expansion), and test_limit."""
    from shared.expansion import expand

    validation = held_out(dataset, config)
    kept = len(dataset.train_labels) - validation
    if kept < 1:
        raise ValueError(f"holding out {validation:,} validation images leaves no training images "
                         f"of the {len(dataset.train_labels):,}")
    rows = training_rows(dataset, config)
    images, labels = expand(dataset.train_images[:rows], dataset.train_labels[:rows], config.expand, config.seed)
    test = dataset.limit(test_limit=config.test_limit)
    return Split(
        x_train=scale_pixels(images, config.dtype),
        y_train=labels.astype(np.int64),
        x_test=scale_pixels(test.test_images, config.dtype),
        y_test=test.test_labels.astype(np.int64),
        x_validation=scale_pixels(dataset.train_images[kept:], config.dtype) if validation else None,
        y_validation=dataset.train_labels[kept:].astype(np.int64) if validation else None,
    )


def regularized(config: Config, count: int) -> Config:
    """The config the implementations train with on `count` training images: the book's L2
    parameter lambda (config.l2) becomes the weight decay lambda / n it is, since the gradient of
    (lambda / 2n) sum w^2 is (lambda / n) w. Unchanged without l2."""
    if not config.l2:
        return config
    return config.with_changes(weight_decay=config.l2 / count)


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    train_loss: float  # mean over the epoch's samples of the loss before each step
    # On the test set: after every epoch, or with a validation set only after the last one (None before).
    test_loss: float | None
    test_accuracy: float | None  # fraction in [0, 1]
    train_seconds: float
    eval_seconds: float
    train_samples: int
    # (epochs elapsed, mean loss of the steps since the previous point), CURVE_POINTS per epoch
    loss_curve: tuple[tuple[float, float], ...] = ()
    validation_loss: float | None = None  # None: no validation set
    validation_accuracy: float | None = None
    lr: float | None = None  # the learning rate of the epoch's last step
    # (weight_decay / 2) sum w^2 after the epoch, the book's (lambda / 2n) sum w^2: what the L2 term
    # adds to the cost (None without one)
    weight_penalty: float | None = None

    @property
    def watched(self) -> tuple[str, float, float]:
        """(set, loss, accuracy) evaluated after this epoch: the validation set's when there is one."""
        if self.validation_accuracy is not None:
            return "validation", self.validation_loss, self.validation_accuracy
        return "test", self.test_loss, self.test_accuracy

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
    test_outputs: np.ndarray | None  # the model's outputs on the test set (None: not evaluated after this epoch)
    health: Health  # the probe of its hidden units on the first PROBE training images


@dataclass
class TrainingRun:
    history: list[EpochStats]
    test_outputs: np.ndarray  # the model's outputs on the test set after the last epoch
    params: Params  # the parameters after the last epoch
    stopped: str | None = None  # why it ended before config.epochs (early stopping, the halving schedule)


class Patience:
    """The book's "no-improvement-in-N" rule (chapter 3) on the validation accuracy, N being
    config.patience: when N epochs in a row have not beaten the best, the run ends (early
    stopping), or under the "halve" schedule the learning rate is halved and the count starts
    again, the run ending when the rate has been halved HALVINGS times (to 1/128 of lr)."""

    def __init__(self, config: Config):
        self.epochs, self.halving = config.patience, config.schedule == "halve"
        self.lr = config.lr
        self.best: float | None = None
        self.best_epoch = 0
        self.since_best = 0
        self.halvings = 0

    @property
    def factor(self) -> float:
        """What the learning rate is multiplied by now."""
        return 0.5 ** self.halvings

    def after_epoch(self, epoch: int, accuracy: float) -> str | None:
        """Take the epoch's validation accuracy; say why the run ends here, or None."""
        if self.best is None or accuracy > self.best:
            self.best, self.best_epoch, self.since_best = accuracy, epoch, 0
            return None
        self.since_best += 1
        if self.since_best < self.epochs:
            return None
        plateau = (f"the validation accuracy had not improved for {self.epochs} epochs "
                   f"(best {self.best:.2%}, after epoch {self.best_epoch})")
        if not self.halving:
            return f"stopped early after epoch {epoch}: {plateau}"
        self.halvings, self.since_best = self.halvings + 1, 0
        if self.halvings < HALVINGS:
            return None
        return (f"stopped after epoch {epoch}: {plateau} with the learning rate halved {HALVINGS} times, "
                f"to 1/{2 ** HALVINGS} of {self.lr:g}")


def weight_penalty(params: Params, config: Config) -> float | None:
    """(weight_decay / 2) sum w^2 over the weights (not the biases), or None without decay."""
    if not config.weight_decay:
        return None
    return 0.5 * config.weight_decay * sum(float(np.vdot(W, W)) for W, _ in params)


def learning_rate(config: Config, step: int, total_steps: int) -> float:
    """The learning rate for step `step` (0-based) of `total_steps` under config.schedule (the
    "halve" schedule's halvings are Patience's, which the loop multiplies in)."""
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
    """Train for config.epochs epochs (fewer when Patience ends the run); epoch numbers continue
    from start_epoch.

    After each epoch the model is evaluated on the validation set when the split has one, and
    then on the test set only after the last epoch; without one, on the test set every epoch.
    config.l2 must have been turned into its weight decay by regularized(config, n).

    Stops with TrainingDiverged (shared.divergence says when) before on_epoch sees a diverged
    epoch, so a checkpoint saved there is never replaced by a blown-up model.
    previous_accuracy: the accuracy (on the set watched after each epoch) of the model resumed from, if any.

    Ctrl-C (KeyboardInterrupt) goes straight through: what on_epoch was handed is what was
    completed, so a caller that keeps it has the epochs done before the interruption.

    on_progress(samples done this epoch, samples per epoch, recent mean loss) is called
    CURVE_POINTS times an epoch, so a progress bar costs the same for every implementation.

    on_step(global step) is called after each global step (counted from 1 over the whole run,
    epochs before start_epoch included) that is in at_steps, and before training with the step
    it starts from (0, or the steps of the epochs before start_epoch) when that is in at_steps: the one hook for recording a history (shared.history.snapshot_steps).
    """
    history, end, stopped = [], None, None
    count = len(split.x_train)
    if config.l2 and not math.isclose(config.weight_decay, config.l2 / count, rel_tol=1e-12):
        raise ValueError(f"config.l2 = {config.l2:g} is the book's lambda: train with regularized(config, "
                         f"{count}), whose weight decay is lambda / n")
    if config.patience and not split.has_validation:
        raise ValueError("early stopping and the halve schedule watch the validation accuracy: the split has "
                         "no validation set")
    watched_x, watched_y = (split.x_validation, split.y_validation) if split.has_validation else (split.x_test, split.y_test)
    patience = Patience(config) if config.patience else None
    steps = math.ceil(count / config.batch_size)
    window = max(1, steps // CURVE_POINTS)
    total_steps = steps * (start_epoch - 1 + config.epochs)  # the whole run, for the schedule
    last_epoch = start_epoch + config.epochs - 1
    watch = DivergenceWatch(model.name, config.loss, config.sizes[-1], watched_y, previous_accuracy,
                            start_epoch - 1 if previous_accuracy is not None else None,
                            weight_decay=config.weight_decay, momentum=config.momentum,
                            watched="validation" if split.has_validation else "test")
    watch.start(model.parameters())
    probe_images = split.x_train[:PROBE]
    # An implementation that takes the training set once gets batches as row indices.
    by_index = isinstance(model, TakesTrainingSet)
    wanted = set(at_steps) if on_step is not None else set()
    if (start_epoch - 1) * steps in wanted:  # where this training starts: 0, or the resumed step
        on_step((start_epoch - 1) * steps)
    for epoch in range(start_epoch, last_epoch + 1):
        train_clock, eval_clock, hook_clock = Stopwatch(), Stopwatch(), Stopwatch()
        loss_sum, window_sum, window_samples, done, curve = 0.0, 0.0, 0, 0, []
        factor = patience.factor if patience else 1.0
        with train_clock:
            if by_index and epoch == start_epoch:  # its one-time cost counts as training time
                model.load_training_set(split.x_train, split.y_train)
            for step, batch in enumerate(minibatches(count, config.batch_size, config.seed, epoch), 1):
                lr = learning_rate(config, (epoch - 1) * steps + step - 1, total_steps) * factor
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
            watched_loss, accuracy, outputs = evaluate(model, watched_x, watched_y)
        params = model.parameters()
        health = probe(params, probe_images, config.activation, config.loss)
        watch.epoch_end(epoch, watched_loss, accuracy, params, health, lr)
        stopped = patience.after_epoch(epoch, accuracy) if patience else None
        validation = (watched_loss, accuracy) if split.has_validation else (None, None)
        if not split.has_validation:
            test_loss, test_accuracy, test_outputs = watched_loss, accuracy, outputs
        elif stopped or epoch == last_epoch:  # the test set, once, at the end
            with eval_clock:
                test_loss, test_accuracy, test_outputs = evaluate(model, split.x_test, split.y_test)
        else:
            test_loss, test_accuracy, test_outputs = None, None, None
        stats = EpochStats(
            epoch=epoch,
            train_loss=loss_sum / count,
            test_loss=test_loss,
            test_accuracy=test_accuracy,
            train_seconds=train_clock.seconds - hook_clock.seconds,
            eval_seconds=eval_clock.seconds,
            train_samples=count,
            loss_curve=tuple(curve),
            validation_loss=validation[0],
            validation_accuracy=validation[1],
            lr=lr,
            weight_penalty=weight_penalty(params, config),
        )
        history.append(stats)
        end = EpochEnd(stats, params, test_outputs, health)
        if on_epoch is not None:
            on_epoch(end)
        if stopped:
            break
    return TrainingRun(history, end.test_outputs, end.params, stopped)


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

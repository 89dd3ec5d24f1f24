"""`compare run`'s work: check gradients, train every implementation with the shared loop,
compare; everything it does goes into one Outcome (compare.run.outcome).

Orchestration and printing only; the training itself is shared.training.train.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from pathlib import Path
from typing import Callable

import numpy as np

from compare.check.gradients import check_on_training_images, checks_progress, format_agreement
from compare.run.drift import DriftRecorder, compose, drift_steps
from compare.run.console import (ProgressBar, ProgressLines, agreement_lines, announce, describe, format_epoch,
                                 progress_lines_wanted, run_estimate_line, summary_lines, worth_probing)
from compare.run.machine import (Waiting, busy_warning, choose_threads, cores, environment, is_busy, load_average,
                                 load_now, thread_limits)
from compare.run.outcome import ImplResult, Outcome, Unsaved
from compare.run.outputs import interrupts_deferred, reason, same_file
from compare.wording import drift_summary, plural
from impls import REGISTRY
from shared.checkpoint import Checkpoint, save_checkpoint
from shared.config import Config
from shared.data import Dataset
from shared.health import health_warnings
from shared.params import Params, init_params
from shared.resources import PeakMemory
from shared.history import MAX_PAGE_HISTORY_BYTES, history_bytes
from shared.training import (EpochEnd, EpochStats, Estimate, HistoryRecorder, Split, TrainingDiverged, estimate_training,
                             evaluate, prepare, regularized, train)

GRADCHECK_SAMPLES = 16
GRADCHECK_COORDINATES = 6


def run_comparison(
    config: Config,
    impls: list[str],
    dataset: Dataset,
    echo: Callable[[str], None],
    progress: bool = False,
    command: str = "",
    params: Params | None = None,
    start_epoch: int = 1,
    save_paths: dict[str, Path] | None = None,
    previous_accuracy: float | None = None,
    threads: str = "auto",
    resumed_from: Path | None = None,
    earlier_epochs: tuple[dict, ...] = (),
    force: bool = False,
) -> Outcome:
    """Check gradients, train each implementation from the same parameters (a fresh
    initialization unless given), print as it goes, save checkpoints where asked.

    Ctrl-C and a diverged training do not raise: the Outcome says where it was interrupted
    (or why training was stopped) and holds the epochs completed before.
    earlier_epochs: the history of the checkpoint resumed from (shared.checkpoint), carried on.
    The file resumed from is replaced only by a model at least as good as it was, unless `force`."""
    outcome = Outcome(config, command, resumed_from)
    save_paths = save_paths or {}
    guarded = set() if force or resumed_from is None else {p for p in save_paths.values() if same_file(p, resumed_from)}
    earlier = [EpochStats.from_record(record) for record in earlier_epochs if record["epoch"] < start_epoch]
    try:
        compare(outcome, impls, dataset, echo, progress, params, start_epoch, save_paths, previous_accuracy,
                threads, earlier, guarded)
    except KeyboardInterrupt:
        outcome.interrupted = f"interrupted {outcome.stage}"
    except TrainingDiverged as error:
        outcome.diverged = str(error)
    outcome.environment = environment({r.name: r.device for r in outcome.results})
    return outcome


def compare(outcome: Outcome, impls: list[str], dataset: Dataset, echo, progress: bool, params: Params | None,
            start_epoch: int, save_paths: dict[str, Path], previous_accuracy: float | None, threads: str,
            earlier: list[EpochStats], guarded: set[Path] = frozenset()) -> None:
    split = prepare(dataset, outcome.config)
    # The book's lambda becomes the weight decay lambda / n it is, n the training images used.
    config = outcome.config = regularized(outcome.config, len(split.y_train))
    outcome.counts = {"train_images": len(split.y_train), "test_images": len(split.y_test),
                      "validation_images": len(split.y_validation) if split.has_validation else 0}
    for line in describe(config, dataset, outcome.counts, start_epoch):
        echo(line)
    if params is None:
        params = init_params(config.sizes, config.init, config.seed)

    outcome.stage = "during the gradient check, before any training"
    with checks_progress("checking gradients", params, impls, enabled=progress) as bar:
        outcome.agreement = check_on_training_images(config, params, dataset, impls, GRADCHECK_SAMPLES,
                                                     GRADCHECK_COORDINATES, on_step=lambda note: bar.update(1, note))
    outcome.stage = f"before {impls[0]}'s training"
    echo(f"\nGradient check (float64, {outcome.agreement.batch_size} training images, same initial parameters)")
    echo(format_agreement(outcome.agreement))
    if guarded:  # measured again on this run's test images: a checkpoint's own figure may be of others
        outcome.resumed_accuracy = float64_evaluation(config, split)(params)[1]
    outcome.stage = "while timing each implementation's first steps, before any training"
    estimates = probe_each(impls, config, params, split, threads) if progress and worth_probing(config, split) else {}
    load = load_now()
    line = run_estimate_line(estimates, f"load {load:.1f} on {cores()} cores" if is_busy(load, cores()) else "")
    if line:
        echo(line)
    steps_per_epoch = math.ceil(len(split.y_train) / config.batch_size)
    drift = (DriftRecorder(drift_steps(steps_per_epoch, config.epochs, start_epoch, config.sizes), steps_per_epoch)
             if len(impls) > 1 else None)
    for name in impls:
        outcome.stage = f"before {name}'s training"
        impl = REGISTRY[name]
        note = " (Python floats: float64 whatever --dtype says)" if impl.python_floats and config.dtype != "float64" else ""
        echo(f"\n[{name}] {impl.description}{note}")
        try:
            train_one(outcome, name, params, split, echo, progress, start_epoch, save_paths.get(name),
                      previous_accuracy, threads, keep_history=name == impls[0], drift=drift, earlier=earlier,
                      estimate=estimates.get(name), guarded=save_paths.get(name) in guarded)
        finally:  # Ctrl-C or divergence: the drift of the steps trained so far is kept
            outcome.drift = drift.to_dict() if drift is not None else None
    outcome.stage = "after the training"
    for path, unsaved in outcome.unsaved.items():
        if unsaved.held_back:
            outcome.warn(f"warning: the model of epoch {unsaved.epoch} ({unsaved.accuracy:.2%}) is {unsaved.why}, "
                         f"so it was not saved in {path}", echo)
    if outcome.drift is not None and len(outcome.results) > 1:
        check_after_training(outcome, dataset, progress)

    epochs = outcome.results[0].final.epoch if outcome.results else config.epochs
    resumed = f" ({start_epoch - 1} before resuming, {epochs - start_epoch + 1} in this run)" if start_epoch > 1 else ""
    echo(f"\nAfter {plural(epochs, 'epoch')}{resumed} on {len(split.y_train):,} images (same initial parameters, "
         f"same batches):")
    for line in summary_lines(outcome.results):
        echo(line)
    if len(outcome.results) > 1:
        echo("\nDo they still compute the same network?")
        for line in agreement_lines(outcome.results):
            echo(line)
        if outcome.drift is not None:
            after = outcome.agreement_after.to_dict() if outcome.agreement_after else None
            summary = drift_summary(outcome.drift, after, config.to_dict())
            for line in textwrap.wrap(summary, 100, initial_indent="  ", subsequent_indent="  "):
                echo(line)
    if not outcome.agreement.passed:
        echo("\nFAILED: the gradient check above found implementations that disagree.")
        outcome.warnings.append("the gradient check found implementations that disagree")


def probe_each(impls: list[str], config: Config, params: Params, split: Split, threads: str) -> dict[str, Estimate]:
    """A short timed probe of each implementation (shared.training.estimate_training), with the
    threads its training will get, so that the whole run's time is known before it starts."""
    estimates = {}
    for name in impls:
        impl = REGISTRY[name]
        choice = choose_threads(threads, config.sizes, config.batch_size, load=load_now())
        with thread_limits(choice.threads, with_torch=impl.uses_torch):
            estimates[name] = estimate_training(impl.build(config, params), split, config)
    return estimates


def check_after_training(outcome: Outcome, dataset: Dataset, progress: bool) -> None:
    """The gradient check again, from the first implementation's trained parameters: however far
    the implementations drifted apart, from the same parameters they compute the same gradients."""
    first, names = outcome.results[0], [r.name for r in outcome.results]
    outcome.stage = "during the gradient check after the training"
    with checks_progress("checking gradients from the trained parameters", first.params, names,
                         enabled=progress) as bar:
        outcome.agreement_after = check_on_training_images(outcome.config, first.params, dataset, names,
                                                           GRADCHECK_SAMPLES, GRADCHECK_COORDINATES,
                                                           on_step=lambda note: bar.update(1, note))
    outcome.stage = "after the training"


def history_recorder(model, split: Split, config: Config, start_epoch: int) -> HistoryRecorder | None:
    """The recorder of the first implementation's training history (its parameters from the
    initialization on, for the page's timeline), or None when it would be too large to keep.
    Each snapshot is evaluated by the numpy implementation in float64: the same network, and
    milliseconds where a pure-Python model's own test pass takes seconds."""
    recorder = HistoryRecorder(model, split, config, start_epoch, evaluator=None)
    if history_bytes(config.sizes, len(recorder.steps)) > MAX_PAGE_HISTORY_BYTES:
        return None
    recorder.evaluator = float64_evaluation(config, split)
    return recorder


def save_epoch(outcome: Outcome, path: Path, end: EpochEnd, name: str, guarded: bool, echo,
               history: list[dict]) -> None:
    """Save an epoch's model in its --save file, unless it is worse than the model that file holds
    and was resumed from (`guarded`). A save that fails (a full disk) does not stop the training:
    the outcome says so, and the command keeps the model in the run's folder."""
    epoch, accuracy = end.stats.epoch, end.stats.test_accuracy
    if guarded and accuracy is None:  # a run with a validation set tests once, at the end: only then is it weighed
        return
    if guarded and accuracy < outcome.resumed_accuracy:
        outcome.unsaved[path] = Unsaved(epoch, accuracy, f"worse than the {outcome.resumed_accuracy:.2%} of the "
                                                         f"model it resumed from", held_back=True)
        return
    with interrupts_deferred():  # the file and the record of it change together
        try:
            save_checkpoint(path, Checkpoint(end.params, outcome.config, name, epoch, accuracy, history=history))
        except OSError as error:
            if path not in outcome.unsaved:
                outcome.warn(f"warning: could not save epoch {epoch} in {path} ({reason(error)}); the training "
                             f"goes on, and its model will be kept in the run's folder", echo)
            outcome.unsaved[path] = Unsaved(epoch, accuracy, reason(error))
            return
        outcome.saved[path] = epoch
        outcome.unsaved.pop(path, None)


def float64_evaluation(config: Config, split: Split) -> Callable[[Params], tuple[float, float]]:
    """params -> (test loss, test accuracy) on the split, by the numpy implementation in float64."""
    reference = REGISTRY["numpy"]
    float64 = dataclasses.replace(config, dtype="float64")

    def evaluator(params: Params) -> tuple[float, float]:
        loss, accuracy, _ = evaluate(reference.build(float64, params), split.x_test, split.y_test)
        return loss, accuracy

    return evaluator


def train_one(outcome: Outcome, name: str, params: Params, split: Split, echo, progress: bool, start_epoch: int,
              save_path: Path | None, previous_accuracy: float | None, threads: str, keep_history: bool = False,
              drift: DriftRecorder | None = None, earlier: list[EpochStats] = (),
              estimate: Estimate | None = None, guarded: bool = False) -> None:
    """Train one implementation; each completed epoch goes into the outcome at once (its
    result, its warnings, its checkpoint), so Ctrl-C at any moment loses only the epoch under way.
    guarded: save_path is the file resumed from, replaced only by a model at least as good."""
    config, impl = outcome.config, REGISTRY[name]
    # The one place threads are chosen and applied: BLAS and torch, for this training and its probe.
    choice = choose_threads(threads, config.sizes, config.batch_size, load=load_now())
    echo(f"  threads: {choice.threads} ({choice.reason})")
    long_run = announce(name, config, split, estimate, echo) if progress else False
    outcome.stage = f"during {name}'s epoch {start_epoch}"
    model = impl.build(config, params)
    result = ImplResult(name=name, description=impl.description,
                        dtype="float64" if impl.python_floats else config.dtype,
                        device=str(getattr(model, "device", "cpu")), threads=choice.to_dict(), earlier=list(earlier))
    bar = ProgressBar(name, progress)
    lines = ProgressLines(name, echo) if progress_lines_wanted(long_run, progress) else None
    last_epoch = start_epoch + config.epochs - 1

    def after_epoch(end: EpochEnd) -> None:
        bar.close()
        echo(format_epoch(end.stats))
        result.record(end)
        if len(result.history) == 1:
            outcome.results.append(result)
        for warning in health_warnings(end.health, config, end.stats.epoch, name):
            outcome.warn(warning, echo)
        if save_path is not None:  # after every epoch: Ctrl-C loses at most the epoch under way
            save_epoch(outcome, save_path, end, name, guarded, echo, history=result.records())
        if end.stats.epoch < last_epoch:
            outcome.stage = f"during {name}'s epoch {end.stats.epoch + 1}"

    recorder = history_recorder(model, split, config, start_epoch) if keep_history else None
    at_steps, on_step = compose((set(recorder.steps), recorder.on_step) if recorder else (set(), None),
                                (set(drift.steps), drift.hook(name, model)) if drift else (set(), None))
    memory, waiting = PeakMemory(), Waiting()
    try:
        # NumPy's overflow warnings are not printed: a run that overflows is stopped as diverged, in one line
        with memory, thread_limits(choice.threads, with_torch=impl.uses_torch), np.errstate(all="ignore"):
            run = train(model, split, config, start_epoch=start_epoch, on_epoch=after_epoch,
                        on_progress=bar.update if lines is None else lines.update, previous_accuracy=previous_accuracy,
                        at_steps=at_steps, on_step=on_step if at_steps else None)
        if run.stopped:
            result.stopped = run.stopped
            echo(f"  {run.stopped}")
    except KeyboardInterrupt:
        if result.history and result.outputs is None:  # a validation run stopped early: the test set, once
            with thread_limits(choice.threads, with_torch=impl.uses_torch):
                test_on(result, impl.build(config, result.params), split)
        raise
    finally:
        bar.close()
        result.peak_rss = memory.peak
        if recorder is not None and recorder.snapshots:  # Ctrl-C or divergence: what was recorded is kept
            outcome.history = recorder.history()
    result.train_accuracy = training_accuracy(result.params, split, config)
    result.load_average, result.waiting_share = load_average(), waiting.share()
    warning = busy_warning(result.load_average, cores(), f"{name}'s training", result.waiting_share)
    if warning:
        outcome.warn(warning, echo)


def test_on(result: ImplResult, model, split: Split) -> None:
    """The test set evaluated once for a run with a validation set that Ctrl-C ended before its
    last epoch: the model of its last completed epoch is what the report then shows."""
    loss, accuracy, outputs = evaluate(model, split.x_test, split.y_test)
    result.history[-1] = dataclasses.replace(result.history[-1], test_loss=loss, test_accuracy=accuracy)
    result.outputs = outputs


def training_accuracy(params: Params, split: Split, config: Config) -> float:
    """The final model's accuracy on its training images (the book's overfitting: 100% of 1,000),
    computed by the numpy implementation in float64 from its parameters: milliseconds, whoever trained it."""
    reference = REGISTRY["numpy"].build(dataclasses.replace(config, dtype="float64"), params)
    return evaluate(reference, split.x_train, split.y_train)[1]

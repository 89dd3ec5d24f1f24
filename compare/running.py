"""`compare run`: check gradients, train every implementation with the shared loop, compare.

Orchestration and printing only; the training itself is shared.training.train.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Callable

import numpy as np

from compare.gradcheck import GradientAgreement, check_on_training_images, format_agreement, step_count
from compare.machine import busy_warning, choose_threads, cores, load_average, load_now, thread_limits
from compare.long_runs import ProgressLines, announce, progress_lines_wanted
from compare.outputs import interrupts_deferred
from compare.progress import Progress
from compare.wording import plural, shown_path, vs_fastest
from impls import PYTHON_FLOATS, REGISTRY, build
from shared.checkpoint import Checkpoint, save_checkpoint
from shared.config import Config
from shared.data import Dataset
from shared.diagnostics import health_warnings
from shared.params import Params, init_params, max_abs_difference
from shared.resources import PeakMemory
from shared.training import EpochStats, TrainingInterrupted, prepare, train

GRADCHECK_SAMPLES = 16
GRADCHECK_COORDINATES = 6
SATURATION_PROBE = 1000  # training images the saturation check looks at after each epoch


@dataclass
class ImplResult:
    name: str
    description: str
    dtype: str  # what it really computed in
    device: str
    history: list[EpochStats]
    params: Params
    outputs: np.ndarray  # test-set outputs after the last epoch
    peak_rss: int  # bytes
    threads: dict | None = None  # compare.machine.ThreadChoice.to_dict()
    load_average: float | None = None  # 1-minute load average when its training ended

    @property
    def predictions(self) -> np.ndarray:
        return self.outputs.argmax(axis=1)

    @property
    def final(self) -> EpochStats:
        return self.history[-1]

    @property
    def train_seconds_per_epoch(self) -> float:
        return sum(e.train_seconds for e in self.history) / len(self.history)

    @property
    def eval_seconds_per_epoch(self) -> float:
        return sum(e.eval_seconds for e in self.history) / len(self.history)

    @property
    def samples_per_second(self) -> float:
        return sum(e.train_samples for e in self.history) / sum(e.train_seconds for e in self.history)


@dataclass
class Comparison:
    config: Config
    command: str
    agreement: GradientAgreement
    results: list[ImplResult]
    warnings: list[str] = field(default_factory=list)  # every warning printed during the run
    interrupted: str | None = None  # where Ctrl-C stopped the run; the results are the completed epochs


class ImplInterrupted(KeyboardInterrupt):
    """Ctrl-C while one implementation trained; `result` holds its completed epochs, if any."""

    def __init__(self, result: ImplResult | None, where: str):
        super().__init__(where)
        self.result, self.where = result, where


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; `comparison` holds the completed epochs (None when there are none)."""

    def __init__(self, comparison: Comparison | None, where: str):
        super().__init__(where)
        self.comparison, self.where = comparison, where


def format_epoch(stats: EpochStats) -> str:
    return (
        f"  epoch {stats.epoch:>2}  loss {stats.train_loss:.4f}  test loss {stats.test_loss:.4f}  "
        f"accuracy {stats.test_accuracy:.2%}  train {stats.train_seconds:6.2f} s  "
        f"eval {stats.eval_seconds:5.2f} s  {stats.samples_per_second:>9,.0f} samples/s"
    )


def describe(config: Config, dataset: Dataset) -> list[str]:
    data = dataset.limit(config.train_limit, config.test_limit)
    verified = "checksums verified" if dataset.verified else "unverified: no known checksums"
    return [
        f"data      {dataset.name} ({verified}): {len(data.train_labels):,} training and "
        f"{len(data.test_labels):,} test images from {shown_path(dataset.directory)}",
        f"network   {'-'.join(map(str, config.sizes))}, {config.activation} hidden layers, "
        f"{config.output_activation} output, {config.loss} loss, {config.init} initialization",
        f"training  {plural(config.epochs, 'epoch')} of mini-batch SGD, batch {config.batch_size}, "
        f"learning rate {config.lr:g}{schedule_text(config)}, seed {config.seed}, {config.dtype}",
    ]


def schedule_text(config: Config) -> str:
    parts = [" (cosine decay)" if config.schedule == "cosine" else ""]
    if config.momentum:
        parts.append(f", momentum {config.momentum:g}")
    if config.weight_decay:
        parts.append(f", weight decay {config.weight_decay:g}")
    return "".join(parts)


def summary_table(results: list[ImplResult]) -> list[str]:
    fastest = max(r.samples_per_second for r in results)
    headers = ["impl", "accuracy", "test loss", "train s/epoch", "eval s/epoch", "samples/s", "vs fastest"]
    rows = [
        [
            r.name,
            f"{r.final.test_accuracy:.2%}",
            f"{r.final.test_loss:.4f}",
            f"{r.train_seconds_per_epoch:.2f}",
            f"{r.eval_seconds_per_epoch:.2f}",
            f"{r.samples_per_second:,.0f}",
            vs_fastest(r.samples_per_second, fastest),
        ]
        for r in results
    ]
    widths = [max(len(row[c]) for row in [headers, *rows]) for c in range(len(headers))]
    return ["  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))
            for row in [headers, *rows]]


def agreement_lines(results: list[ImplResult]) -> list[str]:
    lines = []
    for a, b in combinations(results, 2):
        same = float(np.mean(a.predictions == b.predictions))
        lines.append(
            f"  {a.name} vs {b.name}: largest parameter difference "
            f"{max_abs_difference(a.params, b.params):.1e}, same test prediction for {same:.2%} of images"
        )
    return lines


class ProgressBar:
    """A tqdm bar per epoch with samples/s and the running loss; when output is not a
    terminal (CI, pipes) tqdm stays silent and only the epoch lines are printed."""

    def __init__(self, name: str, enabled: bool):
        self.name, self.enabled, self.bar = name, enabled, None

    def update(self, done: int, total: int, loss: float) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=" img", leave=False, disable=None, desc=f"  {self.name}",
                            dynamic_ncols=True, unit_scale=True)
        self.bar.update(done - self.bar.n)
        self.bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
        if done == total:  # the bar stays, saying so, while the test set is evaluated (seconds for scratch)
            self.bar.set_postfix_str(f"loss {loss:.4f}, evaluating on the test set")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def train_one(name: str, config: Config, params: Params, split, echo, progress: bool,
              start_epoch: int = 1, save_path: Path | None = None, saved: dict | None = None,
              previous_accuracy: float | None = None, warnings: list[str] | None = None,
              threads: str = "auto") -> ImplResult:
    # The one place threads are chosen and applied: BLAS and torch, for this training and its probe.
    choice = choose_threads(threads, config.sizes, config.batch_size, load=load_now())
    echo(f"  threads: {choice.threads} ({choice.reason})")
    try:
        with thread_limits(choice.threads, with_torch=name == "torch"):
            long_run = announce(name, config, params, split, echo) if progress else False
    except KeyboardInterrupt:  # nothing trained or saved yet
        raise ImplInterrupted(None, f"interrupted while timing {name}'s first steps, before its epoch {start_epoch}") from None
    model = build(name, config, params)
    bar = ProgressBar(name, progress)
    lines = ProgressLines(name, echo) if progress_lines_wanted(long_run, progress) else None

    probe = split.x_train[:SATURATION_PROBE]

    def after_epoch(stats: EpochStats) -> None:
        bar.close()
        echo(format_epoch(stats))
        params_now = model.parameters()
        for warning in health_warnings(params_now, probe, config, stats.epoch, name):
            echo("  " + warning)
            if warnings is not None:
                warnings.append(warning.removeprefix("warning: "))
        if save_path is not None:  # after every epoch: Ctrl-C loses at most the epoch under way
            with interrupts_deferred():
                save_checkpoint(save_path, Checkpoint(params_now, config, name, stats.epoch, stats.test_accuracy))
                if saved is not None:
                    saved[save_path] = stats.epoch

    interrupted = None
    try:
        with PeakMemory() as memory, thread_limits(choice.threads, with_torch=name == "torch"):
            run = train(model, split, config, start_epoch=start_epoch, on_epoch=after_epoch,
                        on_progress=bar.update if lines is None else lines.update,
                        previous_accuracy=previous_accuracy)
    except TrainingInterrupted as interrupt:
        run, interrupted = interrupt.run, f"interrupted during {name}'s epoch {interrupt.epoch}"
    finally:
        bar.close()
    if interrupted is not None:
        if not run.history:
            raise ImplInterrupted(None, interrupted)
        model_params = run.params if run.params is not None else model.parameters()
        raise ImplInterrupted(ImplResult(name=name, description=REGISTRY[name][2],
                                         dtype="float64" if name in PYTHON_FLOATS else config.dtype,
                                         device=str(getattr(model, "device", "cpu")), history=run.history,
                                         params=model_params, outputs=run.test_outputs, peak_rss=memory.peak),
                              interrupted)
    load = load_average()
    warning = busy_warning(load, cores(), f"{name}'s training")
    if warning:
        echo("  " + warning)
        if warnings is not None:
            warnings.append(warning.removeprefix("warning: "))
    return ImplResult(
        name=name,
        description=REGISTRY[name][2],
        dtype="float64" if name in PYTHON_FLOATS else config.dtype,
        device=str(getattr(model, "device", "cpu")),
        history=run.history,
        params=model.parameters(),
        outputs=run.test_outputs,
        peak_rss=memory.peak,
        threads=choice.to_dict(),
        load_average=load,
    )


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
    saved: dict[Path, int] | None = None,
    previous_accuracy: float | None = None,
    threads: str = "auto",
) -> Comparison:
    """Check gradients, train each implementation from the same parameters (a fresh
    initialization unless given), print as it goes, save checkpoints where asked (and record
    in `saved` each file written, with its epoch).

    Ctrl-C raises RunInterrupted carrying the epochs completed so far."""
    for line in describe(config, dataset):
        echo(line)
    if params is None:
        params = init_params(config.sizes, config.init, config.seed)

    try:
        with Progress("checking gradients", step_count(params, impls), enabled=progress) as bar:
            agreement = check_on_training_images(config, params, dataset, impls, GRADCHECK_SAMPLES,
                                                 GRADCHECK_COORDINATES, on_step=lambda note: bar.update(1, note))
    except KeyboardInterrupt:  # nothing trained, saved or written yet
        raise RunInterrupted(None, "interrupted during the gradient check, before any training") from None
    results, warnings = [], []

    def interrupted(where: str, done: list) -> RunInterrupted:
        comparison = Comparison(config=config, command=command, agreement=agreement, results=done,
                                warnings=warnings, interrupted=where) if done else None
        return RunInterrupted(comparison, where)

    pending = list(impls)
    try:
        echo(f"\nGradient check (float64, {agreement.batch_size} training images, same initial parameters)")
        echo(format_agreement(agreement))
        split = prepare(dataset, config)
        for name in impls:
            note = " (Python floats: float64 whatever --dtype says)" if name in PYTHON_FLOATS and config.dtype != "float64" else ""
            echo(f"\n[{name}] {REGISTRY[name][2]}{note}")
            try:
                results.append(train_one(name, config, params, split, echo, progress, start_epoch,
                                         (save_paths or {}).get(name), saved, previous_accuracy, warnings,
                                         threads))
            except ImplInterrupted as interrupt:
                done = results + ([interrupt.result] if interrupt.result is not None else [])
                raise interrupted(interrupt.where, done) from None
            pending.remove(name)

        epochs = results[0].final.epoch if results else config.epochs
        echo(f"\nAfter {plural(epochs, 'epoch')} on {len(split.y_train):,} images (same initial parameters, same batches):")
        for line in summary_table(results):
            echo("  " + line)
        if len(results) > 1:
            echo("\nDo they still compute the same network?")
            for line in agreement_lines(results):
                echo(line)
    except RunInterrupted:
        raise
    except KeyboardInterrupt:  # between the steps above: what is done so far, and what was next
        where = f"interrupted before {pending[0]}'s training" if pending else "interrupted after the training"
        raise interrupted(where, results) from None
    if not agreement.passed:
        echo("\nFAILED: the gradient check above found implementations that disagree.")
        warnings.append("the gradient check found implementations that disagree")
    return Comparison(config=config, command=command, agreement=agreement, results=results, warnings=warnings)

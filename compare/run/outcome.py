"""What a `compare run` did, however it ended, as one object.

The comparison fills it as it goes: the gradient check, each implementation's epochs as
they complete, every warning it printed, every checkpoint it wrote. Stopped by Ctrl-C or
by a diverged training, it says where or why, and still holds what was done before: the
command turns that into the report of the completed epochs, or into the one-line error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from compare.check.gradients import GradientAgreement
from shared.config import Config
from shared.params import Params
from shared.training import EpochEnd, EpochStats


@dataclass
class ImplResult:
    """One implementation's training: its completed epochs, and the parameters and test
    outputs after the last of them."""

    name: str
    description: str
    dtype: str  # what it really computed in
    device: str
    threads: dict | None = None  # compare.run.machine.ThreadChoice.to_dict()
    history: list[EpochStats] = field(default_factory=list)
    params: Params | None = None
    outputs: np.ndarray | None = None  # test-set outputs after the last completed epoch
    peak_rss: int = 0  # bytes, sampled while it trained
    load_average: float | None = None  # 1-minute load average when its training ended
    waiting_share: float | None = None  # of its threads' time while it trained, spent waiting for a core
    earlier: list[EpochStats] = field(default_factory=list)  # the epochs before resuming (the checkpoint's history)
    stopped: str | None = None  # why it ended before its last epoch (early stopping, the halving schedule)
    train_accuracy: float | None = None  # the final model on its training images

    def record(self, end: EpochEnd) -> None:
        self.history.append(end.stats)
        # With a validation set the test set is evaluated after the last epoch only: None before it.
        self.params, self.outputs = end.params, end.test_outputs

    def records(self) -> tuple[dict, ...]:
        """Every epoch, those before resuming included, as a checkpoint's history keeps them."""
        return tuple(e.record() for e in self.earlier + self.history)

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

    def to_dict(self) -> dict:
        """Its entry in the results document (compare/report/results.schema.json)."""
        return {
            "name": self.name,
            "description": self.description,
            "dtype": self.dtype,
            "device": self.device,
            "peak_rss_bytes": self.peak_rss,
            "threads": self.threads,
            "load_average": self.load_average,
            "waiting_share": self.waiting_share,
            "epochs": [e.to_dict() | {"before_resume": True} for e in self.earlier] + [e.to_dict() for e in self.history],
            "final": {
                "test_accuracy": self.final.test_accuracy,
                "test_loss": self.final.test_loss,
                "validation_accuracy": self.final.validation_accuracy,
                "train_accuracy": self.train_accuracy,
                "train_seconds_per_epoch": self.train_seconds_per_epoch,
                "eval_seconds_per_epoch": self.eval_seconds_per_epoch,
                "samples_per_second": self.samples_per_second,
            },
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class Unsaved:
    """An epoch's model that was not saved in its --save file, and why."""

    epoch: int
    accuracy: float
    why: str  # "No space left on device", or "worse than the 31.35% it resumed from"
    held_back: bool = False  # on purpose: --force would have saved it


@dataclass
class Outcome:
    config: Config
    command: str = ""
    resumed_from: Path | None = None
    agreement: GradientAgreement | None = None  # None when stopped before the check ended
    # the check again from the first implementation's trained parameters (two or more trained)
    agreement_after: GradientAgreement | None = None
    results: list[ImplResult] = field(default_factory=list)  # those with a completed epoch, in order
    warnings: list[str] = field(default_factory=list)  # every warning printed, without "warning: "
    saved: dict[Path, int] = field(default_factory=dict)  # checkpoints written, with the epoch each holds
    # Checkpoints that do not hold their implementation's last epoch: a save that failed (a full
    # disk) or was held back (a worse model than the one resumed from, without --force).
    unsaved: dict[Path, Unsaved] = field(default_factory=dict)
    resumed_accuracy: float | None = None  # of the model resumed from, on this run's test images
    environment: dict = field(default_factory=dict)  # compare.run.machine.environment()
    stage: str = "before the gradient check"  # what the run is doing: where Ctrl-C would stop it
    interrupted: str | None = None  # where Ctrl-C stopped it: "interrupted during numpy's epoch 3"
    diverged: str | None = None  # why a training was stopped (shared.divergence's message)
    history: object | None = None  # shared.history.History of the first implementation's training, when kept
    drift: dict | None = None  # compare.run.drift.DriftRecorder.to_dict(): how far the others drifted from the first
    # images trained on (after --validation, --train-limit, --expand), held out for validation, tested on
    counts: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """The gradient check ran and the implementations agreed."""
        return self.agreement is not None and self.agreement.passed

    def warn(self, warning: str, echo) -> None:
        """Print a warning ("warning: ...") and keep it for the report."""
        echo("  " + warning)
        self.warnings.append(warning.removeprefix("warning: "))

"""One experiment, run: its runs through compare.sweep.run_all (resumable, on all cores or a
cluster), then each row's figure read from the runs' results documents."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from compare.experiment.book import Experiment, Row
from compare.report.results import ResultsError, load_results
from compare.sweep import RunResult, RunSpec, run_all
from shared.atomic import atomic_write_text

CLOSE = 0.5  # points: "ours agrees with the book"


@dataclass(frozen=True)
class Measured:
    row: Row
    ours: float  # percent

    @property
    def difference(self) -> float | None:
        return None if self.row.book is None else self.ours - self.row.book

    @property
    def close(self) -> bool | None:
        return None if self.difference is None else abs(self.difference) <= CLOSE


@dataclass(frozen=True)
class Conducted:
    """An experiment whose runs have all finished (now, or in an earlier call)."""

    experiment: Experiment
    impl: str
    root: Path  # the runs' folders: ROOT/RUN
    specs: list[RunSpec]  # the runs, as `compare run` options
    runs: dict[str, RunResult]
    documents: dict[str, dict]  # run name -> its results document
    rows: list[Measured]
    wall: dict[str, float]  # run name -> the wall-clock seconds it took, when it ran (now or before)

    @property
    def training_seconds(self) -> float:
        """Training and evaluation of every run, by the runs' own stopwatch (shared.timing)."""
        return sum(run_seconds(document) for document in self.documents.values())

    @property
    def wall_seconds(self) -> float | None:
        """Wall-clock time of all the runs, each when it ran (None when one's is not known)."""
        return sum(self.wall[name] for name in self.runs) if set(self.runs) <= set(self.wall) else None


def run_seconds(document: dict) -> float:
    return sum(e["train_seconds"] + e["eval_seconds"] for impl in document["implementations"] for e in impl["epochs"])


class ExperimentFailed(Exception):
    """A run failed, or a finished run cannot be read: one line naming it."""


def specs(experiment: Experiment, impl: str, extra: tuple[str, ...] = ()) -> list[RunSpec]:
    """The experiment's runs as `compare run` options: the book's settings, the implementation, and
    options every run shares (--data-dir, say)."""
    return [RunSpec(run.name, ("--impl", impl, *run.args, *extra)) for run in experiment.runs]


def root_of(reports_dir: Path, experiment: Experiment, impl: str) -> Path:
    return Path(reports_dir) / "experiments" / experiment.name / impl


def times_of(root: Path) -> Path:
    """Where the wall-clock time of each run is kept, beside the runs' folder (a run skipped
    later still has the time it took)."""
    return root.with_name(f"{root.name}-seconds.json")


def read_times(root: Path) -> dict[str, float]:
    try:
        times = json.loads(times_of(root).read_text())
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in times.items() if isinstance(v, (int, float))} if isinstance(times, dict) else {}


def conduct(experiment: Experiment, impl: str, reports_dir: Path, extra: tuple[str, ...] = (), workers: int = 1,
            scheduler: str | None = None, on_result: Callable[[RunResult], None] | None = None) -> Conducted:
    """Run what has not finished yet (SweepError and SweepInterrupted go through), then read every
    row. Raises ExperimentFailed when a run failed."""
    root = root_of(reports_dir, experiment, impl)
    planned = specs(experiment, impl, extra)
    wall = read_times(root)

    def finished(result: RunResult) -> None:
        if result.status == "done" and result.seconds is not None:
            wall[result.name] = result.seconds
            atomic_write_text(times_of(root), json.dumps(wall, indent=1) + "\n")
        if on_result is not None:
            on_result(result)

    results = {r.name: r for r in run_all(planned, root, workers=workers, scheduler=scheduler, on_result=finished)}
    failed = [r for r in results.values() if r.status == "failed"]
    if failed:
        raise ExperimentFailed("; ".join(f"run {r.name} failed: {r.reason}" for r in failed))
    documents = {}
    for name, result in results.items():
        try:
            documents[name] = load_results(result.path / "results.json")
        except ResultsError as error:
            raise ExperimentFailed(str(error)) from None
    return Conducted(experiment, impl, root, planned, results, documents, read_rows(experiment, documents), wall)


def read_rows(experiment: Experiment, documents: dict[str, dict]) -> list[Measured]:
    rows = []
    for row in experiment.rows:
        try:
            rows.append(Measured(row, row.reading.read(documents[row.run])))
        except (KeyError, TypeError, ValueError, StopIteration):
            raise ExperimentFailed(f"run {row.run}: its results hold no {row.reading.what} accuracy") from None
    return rows

"""Long runs print an estimate before they start and progress while they last."""

from __future__ import annotations

import numpy as np
import pytest

import compare.run.console as long_runs
from compare.run.console import ProgressLines, announce
from impls import build
from shared.config import Config
from shared.params import init_params
from shared.training import Split, estimate_training, format_duration


def small_split(count=200, inputs=12, classes=3, seed=0) -> Split:
    rng = np.random.default_rng(seed)
    return Split(rng.random((count, inputs)), rng.integers(0, classes, count),
                 rng.random((50, inputs)), rng.integers(0, classes, 50))


@pytest.mark.parametrize("seconds,text", [(0.4, "0 s"), (45, "45 s"), (250, "4 min 10 s"), (7500, "2 h 05 min")])
def test_durations_read_like_a_person_writes_them(seconds, text):
    assert format_duration(seconds) == text


def test_the_estimate_scales_a_short_probe_to_every_epoch():
    config = Config(sizes=(12, 5, 3), batch_size=10, epochs=4)
    params = init_params(config.sizes)
    estimate = estimate_training(build("autograd", config, params), small_split(), config, budget_seconds=0.05)
    assert estimate.seconds > 0 and estimate.train_rate > 0
    assert 10 <= estimate.probe_samples <= 20  # at most a tenth of the epoch, the untimed warm-up not counted
    # Four epochs at the probe's rate, and the evaluations on top.
    assert estimate.seconds >= 4 * 200 / estimate.train_rate


def test_short_runs_are_not_probed_and_long_ones_say_how_long(monkeypatch):
    config = Config(sizes=(12, 5, 3), batch_size=10, epochs=2)
    params = init_params(config.sizes)
    lines = []
    assert announce("scratch", config, params, small_split(), lines.append) is False
    assert lines == []  # 400 samples: below the size that is worth a probe
    monkeypatch.setattr(long_runs, "PROBE_MIN_SAMPLES", 0)
    monkeypatch.setattr(long_runs, "LONG_SECONDS", 0.0)
    assert announce("scratch", config, params, small_split(), lines.append) is True
    assert len(lines) == 1 and "estimated time: about" in lines[0] and "2 epochs of 200 images" in lines[0]


def test_progress_lines_every_tenth_of_an_epoch_with_rate_and_time_left(monkeypatch):
    clock = iter(np.arange(0.0, 1000.0, 1.0))  # one second between reports
    monkeypatch.setattr(long_runs.time, "perf_counter", lambda: float(next(clock)))
    lines = []
    monkeypatch.setattr(ProgressLines, "LINE_SECONDS", 0.0)  # every tenth, however short (throttling below)
    progress = ProgressLines("autograd", lines.append)
    for epoch in range(2):
        for done in range(20, 1001, 20):  # 50 reports an epoch, as shared.training makes them
            progress.update(done, 1000, 0.5)
    assert len(lines) == 2 * 9  # 10% ... 90%, not at 100%: the epoch line follows
    assert lines[0] == "  autograd: 10% of the epoch, 20 images/s, about 45 s left in it, loss 0.5000"
    assert lines[9].startswith("  autograd: 10% of the epoch, 20 images/s")  # the second epoch starts afresh


def test_an_epoch_shorter_than_the_line_interval_prints_no_progress_lines():  # issue 22.7
    clock = iter(np.arange(0.0, 10_000.0, 0.1))  # 0.1 s between reports: 5 s epochs
    lines = []
    progress = ProgressLines("numpy", lines.append, clock=lambda: float(next(clock)))
    for epoch in range(30):
        for done in range(20, 1001, 20):
            progress.update(done, 1000, 0.5)
    assert lines == []  # it was 9 lines an epoch, 270 for 30 epochs


def test_progress_lines_of_a_long_epoch_are_at_least_the_interval_apart():  # issue 22.7
    now = [0.0]
    lines, times = [], []
    progress = ProgressLines("scratch", lambda line: (lines.append(line), times.append(now[0])), clock=lambda: now[0])
    for done in range(20, 1001, 20):  # a 100 s epoch: a tenth every 10 s
        now[0] += 2.0
        progress.update(done, 1000, 0.5)
    assert 4 <= len(lines) <= 7
    assert all(b - a >= ProgressLines.LINE_SECONDS for a, b in zip(times, times[1:]))

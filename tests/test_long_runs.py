"""Long runs print an estimate before they start and progress while they last."""

from __future__ import annotations

import numpy as np
import pytest

import compare.run.console as long_runs
from compare.run.console import ProgressLines, announce
from impls import build
from shared.config import Config
from shared.params import init_params
from shared.training import PROBE_SLICES, Split, estimate_training, format_duration


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
    # at most a tenth of the epoch, or one step for each of the slices, the untimed warm-up not counted
    assert 10 <= estimate.probe_samples <= max(20, PROBE_SLICES * 10)
    # Four epochs at the probe's rate, and the evaluations on top.
    assert estimate.seconds >= 4 * 200 / estimate.train_rate


def test_short_runs_are_not_probed_and_long_ones_say_how_long(monkeypatch):
    config = Config(sizes=(12, 5, 3), batch_size=10, epochs=2)
    params = init_params(config.sizes)
    lines = []
    assert not long_runs.worth_probing(config, small_split())  # 400 samples: below the size worth a probe
    assert announce("scratch", config, small_split(), None, lines.append) is False and lines == []
    estimate = estimate_training(build("scratch", config, params), small_split(), config, budget_seconds=0.05)
    monkeypatch.setattr(long_runs, "LONG_SECONDS", 0.0)
    assert announce("scratch", config, small_split(), estimate, lines.append) is True
    assert len(lines) == 1 and "estimated time: about" in lines[0] and "2 epochs of 200 images" in lines[0]


class Clocked:
    """A model whose steps take what `pace(step)` says on a fake clock: what a probe sees."""

    def __init__(self, pace, load_per_row=None):
        self.now, self.pace, self.steps, self.load_per_row = 0.0, pace, 0, load_per_row

    def clock(self):
        return self.now

    def train_step(self, x, y, lr):
        self.now += self.pace(self.steps)
        self.steps += 1
        return 0.5

    def predict_proba(self, x):
        self.now += 1e-4 * len(x)
        return np.zeros((len(x), 3))


class ClockedLoader(Clocked):
    def load_training_set(self, x, y):
        self.now += self.load_per_row * len(x)
        self.rows = len(x)

    def train_step_at(self, indices, lr):
        assert indices.max() < self.rows  # only the rows it was given
        return self.train_step(None, None, lr)


def big_split(count=60_000):
    return Split(np.zeros((count, 2)), np.zeros(count, dtype=np.int64), np.zeros((10_000, 2)), np.zeros(10_000))


def test_the_estimate_ignores_slow_first_steps_and_a_busy_moment():
    """Issue 22.8: the estimates were about 2x off. Steps of 10 ms after three slow ones and with
    a busy stretch in the middle: the estimate is the steady 10 ms a step, not their mean."""
    def pace(step):
        return 0.5 if step < 3 else (0.1 if 40 <= step < 60 else 0.01)

    model = Clocked(pace)
    config = Config(sizes=(2, 3, 3), batch_size=10, epochs=2)
    estimate = estimate_training(model, big_split(), config, budget_seconds=1.0, clock=model.clock)
    truth = 2 * (6000 * 0.01 + 10_000 * 1e-4)
    assert estimate.seconds == pytest.approx(truth, rel=0.02)
    assert estimate.train_rate == pytest.approx(1000, rel=0.02) and estimate.load_seconds == 0.0
    mean_pace = (sum(pace(s) for s in range(3 + estimate.probe_samples // 10))) / (estimate.probe_samples // 10)
    assert mean_pace > 1.5 * 0.01  # what a probe's mean said


def test_a_model_that_takes_the_training_set_once_is_probed_that_way_and_its_load_counted():
    model = ClockedLoader(lambda step: 0.01, load_per_row=1e-4)
    config = Config(sizes=(2, 3, 3), batch_size=10, epochs=1)
    estimate = estimate_training(model, big_split(), config, budget_seconds=0.5, clock=model.clock)
    assert model.rows == 6000  # a tenth of the set loaded for the probe
    assert estimate.load_seconds == pytest.approx(60_000 * 1e-4)
    assert estimate.seconds == pytest.approx(6000 * 0.01 + 1.0 + 6.0, rel=0.02)


def test_the_whole_runs_time_is_said_before_it_starts():
    from shared.training import Estimate

    estimates = {"scratch": Estimate(70.0, 900.0, 500), "autograd": Estimate(276.0, 230.0, 200),
                 "numpy": Estimate(1.0, 1e5, 1000)}
    assert long_runs.run_estimate_line(estimates) == (
        "\nEstimated time: about 5 min 47 s for the whole run (scratch 1 min 10 s, autograd 4 min 36 s, numpy 1 s), "
        "from a short probe of each on this machine as it is now")
    assert long_runs.run_estimate_line({"numpy": Estimate(3.0, 1e5, 1000)}) is None
    busy = long_runs.run_estimate_line(estimates, "load 9.3 on 2 cores")
    assert busy.endswith("on this machine as it is now (load 9.3 on 2 cores: it may be far off)")


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


def test_presets_say_how_long_each_takes_here(monkeypatch):  # issue 22.8
    from click.testing import CliRunner

    import compare.run.comparison as comparison
    import compare.run.machine as machine
    from compare.cli import main
    from shared.training import Estimate

    probed = []

    def probe_each(impls, config, params, split, threads):
        probed.append((config.epochs, tuple(impls)))
        return {name: Estimate(60.0 * config.epochs, 1000.0, 500) for name in impls}

    monkeypatch.setattr(comparison, "probe_each", probe_each)
    monkeypatch.setattr(machine, "load_now", lambda: 0.5)
    listing = CliRunner().invoke(main, ["presets"]).output
    assert "takes about" not in listing and not probed  # the plain listing probes nothing
    result = CliRunner().invoke(main, ["presets", "--time"])
    assert result.exit_code == 0, result.output
    assert probed[0] == (3, ("scratch", "autograd", "numpy", "tensor", "torch"))
    assert ("takes about 15 min 00 s here for 3 epochs (scratch 3 min 00 s, autograd 3 min 00 s, numpy 3 min 00 s, "
            "tensor 3 min 00 s, torch 3 min 00 s), from a short probe of each implementation\n") in result.output
    assert "takes about 22 min 00 s here for 11 epochs (numpy 11 min 00 s, torch 11 min 00 s)" in result.output

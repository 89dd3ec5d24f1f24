"""Issue 18 part 1: `compare run` keeps the first implementation's training history beside its
results (history.npz, shared.history's format), from the initialization to the trained network."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from compare.cli import main
from impls import build
from shared.checkpoint import load_checkpoint
from shared.config import Config
from shared.history import load_history, snapshot_steps
from shared.params import init_params
from shared.training import prepare, train


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_a_run_keeps_its_history_from_step_0_to_the_trained_network(tmp_path):
    result = CliRunner().invoke(main, ["run", "--impl", "scratch,numpy", "--sizes", "784,8,10", "--train-limit", "600",
                                       "--test-limit", "300", "--epochs", "2", "--name", "h", "--seed", "3", "-q"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run = tmp_path / "reports" / "h"
    document = json.loads((run / "results.json").read_text())
    assert document["page"]["history"] == "history.npz"
    history = load_history(run / "history.npz")
    assert history.impl == "scratch"  # the first implementation's
    assert history.steps == snapshot_steps(60, 2) == [0, 1, 2, 5, 10, 20, 50, 60, 120]
    initial = init_params([784, 8, 10], "nielsen", 3)
    for (W, b), (W0, b0) in zip(history.snapshots[0].params, initial):
        np.testing.assert_array_equal(W, W0)  # step 0 is the initialization itself
        np.testing.assert_array_equal(b, b0)
    final = load_checkpoint(run / "model.npz").params
    for (W, b), (Wf, bf) in zip(history.snapshots[-1].params, final):
        np.testing.assert_array_equal(W, Wf)  # the last step is the trained network the page shows
        np.testing.assert_array_equal(b, bf)
    epochs = [e for r in document["implementations"] if r["name"] == "scratch" for e in r["epochs"]]
    for snapshot, epoch in zip([s for s in history.snapshots if s.step in (60, 120)], epochs):
        assert abs(snapshot.test_accuracy - epoch["test_accuracy"]) <= 1 / 300  # numpy's float64 pass: same network
        assert snapshot.test_loss == pytest.approx(epoch["test_loss"], rel=1e-9)
    accuracies = [s.test_accuracy for s in history.snapshots]
    assert accuracies[-1] > accuracies[0] + 0.3  # from chance to learned


def test_recording_a_history_is_not_counted_as_training_time(mnist):
    config = Config(sizes=[784, 8, 10], epochs=1, batch_size=10, train_limit=200, test_limit=100)
    model = build("numpy", config, init_params(config.sizes, config.init, config.seed))
    split = prepare(mnist, config)
    stats = train(model, split, config, at_steps=[5, 10], on_step=lambda step: time.sleep(0.3)).history[0]
    assert stats.train_seconds < 0.3  # two hooks slept 0.6 s inside the timed loop

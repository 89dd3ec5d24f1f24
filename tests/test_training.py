"""The shared training loop: it learns, it is reproducible, it times, it fails loudly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from impls import build
from shared.config import Config
from shared.health import probe
from shared.params import init_params
from shared.training import TrainingDiverged, evaluate, mean_loss, prepare, train


def test_a_short_run_learns(mnist):
    """One epoch on 5,000 images is enough to pass 85% on the test set."""
    config = Config(epochs=1, train_limit=5000)
    model = build("numpy", config, init_params(config.sizes, config.init, config.seed))
    (stats,) = train(model, prepare(mnist, config), config).history
    assert stats.test_accuracy > 0.85
    assert stats.train_samples == 5000
    assert stats.train_seconds > 0 and stats.eval_seconds > 0
    assert stats.samples_per_second == pytest.approx(5000 / stats.train_seconds)


def test_epochs_continue_from_start_epoch_and_callback_sees_each(mnist):
    config = Config(epochs=2, train_limit=200, test_limit=100, sizes=(784, 8, 10))
    seen = []
    model = build("numpy", config, init_params(config.sizes))
    run = train(model, prepare(mnist, config), config, start_epoch=4, on_epoch=seen.append)
    assert [e.epoch for e in run.history] == [4, 5] == [end.stats.epoch for end in seen]
    # Each epoch's parameters and test outputs, fetched once and handed on: the run ends with the last.
    assert all(a is b for a, b in zip(run.params[0], seen[-1].params[0])) and run.test_outputs is seen[-1].test_outputs
    assert seen[-1].health.images == 200 and seen[-1].health.problem() is None
    assert run.test_outputs.shape == (100, 10)


def test_same_config_same_result(mnist):
    config = Config(epochs=1, train_limit=300, test_limit=200, sizes=(784, 8, 10))
    results = []
    for _ in range(2):
        model = build("numpy", config, init_params(config.sizes, config.init, config.seed))
        run = train(model, prepare(mnist, config), config)
        results.append((run.history[0].train_loss, model.parameters()[0][0]))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_divergence_stops_with_epoch_step_and_advice(mnist):
    config = Config(sizes=(784, 30, 10), activation="relu", init="he", lr=1e150, epochs=1, train_limit=200, test_limit=10)
    model = build("numpy", config, init_params(config.sizes, "he"))
    with pytest.raises(TrainingDiverged) as caught:
        train(model, prepare(mnist, config), config)
    message = str(caught.value)
    assert "numpy: the loss became nan at epoch 1, step" in message and "lower learning rate" in message


class NaNAfter:
    """A stand-in model whose loss turns to NaN at a chosen step."""

    name = "stand-in"

    def __init__(self, config, bad_step):
        self.config, self.bad_step, self.steps = config, bad_step, 0

    def train_step(self, x, y, lr):
        self.steps += 1
        return math.nan if self.steps == self.bad_step else 1.0

    def predict_proba(self, x):
        return np.full((len(x), 10), 0.1)

    def parameters(self):
        return init_params(self.config.sizes)


def test_divergence_names_the_exact_epoch_and_step(mnist):
    config = Config(epochs=3, train_limit=100, batch_size=10)  # 10 steps per epoch
    with pytest.raises(TrainingDiverged, match="at epoch 2, step 4;"):
        train(NaNAfter(config, bad_step=14), prepare(mnist, config), config)


def test_mean_loss_from_outputs_matches_the_implementations(mnist):
    for loss in ("cross-entropy", "mse"):
        config = Config(loss=loss, sizes=(784, 12, 10))
        model = build("numpy", config, init_params(config.sizes))
        x = mnist.test_images[:50].reshape(50, -1) / 255.0
        y = mnist.test_labels[:50].astype(np.int64)
        reported, accuracy, outputs = evaluate(model, x, y)
        assert reported == pytest.approx(model.loss_and_gradients(x, y)[0], rel=1e-12)
        assert accuracy == np.mean(outputs.argmax(1) == y)


def test_mean_loss_of_a_certain_wrong_answer_is_finite():
    outputs = np.array([[1.0, 0.0]])
    assert math.isfinite(mean_loss(outputs, np.array([1]), "cross-entropy"))


def test_cosine_schedule_decays_from_lr_to_zero():
    from shared.training import learning_rate

    cosine = Config(lr=0.2, schedule="cosine")
    assert learning_rate(cosine, 0, 100) == pytest.approx(0.2)
    assert learning_rate(cosine, 50, 100) == pytest.approx(0.1)
    assert learning_rate(cosine, 99, 100) < 0.001
    assert learning_rate(Config(lr=0.2), 99, 100) == 0.2


def test_momentum_and_weight_decay_change_the_path(mnist):
    base = Config(sizes=(784, 8, 10), epochs=1, train_limit=300, test_limit=50, lr=0.1)
    finals = []
    for changes in ({}, {"momentum": 0.9}, {"weight_decay": 0.1}):
        config = base.with_changes(**changes)
        model = build("numpy", config, init_params(config.sizes))
        train(model, prepare(mnist, config), config)
        finals.append(model.parameters()[0][0])
    assert not np.allclose(finals[0], finals[1]) and not np.allclose(finals[0], finals[2])
    # Weight decay pulls the weights towards zero.
    assert np.abs(finals[2]).sum() < np.abs(finals[0]).sum()


# -- what "diverged" means (shared/divergence.py), for every activation and loss -------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("activation,loss,lr,words", [
    ("relu", "cross-entropy", 1e6, "the training loss rose to"),  # the case: loss 8e20, exit 0
    ("sigmoid", "cross-entropy", 1e300, "the training loss rose to"),
    ("tanh", "cross-entropy", 1e300, "the training loss rose to"),
    ("sigmoid", "cross-entropy", 300, "the training loss rose to"),  # the README's example
    ("sigmoid", "mse", 1e300, "the network ignores its input"),  # quadratic cost: bounded, so no blow-up shows
    ("tanh", "mse", 300, "the network ignores its input"),
    ("relu", "mse", 1e6, "the network ignores its input"),
])
def test_a_blown_up_run_is_stopped_for_every_activation_and_loss(mnist, activation, loss, lr, words):
    config = Config(activation=activation, loss=loss, lr=lr, epochs=1, train_limit=2000, test_limit=500)
    model = build("numpy", config, init_params(config.sizes, config.init, config.seed))
    saved = []
    with pytest.raises(TrainingDiverged) as caught:
        train(model, prepare(mnist, config), config, on_epoch=saved.append)
    message = str(caught.value)
    # At lr 1e300 the weights reach the float range's end within a few steps, and whether the
    # loss is first seen rising or already NaN turns on the last bits of the arithmetic.
    said = words in message or (lr == 1e300 and "the loss became nan" in message)
    assert said and f"lower learning rate than {lr:g}" in message, message
    assert saved == []  # stopped before the epoch could be saved


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_first_epoch_at_chance_after_the_loss_blew_up_is_divergence(mnist):
    """relu lr 20, seed 3: the loss peaks ~16x above the line in epoch 1, falls back, and the
    epoch ends at chance (9.8%); its units all die only in epoch 2. Epoch 1 is not a good epoch."""
    config = Config(activation="relu", lr=20.0, seed=3, epochs=2, train_limit=2000, test_limit=1000)
    model = build("numpy", config, init_params(config.sizes, config.init, config.seed))
    saved = []
    with pytest.raises(TrainingDiverged) as caught:
        train(model, prepare(mnist, config), config, on_epoch=saved.append)
    message = str(caught.value)
    assert "the training loss rose to" in message and "after epoch 1 the test accuracy is" in message, message
    assert saved == []  # nothing at chance is kept as "the last good epoch"


def test_chance_is_divergence_only_after_the_loss_blew_up():
    """A run that has not learned yet (or never will) is not diverged unless its loss blew up."""
    from shared.divergence import DivergenceWatch

    labels = np.arange(1000) % 10
    params, x = init_params((784, 8, 10)), np.random.default_rng(0).random((50, 784))
    watch = DivergenceWatch("numpy", "cross-entropy", 10, labels)
    watch.step(2.3, 1, 1, 10.0)
    watch.window(10.0, 1, 10, 10.0)  # high (sigmoid lr 10 peaks at half the line), not above it
    watch.epoch_end(1, 2.3, 0.10, params, probe(params, x, "sigmoid", "cross-entropy"), 10.0)
    watch.window(500.0, 2, 10, 10.0)  # one spike, and the epoch ends above chance: learning
    watch.epoch_end(2, 2.0, 0.30, params, probe(params, x, "sigmoid", "cross-entropy"), 10.0)
    with pytest.raises(TrainingDiverged, match=r"rose to 500 in epoch 2, .* after epoch 3 the test accuracy is 10.50%"):
        watch.epoch_end(3, 2.3, 0.105, params, probe(params, x, "sigmoid", "cross-entropy"), 10.0)


@pytest.mark.parametrize("activation,loss,init,lr", [
    ("sigmoid", "mse", "nielsen-large", 3.0),  # chapter 1: many saturated units at first, and learning
    ("relu", "cross-entropy", "he", 0.1),
    ("tanh", "mse", "xavier", 3.0),
    ("sigmoid", "cross-entropy", "nielsen", 0.5),
])
def test_healthy_runs_are_not_called_diverged(mnist, activation, loss, init, lr):
    config = Config(activation=activation, loss=loss, init=init, lr=lr, epochs=2, train_limit=2000, test_limit=500)
    run = train(build("numpy", config, init_params(config.sizes, init)), prepare(mnist, config), config)
    assert run.history[-1].test_accuracy > 0.4


def test_every_dead_relu_unit_is_divergence():
    x = np.random.default_rng(0).random((100, 784))
    params = init_params((784, 8, 10), "he")
    assert probe(params, x, "relu", "cross-entropy").problem() is None
    dead = [(params[0][0], np.full(8, -1e3)), params[1]]
    assert "every unit of hidden layer 1 is dead (ReLU output 0 for all 100 probe images)" in probe(
        dead, x, "relu", "cross-entropy").problem()
    stuck = [(params[0][0], np.full(8, 1e3)), params[1]]
    assert "stuck on a flat end of its sigmoid" in probe(stuck, x, "sigmoid", "mse").problem()
    constant = [params[0], (np.zeros((10, 8)), np.zeros(10))]
    assert "the outputs are the same for all 100 probe images" in probe(constant, x, "relu", "mse").problem()


def test_accuracy_collapsing_from_a_good_epoch_to_chance_is_divergence():
    from shared.divergence import DivergenceWatch

    labels = np.arange(1000) % 10
    params = init_params((784, 8, 10))
    x = np.random.default_rng(0).random((50, 784))
    watch = DivergenceWatch("numpy", "cross-entropy", 10, labels, best_accuracy=0.67, best_epoch=1)
    watch.epoch_end(2, 0.5, 0.60, params, probe(params, x, "sigmoid", "cross-entropy"), 0.5)  # worse, but learning: fine
    with pytest.raises(TrainingDiverged, match=r"fell from 67.00% \(epoch 1\) to 11.60% after epoch 3"):
        watch.epoch_end(3, 2.3, 0.116, params, probe(params, x, "sigmoid", "cross-entropy"), 0.5)
    never_good = DivergenceWatch("numpy", "cross-entropy", 10, labels)
    never_good.epoch_end(1, 2.3, 0.3, params, probe(params, x, "sigmoid", "cross-entropy"), 0.5)
    never_good.epoch_end(2, 2.3, 0.1, params, probe(params, x, "sigmoid", "cross-entropy"), 0.5)  # never good: not a collapse


def test_a_single_loss_spike_is_not_divergence():
    from shared.divergence import DivergenceWatch

    watch = DivergenceWatch("numpy", "cross-entropy", 10, np.arange(10))
    watch.step(2.3, 1, 1, 0.5)
    watch.window(2.0, 1, 10, 0.5)
    watch.window(500.0, 1, 20, 0.5)  # one window far above: a spike
    watch.window(1.5, 1, 30, 0.5)
    watch.window(500.0, 1, 40, 0.5)
    with pytest.raises(TrainingDiverged, match="stayed above 10x the first batch's 2.3"):
        watch.window(600.0, 1, 50, 0.5)


def test_on_step_is_called_at_the_chosen_global_steps_with_the_params_of_that_step(mnist):
    config = Config(epochs=2, train_limit=100, test_limit=10, batch_size=10, sizes=(784, 8, 10))  # 10 steps/epoch
    model = build("numpy", config, init_params(config.sizes))
    seen = {}
    start = [w.copy() for w in model.parameters()[0]]
    train(model, prepare(mnist, config), config, at_steps={0, 1, 5, 10, 20, 99},
          on_step=lambda step: seen.__setitem__(step, [w.copy() for w in model.parameters()[0]]))
    assert sorted(seen) == [0, 1, 5, 10, 20]  # 99 is past the run: never called
    assert all(np.array_equal(a, b) for a, b in zip(seen[0], start))  # step 0: before any training
    assert not np.array_equal(seen[1][0], seen[5][0])  # later steps see moved parameters


def test_on_step_counts_steps_over_the_whole_run_when_resuming(mnist):
    config = Config(epochs=1, train_limit=100, test_limit=10, batch_size=10, sizes=(784, 8, 10))
    model = build("numpy", config, init_params(config.sizes))
    seen = []
    train(model, prepare(mnist, config), config, start_epoch=3, at_steps={0, 5, 20, 21, 30}, on_step=seen.append)
    assert seen == [20, 21, 30]  # epoch 3 is global steps 21..30, started from step 20; no step 0


def test_history_recorder_keeps_snapshot_steps_with_test_scores_and_round_trips(mnist, tmp_path):
    from shared.history import load_history, save_history
    from shared.training import HistoryRecorder

    config = Config(epochs=2, train_limit=100, test_limit=50, batch_size=10, sizes=(784, 8, 10))
    model = build("numpy", config, init_params(config.sizes))
    split = prepare(mnist, config)
    recorder = HistoryRecorder(model, split, config)
    run = train(model, split, config, at_steps=recorder.steps, on_step=recorder.on_step)
    history = recorder.history()
    assert history.steps == [0, 1, 2, 5, 10, 20]
    last = history.snapshots[-1]
    assert last.epoch == 2.0 and last.test_accuracy == run.history[-1].test_accuracy
    save_history(tmp_path / "history.npz", history)
    again = load_history(tmp_path / "history.npz")
    assert again.steps == history.steps and np.array_equal(again.snapshots[3].params[0][0], history.snapshots[3].params[0][0])

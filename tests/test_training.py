"""The shared training loop: it learns, it is reproducible, it times, it fails loudly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from impls import build
from shared.config import Config
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
    assert [e.epoch for e in run.history] == [4, 5] == [e.epoch for e in seen]
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

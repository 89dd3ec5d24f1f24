"""Trained side by side from the same parameters on the same batches, all the
implementations must end as the same network (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import available_impls
from impls import REGISTRY, build
from shared.config import Config
from shared.params import init_params, max_abs_difference
from shared.training import prepare, train

LOCKSTEP = dict(sizes=(784, 16, 16, 10), epochs=2, train_limit=500, test_limit=1000, batch_size=10, lr=0.5)


@pytest.mark.parametrize(
    "activation,loss,init,optimizer",
    [
        ("sigmoid", "cross-entropy", "nielsen", {}),
        ("sigmoid", "mse", "nielsen", {}),
        ("relu", "cross-entropy", "he", {"momentum": 0.9, "weight_decay": 1e-3, "schedule": "cosine", "lr": 0.05}),
        ("tanh", "mse", "xavier", {"momentum": 0.5}),
        ("sigmoid", "cross-entropy", "xavier", {"weight_decay": 0.01}),
    ],
)
def test_lockstep_training_ends_with_the_same_network(mnist, activation, loss, init, optimizer):
    config = Config(activation=activation, loss=loss, init=init, **(LOCKSTEP | optimizer))
    params = init_params(config.sizes, config.init, config.seed)
    split = prepare(mnist, config)
    runs = {}
    for name in available_impls():
        model = build(name, config, params)
        runs[name] = (train(model, split, config), model.parameters())
    reference_run, reference_params = runs["numpy"]
    predictions = reference_run.test_outputs.argmax(axis=1)
    for name, (run, trained) in runs.items():
        assert max_abs_difference(trained, reference_params) <= 1e-9, name
        np.testing.assert_array_equal(run.test_outputs.argmax(axis=1), predictions)
        np.testing.assert_allclose(run.test_outputs, reference_run.test_outputs, rtol=0, atol=1e-9)
        assert [e.train_loss for e in run.history] == pytest.approx([e.train_loss for e in reference_run.history], rel=1e-10)
    # It really trained: the parameters moved and the loss went down.
    assert max_abs_difference(reference_params, params) > 0.1
    assert reference_run.history[1].train_loss < reference_run.history[0].train_loss


def test_float32_stays_close_to_float64(mnist):
    config = Config(**LOCKSTEP)
    params = init_params(config.sizes, config.init, config.seed)
    split64 = prepare(mnist, config)
    split32 = prepare(mnist, config.with_changes(dtype="float32"))
    assert split32.x_train.dtype == np.float32
    names = [n for n in available_impls() if not REGISTRY[n].python_floats]
    for name in names:
        m64 = build(name, config, params)
        m32 = build(name, config.with_changes(dtype="float32"), params)
        r64, r32 = train(m64, split64, config), train(m32, split32, config.with_changes(dtype="float32"))
        assert max_abs_difference(m64.parameters(), m32.parameters()) < 1e-3
        assert m32.parameters()[0][0].dtype == np.float64  # handed back in the neutral format
        agree = np.mean(r64.test_outputs.argmax(1) == r32.test_outputs.argmax(1))
        assert agree > 0.99

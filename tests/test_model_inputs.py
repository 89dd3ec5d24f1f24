"""Config, parameters and batches are checked at the boundary, with messages."""

from __future__ import annotations

import numpy as np
import pytest

from impls import NAMES, build
from shared.config import Config, ConfigError, parse_sizes
from shared.params import check_params, init_params


def test_parse_sizes():
    assert parse_sizes("784,16,16,10") == (784, 16, 16, 10)
    assert parse_sizes("784-30-10") == (784, 30, 10)
    for bad in ("784", "784,,10", "a,b", "784,-3,10"):
        with pytest.raises(ConfigError):
            parse_sizes(bad)


@pytest.mark.parametrize(
    "changes,field",
    [({"lr": 0}, "lr"), ({"lr": float("nan")}, "lr"), ({"batch_size": 0}, "batch_size"), ({"epochs": 1.5}, "epochs"),
     ({"activation": "gelu"}, "activation"), ({"loss": "hinge"}, "loss"), ({"init": "zeros"}, "init"),
     ({"dtype": "float16"}, "dtype"), ({"sizes": (784,)}, "sizes"), ({"seed": -1}, "seed"), ({"train_limit": 0}, "train_limit")],
)
def test_config_rejects_bad_values(changes, field):
    with pytest.raises(ConfigError) as caught:
        Config(**changes)
    assert caught.value.field == field


@pytest.mark.parametrize("init,weight_std,bias_std", [("nielsen", 1 / np.sqrt(400), 1.0), ("xavier", np.sqrt(2 / 600), 0.0), ("he", np.sqrt(2 / 400), 0.0)])
def test_initializers_have_the_documented_scale(init, weight_std, bias_std):
    (W, b), _ = init_params((400, 200, 10), init, seed=0)
    assert W.shape == (200, 400) and b.shape == (200,) and W.dtype == np.float64
    assert W.std() == pytest.approx(weight_std, rel=0.02)
    assert b.std() == pytest.approx(bias_std, abs=0.15)
    assert abs(W.mean()) < 0.01 * max(weight_std, 1e-3) * 10


def test_initialization_is_seeded():
    a, b, c = init_params((5, 4, 3), seed=1), init_params((5, 4, 3), seed=1), init_params((5, 4, 3), seed=2)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    assert not np.array_equal(a[0][0], c[0][0])


def test_check_params_messages():
    params = init_params((5, 4, 3))
    check_params(params, (5, 4, 3))
    with pytest.raises(ValueError, match="expected 2"):
        check_params(params[:1], (5, 4, 3))
    with pytest.raises(ValueError, match=r"layer 2: W has shape \(3, 4\), expected \(3, 5\)"):
        check_params([init_params((5, 5))[0], (np.zeros((3, 4)), np.zeros(3))], (5, 5, 3))
    with pytest.raises(ValueError, match="float64"):
        check_params([(W.astype(np.float32), b) for W, b in params], (5, 4, 3))
    broken = [(W.copy(), b.copy()) for W, b in params]
    broken[1][1][0] = np.nan
    with pytest.raises(ValueError, match="layer 2: b holds NaN"):
        check_params(broken, (5, 4, 3))


@pytest.mark.parametrize("name", NAMES)
def test_implementations_check_their_inputs(name):
    if name == "torch":
        pytest.importorskip("torch")
    config = Config(sizes=(6, 4, 3))
    with pytest.raises(ValueError, match="expected 2"):
        build(name, config, init_params((6, 3)))
    with pytest.raises(TypeError):
        build(name, {"sizes": (6, 4, 3)}, init_params((6, 4, 3)))
    model = build(name, config, init_params(config.sizes))
    x = np.zeros((2, 6))
    with pytest.raises(ValueError, match=r"shape \(batch, 6\)"):
        model.predict_proba(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        model.loss_and_gradients(x, np.array([0, 3]))
    with pytest.raises(ValueError, match="2 labels"):
        model.train_step(x, np.array([0]), 0.1)
    with pytest.raises(ValueError, match="integer class labels"):
        model.loss_and_gradients(x, np.array([0.0, 1.0]))
    probabilities = model.predict_proba(np.random.default_rng(0).random((4, 6)))
    assert probabilities.shape == (4, 3) and probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)

"""Gradient agreement: scratch, autograd, numpy and torch against each other (1e-10) and each
against central finite differences of its own loss (1e-6), float64, per tensor."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import available_impls
from compare.check.gradients import FD_TOLERANCE, PAIR_TOLERANCE, check_gradients, format_agreement
from impls import build
from shared.config import ACTIVATIONS, LOSSES, Config
from shared.params import init_params

SHAPES = [
    (5, 3, 2),  # the smallest interesting network
    (13, 7, 5, 3, 4),  # three hidden layers, odd sizes
    (784, 16, 16, 10),  # 3Blue1Brown's network on real digits
]


def batch_for(sizes, mnist, count=6, seed=0):
    """Real digits for 784 inputs; otherwise random pixels in [0, 1], a third of them 0
    (blank pixels, which the scratch loop skips)."""
    if sizes[0] == 784 and sizes[-1] == 10:
        return mnist.train_images[:count].reshape(count, -1) / 255.0, mnist.train_labels[:count].astype(np.int64)
    rng = np.random.default_rng(seed)
    x = rng.random((count, sizes[0])) * (rng.random((count, sizes[0])) > 0.33)
    return x, rng.integers(0, sizes[-1], count)


@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("activation,loss", list(itertools.product(ACTIVATIONS, LOSSES)))
def test_all_implementations_agree(sizes, activation, loss, mnist):
    init = "he" if activation == "relu" else "nielsen"
    config = Config(sizes=sizes, activation=activation, loss=loss, init=init)
    params = init_params(sizes, init, seed=1)
    if activation == "relu":
        # He's zero biases put z exactly on the kink (z = b = 0) wherever a whole layer
        # before is silent; small biases keep most entries checkable.
        rng = np.random.default_rng(7)
        params = [(W, b + 0.1 * rng.standard_normal(b.shape)) for W, b in params]
    x, y = batch_for(sizes, mnist)
    impls = available_impls()
    result = check_gradients(config, params, x, y, impls, coordinates=6)
    report = format_agreement(result)
    assert len(next(iter(result.tensors)).pairs) == len(impls) * (len(impls) - 1) // 2
    assert result.worst_pair <= PAIR_TOLERANCE, report
    assert result.worst_finite_difference <= FD_TOLERANCE, report
    assert result.passed
    # Every tensor was actually checked against finite differences.
    for tensor in result.tensors:
        skipped = max(tensor.kinks_skipped.values())
        assert tensor.coordinates - skipped >= 1, report
    losses = list(result.losses.values())
    assert max(losses) - min(losses) <= 1e-12 * max(1.0, abs(losses[0]))


def test_a_broken_backpropagation_is_caught(monkeypatch, mnist):
    """Half of sigma' (a classic slip) must fail both the pair and the finite-difference check."""
    import impls.numpy_mlp as numpy_mlp

    sigmoid, _ = numpy_mlp.ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(numpy_mlp.ACTIVATIONS, "sigmoid", (sigmoid, lambda a: 0.5 * a * (1 - a)))
    config = Config(sizes=(13, 7, 5, 4))
    params = init_params(config.sizes, seed=2)
    x, y = batch_for(config.sizes, mnist)
    result = check_gradients(config, params, x, y, ["scratch", "numpy"], coordinates=6)
    assert not result.passed
    assert result.tensors[0].pairs["scratch~numpy"] > 1e-3
    assert result.tensors[0].finite_differences["numpy"] > 1e-3
    assert result.tensors[0].finite_differences["scratch"] <= FD_TOLERANCE


def test_a_wrong_local_derivative_in_the_engine_is_caught(monkeypatch, mnist):
    """autograd differentiates nothing by hand, but a slip in one of the engine's local
    derivatives (here the sigmoid's, halved) must fail the check just the same."""
    from impls.autograd_engine import Value

    def half_sigmoid(self):
        s = 1.0 / (1.0 + np.exp(-self.data))
        return Value(float(s), (self,), (0.5 * s * (1.0 - s),))

    monkeypatch.setattr(Value, "sigmoid", half_sigmoid)
    config = Config(sizes=(13, 7, 5, 4))
    x, y = batch_for(config.sizes, mnist)
    result = check_gradients(config, init_params(config.sizes, seed=2), x, y, ["scratch", "autograd"], coordinates=6)
    assert not result.passed
    assert result.tensors[0].pairs["scratch~autograd"] > 1e-3
    assert result.tensors[0].finite_differences["autograd"] > 1e-3


def test_a_summed_instead_of_averaged_gradient_is_caught(monkeypatch, mnist):
    import impls.numpy_mlp as numpy_mlp

    original = numpy_mlp.NumpyMLP.gradients

    def summed(self, x, y):
        loss, grads = original(self, x, y)
        return loss, [(gW * len(x), gb * len(x)) for gW, gb in grads]

    monkeypatch.setattr(numpy_mlp.NumpyMLP, "gradients", summed)
    config = Config(sizes=(5, 3, 2))
    x, y = batch_for(config.sizes, mnist)
    result = check_gradients(config, init_params(config.sizes), x, y, ["scratch", "numpy"])
    assert not result.passed


@pytest.mark.parametrize("name", ["scratch", "autograd", "numpy", "tensor", "torch"])
@pytest.mark.parametrize("loss,expected", [("cross-entropy", np.log(10)), ("mse", 1.25)])
def test_loss_is_the_batch_mean_and_starts_where_theory_says(name, loss, expected):
    """With all parameters zero every output is uniform: cross-entropy is ln 10 = 2.303
    and the quadratic cost 1/2 * 10 * 0.5^2 = 1.25 per image, whatever the batch size."""
    if name == "torch":
        pytest.importorskip("torch")
    config = Config(sizes=(20, 8, 10), loss=loss)
    params = [(np.zeros_like(W), np.zeros_like(b)) for W, b in init_params(config.sizes)]
    rng = np.random.default_rng(0)
    for count in (1, 7, 32):
        x, y = rng.random((count, 20)), rng.integers(0, 10, count)
        value, _ = build(name, config, params).loss_and_gradients(x, y)
        assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", ["scratch", "autograd", "numpy", "tensor", "torch"])
def test_gradients_come_back_in_the_neutral_format(name):
    if name == "torch":
        pytest.importorskip("torch")
    config = Config(sizes=(6, 4, 3))
    params = init_params(config.sizes)
    model = build(name, config, params)
    _, grads = model.loss_and_gradients(np.random.default_rng(0).random((5, 6)), np.array([0, 1, 2, 0, 1]))
    for (W, b), (gW, gb) in zip(params, grads):
        assert gW.shape == W.shape and gb.shape == b.shape
        assert gW.dtype == np.float64 and gb.dtype == np.float64
    for (W, b), (W2, b2) in zip(params, model.parameters()):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)


def test_relu_kinks_are_skipped_not_failed():
    """Put a ReLU pre-activation exactly on its kink: the finite difference there is
    wrong by design and must be left out, not reported as a disagreement."""
    config = Config(sizes=(3, 2, 2), activation="relu", init="he")
    params = init_params(config.sizes, "he", seed=0)
    x = np.array([[0.5, 0.25, 1.0]])
    y = np.array([1])
    W1, b1 = params[0]
    b1[0] = -float(W1[0] @ x[0])  # z = 0 for hidden unit 0
    result = check_gradients(config, params, x, y, ["scratch", "numpy"], coordinates=10)
    assert result.passed, format_agreement(result)
    assert sum(result.tensors[1].kinks_skipped.values()) >= 1  # b1[0] sits on the kink


def test_scratch_takes_blank_and_one_pixel_images():
    """The scratch loop gathers each image's non-zero pixels with itemgetter, which needs two
    or more; a blank image and a one-pixel image go the other way and still match numpy,
    in the gradient, in predict_proba, and in a step on the kept training set."""
    config = Config(sizes=(6, 4, 3), loss="cross-entropy")
    params = init_params(config.sizes, seed=3)
    x = np.array([[0.0] * 6, [0, 0, 0.7, 0, 0, 0], [0.2, 0, 0.5, 1.0, 0, 0.3]])
    y = np.array([0, 2, 1])
    scratch, numpy = build("scratch", config, params), build("numpy", config, params)
    loss, grads = scratch.loss_and_gradients(x, y)
    expected_loss, expected = numpy.loss_and_gradients(x, y)
    assert loss == pytest.approx(expected_loss, rel=1e-14)
    for (gW, gb), (eW, eb) in zip(grads, expected):
        np.testing.assert_allclose(gW, eW, rtol=0, atol=1e-15)
        np.testing.assert_allclose(gb, eb, rtol=0, atol=1e-15)
    np.testing.assert_allclose(scratch.predict_proba(x), numpy.predict_proba(x), rtol=0, atol=1e-15)
    scratch.load_training_set(x, y)
    scratch.train_step_at(np.array([2, 0, 1]), 0.5)
    numpy.train_step(x[[2, 0, 1]], y[[2, 0, 1]], 0.5)
    for (W, b), (eW, eb) in zip(scratch.parameters(), numpy.parameters()):
        np.testing.assert_allclose(W, eW, rtol=0, atol=1e-15)
        np.testing.assert_allclose(b, eb, rtol=0, atol=1e-15)

"""The page's backpropagation (compare/report/page/learn.js), held to impls/numpy_mlp.py in a
real browser: the same gradients for one example and for a batch, and 100 SGD steps from the
same parameters on the same batches ending at the same network, within 1e-12.

`pytest tests/test_page_learning.py -s` prints the differences measured.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from compare.report.page import build_page, choose_samples
from impls.numpy_mlp import NumpyMLP
from shared.config import Config
from shared.data import scale_pixels
from shared.params import init_params, max_abs_difference
from test_page import browser, open_page  # noqa: F401 - the browser fixture, shared

# Each activation with each loss, at the learning rates this project trains them with.
CASES = [
    ("sigmoid", "mse", "nielsen", 3.0),
    ("sigmoid", "cross-entropy", "nielsen", 0.5),
    ("tanh", "mse", "nielsen", 0.5),
    ("tanh", "cross-entropy", "nielsen", 0.1),
    ("relu", "mse", "he", 0.1),
    ("relu", "cross-entropy", "he", 0.1),
]
SIZES = (784, 16, 16, 10)  # two hidden layers: BP2 runs twice
STEPS, BATCH = 100, 10

# JavaScript helpers handed to page.evaluate: bytes in, float64 out, as base64 both ways.
JS_HELPERS = """
  const bytesOf = (encoded) => Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  const pixels = (bytes, i) => Float64Array.from(bytes.subarray(784 * i, 784 * (i + 1)), (v) => v / 255);
  const base64 = (arrays) => {
    const values = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of arrays) { values.set(a, at); at += a.length; }
    const raw = new Uint8Array(values.buffer);
    let text = "";
    for (let i = 0; i < raw.length; i += 8192) text += String.fromCharCode(...raw.subarray(i, i + 8192));
    return btoa(text);
  };
  const copy = (model) => ({ ...model, layers: model.layers.map(({ W, b }) => ({ W: W.slice(), b: b.slice() })) });
"""


def encode(images: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(images, dtype=np.uint8).tobytes()).decode("ascii")


def params_from(encoded: str, sizes) -> list[tuple[np.ndarray, np.ndarray]]:
    """The JS arrays joined as W0, W1, ..., b0, b1, ...: back into (W, b) per layer."""
    values, params, at = np.frombuffer(base64.b64decode(encoded), dtype="<f8"), [], 0
    shapes = list(zip(sizes[1:], sizes[:-1]))
    Ws = []
    for rows, cols in shapes:
        Ws.append(values[at: at + rows * cols].reshape(rows, cols))
        at += rows * cols
    for (rows, _), W in zip(shapes, Ws):
        params.append((W, values[at: at + rows]))
        at += rows
    return params


def page_for(browser, tmp_path, mnist, config, params):
    samples = choose_samples(mnist.test_images[:100], mnist.test_labels[:100], mnist.test_labels[:100])
    path = tmp_path / "page.html"
    path.write_text(build_page(params, config, samples, "test"))
    return open_page(browser, path)


@pytest.fixture(scope="module")
def batches(mnist):
    rng = np.random.default_rng(18)
    indices = rng.choice(len(mnist.train_labels), size=(STEPS, BATCH), replace=False)
    return mnist.train_images[indices.reshape(-1)], mnist.train_labels[indices.reshape(-1)]


@pytest.mark.parametrize("activation,loss,init,lr", CASES)
def test_one_example_and_a_batch_give_numpys_gradients(browser, tmp_path, mnist, activation, loss, init, lr):  # noqa: F811
    config = Config(sizes=SIZES, activation=activation, loss=loss, init=init, dtype="float64")
    params = [(W, b + 0.1) for W, b in init_params(SIZES, init, seed=5)]
    images, labels = mnist.test_images[:20], mnist.test_labels[:20]
    page = page_for(browser, tmp_path, mnist, config, params)
    try:
        found = page.evaluate("([encoded, labels]) => {" + JS_HELPERS + """
            const net = window.mnistPage.model, bytes = bytesOf(encoded), out = [];
            for (let i = 0; i < 3; i++) {
              const r = backprop(net, pixels(bytes, i), labels[i]);
              // (BP3): for one example dC/db is delta itself, bit for bit.
              const same = r.deltas.every((d, l) => d.every((v, j) => v === r.gradB[l][j]));
              out.push({ loss: r.loss, grads: base64([...r.gradW, ...r.gradB]), same });
            }
            const xs = labels.map((_, i) => pixels(bytes, i)), batch = batchGradients(net, xs, labels);
            return { single: out, batch: { loss: batch.loss, grads: base64([...batch.gradW, ...batch.gradB]) } };
        }""", [encode(images), [int(v) for v in labels]])
        x = scale_pixels(images)
        worst = 0.0
        for i, single in enumerate(found["single"]):
            expected_loss, expected = NumpyMLP(config, params).loss_and_gradients(x[i: i + 1], labels[i: i + 1])
            assert single["same"]
            assert abs(single["loss"] - expected_loss) <= 1e-12
            worst = max(worst, max_abs_difference(params_from(single["grads"], SIZES), expected))
        expected_loss, expected = NumpyMLP(config, params).loss_and_gradients(x, labels)
        batch_difference = max_abs_difference(params_from(found["batch"]["grads"], SIZES), expected)
        print(f"\nlearn.js {activation}/{loss}: gradients vs numpy loss_and_gradients, max |difference| "
              f"{worst:.1e} (one example), {batch_difference:.1e} (batch of {len(labels)})")
        assert worst <= 1e-12 and batch_difference <= 1e-12
        assert abs(found["batch"]["loss"] - expected_loss) <= 1e-12
        assert page.errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("activation,loss,init,lr", CASES)
def test_100_sgd_steps_end_where_numpys_do(browser, tmp_path, mnist, batches, activation, loss, init, lr):  # noqa: F811
    config = Config(sizes=SIZES, activation=activation, loss=loss, init=init, dtype="float64")
    params = init_params(SIZES, init, seed=7)
    images, labels = batches
    page = page_for(browser, tmp_path, mnist, config, params)
    try:
        found = page.evaluate("([encoded, labels, lr, steps, size]) => {" + JS_HELPERS + """
            const net = copy(window.mnistPage.model), bytes = bytesOf(encoded), losses = [];
            for (let s = 0; s < steps; s++) {
              const xs = [], ys = labels.slice(s * size, (s + 1) * size);
              for (let i = 0; i < size; i++) xs.push(pixels(bytes, s * size + i));
              losses.push(sgdStep(net, xs, ys, lr));
            }
            return { losses, params: base64([...net.layers.map((l) => l.W), ...net.layers.map((l) => l.b)]) };
        }""", [encode(images), [int(v) for v in labels], lr, STEPS, BATCH])
        model, x, losses = NumpyMLP(config, params), scale_pixels(images), []
        for s in range(STEPS):
            rows = slice(s * BATCH, (s + 1) * BATCH)
            losses.append(model.train_step(x[rows], labels[rows], lr))
        shown = params_from(found["params"], SIZES)
        difference = max_abs_difference(shown, model.parameters())
        moved = max_abs_difference(shown, params)
        print(f"\nlearn.js {activation}/{loss}: {STEPS} SGD steps (batch {BATCH}, lr {lr}) vs numpy train_step, "
              f"parameters max |difference| {difference:.1e} (they moved {moved:.2f}); "
              f"losses {np.abs(np.subtract(found['losses'], losses)).max():.1e}")
        assert difference <= 1e-12
        assert moved > 0.1  # they did learn: the comparison could fail
        assert np.abs(np.subtract(found["losses"], losses)).max() <= 1e-12
        assert page.errors == []
    finally:
        page.context.close()

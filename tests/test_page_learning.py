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
from shared.checkpoint import load_checkpoint
from test_page import DIGITS, MODEL, browser, draw, invoke, open_page, page_path, run_directory, settled  # noqa: F401 - shared fixtures

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


# ---------------------------------------------------------------- the backprop view (issue 18 part 3)

PARAMS_JS = "() => {" + JS_HELPERS + """
    const layers = window.mnistPage.model.layers;
    return base64([...layers.map((l) => l.W), ...layers.map((l) => l.b)]);
}"""


def shown_params(page, sizes):
    return params_from(page.evaluate(PARAMS_JS), sizes)


def shown_input(page):
    return np.array(page.evaluate("() => Array.from(window.mnistPage.state.input)"))


def numpy_gradients(config, params, x, target):
    return NumpyMLP(config.with_changes(dtype="float64", device="cpu"), params).loss_and_gradients(x[None, :], np.array([target]))


def cell_colour(page, layer, index):
    """The RGB at the middle of a neuron's square on the picture (device pixels)."""
    return page.evaluate("""([layer, index]) => {
        const cell = window.mnistPage.state.layout.layers[layer].cells[index], canvas = document.getElementById("net");
        const ratio = canvas.width / canvas.clientWidth;
        return Array.from(canvas.getContext("2d").getImageData(Math.round((cell.x + cell.size / 2) * ratio),
                                                               Math.round((cell.y + cell.size / 2) * ratio), 1, 1).data).slice(0, 3);
    }""", [layer, index])


def shown_number(v: float) -> str:
    """A number as backprop.js's numberHtml writes it (three significant digits, x10^n when tiny), as text."""
    sign = "\u2212" if v < 0 else "+"
    if 1e-3 <= abs(v) < 1e4:
        return sign + f"{abs(v):#.3g}"
    mantissa, power = f"{abs(v):.2e}".split("e")
    return f"{sign}{mantissa}\u00d710{int(power)}".replace("10-", "10\u2212")


def click_neuron(page, layer, index):
    cell = page.evaluate(f"() => window.mnistPage.state.layout.layers[{layer}].cells[{index}]")
    page.locator("#net").click(position={"x": cell["x"] + cell["size"] / 2, "y": cell["y"] + cell["size"] / 2})
    assert page.evaluate("() => [window.mnistPage.state.selectedLayer, window.mnistPage.state.selected]") == [layer, index]


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(MODEL)


@pytest.fixture(scope="module")
def shipped_page(browser, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("page") / "page.html"
    result = invoke("page", MODEL, "--out", path)
    assert result.exit_code == 0, result.output
    page = open_page(browser, path)
    yield page
    assert page.requests.seen == [path.as_uri()] and page.requests.blocked == []  # learning asks nothing of the network
    page.context.close()


@pytest.fixture
def view(shipped_page):
    """The shipped page on its first sample, the first neuron selected, activations shown; no error may happen."""
    page = shipped_page
    page.evaluate("() => { window.mnistPage.putBack(); window.mnistPage.showSample(0); }")
    page.click("#show-activations")
    page.evaluate("() => { const s = window.mnistPage.state; s.selected = 0; s.selectedLayer = 0; window.mnistPage.update(); }")
    page.evaluate("() => { const rate = document.getElementById('learn-rate'); rate.value = rate.defaultValue; }")
    settled(page)
    yield page
    assert page.errors == []


def test_the_target_is_the_samples_label_or_the_answer_or_the_learners_choice(view, shipped):
    page = view
    labels = page.evaluate("() => window.mnistPage.model.samples.labels")
    assert page.evaluate("() => window.mnistPage.state.errors.target") == labels[0]
    assert "label of this test digit" in page.inner_text("#target-note")
    assert page.get_attribute(f"#targets button:nth-child({labels[0] + 1})", "aria-pressed") == "true"
    page.click("#targets button:nth-child(6)")
    assert page.evaluate("() => window.mnistPage.state.errors.target") == 5 and "your choice" in page.inner_text("#target-note")
    assert page.evaluate("() => window.mnistPage.state.view") == "errors"  # choosing a target shows the errors
    page.click("#clear")
    assert settled(page) is None and page.evaluate("() => window.mnistPage.state.errors") is None
    assert page.is_hidden("#backprop-body")
    answer = draw(page, DIGITS["7"])
    assert page.evaluate("() => window.mnistPage.state.errors.target") == answer  # a drawing: its own answer
    assert "tap the digit you meant" in page.inner_text("#target-note")


def test_every_neurons_delta_and_gradient_is_numpys(view, shipped):
    """BP1 and BP2 lit on the picture: the deltas the page shows are numpy's dC/db (BP3) for
    this example, and the selected neuron's picture is numpy's dC/dW row (BP4)."""
    page = view
    page.click("#targets button:nth-child(4)")  # a 3, for the sample 0: a large error
    x = shown_input(page)
    loss, expected = numpy_gradients(shipped.config, shipped.params, x, 3)
    deltas = page.evaluate("() => window.mnistPage.state.errors.deltas.map((d) => Array.from(d))")
    assert abs(page.evaluate("() => window.mnistPage.state.errors.loss") - loss) <= 1e-12
    difference = max(float(np.abs(np.array(d) - gb).max()) for d, (_, gb) in zip(deltas, expected))
    rows = []
    for layer, index in [(0, 4), (1, 9), (2, 3), (2, 0)]:
        click_neuron(page, layer, index)
        inputs = np.array(page.evaluate(f"() => Array.from(window.mnistPage.state.errors.activations[{layer}])"))
        shown = inputs * deltas[layer][index]  # what the BP4 picture paints
        rows.append(float(np.abs(shown - expected[layer][0][index]).max()))
        title = page.inner_text("#backprop-title")
        assert title.startswith("Output neuron 3" if (layer, index) == (2, 3) else "Output neuron 0" if layer == 2 else "Neuron")
        equations = page.inner_text("#equations")
        assert ("BP1" in equations) == (layer == 2) and ("BP2" in equations) == (layer < 2)
        assert "BP3" in equations and "BP4" in equations
        delta = deltas[layer][index]
        assert shown_number(delta) in equations  # the equations carry its own delta
        canvas = page.evaluate("() => [document.getElementById('gradient').width, document.getElementById('gradient').height]")
        assert canvas == ([28, 28] if layer == 0 else [16, 1])
    print(f"\nbackprop view: deltas vs numpy dC/db max |difference| {difference:.1e}; BP4 rows {max(rows):.1e}")
    assert difference <= 1e-12 and max(rows) <= 1e-12
    # On the picture: the target's output square orange (delta = a - 1 < 0), a wrong one blue.
    page.click("#show-errors")
    r, g, b = cell_colour(page, 2, 3)
    assert r > b
    wrong = int(np.argmax(deltas[2]))
    r, g, b = cell_colour(page, 2, wrong)
    assert deltas[2][wrong] > 0 and b > r
    page.click("#show-activations")
    assert cell_colour(page, 2, 3)[0] == cell_colour(page, 2, 3)[2]  # grey again: activations


def test_learn_from_this_digit_is_one_sgd_step_with_numpys_gradients(view, shipped):
    page = view
    page.click("#targets button:nth-child(6)")  # the sample 0 as a 5
    x, before = shown_input(page), shown_params(page, shipped.config.sizes)
    lr = float(page.input_value("#learn-rate"))
    assert abs(lr - shipped.config.lr / shipped.config.batch_size) < 1e-5  # one digit's share of the run's step, to start
    assert f"{shipped.config.batch_size}" in page.inner_text("#learn-rate-note")
    page.fill("#learn-rate", "0.5")
    page.click("#learn")
    settled(page)
    after = shown_params(page, shipped.config.sizes)
    loss, grads = numpy_gradients(shipped.config, before, x, 5)
    stepped = [(W - 0.5 * gW, b - 0.5 * gb) for (W, b), (gW, gb) in zip(before, grads)]
    difference = max_abs_difference(after, stepped)
    print(f"\nlearn from this digit: parameters after the step vs numpy's (lr 0.5), max |difference| {difference:.1e}")
    assert difference <= 1e-12 and max_abs_difference(after, before) > 1e-3
    nudge = page.evaluate("() => ({ before: Array.from(window.mnistPage.state.nudge.before), after: Array.from(window.mnistPage.state.nudge.after), cost: window.mnistPage.state.nudge.cost })")
    model = NumpyMLP(shipped.config.with_changes(dtype="float64", device="cpu"), before)
    assert np.abs(np.array(nudge["before"]) - model.predict_proba(x[None, :])[0]).max() <= 1e-12
    assert np.abs(np.array(nudge["after"]) - NumpyMLP(shipped.config.with_changes(dtype="float64", device="cpu"), stepped).predict_proba(x[None, :])[0]).max() <= 1e-12
    assert abs(nudge["cost"] - loss) <= 1e-12
    assert nudge["after"][5] > nudge["before"][5]  # the target rose
    assert page.is_visible("#nudges") and "its cost went from" in page.inner_text("#learn-status")
    # A second step starts where the first ended; putting it back gives the trained network, exactly.
    page.click("#learn")
    assert "2 taken here" in page.inner_text("#learn-status")
    page.click("#unlearn")
    settled(page)
    assert max_abs_difference(shown_params(page, shipped.config.sizes), shipped.params) == 0
    assert page.is_hidden("#unlearn") and page.is_hidden("#nudges")


def test_a_bad_learning_rate_is_refused_in_words(view, shipped):
    page = view
    before = shown_params(page, shipped.config.sizes)
    for bad in ["0", "-1", ""]:
        page.fill("#learn-rate", bad)
        page.click("#learn")
        assert "above 0" in page.inner_text("#learn-status")
    assert max_abs_difference(shown_params(page, shipped.config.sizes), before) == 0


@pytest.mark.parametrize("sizes,activation,loss", [((784, 10), "sigmoid", "mse"), ((784, 13, 7, 5, 10), "relu", "mse"),
                                                   ((784, 30, 10), "tanh", "cross-entropy")])
def test_the_view_learns_like_numpy_for_every_network(browser, tmp_path, mnist, sizes, activation, loss):  # noqa: F811
    config = Config(sizes=sizes, activation=activation, loss=loss, init="he" if activation == "relu" else "nielsen", lr=0.7)
    params = [(W, b + 0.1) for W, b in init_params(sizes, config.init, seed=11)]
    page = page_for(browser, tmp_path, mnist, config, params)
    try:
        page.click("#targets button:nth-child(3)")
        click_neuron(page, len(sizes) - 2, 2)  # the output for 2: BP1
        assert "BP1" in page.inner_text("#equations")
        x = shown_input(page)
        page.fill("#learn-rate", "0.7")
        page.click("#learn")
        _, grads = numpy_gradients(config, params, x, 2)
        stepped = [(W - 0.7 * gW, b - 0.7 * gb) for (W, b), (gW, gb) in zip(params, grads)]
        assert max_abs_difference(shown_params(page, sizes), stepped) <= 1e-12
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        assert page.errors == []
    finally:
        page.context.close()


def test_learning_from_a_timeline_snapshot_leaves_the_history_alone(browser, run_directory):  # noqa: F811
    """A step from the random start changes a copy: scrubbing back shows the snapshot as kept."""
    page = open_page(browser, run_directory / "page.html")
    try:
        page.evaluate("() => window.mnistPage.scrub(0)")
        start = page.evaluate(PARAMS_JS)
        page.click("#learn")
        assert page.evaluate(PARAMS_JS) != start and page.is_visible("#unlearn")
        page.evaluate("() => window.mnistPage.scrub(1)")
        assert page.is_hidden("#unlearn") and page.is_hidden("#nudges")  # another network now: nothing to put back
        page.evaluate("() => window.mnistPage.scrub(0)")
        assert page.evaluate(PARAMS_JS) == start
        assert page.errors == []
    finally:
        page.context.close()


# ---------------------------------------------------------------- the phone (issue 22 item 2.11)


def in_view(page, selector, height=667):
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] < height - 40 and box["y"] + box["height"] > 40


def test_on_a_phone_the_sample_digits_come_before_the_timeline_and_training(browser):  # noqa: F811
    """Picking a real test digit is the other way to give the network an input: on a phone it
    follows the network under the pad, as it does on a desktop, not the two long panels."""
    from test_page import ROOT

    page = open_page(browser, ROOT / "docs" / "page.html", 375, 667, has_touch=True, is_mobile=True)
    try:
        top = {name: page.locator(selector).bounding_box()["y"]
               for name, selector in [("pad", "#pad"), ("net", "#net"), ("samples", "#samples"),
                                      ("timeline", "#timeline"), ("train", "#train")]}
        assert top["pad"] < top["net"] < top["samples"] < top["timeline"] < top["train"], top
        assert page.errors == []
    finally:
        page.context.close()


def test_tapping_a_neuron_on_a_phone_brings_its_panel_into_view(browser, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("phone") / "page.html"
    assert invoke("page", MODEL, "--out", path).exit_code == 0
    page = open_page(browser, path, 375, 667, has_touch=True, is_mobile=True, device_scale_factor=2)
    try:
        assert not in_view(page, "#neuron-title")  # about 1,000 px below: a tap changed nothing visible
        cell = page.evaluate("() => window.mnistPage.state.layout.layers[0].cells[7]")
        net = page.locator("#net").bounding_box()
        page.touchscreen.tap(net["x"] + cell["x"] + cell["size"] / 2, net["y"] + cell["y"] + cell["size"] / 2)
        page.wait_for_timeout(1200)  # the smooth scroll
        assert page.evaluate("() => window.mnistPage.state.selected") == 7
        assert page.inner_text("#neuron-title").startswith("Neuron 8 of 16") and in_view(page, "#neuron-title")
        # With the errors shown, a tap on an output brings its equations.
        page.evaluate("window.scrollTo(0, 0)")
        page.click("#show-errors")
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(300)
        cell = page.evaluate("() => window.mnistPage.state.layout.layers[2].cells[4]")
        net = page.locator("#net").bounding_box()
        page.touchscreen.tap(net["x"] + cell["x"] + 60, net["y"] + cell["y"] + cell["size"] / 2)  # on its row, beside the square
        page.wait_for_timeout(1200)
        assert page.inner_text("#backprop-title").startswith("Output neuron 4") and in_view(page, "#equations")
        # Ten target buttons in one row, each big enough for a finger.
        boxes = [page.locator(f"#targets button:nth-child({i + 1})").bounding_box() for i in range(10)]
        assert len({round(b["y"]) for b in boxes}) == 1 and min(b["width"] for b in boxes) >= 28 and min(b["height"] for b in boxes) >= 36
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.errors == []
    finally:
        page.context.close()


def test_the_sample_strip_says_it_scrolls_on_a_phone_only(browser, page_path):  # noqa: F811
    page = open_page(browser, page_path, 375, 667, has_touch=True, is_mobile=True)
    try:
        count = page.locator("#samples button").count()
        hint = page.inner_text("#samples-more")
        assert page.is_visible("#samples-more") and f"of {count} shown" in hint and "swipe" in hint
        assert "more" in page.get_attribute("#samples", "class")
        page.evaluate("() => { const s = document.getElementById('samples'); s.scrollLeft = s.scrollWidth; }")
        page.wait_for_timeout(200)
        assert "swipe back" in page.inner_text("#samples-more") and "more" not in page.get_attribute("#samples", "class")
    finally:
        page.context.close()
    desktop = open_page(browser, page_path)
    try:
        assert desktop.is_hidden("#samples-more")  # every sample in sight: nothing to say
    finally:
        desktop.context.close()


# ---------------------------------------------------------------- screenshots (the README's)


@pytest.mark.parametrize("width,height", [(375, 667), (1280, 800)])
def test_screenshots_of_the_timeline_and_the_backprop_view(browser, tmp_path, width, height):  # noqa: F811
    """docs/page.html in use: a 3 drawn, taken for an 8, the errors lit, a neuron of the second
    hidden layer tapped, one step learned; and the timeline early in training.
    PAGE_SCREENSHOTS=docs keeps them for the README."""
    import os
    from pathlib import Path

    from PIL import Image

    from test_page import ROOT

    phone = width < 760
    page = open_page(browser, ROOT / "docs" / "page.html", width, height, has_touch=phone, is_mobile=phone)
    keep = Path(os.environ.get("PAGE_SCREENSHOTS") or tmp_path)
    keep.mkdir(parents=True, exist_ok=True)
    shots = []
    try:
        assert draw(page, DIGITS["3"]) == 3
        page.click("#targets button:nth-child(9)")  # "it should be an 8"
        page.evaluate("window.scrollTo(0, 0)")
        if phone:  # the first screen: the pad and the network lit by its errors
            shots.append(keep / f"page-errors-{width}x{height}.png")
            page.screenshot(path=str(shots[-1]))
        click_neuron(page, 1, 5)
        page.wait_for_timeout(1200)  # the scroll to the panel
        assert in_view(page, "#equations", height)
        page.click("#learn")
        assert page.is_visible("#nudges")
        shots.append(keep / f"page-backprop-{width}x{height}.png")
        if phone:
            page.locator("#backprop-body").screenshot(path=str(shots[-1]))
        else:
            bottom = page.evaluate("() => { const r = document.getElementById('backprop').getBoundingClientRect(); return r.bottom + window.scrollY; }")
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shots[-1]), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": bottom - 230})
        page.click("#unlearn")
        page.click("#show-activations")
        steps = page.evaluate("() => window.mnistPage.history.steps")
        early = next(i for i, step in enumerate(steps) if step >= 50)  # early in the first epoch
        page.evaluate(f"() => window.mnistPage.scrub({early})")
        assert f"step {steps[early]:,}" in page.inner_text("#timeline-label")
        shots.append(keep / f"page-timeline-{width}x{height}.png")
        page.locator("#timeline").screenshot(path=str(shots[-1]))
        for shot in shots:
            with Image.open(shot) as image:
                assert image.size[0] <= width and len(image.convert("RGB").getcolors(maxcolors=1 << 20) or range(1 << 20)) > 50
        assert page.evaluate("document.documentElement.scrollWidth") <= width and page.errors == []
    finally:
        page.context.close()

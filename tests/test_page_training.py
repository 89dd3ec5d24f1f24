"""Live training in the page (compare/report/page/trainer.js, training.js, digits.py), in Python
and in a real browser: the embedded digits decode exactly; Step and Play, through the worker,
end at the parameters numpy's train_step reaches from the same start on the same batches
(within 1e-12); Play, Pause and Step work, the curve grows, drawing stays responsive while it
trains; a phone can use the controls; the default run's page stays small and quick.

`pytest tests/test_page_training.py -s` prints what it measured: sizes, load time, the JS step's
digits a second, the time the shipped page takes to reach 90%.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import time

import numpy as np
import pytest

from compare.report.page import build_page, choose_samples
from compare.report.page.digits import (DIGITS_FILE, LEVELS, DigitsError, PageDigits, choose_page_digits,
                                        digits_document, load_page_digits, save_page_digits)
from impls.numpy_mlp import NumpyMLP
from shared.checkpoint import load_checkpoint
from shared.config import Config
from shared.data import scale_pixels
from shared.params import init_params, max_abs_difference
from test_page import (DIGITS, MODEL, ROOT, Requests, browser, draw, invoke, open_page, page_path,  # noqa: F401 - shared fixtures
                       run_directory, settled)
from test_page_learning import JS_HELPERS, params_from

MASK = 0xFFFFFFFF


# ---------------------------------------------------------------- the page's batch order, in Python


def shuffled_order(count: int, seed: int, epoch: int) -> np.ndarray:
    """trainer.js's shuffledOrder written again: mulberry32 seeded by (seed, epoch), Fisher-Yates."""
    state = (seed ^ ((epoch + 1) * 0x9E3779B9)) & MASK

    def random() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & MASK
        t = ((state ^ (state >> 15)) * (1 | state)) & MASK
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & MASK)) & MASK) ^ t
        return ((t ^ (t >> 14)) & MASK) / 4294967296

    order = list(range(count))
    for i in range(count - 1, 0, -1):
        j = int(random() * (i + 1))
        order[i], order[j] = order[j], order[i]
    return np.array(order)


class Replay:
    """trainer.js's Trainer in numpy: the same batches, numpy's train_step (plain SGD)."""

    def __init__(self, digits: PageDigits, config, params, seed: int = 0):
        self.x, self.y = scale_pixels(digits.train_images), digits.train_labels.astype(np.int64)
        self.model = NumpyMLP(config.with_changes(momentum=0.0, weight_decay=0.0, schedule="constant", dtype="float64"),
                              params)
        self.seed, self.epoch, self.position = seed, 0, 0
        self.order = shuffled_order(len(self.y), seed, 0)

    def steps(self, count: int, lr: float, batch_size: int) -> None:
        for _ in range(count):
            if self.position >= len(self.order):
                self.epoch, self.position = self.epoch + 1, 0
                self.order = shuffled_order(len(self.y), self.seed, self.epoch)
            batch = self.order[self.position: self.position + batch_size]
            self.position += len(batch)
            self.model.train_step(self.x[batch], self.y[batch], lr)


def live_params(page, sizes):
    encoded = page.evaluate("() => {" + JS_HELPERS + """
        const layers = window.mnistPage.training.live.layers;
        return base64([...layers.map((l) => l.W), ...layers.map((l) => l.b)]); }""")
    return params_from(encoded, sizes)


def wait_until_idle(page, step=None, timeout=60000):
    """Until the worker has said it stopped (after `step` steps, if given)."""
    condition = "l.started && !l.playing" + (f" && l.step === {step}" if step is not None else "")
    page.wait_for_function(f"() => {{ const l = window.mnistPage.training.live; return {condition}; }}", timeout=timeout)
    return page.evaluate("() => window.mnistPage.training.live.step")


def test_the_shuffle_is_a_permutation_that_changes_with_seed_and_epoch():
    orders = [shuffled_order(1000, seed, epoch) for seed, epoch in ((0, 0), (0, 1), (1, 0))]
    assert all(sorted(order) == list(range(1000)) for order in orders)
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[0], orders[2])


# ---------------------------------------------------------------- the digits, without a browser


@pytest.fixture(scope="module")
def digits(mnist):
    return choose_page_digits(mnist.train_images, mnist.train_labels, mnist.test_images, mnist.test_labels)


def test_the_digits_are_the_first_training_digits_and_every_tenth_test_digit_at_four_greys(digits, mnist):
    assert digits.train_images.shape == (18_000, 28, 28) and digits.test_images.shape == (1_000, 28, 28)
    assert list(digits.test_indices[:3]) == [0, 10, 20]
    assert np.array_equal(digits.train_labels, mnist.train_labels[:18_000])
    assert np.array_equal(digits.test_labels, mnist.test_labels[::10])
    assert set(np.unique(digits.train_images)) == {0, 85, 170, 255}
    # Each pixel at the nearest of the four greys.
    assert np.abs(digits.train_images.astype(int) - mnist.train_images[:18_000]).max() <= 42


def test_the_page_holds_them_packed_and_gzipped(digits):
    document = digits_document(digits)
    raw = gzip.decompress(base64.b64decode(document["data"]))
    n, m = document["train"], document["test"]
    assert (n, m, document["levels"]) == (18_000, 1_000, LEVELS)
    assert len(raw) == n * 196 + n + m * 196 + m
    # Four pixels of a column in a byte, the top one in the high bits.
    first = np.frombuffer(raw[:196], dtype=np.uint8).reshape(7, 28)
    unpacked = np.stack([(first >> shift) & 3 for shift in (6, 4, 2, 0)], axis=1).reshape(28, 28) * 85
    assert np.array_equal(unpacked, digits.train_images[0])
    assert raw[n * 196: n * 196 + n] == digits.train_labels.tobytes()
    size = len(document["data"])
    print(f"\npage digits: {n:,} training and {m:,} test digits, {size:,} bytes of base64 "
          f"({size / (n + m):.0f} a digit)")
    assert size < 1_400_000


def test_the_digits_file_keeps_them_and_refuses_a_broken_one(digits, tmp_path):
    path = tmp_path / DIGITS_FILE
    save_page_digits(path, digits)
    again = load_page_digits(path)
    for name in PageDigits.__dataclass_fields__:
        assert np.array_equal(getattr(again, name), getattr(digits, name)), name
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DigitsError, match=re.escape(str(path))):
        load_page_digits(path)
    odd = PageDigits(digits.train_images[:5] + 1, digits.train_labels[:5], digits.test_images[:5],
                     digits.test_labels[:5], digits.test_indices[:5])
    save_page_digits(path, odd)
    with pytest.raises(DigitsError, match="grey levels"):
        load_page_digits(path)


def test_only_a_page_that_trains_lets_a_worker_start(digits, mnist):
    shipped = load_checkpoint(MODEL)
    samples = choose_samples(mnist.test_images[:100], mnist.test_labels[:100], mnist.test_labels[:100])
    policy = lambda page: re.search(r'Content-Security-Policy" content="([^"]+)"', page).group(1)  # noqa: E731
    trains = build_page(shipped.params, shipped.config, samples, "about", digits=digits)
    still = build_page(shipped.params, shipped.config, samples, "about")
    assert "worker-src blob:" in policy(trains) and "worker-src" not in policy(still)
    assert "default-src 'none'" in policy(trains)
    assert '<script type="application/json" id="digits">null</script>' in still


def test_a_checkpoints_page_trains_where_the_data_has_a_training_set(tmp_path):
    from conftest import write_dataset
    from shared.checkpoint import Checkpoint, save_checkpoint

    directory = write_dataset(tmp_path / "data", train_count=30, test_count=10, classes=3, side=28)
    config = Config(sizes=(784, 5, 3))
    save_checkpoint(tmp_path / "m.npz", Checkpoint(init_params(config.sizes), config, "numpy", 1, 0.5))
    trains = invoke("page", tmp_path / "m.npz", "--data-dir", directory, "--out", tmp_path / "trains.html")
    for path in directory.glob("train-*"):
        path.unlink()
    still = invoke("page", tmp_path / "m.npz", "--data-dir", directory, "--out", tmp_path / "still.html")
    assert trains.exit_code == 0 and still.exit_code == 0, trains.output + still.output
    assert json.loads(re.search(r'id="digits">(.*?)</script>', (tmp_path / "trains.html").read_text()).group(1))["train"] == 30
    assert 'id="digits">null</script>' in (tmp_path / "still.html").read_text()  # the test files alone: no training


def test_a_run_keeps_the_digits_and_its_report_makes_the_same_page(run_directory, tmp_path):
    document = json.loads((run_directory / "results.json").read_text())
    assert document["page"]["digits"] == DIGITS_FILE and (run_directory / DIGITS_FILE).is_file()
    result = invoke("report", run_directory / "results.json", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "page.html").read_text() == (run_directory / "page.html").read_text()


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def shipped_page(browser, page_path):  # noqa: F811
    page = open_page(browser, page_path)
    yield page
    page.context.close()


def test_the_page_decodes_the_digits_exactly(shipped_page, digits):
    found = shipped_page.evaluate("""async () => {
        const d = await loadDigits(JSON.parse(document.getElementById("digits").textContent));
        const text = (bytes) => { let s = ""; for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192)); return btoa(s); };
        return [d.train.pixels, d.train.labels, d.test.pixels, d.test.labels].map(text); }""")
    expected = [digits.train_images, digits.train_labels, digits.test_images, digits.test_labels]
    for encoded, array in zip(found, expected):
        assert base64.b64decode(encoded) == array.tobytes()


def test_step_trains_in_the_worker_from_the_runs_start_like_numpy(shipped_page, digits):
    """From the run's random start (init_params of the checkpoint's config), 100 steps of the
    page's own batches (seed 0) through the worker equal numpy's train_step on the same batches."""
    page, shipped = shipped_page, load_checkpoint(MODEL)
    page.evaluate("() => window.mnistPage.training.reset()")
    page.select_option("#train-from", "random")
    assert page.input_value("#train-lr") == "0.5" and page.input_value("#train-batch") == "10"
    page.evaluate("() => window.mnistPage.training.step(100)")
    assert wait_until_idle(page, 100) == 100
    replay = Replay(digits, shipped.config, init_params(shipped.config.sizes, shipped.config.init, shipped.config.seed))
    replay.steps(100, 0.5, 10)
    difference = max_abs_difference(live_params(page, shipped.config.sizes), replay.model.parameters())
    print(f"\nlive training: 100 steps in the worker vs numpy train_step, max |difference| {difference:.1e}")
    assert difference <= 1e-12
    assert page.inner_text("#train-status").startswith("step 100 \u00b7 1,000 digits seen")
    # The page shows the live network: the drawn digit's answer is the live network's (within
    # SHOW_EVERY_MS of the last report: the page redraws at most that often).
    page.wait_for_function("() => window.mnistPage.model.layers === window.mnistPage.training.live.layers",
                           timeout=5000)


def test_play_and_pause_end_where_numpy_does_and_the_curve_grows(shipped_page, digits):
    page, shipped = shipped_page, load_checkpoint(MODEL)
    page.evaluate("() => window.mnistPage.training.reset()")
    curve = lambda: page.evaluate("() => document.getElementById('train-curve').toDataURL()")  # noqa: E731
    before = curve()
    page.click("#train-play")
    assert page.inner_text("#train-play").endswith("Pause")
    page.wait_for_function("() => window.mnistPage.training.live.points.length >= 3", timeout=60000)
    page.click("#train-play")
    steps = wait_until_idle(page)
    assert page.inner_text("#train-play").endswith("Play")
    points = page.evaluate("() => window.mnistPage.training.live.points")
    assert [p["seen"] for p in points] == sorted({p["seen"] for p in points}) and points[0]["seen"] == 0
    assert points[-1]["accuracy"] > points[0]["accuracy"] + 0.3 and curve() != before
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.mnistPage.training.live.step") == steps  # paused means paused
    replay = Replay(digits, shipped.config, init_params(shipped.config.sizes, shipped.config.init, shipped.config.seed))
    replay.steps(steps, 0.5, 10)
    difference = max_abs_difference(live_params(page, shipped.config.sizes), replay.model.parameters())
    print(f"\nlive training: Play then Pause, {steps:,} steps, vs numpy, max |difference| {difference:.1e}")
    assert difference <= 1e-12


def test_epochs_a_smaller_last_batch_and_new_settings_mid_run_follow_numpy(browser, tmp_path, mnist):  # noqa: F811
    """95 training digits: batches of 10 leave one of 5 at each epoch's end; the rate and the
    batch size changed between steps apply from the next batch on."""
    shipped = load_checkpoint(MODEL)
    few = choose_page_digits(mnist.train_images[:95], mnist.train_labels[:95], mnist.test_images[:200], mnist.test_labels[:200])
    samples = choose_samples(mnist.test_images[:100], mnist.test_labels[:100], mnist.test_labels[:100])
    path = tmp_path / "few.html"
    path.write_text(build_page(shipped.params, shipped.config, samples, "few", digits=few))
    page = open_page(browser, path)
    try:
        page.click("#train-step")
        wait_until_idle(page, 1)
        page.evaluate("() => window.mnistPage.training.step(24)")
        wait_until_idle(page, 25)
        page.select_option("#train-lr", "0.3")
        page.select_option("#train-batch", "20")
        page.evaluate("() => window.mnistPage.training.step(10)")
        wait_until_idle(page, 35)
        replay = Replay(few, shipped.config, init_params(shipped.config.sizes, shipped.config.init, shipped.config.seed))
        replay.steps(25, 0.5, 10)
        replay.steps(10, 0.3, 20)
        assert replay.epoch == 4  # 25 batches of 10: 2.5 epochs; then 45, 95 and 40 digits in batches of 20
        assert max_abs_difference(live_params(page, shipped.config.sizes), replay.model.parameters()) <= 1e-12
        assert page.errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("sizes,activation,loss,init,lr", [
    ((784, 10), "sigmoid", "mse", "nielsen", 3.0),  # no hidden layer; the quadratic cost's rate
    ((784, 13, 7, 5, 10), "relu", "cross-entropy", "he", 0.1),  # ReLU's smaller rate
])
def test_every_network_trains_live_like_numpy(browser, tmp_path, mnist, sizes, activation, loss, init, lr):  # noqa: F811
    config = Config(sizes=sizes, activation=activation, loss=loss, init=init, seed=4)
    few = choose_page_digits(mnist.train_images[:95], mnist.train_labels[:95], mnist.test_images[:200], mnist.test_labels[:200])
    samples = choose_samples(mnist.test_images[:100], mnist.test_labels[:100], mnist.test_labels[:100])
    path = tmp_path / "page.html"
    path.write_text(build_page(init_params(sizes, init, 9), config, samples, "trained", digits=few))
    page = open_page(browser, path, 375, 667)
    try:
        assert page.input_value("#train-lr") == str(lr).removesuffix(".0")
        page.evaluate("() => window.mnistPage.training.step(30)")
        wait_until_idle(page, 30)
        replay = Replay(few, config, init_params(sizes, init, 4))  # the run's start: its config's seed
        replay.steps(30, lr, 10)
        assert max_abs_difference(live_params(page, sizes), replay.model.parameters()) <= 1e-12
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 and page.errors == []
    finally:
        page.context.close()


def test_drawing_stays_responsive_while_it_trains(shipped_page):
    page = shipped_page
    page.evaluate("() => window.mnistPage.training.reset()")
    page.click("#clear")
    page.click("#train-play")
    page.wait_for_function("() => window.mnistPage.training.live.points.length >= 2", timeout=60000)
    page.evaluate("""() => { window.delays = []; window.gaps = []; let last = performance.now();
        document.getElementById("pad").addEventListener("pointermove", (e) => window.delays.push(performance.now() - e.timeStamp));
        const frame = (t) => { window.gaps.push(t - last); last = t; if (window.gaps.length < 400) requestAnimationFrame(frame); };
        requestAnimationFrame(frame); }""")
    page.evaluate("window.scrollTo(0, 0)")  # the pad in view, as the mouse draws on screen
    step_before = page.evaluate("() => window.mnistPage.training.live.step")
    answer = draw(page, DIGITS["8"])  # 42 points
    delays, gaps = page.evaluate("() => window.delays"), page.evaluate("() => window.gaps.slice(1)")
    trained = page.evaluate("() => window.mnistPage.training.live.step") - step_before
    page.click("#train-play")
    wait_until_idle(page)
    print(f"\nlive training: while playing, {len(delays)} pointer moves handled {np.median(delays):.1f} ms after they "
          f"happened (median), {max(delays):.1f} ms at most; frames every {np.median(gaps):.1f} ms (median), "
          f"{max(gaps):.0f} ms at most; {trained:,} steps trained meanwhile")
    assert answer is not None and trained > 0
    # A loop on the main thread would hold every event and frame for its slices (80 ms in the worker).
    assert len(delays) >= 20 and np.median(delays) < 50 and np.median(gaps) < 50


def test_scrubbing_pauses_and_training_can_start_where_the_timeline_stands(browser, run_directory):  # noqa: F811
    from shared.history import load_history

    history = load_history(run_directory / "history.npz")
    page = open_page(browser, run_directory / "page.html")
    try:
        page.click("#train-play")
        page.wait_for_function("() => window.mnistPage.training.live.step > 0", timeout=60000)
        page.evaluate("() => window.mnistPage.scrub(3)")  # as the slider's input does
        page.locator("#timeline-slider").dispatch_event("input")
        wait_until_idle(page)
        assert page.evaluate("() => window.mnistPage.model.layers !== window.mnistPage.training.live.layers")
        assert "timeline" in page.inner_text("#train-status")
        # From where the timeline stands: its snapshot, as the page holds it (float32).
        page.select_option("#train-from", "shown")
        page.evaluate("() => window.mnistPage.training.step(20)")
        wait_until_idle(page, 20)
        start = [(W.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64))
                 for W, b in history.snapshots[3].params]
        replay = Replay(load_page_digits(run_directory / DIGITS_FILE), history.config, start)
        replay.steps(20, 0.5, 10)
        assert max_abs_difference(live_params(page, history.config.sizes), replay.model.parameters()) <= 1e-12
        assert page.errors == []
    finally:
        page.context.close()


def curve_labels(page):
    """The texts the training curve's canvas was last drawn with."""
    return page.evaluate("""() => {
        const texts = [], context = CanvasRenderingContext2D.prototype, fill = context.fillText;
        context.fillText = function (text, ...rest) {
          if (this.canvas.id === "train-curve") texts.push(text);
          return fill.call(this, text, ...rest);
        };
        window.dispatchEvent(new Event("resize"));
        context.fillText = fill;
        return texts; }""")


def test_the_curve_names_the_training_digits_before_any_step(browser, page_path):  # noqa: F811
    page = open_page(browser, page_path)
    try:
        train = page.evaluate("() => window.mnistPage.training.live.digits.train")
        labels = curve_labels(page)
        assert f"{train:,} digits" in labels and not any("NaN" in label for label in labels), labels
    finally:
        page.context.close()


def test_start_again_puts_the_curve_back_to_the_training_digits(browser, page_path):  # noqa: F811
    page = open_page(browser, page_path)
    try:
        train = page.evaluate("() => window.mnistPage.training.live.digits.train")
        page.click("#train-play")
        page.wait_for_function(f"() => window.mnistPage.training.live.seen > {train}", timeout=60000)
        page.click("#train-reset")
        page.wait_for_function("() => !window.mnistPage.training.live.started")
        assert f"{train:,} digits" in curve_labels(page)
        assert page.inner_text("#train-status").startswith("Press Play or Step")
    finally:
        page.context.close()


def test_one_step_of_one_digit_says_one_digit(browser, page_path):  # noqa: F811
    page = open_page(browser, page_path)
    try:
        page.select_option("#train-batch", "1")
        page.click("#train-step")
        wait_until_idle(page, 1)
        assert page.inner_text("#train-status").startswith("step 1 \u00b7 1 digit seen (epoch 0.00)")
    finally:
        page.context.close()


def test_play_says_pause_from_the_click_on(browser, page_path):  # noqa: F811
    """The worker's first report (the accuracy at step 0) came before it read "play" and said
    it was not playing: the button went back to Play for a moment (and a test read it so)."""
    page = open_page(browser, page_path)
    try:
        page.evaluate("""() => { window.labels = []; const button = document.getElementById("train-play");
            new MutationObserver(() => window.labels.push(button.textContent))
              .observe(button, { childList: true, characterData: true, subtree: true }); }""")
        page.click("#train-play")
        page.wait_for_function("() => window.mnistPage.training.live.points.length >= 2", timeout=60000)
        labels = page.evaluate("() => window.labels")
        assert labels and all(label.endswith("Pause") for label in labels), labels
        page.click("#train-play")
        wait_until_idle(page)
    finally:
        page.context.close()


def test_learning_from_a_digit_while_it_trains_pauses_it_and_keeps_the_step(browser, page_path):  # noqa: F811
    """"Learn from this digit" during Play: the step is taken on the network shown and stays on
    the page (the live updates would otherwise replace it within a quarter of a second)."""
    page = open_page(browser, page_path)
    try:
        page.click("#train-play")
        page.wait_for_function("() => window.mnistPage.training.live.step > 0", timeout=60000)
        page.click("#learn")
        wait_until_idle(page)
        page.wait_for_timeout(600)  # longer than the page waits between two live updates
        assert page.inner_text("#learn-status").startswith("One step of")
        assert page.is_visible("#nudges") and page.is_visible("#unlearn")
        assert page.evaluate("() => window.mnistPage.model.layers !== window.mnistPage.training.live.layers")
        assert "your step" in page.inner_text("#train-status")
        # Play again: the page follows the live network, and says the step is no longer shown.
        page.click("#train-play")
        page.wait_for_function("() => window.mnistPage.model.layers === window.mnistPage.training.live.layers",
                               timeout=60000)
        page.click("#train-play")
        wait_until_idle(page)
        assert page.is_hidden("#unlearn") and page.errors == []
    finally:
        page.context.close()


def test_a_resumed_runs_page_trains_from_the_real_random_start(browser, tmp_path):  # noqa: F811
    """A resumed run's history begins where it resumed, not at step 0: live training's "random
    start" is still the run's initialization (made again by the shared initializer), and the
    timeline says where it begins."""
    tiny = ("--impl", "numpy", "--sizes", "784,12,10", "--train-limit", "600", "--test-limit", "300",
            "--reports-dir", tmp_path, "-q")
    assert invoke("run", *tiny, "--name", "first", "--save", tmp_path / "m.npz").exit_code == 0
    result = invoke("run", *tiny, "--name", "resumed", "--resume", tmp_path / "m.npz", "--epochs", "2")
    assert result.exit_code == 0, result.output
    page = open_page(browser, tmp_path / "resumed" / "page.html")
    try:
        assert "step 0" not in page.inner_text("#train-status")
        page.evaluate("() => window.mnistPage.scrub(0)")
        assert "random start" not in page.inner_text("#timeline h2") + page.inner_text("#timeline-label")
        page.select_option("#train-from", "random")
        page.evaluate("() => window.mnistPage.training.step(20)")
        wait_until_idle(page, 20)
        config = load_checkpoint(tmp_path / "m.npz").config
        replay = Replay(load_page_digits(tmp_path / "resumed" / DIGITS_FILE), config,
                        init_params(config.sizes, config.init, config.seed))
        replay.steps(20, 0.5, 10)
        assert max_abs_difference(live_params(page, config.sizes), replay.model.parameters()) <= 1e-12
        assert page.errors == []
    finally:
        page.context.close()


def test_a_run_whose_history_is_too_big_for_the_page_trains_from_its_random_start(browser, run_directory,  # noqa: F811
                                                                                   tmp_path, monkeypatch):
    """A large network's history does not fit in the page (--preset best: 784-800-800-10), so the
    page has no timeline; Play and Step still start from the run's initialization, made again."""
    import compare.report.page as page_module
    from shared.history import load_history

    monkeypatch.setattr(page_module, "HISTORY_BUDGET_BYTES", 1)
    result = invoke("page", run_directory, "--out", tmp_path / "page.html")
    assert result.exit_code == 0, result.output
    page = open_page(browser, tmp_path / "page.html")
    try:
        assert page.is_hidden("#timeline")
        page.click("#train-step")
        wait_until_idle(page, 1)
        config = load_history(run_directory / "history.npz").config
        start = init_params(config.sizes, config.init, config.seed)
        replay = Replay(load_page_digits(run_directory / DIGITS_FILE), config, start)
        replay.steps(1, 0.5, 10)
        assert max_abs_difference(live_params(page, config.sizes), replay.model.parameters()) <= 1e-12
        assert page.errors == []
    finally:
        page.context.close()


def test_a_phone_trains_by_touch(browser, page_path):  # noqa: F811
    page = open_page(browser, page_path, 375, 667, has_touch=True, is_mobile=True)
    try:
        page.locator("#train").scroll_into_view_if_needed()
        for selector in ("#train-play", "#train-step", "#train-reset", "#train-lr", "#train-batch", "#train-from"):
            box = page.locator(selector).bounding_box()
            assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 375, selector
        page.tap("#train-play")
        page.wait_for_function("() => window.mnistPage.training.live.step > 0", timeout=60000)
        page.tap("#train-play")
        wait_until_idle(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.errors == []
    finally:
        page.context.close()


def test_training_makes_no_request(browser, page_path):  # noqa: F811
    """The worker is this page's own script from a blob: URL, made in memory: nothing else is asked for."""
    page = open_page(browser, page_path)
    try:
        page.click("#train-play")
        page.wait_for_function("() => window.mnistPage.training.live.points.length >= 2", timeout=60000)
        page.evaluate("window.scrollTo(0, 0)")
        assert draw(page, DIGITS["1"]) is not None
        page.click("#train-play")
        wait_until_idle(page)
        others = [url for url in page.requests.seen if url != page_path.as_uri()]
        assert len(others) <= 1 and all(url.startswith("blob:null/") for url in others)  # the worker, if counted
        assert page.requests.blocked == [] and page.errors == []
    finally:
        page.context.close()


def test_a_browser_that_cannot_train_says_so(browser, page_path):  # noqa: F811
    context = browser.new_context()
    context.add_init_script("delete window.DecompressionStream;")
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(page_path.as_uri())
        page.wait_for_selector("html[data-ready=yes]")
        assert "cannot train here" in page.inner_text("#train-status")
        assert page.is_disabled("#train-play") and page.evaluate("() => window.mnistPage.training") is None
        assert draw(page, DIGITS["1"]) is not None and errors == []  # the rest of the page works
    finally:
        context.close()


def test_the_shipped_page_reaches_90_percent(browser):  # noqa: F811
    """Play on docs/page.html from the run's random start (step 0 of its timeline): 90% of the
    1,000 test digits within 60,000 digits seen (about 30,000 in numpy's replays); the seconds it
    took are printed, not asserted (the load of the machine decides them)."""
    page = open_page(browser, ROOT / "docs" / "page.html")
    try:
        started = time.perf_counter()
        page.click("#train-play")
        page.wait_for_function("() => window.mnistPage.training.live.points.some((p) => p.accuracy >= 0.9)", timeout=180000)
        seconds = time.perf_counter() - started
        point = page.evaluate("() => window.mnistPage.training.live.points.find((p) => p.accuracy >= 0.9)")
        rate = page.evaluate("() => window.mnistPage.training.live.perSecond")
        page.click("#train-play")
        print(f"\nlive training: the shipped page reached {point['accuracy']:.1%} after {seconds:.1f} s of Play, "
              f"{point['seen']:,} digits seen, {rate:,.0f} digits a second in the worker")
        assert point["seen"] <= 60_000
    finally:
        page.context.close()


@pytest.mark.parametrize("sizes", [(784, 16, 16, 10), (784, 30, 10)])
def test_the_js_steps_speed(shipped_page, sizes):
    """Digits a second of the SGD step (batches of 10, with the digits' conversion), on the main
    thread for 3 s: printed. It learns meanwhile: the loss falls."""
    found = shipped_page.evaluate("""async (sizes) => {
        const digits = await loadDigits(JSON.parse(document.getElementById("digits").textContent));
        const layers = sizes.slice(1).map((n, l) => ({ W: new Float64Array(n * sizes[l]).map((_, i) => Math.sin(i) / Math.sqrt(sizes[l])),
                                                      b: new Float64Array(n) }));
        const trainer = new Trainer(digits, { sizes, activation: "sigmoid", output: "softmax", layers }, 0, 0.5, 10);
        const first = trainer.trainStep(), started = performance.now();
        let last = first;
        while (performance.now() - started < 3000) last = trainer.trainStep();
        return { perSecond: (1000 * (trainer.seen - 10)) / (performance.now() - started), first, last }; }""", list(sizes))
    print(f"\nlive training: the JS step of {'-'.join(map(str, sizes))}: {found['perSecond']:,.0f} digits a second")
    assert found["perSecond"] > 0 and found["last"] < found["first"]


# ---------------------------------------------------------------- the default run's page


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """`compare run` with its defaults (784-30-10, one epoch, its history), numpy alone."""
    reports = tmp_path_factory.mktemp("reports")
    result = invoke("run", "--impl", "numpy", "--name", "default", "--reports-dir", reports, "-q")
    assert result.exit_code == 0, result.output
    return reports / "default"


def test_the_default_runs_page_is_under_4_mb_and_ready_within_a_second(browser, default_run):  # noqa: F811
    path = default_run / "page.html"
    size = path.stat().st_size
    ready = []
    for _ in range(3):  # the best of three: the machine is shared
        page = open_page(browser, path)
        ready.append(page.evaluate("() => window.mnistPage.readyMs"))
        assert page.evaluate("() => window.mnistPage.history.count") > 2 and page.is_visible("#train")
        page.context.close()
    print(f"\ndefault run's page: {size:,} bytes, ready {min(ready):.0f} ms after navigation started "
          f"(best of {ready})")
    assert size < 4_000_000 and min(ready) < 1000


def test_the_page_says_when_live_training_goes_wrong(browser, tmp_path, mnist):  # noqa: F811
    """At its default rate a ReLU network learning one digit a batch gets no warning; switched to
    a learning rate of 10 it collapses, and the page says it is getting worse, from how good it was;
    from its random start at 10 it stays at chance (its loss near 10), and the page says so in
    words, not only in numbers."""
    config = Config(sizes=(784, 30, 10), activation="relu", loss="cross-entropy", init="he", seed=1)
    few = choose_page_digits(mnist.train_images[:2000], mnist.train_labels[:2000], mnist.test_images[:500],
                             mnist.test_labels[:500])
    samples = choose_samples(mnist.test_images[:100], mnist.test_labels[:100], mnist.test_labels[:100])
    path = tmp_path / "relu.html"
    path.write_text(build_page(init_params(config.sizes, config.init, 1), config, samples, "relu", digits=few))
    page = open_page(browser, path)
    try:
        page.select_option("#train-batch", "1")
        page.evaluate("() => window.mnistPage.training.step(400)")
        wait_until_idle(page, 400)
        assert page.is_hidden("#train-trouble"), page.inner_text("#train-trouble")
        learned = page.evaluate("() => window.mnistPage.training.live.points.at(-1).accuracy")
        page.select_option("#train-lr", "10")  # from here on: the network it learned collapses
        page.evaluate("() => window.mnistPage.training.step(400)")
        wait_until_idle(page, 800)
        said = page.inner_text("#train-trouble")
        assert said.startswith("Getting worse: ") and f"down from {100 * learned:.1f}%" in said, (learned, said)
        # the sample digits' marks are the collapsed network's, not the ones it had
        page.wait_for_function("""() => { const p = window.mnistPage, m = p.model;
            return [...document.querySelectorAll("#samples button")].every((button, s) => {
              const x = Float64Array.from(m.samples.pixels.subarray(s * 784, (s + 1) * 784), (v) => v / 255);
              const out = p.forward(x).output, said = out.indexOf(Math.max(...out)), label = m.samples.labels[s];
              return button.lastChild.textContent === (said === label ? `${label} \u2713` : `${label}\u2192${said} \u2717`);
            }); }""", timeout=5000)
        page.click("#train-reset")
        page.evaluate("() => window.mnistPage.training.step(400)")
        wait_until_idle(page, 400)
        said = page.inner_text("#train-trouble")
        assert said.startswith(("Not learning: ", "Getting worse: ")) and "learning rate" in said, said
        print(f"\nlr 10, batch 1, 400 steps: {page.inner_text('#train-status')} | {said}")
        page.click("#train-reset")
        assert page.is_hidden("#train-trouble") and page.errors == []
    finally:
        page.context.close()

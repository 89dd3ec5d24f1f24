"""How well models read what users give them, side by side:

    .venv/bin/python tests/measure_models.py models/mnist-mlp.npz other.npz ...

For each checkpoint: accuracy on MNIST's test set; on the photo-like digits of
tests/photo_digits.py as `compare predict` reads them (right, and right but under the 70%
"unsure" line); on the digits of tests/drawn_digits.py as the page prepares them (drawn in
headless Chromium, the preparation shared by every model); and on the first REDRAWN test digits
drawn large somewhere on the pad and prepared by the page (as tests/test_page.py does for 200). What NOTES "Issue 21" quotes for the
models shipped with and without expanded training data.
"""

from __future__ import annotations

import base64
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drawn_digits import prepare_in_page, variations  # noqa: E402
from photo_digits import write_photo_digits  # noqa: E402

from impls import build  # noqa: E402
from shared.checkpoint import load_checkpoint  # noqa: E402
from shared.data import load_dataset, scale_pixels  # noqa: E402
from shared.images import read_digit  # noqa: E402

UNSURE = 0.7  # compare predict warns below this top probability
REDRAWN = 2000


def probabilities(checkpoint, x: np.ndarray) -> np.ndarray:
    model = build("numpy", checkpoint.config.with_changes(dtype="float64", device="cpu"), checkpoint.params)
    outputs = model.predict_proba(x)
    return outputs / outputs.sum(axis=1, keepdims=True)  # sigmoid outputs read as shares, as predict does


def redraw(page, images: np.ndarray, seed: int = 0) -> np.ndarray:
    """MNIST digits drawn large (150-280 grid pixels) at random places on the pad, prepared by the page."""
    rng = np.random.default_rng(seed)
    sides = rng.integers(150, 281, len(images))
    placements = [[int(rng.integers(0, 281 - side)), int(rng.integers(0, 281 - side)), int(side)] for side in sides]
    encoded = page.evaluate(
        """([encoded, placements]) => {
            const page = window.mnistPage, bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)), out = [];
            placements.forEach(([left, top, side], i) => {
              page.drawing.clear();
              page.drawing.image(Float64Array.from(bytes.subarray(784 * i, 784 * (i + 1)), (v) => v / 255), 28, 28, left, top, side);
              out.push(...page.prepare(page.drawing.ink, page.GRID));
            });
            const raw = new Uint8Array(Float64Array.from(out).buffer);
            let text = "";
            for (let i = 0; i < raw.length; i += 8192) text += String.fromCharCode(...raw.subarray(i, i + 8192));
            return btoa(text);
        }""", [base64.b64encode(images.tobytes()).decode(), placements])
    return np.frombuffer(base64.b64decode(encoded), dtype="<f8").reshape(len(images), 784)


def drawn_set(per_digit: int, page_model: Path):
    """The drawn digits as the page prepares them (any model's page prepares them the same way),
    and the first REDRAWN test digits redrawn large."""
    from playwright.sync_api import sync_playwright

    from compare.report.page import build_page, choose_samples
    from test_page import KNOWN_BROWSERS, LAUNCH_ARGS

    mnist = load_dataset()
    checkpoint = load_checkpoint(page_model)
    samples = choose_samples(mnist.test_images[:200], mnist.test_labels[:200], mnist.test_labels[:200])
    with tempfile.TemporaryDirectory() as scratch:
        page_file = Path(scratch) / "page.html"
        page_file.write_text(build_page(checkpoint.params, checkpoint.config, samples, "measure"))
        drawn = variations(per_digit)
        executable = next(path for path in KNOWN_BROWSERS if Path(path).exists())
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
            page = browser.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_selector("html[data-ready=yes]")
            prepared = prepare_in_page(page, drawn)
            redrawn = redraw(page, mnist.test_images[:REDRAWN])
            browser.close()
    return prepared, np.array([label for label, _ in drawn]), redrawn


def main(paths: list[str], per_digit: int = 100) -> None:
    mnist = load_dataset()
    x_test, y_test = scale_pixels(mnist.test_images), mnist.test_labels
    with tempfile.TemporaryDirectory() as scratch:
        digits, _ = write_photo_digits(Path(scratch))
        photos = np.stack([read_digit(path).seen.reshape(-1) for path, _ in digits])
        photo_labels = np.array([label for _, label in digits])
    drawn, drawn_labels, redrawn = drawn_set(per_digit, Path(paths[0]))
    print(f"{'model':45} {'MNIST test':>10} {'photos right':>14} {'unsure':>7} {'drawn right':>13} "
          f"{'redrawn right':>15}")
    for path in paths:
        checkpoint = load_checkpoint(path)
        test = np.mean(probabilities(checkpoint, x_test).argmax(1) == y_test)
        photo = probabilities(checkpoint, photos)
        right = photo.argmax(1) == photo_labels
        unsure = int(np.sum(right & (photo.max(1) < UNSURE)))
        drawn_right = int(np.sum(probabilities(checkpoint, drawn).argmax(1) == drawn_labels))
        redrawn_right = int(np.sum(probabilities(checkpoint, redrawn).argmax(1) == y_test[:REDRAWN]))
        print(f"{path:45} {test:>10.2%} {int(right.sum()):>7} of {len(right):<4} {unsure:>7} "
              f"{drawn_right:>6} of {len(drawn_labels):<4} {redrawn_right:>7} of {REDRAWN:<5}")


if __name__ == "__main__":
    main(sys.argv[1:])

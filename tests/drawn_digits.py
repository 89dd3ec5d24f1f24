"""Digits drawn on the page's pad: stroke templates of the ten digits (what tests/test_page.py
draws with the mouse) and seeded variations of them as people draw (slanted, turned, narrow or
wide, small or large, anywhere on the pad, a shaky hand), rasterised and prepared to 28x28 by
the page itself in the browser, so that any model can be measured on what the page would feed it.
"""

from __future__ import annotations

import base64
import math

import numpy as np


def ellipse(cx, cy, rx, ry, start=0.0, turn=1.0, count=40):
    return [(cx + rx * math.sin(start + 2 * math.pi * turn * i / count), cy - ry * math.cos(start + 2 * math.pi * turn * i / count))
            for i in range(count + 1)]


# Mouse strokes, each a list of (x, y) in [0, 1] of the box drawn into.
DIGITS = {
    "1": [[(0.5, 0.0), (0.5, 1.0)]],
    "0": [ellipse(0.5, 0.5, 0.3, 0.48, count=24)],
    "7": [[(0.1, 0.05), (0.9, 0.05), (0.4, 1.0)]],
    "4": [[(0.55, 0.0), (0.1, 0.65), (0.9, 0.65)], [(0.7, 0.3), (0.7, 1.0)]],
    "2": [ellipse(0.5, 0.28, 0.35, 0.26, start=-1.4, turn=0.55, count=16) + [(0.1, 1.0), (0.9, 1.0)]],
    "3": [ellipse(0.45, 0.25, 0.35, 0.24, start=-1.3, turn=0.62, count=16) + ellipse(0.45, 0.74, 0.38, 0.26, start=0.0, turn=0.62, count=16)[1:]],
    "5": [[(0.85, 0.02), (0.2, 0.02), (0.15, 0.45)] + ellipse(0.5, 0.7, 0.38, 0.3, start=-1.2, turn=0.7, count=16)],
    "6": [[(0.7, 0.0), (0.3, 0.4)] + ellipse(0.5, 0.72, 0.3, 0.28, start=-2.2, turn=1.05, count=20)],
    "8": [ellipse(0.5, 0.25, 0.28, 0.24, start=3.14, turn=1.0, count=20) + ellipse(0.5, 0.74, 0.34, 0.26, start=0.0, turn=-1.0, count=20)],
    "9": [ellipse(0.5, 0.28, 0.32, 0.26, start=1.57, turn=-1.0, count=20) + [(0.82, 0.3), (0.75, 1.0)]],
}
GRID = 280  # the pad's grid (compare/report/page/drawing.js)


def variations(per_digit: int = 30, seed: int = 0) -> list[tuple[int, list[list[tuple[float, float]]]]]:
    """(label, strokes in grid pixels): each template drawn per_digit times, each time slanted
    (shear up to 0.3), turned (up to 15 degrees), narrower or wider (60-110% of its height),
    50-260 grid pixels tall, somewhere on the pad, every point off by a shaky 1% of the size."""
    rng = np.random.default_rng(seed)
    drawn = []
    for label, strokes in DIGITS.items():
        for _ in range(per_digit):
            shear, turn = rng.uniform(-0.3, 0.3), math.radians(rng.uniform(-15, 15))
            height = rng.uniform(50, 260)
            width = height * rng.uniform(0.6, 1.1)
            cos, sin = math.cos(turn), math.sin(turn)

            def place(x, y):
                u, v = (x - 0.5 + shear * (0.5 - y)) * width, (y - 0.5) * height
                return cos * u - sin * v, sin * u + cos * v

            shaky = [[place(x + rng.normal(0, 0.01), y + rng.normal(0, 0.01)) for x, y in stroke] for stroke in strokes]
            xs = [x for stroke in shaky for x, _ in stroke]
            ys = [y for stroke in shaky for _, y in stroke]
            margin = 14  # the pen's radius and a pixel: the whole stroke stays on the pad
            left = rng.uniform(margin - min(xs), max(margin - min(xs), GRID - margin - max(xs)))
            top = rng.uniform(margin - min(ys), max(margin - min(ys), GRID - margin - max(ys)))
            drawn.append((int(label), [[(x + left, y + top) for x, y in stroke] for stroke in shaky]))
    return drawn


def prepare_in_page(page, drawn) -> np.ndarray:
    """What the page (a playwright page, loaded) feeds its network for each drawing: (n, 784) float64."""
    encoded = page.evaluate(
        """(drawn) => {
            const page = window.mnistPage, out = [];
            for (const strokes of drawn) {
              page.drawing.clear();
              for (const stroke of strokes) {
                for (let i = 1; i < stroke.length; i++) {
                  page.drawing.segment({ x: stroke[i - 1][0], y: stroke[i - 1][1] }, { x: stroke[i][0], y: stroke[i][1] });
                }
              }
              out.push(...page.prepare(page.drawing.ink, page.GRID));
            }
            const raw = new Uint8Array(Float64Array.from(out).buffer);
            let text = "";
            for (let i = 0; i < raw.length; i += 8192) text += String.fromCharCode(...raw.subarray(i, i + 8192));
            return btoa(text);
        }""", [strokes for _, strokes in drawn])
    return np.frombuffer(base64.b64decode(encoded), dtype="<f8").reshape(len(drawn), 784)

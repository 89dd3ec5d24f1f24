"""Photo-like digits, generated deterministically (nothing to commit but this file).

Each image is one digit as a person would photograph it: printed in one of several
fonts (the TrueType fonts matplotlib ships, so every machine has them) or drawn as
hand-like strokes with a jittered pen, in ink of some colour on paper of some shade
(or white chalk on a dark board), then rotated a little, placed off centre, lit by a
gradient, blurred, made noisy and sometimes saved as a low-quality JPEG. The blank
images are the same paper, light and noise with no digit on them.

`python tests/photo_digits.py DIR` writes the set to DIR to look at.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SEED = 2026
DIGITS_PER_CLASS = 8  # 80 digits
BLANKS = 12

# Fonts inside matplotlib's own package data: present wherever the project installs.
FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
              "DejaVuSansMono.ttf", "STIXGeneral.ttf", "STIXGeneralItalic.ttf", "cmss10.ttf"]

INKS = {  # RGB in [0, 1]
    "black": (0.08, 0.08, 0.1),
    "blue": (0.1, 0.18, 0.6),
    "red": (0.72, 0.1, 0.12),
    "green": (0.1, 0.42, 0.2),
    "pencil": (0.3, 0.3, 0.32),
}


def font_path(name: str) -> str:
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name)


def arc(cx, cy, rx, ry, start, stop, steps=24):
    """Points of an elliptic arc; angles in degrees, y pointing down (so increasing angles
    go clockwise on the page, 0 at the right, -90 at the top)."""
    angles = np.radians(np.linspace(start, stop, steps))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def hand_strokes(digit: int, rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """The pen strokes of one digit in the unit square, in one of a couple of ways of writing it."""
    variant = int(rng.integers(2))
    if digit == 0:
        return [arc(0.5, 0.5, 0.28, 0.42, -100, 265)]
    if digit == 1:
        return [[(0.36, 0.24), (0.52, 0.08), (0.5, 0.92)]] if variant else [[(0.5, 0.08), (0.48, 0.92)]]
    if digit == 2:
        return [arc(0.5, 0.32, 0.26, 0.22, -170, 25) + [(0.2, 0.9), (0.82, 0.9)]]
    if digit == 3:
        return [arc(0.48, 0.3, 0.24, 0.2, -160, 90) + arc(0.48, 0.7, 0.28, 0.2, -90, 160)]
    if digit == 4:
        if variant:
            return [[(0.62, 0.08), (0.16, 0.64), (0.84, 0.64)], [(0.62, 0.3), (0.62, 0.92)]]
        return [[(0.26, 0.08), (0.2, 0.56), (0.82, 0.56)], [(0.66, 0.08), (0.66, 0.92)]]
    if digit == 5:
        return [[(0.78, 0.1), (0.32, 0.1), (0.28, 0.46)] + arc(0.5, 0.66, 0.28, 0.24, -150, 150)]
    if digit == 6:
        return [[(0.7, 0.08), (0.48, 0.22), (0.32, 0.45)] + arc(0.5, 0.7, 0.22, 0.21, 180, 540)]
    if digit == 7:
        top = [(0.18, 0.1), (0.82, 0.1), (0.42, 0.92)]
        return [top, [(0.38, 0.5), (0.72, 0.5)]] if variant else [top]
    if digit == 8:
        return [arc(0.5, 0.29, 0.2, 0.2, 90, 450), arc(0.5, 0.71, 0.25, 0.21, -90, 270)]
    return [arc(0.5, 0.32, 0.23, 0.21, 0, 360), [(0.73, 0.32), (0.7, 0.6), (0.6, 0.92)]]


def glyph_mask(digit: int, hand: bool, rng: np.random.Generator, side: int = 200) -> Image.Image:
    """The digit as an 8-bit coverage mask (255 = ink), about side pixels tall, upright."""
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    if hand:
        slant, squeeze = rng.uniform(-0.25, 0.2), rng.uniform(0.75, 1.1)
        width = int(side * rng.uniform(0.035, 0.13))  # a fine pen to a marker
        for stroke in hand_strokes(digit, rng):
            points = []
            for x, y in stroke:
                x, y = x + rng.normal(0, 0.012), y + rng.normal(0, 0.012)
                x = 0.5 + (x - 0.5) * squeeze + slant * (0.5 - y)
                points.append((x * side, y * side))
            draw.line(points, fill=255, width=width, joint="curve")
            for x, y in (points[0], points[-1]):  # round pen ends
                draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    else:
        font = ImageFont.truetype(font_path(FONT_FILES[int(rng.integers(len(FONT_FILES)))]), int(side * 0.8))
        left, top, right, bottom = draw.textbbox((0, 0), str(digit), font=font)
        draw.text(((side - (right - left)) / 2 - left, (side - (bottom - top)) / 2 - top), str(digit), fill=255, font=font)
    return mask


def lighting(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A multiplicative light field: a linear fall-off in a random direction, maybe a vignette."""
    rows, cols = np.mgrid[0:height, 0:width]
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (math.cos(angle) * cols / width + math.sin(angle) * rows / height)
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-9)
    light = 1.0 - rng.uniform(0.0, 0.45) * ramp
    if rng.random() < 0.4:
        r2 = ((rows / height - 0.5) ** 2 + (cols / width - 0.5) ** 2) / 0.5
        light *= 1.0 - rng.uniform(0.1, 0.3) * r2
    return light


def photograph(mask: np.ndarray | None, rng: np.random.Generator, height: int, width: int) -> Image.Image:
    """Ink (where mask, 0..1) on paper or chalk on a board, lit, blurred and noisy."""
    chalk = rng.random() < 0.15
    if chalk:
        paper = np.array([0.12, 0.2, 0.16]) * rng.uniform(0.6, 1.6)
        ink = np.full(3, rng.uniform(0.8, 0.95))
        strength = rng.uniform(0.75, 0.95)  # chalk never covers fully
    else:
        shade = rng.uniform(0.6, 1.0)
        paper = np.clip(shade * np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.88, 1.0)]), 0, 1)
        ink = np.array(list(INKS.values())[int(rng.integers(len(INKS)))])
        ink = np.minimum(ink, paper - 0.3)  # legible: at least 0.3 darker than its paper
        strength = 1.0
    image = np.broadcast_to(paper, (height, width, 3)).copy()
    if mask is not None:
        m = strength * mask[..., None]
        image = image * (1 - m) + ink * m
    image *= lighting(height, width, rng)[..., None]
    picture = Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8), "RGB")
    picture = picture.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.5)))
    noisy = np.asarray(picture, dtype=np.float64) / 255 + rng.normal(0, rng.uniform(0.0, 0.06), (height, width, 1))
    return Image.fromarray((np.clip(noisy, 0, 1) * 255).round().astype(np.uint8), "RGB")


def place(glyph: Image.Image, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """The glyph rotated a little, scaled to 40-70% of the image's height, off centre."""
    glyph = glyph.rotate(rng.uniform(-12, 12), resample=Image.Resampling.BICUBIC, expand=True)
    glyph = glyph.crop(glyph.getbbox())
    scale = rng.uniform(0.4, 0.7) * height / glyph.height
    glyph = glyph.resize((max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))),
                         Image.Resampling.LANCZOS)
    canvas = Image.new("L", (width, height), 0)
    spare_x, spare_y = width - glyph.width, height - glyph.height
    x = int(spare_x / 2 + rng.uniform(-0.4, 0.4) * spare_x)
    y = int(spare_y / 2 + rng.uniform(-0.4, 0.4) * spare_y)
    canvas.paste(glyph, (x, y))
    return np.asarray(canvas, dtype=np.float64) / 255


def save(picture: Image.Image, path: Path, rng: np.random.Generator) -> Path:
    if rng.random() < 0.5:
        path = path.with_suffix(".jpg")
        picture.save(path, quality=int(rng.integers(25, 85)))
    else:
        path = path.with_suffix(".png")
        picture.save(path)
    return path


def write_photo_digits(directory: Path, seed: int = SEED) -> tuple[list[tuple[Path, int]], list[Path]]:
    """Write the set into directory: ([(image, its digit)], [blank images])."""
    directory.mkdir(parents=True, exist_ok=True)
    digits = []
    for index in range(10 * DIGITS_PER_CLASS):
        rng = np.random.default_rng([seed, index])
        digit, hand = index % 10, (index // 10) % 2 == 1
        height, width = int(rng.integers(120, 260)), int(rng.integers(120, 260))
        mask = place(glyph_mask(digit, hand, rng), rng, height, width)
        kind = "hand" if hand else "font"
        digits.append((save(photograph(mask, rng, height, width), directory / f"{index:03d}-{kind}-{digit}", rng), digit))
    blanks = []
    for index in range(BLANKS):
        rng = np.random.default_rng([seed, 1000 + index])
        height, width = int(rng.integers(120, 260)), int(rng.integers(120, 260))
        if index % 3 == 2:  # nothing but noise around mid grey, as a dark photo of nothing
            values = np.clip(rng.normal(rng.uniform(0.3, 0.7), rng.uniform(0.05, 0.2), (height, width, 3)), 0, 1)
            picture = Image.fromarray((values * 255).astype(np.uint8), "RGB")
        else:
            picture = photograph(None, rng, height, width)
        blanks.append(save(picture, directory / f"blank-{index:02d}", rng))
    return digits, blanks


if __name__ == "__main__":  # pragma: no cover
    import sys

    written, empty = write_photo_digits(Path(sys.argv[1]))
    print(f"wrote {len(written)} digits and {len(empty)} blank images to {sys.argv[1]}")

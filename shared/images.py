"""Your own digit, prepared the way MNIST's digits were made.

MNIST digits are white on black, fitted into a 20x20 box (aspect ratio kept,
anti-aliased) and placed in a 28x28 image so that their centre of mass sits at the
centre. A photo or a drawing must go the same way, or the network sees something it
was never trained on: transparency on white, grayscale, inverted to light-on-dark,
cropped to the ink, the longer side scaled to 20, centred by mass in 28x28.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIDE = 28
BOX = 20
INK_THRESHOLD = 0.2  # of the darkest-to-lightest range: fainter pixels are paper, not ink


class ImageError(ValueError):
    """An image that cannot be read as a digit; the message names the file."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"{path}: {problem}")


def load_grayscale(path: Path | str) -> np.ndarray:
    """The image as floats in [0, 1], EXIF rotation applied, transparency on white."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageError(path, "file not found")
    if path.stat().st_size == 0:
        raise ImageError(path, "the file is empty")
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P") or "transparency" in image.info:
                background = Image.new("RGBA", image.size, "white")
                background.alpha_composite(image.convert("RGBA"))
                image = background
            gray = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    except UnidentifiedImageError:
        raise ImageError(path, "not an image Pillow can read (PNG, JPEG, ...)") from None
    except (OSError, ValueError) as error:
        raise ImageError(path, f"cannot read the image: {error}") from None
    if gray.size == 0:
        raise ImageError(path, "the image has no pixels")
    return gray


def to_mnist(gray: np.ndarray, path: Path | str = "image") -> np.ndarray:
    """A grayscale image in [0, 1] of one digit -> 28x28 floats in [0, 1], white on black."""
    from PIL import Image

    low, high = float(gray.min()), float(gray.max())
    if high - low < 1e-3:
        raise ImageError(path, "the image is all one colour: no digit to see")
    # Paper is what the border mostly is: if it is light, the ink is dark, so invert.
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ink = 1.0 - gray if np.median(border) > (low + high) / 2 else gray
    ink = (ink - ink.min()) / (ink.max() - ink.min())  # full contrast, paper at 0
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    ink = np.where(ink > INK_THRESHOLD, ink, 0.0)[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]

    # Longer side to 20 pixels, aspect ratio kept, anti-aliased.
    height, width = ink.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray((ink * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    digit = np.asarray(small, dtype=np.float64) / 255.0

    # Into 28x28 with the centre of mass at the centre (MNIST's own recipe).
    canvas = np.zeros((SIDE, SIDE))
    top, left = (SIDE - digit.shape[0]) // 2, (SIDE - digit.shape[1]) // 2
    canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    mass = canvas.sum()
    centre_row = (canvas.sum(axis=1) @ np.arange(SIDE)) / mass
    centre_col = (canvas.sum(axis=0) @ np.arange(SIDE)) / mass
    # MNIST's digits have their centre of mass at pixel (14, 14) (measured on its test
    # set: 14.0 to 14.4), not at the geometric middle 13.5: a pixel matters to thin strokes.
    shift_row = int(round(SIDE / 2 - centre_row))
    shift_col = int(round(SIDE / 2 - centre_col))
    shifted = np.zeros_like(canvas)
    src_rows = slice(max(0, -shift_row), min(SIDE, SIDE - shift_row))
    dst_rows = slice(max(0, shift_row), min(SIDE, SIDE + shift_row))
    src_cols = slice(max(0, -shift_col), min(SIDE, SIDE - shift_col))
    dst_cols = slice(max(0, shift_col), min(SIDE, SIDE + shift_col))
    shifted[dst_rows, dst_cols] = canvas[src_rows, src_cols]
    return np.clip(shifted, 0.0, 1.0)


def load_digit(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """(the original grayscale image, the 28x28 input the network sees)."""
    gray = load_grayscale(path)
    return gray, to_mnist(gray, path)

"""Your own digit, prepared the way MNIST's digits were made.

MNIST digits are white on black, fitted into a 20x20 box (aspect ratio kept,
anti-aliased) and placed in a 28x28 image so that their centre of mass sits at the
centre. A photo or a drawing must go the same way, or the network sees something it
was never trained on. A photo first has its paper taken away: the paper's brightness
(uneven under real light) is estimated as a smooth surface and subtracted, what stands
out from it by more than the noise and Otsu's threshold is the ink (darker or lighter
than the paper: pen on paper or chalk on a board), and the ink is stretched to full
contrast. Then: cropped to the ink, the longer side scaled to 20, centred by mass in 28x28.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIDE = 28
BOX = 20
WORK_SIDE = 256  # images are reduced to at most this many pixels a side before the ink is found
MAX_PIXELS = 50_000_000  # larger images are refused (JPEGs are first decoded at a reduced size)
MIN_CONTRAST = 0.06  # ink must differ from the paper by at least this (of black to white) ...
NOISE_MULTIPLE = 4.0  # ... and by this many standard deviations of the paper's noise
MIN_INK_SHARE = 0.002  # less ink than this share of the image is no digit
MAX_INK_SHARE = 0.4  # more is not one digit on paper (MNIST's boldest test digit: 33% of its 28x28)
UNSURE_BELOW = 0.7  # a top probability below this is a guess (wrong answers on the photo set: 0.61)
STROKE = 0.08  # MNIST's strokes: 0.07-0.12 of the digit's longer side (median of its test set);
THIN = 0.05  # strokes thinner than this share (a fine pen on a large image) are widened to STROKE


class ImageError(ValueError):
    """An image that cannot be read as a digit; the message names the file."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"{path}: {problem}")


@dataclass
class Digit:
    """One image as read: the original (grayscale, reduced to WORK_SIDE), the 28x28 the
    network sees, and the share of the image found to be ink."""

    original: np.ndarray
    seen: np.ndarray
    ink_share: float


def open_reduced(path: Path):
    """The image opened by Pillow, refused when it is too large to read safely; a JPEG
    is decoded at a reduced size (draft mode), which costs a fraction of the full decode."""
    from PIL import Image

    # Pillow's own limit would refuse a huge image by its total only, in Pillow's words. Opening
    # reads only the header, so it is lifted for the open and our lower limit below says the
    # image's own size; nothing is decoded before that check.
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        image = Image.open(path)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    width, height = image.size
    reduced = image.format == "JPEG" and width * height > WORK_SIDE**2
    if reduced:
        image.draft(image.mode if image.mode in ("L", "RGB") else "RGB", (WORK_SIDE, WORK_SIDE))
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise ImageError(path, f"the image is {width:,}x{height:,} pixels ({width * height / 1e6:,.0f} megapixels), "
                               f"more than the {MAX_PIXELS / 1e6:.0f} megapixels this reads"
                               f"{' even decoded at a reduced size' if reduced else ''}; scale it down first")
    return image


def to_gray_array(image) -> np.ndarray:
    """Pixels as floats in [0, 1]: 16-bit and 32-bit grayscale scaled (not clipped) to it.

    Integer pixels are divided by the largest value of the bit depth they use (at least 8 bits):
    a 10-, 12- or 14-bit sensor's image stored in a 16-bit PNG reads as bright as it looks
    rather than nearly black, and a flat image stays flat (scaled, not stretched to its range)."""
    from PIL import Image

    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        finite = np.isfinite(values)
        if not finite.any():
            raise ValueError("it holds no finite pixel value (only NaN or infinite ones)")
        if not finite.all():  # a float image's NaN and infinities: its darkest and brightest finite values
            low, high = values[finite].min(), values[finite].max()
            values = np.where(np.isnan(values), low, np.clip(values, low, high))
        if image.mode.startswith("I;16") or (image.mode == "I" and 0 <= values.min() and values.max() <= 65535):
            bits = max(8, int(values.max()).bit_length())
            return values / float(2**bits - 1)
        low, high = float(values.min()), float(values.max())
        return (values - low) / (high - low) if high > low else np.zeros_like(values)
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        background = Image.new("RGBA", image.size, "white")
        background.alpha_composite(image.convert("RGBA"))
        image = background
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def load_grayscale(path: Path | str) -> np.ndarray:
    """The image as floats in [0, 1], EXIF rotation applied, transparency on white, reduced
    so its longer side is at most WORK_SIDE (plenty for a 20-pixel box)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageError(path, "file not found")
    if path.stat().st_size == 0:
        raise ImageError(path, "the file is empty")
    try:
        with warnings.catch_warnings():
            # Pillow's warnings of a damaged but readable file ("Corrupt EXIF data") are not ours to print
            warnings.simplefilter("ignore", UserWarning)
            with open_reduced(path) as image:
                image = ImageOps.exif_transpose(image)
                gray = to_gray_array(image)
    except UnidentifiedImageError:
        raise ImageError(path, "not an image Pillow can read (PNG, JPEG, ...)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        # (Pillow says "broken PNG file" of a damaged chunk, found while decoding, as a SyntaxError)
        if isinstance(error, ImageError):
            raise
        raise ImageError(path, f"cannot read the image: {error}") from None
    if gray.size == 0:
        raise ImageError(path, "the image has no pixels")
    if max(gray.shape) > WORK_SIDE:
        scale = WORK_SIDE / max(gray.shape)
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = np.asarray(Image.fromarray(gray.astype(np.float32), "F").resize(size, Image.Resampling.BOX),
                          dtype=np.float64)
    return np.clip(gray, 0.0, 1.0)


def paper_surface(gray: np.ndarray, degree: int = 3) -> np.ndarray:
    """The paper's brightness under the light as a smooth polynomial surface, fitted to the
    pixels that are paper. Rounds of growing degree (a constant, a plane, ... a cubic), each
    leaving out what lies far from the last fit: the ink, however much of the image it takes."""
    height, width = gray.shape
    step = max(1, max(height, width) // 64)  # fit on a grid of at most 64x64 samples
    rows, cols = np.mgrid[0:height:step, 0:width:step]
    values = gray[::step, ::step].ravel()

    def basis(r, c, d):
        y, x = 2 * r / max(height - 1, 1) - 1, 2 * c / max(width - 1, 1) - 1
        return np.stack([x**i * y**j for i in range(d + 1) for j in range(d + 1 - i)], axis=-1)

    coefficients, fit_degree = np.array([np.median(values)]), 0  # the paper is most of the image
    residual = values - coefficients[0]
    paper = np.abs(residual) <= max(2.5 * noise_level(residual), 2e-3)
    for d in [1, 2, *[degree] * 3]:
        d = min(d, degree)
        design = basis(rows.ravel(), cols.ravel(), d)
        if paper.sum() < design.shape[1] * 4:
            break
        A = design[paper]  # least squares by the normal equations: 10 unknowns at most, x and y in [-1, 1]
        coefficients = np.linalg.solve(A.T @ A + 1e-9 * np.eye(A.shape[1]), A.T @ values[paper])
        fit_degree = d
        residual = values - design @ coefficients
        paper = np.abs(residual) <= max(2.5 * noise_level(residual[paper]), 2e-3)
    all_rows, all_cols = np.mgrid[0:height, 0:width]
    return basis(all_rows, all_cols, fit_degree) @ coefficients


def box_blur(image: np.ndarray, radius: int = 1) -> np.ndarray:
    padded = np.pad(image, radius, mode="edge")
    size = 2 * radius + 1
    height, width = image.shape
    return sum(padded[i : i + height, j : j + width] for i in range(size) for j in range(size)) / size**2


def dilate(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    padded = np.pad(mask, radius)
    height, width = mask.shape
    out = np.zeros_like(mask)
    for i in range(2 * radius + 1):
        for j in range(2 * radius + 1):
            out = np.maximum(out, padded[i : i + height, j : j + width])
    return out


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """The threshold that best splits values into two classes (Otsu, 1979: the largest
    between-class variance)."""
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts)
    mass = np.cumsum(counts * centres)
    total, total_mass = weight[-1], mass[-1]
    below, above = weight[:-1], total - weight[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mass * below - total * mass[:-1]) ** 2 / (below * above)
    return float(edges[1:][np.nanargmax(np.nan_to_num(between, nan=-1.0))])


def noise_level(values: np.ndarray, rounds: int = 4) -> float:
    """The standard deviation of the paper's noise, from the median absolute deviation,
    recomputed without what lies beyond 3 of it (the ink, which may be a quarter of the image)."""
    values = values.ravel()
    spread = 1.4826 * float(np.median(np.abs(values - np.median(values))))
    for _ in range(rounds):
        kept = values[np.abs(values - np.median(values)) <= 3 * spread]
        if kept.size < 16:
            break
        spread = 1.4826 * float(np.median(np.abs(kept - np.median(kept))))
    return spread


def find_ink(gray: np.ndarray) -> np.ndarray:
    """Ink strength in [0, 1] per pixel (0 = paper), whatever the colour of ink and paper
    and however uneven the light: the paper's surface subtracted, the ink's sign found,
    a threshold above the noise and Otsu's, the ink stretched to full contrast."""
    residual = gray - paper_surface(gray)
    smooth = box_blur(residual) if min(gray.shape) >= 48 else residual  # small images are clean drawings

    floor = max(NOISE_MULTIPLE * noise_level(smooth[::2, ::2]), MIN_CONTRAST)  # a quarter of the pixels is plenty
    darker = float(np.sum(-smooth[smooth < -floor]))
    lighter = float(np.sum(smooth[smooth > floor]))
    sign = -1.0 if darker >= lighter else 1.0  # dark ink on light paper, or chalk on a board
    ink, smooth = sign * residual, sign * smooth
    candidates = smooth[smooth > floor]
    if candidates.size < max(4, MIN_INK_SHARE * gray.size):
        return np.zeros_like(gray)
    threshold = max(floor, otsu_threshold(smooth[smooth > floor / 2])) if candidates.size > 16 else floor
    mask = smooth > threshold
    if not mask.any():
        return np.zeros_like(gray)
    full = float(np.median(ink[mask]))  # the body of a stroke: full ink, as MNIST's 255
    low = threshold / 2
    strength = np.clip((ink - low) / max(full - low, 1e-6), 0.0, 1.0)
    return strength * dilate(mask.astype(np.float64))  # specks of noise away from the ink go


def thicken(ink: np.ndarray) -> np.ndarray:
    """Strokes much thinner than MNIST's (a fine pen on a large image) widened to MNIST's
    typical width. A stroke's width is its area over half its outline."""
    mask = ink > 0.5
    outline = mask & ~(dilate((~mask).astype(np.float64)) == 0)
    if outline.sum() == 0:
        return ink
    width = 2 * mask.sum() / outline.sum()
    if width >= THIN * max(ink.shape):
        return ink
    radius = int(round((STROKE * max(ink.shape) - width) / 2))
    return dilate(ink, radius) if radius >= 1 else ink


def crop_to_ink(ink: np.ndarray, trim: float = 0.002) -> np.ndarray:
    """The smallest box holding all but a `trim` share of the ink's mass on each side,
    so a stray speck does not widen the box."""
    def span(mass):
        share = np.cumsum(mass) / mass.sum()
        return int(np.searchsorted(share, trim)), int(np.searchsorted(share, 1 - trim)) + 1

    top, bottom = span(ink.sum(axis=1))
    left, right = span(ink.sum(axis=0))
    return ink[top:bottom, left:right]


def fit_to_mnist(ink: np.ndarray) -> np.ndarray:
    """Ink (paper at 0) -> 28x28: the longer side to 20, centred by mass."""
    from PIL import Image

    ink = thicken(crop_to_ink(ink))
    # Longer side to 20 pixels, aspect ratio kept, anti-aliased.
    height, width = ink.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray(ink.astype(np.float32), "F").resize(size, Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(small, dtype=np.float64), 0.0, 1.0)

    # Into 28x28 with the centre of mass at the centre (MNIST's own recipe).
    canvas = np.zeros((SIDE, SIDE))
    top, left = (SIDE - digit.shape[0]) // 2, (SIDE - digit.shape[1]) // 2
    canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    mass = canvas.sum()
    if mass <= 0:
        return canvas
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


def two_tone_share(gray: np.ndarray) -> float:
    """When the image is two clearly separate tones (Otsu's split, the classes' means at
    least 5 of their spreads apart), the share of the tone that is not the border's: the
    ink's share even where the ink is most of the image and no paper can be fitted."""
    threshold = otsu_threshold(gray)
    low, high = gray[gray <= threshold], gray[gray > threshold]
    if low.size == 0 or high.size == 0:
        return 0.0
    spread = np.sqrt((low.var() * low.size + high.var() * high.size) / gray.size)
    if high.mean() - low.mean() < 5 * max(spread, 1e-3):
        return 0.0
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper_is_light = np.median(border) > threshold
    return float(low.size / gray.size if paper_is_light else high.size / gray.size)


def prepare(gray: np.ndarray) -> Digit:
    """A grayscale image of one digit -> the Digit the network sees (all zero when no ink)."""
    if float(gray.max() - gray.min()) < 1e-3:  # all one colour: nothing to read (a warning, not an error,
        return Digit(original=gray, seen=np.zeros((SIDE, SIDE)), ink_share=0.0)  # so other images still are)
    ink = find_ink(gray)
    share = max(float(np.mean(ink > 0.5)), two_tone_share(gray))
    seen = fit_to_mnist(ink) if ink.any() else np.zeros((SIDE, SIDE))
    return Digit(original=gray, seen=seen, ink_share=share)


def read_digit(path: Path | str) -> Digit:
    return prepare(load_grayscale(path))


def digit_warnings(digit: Digit, top_probability: float | None) -> list[str]:
    """Why an answer should not be trusted: nothing to read, not one digit, or a guess."""
    if digit.ink_share > MAX_INK_SHARE:
        return [f"ink covers {digit.ink_share:.0%} of the image: expected one digit on plain paper"]
    if digit.ink_share < MIN_INK_SHARE or not digit.seen.any():
        return ["no ink found: nothing stands out from the paper, so there is no digit to read"]
    found = []
    if top_probability is not None and top_probability < UNSURE_BELOW:
        found.append(f"the model is unsure (top probability {top_probability:.0%}, below "
                     f"{UNSURE_BELOW:.0%}): the answer is a guess")
    return found

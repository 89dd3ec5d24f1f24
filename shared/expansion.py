"""Expanded training data, as in chapter 6 of Nielsen's book: more images made from the ones there are.

"shifts" adds each image moved by one pixel up, down, left and right (the gap filled with
background, 0), as the book's expand_mnist.py does: 5 images for each one. "rotations" adds it
turned about its centre by a seeded random angle of ROTATION_DEGREES each way (bilinear, the
corners filled with 0): 3 for each. "shifts+rotations": 7. Made once, from the uint8 images,
before any implementation sees them, so every implementation trains on the same images.
"""

from __future__ import annotations

import numpy as np

ROTATION_DEGREES = (5.0, 15.0)  # the size of each rotation is drawn from this range
SHIFTS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # (rows, columns): up, down, left, right
CHUNK = 4096  # images rotated at a time: bounded temporary arrays
STREAM = 6  # the rotations' random stream, apart from the initialization's and the batches'


def copies(kind: str) -> int:
    """How many images each training image becomes."""
    return 1 + 4 * ("shifts" in kind) + 2 * ("rotations" in kind)


def shift(images: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Every image moved by (rows, columns) pixels; what moves out is dropped, what comes in is 0."""
    moved = np.zeros_like(images)
    height, width = images.shape[1:]
    target = (slice(None), slice(max(rows, 0), height + min(rows, 0)), slice(max(columns, 0), width + min(columns, 0)))
    source = (slice(None), slice(max(-rows, 0), height + min(-rows, 0)), slice(max(-columns, 0), width + min(-columns, 0)))
    moved[target] = images[source]
    return moved


def rotate(images: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """Image k turned by degrees[k] (counter-clockwise as displayed) about its centre, bilinear."""
    out = np.empty_like(images)
    height, width = images.shape[1:]
    centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    y, x = y - centre_y, x - centre_x
    padded = np.zeros((images.shape[0], height + 2, width + 2), dtype=np.float64)
    padded[:, 1:-1, 1:-1] = images
    for start in range(0, len(images), CHUNK):
        theta = np.radians(degrees[start : start + CHUNK])[:, None, None]
        cos, sin = np.cos(theta), np.sin(theta)
        # Each output pixel reads the input at the point that the rotation takes to it (rows grow
        # downwards, so turning the picture counter-clockwise is the inverse rotation of (x, y)).
        source_x = cos * x - sin * y + centre_x + 1  # +1: into the zero-padded frame
        source_y = sin * x + cos * y + centre_y + 1
        source_x = np.clip(source_x, 0, width + 1 - 1e-9)
        source_y = np.clip(source_y, 0, height + 1 - 1e-9)
        left, top = np.floor(source_x).astype(np.intp), np.floor(source_y).astype(np.intp)
        fx, fy = source_x - left, source_y - top
        frames = padded[start : start + CHUNK]
        index = np.arange(len(frames))[:, None, None]
        right, bottom = np.minimum(left + 1, width + 1), np.minimum(top + 1, height + 1)
        value = ((1 - fy) * ((1 - fx) * frames[index, top, left] + fx * frames[index, top, right])
                 + fy * ((1 - fx) * frames[index, bottom, left] + fx * frames[index, bottom, right]))
        out[start : start + CHUNK] = np.clip(np.rint(value), 0, 255).astype(images.dtype)
    return out


def expand(images: np.ndarray, labels: np.ndarray, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The training images (count, rows, columns) followed by the ones made from them, and their labels."""
    if kind == "none":
        return images, labels
    parts = [images]
    if "shifts" in kind:
        parts += [shift(images, rows, columns) for rows, columns in SHIFTS]
    if "rotations" in kind:
        size = np.random.default_rng([seed, STREAM]).uniform(*ROTATION_DEGREES, len(images))
        parts += [rotate(images, size), rotate(images, -size)]
    return np.concatenate(parts), np.tile(labels, len(parts))

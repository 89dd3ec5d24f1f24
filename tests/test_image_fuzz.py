"""Damaged and strange images (issue 23.15): whatever the bytes, reading a digit gives either a
28x28 in [0, 1] or an ImageError of one line naming the file, never another exception. Fuzzed
by hypothesis from valid files of each format Pillow reads, flipped, overwritten and cut."""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from shared.images import ImageError, read_digit


def digit_image() -> np.ndarray:
    image = np.full((40, 32), 230, np.uint8)
    image[8:32, 14:19] = 20  # a one
    image[8:12, 10:19] = 20
    return image


def encoded(format_name: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(digit_image())
    if format_name == "TIFF-F":
        image = Image.fromarray(digit_image().astype(np.float32) / 255, "F")
        format_name = "TIFF"
    image.save(buffer, format=format_name)
    return buffer.getvalue()


VALID = {name: encoded(name) for name in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "TIFF-F", "WEBP")}


def read_bytes_as_digit(data: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            digit = read_digit(path)
        except ImageError as error:
            assert str(error).startswith(str(path)) and "\n" not in str(error)
            return None
        assert digit.seen.shape == (28, 28) and np.all(np.isfinite(digit.seen))
        assert 0 <= digit.seen.min() and digit.seen.max() <= 1
        assert math.isfinite(digit.ink_share)
        return digit


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(VALID)), st.data())
def test_damaged_images_give_a_digit_or_one_line(format_name, data):
    content = bytearray(VALID[format_name])
    for _ in range(data.draw(st.integers(1, 6), label="changes")):
        position = data.draw(st.integers(0, len(content) - 1), label="position")
        content[position] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(0, len(content) // 2), label="cut")
    read_bytes_as_digit(bytes(content[: len(content) - cut]), ".img")


@pytest.mark.parametrize("special", [np.inf, -np.inf, np.nan])
def test_a_float_tiff_holding_inf_or_nan_still_reads(tmp_path, special):
    values = digit_image().astype(np.float32) / 255
    values[0, 0] = special
    Image.fromarray(values, "F").save(tmp_path / "d.tiff")
    digit = read_bytes_as_digit((tmp_path / "d.tiff").read_bytes(), ".tiff")
    assert digit is not None and digit.seen.any()  # the one is still found


def test_a_float_tiff_of_nothing_but_nan_is_one_line(tmp_path):
    Image.fromarray(np.full((20, 20), np.nan, np.float32), "F").save(tmp_path / "d.tiff")
    with pytest.raises(ImageError, match="no finite"):
        read_digit(tmp_path / "d.tiff")


def test_a_broken_png_is_one_line(tmp_path):
    content = bytearray(VALID["PNG"])
    assert content[37:41] == b"IDAT"
    content[33:37] = bytes(4)  # an IDAT of length 0: the next "chunk" is read from its data, and Pillow,
    # decoding, says "broken PNG file" as a SyntaxError (13 of 7,200 fuzzed images did so)
    (tmp_path / "broken.png").write_bytes(bytes(content))
    with pytest.raises(ImageError, match="broken.png"):
        read_digit(tmp_path / "broken.png")

"""`compare predict` on photo-like digits (tests/photo_digits.py) and on hostile image files:
the paper taken away whatever its shade and light, a warning where there is nothing to read
or the answer is a guess, and one-line errors for files too large to read safely."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import shared.images
from compare.cli import main
from photo_digits import write_photo_digits
from shared.images import Digit, digit_warnings, load_grayscale, read_digit

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "mnist-mlp.npz"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def photo_set(tmp_path_factory):
    return write_photo_digits(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="module")
def photo_answers(photo_set):
    digits, blanks = photo_set
    result = invoke("predict", SHIPPED, "--json", *[path for path, _ in digits], *blanks)
    assert result.exit_code == 0, result.output
    return {Path(a["image"]): a for a in json.loads(result.output)["images"]}


def test_the_set_is_varied_and_deterministic(photo_set, tmp_path):
    digits, blanks = photo_set
    assert len(digits) >= 60 and len(blanks) >= 8
    assert sorted({label for _, label in digits}) == list(range(10))
    assert {path.suffix for path, _ in digits} == {".png", ".jpg"}
    again, _ = write_photo_digits(tmp_path)
    assert [p.read_bytes() for p, _ in again[:5]] == [p.read_bytes() for p, _ in digits[:5]]


def test_the_shipped_model_reads_photo_like_digits(photo_set, photo_answers):
    digits, _ = photo_set
    correct = sum(photo_answers[path]["prediction"] == label for path, label in digits)
    # 21 of 80 before the paper was taken away (the grey paper became a box the network read as 8);
    # 79 of 80 now.
    assert correct >= 0.9 * len(digits), f"{correct} of {len(digits)}"


def test_the_shipped_model_is_sure_of_the_photo_digits_it_reads(photo_set, photo_answers):
    """Trained on expanded data (shifts and small rotations, issue 21): of the photo digits it reads
    right, 2 are under the 70% line; 4 were with the same network trained on the 60,000 images alone."""
    digits, _ = photo_set
    unsure = [path for path, label in digits if photo_answers[path]["prediction"] == label
              and any("unsure" in warning for warning in photo_answers[path]["warnings"])]
    assert len(unsure) <= 2, unsure


def test_every_blank_image_warns_and_names_no_digit(photo_set, photo_answers):
    _, blanks = photo_set
    for path in blanks:
        answer = photo_answers[path]
        assert answer["prediction"] is None, path
        assert any("no ink found" in w for w in answer["warnings"]), path


def test_warnings_are_printed_under_their_image(photo_set):
    digits, blanks = photo_set
    result = invoke("predict", SHIPPED, digits[0][0], blanks[0])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"{digits[0][0]}: {digits[0][1]} (100.0%)" or lines[0].startswith(f"{digits[0][0]}: {digits[0][1]} (")
    assert lines[2] == f"{blanks[0]}: no digit found"
    assert lines[3].startswith("  warning: no ink found")


def test_an_unsure_answer_warns(photo_set, monkeypatch):
    assert digit_warnings(Digit(np.zeros((5, 5)), np.ones((28, 28)), 0.1), 0.42) == [
        "the model is unsure (top probability 42%, below 70%): the answer is a guess"]
    monkeypatch.setattr(shared.images, "UNSURE_BELOW", 1.01)  # every answer is now a guess
    digits, _ = photo_set
    result = invoke("predict", SHIPPED, digits[1][0])
    assert "  warning: the model is unsure (top probability" in result.output
    answer = json.loads(invoke("predict", SHIPPED, "--json", digits[1][0]).output)["images"][0]
    assert answer["prediction"] == digits[1][1] and "unsure" in answer["warnings"][0]


def test_ink_covering_most_of_the_image_warns(tmp_path):
    squares = np.kron((np.indices((6, 6)).sum(axis=0) % 2), np.ones((30, 30)))  # a chessboard
    Image.fromarray((squares * 255).astype(np.uint8)).save(tmp_path / "board.png")
    answer = json.loads(invoke("predict", SHIPPED, "--json", tmp_path / "board.png").output)["images"][0]
    assert any("ink covers" in w for w in answer["warnings"]), answer


@pytest.mark.parametrize("ink,paper", [(0.05, 0.95), (0.95, 0.1), (0.3, 0.6), (0.55, 0.85)])
def test_ink_and_paper_of_any_shade_give_the_same_digit(mnist, tmp_path, ink, paper):
    """Dark on light, chalk on a board, pencil on grey paper: the same 28x28 comes out."""
    digit = mnist.test_images[3] / 255.0
    Image.fromarray(((paper + (ink - paper) * digit) * 255).round().astype(np.uint8)).resize(
        (140, 140), Image.Resampling.BICUBIC).save(tmp_path / "d.png")
    seen = read_digit(tmp_path / "d.png").seen
    assert np.corrcoef(seen.ravel(), digit.ravel())[0, 1] > 0.8


def test_a_lighting_gradient_alone_is_no_digit(tmp_path):
    rows, cols = np.mgrid[0:200, 0:160]
    Image.fromarray((255 * (0.9 - 0.4 * cols / 160 - 0.1 * rows / 200)).astype(np.uint8)).save(tmp_path / "light.png")
    answer = json.loads(invoke("predict", SHIPPED, "--json", tmp_path / "light.png").output)["images"][0]
    assert answer["prediction"] is None and "no ink found" in answer["warnings"][0]


def test_a_16_bit_grayscale_png_is_scaled_not_clipped(mnist, tmp_path):
    digit = mnist.test_images[0] / 255.0  # a 7
    values = (60000 + (8000 - 60000) * digit).astype(np.uint16)  # ink 8000 on paper 60000
    Image.fromarray(values).save(tmp_path / "sixteen.png")
    assert Image.open(tmp_path / "sixteen.png").mode.startswith("I;16")
    gray = load_grayscale(tmp_path / "sixteen.png")
    assert gray.max() == pytest.approx(60000 / 65535) and gray.min() < 0.2
    result = invoke("predict", SHIPPED, tmp_path / "sixteen.png")
    assert result.exit_code == 0 and result.output.startswith(f"{tmp_path / 'sixteen.png'}: 7 ("), result.output


@pytest.mark.parametrize("ink,paper", [(100, 1100), (1100, 100), (40, 4000)])
def test_a_16_bit_png_of_fewer_bits_is_read_by_its_bit_depth(mnist, tmp_path, ink, paper):
    """Values 100-1100 use 11 bits (a sensor's 10-14 bits in a 16-bit file): scaled by 2047,
    not 65535, so the digit stands out from the paper and is found."""
    digit = mnist.test_images[0] / 255.0  # a 7
    Image.fromarray((paper + (ink - paper) * digit).round().astype(np.uint16)).save(tmp_path / "eleven.png")
    assert Image.open(tmp_path / "eleven.png").mode.startswith("I;16")
    bits = max(ink, paper).bit_length()
    assert load_grayscale(tmp_path / "eleven.png").max() == pytest.approx(max(ink, paper) / (2**bits - 1))
    result = invoke("predict", SHIPPED, tmp_path / "eleven.png")
    assert result.exit_code == 0 and result.output.startswith(f"{tmp_path / 'eleven.png'}: 7 ("), result.output


def test_a_flat_16_bit_png_is_still_no_digit(tmp_path):
    """Scaling by the bit depth keeps a flat image flat: noise of 100-110 is not stretched into ink."""
    noise = np.random.default_rng(0).integers(100, 111, (120, 120)).astype(np.uint16)
    Image.fromarray(noise).save(tmp_path / "flat.png")
    answer = json.loads(invoke("predict", SHIPPED, "--json", tmp_path / "flat.png").output)["images"][0]
    assert answer["prediction"] is None, answer


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (its data is one short row)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side,words", [
    (100_000, "the image is 100,000x100,000 pixels (10,000 megapixels), more than the 50 megapixels this reads"),
    (12_000, "the image is 12,000x12,000 pixels (144 megapixels), more than the 50 megapixels this reads"),
])
def test_images_too_large_to_read_safely_get_one_line(tmp_path, side, words, recwarn):
    path = tmp_path / "huge.png"
    path.write_bytes(png_declaring(side, side))
    result = invoke("predict", SHIPPED, path)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: ") and words in lines[0], lines
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


def test_a_large_jpeg_is_decoded_small(tmp_path):
    Image.new("RGB", (4000, 3000), "white").save(tmp_path / "big.jpg")
    with Image.open(tmp_path / "big.jpg") as image:
        assert image.size == (4000, 3000)
    assert max(load_grayscale(tmp_path / "big.jpg").shape) <= shared.images.WORK_SIDE


def test_a_file_name_with_dollars_is_drawn_as_plain_text(photo_set, tmp_path):
    odd = tmp_path / "a$^$b $\\frac$ c.png"  # mathtext would fail to parse this
    odd.write_bytes(photo_set[0][0][0].read_bytes())
    result = invoke("predict", SHIPPED, odd, "--show", tmp_path / "show.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "show.png").stat().st_size > 10_000

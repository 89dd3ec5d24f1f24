"""`compare predict` on digits as a person would photograph or draw them."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from compare.cli import main
from shared.images import ImageError, prepare, read_digit

SHIPPED = __import__("pathlib").Path(__file__).resolve().parent.parent / "models" / "mnist-mlp.npz"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def render(pixels: np.ndarray, path, variant: int) -> None:
    """A test digit as someone's image: by turns inverted (dark ink on white paper),
    shifted off centre on a larger sheet, and scaled up to 200x200."""
    image = pixels.astype(np.uint8)
    if variant % 2 == 0:
        image = 255 - image  # dark on light
    paper = 255 if variant % 2 == 0 else 0
    if variant % 3 == 0:
        sheet = np.full((60, 50), paper, dtype=np.uint8)
        top, left = (variant * 7) % 30, (variant * 11) % 20
        sheet[top : top + 28, left : left + 28] = image
        image = sheet
    picture = Image.fromarray(image)
    if variant % 4 != 3:
        picture = picture.resize((200, 200), Image.Resampling.BICUBIC)
    picture.save(path)


def test_the_shipped_model_reads_rendered_test_digits(mnist, tmp_path):
    paths = []
    for i in range(100):
        path = tmp_path / f"digit-{i:03d}.png"
        render(mnist.test_images[i], path, i)
        paths.append(path)
    result = invoke("predict", SHIPPED, *paths)
    assert result.exit_code == 0, result.output
    predicted = [int(line.split(": ")[1].split(" ")[0]) for line in result.output.splitlines() if line.startswith(str(tmp_path))]
    correct = sum(p == label for p, label in zip(predicted, mnist.test_labels[:100]))
    assert len(predicted) == 100 and correct >= 90, correct


def test_preprocessing_gives_back_an_mnist_digit(mnist):
    original = mnist.test_images[0] / 255.0
    again = prepare(1.0 - original).seen  # the same digit, dark on light
    assert again.shape == (28, 28) and 0.0 <= again.min() and again.max() <= 1.0
    # Mass centred at pixel (14, 14), like MNIST's own, to within half a pixel.
    rows, cols = np.indices(again.shape)
    assert abs((again * rows).sum() / again.sum() - 14) <= 0.5
    assert abs((again * cols).sum() / again.sum() - 14) <= 0.5
    assert np.corrcoef(again.ravel(), original.ravel())[0, 1] > 0.8


def test_transparent_png_is_put_on_white(tmp_path, mnist):
    ink = mnist.test_images[1]
    rgba = np.zeros((28, 28, 4), dtype=np.uint8)
    rgba[..., 3] = ink  # black ink where alpha says so, transparent elsewhere
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    digit = read_digit(tmp_path / "t.png").seen
    assert np.corrcoef(digit.ravel(), ink.ravel() / 255.0)[0, 1] > 0.8


def test_show_writes_a_picture(tmp_path, mnist):
    render(mnist.test_images[2], tmp_path / "d.png", 1)
    result = invoke("predict", SHIPPED, tmp_path / "d.png", "--show", tmp_path / "out.png")
    assert result.exit_code == 0
    with Image.open(tmp_path / "out.png") as image:
        assert image.size[0] == 1000 and image.format == "PNG"


@pytest.mark.parametrize(
    "make,words",
    [
        (lambda p: p.write_text("not an image"), "not an image"),
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), "cannot read the image"),
    ],
)
def test_bad_images_get_one_line_errors(tmp_path, make, words):
    path = tmp_path / "bad.png"
    make(path)
    result = invoke("predict", SHIPPED, path)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: "), lines
    assert words in lines[0] or "not an image" in lines[0], lines[0]
    with pytest.raises(ImageError):
        read_digit(path)


def test_missing_image(tmp_path):
    result = invoke("predict", SHIPPED, tmp_path / "nope.png")
    assert result.exit_code == 1 and "file not found" in result.output


def test_a_one_colour_image_is_no_digit_and_the_others_are_still_read(tmp_path, mnist):
    """A blank sheet among photos: 'no digit found' with its warning, the rest answered, exit 0."""
    Image.new("L", (50, 40), 255).save(tmp_path / "blank.png")
    Image.new("RGB", (50, 40), (0, 0, 0)).save(tmp_path / "black.png")
    render(mnist.test_images[2], tmp_path / "d.png", 1)
    result = invoke("predict", SHIPPED, tmp_path / "blank.png", tmp_path / "d.png", tmp_path / "black.png")
    assert result.exit_code == 0, result.output
    assert f"{tmp_path / 'blank.png'}: no digit found" in result.output
    assert f"{tmp_path / 'black.png'}: no digit found" in result.output
    assert f"{tmp_path / 'd.png'}: {mnist.test_labels[2]} (" in result.output
    assert result.output.count("warning: no ink found") == 2

"""The report of a tiny run: every file is there, every PNG decodes at its size, the
results validate against the schema, and saved results rebuild a report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from compare.cli import main
from compare.report.drawing import DPI
from compare.report.figures import FIGURES
from compare.report.results import SCHEMA_VERSION, load_results, schema_problem
from test_page import browser  # noqa: F401 - the Chromium fixture of the page's tests

TINY = ["--sizes", "784,9,10", "--train-limit", "400", "--test-limit", "300", "--epochs", "2"]
FILES = ["results.json", "report.md", "report.html", "model.npz", "page.html"] + [f"{name}.png" for name in FIGURES]


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def tiny_run_of(impls: str, name: str, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    result = invoke("run", "--impl", impls, *TINY, "--name", name, "--reports-dir", str(reports))
    assert result.exit_code == 0, result.output
    return reports / name, result.output


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return tiny_run_of("scratch,numpy", "tiny", tmp_path_factory)


def test_every_file_is_written(tiny_run):
    directory, output = tiny_run
    for name in FILES:
        assert (directory / name).is_file(), name
    assert f"Wrote {directory / 'results.json'}" in output
    assert not list(directory.glob(".*tmp"))  # no temporary files left behind


@pytest.mark.parametrize("figure", list(FIGURES))
def test_each_png_decodes_at_its_size(tiny_run, figure):
    directory, _ = tiny_run
    with Image.open(directory / f"{figure}.png") as image:
        image.load()
        width, height = FIGURES[figure].size
        assert image.size == (round(width * DPI), round(height * DPI))
        assert image.format == "PNG"
        # Not a blank canvas: a real figure has many colours.
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or range(1 << 20)) > 20


def test_results_validate_against_the_schema(tiny_run):
    directory, _ = tiny_run
    document = json.loads((directory / "results.json").read_text())
    assert schema_problem(document) is None
    assert document["schema_version"] == SCHEMA_VERSION
    assert [i["name"] for i in document["implementations"]] == ["scratch", "numpy"]
    assert document["environment"]["cores"] >= 1 and document["environment"]["numpy"] == np.__version__
    assert document["gradients"]["passed"] is True
    epochs = document["implementations"][1]["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert len(epochs[0]["loss_curve"]) >= 40
    assert document["implementations"][0]["peak_rss_bytes"] > 10 * 2**20
    assert np.array(document["visuals"]["first_layer_weights"]).shape == (9, 784)
    assert sum(map(sum, document["visuals"]["confusion"])) == 300


def test_a_broken_results_file_fails_validation(tiny_run, tmp_path):
    directory, _ = tiny_run
    document = json.loads((directory / "results.json").read_text())
    document["implementations"][0]["final"]["test_accuracy"] = 1.5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    result = invoke("report", str(bad))
    assert result.exit_code == 1
    assert "implementations/0/final/test_accuracy" in result.output
    (tmp_path / "text.json").write_text("{not json")
    assert "not a results file" in invoke("report", str(tmp_path / "text.json")).output
    document["schema_version"] = 99
    bad.write_text(json.dumps(document))
    assert "schema_version is 99" in invoke("report", str(bad)).output


def test_report_md_and_html_say_the_same_things(tiny_run):
    directory, _ = tiny_run
    markdown = (directory / "report.md").read_text()
    page = (directory / "report.html").read_text()
    for text in ("Summary", "vs fastest", "The process peaked at", "Do they compute the same thing?",
                 "finite differences", "lie on top of each other"):
        assert text in markdown and text in page, text
    assert "](curves.png)" in markdown
    assert page.count("data:image/png;base64,") == 7  # self-contained: every figure inline
    assert 'src="curves.png"' not in page


def test_report_rebuilds_and_compares_runs(tiny_run, tmp_path):
    directory, _ = tiny_run
    second = tmp_path / "reports"
    result = invoke("run", "--impl", "numpy", *TINY, "--dtype", "float32", "--name", "f32",
                    "--reports-dir", str(second), "--quiet")
    assert result.exit_code == 0 and result.output == ""
    out = tmp_path / "side-by-side"
    result = invoke("report", str(directory / "results.json"), str(second / "f32" / "results.json"), "--out", str(out))
    assert result.exit_code == 0, result.output
    markdown = (out / "report.md").read_text()
    assert "tiny vs f32" in markdown and "| run |" in markdown
    assert (out / "gradients-1.png").is_file() and (out / "gradients-2.png").is_file()
    assert load_results(second / "f32" / "results.json")["implementations"][0]["dtype"] == "float32"


def test_a_run_is_not_overwritten_without_force(tiny_run):
    directory, _ = tiny_run
    before = (directory / "results.json").read_bytes()
    result = invoke("run", "--impl", "numpy", *TINY, "--name", "tiny", "--reports-dir", str(directory.parent))
    assert result.exit_code == 2 and "--force" in result.output
    assert (directory / "results.json").read_bytes() == before
    result = invoke("run", "--impl", "numpy", *TINY, "--name", "tiny", "--reports-dir", str(directory.parent), "--force", "-q")
    assert result.exit_code == 0
    assert (directory / "results.json").read_bytes() != before


def test_json_output_is_the_results_document(tmp_path):
    result = invoke("run", "--impl", "numpy", *TINY, "--reports-dir", str(tmp_path), "--name", "j", "--json", "-")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document == json.loads((tmp_path / "j" / "results.json").read_text())


def test_json_takes_a_file_as_in_gradcheck(tmp_path):
    # `--json` was a flag in run and a file in gradcheck, so `run --json -` failed (issue 22, 2.10).
    path = tmp_path / "out" / "run.json"
    result = invoke("run", "--impl", "numpy", *TINY, "--reports-dir", str(tmp_path), "--name", "f", "--json", str(path))
    assert result.exit_code == 0, result.output
    assert f"wrote {path}" in result.output
    assert json.loads(path.read_text()) == json.loads((tmp_path / "f" / "results.json").read_text())
    again = invoke("run", "--impl", "numpy", *TINY, "--reports-dir", str(tmp_path), "--name", "g", "--json", str(path))
    assert again.exit_code == 2 and "--force" in again.output and not (tmp_path / "g").exists()


def test_presets_are_listed_and_options_override_them(tmp_path):
    listing = invoke("presets")
    assert listing.exit_code == 0 and "3b1b" in listing.output and "nielsen" in listing.output
    result = invoke("run", "--preset", "3b1b", "--impl", "numpy", "--epochs", "1", "--train-limit", "200",
                    "--test-limit", "100", "--reports-dir", str(tmp_path), "--name", "p", "--json", "-")
    config = json.loads(result.output)["config"]
    assert config["sizes"] == [784, 16, 16, 10] and config["loss"] == "mse" and config["lr"] == 3.0
    assert config["epochs"] == 1  # typed on the command line: beats the preset's 3
    assert invoke("run", "--preset", "nope").exit_code == 2


def test_the_weights_figures_title_is_not_clipped(monkeypatch, tmp_path):  # issue 22.3
    import numpy as np

    import compare.report.figures as figures

    kept = []
    monkeypatch.setattr(figures, "save", lambda canvas, path: kept.append(canvas) or path)
    document = {"visuals": {"impl": "a_learners_rather_long_implementation_name", "image_shape": [28, 28],
                            "first_layer_weights": np.random.default_rng(0).normal(size=(16, 784)).tolist(),
                            "hidden_units": 100}}
    figures.weights(document, tmp_path / "weights.png", (8.0, 8.0))
    canvas = kept[0]
    canvas.canvas.draw()
    title = canvas.get_suptitle()
    box = canvas._suptitle.get_window_extent()
    assert "first 16 of 100" in title
    assert box.x0 >= 0 and box.x1 <= canvas.bbox.x1, (box, canvas.bbox)


@pytest.mark.parametrize("spoil, words", [
    (lambda d: d["visuals"]["misclassified"][0].__setitem__("probability", 7.5), "misclassified/0/probability is 7.5"),
    (lambda d: d["implementations"][0].__setitem__("epochs", [d["implementations"][0]["epochs"][0]] * 2),
     "implementations/0/epochs are numbered [1, 1]"),
])
def test_report_refuses_impossible_probabilities_and_repeated_epochs(tiny_run, tmp_path, spoil, words):  # issue 23.28
    directory, _ = tiny_run
    document = json.loads((directory / "results.json").read_text())
    assert document["visuals"]["misclassified"], "the tiny run gets some digits wrong"
    spoil(document)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    result = invoke("report", str(bad))
    assert result.exit_code == 1 and words in result.output, result.output


def test_signed_colours_are_the_pages_in_every_figure(monkeypatch, tmp_path):  # issue 22.2
    """One convention: blue positive, orange negative, as colours.js defines it and page.css
    shows it; the weights figure draws a unit's largest weight in the page's blue, its most
    negative in the page's orange, and its title says so."""
    import re

    import numpy as np

    import compare.report.figures as figures
    from compare.report.page import HERE, signed_colours

    colours = signed_colours()
    assert colours == {"positive": (77, 163, 255), "negative": (255, 154, 60)}
    css = (HERE / "page.css").read_text()
    for key in ("positive", "negative"):
        hex_colour = re.search(rf"--{key}: #([0-9a-f]{{6}})", css).group(1)
        assert tuple(int(hex_colour[i:i + 2], 16) for i in (0, 2, 4)) == colours[key]
    kept = []
    monkeypatch.setattr(figures, "save", lambda canvas, path: kept.append(canvas) or path)
    unit = np.zeros(784)
    unit[0], unit[1] = 2.0, -2.0  # the most positive and the most negative weight of the unit
    document = {"visuals": {"impl": "numpy", "image_shape": [28, 28], "first_layer_weights": [unit.tolist()],
                            "hidden_units": 1}}
    figures.weights(document, tmp_path / "weights.png", (8.0, 8.0))
    image = kept[0].axes[0].get_images()[0]
    rgba = image.to_rgba(image.get_array())
    assert tuple(np.round(255 * rgba[0, 0, :3]).astype(int)) == colours["positive"]
    assert tuple(np.round(255 * rgba[0, 1, :3]).astype(int)) == colours["negative"]
    assert np.all(255 * rgba[0, 2, :3] > 252)  # 0 is white (the colormap's middle, within its 256 steps)
    assert "blue pushes the unit up, orange down" in kept[0].get_suptitle()
    assert "Blue is a positive weight" in figures.FIGURES["weights"].caption


@pytest.fixture(scope="module")
def two_run(tmp_path_factory):
    """A run of two implementations of its own (tiny_run is replaced by a test above)."""
    return tiny_run_of("numpy,tensor", "two", tmp_path_factory)


def test_the_report_shows_how_far_the_implementations_drifted(two_run):  # issue 22 section 1
    directory, output = two_run
    document = json.loads((directory / "results.json").read_text())
    drift = document["drift"]
    assert drift["reference"] == "numpy" and list(drift["impls"]) == ["tensor"]
    steps = [step for step, _ in drift["impls"]["tensor"]]
    assert steps[0] == 0 and steps[-1] == 2 * drift["steps_per_epoch"] and len(steps) > 20
    assert document["gradients_after"]["passed"]
    markdown = (directory / "report.md").read_text()
    assert "](drift.png)" in markdown and "While training, every implementation's parameters stayed within" in markdown
    assert "The gradients still agree: from numpy's trained parameters" in markdown
    assert "While training, every implementation's parameters stayed within" in output


def drawn_curves(monkeypatch, tmp_path, documents):
    import compare.report.figures as figures

    kept = []
    monkeypatch.setattr(figures, "save", lambda canvas, path: kept.append(canvas) or path)
    figures.curves(documents, tmp_path / "curves.png", figures.FIGURES["curves"].size)
    loss_axis, accuracy_axis = kept[0].axes[:2]
    return {line.get_label(): line for line in loss_axis.get_lines()}, accuracy_axis


def test_a_one_epoch_run_draws_its_test_loss_and_accuracy_through_the_epoch(two_run, monkeypatch, tmp_path):
    """Issue 22.12: not one dot on an empty axis: the test loss and accuracy at the history's
    log-spaced steps of the first epoch, and the training loss within it."""
    directory, _ = two_run
    document = json.loads((directory / "results.json").read_text())
    for impl in document["implementations"]:
        impl["epochs"] = impl["epochs"][:1]
    history = document["test_history"]
    assert history["impl"] == "numpy" and history["points"][0][0] == 0.0
    history["points"] = [p for p in history["points"] if p[0] <= 1]
    lines, accuracy_axis = drawn_curves(monkeypatch, tmp_path, [document])
    test = lines["numpy: test"]
    assert list(test.get_xdata()) == [p[0] for p in history["points"]] and len(test.get_xdata()) > 5
    assert list(test.get_ydata()) == [p[1] for p in history["points"]]
    assert len(lines["tensor: test"].get_xdata()) == 1  # the others: after each epoch
    assert len(lines["numpy: training"].get_xdata()) >= 40
    assert accuracy_axis.get_xscale() == "symlog"  # the first steps, where the learning happens, spread out
    assert len(accuracy_axis.get_lines()[0].get_xdata()) == len(history["points"])


def test_a_longer_run_draws_train_and_test_loss_for_every_epoch(two_run, monkeypatch, tmp_path):
    directory, _ = two_run
    document = json.loads((directory / "results.json").read_text())
    document["test_history"] = None
    lines, accuracy_axis = drawn_curves(monkeypatch, tmp_path, [document])
    epochs = document["implementations"][0]["epochs"]
    assert list(lines["numpy: test"].get_xdata()) == [1, 2]
    assert list(lines["numpy: test"].get_ydata()) == [e["test_loss"] for e in epochs]
    assert lines["numpy: training"].get_xdata()[-1] == pytest.approx(2.0)
    assert accuracy_axis.get_xscale() == "linear"



def test_a_wide_table_scrolls_inside_the_page_and_no_number_breaks_in_two(tmp_path, browser):  # noqa: F811
    """The gradient table of the default five-implementation run has 17 columns: report.html stays
    as wide as the window (the table scrolls sideways within it) and a number such as 5.0e-16 is
    never split at its hyphen over two lines, at a desktop's and a phone's width."""
    from compare.blocks import Heading, Paragraph, Table, to_html

    names = ["scratch", "autograd", "numpy", "tensor", "torch"]
    pairs = [f"{a} vs {b}" for i, a in enumerate(names) for b in names[i + 1:]]
    pairs += [f"{n} vs finite diff." for n in names]
    table = Table(["tensor", "shape", *pairs], [["W1", "30x784", *["5.0e-16"] * len(pairs)]] * 4)
    path = tmp_path / "report.html"
    path.write_text(to_html([Heading("A report", 1), Paragraph("Some words " * 40), table]))
    for width in (1280, 375):
        page = browser.new_page(viewport={"width": width, "height": 800})
        page.goto(path.as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        heights = page.evaluate("[...document.querySelectorAll('td')].map((td) => td.getBoundingClientRect().height)")
        assert max(heights) < 1.5 * min(heights)  # one line each: no number wrapped
        page.close()


def test_the_progress_counts_the_figures_drawn(two_run, tmp_path):
    """A one-implementation run has no drift figure: the count says the figures there will be
    (it said 7 and drew 6); side by side with a two-implementation run, one drift figure."""
    from compare.report.document import figure_count, write_report

    directory, _ = two_run
    two = load_results(directory / "results.json")
    assert two["drift"]
    one = json.loads(json.dumps(two))
    one["implementations"], one["drift"] = one["implementations"][:1], None
    for documents, out in (([one], tmp_path / "one"), ([two, one], tmp_path / "both")):
        written = [path for path in write_report(documents, out) if path.suffix == ".png"]
        assert figure_count(documents) == len(written)
    assert not (tmp_path / "one" / "drift.png").exists()
    assert (tmp_path / "both" / "drift-1.png").exists() and not (tmp_path / "both" / "drift-2.png").exists()

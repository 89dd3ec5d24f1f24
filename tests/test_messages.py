"""Output that never leaves the user guessing: progress for long steps, no fake numbers,
one speed convention, warnings with advice that fits the run and that reach the report,
and figures whose axes do not exaggerate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from compare.blocks import to_text
from compare.cli import main
from compare.report import drawing, figures
from compare.report.results import schema_problem
from compare.wording import plural, shown_path, summary_table, vs_fastest
from shared.config import Config
from shared.health import dead_unit_warning, health_warnings, probe, saturation_warning
from shared.params import init_params

TINY = ["--sizes", "784,6,10", "--train-limit", "300", "--test-limit", "200"]
SHIPPED = __import__("pathlib").Path(__file__).resolve().parent.parent / "models" / "mnist-mlp.npz"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_gradcheck_says_what_it_is_doing_and_has_no_fake_pair():
    result = invoke("gradcheck", "--impl", "numpy", "--sizes", "784,5,10")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("checking gradients (5 checks) ...")
    assert "no pairs to compare (one implementation)" in result.output
    assert "worst pair" not in result.output
    both = invoke("gradcheck", "--impl", "scratch,numpy", "--sizes", "784,5,10")
    assert "worst pair" in both.output and "checking gradients (10 checks)" in both.stderr


def test_gradcheck_json_to_stdout_stays_quiet():
    result = invoke("gradcheck", "--impl", "numpy", "--sizes", "784,5,10", "--json", "-")
    document = json.loads(result.stdout)
    assert result.stderr == "" and document["impls"] == ["numpy"] and document["worst_pair"] is None


def test_eval_shows_progress_and_grammar(tmp_path):
    result = invoke("eval", SHIPPED, "--impl", "numpy")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("evaluating with numpy (10,000 images) ...")
    assert "for 1 epochs" not in result.output


def test_run_and_report_say_what_they_are_doing(tmp_path):
    reports = tmp_path / "reports"
    result = invoke("run", "--impl", "numpy", *TINY, "--epochs", "1", "--name", "one", "--reports-dir", reports)
    assert result.exit_code == 0, result.output
    # one implementation: no drift figure (it needs two), so six, and six are drawn
    assert "checking gradients (" in result.stderr and "drawing the report (6 figures) ..." in result.stderr
    assert len(list((reports / "one").glob("*.png"))) == 6
    assert "After 1 epoch on 300 images" in result.output and "training  1 epoch of mini-batch SGD" in result.output
    assert "**Training** 1 epoch of" in (reports / "one" / "report.md").read_text()
    quiet = invoke("run", "--impl", "numpy", *TINY, "--epochs", "1", "--name", "two", "--reports-dir", reports, "-q")
    assert quiet.output == ""
    rebuilt = invoke("report", reports / "one" / "results.json", "--out", tmp_path / "again")
    assert "drawing the report (6 figures) ..." in rebuilt.stderr


def test_plural():
    assert plural(1, "epoch") == "1 epoch" and plural(3, "epoch") == "3 epochs" and plural(2, "entry", "entries") == "2 entries"


def test_one_speed_convention_in_the_console_the_report_and_the_figure(tmp_path):
    speeds = {"scratch": 1_000.0, "numpy": 94_000.0, "torch": 23_000.0}
    document = {"name": "r", "implementations": [
        {"name": n, "dtype": "float64", "device": "cpu", "peak_rss_bytes": 2**20,
         "final": {"test_accuracy": 0.95, "test_loss": 0.17, "train_seconds_per_epoch": 1.0,
                   "eval_seconds_per_epoch": 0.1, "samples_per_second": s}}
        for n, s in speeds.items()]}
    console = "\n".join(to_text(summary_table([document], detailed=False), left=1))
    table = summary_table([document])
    assert "vs fastest" in table.headers
    # issue 22.9: the resident size measured was the process's, ~895 MiB for every implementation: no column
    assert not any("memory" in header for header in table.headers)
    report_cells = [row[table.headers.index("vs fastest")] for row in table.rows]
    assert report_cells == ["94.0x slower", "fastest", "4.1x slower"]
    for cell in report_cells:
        assert cell in console
    assert "memory" not in console and "scratch (float64, cpu)" in table.rows[0][0]
    from compare.wording import process_memory

    assert process_memory([document]).startswith("**Memory** The process peaked at 1 MiB resident while training")
    assert vs_fastest(23_000, 94_000) == "4.1x slower"
    assert vs_fastest(98_000, 100_000) == "1.02x slower"  # not "1.0x slower"


def test_saturation_advice_fits_the_config(mnist):
    x = mnist.train_images[:100].reshape(100, -1) / 255.0
    blown = [(W * 100, b * 100) for W, b in init_params((784, 20, 10), "nielsen")]
    sigmoid = health_warnings(probe(blown, x, "sigmoid", "cross-entropy"), Config(init="nielsen", lr=3.0), 2, "numpy")[0]
    assert "near 0 or 1" in sigmoid and "--init" not in sigmoid and "lower learning rate than 3" in sigmoid
    large = saturation_warning(0.99, 2, "numpy", Config(init="nielsen-large"))
    assert "--init nielsen or xavier" in large
    tanh = health_warnings(probe(blown, x, "tanh", "cross-entropy"), Config(activation="tanh"), 1, "torch")[0]
    assert "near -1 or 1" in tanh and "near 0 or 1" not in tanh


def test_dead_relu_units_are_found_and_warned_about(mnist):
    x = mnist.train_images[:100].reshape(100, -1) / 255.0
    params = init_params((784, 20, 10), "he")
    assert probe(params, x, "relu", "cross-entropy").dead < 0.5
    dead = [(W, b - 1e3 * (np.arange(len(b)) < 15)) if l == 0 else (W, b) for l, (W, b) in enumerate(params)]
    health = probe(dead, x, "relu", "cross-entropy")
    assert health.dead == pytest.approx(0.75) and health.saturated is None and health.problem() is None
    warning = health_warnings(health, Config(activation="relu", init="he", lr=0.1), 4, "numpy")[0]
    assert "75% of numpy's hidden ReLU units are dead" in warning and "--init he" not in warning
    assert "--init he" in dead_unit_warning(0.8, 1, "numpy", Config(activation="relu", init="xavier"))


def test_run_warnings_reach_results_and_report(tmp_path):
    reports = tmp_path / "reports"
    result = invoke("run", "--impl", "numpy", *TINY, "--epochs", "1", "--init", "nielsen-large", "--lr", "10",
                    "--name", "hot", "--reports-dir", reports)
    assert "warning: after epoch 1" in result.output and "saturated" in result.output
    document = json.loads((reports / "hot" / "results.json").read_text())
    assert document["warnings"] and document["warnings"][0].startswith("after epoch 1,")
    assert schema_problem(document) is None
    for name in ("report.md", "report.html"):
        text = (reports / "hot" / name).read_text()
        assert "Warnings" in text and "saturated" in text


@pytest.mark.parametrize("values,span", [([95.07, 95.10, 95.08], 1.0), ([99.9, 100.0], 1.0), ([0.0, 0.02], 1.0),
                                         ([60.0, 90.0], 36.0)])
def test_the_accuracy_axis_has_a_sensible_span(values, span):
    low, high = figures.accuracy_limits(values)
    assert high - low == pytest.approx(span) and 0 <= low <= min(values) and max(values) <= high <= 100


def test_the_drawn_accuracy_axis_uses_it(monkeypatch, tmp_path):
    seen = {}
    original = figures.accuracy_limits
    monkeypatch.setattr(figures, "accuracy_limits", lambda values: seen.setdefault("limits", original(values)))
    document = {"name": "a", "implementations": [{"name": "numpy", "epochs": [
        {"epoch": e, "test_accuracy": a, "test_loss": 0.2, "loss_curve": [[e - 0.5, 0.2], [e, 0.19]]}
        for e, a in [(1, 0.9507), (2, 0.9510), (3, 0.9508)]]}]}
    spec = figures.FIGURES["curves"]
    spec.draw([document], tmp_path / "c.png", spec.size)
    assert seen["limits"][1] - seen["limits"][0] >= 1.0


def test_every_implementation_and_run_gets_its_own_look():
    names = ["scratch", "numpy", "torch", "autograd", "jax", "cupy"]
    looks = {(drawing.style(n, names)["color"], drawing.style(n, names)["linestyle"]) for n in names}
    assert len(looks) == len(names)
    assert drawing.style("scratch", names)["linewidth"] > drawing.style("numpy", names)["linewidth"]  # first drawn: wide
    float64, float32 = (drawing.run_style("numpy", run, 2, names) for run in (0, 1))
    assert (float64["linestyle"], float64["marker"]) != (float32["linestyle"], float32["marker"])


def test_paths_are_shown_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert shown_path(tmp_path / "data") == "data"
    assert shown_path("/elsewhere/mnist") == "/elsewhere/mnist"

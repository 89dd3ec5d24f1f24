"""Issue 22 section 1: the implementations drift apart as they train (rounding amplified by
SGD), measured at the same global steps, drawn beside gradients that still agree, and said in
words: equal to rounding at the default learning rate, exponentially apart at 3Blue1Brown's 3.0."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from compare.cli import main
from compare.run.drift import DriftRecorder, compose, drift_steps
from compare.wording import drift_summary, tenfold_steps
from shared.history import snapshot_steps


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_the_marks_are_the_historys_and_every_twentieth_of_an_epoch():
    marks = drift_steps(6000, 3)
    assert set(snapshot_steps(6000, 3)) <= set(marks)  # 0, 1, 2, 5, ... and every epoch's end
    assert {300, 600, 2400, 6000, 6300, 12000, 18000} <= set(marks)
    assert marks == sorted(set(marks)) and marks[-1] == 18000
    assert len(drift_steps(6000, 30)) <= 400 + len(snapshot_steps(6000, 30))  # a long run: fewer later marks


def test_the_marks_are_thinned_to_the_memory_budget_keeping_every_epochs_end():
    sizes = (784, 800, 800, 10)  # 1.3 M parameters: 10 MB a mark in float64
    marks = drift_steps(469, 11, sizes=sizes, budget=128 * 2**20)
    assert 8 * 1_276_810 * len(marks) <= 128 * 2**20
    assert {469 * e for e in range(12)} <= set(marks)


def test_a_resumed_run_is_compared_from_where_it_starts():
    marks = drift_steps(100, 2, start_epoch=3)
    assert marks[0] == 200 and marks[-1] == 400 and 300 in marks


class Parameters:
    """A model whose parameters are what it is told (the recorder only calls parameters())."""

    def __init__(self):
        self.value = 0.0

    def parameters(self):
        return [(np.full((2, 2), self.value), np.zeros(2))]


def test_the_recorder_keeps_the_first_and_compares_the_others_at_the_same_steps():
    drift = DriftRecorder([0, 10, 20], steps_per_epoch=20)
    first, second = Parameters(), Parameters()
    keep = drift.hook("numpy", first)
    for step, value in ((0, 1.0), (10, 2.0), (20, -3.0)):
        first.value = value
        keep(step)
    compare = drift.hook("torch", second)
    for step, value in ((0, 1.0), (10, 2.5), (20, -3.0 + 1e-9)):
        second.value = value
        compare(step)
    document = drift.to_dict()
    assert document["reference"] == "numpy" and document["largest_parameter"] == 3.0
    assert document["impls"]["torch"] == [[0, 0.0], [10, 0.5], [20, pytest.approx(1e-9)]]


def test_one_implementation_has_nothing_to_compare():
    drift = DriftRecorder([0, 1], 1)
    drift.hook("numpy", Parameters())(0)
    assert drift.to_dict() is None


def test_hooks_compose_each_at_its_own_steps():
    seen = []
    at_steps, on_step = compose(({1, 5}, lambda s: seen.append(("a", s))), ({5, 7}, lambda s: seen.append(("b", s))),
                                (set(), None))
    assert at_steps == [1, 5, 7]
    for step in at_steps:
        on_step(step)
    assert seen == [("a", 1), ("a", 5), ("b", 5), ("b", 7)]


def test_the_growth_rate_is_fitted_where_the_difference_grows():
    points = [(s, 1e-16 * 10 ** (s / 100)) for s in range(0, 1500, 50)]  # tenfold every 100 steps
    points += [(s, 0.5) for s in range(1500, 3000, 100)]  # then saturated
    assert tenfold_steps(points) == pytest.approx(100, rel=1e-6)
    assert tenfold_steps([(s, 1e-15 * (1 + s / 1e4)) for s in range(0, 6000, 300)]) is None  # rounding only


AGREE = {"passed": True, "worst_pair": 4.4e-16, "worst_finite_difference": 1e-9, "tolerances": {"pairs": 1e-10}}
CONFIG = {"lr": 3.0, "batch_size": 10}


def test_the_words_say_exponential_drift_and_that_the_gradients_still_agree():
    points = [[s, 1e-16 * 10 ** (s / 100)] for s in range(50, 1500, 50)] + [[s, 0.7] for s in range(1500, 3000, 100)]
    drift = {"reference": "numpy", "steps_per_epoch": 6000, "largest_parameter": 3.0, "impls": {"torch": points}}
    text = drift_summary(drift, AGREE, CONFIG)
    assert "torch vs numpy went from 3.2e-16 after 50 steps to 0.7 at the end" in text
    assert "growing exponentially on the way: tenfold about every 100 steps (1,000 images)" in text
    assert "SGD at learning rate 3 amplifies" in text and "two different networks, equally well trained" in text
    assert text.endswith("The gradients still agree: from numpy's trained parameters the implementations' "
                         "gradients differ by at most 4.4e-16 (tolerance 1e-10).")


def test_the_last_bit_is_the_runs_dtypes():
    """A float32 run's rounding is 1.2e-7, not float64's 2.2e-16, in the words and on the figure."""
    drift = {"reference": "numpy", "steps_per_epoch": 100, "largest_parameter": 2.0,
             "impls": {"torch": [[s, 6e-8 * 1.1 ** (s / 10)] for s in range(0, 101, 10)]}}
    assert "the last bit (1.2e-7 in float32)" in drift_summary(drift, AGREE, CONFIG | {"dtype": "float32"})
    assert "the last bit (2.2e-16 in float64)" in drift_summary(drift, AGREE, CONFIG | {"dtype": "float64"})


def test_the_words_say_when_they_stay_equal():
    drift = {"reference": "numpy", "steps_per_epoch": 6000, "largest_parameter": 3.0,
             "impls": {"tensor": [[s, 1e-16 + s * 1e-18] for s in range(0, 6001, 300)]}}
    text = drift_summary(drift, AGREE, CONFIG | {"lr": 0.5})
    assert "stayed within 6.1e-15 of numpy's at each of the 21 steps compared" in text
    assert "about 14 digits the same" in text and "exponentially" not in text


def run_json(*args):
    result = CliRunner().invoke(main, ["run", "--impl", "numpy,tensor", "--sizes", "784,16,16,10", "--loss", "mse",
                                       "--train-limit", "30000", "--test-limit", "500", *args, "--json", "-"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_at_lr_3_the_implementations_drift_apart_exponentially_and_at_lr_half_they_stay_equal():
    """The README's claim, measured: 30,000 images of the 3b1b network, one epoch. (On all of
    MNIST, numpy vs tensor: 2.7e-15 after an epoch at lr 0.5, 0.42 at lr 3.0.)"""
    chaotic = run_json("--lr", "3.0")
    points = chaotic["drift"]["impls"]["tensor"]
    assert points[0][1] < 1e-15 and points[-1][1] > 1e-3  # from the last bit to the visible digits
    assert tenfold_steps(points) is not None
    assert chaotic["gradients_after"]["passed"] and chaotic["gradients_after"]["worst_pair"] < 1e-13
    calm = run_json("--lr", "0.5")
    assert max(d for _, d in calm["drift"]["impls"]["tensor"]) < 1e-13
    assert "stayed within" in drift_summary(calm["drift"], calm["gradients_after"], calm["config"])


def drawn_texts(document, monkeypatch, tmp_path):
    """Every text the drift figure draws (saved nowhere)."""
    from compare.report import figures

    texts = []

    def keep(canvas, path):
        texts.extend(text.get_text() for text in canvas.findobj(lambda artist: hasattr(artist, "get_text")))
        return path

    monkeypatch.setattr(figures, "save", keep)
    figures.drift(document, tmp_path / "drift.png", (12.0, 4.5))
    return texts


def test_a_run_interrupted_before_the_check_after_training_says_so_on_the_figure(monkeypatch, tmp_path):
    """Ctrl-C before the gradient check from the trained parameters: its place on the figure says
    why it is empty instead of showing nothing."""
    result = CliRunner().invoke(main, ["run", "--impl", "numpy,tensor", "--sizes", "784,8,10", "--train-limit", "300",
                                       "--test-limit", "100", "--json", "-"], catch_exceptions=False)
    document = json.loads(result.stdout)
    assert document["gradients_after"]
    assert not any("not checked" in t for t in drawn_texts(document, monkeypatch, tmp_path))
    interrupted = document | {"gradients_after": None, "interrupted": "interrupted during tensor's epoch 1"}
    assert any("not checked" in t and "interrupted" in t for t in drawn_texts(interrupted, monkeypatch, tmp_path))

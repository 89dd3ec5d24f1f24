"""The book's protocol: a validation set (the test set once, at the end), L2 in the book's
convention (the same in every implementation), early stopping and the halving schedule,
expanded training data; and how `compare run` says each."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import available_impls
from compare.check.gradients import check_gradients, format_agreement
from compare.cli import main
from impls import build
from shared.config import HALVINGS, Config
from shared.expansion import copies, expand, rotate, shift
from shared.params import init_params, max_abs_difference
from shared.training import Patience, prepare, regularized, train


def invoke(*args):
    return CliRunner().invoke(main, list(args))


# -- the validation set ------------------------------------------------------------------------

def test_the_validation_set_is_the_last_training_images_and_train_limit_takes_from_the_rest(mnist):
    split = prepare(mnist, Config(validation=10_000, train_limit=1_000, test_limit=500))
    assert len(split.y_train) == 1_000 and len(split.y_validation) == 10_000 and len(split.y_test) == 500
    np.testing.assert_array_equal(split.y_validation, mnist.train_labels[50_000:])
    np.testing.assert_array_equal(split.y_train, mnist.train_labels[:1_000])
    assert not prepare(mnist, Config(train_limit=100)).has_validation  # the IDX files hold none out


def test_with_a_validation_set_the_test_set_is_evaluated_once_at_the_end(mnist):
    config = Config(sizes=(784, 16, 10), validation=2_000, train_limit=500, epochs=3)
    model = build("numpy", config, init_params(config.sizes))
    run = train(model, prepare(mnist, config), config)
    assert [e.test_accuracy is None for e in run.history] == [True, True, False]
    assert all(e.validation_accuracy is not None and e.watched[0] == "validation" for e in run.history)
    assert run.test_outputs.shape == (10_000, 10)
    assert abs(run.history[-1].test_accuracy - np.mean(run.test_outputs.argmax(1) == mnist.test_labels)) < 1e-12


# -- L2 in the book's convention -----------------------------------------------------------------

def test_l2_lambda_is_weight_decay_lambda_over_n_as_the_books_update_rule(mnist):
    """One step of network2.py: w -> (1 - eta lambda / n) w - (eta / m) sum grad C0, b -> b - (eta / m) sum grad C0."""
    n, eta, lam = 1_000, 0.5, 5.0
    config = regularized(Config(sizes=(784, 16, 10), l2=lam, lr=eta), n)
    assert config.weight_decay == pytest.approx(lam / n) and config.l2 == lam
    params = init_params(config.sizes, seed=3)
    x, y = mnist.train_images[:10].reshape(10, -1) / 255.0, mnist.train_labels[:10].astype(np.int64)
    _, gradients = build("numpy", Config(sizes=config.sizes), params).loss_and_gradients(x, y)  # grad C0, batch mean
    book = [((1 - eta * lam / n) * W - eta * gW, b - eta * gb) for (W, b), (gW, gb) in zip(params, gradients)]
    for name in available_impls():
        model = build(name, config, params)
        model.train_step(x, y, eta)
        assert max_abs_difference(model.parameters(), book) < 1e-12, name


def test_train_refuses_a_lambda_not_turned_into_its_weight_decay(mnist):
    config = Config(sizes=(784, 8, 10), l2=5.0, train_limit=100)
    with pytest.raises(ValueError, match="regularized"):
        train(build("numpy", config, init_params(config.sizes)), prepare(mnist, config), config)


def test_the_gradient_check_proves_the_penalty_of_every_implementation(mnist, monkeypatch):
    config = regularized(Config(sizes=(784, 12, 10), l2=5.0, momentum=0.9), 100)
    params = init_params(config.sizes, seed=1)
    x, y = mnist.train_images[:8].reshape(8, -1) / 255.0, mnist.train_labels[:8].astype(np.int64)
    result = check_gradients(config, params, x, y, available_impls(), coordinates=4)
    assert result.passed, format_agreement(result)
    assert "lambda 5 and n 100" in format_agreement(result)
    # An implementation that decays twice as much fails against the others and the finite differences.
    import compare.check.gradients as gradients

    real_build = gradients.build

    def doubled(name, config, params):
        return real_build(name, config.with_changes(weight_decay=2 * config.weight_decay) if name == "numpy" else config,
                          params)

    monkeypatch.setattr(gradients, "build", doubled)
    wrong = check_gradients(config, params, x, y, ["numpy", "scratch"], coordinates=4)
    assert not wrong.passed and wrong.tensors[0].pairs["numpy~scratch"] > 1e-6
    assert wrong.tensors[0].finite_differences["numpy"] > 1e-6 and wrong.tensors[0].finite_differences["scratch"] < 1e-6


def test_lockstep_with_l2_validation_and_the_halving_schedule(mnist):
    """The book's protocol end to end: every implementation ends as the same network, halving on the same epochs."""
    base = Config(sizes=(784, 16, 10), l2=1.0, validation=500, train_limit=100, epochs=8, schedule="halve",
                  early_stop=1, lr=3.0, test_limit=500)
    split = prepare(mnist, base)
    config = regularized(base, len(split.y_train))
    params = init_params(config.sizes)
    runs = {name: train(build(name, config, params), split, config) for name in available_impls()}
    reference = runs["numpy"]
    assert len({e.lr for e in reference.history}) > 1  # the rate was halved at least once
    for name, run in runs.items():
        assert [e.lr for e in run.history] == [e.lr for e in reference.history], name
        assert max_abs_difference(run.params, reference.params) <= 1e-9, name
        assert run.history[-1].weight_penalty == pytest.approx(reference.history[-1].weight_penalty, rel=1e-9)


# -- early stopping and the book's schedule ---------------------------------------------------------

def test_early_stopping_ends_after_n_epochs_without_a_better_validation_accuracy():
    patience = Patience(Config(early_stop=3))
    said = [patience.after_epoch(epoch, accuracy) for epoch, accuracy in
            enumerate([0.90, 0.92, 0.92, 0.91, 0.95, 0.94, 0.95, 0.93], 1)]
    assert said[:7] == [None] * 7
    assert said[7] == ("stopped early after epoch 8: the validation accuracy had not improved for 3 epochs "
                       "(best 95.00%, after epoch 5)")


def test_the_halving_schedule_halves_on_each_plateau_and_ends_at_1_128():
    patience = Patience(Config(schedule="halve", lr=0.5))  # the book's no-improvement-in-ten
    factors, said, epoch = [], None, 0
    while said is None:
        epoch += 1
        said = patience.after_epoch(epoch, 0.9 if epoch == 1 else 0.5)
        factors.append(patience.factor)
    assert epoch == 1 + 10 * HALVINGS and factors[10] == 0.5 and factors[-2] == 0.5 ** (HALVINGS - 1)
    assert said.endswith(f"with the learning rate halved {HALVINGS} times, to 1/128 of 0.5")


def test_a_run_that_stops_early_records_why_and_tests_the_model_it_stopped_with(mnist):
    config = Config(sizes=(784, 8, 10), validation=500, train_limit=200, epochs=40, early_stop=1, lr=0.5)
    run = train(build("numpy", config, init_params(config.sizes)), prepare(mnist, config), config)
    assert len(run.history) < 40 and run.stopped.startswith(f"stopped early after epoch {len(run.history)}")
    assert run.history[-1].test_accuracy is not None and run.history[-2].test_accuracy is None


# -- expanded training data -------------------------------------------------------------------------

def test_shifts_move_every_image_one_pixel_and_fill_with_background(mnist):
    x = mnist.train_images[:20]
    np.testing.assert_array_equal(shift(x, 1, 0)[:, 1:], x[:, :-1])  # down
    np.testing.assert_array_equal(shift(x, 0, -1)[:, :, :-1], x[:, :, 1:])  # left
    assert not shift(x, 1, 0)[:, 0].any() and not shift(x, 0, -1)[:, :, -1].any()


def test_rotations_turn_about_the_centre(mnist):
    x = mnist.train_images[:20]
    np.testing.assert_array_equal(rotate(x, np.zeros(20)), x)
    np.testing.assert_array_equal(rotate(x, np.full(20, 90.0)), np.rot90(x, axes=(1, 2)))
    turned = rotate(x, np.full(20, 10.0))
    assert 0.9 < turned.sum() / x.sum() < 1.1  # ink is neither lost nor made


@pytest.mark.parametrize("kind,times", [("shifts", 5), ("rotations", 3), ("shifts+rotations", 7)])
def test_expanded_data_is_seeded_and_the_same_for_every_implementation(mnist, kind, times):
    images, labels = expand(mnist.train_images[:50], mnist.train_labels[:50], kind, seed=4)
    assert len(images) == len(labels) == 50 * times == 50 * copies(kind)
    np.testing.assert_array_equal(images[:50], mnist.train_images[:50])
    np.testing.assert_array_equal(labels, np.tile(mnist.train_labels[:50], times))
    again, _ = expand(mnist.train_images[:50], mnist.train_labels[:50], kind, seed=4)
    np.testing.assert_array_equal(images, again)
    if "rotations" in kind:
        other, _ = expand(mnist.train_images[:50], mnist.train_labels[:50], kind, seed=5)
        assert not np.array_equal(images, other)
    split = prepare(mnist, Config(train_limit=50, expand=kind, seed=4))
    assert len(split.y_train) == 50 * times


# -- the command line -------------------------------------------------------------------------------

TINY = ("--impl", "numpy", "--sizes", "784,8,10", "--train-limit", "200", "--test-limit", "300")


@pytest.mark.parametrize("args,option,words", [
    (("--validation", "60000"), "--validation", "leaves none of the 60,000 training images"),
    (("--validation", "10000", "--train-limit", "55000"), "--train-limit", "(10,000 held out for validation)"),
    (("--early-stop", "3"), "--early-stop", "give --validation N too"),
    (("--schedule", "halve"), "--schedule", "give --validation N too"),
    (("--l2", "5", "--weight-decay", "0.001"), None, "--l2 and --weight-decay are one penalty in two conventions"),
    (("--validation", "-1"), "--validation", "validation must be a number of images"),
    (("--l2", "-1"), "--l2", "must be 0 or a positive number"),
])
def test_a_protocol_that_cannot_work_is_one_line_and_exit_2(tmp_path, args, option, words):
    result = invoke("run", "--impl", "numpy", "--reports-dir", str(tmp_path), *args)
    assert result.exit_code == 2, result.output
    assert words in result.output and (option is None or option in result.output)
    assert not list(tmp_path.iterdir())


def test_resuming_a_run_that_watches_its_validation_set_is_refused(tmp_path):
    saved = tmp_path / "m.npz"
    assert invoke("run", *TINY, "--reports-dir", str(tmp_path / "r"), "--save", str(saved), "-q").exit_code == 0
    result = invoke("run", "--resume", str(saved), "--validation", "1000", "--early-stop", "2",
                    "--reports-dir", str(tmp_path / "r"))
    assert result.exit_code == 2 and "a resumed run cannot go on with --early-stop" in result.output


def test_the_help_gives_the_mapping_between_l2_and_weight_decay():
    text = " ".join(invoke("run", "--help").output.split())
    assert "C = C0 + (LAMBDA / 2n) sum w^2" in text and "--weight-decay LAMBDA / n" in text
    assert "--l2 5 on 50,000 images is --weight-decay 1e-4" in text


def test_a_run_with_the_books_protocol_says_it_and_keeps_it_in_results_and_report(tmp_path):
    result = invoke("run", *TINY, "--validation", "1000", "--l2", "1", "--epochs", "3", "--early-stop", "5",
                    "--expand", "shifts", "--reports-dir", str(tmp_path), "--name", "book")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "1,000 training (200 expanded by shifts), 1,000 validation and 300 test images" in out
    assert "L2 lambda 1 (weight decay lambda/n = 0.001)" in out
    assert "evaluated on the validation set after every epoch, on the test set once at the end" in out
    assert "when the validation accuracy has not improved for 5 epochs, the run ends" in out
    epochs = [line for line in out.splitlines() if line.lstrip().startswith("epoch ")]
    assert len(epochs) == 3 and all("validation loss" in line for line in epochs)
    assert ["  test " in line for line in epochs] == [False, False, True]
    document = json.loads((tmp_path / "book" / "results.json").read_text())
    assert document["schema_version"] == 2
    assert document["data"].items() >= {"train_images": 1000, "validation_images": 1000, "test_images": 300}.items()
    assert document["config"]["l2"] == 1 and document["config"]["weight_decay"] == pytest.approx(0.001)
    epochs = document["implementations"][0]["epochs"]
    assert [e["test_accuracy"] is None for e in epochs] == [True, True, False]
    assert all(e["weight_penalty"] > 0 for e in epochs)
    assert document["implementations"][0]["final"]["train_accuracy"] > 0.5
    report = invoke("report", str(tmp_path / "book" / "results.json"), "--out", str(tmp_path / "again"))
    assert report.exit_code == 0, report.output
    markdown = (tmp_path / "again" / "report.md").read_text()
    assert "validation accuracy" in markdown


def test_a_validation_runs_checkpoint_is_read_back_and_resumed(tmp_path):
    """Its history holds epochs the test set was not evaluated after (their test fields null)."""
    from shared.checkpoint import load_checkpoint

    saved = tmp_path / "m.npz"
    first = invoke("run", *TINY, "--validation", "1000", "--epochs", "2", "--save", str(saved),
                   "--reports-dir", str(tmp_path / "r"), "-q")
    assert first.exit_code == 0, first.output
    checkpoint = load_checkpoint(saved)
    assert [record["test_accuracy"] is None for record in checkpoint.history] == [True, False]
    assert all(0 < record["validation_accuracy"] <= 1 for record in checkpoint.history)
    resumed = invoke("run", "--resume", str(saved), "--save", str(saved), "--force", "--epochs", "1",
                     "--reports-dir", str(tmp_path / "r"), "-q")
    assert resumed.exit_code == 0, resumed.output
    assert load_checkpoint(saved).epoch == 3

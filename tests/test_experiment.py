"""`compare experiment`: the book's experiments as data, their runs, the table, and the blocks of
docs/NIELSEN.md that the command writes (and only those)."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

import compare.experiment.book as book
from compare.cli import main
from compare.cli.run import run as run_command
from compare.cli.options import build_config, parse_impls
from compare.experiment.book import EXPERIMENTS, Experiment, Row, Run, options
from compare.experiment.document import BEGIN, digest, find_block
from shared import config as cfg


def invoke(*args):
    return CliRunner().invoke(main, list(args))


# The issue's list: (experiment, the book's figures in its rows).
THE_BOOKS = {
    "ch1": [95.42, 96.59],
    "ch3-cross-entropy": [95.49, 96.82],
    "overfitting": [82.27, 100.0],
    "l2": [87.1, 96.49, 97.92, 98.04],
    "init": [92.70, 86.43, 96.50, 96.37],
    "training-size": [69.09, 93.24, 95.97],
    "learning-rates": [None, None, None],
}


def test_every_experiment_of_the_issue_is_there_with_the_books_figures():
    assert {name: [row.book for row in experiment.rows] for name, experiment in EXPERIMENTS.items()} == THE_BOOKS
    listing = invoke("experiment", "--list")
    assert listing.exit_code == 0
    for name, figures in THE_BOOKS.items():
        assert re.search(rf"^{re.escape(name)}$", listing.output, re.MULTILINE)
        for figure in figures:
            assert (f"{figure:.2f}%" if figure is not None else "a figure") in listing.output


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_run_is_a_valid_compare_run_and_every_row_reads_a_run_of_its_experiment(name):
    experiment = EXPERIMENTS[name]
    for run in experiment.runs:
        with run_command.make_context("compare run", ["--impl", "numpy", *run.args]) as context:
            config = build_config(context.params)
            parse_impls(context.params["impl_text"])
        assert config.batch_size == 10  # the book's mini-batches throughout
    assert {row.run for row in experiment.rows} <= {run.name for run in experiment.runs}


def config_of(experiment: str, run: str) -> cfg.Config:
    with run_command.make_context("compare run", list(EXPERIMENTS[experiment].run(run).args)) as context:
        return build_config(context.params)


def test_the_books_settings():
    ch1 = config_of("ch1", "hidden-30")
    assert (ch1.loss, ch1.init, ch1.lr, ch1.epochs, ch1.train_limit, ch1.validation) == ("mse", "nielsen-large", 3.0, 30,
                                                                                           50_000, 0)
    overfit = config_of("overfitting", "images-1000")
    assert (overfit.train_limit, overfit.epochs, overfit.lr, overfit.l2) == (1_000, 400, 0.5, 0.0)
    l2 = config_of("l2", "hidden-100-eta-0.1")
    assert (l2.sizes, l2.lr, l2.epochs, l2.l2, l2.validation) == ((784, 100, 10), 0.1, 60, 5.0, 10_000)
    assert config_of("init", "scaled").init == "nielsen" and config_of("init", "large").init == "nielsen-large"
    small = config_of("training-size", "images-100")  # more_data.py: lambda / n the same for every size
    assert (small.epochs, small.l2, small.train_limit) == (15_000, 0.01, 100)
    assert [config_of("learning-rates", run.name).lr for run in EXPERIMENTS["learning-rates"].runs] == [0.025, 0.25, 2.5]


# -- running one, with a small experiment of the same shape -----------------------------------------------

TINY = options(("--sizes", "784,8,10", "--train-limit", "300", "--test-limit", "500"), epochs=2)


@pytest.fixture
def tiny(monkeypatch):
    experiment = Experiment(
        "tiny", "A tiny experiment", "nowhere", "two small runs",
        runs=(Run("a", options(TINY, lr=0.5), "eta 0.5"), Run("b", options(TINY, ("--validation", "1000"), lr=1.0),
                                                              "eta 1.0")),
        rows=(Row("eta 0.5", "a", 80.0, book.BEST_TEST), Row("eta 1.0", "b", None, book.FINAL_VALIDATION),
              Row("training", "a", 90.0, book.TRAINING)),
        figure="accuracy")
    monkeypatch.setitem(EXPERIMENTS, "tiny", experiment)
    return experiment


def run_tiny(tmp_path, *more):
    return invoke("experiment", "tiny", "--workers", "1", "--reports-dir", str(tmp_path / "reports"),
                  "--doc", str(tmp_path / "docs" / "NIELSEN.md"), *more)


def test_an_experiment_runs_prints_the_table_and_writes_its_block(tmp_path, tiny):
    result = run_tiny(tmp_path)
    assert result.exit_code == 0, result.output
    table = [line for line in result.output.splitlines() if line.startswith("  ") and "%" in line]
    assert len(table) == 3 and "80.00%" in table[0] and "a figure" in table[1]
    for run in ("a", "b"):
        assert (tmp_path / "reports" / "experiments" / "tiny" / "numpy" / run / "results.json").exists()
    text = (tmp_path / "docs" / "NIELSEN.md").read_text()
    assert text.startswith("# Nielsen's book, reproduced") and "## A tiny experiment" in text
    block = find_block(text, "tiny")
    assert digest(block[3]) == block[2]  # as written: not edited
    assert "| eta 0.5 | 80.00% |" in block[3] and "![tiny: ours beside the book](nielsen/tiny.png)" in block[3]
    assert "compare run --impl numpy --sizes 784,8,10" in block[3]
    assert (tmp_path / "docs" / "nielsen" / "tiny.png").stat().st_size > 10_000


def test_running_it_again_skips_the_finished_runs_and_replaces_only_its_block(tmp_path, tiny):
    document = tmp_path / "docs" / "NIELSEN.md"
    document.parent.mkdir()
    document.write_text("# Mine\n\nMy words before.\n\n<!-- compare experiment tiny -->\n\nMy words after.\n")
    assert run_tiny(tmp_path).exit_code == 0
    first = document.read_text()
    assert first.startswith("# Mine\n\nMy words before.\n\n<!-- begin compare experiment tiny")  # in its slot
    assert first.endswith("<!-- end compare experiment tiny -->\n\nMy words after.\n")
    document.write_text(first.replace("My words after.", "My words after, changed."))
    again = run_tiny(tmp_path)
    assert again.exit_code == 0, again.output
    assert again.output.count("finished before, kept") == 2 and "replaced the block of tiny" in again.output
    text = document.read_text()
    assert text.count("<!-- begin compare experiment tiny") == 1 and "My words after, changed." in text
    assert "wall-clock for the whole runs" in text  # the time each run took when it ran, kept beside the runs


def test_a_block_edited_by_hand_is_replaced_only_with_force_and_refused_before_any_run(tmp_path, tiny):
    assert run_tiny(tmp_path).exit_code == 0
    document = tmp_path / "docs" / "NIELSEN.md"
    document.write_text(document.read_text().replace("| eta 0.5 | 80.00% |", "| eta 0.5 (my note) | 80.00% |"))
    reports = tmp_path / "reports" / "experiments" / "tiny" / "numpy"
    for run in ("a", "b"):  # were they run again, the refusal would come too late
        import shutil

        shutil.rmtree(reports / run)
    refused = run_tiny(tmp_path)
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines()[-1].endswith(
        "the block of tiny was edited by hand since compare experiment wrote it; move your text outside its "
        "markers, or add --force to replace it")
    assert not (reports / "a").exists() and "my note" in document.read_text()
    forced = run_tiny(tmp_path, "--force")
    assert forced.exit_code == 0 and "my note" not in document.read_text()


def test_the_other_experiments_blocks_and_no_doc(tmp_path, tiny):
    document = tmp_path / "docs" / "NIELSEN.md"
    assert run_tiny(tmp_path, "--no-doc").exit_code == 0
    assert not document.exists()
    document.parent.mkdir(parents=True, exist_ok=True)
    document.write_text("# Doc\n")
    assert run_tiny(tmp_path).exit_code == 0
    assert document.read_text().startswith("# Doc\n\n## A tiny experiment\n\n<!-- begin compare experiment tiny")
    assert len(BEGIN.findall(document.read_text())) == 1


@pytest.mark.parametrize("args,words", [
    (("nothing",), "no experiment 'nothing'"),
    (("tiny", "--impl", "numpy,torch"), "trained by one implementation"),
    ((), "name an experiment"),
    (("tiny", "--list"), "--list takes no experiment names"),
])
def test_wrong_usage_is_one_line_and_exit_2(tmp_path, tiny, args, words):
    result = invoke("experiment", *args, "--reports-dir", str(tmp_path))
    assert result.exit_code == 2 and words in result.output
    assert not list(tmp_path.iterdir())


def test_a_failed_run_is_named_and_no_block_is_written(tmp_path, tiny, monkeypatch):
    broken = Experiment("tiny", "A tiny experiment", "nowhere", "", runs=(Run("a", options(TINY, lr=1e6), "x"),),
                        rows=(Row("x", "a", 80.0, book.BEST_TEST),), figure="accuracy")
    monkeypatch.setitem(EXPERIMENTS, "tiny", broken)
    result = run_tiny(tmp_path)
    assert result.exit_code == 1
    assert "error: tiny: run a failed: numpy: " in result.output and "diverged" in result.output
    assert not (tmp_path / "docs" / "NIELSEN.md").exists()


def test_the_project_document_holds_every_experiment_and_its_figure():
    from compare.cli.experiment import DEFAULT_DOC

    text = DEFAULT_DOC.read_text()
    for name in EXPERIMENTS:
        if name == "tiny":
            continue
        block = find_block(text, name)
        assert block is not None, f"docs/NIELSEN.md has no block of {name}: run `compare experiment {name}`"
        assert digest(block[3]) == block[2], f"the block of {name} was edited by hand"
        figure = re.search(r"\]\((nielsen/[\w.-]+\.png)\)", block[3]).group(1)
        assert (DEFAULT_DOC.parent / figure).exists()
        for row in EXPERIMENTS[name].rows:
            assert f"| {row.label} |" in block[3]


def test_an_experiment_runs_on_a_local_dask_cluster(tmp_path, tiny):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        result = invoke("experiment", "tiny", "--scheduler", cluster.scheduler_address, "--reports-dir",
                        str(tmp_path / "reports"), "--doc", str(tmp_path / "NIELSEN.md"))
    assert result.exit_code == 0, result.output
    assert result.output.count(": done in") == 2 and "80.00%" in result.output
    assert find_block((tmp_path / "NIELSEN.md").read_text(), "tiny") is not None

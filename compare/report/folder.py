"""A run's folder: what `compare run` keeps in it, and what `compare report` makes again
from it.

    results.json  everything measured (compare.report.results, its schema beside it)
    model.npz     the first implementation's final parameters, a checkpoint (shared.checkpoint):
                  what the page is made from, with the test digits results.json keeps for it
    history.npz   the first implementation's parameters at step 0, log-spaced steps of its first
                  epoch and every epoch's end, each with test accuracy and loss (shared.history)
    page-digits.npz  the training and test digits the page trains on live (compare.report.page.digits)
    page.html     draw a digit and watch that network answer (compare.report.page)
    report.md, report.html and the figures (compare.report.document)

Anything a later run keeps (a training history, say) is one more file here, named in
results.json beside the others, so that `compare report` finds it with the results alone.
"""

from __future__ import annotations

from pathlib import Path

from compare.report.document import PAGE, figures_shown, write_report
from compare.report.page import (SIDE, build_page, choose_samples, dataset_label, describe, samples_document,
                                 samples_from_document)
from compare.report.page.digits import DIGITS_FILE, choose_page_digits, load_page_digits, save_page_digits
from compare.report.results import build_results, save_results
from compare.wording import layer_sizes, plural
from shared.atomic import atomic_write_text
from shared.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from shared.history import FILE_NAME, HistoryError, load_history, save_history

RESULTS = "results.json"
MODEL = "model.npz"
HISTORY = FILE_NAME  # history.npz: the first implementation's parameters from step 0 on (shared.history)
DIGITS = DIGITS_FILE  # page-digits.npz: what the page trains on live (compare.report.page.digits)


def write_run(outcome, name: str, directory: Path, dataset, progress: bool = True) -> tuple[dict, list[Path]]:
    """Everything a run keeps, from its outcome (compare.run.outcome.Outcome, with at least one
    completed epoch): results.json and model.npz, then the page and the report made from them."""
    page = None
    first = outcome.results[0]
    if dataset.test_images.shape[1:] == (SIDE, SIDE):  # the page draws 28x28 digits
        save_checkpoint(directory / MODEL, Checkpoint(first.params, outcome.config, first.name, first.final.epoch,
                                                      first.final.test_accuracy))
        test = dataset.limit(test_limit=len(first.outputs))
        samples = choose_samples(test.test_images, test.test_labels, first.predictions)
        page = {"model": MODEL, "impl": first.name, "samples": samples_document(samples)}
        if outcome.history is not None:  # the first implementation's training, step 0 on
            save_history(directory / HISTORY, outcome.history)
            page["history"] = HISTORY
        if len(dataset.train_images):
            save_page_digits(directory / DIGITS, choose_page_digits(dataset.train_images, dataset.train_labels,
                                                                         dataset.test_images, dataset.test_labels))
            page["digits"] = DIGITS
    document = build_results(name, outcome, dataset, page)
    save_results(directory / RESULTS, document)
    write_page(document, directory, directory)  # before the report, which links to it
    return document, write_report([document], directory, progress=progress)


RUN_FILES = {RESULTS, MODEL, HISTORY, DIGITS, PAGE, "report.md", "report.html"}  # and the figures report.md shows


def run_files(directory: Path) -> set[str]:
    """The names of the files the run in `directory` wrote there itself (its figures are those its
    report.md shows): everything else in the directory is the user's."""
    return RUN_FILES | figures_shown(directory / "report.md")


def write_page(document: dict, run_directory: Path, out_directory: Path) -> Path | None:
    """page.html in `out_directory`, from the model the run kept in `run_directory`: None when
    the run has no page (images not 28x28, or a results file from before runs kept their model).
    A model that cannot be read is a CheckpointError naming it."""
    text = run_page(document, run_directory)
    if text is None:
        return None
    path = out_directory / PAGE
    atomic_write_text(path, text)
    return path


def run_page(document: dict, run_directory: Path) -> str | None:
    """The page of a run (its model, samples and history, with its results file's `document`),
    as HTML; None when the run kept no model for a page. `compare report` and `compare page`
    both make it here. A model or history that cannot be read is a CheckpointError naming it."""
    page = document.get("page")
    if page is None:
        return None
    checkpoint = load_checkpoint(run_directory / page["model"])
    source = (f"the final parameters of {checkpoint.impl} after {plural(checkpoint.epoch, 'epoch')} "
              f"of the run {document['name']}")
    dataset = dataset_label(document["data"]["name"])
    about = describe(checkpoint.config, source, checkpoint.test_accuracy, document["data"]["test_images"], dataset)
    history = load_history(run_directory / page["history"]) if "history" in page else None
    digits = load_page_digits(run_directory / page["digits"]) if "digits" in page else None
    if history is not None and tuple(history.config.sizes) != tuple(checkpoint.config.sizes):
        raise HistoryError(run_directory / page["history"], f"a history of {layer_sizes(history.config.sizes)}, "
                           f"not of the run's model {layer_sizes(checkpoint.config.sizes)}")
    return build_page(checkpoint.params, checkpoint.config, samples_from_document(page["samples"]), about, history,
                      digits, dataset)

"""`compare eval`, `compare predict` and `compare page`: what a saved model does."""

from __future__ import annotations

from pathlib import Path

import click

from compare.cli.options import EXIT_CODES, parse_impls
from compare.cli.preflight import check_data, check_device, check_test_memory, load_data, read_checkpoint, read_data
from compare.wording import layer_sizes
from shared import config as cfg


def model_from_checkpoint(path: Path, impl: str | None, device: str):
    """(checkpoint, the model built from it by `impl` or by the implementation that trained it)."""
    from impls import REGISTRY

    if impl and impl not in REGISTRY:
        from impls.plugins import is_plugin_spec

        if is_plugin_spec(impl) and "," not in impl:
            impl = parse_impls(impl)[0]  # a learner's file, module:Class or plugin, loaded for this command
        elif impl != "all" and "," not in impl:
            raise click.BadParameter(f"unknown implementation {impl}: choose one of {', '.join(REGISTRY)}",
                                     param_hint="'--impl'")
        else:
            raise click.BadParameter(f"give one implementation, not {impl!r}: a model is evaluated by one at a time",
                                     param_hint="'--impl'")
    checkpoint = read_checkpoint(path)
    name = impl or checkpoint.impl
    if name not in REGISTRY:
        name = "numpy"
    config = checkpoint.config.with_changes(device=device)
    check_device(config, [name])
    return checkpoint, REGISTRY[name].build(config, checkpoint.params)


def computed(path: Path, params, compute):
    """compute(), refused in one line when it overflows: finite weights large enough make the
    outputs NaN or infinite (softmax of inf - inf), or a pure-Python exp() overflow. What it returns
    ends with the outputs (images, classes); NumPy's own warnings of the overflow are not printed."""
    import numpy as np

    try:
        with np.errstate(all="ignore"):
            result = compute()
    except (OverflowError, FloatingPointError):
        bad = None
    else:
        outputs = result[-1] if isinstance(result, tuple) else result
        bad = int(np.sum(~np.all(np.isfinite(np.asarray(outputs, dtype=np.float64)), axis=1)))
        if bad == 0:
            return result
    largest = max(float(np.abs(W).max()) for W, _ in params)
    images = f" for {bad:,} of {len(outputs):,} images" if bad is not None else ""
    raise click.ClickException(f"{path}: the model computes NaN or infinite outputs{images} (its largest weight is "
                               f"{largest:.3g}): it gives no answer; train it again with a lower learning rate")


@click.command("eval", epilog=EXIT_CODES)
@click.argument("checkpoint", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--impl", "impl", default=None, metavar="NAME",
              help="The implementation to evaluate with (a name, or a learner's file.py[:Class], module:Class or plugin: loading it runs its code). Default: the one that trained the model.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Test data (default: the bundled MNIST).")
@click.option("--device", type=click.Choice(cfg.DEVICES), default="auto", show_default=True)
def evaluate_command(checkpoint, impl, data_dir, device):
    """Test accuracy and loss of a saved model, in any implementation."""
    from compare.progress import Progress
    from compare.wording import plural
    from shared.data import scale_pixels
    from shared.training import evaluate

    saved, model = model_from_checkpoint(checkpoint, impl, device)
    dataset = load_data(data_dir, saved.config, test_only=True, model=checkpoint)
    check_test_memory(dataset, model.config.dtype)
    x = scale_pixels(dataset.test_images, model.config.dtype)
    with Progress(f"evaluating with {model.name}", len(x), unit="image") as progress:
        loss, accuracy, _ = computed(checkpoint, saved.params, lambda: evaluate(
            model, x, dataset.test_labels.astype("int64"),
            on_progress=lambda done, total: progress.update(done - progress.done)))
    click.echo(f"{checkpoint}: {layer_sizes(saved.config.sizes)} {saved.config.activation}, trained by "
               f"{saved.impl} for {plural(saved.epoch, 'epoch')}; evaluated by {model.name} on {len(x):,} {dataset.name} "
               f"test images: accuracy {accuracy:.2%}, loss {loss:.4f}")


@click.command(epilog=EXIT_CODES)
@click.argument("checkpoint", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--impl", "impl", default=None, metavar="NAME",
              help="The implementation to predict with (a name, or a learner's file.py[:Class], module:Class or plugin: loading it runs its code). Default: the one that trained the model.")
@click.option("--show", "show_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write a picture: each original, the 28x28 the network saw, and its probabilities.")
@click.option("--json", "as_json", is_flag=True, help="Print the predictions and warnings as JSON instead of text.")
@click.option("--device", type=click.Choice(cfg.DEVICES), default="auto", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing --show file.")
def predict(checkpoint, images, impl, show_path, as_json, device, force):
    """What a saved model thinks your handwritten digits are.

    IMAGES are PNG or JPEG files of one digit each, any size, dark on light paper or
    light on dark (pen on paper, chalk on a board, photos under uneven light); each is
    prepared the way MNIST's digits were (the paper taken away, cropped, scaled into
    20x20, centred by mass in 28x28) before the network sees it. A warning follows an
    image with no ink, with ink covering most of it, or whose answer is a guess.
    """
    import json

    import numpy as np

    from compare.progress import Progress
    from shared.images import ImageError, digit_warnings, read_digit

    if show_path is not None:
        from compare.run.outputs import OutputError, check_file

        check_file(show_path, "--show", force=force, inputs=(checkpoint, *images))
        if show_path.suffix.lower() != ".png":
            raise OutputError(f"{show_path}: --show writes a PNG image; give a name ending in .png", "--show")
    saved, model = model_from_checkpoint(checkpoint, impl, device)
    if saved.config.sizes[0] != 784:
        raise click.ClickException(f"{checkpoint}: the model takes {saved.config.sizes[0]} inputs, not 28x28 images")
    try:
        # Many images take seconds (each is a few tens of milliseconds): say so then.
        with Progress("reading images", len(images), unit="image", enabled=len(images) >= 20 and not as_json) as bar:
            digits = []
            for path in images:
                digits.append(read_digit(path))
                bar.update(1)
    except ImageError as error:
        raise click.ClickException(str(error)) from None
    inputs = np.stack([digit.seen.reshape(-1) for digit in digits]).astype(model.config.dtype)
    outputs = computed(checkpoint, saved.params, lambda: model.predict_proba(inputs))
    if saved.config.loss == "mse":  # sigmoid scores: normalized so they read as shares
        outputs = outputs / outputs.sum(axis=1, keepdims=True)
    answers = []
    for path, digit, probabilities in zip(images, digits, outputs):
        found = digit.seen.any()
        best = int(probabilities.argmax())
        answers.append({
            "image": str(path),
            "prediction": best if found else None,
            "probability": float(probabilities[best]) if found else None,
            "probabilities": [float(p) for p in probabilities] if found else None,
            "ink_share": digit.ink_share,
            "warnings": digit_warnings(digit, float(probabilities[best]) if found else None),
        })
    if as_json:
        click.echo(json.dumps({"model": str(checkpoint), "impl": model.name, "images": answers}, indent=1))
    else:
        for answer in answers:
            if answer["prediction"] is None:
                click.echo(f"{answer['image']}: no digit found")
            else:
                click.echo(f"{answer['image']}: {answer['prediction']} ({answer['probability']:.1%})")
                click.echo("  " + "  ".join(f"{d}: {p:5.1%}" for d, p in enumerate(answer["probabilities"])))
            for warning in answer["warnings"]:
                click.echo(f"  warning: {warning}")
    if show_path is not None:
        from compare.report.predictions import MAX_SHOWN, plot_predictions
        from compare.run.outputs import could_not_write

        shown = min(len(answers), MAX_SHOWN)  # a row each: hundreds would take minutes, in a picture none reads
        try:
            with Progress("drawing the picture", shown, unit="image", enabled=shown >= 10 and not as_json) as bar:
                plot_predictions(answers[:shown], digits[:shown], show_path, tick=lambda: bar.update(1))
        except OSError as error:
            raise could_not_write(error, "; the answers above stand" if not as_json else "") from None
        if not as_json:
            part = f" (the first {shown} of the {len(answers)} images)" if shown < len(answers) else ""
            click.echo(f"wrote {show_path}{part}")


@click.command("page", epilog=EXIT_CODES)
@click.argument("source", metavar="CHECKPOINT_OR_RUN", type=click.Path(path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The HTML file to write. Default: the checkpoint's or run folder's name with .html, in the current directory.")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Where a checkpoint's sample test digits come from (default: the bundled MNIST); a run keeps its own.")
def page_command(source, out_path, force, data_dir):
    """Write a page where you draw a digit and watch this model answer, layer by layer.

    From a checkpoint (.npz), or from a run's folder (reports/NAME, what `compare run`
    wrote): then the page has the run's history too, a timeline from the random start to
    the trained network. One self-contained HTML file: the exact weights, the drawing pad,
    the preparation MNIST's digits had, the forward pass, every neuron drawn and the
    backpropagation of your digit. It makes no network request; open it from disk,
    offline, or put it on any static host. A source that is neither is exit code 1.
    """
    from compare.report.folder import RESULTS
    from compare.run.outputs import check_file

    if source.name == RESULTS and source.is_file():  # a run's results file: the page of its folder
        source = source.parent
    out_path = out_path or Path((source.name if source.is_dir() else source.with_suffix(".html").name)
                                + (".html" if source.is_dir() else ""))
    if source.is_dir():
        check_file(out_path, "--out", force=force, inputs=(source / "results.json",))
        text = page_of_run(source)
    else:
        check_file(out_path, "--out", force=force, inputs=(source,))
        text = page_of_checkpoint(source, data_dir)
    from compare.run.outputs import could_not_write
    from shared.atomic import atomic_write_text

    try:
        atomic_write_text(out_path, text)
    except OSError as error:
        raise could_not_write(error) from None
    size = len(text.encode("utf-8"))
    click.echo(f"wrote {out_path} ({size / 1024:,.0f} KiB): open it in a browser, draw a digit")


def page_of_checkpoint(checkpoint: Path, data_dir) -> str:
    """The page of a saved model: sample digits and accuracy from the test set."""
    from compare.report.page import dataset_label, model_outputs, page_text
    from compare.report.page.digits import choose_page_digits
    from compare.wording import plural

    saved = read_checkpoint(checkpoint)
    if saved.config.sizes[0] != 784:
        raise click.ClickException(f"{checkpoint}: the model takes {saved.config.sizes[0]} inputs; "
                                   f"the page draws 28x28 digits (784)")
    # The training digits too, where there are: the page trains live on some of them.
    # They are checked as a test set is (the page evaluates the model; it has no --sizes).
    trains = has_training_files(data_dir)
    dataset = read_data(data_dir, test_only=not trains)
    check_data(dataset, saved.config, test_only=True, model=checkpoint)
    check_test_memory(dataset)  # the page's predictions: numpy in float64 on the whole test set
    predictions = computed(checkpoint, saved.params,
                           lambda: model_outputs(saved.params, saved.config, dataset.test_images)).argmax(axis=1)
    source = f"trained by {saved.impl} for {plural(saved.epoch, 'epoch')} ({checkpoint.name})"
    digits = (choose_page_digits(dataset.train_images, dataset.train_labels, dataset.test_images, dataset.test_labels)
              if trains else None)
    return page_text(saved.params, saved.config, dataset.test_images, dataset.test_labels, predictions,
                     source, dataset_label(dataset.name), digits)


def has_training_files(data_dir) -> bool:
    """Whether the data directory holds a training set (a page needs only the test files)."""
    from shared.data import DEFAULT_DATA_DIR, FILE_STEMS, DataError, find_file

    try:
        find_file(Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR, FILE_STEMS["train_images"])
    except DataError:
        return False
    return True


def page_of_run(directory: Path) -> str:
    """The page of a run's folder, as `compare run` made it: its model, samples and history."""
    from compare.report.folder import RESULTS, run_page
    from compare.report.results import ResultsError, load_results
    from shared.checkpoint import CheckpointError

    if not (directory / RESULTS).is_file():
        raise click.ClickException(f"{directory}: not a run's folder (no {RESULTS} in it); give the folder "
                                   "`compare run` wrote (reports/NAME) or a checkpoint (.npz)")
    try:
        text = run_page(load_results(directory / RESULTS), directory)
    except (ResultsError, CheckpointError) as error:
        raise click.ClickException(str(error)) from None
    if text is None:
        raise click.ClickException(f"{directory}: this run kept no model for a page (its images are not 28x28)")
    return text

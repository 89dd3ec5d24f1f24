"""`compare`: train the implementations side by side and check that they agree.

Only click and the NumPy-free config are imported at start-up; NumPy, torch and the
implementations load inside the command that needs them, so `compare --help` is fast.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from shared import config as cfg

EXIT_CODES = """\b
Exit codes:
  0  success
  1  a check failed, training diverged, or the data is bad
  2  wrong usage: an unknown option or an invalid value
  130  interrupted (Ctrl-C)"""


def config_options(command):
    """The options that build a Config, shared by `run` and `gradcheck`."""
    defaults = cfg.Config()
    options = [
        click.option("--impl", "impl_text", default="all", show_default=True, metavar="NAMES",
                     help="scratch, numpy, torch, a comma list of them, or all."),
        click.option("--sizes", default=",".join(map(str, defaults.sizes)), show_default=True,
                     help="Neurons per layer, input first, e.g. 784,16,16,10 (3Blue1Brown's network)."),
        click.option("--activation", type=click.Choice(cfg.ACTIVATIONS), default=defaults.activation,
                     show_default=True, help="Activation of the hidden layers."),
        click.option("--loss", type=click.Choice(cfg.LOSSES), default=defaults.loss, show_default=True,
                     help="mse: sigmoid outputs, quadratic cost; cross-entropy: softmax outputs."),
        click.option("--init", type=click.Choice(cfg.INITS), default=defaults.init, show_default=True,
                     help="Initial weights: nielsen N(0,1/n_in), xavier (Glorot) or he."),
        click.option("--seed", type=int, default=defaults.seed, show_default=True,
                     help="Seeds the initial parameters and the order of mini-batches."),
        click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                     help="A directory with the four IDX files (e.g. Fashion-MNIST). Default: the bundled MNIST."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def training_options(command):
    defaults = cfg.Config()
    options = [
        click.option("--lr", type=float, default=defaults.lr, show_default=True, help="Learning rate."),
        click.option("--batch-size", type=int, default=defaults.batch_size, show_default=True,
                     help="Images per mini-batch."),
        click.option("--epochs", type=int, default=defaults.epochs, show_default=True),
        click.option("--dtype", type=click.Choice(cfg.DTYPES), default=defaults.dtype, show_default=True,
                     help="Floating-point type of numpy and torch (scratch always uses Python floats, float64)."),
        click.option("--device", type=click.Choice(cfg.DEVICES), default=defaults.device, show_default=True,
                     help="Where torch computes; auto picks CUDA when available."),
        click.option("--train-limit", type=int, default=None, metavar="N",
                     help="Train on the first N training images only."),
        click.option("--test-limit", type=int, default=None, metavar="N",
                     help="Evaluate on the first N test images only."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_config(options: dict, **fixed) -> cfg.Config:
    """A Config from the command's options; a bad value is a usage error naming its option."""
    fields = {k: options[k] for k in ("activation", "loss", "init", "seed") if k in options}
    for key in ("lr", "batch_size", "epochs", "dtype", "device", "train_limit", "test_limit"):
        if key in options:
            fields[key] = options[key]
    try:
        fields["sizes"] = cfg.parse_sizes(options["sizes"])
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--sizes'") from None
    fields.update(fixed)
    try:
        return cfg.Config(**fields)
    except cfg.ConfigError as error:
        option = "--" + error.field.replace("_", "-")
        raise click.BadParameter(str(error), param_hint=f"'{option}'") from None


def parse_impls(text: str) -> list[str]:
    from impls import parse_impl_names

    try:
        return parse_impl_names(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--impl'") from None


def load_data(data_dir: Path | None, config: cfg.Config):
    """Load the dataset and check that the network's first and last layers fit it."""
    from shared.data import load_dataset
    from shared.idx import DataError

    try:
        dataset = load_dataset(data_dir)
    except DataError as error:
        raise click.ClickException(str(error)) from None
    if config.sizes[0] != dataset.input_size:
        raise click.BadParameter(
            f"the first layer has {config.sizes[0]} neurons but the images have "
            f"{dataset.input_size} pixels", param_hint="'--sizes'")
    if config.sizes[-1] != dataset.num_classes:
        raise click.BadParameter(
            f"the last layer has {config.sizes[-1]} neurons but the labels have "
            f"{dataset.num_classes} classes", param_hint="'--sizes'")
    for limit, name, count in ((config.train_limit, "--train-limit", len(dataset.train_labels)),
                               (config.test_limit, "--test-limit", len(dataset.test_labels))):
        if limit is not None and limit > count:
            raise click.BadParameter(f"{limit:,} is more than the {count:,} images there are", param_hint=f"'{name}'")
    train_count = min(config.train_limit or len(dataset.train_labels), len(dataset.train_labels))
    if config.batch_size > train_count:
        raise click.BadParameter(
            f"{config.batch_size:,} is larger than the {train_count:,} training images", param_hint="'--batch-size'")
    return dataset


def check_device(config: cfg.Config, impls: list[str]) -> None:
    """--device cuda without a CUDA device is a usage error, not a traceback in torch."""
    if config.device == "cuda" and "torch" in impls:
        import torch

        if not torch.cuda.is_available():
            raise click.BadParameter("cuda was asked for, but PyTorch sees no CUDA device here", param_hint="'--device'")


def handle_interrupt(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(130)
    return wrapper


@click.group(epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """One multilayer perceptron for MNIST, written three ways (pure Python, NumPy,
    PyTorch), trained side by side and checked to compute the same gradients."""


@main.command(epilog=EXIT_CODES)
@config_options
@training_options
@handle_interrupt
def run(impl_text, data_dir, **options):
    """Train each implementation from the same initial parameters and compare them.

    Before training, the implementations' gradients are checked against each other
    on one batch; after it, their accuracy, speed and final parameters.
    """
    from compare.running import run_comparison

    from shared.training import TrainingDiverged

    config = build_config(options)
    impls = parse_impls(impl_text)
    dataset = load_data(data_dir, config)
    check_device(config, impls)
    try:
        ok = run_comparison(config, impls, dataset, echo=click.echo)
    except TrainingDiverged as error:
        raise click.ClickException(str(error)) from None
    sys.exit(0 if ok else 1)


@main.command(epilog=EXIT_CODES)
@config_options
@click.option("--samples", type=click.IntRange(min=1), default=16, show_default=True,
              help="Training images in the batch the gradients are taken on.")
@click.option("--coordinates", type=click.IntRange(min=1), default=10, show_default=True,
              help="Entries per tensor checked by finite differences.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the table as JSON to this file ('-' for standard output).")
@handle_interrupt
def gradcheck(impl_text, data_dir, samples, coordinates, json_path, **options):
    """Check that the implementations compute the same gradients (float64).

    From identical parameters and the same batch of training images: each pair of
    implementations, and each against central finite differences of its own loss.
    Exits with 1 when any relative error is above its tolerance.
    """
    from compare.gradcheck import check_gradients, format_agreement
    from shared.atomic import atomic_write_text
    from shared.data import scale_pixels
    from shared.params import init_params

    config = build_config(options)
    impls = parse_impls(impl_text)
    dataset = load_data(data_dir, config)
    samples = min(samples, len(dataset.train_labels))
    x = scale_pixels(dataset.train_images[:samples], "float64")
    y = dataset.train_labels[:samples].astype("int64")
    params = init_params(config.sizes, config.init, config.seed)
    result = check_gradients(config, params, x, y, impls, coordinates=coordinates, seed=config.seed)
    document = json.dumps(result.to_dict(), indent=2) + "\n"
    if json_path is not None and str(json_path) == "-":
        click.echo(document, nl=False)
    else:
        click.echo(f"Gradients of {describe_network(config)} on {samples} MNIST training images, float64")
        click.echo("relative error = max|a - b| / max(max|a|, max|b|) per tensor\n")
        click.echo(format_agreement(result))
        if json_path is not None:
            atomic_write_text(json_path, document)
            click.echo(f"wrote {json_path}")
    sys.exit(0 if result.passed else 1)


def describe_network(config: cfg.Config) -> str:
    sizes = "-".join(map(str, config.sizes))
    return f"{sizes} {config.activation}, {config.output_activation} output, {config.loss}"


if __name__ == "__main__":  # pragma: no cover
    main()

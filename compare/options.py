"""What the commands share: their options, building a Config from them, loading data,
and turning every expected failure into a one-line error with the right exit code.

Only click and the NumPy-free config are imported here; heavy modules load inside.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

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
                     help="scratch, autograd, numpy, torch, a comma list of them, or all."),
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
        click.option("--momentum", type=float, default=defaults.momentum, show_default=True,
                     help="SGD momentum: v = momentum * v + g; theta -= lr * v."),
        click.option("--weight-decay", type=float, default=defaults.weight_decay, show_default=True,
                     help="L2 penalty on the weights (not the biases)."),
        click.option("--schedule", type=click.Choice(cfg.SCHEDULES), default=defaults.schedule, show_default=True,
                     help="Learning rate over the run: constant, or cosine decay to 0."),
        click.option("--dtype", type=click.Choice(cfg.DTYPES), default=defaults.dtype, show_default=True,
                     help="Floating-point type of numpy and torch (scratch and autograd always use Python floats, float64)."),
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


CONFIG_FIELDS = ("sizes", "activation", "loss", "init", "seed", "lr", "batch_size", "epochs", "momentum",
                 "weight_decay", "schedule", "dtype", "device", "train_limit", "test_limit")


def typed(key: str) -> bool:
    """Whether the option was given on the command line (not left at its default)."""
    return click.get_current_context().get_parameter_source(key) not in (ParameterSource.DEFAULT, None)


def build_config(options: dict, base: dict | None = None) -> cfg.Config:
    """A Config from the command's options over a base (a preset's values or a resumed
    checkpoint's config): an option typed on the command line beats the base, the base
    beats the default. A bad value is a usage error naming its option."""
    base = base or {}
    fields = {}
    for key in CONFIG_FIELDS:
        if key in options:
            fields[key] = base[key] if key in base and not typed(key) else options[key]
    if isinstance(fields.get("sizes"), str):
        try:
            fields["sizes"] = cfg.parse_sizes(fields["sizes"])
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="'--sizes'") from None
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


def load_data(data_dir: Path | None, config: cfg.Config, test_only: bool = False):
    """Load the dataset and check that the network's first and last layers fit it.

    test_only: read only the two test files (a command that evaluates needs no training set)."""
    from shared.data import load_dataset
    from shared.idx import DataError

    try:
        dataset = load_dataset(data_dir, splits=("test",) if test_only else ("train", "test"))
    except DataError as error:
        raise click.ClickException(str(error)) from None
    if config.sizes[0] != dataset.input_size:
        raise click.BadParameter(
            f"the first layer has {config.sizes[0]} neurons but the images have "
            f"{dataset.input_size} pixels", param_hint="'--sizes'")
    stray = stray_label(dataset, config.sizes[-1])
    if stray:
        raise click.ClickException(stray)
    # A test set alone may lack the last classes; it must not have more than the network answers.
    too_few = config.sizes[-1] < dataset.num_classes
    if too_few or (not test_only and config.sizes[-1] != dataset.num_classes):
        raise click.BadParameter(
            f"the last layer has {config.sizes[-1]} neurons but the labels have "
            f"{dataset.num_classes} classes", param_hint="'--sizes'")
    if test_only:
        return dataset
    for limit, name, count in ((config.train_limit, "--train-limit", len(dataset.train_labels)),
                               (config.test_limit, "--test-limit", len(dataset.test_labels))):
        if limit is not None and limit > count:
            raise click.BadParameter(f"{limit:,} is more than the {count:,} images there are", param_hint=f"'{name}'")
    train_count = min(config.train_limit or len(dataset.train_labels), len(dataset.train_labels))
    if config.batch_size > train_count:
        raise click.BadParameter(
            f"{config.batch_size:,} is larger than the {train_count:,} training images", param_hint="'--batch-size'")
    return dataset


# Bytes of memory per network parameter while an implementation trains: its own copy, gradients and
# momentum, in its dtype, plus the float64 copies the loop makes (the initial parameters, the gradient
# check, the per-epoch checks and checkpoints). Python floats in lists cost 32 bytes each (object and
# pointer). Measured: numpy 784-2000-10 float64 ~45 B, torch ~55 B; rounded up.
BYTES_PER_PARAMETER = {"scratch": 3 * 32 + 4 * 8, "numpy": 3 * 8 + 4 * 8, "torch": 4 * 8 + 4 * 8}
ACTIVATION_COPIES = 4  # per hidden unit per image in a batch: z, a, delta, and a temporary


def memory_needed(config: cfg.Config, impl: str) -> int:
    """A generous estimate of the bytes training `impl` on `config` takes, beyond the data."""
    parameters = sum(n_out * n_in + n_out for n_in, n_out in zip(config.sizes[:-1], config.sizes[1:]))
    per_parameter = BYTES_PER_PARAMETER.get(impl, BYTES_PER_PARAMETER["scratch"])
    if config.dtype == "float32" and impl != "scratch":
        per_parameter -= per_parameter // 4
    images = max(config.batch_size, 2000)  # the test set is evaluated 2000 images at a time
    return parameters * per_parameter + images * sum(config.sizes[1:]) * 8 * ACTIVATION_COPIES


def check_memory(config: cfg.Config, impls: list[str]) -> None:
    """Absurd --sizes are refused before anything is allocated (the implementations train one
    after another, so the largest need counts)."""
    from shared.resources import available_memory

    available = available_memory()
    if available is None:
        return
    impl = max(impls, key=lambda name: memory_needed(config, name))
    needed = memory_needed(config, impl)
    if needed > available:
        parameters = sum(n_out * n_in + n_out for n_in, n_out in zip(config.sizes[:-1], config.sizes[1:]))
        raise click.BadParameter(
            f"a {'-'.join(map(str, config.sizes))} network has {parameters:,} parameters; training it with {impl} "
            f"needs about {gibibytes(needed)} of memory, more than the {gibibytes(available)} available here",
            param_hint="'--sizes'")


def gibibytes(count: int) -> str:
    return f"{count / 2**30:,.1f} GiB" if count < 2**40 else f"{count / 2**40:,.1f} TiB"


STRAY_SHARE = 0.01  # labels beyond the network's outputs this rare are damage, not more classes


def stray_label(dataset, outputs: int) -> str | None:
    """A label outside 0..outputs-1 that almost no other label shares (a 255 or a 10 among MNIST's
    digits) is bad data, named by file and position; many of them mean the network is too small."""
    import numpy as np

    from shared.data import FILE_STEMS

    labels = {"train_labels": dataset.train_labels, "test_labels": dataset.test_labels}
    outside = {key: np.flatnonzero(values >= outputs) for key, values in labels.items()}
    count = sum(len(where) for where in outside.values())
    total = sum(len(values) for values in labels.values())
    if count == 0 or count > STRAY_SHARE * total:
        return None
    key = next(key for key, where in outside.items() if len(where))
    index = int(outside[key][0])
    path = next((p for p in (dataset.directory / f"{FILE_STEMS[key]}.gz", dataset.directory / FILE_STEMS[key])
                 if p.exists()), dataset.directory / FILE_STEMS[key])
    others = f" ({count - 1:,} more like it)" if count > 1 else ""
    return (f"{path}: label {int(labels[key][index])} at index {index:,} is not one of the classes 0-{outputs - 1} "
            f"that {total - count:,} of the {total:,} labels use{others}: the file is damaged")


def check_device(config: cfg.Config, impls: list[str]) -> None:
    """--device cuda without a CUDA device is a usage error, not a traceback in torch."""
    if config.device == "cuda" and "torch" in impls:
        import torch

        if not torch.cuda.is_available():
            raise click.BadParameter("cuda was asked for, but PyTorch sees no CUDA device here", param_hint="'--device'")


class InterruptibleGroup(click.Group):
    """Ctrl-C in any command ends with one line and exit code 130 (click's own handling
    would say "Aborted!" and exit 1)."""

    def invoke(self, ctx):
        import signal

        try:
            if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # from here on, Ctrl-C unwinds (and saves)
                signal.signal(signal.SIGINT, signal.default_int_handler)
        except ValueError:  # not the main thread (an embedding program): its handlers stay as they are
            pass
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(130)


def read_checkpoint(path: Path):
    from shared.checkpoint import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path)
    except CheckpointError as error:
        raise click.ClickException(str(error)) from None

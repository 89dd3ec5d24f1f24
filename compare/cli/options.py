"""What the commands share: their options, the exit codes, building a Config from them.

Only click and the NumPy-free config are imported here; heavy modules load inside.
"""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from impls import IMPLEMENTATIONS, NAMES
from shared import config as cfg

EXIT_CODES = """\b
Exit codes:
  0  success
  1  a check failed, training diverged, the data is bad, or a file could not be written
  2  wrong usage: an unknown option or an invalid value
  130  interrupted (Ctrl-C)"""


def config_options(command):
    """The options that build a Config, shared by `run` and `gradcheck`."""
    defaults = cfg.Config()
    options = [
        click.option("--impl", "impl_text", default="all", show_default=True, metavar="NAMES",
                     help=f"{', '.join(NAMES)}, a learner's path/to/file.py[:Class] or module:Class or plugin "
                          "name (loading a file or module runs its code), a comma list of them, or all."),
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
                     help="A directory with the four IDX files (e.g. Fashion-MNIST), or Nielsen's mnist.pkl.gz "
                          "(the file, or a directory holding it; read without running code; its 50,000 / 10,000 / "
                          "10,000 split becomes training / validation / test). Default: the bundled MNIST."),
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
        click.option("--schedule", type=click.Choice(cfg.SCHEDULES), default=defaults.schedule, show_default=True,
                     help="Learning rate over the run: constant; cosine decay to 0; or halve, the book's: halved "
                          f"each time the validation accuracy has not improved for {cfg.PATIENCE} epochs (or "
                          f"--early-stop's), the run ending at 1/{2 ** cfg.HALVINGS} of --lr."),
        click.option("--validation", type=int, default=None, metavar="N",
                     help="Hold out the last N training images as a validation set, evaluated after every "
                          "epoch; the test set is then evaluated once, at the end. Default: the data's own "
                          "split (10,000 for Nielsen's mnist.pkl.gz, none for the IDX files)."),
        click.option("--early-stop", type=int, default=None, metavar="N",
                     help="End the run when the validation accuracy has not improved for N epochs "
                          "(needs a validation set)."),
        click.option("--expand", type=click.Choice(cfg.EXPANSIONS), default=defaults.expand, show_default=True,
                     help="Expanded training data (the book's chapter 6): shifts adds each image moved one "
                          "pixel up, down, left and right (5x the images); rotations adds it turned by a seeded "
                          "angle of 5-15 degrees each way (3x); shifts+rotations both (7x)."),
        click.option("--dtype", type=click.Choice(cfg.DTYPES), default=defaults.dtype, show_default=True,
                     help=f"Floating-point type of {' and '.join(i.name for i in IMPLEMENTATIONS if not i.python_floats)} "
                          f"({' and '.join(i.name for i in IMPLEMENTATIONS if i.python_floats)} always use Python "
                          "floats, float64)."),
        click.option("--device", type=click.Choice(cfg.DEVICES), default=defaults.device, show_default=True,
                     help="Where torch computes; auto picks CUDA when available."),
        click.option("--train-limit", type=int, default=None, metavar="N",
                     help="Train on the first N training images only."),
        click.option("--test-limit", type=int, default=None, metavar="N",
                     help="Evaluate on the first N test images only."),
    ]
    for option in reversed(options):
        command = option(command)
    return penalty_options(command)


def penalty_options(command):
    """--weight-decay and --l2: one L2 penalty in two conventions (run and gradcheck)."""
    defaults = cfg.Config()
    options = [
        click.option("--weight-decay", type=float, default=defaults.weight_decay, show_default=True,
                     help="L2 penalty on the weights (not the biases): each step adds weight_decay * w to the "
                          "gradient. The same as --l2 LAMBDA with weight_decay = LAMBDA / n."),
        click.option("--l2", type=float, default=defaults.l2, show_default=True, metavar="LAMBDA",
                     help="L2 regularization in Nielsen's convention, C = C0 + (LAMBDA / 2n) sum w^2, n the "
                          "training images used (after --validation, --train-limit and --expand): it trains as "
                          "--weight-decay LAMBDA / n (e.g. --l2 5 on 50,000 images is --weight-decay 1e-4)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


CONFIG_FIELDS = ("sizes", "activation", "loss", "init", "seed", "lr", "batch_size", "epochs", "momentum",
                 "weight_decay", "l2", "schedule", "validation", "early_stop", "expand", "dtype", "device",
                 "train_limit", "test_limit")
# Two conventions for one penalty: the one typed replaces the other's value from a preset or checkpoint.
ONE_OF = ("weight_decay", "l2")


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
    given = [key for key in ONE_OF if key in options and typed(key)]
    if len(given) == 2 and options["weight_decay"] and options["l2"]:
        raise click.UsageError("--l2 and --weight-decay are one penalty in two conventions (weight decay = "
                               "LAMBDA / n): give one of them")
    for key in given:  # the other convention's value from the base no longer applies
        for other in ONE_OF:
            if other != key and other in fields and other not in given:
                fields[other] = 0.0
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
    from impls.plugins import PluginImportError

    try:
        return parse_impl_names(text)
    except PluginImportError as error:  # the learner's own traceback, under the one line naming the file
        click.echo(f"error: {error}", err=True)
        click.echo(error.traceback.rstrip("\n"), err=True)
        raise SystemExit(2) from None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--impl'") from None

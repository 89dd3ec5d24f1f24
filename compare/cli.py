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
        click.option("--momentum", type=float, default=defaults.momentum, show_default=True,
                     help="SGD momentum: v = momentum * v + g; theta -= lr * v."),
        click.option("--weight-decay", type=float, default=defaults.weight_decay, show_default=True,
                     help="L2 penalty on the weights (not the biases)."),
        click.option("--schedule", type=click.Choice(cfg.SCHEDULES), default=defaults.schedule, show_default=True,
                     help="Learning rate over the run: constant, or cosine decay to 0."),
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


CONFIG_FIELDS = ("sizes", "activation", "loss", "init", "seed", "lr", "batch_size", "epochs", "momentum",
                 "weight_decay", "schedule", "dtype", "device", "train_limit", "test_limit")


def build_config(options: dict, preset: str | None = None) -> cfg.Config:
    """A Config from the command's options over a preset's values (an option typed on
    the command line beats the preset, the preset beats the default); a bad value is a
    usage error naming its option."""
    context = click.get_current_context()
    overrides = cfg.PRESETS[preset][1] if preset else {}
    if preset and context.get_parameter_source("impl_text") == ParameterSource.DEFAULT:
        options["impl_text"] = cfg.PRESETS[preset][2]
    fields = {}
    for key in CONFIG_FIELDS:
        if key not in options:
            continue
        typed = context.get_parameter_source(key) not in (ParameterSource.DEFAULT, None)
        fields[key] = overrides[key] if key in overrides and not typed else options[key]
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


def run_directory(reports_dir: Path, name: str | None, force: bool) -> tuple[str, Path]:
    """Where this run's files go; checked before training, so no time is lost."""
    from datetime import datetime

    name = name or datetime.now().strftime("%Y%m%d-%H%M%S")
    if not name.strip() or "/" in name or "\\" in name or name in (".", ".."):
        raise click.BadParameter(f"{name!r} cannot be a directory name", param_hint="'--name'")
    directory = reports_dir / name
    if directory.exists() and any(directory.iterdir()) and not force:
        raise click.BadParameter(
            f"{directory} already holds a run; choose another --name or add --force to overwrite it",
            param_hint="'--name'")
    return name, directory


@main.command(epilog=EXIT_CODES)
@click.option("--preset", type=click.Choice(list(cfg.PRESETS)), default=None,
              help="Start from a named config (see `compare presets`); options given override it.")
@config_options
@training_options
@click.option("--name", default=None, help="Name of the run: its files go to REPORTS_DIR/NAME. Default: a timestamp.")
@click.option("--reports-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports"),
              show_default=True, help="Where runs are written.")
@click.option("--force", is_flag=True, help="Overwrite a run of the same name.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the results document (JSON) instead of text.")
@handle_interrupt
def run(impl_text, data_dir, preset, name, reports_dir, force, quiet, as_json, **options):
    """Train each implementation from the same initial parameters and compare them.

    Before training, the implementations' gradients are checked against each other
    on one batch; after it, their accuracy, speed and final parameters. Writes
    results.json, report.md, report.html and the figures to REPORTS_DIR/NAME.
    """
    from compare.report import write_report
    from compare.results import build_results, save_results
    from compare.running import run_comparison
    from shared.training import TrainingDiverged

    options["impl_text"] = impl_text
    config = build_config(options, preset)
    impls = parse_impls(options["impl_text"])
    dataset = load_data(data_dir, config)
    check_device(config, impls)
    name, directory = run_directory(reports_dir, name, force)
    silent = quiet or as_json
    echo = (lambda line: None) if silent else click.echo
    try:
        outcome = run_comparison(config, impls, dataset, echo=echo, progress=not silent,
                                 command=" ".join(["compare", *sys.argv[1:]]))
    except TrainingDiverged as error:
        raise click.ClickException(str(error)) from None
    document = build_results(name, outcome, dataset)
    save_results(directory / "results.json", document)
    written = write_report([document], directory)
    if as_json:
        click.echo(json.dumps(document, indent=1))
    else:
        echo(f"\nWrote {directory / 'results.json'} and the report: {written[1]} ({written[0].name} beside it)")
    sys.exit(0 if outcome.agreement.passed else 1)


@main.command(epilog=EXIT_CODES)
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for the report. Default: beside a single results file, else reports/compare-TIMESTAMP.")
def report(results, out_dir):
    """Rebuild a report from saved results.json files; several go side by side
    (e.g. float32 against float64, or two machines)."""
    from datetime import datetime

    from compare.report import write_report
    from compare.results import ResultsError, load_results

    try:
        documents = [load_results(path) for path in results]
    except ResultsError as error:
        raise click.ClickException(str(error)) from None
    if out_dir is None:
        out_dir = results[0].parent if len(results) == 1 else Path("reports") / datetime.now().strftime("compare-%Y%m%d-%H%M%S")
    written = write_report(documents, out_dir)
    click.echo(f"Wrote {written[1]} and {written[0]} with {len(written) - 2} figures")


@main.command(epilog=EXIT_CODES)
@click.option("--quick", is_flag=True, help="Short timings and no pure-Python runs on the two larger configs (for CI).")
@click.option("--accuracy", is_flag=True, help="Also train the accuracy targets (preset best, scratch's first epoch): minutes.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="BLAS and torch threads. Default: the cores available.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for bench.json and bench.md. Default: reports/bench-TIMESTAMP.")
@click.option("--markdown", "markdown_copy", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the Markdown table here (e.g. docs/BENCHMARKS.md).")
@handle_interrupt
def bench(quick, accuracy, threads, out_dir, markdown_copy):
    """Measure training throughput of every implementation and baseline, and the targets.

    Each implementation and baseline trains on the same in-memory batches, interleaved,
    median of 5 repeats with min and max; thread counts fixed and reported.
    """
    from datetime import datetime

    from compare import bench as benchmark
    from shared.atomic import atomic_write_text

    out_dir = out_dir or Path("reports") / datetime.now().strftime("bench-%Y%m%d-%H%M%S")
    dataset = load_data(None, cfg.Config())
    plan = benchmark.Plan.quick() if quick else benchmark.Plan()
    document = benchmark.run_bench(dataset, plan, threads or benchmark.default_threads(), accuracy,
                                   echo=click.echo, command=" ".join(["compare", *sys.argv[1:]]))
    benchmark.save(document, out_dir / "bench.json", out_dir / "bench.md")
    if markdown_copy is not None:
        atomic_write_text(markdown_copy, benchmark.to_markdown(document) + "\n")
    click.echo("\n" + benchmark.to_markdown(document).split("## Training throughput")[0].strip())
    click.echo(f"\nWrote {out_dir / 'bench.json'} and {out_dir / 'bench.md'}")


@main.command()
def presets():
    """List the named configs that `compare run --preset NAME` starts from."""
    for name, (description, values, impls) in cfg.PRESETS.items():
        click.echo(f"{name}\n  {description}")
        settings = ", ".join(
            f"--{key.replace('_', '-')} {','.join(map(str, value)) if isinstance(value, tuple) else value}"
            for key, value in values.items())
        click.echo(f"  {settings}, --impl {impls}")


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

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


def read_checkpoint(path: Path):
    from shared.checkpoint import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path)
    except CheckpointError as error:
        raise click.ClickException(str(error)) from None


def check_resumable(config: cfg.Config, checkpoint, path: Path) -> None:
    """The network itself must stay the checkpoint's; how it is trained may change."""
    for key in ("sizes", "activation", "loss"):
        if getattr(config, key) != getattr(checkpoint.config, key):
            value = getattr(checkpoint.config, key)
            shown = ",".join(map(str, value)) if key == "sizes" else value
            raise click.BadParameter(f"{path} holds a network with {key} {shown}; a resumed run keeps it",
                                     param_hint=f"'--{key}'")


def checkpoint_paths(save_path: Path | None, impls: list[str]) -> dict[str, Path]:
    if save_path is None:
        return {}
    if len(impls) == 1:
        return {impls[0]: save_path}
    suffix = save_path.suffix or ".npz"
    return {impl: save_path.with_name(f"{save_path.stem}-{impl}{suffix}") for impl in impls}


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
@click.option("--save", "save_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Save the trained model here (.npz) after every epoch; with several implementations, "
                   "one file each, named PATH-IMPL.npz.")
@click.option("--resume", "resume_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Continue training from a checkpoint; its epochs go on counting, options typed override its config.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the results document (JSON) instead of text.")
@handle_interrupt
def run(impl_text, data_dir, preset, name, reports_dir, force, save_path, resume_path, quiet, as_json, **options):
    """Train each implementation from the same initial parameters and compare them.

    Before training, the implementations' gradients are checked against each other
    on one batch; after it, their accuracy, speed and final parameters. Writes
    results.json, report.md, report.html and the figures to REPORTS_DIR/NAME.
    """
    from compare.report import write_report
    from compare.results import build_results, save_results
    from compare.running import run_comparison
    from shared.training import TrainingDiverged

    if preset and resume_path:
        raise click.UsageError("--preset and --resume cannot be combined: a resumed run takes its checkpoint's config")
    base, params, start_epoch = {}, None, 1
    if preset:
        base = cfg.PRESETS[preset][1]
        impl_text = impl_text if typed("impl_text") else cfg.PRESETS[preset][2]
    if resume_path:
        checkpoint = read_checkpoint(resume_path)
        base, params, start_epoch = checkpoint.config.to_dict(), checkpoint.params, checkpoint.epoch + 1
        base["sizes"] = checkpoint.config.sizes
        impl_text = impl_text if typed("impl_text") else checkpoint.impl
    config = build_config(options, base)
    if resume_path:
        check_resumable(config, checkpoint, resume_path)
    impls = parse_impls(impl_text)
    dataset = load_data(data_dir, config)
    check_device(config, impls)
    name, directory = run_directory(reports_dir, name, force)
    save_paths = checkpoint_paths(save_path, impls)
    silent = quiet or as_json
    echo = (lambda line: None) if silent else click.echo
    try:
        outcome = run_comparison(config, impls, dataset, echo=echo, progress=not silent,
                                 command=" ".join(["compare", *sys.argv[1:]]), params=params,
                                 start_epoch=start_epoch, save_paths=save_paths)
    except TrainingDiverged as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        saved = [str(path) for path in save_paths.values() if path.exists()]
        if saved:
            click.echo(f"\ninterrupted; the last completed epoch is saved in {', '.join(saved)}", err=True)
        raise
    for impl, path in save_paths.items():
        echo(f"saved the model trained by {impl} in {path}")
    document = build_results(name, outcome, dataset)
    document["initial_parameters"]["resumed_from"] = str(resume_path) if resume_path else None
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


def model_from_checkpoint(path: Path, impl: str | None, device: str):
    """(checkpoint, the model built from it by `impl` or by the implementation that trained it)."""
    from impls import build

    checkpoint = read_checkpoint(path)
    name = parse_impls(impl)[0] if impl else checkpoint.impl
    if name not in ("scratch", "numpy", "torch"):
        name = "numpy"
    config = checkpoint.config.with_changes(device=device)
    check_device(config, [name])
    return checkpoint, build(name, config, checkpoint.params)


@main.command("eval", epilog=EXIT_CODES)
@click.argument("checkpoint", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--impl", "impl", default=None, metavar="NAME",
              help="The implementation to evaluate with. Default: the one that trained the model.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Test data (default: the bundled MNIST).")
@click.option("--device", type=click.Choice(cfg.DEVICES), default="auto", show_default=True)
def evaluate_command(checkpoint, impl, data_dir, device):
    """Test accuracy and loss of a saved model, in any implementation."""
    from shared.training import evaluate
    from shared.data import scale_pixels

    saved, model = model_from_checkpoint(checkpoint, impl, device)
    dataset = load_data(data_dir, saved.config.with_changes(train_limit=None, test_limit=None))
    x = scale_pixels(dataset.test_images, model.config.dtype)
    loss, accuracy, _ = evaluate(model, x, dataset.test_labels.astype("int64"))
    click.echo(f"{checkpoint}: {'-'.join(map(str, saved.config.sizes))} {saved.config.activation}, trained by "
               f"{saved.impl} for {saved.epoch} epochs; evaluated by {model.name} on {len(x):,} {dataset.name} "
               f"test images: accuracy {accuracy:.2%}, loss {loss:.4f}")


@main.command(epilog=EXIT_CODES)
@click.argument("checkpoint", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--impl", "impl", default=None, metavar="NAME",
              help="The implementation to predict with. Default: the one that trained the model.")
@click.option("--show", "show_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write a picture: each original, the 28x28 the network saw, and its probabilities.")
@click.option("--device", type=click.Choice(cfg.DEVICES), default="auto", show_default=True)
def predict(checkpoint, images, impl, show_path, device):
    """What a saved model thinks your handwritten digits are.

    IMAGES are PNG or JPEG files of one digit each, any size, dark on light paper or
    light on dark; each is prepared the way MNIST's digits were (cropped, scaled into
    20x20, centred by mass in 28x28) before the network sees it.
    """
    import numpy as np

    from shared.images import ImageError, load_digit

    saved, model = model_from_checkpoint(checkpoint, impl, device)
    if saved.config.sizes[0] != 784:
        raise click.ClickException(f"{checkpoint}: the model takes {saved.config.sizes[0]} inputs, not 28x28 images")
    try:
        digits = [load_digit(path) for path in images]
    except ImageError as error:
        raise click.ClickException(str(error)) from None
    inputs = np.stack([digit.reshape(-1) for _, digit in digits]).astype(model.config.dtype)
    outputs = model.predict_proba(inputs)
    if saved.config.loss == "mse":  # sigmoid scores: normalized so they read as shares
        outputs = outputs / outputs.sum(axis=1, keepdims=True)
    for path, probabilities in zip(images, outputs):
        best = int(probabilities.argmax())
        click.echo(f"{path}: {best} ({probabilities[best]:.1%})")
        click.echo("  " + "  ".join(f"{digit}: {p:5.1%}" for digit, p in enumerate(probabilities)))
    if show_path is not None:
        from compare.plots import plot_predictions

        plot_predictions([str(p) for p in images], digits, outputs, show_path)
        click.echo(f"wrote {show_path}")


@main.group()
def data():
    """Download and check datasets (the bundled MNIST needs neither)."""


@data.command("download", epilog=EXIT_CODES)
@click.option("--dataset", default="mnist", show_default=True, metavar="NAME",
              help="mnist, fashion-mnist, or any name with --mirror (and --md5 to verify).")
@click.option("--dest", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for the four files. Default: data/NAME in this project.")
@click.option("--mirror", "mirrors", multiple=True, metavar="URL",
              help="A base URL holding the four .gz files; repeat to try several in order. Default: the known mirrors.")
@click.option("--md5", "md5_pairs", multiple=True, metavar="FILE=HASH",
              help="The MD5 a file must have (for datasets without known checksums).")
@click.option("--timeout", type=click.FloatRange(min=0.01), default=30.0, show_default=True,
              help="Seconds to wait on a silent server.")
@click.option("--retries", type=click.IntRange(min=1), default=3, show_default=True, help="Attempts per mirror.")
def data_download(dataset, dest, mirrors, md5_pairs, timeout, retries):
    """Fetch the four IDX files, verify their checksums, and move them into place."""
    from shared.data import DEFAULT_DATA_DIR, load_dataset
    from shared.download import DATASETS, DownloadError, download_file, files_for, verify_file
    from shared.idx import DataError

    md5s = {}
    for pair in md5_pairs:
        name, _, digest = pair.partition("=")
        if not name or len(digest) != 32:
            raise click.BadParameter(f"expected FILE=HASH with a 32-digit MD5; got {pair!r}", param_hint="'--md5'")
        md5s[name] = digest.lower()
    if dataset not in DATASETS and not mirrors:
        raise click.BadParameter(f"{dataset!r} is not a known dataset ({', '.join(DATASETS)}): give --mirror URL",
                                 param_hint="'--dataset'")
    mirrors = list(mirrors) or DATASETS[dataset][0]
    dest = dest or DEFAULT_DATA_DIR.parent / dataset
    files = files_for(dataset, md5s)
    for remote in files:
        path = dest / remote.name
        if path.exists() and remote.verifiable and verify_file(path, remote) is None:
            click.echo(f"{path}: already there, verified")
            continue
        if not remote.verifiable:
            click.echo(f"{remote.name}: no checksum known: it will be unverified (give --md5 {remote.name}=HASH)")
        click.echo(f"{remote.name}: downloading")
        try:
            download_file(remote, mirrors, dest, timeout=timeout, retries=retries, echo=click.echo,
                          progress_factory=download_progress)
        except DownloadError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"{path}: {'verified' if remote.verifiable else 'UNVERIFIED'}")
    try:
        loaded = load_dataset(dest)
    except DataError as error:
        raise click.ClickException(str(error)) from None
    click.echo(describe_dataset(loaded))


def download_progress(name: str):
    """A tqdm bar for one file (silent off a terminal)."""
    from tqdm import tqdm

    bar = tqdm(desc=f"  {name}", unit="B", unit_scale=True, leave=False, disable=None)

    def update(done: int, total: int | None) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        if total and done >= total:
            bar.close()

    return update


def describe_dataset(dataset) -> str:
    rows, cols = dataset.train_images.shape[1:]
    state = f"{dataset.name}, checksums verified" if dataset.verified else "no known checksums (unverified)"
    return (f"{dataset.directory}: {state}: {len(dataset.train_labels):,} training and {len(dataset.test_labels):,} "
            f"test images of {rows}x{cols}, {dataset.num_classes} classes")


@data.command("verify", epilog=EXIT_CODES)
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def data_verify(directory):
    """Check a data directory (default: the bundled MNIST) and say what is wrong."""
    from shared.data import load_dataset
    from shared.idx import DataError

    try:
        click.echo(describe_dataset(load_dataset(directory)))
    except DataError as error:
        raise click.ClickException(str(error)) from None


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
        click.echo(f"Gradients of {describe_network(config)} on {samples} {dataset.name} training images, float64")
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

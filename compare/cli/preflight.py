"""Checks every command makes before any work starts, each a one-line error naming its option:
the data fits the network, the memory suffices, the device exists, the thread count makes
sense, a checkpoint can be read and resumed, the checkpoints to write can be written.

(The places a command writes are checked by compare.run.outputs, called from here and from
each command.) Only click and the NumPy-free config are imported here; heavy modules load inside.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from compare.wording import layer_sizes
from shared import config as cfg


def data_inputs(data_dir: Path | None) -> tuple[Path, ...]:
    """The dataset files a command may read from --data-dir: an output never replaces one, --force or not."""
    from shared.data import DEFAULT_DATA_DIR, FILE_STEMS

    from shared.book_pickle import FILE_NAME

    directory = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    if directory.is_file():  # Nielsen's mnist.pkl.gz given as a file
        return (directory,)
    return tuple(directory / f"{stem}{ext}" for stem in FILE_STEMS.values() for ext in (".gz", "")) + (
        directory / FILE_NAME,)


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
    check_split(dataset, config)
    return dataset


def check_split(dataset, config: cfg.Config) -> None:
    """The validation set, --train-limit, --test-limit, --expand and the batch size fit the data
    (and the memory), and early stopping has a validation set to watch."""
    from shared.expansion import copies
    from shared.training import held_out

    count = len(dataset.train_labels)
    held = held_out(dataset, config)
    if held >= count:
        raise click.BadParameter(f"holding out {held:,} images leaves none of the {count:,} training images",
                                 param_hint="'--validation'")
    if config.patience and not held:
        option = "--early-stop" if config.early_stop else "--schedule"
        raise click.BadParameter("it watches the validation accuracy: give --validation N too (the book holds "
                                 "out the last 10,000 training images)", param_hint=f"'{option}'")
    available = count - held
    kept = f" ({held:,} held out for validation)" if held else ""
    for limit, name, there in ((config.train_limit, "--train-limit", available),
                               (config.test_limit, "--test-limit", len(dataset.test_labels))):
        if limit is not None and limit > there:
            raise click.BadParameter(f"{limit:,} is more than the {there:,} images there are"
                                     f"{kept if name == '--train-limit' else ''}", param_hint=f"'{name}'")
    train_count = min(config.train_limit or available, available) * copies(config.expand)
    if config.batch_size > train_count:
        raise click.BadParameter(
            f"{config.batch_size:,} is larger than the {train_count:,} training images", param_hint="'--batch-size'")
    check_data_memory(dataset, config, train_count)


def check_data_memory(dataset, config: cfg.Config, train_count: int) -> None:
    """The scaled training images (5 or 7 times as many with --expand) must fit in memory: twice,
    since an implementation may keep a converted copy."""
    from shared.resources import available_memory

    available = available_memory()
    needed = 2 * train_count * dataset.input_size * (4 if config.dtype == "float32" else 8)
    if available is not None and needed > available:
        hint = "'--expand'" if config.expand != "none" else "'--train-limit'"
        raise click.BadParameter(f"{train_count:,} training images in {config.dtype} need about {gibibytes(needed)} "
                                 f"of memory, more than the {gibibytes(available)} available here (--dtype float32 "
                                 "halves it)", param_hint=hint)


ACTIVATION_COPIES = 4  # per hidden unit per image in a batch: z, a, delta, and a temporary


def memory_needed(config: cfg.Config, impl: str) -> int:
    """A generous estimate of the bytes training `impl` on `config` takes, beyond the data:
    its registry record's bytes per parameter, and the activations of a batch."""
    from impls import REGISTRY
    from shared.params import parameter_count

    record = REGISTRY[impl]
    per_parameter = record.bytes_per_parameter
    if config.dtype == "float32" and not record.python_floats:
        per_parameter -= per_parameter // 4
    images = max(config.batch_size, 2000)  # the test set is evaluated 2000 images at a time
    return parameter_count(config.sizes) * per_parameter + images * sum(config.sizes[1:]) * 8 * ACTIVATION_COPIES


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
        from shared.params import parameter_count

        raise click.BadParameter(
            f"a {layer_sizes(config.sizes)} network has {parameter_count(config.sizes):,} parameters; training it with "
            f"{impl} needs about {gibibytes(needed)} of memory, more than the {gibibytes(available)} available here",
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
    path = dataset.directory if dataset.directory.is_file() else next(  # the book's file, or an IDX file
        (p for p in (dataset.directory / f"{FILE_STEMS[key]}.gz", dataset.directory / FILE_STEMS[key]) if p.exists()),
        dataset.directory / FILE_STEMS[key])
    others = f" ({count - 1:,} more like it)" if count > 1 else ""
    return (f"{path}: label {int(labels[key][index])} at index {index:,} is not one of the classes 0-{outputs - 1} "
            f"that {total - count:,} of the {total:,} labels use{others}: the file is damaged")


def check_device(config: cfg.Config, impls: list[str]) -> None:
    """--device cuda without a CUDA device is a usage error, not a traceback in torch."""
    from impls import REGISTRY

    if config.device == "cuda" and any(REGISTRY[name].uses_torch for name in impls):
        import torch

        if not torch.cuda.is_available():
            raise click.BadParameter("cuda was asked for, but PyTorch sees no CUDA device here", param_hint="'--device'")


def read_checkpoint(path: Path):
    from shared.checkpoint import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path)
    except CheckpointError as error:
        raise click.ClickException(str(error)) from None


def check_threads(ctx, param, value: str) -> str:
    """--threads: a number of threads no larger than the cores, or auto (a click callback)."""
    if value.isdigit() and int(value) > (os.cpu_count() or 1):
        raise click.BadParameter(f"{value} threads on {os.cpu_count()} cores would only wait for each other; "
                                 f"give at most {os.cpu_count()}, or auto")
    if value == "auto" or (value.isdigit() and int(value) >= 1):
        return value
    raise click.BadParameter(f"give a number of threads (1 or more) or auto; got {value!r}")


def check_resumable(config: cfg.Config, checkpoint, path: Path) -> None:
    """The network itself must stay the checkpoint's; how it is trained may change."""
    for key in ("sizes", "activation", "loss"):
        if getattr(config, key) != getattr(checkpoint.config, key):
            value = getattr(checkpoint.config, key)
            shown = ",".join(map(str, value)) if key == "sizes" else value
            raise click.BadParameter(f"{path} holds a network with {key} {shown}; a resumed run keeps it",
                                     param_hint=f"'--{key}'")


def checkpoint_paths(save_path: Path | None, impls: list[str]) -> dict[str, Path]:
    """Where --save puts each implementation's checkpoint: PATH itself for one, PATH-IMPL.npz for several."""
    if save_path is None:
        return {}
    if len(impls) == 1:
        return {impls[0]: save_path}
    suffix = save_path.suffix or ".npz"
    return {impl: save_path.with_name(f"{save_path.stem}-{impl}{suffix}") for impl in impls}


def check_save_paths(save_paths: dict[str, Path], resume_path: Path | None, force: bool,
                     inputs: tuple[Path, ...] = ()) -> None:
    """Every checkpoint this run will write can be written, and replaces no other model unless
    --force: the file resumed from is the only one a run may update on its own."""
    from compare.run.outputs import check_file

    for path in save_paths.values():
        check_file(path, "--save", force=force, may_replace=resume_path, inputs=inputs)

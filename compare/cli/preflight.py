"""Checks every command makes before any work starts, each a one-line error naming its option:
the data fits the network, the memory suffices, the device exists, the thread count makes
sense, a checkpoint can be read and resumed, the checkpoints to write can be written.

(The places a command writes are checked by compare.run.outputs, called from here and from
each command.) Only click and the NumPy-free config are imported here; heavy modules load inside.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import click

from compare.wording import layer_sizes
from shared import config as cfg


def data_inputs(data_dir: Path | None) -> tuple[Path, ...]:
    """The dataset files a command may read from --data-dir: an output never replaces one, --force or not."""
    from shared.book_pickle import FILE_NAME
    from shared.data import DEFAULT_DATA_DIR, FILE_STEMS

    directory = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    if directory.is_file():  # Nielsen's mnist.pkl.gz given as a file
        return (directory,)
    return tuple(directory / f"{stem}{ext}" for stem in FILE_STEMS.values() for ext in (".gz", "")) + (
        directory / FILE_NAME,)


def load_data(data_dir: Path | None, config: cfg.Config, test_only: bool = False, model: Path | None = None):
    """Load the dataset and check that the network's first and last layers fit it.

    test_only: read only the two test files (a command that evaluates needs no training set).
    model: the checkpoint the network comes from (eval, page): a mismatch is then the data's,
    said of --data-dir, since such a command has no --sizes."""
    dataset = read_data(data_dir, test_only)
    check_data(dataset, config, test_only, model)
    return dataset


def load_data_sized(data_dir: Path | None, config: cfg.Config, sizes_chosen: bool):
    """(the dataset, the config): when no one chose the layer sizes (neither --sizes nor a
    resumed checkpoint), the network's first and last layers are sized to the data, so a
    5-class or 16-pixel dataset trains without --sizes; the hidden layers stay as they are."""
    dataset = read_data(data_dir)
    if not sizes_chosen:
        config = sized_to_data(config, dataset)
    check_data(dataset, config)
    return dataset, config


def sized_to_data(config: cfg.Config, dataset) -> cfg.Config:
    """The config with its input layer as the images' pixels and its output layer as the labels'
    classes. A few stray labels (a 255 among digits) are damage, not classes: those keep the
    output layer, so check_data names them."""
    classes = config.sizes[-1] if stray_label(dataset, config.sizes[-1]) else dataset.num_classes
    sizes = (dataset.input_size, *config.sizes[1:-1], classes)
    return config if sizes == config.sizes else config.with_changes(sizes=sizes)


def read_data(data_dir: Path | None, test_only: bool = False):
    """The dataset at data_dir (the bundled MNIST when None); bad data is a one-line error."""
    from shared.data import load_dataset
    from shared.idx import DataError

    try:
        return load_dataset(data_dir, splits=("test",) if test_only else ("train", "test"))
    except DataError as error:
        raise click.ClickException(str(error)) from None


def check_data(dataset, config: cfg.Config, test_only: bool = False, model: Path | None = None) -> None:
    """The network's first and last layers fit the dataset, the limits and the batch its size."""
    source = "the bundled MNIST" if dataset.directory == default_data_dir() else str(dataset.directory)
    if config.sizes[0] != dataset.input_size:
        if model is not None:
            raise click.BadParameter(f"{model}'s network takes {config.sizes[0]} pixels, but the images of {source} "
                                     f"have {dataset.input_size}: give --data-dir the dataset it was trained on",
                                     param_hint="'--data-dir'")
        raise click.BadParameter(
            f"the first layer has {config.sizes[0]} neurons but the images have "
            f"{dataset.input_size} pixels", param_hint="'--sizes'")
    stray = stray_label(dataset, config.sizes[-1])
    if stray:
        raise click.ClickException(stray)
    # A test set alone may lack the last classes; it must not have more than the network answers.
    too_few = config.sizes[-1] < dataset.num_classes
    if too_few and model is not None:
        raise click.BadParameter(f"{model}'s network answers {config.sizes[-1]} classes, but the labels of {source} "
                                 f"have {dataset.num_classes}: give --data-dir the dataset it was trained on",
                                 param_hint="'--data-dir'")
    if too_few or (not test_only and config.sizes[-1] != dataset.num_classes):
        raise click.BadParameter(
            f"the last layer has {config.sizes[-1]} neurons but the labels have "
            f"{dataset.num_classes} classes", param_hint="'--sizes'")
    if test_only:
        return
    check_split(dataset, config)


def check_split(dataset, config: cfg.Config) -> None:
    """The validation set, --train-limit, --test-limit, --expand and the batch size fit the data, and
    early stopping has a validation set to watch."""
    from shared.expansion import copies
    from shared.training import held_out, training_rows

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
    train_count = training_rows(dataset, config) * copies(config.expand)
    if config.batch_size > train_count:
        raise click.BadParameter(
            f"{config.batch_size:,} is larger than the {train_count:,} training images", param_hint="'--batch-size'")


def default_data_dir() -> Path:
    from shared.data import DEFAULT_DATA_DIR

    return Path(DEFAULT_DATA_DIR)


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


PYTHON_PIXEL_BYTES = 68  # a non-zero pixel kept by a Python-float implementation: its index and value objects


def data_memory(dataset, config: cfg.Config, impl: str) -> int:
    """The bytes the data takes once prepared for training: every image (the training images after
    --validation, --train-limit and --expand, the validation and the test images) scaled to the
    config's dtype, and a Python-float implementation's own copy of the training images' non-zero
    pixels. (A small .gz can declare a million images of zeros.)"""
    import numpy as np

    from impls import REGISTRY
    from shared.expansion import copies
    from shared.training import held_out, training_rows

    rows = training_rows(dataset, config)
    images = rows * copies(config.expand) + held_out(dataset, config) + len(dataset.limit(test_limit=config.test_limit).test_labels)
    scaled = images * dataset.input_size * (4 if config.dtype == "float32" else 8)
    if REGISTRY[impl].python_floats:
        scaled += np.count_nonzero(dataset.train_images[:rows]) * copies(config.expand) * PYTHON_PIXEL_BYTES
    return scaled


def check_memory(config: cfg.Config, impls: list[str], dataset=None) -> None:
    """Absurd --sizes are refused before anything is allocated (the implementations train one
    after another, so the largest need counts); given the dataset, its prepared copy counts too."""
    from shared.resources import available_memory

    available = available_memory()
    if available is None:
        return

    def needed_by(name: str) -> int:
        return memory_needed(config, name) + (data_memory(dataset, config, name) if dataset is not None else 0)

    impl = max(impls, key=needed_by)
    needed = needed_by(impl)
    if dataset is not None and needed > available and memory_needed(config, impl) <= available:
        from shared.expansion import copies
        from shared.training import training_rows

        train = training_rows(dataset, config) * copies(config.expand)
        test = len(dataset.limit(test_limit=config.test_limit).test_labels)
        expanded = f" (with --expand {config.expand})" if config.expand != "none" else ""
        raise click.BadParameter(
            f"{train:,} training{expanded} and {test:,} test images of "
            f"{dataset.input_size:,} pixels, with the network, need about {gibibytes(needed)} of memory to train with "
            f"{impl}, more than the {gibibytes(available)} available here; --train-limit N uses fewer",
            param_hint="'--train-limit'")
    if needed > available:
        from shared.params import parameter_count

        raise click.BadParameter(
            f"a {layer_sizes(config.sizes)} network has {parameter_count(config.sizes):,} parameters; training it with "
            f"{impl} needs about {gibibytes(needed)} of memory, more than the {gibibytes(available)} available here",
            param_hint="'--sizes'")


def check_test_memory(dataset, dtype: str = "float64") -> None:
    """`eval` and `page` scale the whole test set at once, to the model's dtype: a small .gz may
    declare a million images of zeros, so that copy is counted before it is made."""
    from shared.resources import available_memory

    available = available_memory()
    images = len(dataset.test_labels)
    needed = images * dataset.input_size * (4 if dtype == "float32" else 8)
    if available is not None and needed > available:
        raise click.BadParameter(
            f"the {images:,} test images of {dataset.input_size:,} pixels there need about {gibibytes(needed)} of "
            f"memory as {dtype} to evaluate, more than the {gibibytes(available)} available here", param_hint="'--data-dir'")


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


def check_device(config: cfg.Config, impls: list[str], typed: bool = True) -> None:
    """--device cuda without a CUDA device is a usage error, not a traceback in torch; so is
    --device cuda typed for implementations that all compute on the CPU (it would be recorded
    unused). typed=False: the device came from a checkpoint resumed, not from the user."""
    from impls import REGISTRY

    on_a_device = any(REGISTRY[name].uses_torch for name in impls)
    if config.device == "cuda" and typed and not on_a_device:
        raise click.BadParameter(f"cuda was asked for, but {', '.join(impls)} "
                                 f"{'computes' if len(impls) == 1 else 'compute'} on the CPU only: torch is the "
                                 "implementation that runs on a device", param_hint="'--device'")
    if config.device == "cuda" and on_a_device:
        import torch

        if not torch.cuda.is_available():
            raise click.BadParameter("cuda was asked for, but PyTorch sees no CUDA device here", param_hint="'--device'")


def read_checkpoint(path: Path, saved_apart: bool = False):
    """The checkpoint at path, or a one-line error. saved_apart (--resume): where PATH is missing but a
    run of several implementations saved PATH-IMPL.npz beside it, the error names those files."""
    from shared.checkpoint import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path)
    except CheckpointError as error:
        apart = sorted(path.parent.glob(f"{glob.escape(path.stem)}-*{path.suffix or '.npz'}")) if saved_apart else []
        if apart and not path.exists():
            names = ", ".join(str(p) for p in apart)
            raise click.ClickException(f"{error}; a run of several implementations saved each apart: resume from "
                                       f"one of {names}") from None
        raise click.ClickException(str(error)) from None


def check_threads(ctx, param, value: str) -> str:
    """--threads: a number of threads no larger than the cores, or auto (a click callback)."""
    number = value.isascii() and value.isdigit()  # '²' and '٣' pass isdigit() but are no number int() reads
    if number and int(value) > (os.cpu_count() or 1):
        raise click.BadParameter(f"{value} threads on {os.cpu_count()} cores would only wait for each other; "
                                 f"give at most {os.cpu_count()}, or auto")
    if value == "auto" or (number and int(value) >= 1):
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


def check_last_epoch(config: cfg.Config, start_epoch: int) -> None:
    """The last epoch's number fits in a checkpoint (shared.checkpoint reads epochs up to MAX_EPOCH):
    a run never writes a model that eval, page and --resume would refuse."""
    from shared.checkpoint import MAX_EPOCH

    last = start_epoch - 1 + config.epochs
    if last > MAX_EPOCH:
        start = f"resumed after epoch {start_epoch - 1:,}, " if start_epoch > 1 else ""
        raise click.BadParameter(f"{start}the run would end at epoch {last:,}, past the {MAX_EPOCH:,} a checkpoint "
                                 f"holds; give at most {max(MAX_EPOCH - start_epoch + 1, 0):,}", param_hint="'--epochs'")


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

"""`compare eval` and `compare predict`: what a saved model does."""

from __future__ import annotations

from pathlib import Path

import click

from compare.options import EXIT_CODES, check_device, load_data, parse_impls, read_checkpoint
from shared import config as cfg


def model_from_checkpoint(path: Path, impl: str | None, device: str):
    """(checkpoint, the model built from it by `impl` or by the implementation that trained it)."""
    from impls import REGISTRY, build

    checkpoint = read_checkpoint(path)
    name = parse_impls(impl)[0] if impl else checkpoint.impl
    if name not in REGISTRY:
        name = "numpy"
    config = checkpoint.config.with_changes(device=device)
    check_device(config, [name])
    return checkpoint, build(name, config, checkpoint.params)


@click.command("eval", epilog=EXIT_CODES)
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


@click.command(epilog=EXIT_CODES)
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

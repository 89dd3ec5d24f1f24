"""`compare gradcheck`: do the implementations compute the same gradients? (compare.check)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compare.cli.options import EXIT_CODES, build_config, config_options, parse_impls, penalty_options, typed
from compare.cli.preflight import check_memory, data_inputs, load_data_sized
from compare.wording import plural


@click.command(epilog=EXIT_CODES)
@config_options
@penalty_options
@click.option("--samples", type=click.IntRange(min=1), default=16, show_default=True,
              help="Training images in the batch the gradients are taken on.")
@click.option("--coordinates", type=click.IntRange(min=1), default=10, show_default=True,
              help="Entries of each weight matrix and bias vector checked by finite differences.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the table as JSON to this file ('-' for standard output).")
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
def gradcheck(impl_text, data_dir, samples, coordinates, json_path, force, **options):
    """Check that the implementations compute the same gradients (float64).

    From identical parameters and the same batch of training images: each pair of
    implementations, and each against central finite differences of its own loss.
    Exits with 1 when any relative error is above its tolerance. With --weight-decay or --l2
    the gradient checked is that of C0 + (weight_decay / 2) sum w^2 as each implementation's own
    SGD step takes it (--l2 LAMBDA: weight_decay = LAMBDA / n, n the data's training images).
    """
    from compare.check.gradients import check_on_training_images, checks_progress, format_agreement
    from compare.wording import describe_network
    from shared.atomic import atomic_write_text
    from shared.params import init_params
    from shared.training import regularized, training_rows

    config = build_config(options)
    impls = parse_impls(impl_text)
    dataset, config = load_data_sized(data_dir, config, sizes_chosen=typed("sizes"))
    config = regularized(config, training_rows(dataset, config))
    check_memory(config, impls)
    if json_path is not None and str(json_path) != "-":
        from compare.run.outputs import check_file

        check_file(json_path, "--json", force=force, inputs=data_inputs(data_dir))
    params = init_params(config.sizes, config.init, config.seed)
    to_stdout = json_path is not None and str(json_path) == "-"
    try:
        with checks_progress("checking gradients", params, impls, enabled=not to_stdout) as progress:
            result = check_on_training_images(config, params, dataset, impls, samples, coordinates,
                                              on_step=lambda note: progress.update(1, note))
    except KeyboardInterrupt:  # said as `run` says it: where it stopped, and what was (not) written
        unwritten = ("" if json_path is None or to_stdout else
                     f"; {json_path} is unchanged" if json_path.exists() else f"; nothing was written to {json_path}")
        click.echo(f"\ninterrupted during the gradient check{unwritten}", err=True)
        sys.exit(130)
    document = json.dumps(result.to_dict(), indent=2) + "\n"
    if json_path is not None and str(json_path) == "-":
        click.echo(document, nl=False)
    else:
        click.echo(f"Gradients on {plural(result.batch_size, dataset.name + ' training image')}, float64, of the network "
                   f"{describe_network(config)}")
        click.echo("relative error = max|a - b| / max(max|a|, max|b|) per parameter (each W and b)\n")
        click.echo(format_agreement(result))
        if json_path is not None:
            from compare.run.outputs import could_not_write

            try:
                atomic_write_text(json_path, document)
            except OSError as error:
                raise could_not_write(error, "; the table above is the check's result") from None
            click.echo(f"wrote {json_path}")
    sys.exit(0 if result.passed else 1)

"""`compare run`: check, train, compare, and keep it all in a run folder."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from compare.cli.options import EXIT_CODES, build_config, config_options, parse_impls, training_options, typed
from compare.cli.preflight import (check_device, check_memory, data_inputs, check_resumable, check_save_paths, check_threads,
                                   checkpoint_paths, load_data, read_checkpoint)
from shared import config as cfg


@click.command(epilog=EXIT_CODES)
@click.option("--preset", type=click.Choice(list(cfg.PRESETS)), default=None,
              help="Start from a named config (see `compare presets`); options given override it.")
@config_options
@training_options
@click.option("--name", default=None, help="Name of the run: its files go to REPORTS_DIR/NAME. Default: a timestamp.")
@click.option("--reports-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports"),
              show_default=True, help="Where runs are written.")
@click.option("--force", is_flag=True, help="Overwrite a finished run of the same name, and an existing --save file.")
@click.option("--save", "save_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Save the trained model here (.npz) after every epoch; with several implementations, "
                   "one file each, named PATH-IMPL.npz.")
@click.option("--resume", "resume_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Continue training from a checkpoint; its epochs go on counting, options typed override its config.")
@click.option("--threads", "threads", default="auto", show_default=True, callback=check_threads, metavar="N|auto",
              help="BLAS and torch threads: a number, or auto (all cores only for large steps on a quiet machine).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the results document (JSON) to this file ('-' for standard output, instead of text).")
def run(impl_text, data_dir, preset, name, reports_dir, force, save_path, resume_path, threads, quiet, json_path,
        **options):
    """Train each implementation from the same initial parameters and compare them.

    Before training, the implementations' gradients are checked against each other
    on one batch; after it, their accuracy, speed and final parameters. Writes
    results.json, report.md, report.html, the figures, model.npz and page.html (draw a
    digit, watch the first implementation's trained network answer) to REPORTS_DIR/NAME.
    """
    from compare.report.folder import HISTORY, MODEL, RESULTS, write_run
    from compare.run.comparison import run_comparison
    from compare.run.outputs import claim_run_directory, reserve_files

    if preset and resume_path:
        raise click.UsageError("--preset and --resume cannot be combined: a resumed run takes its checkpoint's config")
    base, params, start_epoch, checkpoint = {}, None, 1, None
    if preset:
        base = cfg.PRESETS[preset][1]
        impl_text = impl_text if typed("impl_text") else cfg.PRESETS[preset][2]
    if resume_path:
        checkpoint = read_checkpoint(resume_path)
        base, params, start_epoch = checkpoint.config.to_dict(), checkpoint.params, checkpoint.epoch + 1
        base["sizes"] = checkpoint.config.sizes
        impl_text = impl_text if typed("impl_text") else checkpoint.impl
    config = build_config(options, base)
    if checkpoint is not None:
        check_resumable(config, checkpoint, resume_path)
        if config.patience:
            raise click.UsageError("a resumed run cannot go on with --early-stop or --schedule halve: how long the "
                                   "validation accuracy has not improved, and the rate halved so far, are not in "
                                   "the checkpoint; resume without them, or start the run again")
    impls = parse_impls(impl_text)
    check_memory(config, impls)
    dataset = load_data(data_dir, config)
    check_device(config, impls)
    save_paths = checkpoint_paths(save_path, impls)
    check_save_paths(save_paths, resume_path, force, inputs=data_inputs(data_dir))
    as_json = json_path is not None and str(json_path) == "-"  # one meaning with gradcheck's --json
    if json_path is not None and not as_json:
        from compare.run.outputs import check_file

        check_file(json_path, "--json", force=force, inputs=data_inputs(data_dir))
    # Held until the command ends, however it ends: two runs never share a checkpoint.
    click.get_current_context().call_on_close(reserve_files(save_paths.values(), "--save"))
    silent = quiet or as_json
    echo = (lambda line: None) if silent else click.echo
    claimed = claim_run_directory(reports_dir, name, force)  # last: nothing to undo if a check above fails
    name, directory = claimed.name, claimed.path
    try:
        outcome = run_comparison(config, impls, dataset, echo=echo, progress=not silent,
                                 command=" ".join(["compare", *sys.argv[1:]]), params=params,
                                 start_epoch=start_epoch, save_paths=save_paths, threads=threads,
                                 previous_accuracy=checkpoint.test_accuracy if checkpoint else None,
                                 resumed_from=resume_path)
        if outcome.diverged:  # nothing is written of a diverged run; the checkpoints hold the last good epoch
            raise click.ClickException(
                f"{outcome.diverged}{saves_note(outcome.saved, save_paths, resume_path, 'the last good epoch')}")
        if outcome.interrupted:
            written = write_run(outcome, name, directory, dataset, not silent)[1] if outcome.results else None
            saves = saves_note(outcome.saved, save_paths, resume_path, "the last completed epoch")
            report = f"; the report of the completed epochs is in {directory}" if written else ""
            click.echo(f"\n{outcome.interrupted}{saves}{report}", err=True)
            sys.exit(130)
    except BaseException:  # the error, or the exit after an interruption
        claimed.abandon()  # removes the directory only if it is still empty
        raise
    for impl, path in save_paths.items():
        echo(f"saved the model trained by {impl} in {path}")
    try:
        document, written = write_run(outcome, name, directory, dataset, not silent)
    except KeyboardInterrupt:  # the training is done: keep what is written, say where
        results = directory / RESULTS
        if not results.exists():  # model.npz comes first: without the results it names, it is only a fragment
            for fragment in (MODEL, HISTORY):
                (directory / fragment).unlink(missing_ok=True)
            claimed.abandon()
        kept = f"; the results are in {results} (`compare report {results}` draws the report)" if results.exists() else ""
        click.echo(f"\ninterrupted while writing the report{kept}", err=True)
        sys.exit(130)
    finally:
        claimed.release()
    if as_json:
        click.echo(json.dumps(document, indent=1))
    else:
        if json_path is not None:
            from shared.atomic import atomic_write_text

            atomic_write_text(json_path, json.dumps(document, indent=1) + "\n")
            echo(f"wrote {json_path}")
        echo(f"\nWrote {directory / 'results.json'} and the report: {written[1]} ({written[0].name} beside it)")
    sys.exit(0 if outcome.passed else 1)


def saves_note(saved: dict[Path, int], save_paths: dict[str, Path], resume_path: Path | None, what: str) -> str:
    """What the checkpoints hold now: only saves that happened are claimed."""
    notes = []
    for path in save_paths.values():
        if path in saved:
            notes.append(f"{what} ({saved[path]}) is saved in {path}")
        elif resume_path is not None and path.exists() and os.path.samefile(path, resume_path):
            notes.append(f"{path} is unchanged")
        else:
            notes.append(f"nothing was saved in {path}")
    return "".join(f"; {note}" for note in notes)

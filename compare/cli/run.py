"""`compare run`: check, train, compare, and keep it all in a run folder."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from compare.cli.options import EXIT_CODES, build_config, config_options, parse_impls, training_options, typed
from compare.cli.preflight import (check_device, check_last_epoch, check_memory, data_inputs, check_resumable, check_save_paths,
                                   check_threads, checkpoint_paths, load_data_sized, read_checkpoint)
from compare.run.outputs import reason
from compare.wording import plural, shown_path
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
    from compare.report.folder import DIGITS, HISTORY, MODEL, PAGE, RESULTS, run_files, write_run
    from compare.run.comparison import run_comparison
    from compare.run.outputs import claim_run_directory, reserve_files

    if preset and resume_path:
        raise click.UsageError("--preset and --resume cannot be combined: a resumed run takes its checkpoint's config")
    base, params, start_epoch, checkpoint = {}, None, 1, None
    if preset:
        base = cfg.PRESETS[preset][1]
        impl_text = impl_text if typed("impl_text") else cfg.PRESETS[preset][2]
    if resume_path:
        checkpoint = read_checkpoint(resume_path, saved_apart=True)
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
    check_last_epoch(config, start_epoch)
    impls = parse_impls(impl_text)
    dataset, config = load_data_sized(data_dir, config, sizes_chosen=typed("sizes") or checkpoint is not None)
    check_memory(config, impls, dataset)
    check_device(config, impls, typed=typed("device") or checkpoint is None)
    save_paths = checkpoint_paths(save_path, impls)
    check_save_paths(save_paths, resume_path, force, inputs=data_inputs(data_dir))
    as_json = json_path is not None and str(json_path) == "-"  # one meaning with gradcheck's --json
    if json_path is not None and not as_json:
        from compare.run.outputs import check_file

        check_file(json_path, "--json", force=force, inputs=data_inputs(data_dir))
    if name is not None:
        check_not_the_runs_own(reports_dir / name, [("--save", p) for p in save_paths.values()]
                               + ([("--json", json_path)] if json_path is not None and not as_json else []))
    # Held until the command ends, however it ends: two runs never share a checkpoint.
    click.get_current_context().call_on_close(reserve_files(save_paths.values(), "--save"))
    silent = quiet or as_json
    echo = (lambda line: None) if silent else click.echo
    if checkpoint is not None and config.momentum:
        echo(f"note: momentum starts again from zero: {shown_path(resume_path)} holds the parameters, not their "
             "velocity, so these epochs will not be those of one run straight through")
    claimed = claim_run_directory(reports_dir, name, force)  # last: nothing to undo if a check above fails
    name, directory = claimed.name, claimed.path
    try:
        outcome = run_comparison(config, impls, dataset, echo=echo, progress=not silent,
                                 command=" ".join(["compare", *sys.argv[1:]]), params=params,
                                 start_epoch=start_epoch, save_paths=save_paths, threads=threads,
                                 previous_accuracy=checkpoint.test_accuracy if checkpoint else None,
                                 resumed_from=resume_path, earlier_epochs=checkpoint.history if checkpoint else (),
                                 force=force)
        if outcome.diverged:  # nothing is written of a diverged run; the checkpoints hold the last good epoch
            raise click.ClickException(
                f"{outcome.diverged}{saves_note(outcome.saved, save_paths, resume_path, 'the last good epoch')}")
        if outcome.interrupted:
            written = False
            if outcome.results:
                write_run(outcome, name, claimed.build, dataset, not silent)
                written = claimed.finish(run_files(directory))
            saves = saves_note(outcome.saved, save_paths, resume_path, "the last completed epoch")
            report = f"; the report of the completed epochs is in {directory}" if written else ""
            click.echo(f"\n{outcome.interrupted}{saves}{report}", err=True)
            sys.exit(130)
    except BaseException:  # the error, or the exit after an interruption
        claimed.abandon()  # removes the directory only if it is still empty
        raise
    for impl, path in save_paths.items():
        if path in outcome.saved and path not in outcome.unsaved:
            echo(f"saved the model trained by {impl} in {path}")
    try:
        document, written = write_run(outcome, name, claimed.build, dataset, not silent)
        claimed.finish(run_files(directory))
    except KeyboardInterrupt:  # the training is done: keep what is written, say where
        results = claimed.build / RESULTS
        if results.exists():
            claimed.finish(run_files(directory))
        else:  # model.npz comes first: without the results it names, it is only a fragment
            for fragment in (MODEL, HISTORY, DIGITS):
                (claimed.build / fragment).unlink(missing_ok=True)
            claimed.abandon()
        if results.exists():
            kept = f"; the results are in {directory / RESULTS} (`compare report {quoted(directory / RESULTS)}` draws the report)"
        else:
            kept = f" before its results: nothing of the run was kept; it found: {what_it_found(outcome)}"
        click.echo(f"\ninterrupted while writing the report{kept}", err=True)
        sys.exit(130)
    except OSError as error:  # a full disk: keep what was written, say where, and what the run found
        installed = claimed.finish(run_files(directory))
        notes = [unwritten_run_note(error, outcome, directory, installed)] + keep_unsaved(outcome, save_paths,
                                                                                          directory)
        notes += [f"the model trained by {impl} is saved in {path}" for impl, path in save_paths.items()
                  if path in outcome.saved and path not in outcome.unsaved]
        if not any(directory.iterdir()):
            claimed.abandon()
        raise click.ClickException("; ".join(notes)) from None
    finally:
        claimed.release()
    unsaved = keep_unsaved(outcome, save_paths, directory)
    if as_json:
        click.echo(json.dumps(document, indent=1))
    else:
        if json_path is not None:
            from shared.atomic import atomic_write_text

            try:
                atomic_write_text(json_path, json.dumps(document, indent=1) + "\n")
            except OSError as error:
                unsaved.append(f"could not write {json_path} ({reason(error)}); the same results are in "
                               f"{directory / RESULTS}")
            else:
                echo(f"wrote {json_path}")
        beside = written[0].name + (f" and {PAGE}, the page where you draw a digit," if (directory / PAGE).is_file() else "")
        echo(f"\nWrote {directory / RESULTS} and the report: {directory / written[1].name} ({beside} beside it)")
    if unsaved:
        raise click.ClickException("; ".join(unsaved))
    sys.exit(0 if outcome.passed else 1)


def check_not_the_runs_own(directory: Path, outputs: list[tuple[str, Path]]) -> None:
    """A file named on the command line is not one the run writes in its own folder itself."""
    from compare.report.folder import RUN_FILES
    from compare.run.outputs import OutputError

    for option, path in outputs:
        if Path(os.path.abspath(path.parent)) == Path(os.path.abspath(directory)) and path.name in RUN_FILES:
            raise OutputError(f"{path} is a file the run writes itself in its folder {directory}; choose another "
                              f"name", option)


def keep_unsaved(outcome, save_paths: dict[str, Path], directory: Path) -> list[str]:
    """Each model that its --save file does not hold (a full disk, or a model worse than the one
    resumed from, held back) is kept in the run's folder (the first implementation's is its
    model.npz): one note each, saying where."""
    from compare.report.folder import MODEL
    from shared.checkpoint import Checkpoint, save_checkpoint

    notes = []
    for result in outcome.results:
        path = save_paths.get(result.name)
        unsaved = outcome.unsaved.get(path)
        if unsaved is None:
            continue
        holds = (f"holds epoch {outcome.saved[path]}" if path in outcome.saved else
                 "is unchanged" if path.exists() else "was not written")
        kept = directory / MODEL
        try:
            if result is not outcome.results[0] or not kept.exists():
                kept = directory / path.name
                save_checkpoint(kept, Checkpoint(result.params, outcome.config, result.name, unsaved.epoch,
                                                 unsaved.accuracy))
            where = f"it is kept in {kept}"
        except OSError as error:
            where = f"it could not be kept in {directory} either ({reason(error)})"
        force = f" (add --force to replace {path} with it)" if unsaved.held_back else ""
        notes.append(f"{path} {holds}: the model of epoch {unsaved.epoch} ({unsaved.accuracy:.2%}) was not saved "
                     f"there ({unsaved.why}); {where}{force}")
    return notes


def unwritten_run_note(error: OSError, outcome, directory: Path, installed: bool = True) -> str:
    """What a run folder that could not be written whole keeps; when nothing, what the run found.
    installed: False when the run that --force was to replace is still there, whole."""
    from compare.report.document import PAGE
    from compare.report.folder import HISTORY, MODEL, RESULTS

    problem = f"could not write {error.filename or directory} ({reason(error)})"
    present = [name for name in (RESULTS, MODEL, HISTORY, PAGE, "report.md", "report.html")
               if installed and (directory / name).exists()]
    if RESULTS in present:
        return (f"{problem}; kept in {directory}: {', '.join(present)} (`compare report {quoted(directory / RESULTS)}` draws "
                f"the report again once there is room)")
    if present:
        return f"{problem}; kept in {directory}: {', '.join(present)}, without the results"
    still = "" if installed else f" ({directory} still holds the run it was to replace)"
    return f"{problem}; nothing of the run could be kept there{still}; it found: {what_it_found(outcome)}"


def what_it_found(outcome) -> str:
    """The run's accuracies, for a message that must say them because no file keeps them."""
    found = ", ".join(f"{r.name} {r.final.test_accuracy:.2%}" for r in outcome.results)
    return f"{found} after {plural(outcome.results[0].final.epoch, 'epoch')}"


def quoted(path: Path) -> str:
    """A path as it can be pasted into a shell (a run's --name may hold spaces)."""
    import shlex

    return shlex.quote(str(path))


def saves_note(saved: dict[Path, int], save_paths: dict[str, Path], resume_path: Path | None, what: str) -> str:
    """What the checkpoints hold now: only saves that happened are claimed."""
    notes = []
    for impl, path in save_paths.items():
        if path in saved:  # with several implementations, whose epoch it is (not the one interrupted)
            whose = f"{impl}'s " if len(save_paths) > 1 else ""
            notes.append(f"{whose}{what.removeprefix('the ') if whose else what} ({saved[path]}) is saved in {path}")
        elif resume_path is not None and path.exists() and os.path.samefile(path, resume_path):
            notes.append(f"{path} is unchanged")
        else:
            notes.append(f"nothing was saved in {path}")
    return "".join(f"; {note}" for note in notes)

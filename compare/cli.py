"""`compare`: train the implementations side by side and check that they agree.

Only click and the NumPy-free config are imported at start-up; NumPy, torch and the
implementations load inside the command that needs them, so `compare --help` is fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from compare.cli_data import data
from compare.cli_models import evaluate_command, page_command, predict
from compare.options import (
    EXIT_CODES,
    InterruptibleGroup,
    build_config,
    check_device,
    check_memory,
    config_options,
    load_data,
    parse_impls,
    read_checkpoint,
    training_options,
    typed,
)
from shared import config as cfg


@click.group(cls=InterruptibleGroup, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """One multilayer perceptron for MNIST, written four ways (pure Python by hand, pure
    Python on a scalar autograd engine, NumPy, PyTorch), trained side by side and checked
    to compute the same gradients."""


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


def check_save_paths(save_paths: dict[str, Path], resume_path: Path | None, force: bool) -> None:
    """Every checkpoint this run will write can be written, and replaces no other model unless
    --force: the file resumed from is the only one a run may update on its own."""
    from compare.outputs import check_file

    for path in save_paths.values():
        check_file(path, "--save", force=force, may_replace=resume_path)


def check_threads(ctx, param, value: str) -> str:
    if value.isdigit() and int(value) > (os.cpu_count() or 1):
        raise click.BadParameter(f"{value} threads on {os.cpu_count()} cores would only wait for each other; "
                                 f"give at most {os.cpu_count()}, or auto")
    if value == "auto" or (value.isdigit() and int(value) >= 1):
        return value
    raise click.BadParameter(f"give a number of threads (1 or more) or auto; got {value!r}")


@main.command(epilog=EXIT_CODES)
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
@click.option("--json", "as_json", is_flag=True, help="Print the results document (JSON) instead of text.")
def run(impl_text, data_dir, preset, name, reports_dir, force, save_path, resume_path, threads, quiet, as_json,
        **options):
    """Train each implementation from the same initial parameters and compare them.

    Before training, the implementations' gradients are checked against each other
    on one batch; after it, their accuracy, speed and final parameters. Writes
    results.json, report.md, report.html, the figures and page.html (draw a digit,
    watch the first implementation's trained network answer) to REPORTS_DIR/NAME.
    """
    from compare.outputs import claim_run_directory, reserve_files
    from compare.running import RunInterrupted, run_comparison
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
    check_memory(config, impls)
    dataset = load_data(data_dir, config)
    check_device(config, impls)
    save_paths = checkpoint_paths(save_path, impls)
    check_save_paths(save_paths, resume_path, force)
    # Held until the command ends, however it ends: two runs never share a checkpoint.
    click.get_current_context().call_on_close(reserve_files(save_paths.values(), "--save"))
    silent = quiet or as_json
    echo = (lambda line: None) if silent else click.echo
    saved: dict[Path, int] = {}  # checkpoints this run really wrote, with their epoch
    claimed = claim_run_directory(reports_dir, name, force)  # last: nothing to undo if a check above fails
    try:
        name, directory = claimed.name, claimed.path
        outcome = run_comparison(config, impls, dataset, echo=echo, progress=not silent,
                                 command=" ".join(["compare", *sys.argv[1:]]), params=params,
                                 start_epoch=start_epoch, save_paths=save_paths, saved=saved, threads=threads,
                                 previous_accuracy=checkpoint.test_accuracy if resume_path else None)
    except TrainingDiverged as error:
        claimed.abandon()
        raise click.ClickException(
            f"{error}{saves_note(saved, save_paths, resume_path, 'the last good epoch')}") from None
    except RunInterrupted as interrupt:
        written = None
        if interrupt.comparison is not None:
            written = write_run(interrupt.comparison, name, directory, dataset, resume_path, not silent)[1]
            claimed.release()
        else:
            claimed.abandon()
        where = interrupt.where
        saves = saves_note(saved, save_paths, resume_path, "the last completed epoch")
        report = f"; the report of the completed epochs is in {directory}" if written else ""
        click.echo(f"\n{where}{saves}{report}", err=True)
        sys.exit(130)
    except BaseException:
        claimed.abandon()  # removes the directory only if it is still empty
        raise
    for impl, path in save_paths.items():
        echo(f"saved the model trained by {impl} in {path}")
    try:
        document, written = write_run(outcome, name, directory, dataset, resume_path, not silent)
    except KeyboardInterrupt:  # the training is done: keep what is written, say where
        results = directory / "results.json"
        if not results.exists():
            claimed.abandon()
        kept = f"; the results are in {results} (`compare report {results}` draws the report)" if results.exists() else ""
        click.echo(f"\ninterrupted while writing the report{kept}", err=True)
        sys.exit(130)
    finally:
        claimed.release()
    if as_json:
        click.echo(json.dumps(document, indent=1))
    else:
        echo(f"\nWrote {directory / 'results.json'} and the report: {written[1]} ({written[0].name} beside it)")
    sys.exit(0 if outcome.agreement.passed else 1)


def write_run(outcome, name: str, directory: Path, dataset, resume_path: Path | None,
              progress: bool = True) -> tuple[dict, list[Path]]:
    """results.json, page.html and the report of a run (or of the completed epochs of an
    interrupted one)."""
    from compare.page import write_run_page
    from compare.report import write_report
    from compare.results import build_results, save_results

    document = build_results(name, outcome, dataset)
    document["initial_parameters"]["resumed_from"] = str(resume_path) if resume_path else None
    save_results(directory / "results.json", document)
    write_run_page(directory, outcome, dataset, name)  # before the report, which links to it
    return document, write_report([document], directory, progress=progress)


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


@main.command(epilog=EXIT_CODES)
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for the report. Default: beside a single results file, else reports/compare-TIMESTAMP.")
@click.option("--force", is_flag=True, help="Replace a report already in --out (one made from other results).")
def report(results, out_dir, force):
    """Rebuild a report from saved results.json files; several go side by side
    (e.g. float32 against float64, or two machines)."""
    from datetime import datetime

    from compare.outputs import check_files_in, same_file
    from compare.report import write_report
    from compare.results import ResultsError, load_results

    try:
        documents = [load_results(path) for path in results]
    except ResultsError as error:
        raise click.ClickException(str(error)) from None
    if out_dir is None:
        out_dir = results[0].parent if len(results) == 1 else Path("reports") / datetime.now().strftime("compare-%Y%m%d-%H%M%S")
    # Rebuilding a run's own report in place is what this is for; another run's is kept.
    in_place = len(results) == 1 and same_file(out_dir, results[0].parent)
    check_files_in(out_dir, ("report.md", "report.html", "results.json"), "--out", force=force or in_place)
    written = write_report(documents, out_dir, progress=True)
    click.echo(f"Wrote {written[1]} and {written[0]} with {len(written) - 2} figures")


@main.command(epilog=EXIT_CODES)
@click.option("--quick", is_flag=True, help="Short timings and no pure-Python runs on the two larger configs (for CI).")
@click.option("--accuracy", is_flag=True, help="Also train the accuracy targets (preset best, scratch's first epoch): minutes.")
@click.option("--threads", default="auto", show_default=True, callback=check_threads,
              help="BLAS and torch threads for every runner: a number, or auto = per config what "
                   "`compare run --threads auto` would pick.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for bench.json and bench.md. Default: reports/bench-TIMESTAMP.")
@click.option("--markdown", "markdown_copy", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the Markdown table here (e.g. docs/BENCHMARKS.md).")
@click.option("--force", is_flag=True, help="Replace bench.json and bench.md in --out, and an existing --markdown file.")
@click.option("--threads-study", "study", is_flag=True,
              help="Also measure 1 thread against all cores for numpy and torch on each config, quiet and with "
                   "one CPU-burning process per core (about 2 minutes).")
def bench(quick, accuracy, threads, out_dir, markdown_copy, force, study):
    """Measure training throughput of every implementation and baseline, and the targets.

    Each implementation and baseline trains on the same in-memory batches, interleaved,
    median of 9 repeats with min and max; thread counts the same for all and reported.
    """
    from datetime import datetime

    from compare import bench as benchmark
    from shared.atomic import atomic_write_text

    from compare.outputs import check_file, check_files_in

    out_dir = out_dir or Path("reports") / datetime.now().strftime("bench-%Y%m%d-%H%M%S")
    check_files_in(out_dir, ("bench.json", "bench.md"), "--out", force)  # before minutes of measuring
    if markdown_copy is not None:
        check_file(markdown_copy, "--markdown", force=force)
    dataset = load_data(None, cfg.Config())
    plan = benchmark.Plan.quick() if quick else benchmark.Plan()
    peaks_path = out_dir.parent / "matmul-peak.json"  # the last quiet run's peaks, to tell a busy machine
    document = benchmark.run_bench(dataset, plan, threads, accuracy,
                                   echo=click.echo, command=" ".join(["compare", *sys.argv[1:]]),
                                   quiet_peaks=benchmark.read_quiet_peaks(peaks_path), study=study)
    benchmark.save(document, out_dir / "bench.json", out_dir / "bench.md")
    benchmark.remember_quiet_peaks(peaks_path, document)
    if markdown_copy is not None:
        atomic_write_text(markdown_copy, benchmark.to_markdown(document) + "\n")
    click.echo("\n" + benchmark.to_markdown(document).split("## Training throughput")[0].strip())
    click.echo(f"\nWrote {out_dir / 'bench.json'} and {out_dir / 'bench.md'}")
    if document["reliability"]["unreliable"]:
        click.echo("warning: the machine was busy during the benchmark (" + "; ".join(document["reliability"]["reasons"])
                   + "): its figures are marked unreliable", err=True)


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
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
def gradcheck(impl_text, data_dir, samples, coordinates, json_path, force, **options):
    """Check that the implementations compute the same gradients (float64).

    From identical parameters and the same batch of training images: each pair of
    implementations, and each against central finite differences of its own loss.
    Exits with 1 when any relative error is above its tolerance.
    """
    from compare.gradcheck import check_on_training_images, format_agreement, step_count
    from compare.progress import Progress
    from shared.atomic import atomic_write_text
    from shared.params import init_params

    config = build_config(options)
    impls = parse_impls(impl_text)
    check_memory(config, impls)
    if json_path is not None and str(json_path) != "-":
        from compare.outputs import check_file

        check_file(json_path, "--json", force=force)
    dataset = load_data(data_dir, config)
    params = init_params(config.sizes, config.init, config.seed)
    to_stdout = json_path is not None and str(json_path) == "-"
    try:
        with Progress("checking gradients", step_count(params, impls), enabled=not to_stdout) as progress:
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
        click.echo(f"Gradients of {describe_network(config)} on {result.batch_size} {dataset.name} training images, float64")
        click.echo("relative error = max|a - b| / max(max|a|, max|b|) per tensor\n")
        click.echo(format_agreement(result))
        if json_path is not None:
            atomic_write_text(json_path, document)
            click.echo(f"wrote {json_path}")
    sys.exit(0 if result.passed else 1)


def describe_network(config: cfg.Config) -> str:
    sizes = "-".join(map(str, config.sizes))
    return f"{sizes} {config.activation}, {config.output_activation} output, {config.loss}"


for command in (evaluate_command, predict, page_command, data):
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()

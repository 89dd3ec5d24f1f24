"""`compare sweep`: a grid of `compare run` options, every combination a run of its own, in
parallel on this machine's cores or on a Dask cluster; one table and one figure of them all."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from compare.cli.options import EXIT_CODES, build_config, parse_impls
from compare.cli.run import run as run_command
from compare.wording import plural
from shared import config as cfg

FORMATS = """\b
Grid: --grid OPTION=VALUES, OPTION any option of `compare run` without its dashes, VALUES
separated by commas, or by colons when a value holds commas:
  --grid lr=0.025,0.25,2.5 --grid sizes=784,30,10:784,100,10   (6 runs)
Every other option of `compare run` (--impl, --epochs, --train-limit, ...) is given to every run.
A sweep exits 1 when a run failed (the others are kept; the same command runs it again) or the
--scheduler cannot be reached."""


@click.command(context_settings={"ignore_unknown_options": True}, epilog=FORMATS + "\n\n" + EXIT_CODES)
@click.option("--grid", "grid_texts", multiple=True, required=True, metavar="OPTION=VALUES",
              help="An option of `compare run` and its values; several --grid make their product.")
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="Runs at once on this machine (worker processes). Default: one per core.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None, metavar="DIR",
              help="Where the runs go, one folder each, and the table (sweep.md) and figure (sweep.png). "
                   "Default: sweeps/OPTIONS, e.g. sweeps/lr-sizes. Run again to finish an interrupted sweep.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run on the Dask cluster of this scheduler instead (pip install 'mnist-three-ways[cluster]').")
@click.option("--connect-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True, metavar="SECONDS",
              help="How long to try to reach the --scheduler.")
@click.option("--speedup", is_flag=True,
              help="Measure instead: the grid's runs on one worker, then on --workers, in scratch folders; print the "
                   "times and the speed-up (nothing is kept).")
@click.option("--rounds", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="With --speedup: how many times to time each, alternating which goes first.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.argument("run_options", nargs=-1, type=click.UNPROCESSED, metavar="[RUN OPTIONS]...")
def sweep(grid_texts, workers, out, scheduler, connect_timeout, speedup, rounds, quiet, run_options):
    """Train every combination of a grid of `compare run` options: each run in its own
    folder (results.json, report, page), on all cores at once or on a Dask cluster, with
    one table and one figure of them all. Finished runs are kept: run the same command
    again after Ctrl-C or a failure and only the others run."""
    from compare.sweep import SweepError, SweepInterrupted, run_all
    from compare.sweep.grid import GridError, expand, parse_axis
    from compare.sweep.runs import threads_per_run

    try:
        axes = [parse_axis(text) for text in grid_texts]
        runs = expand(axes, tuple(run_options))
    except GridError as error:
        raise click.BadParameter(str(error), param_hint="'--grid'") from None
    specs = [spec for spec, _ in runs]
    values = {spec.name: each for spec, each in runs}
    for spec in specs:
        check_run_options(spec.name, spec.args)
    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers is for this machine; with --scheduler the cluster's workers run the sweep")
    if scheduler is not None and speedup:
        raise click.UsageError("--speedup measures this machine's workers; leave out --scheduler")
    from compare.run.machine import cores

    workers = workers or cores()
    echo = (lambda *args, **kwargs: None) if quiet else click.echo
    if speedup:
        return measure(specs, workers, rounds, echo)
    root = out if out is not None else Path("sweeps") / "-".join(axis.key for axis in axes)
    threads = threads_per_run(workers)
    where = (f"on the Dask cluster at {scheduler}" if scheduler else
             f"on {workers} worker{'s' if workers > 1 else ''} ({cores()} cores, "
             + (f"{plural(threads, 'BLAS and torch thread')} per run)" if threads else "threads as each run chooses)"))
    echo(f"sweep: {len(specs)} runs into {root} {where}", err=True)
    start, counter = time.perf_counter(), iter(range(1, len(specs) + 1))

    def progress(result):
        echo(f"[{next(counter)}/{len(specs)}] {said(result)} ({time.perf_counter() - start:.0f} s in)", err=True)

    try:
        results = run_all(specs, root, workers=workers, scheduler=scheduler, on_result=progress,
                          connect_timeout=connect_timeout)
    except SweepError as error:
        if error.option == "--out":
            raise click.BadParameter(str(error), param_hint="'--out'" if out is not None else "'--out' (its default)")
        raise click.ClickException(str(error)) from None
    except SweepInterrupted as stopped:
        done = [result.name for result in stopped.results if result.finished]
        kept = f"{len(done)} finished and kept in {root} ({', '.join(done)})" if done else "none finished"
        click.echo(f"\ninterrupted: of {len(specs)} runs, {kept}; the same command runs the other "
                   f"{len(specs) - len(done)}", err=True)
        sys.exit(130)
    from compare.sweep.runs import read_manifest
    from compare.sweep.worker import RESULTS, complete

    others = [name for name in read_manifest(root) if name not in values and complete(root / name / RESULTS)]
    if others:  # the grid changed: what an earlier one ran stays, outside this table
        echo(f"note: {root} also holds {len(others)} run(s) of an earlier grid, not in this table: "
             f"{', '.join(others)}", err=True)
    report(results, values, root, echo)
    sys.exit(1 if any(result.status == "failed" for result in results) else 0)


def check_run_options(name: str, args: tuple[str, ...]) -> None:
    """A run's options as `compare run` reads them (unknown options, bad values), before any run
    starts: one line naming the run."""
    from compare.sweep.runs import OWNED

    owned = [arg.split("=")[0] for arg in args if arg.split("=")[0] in OWNED + ("--help", "-h")]
    if owned:
        raise click.UsageError(f"{owned[0]} is not for a sweep: each run goes to OUT/NAME, quietly, from scratch")
    try:
        with run_command.make_context("compare run", list(args)) as context:
            preset = context.params["preset"]
            base = cfg.PRESETS[preset][1] if preset else {}
            build_config(context.params, base)
            parse_impls(context.params["impl_text"])
    except click.ClickException as error:
        raise click.UsageError(f"run {name}: {error.format_message()}") from None


def said(result) -> str:
    if result.status == "skipped":
        return f"{result.name}: finished before, kept"
    if result.status == "failed":
        return f"{result.name}: FAILED after {result.seconds:.0f} s: {result.reason}"
    return f"{result.name}: done in {result.seconds:.0f} s" + (f" ({result.reason})" if result.reason else "")


def report(results, values, root: Path, echo) -> None:
    from compare.sweep.figure import draw
    from compare.sweep.table import console_lines, entries, write_markdown

    rows = entries(results, values)
    figure = draw(rows, root)
    markdown = write_markdown(rows, root, " ".join(["compare", *sys.argv[1:]]), figure)
    echo("")
    for line in console_lines(rows):
        echo(line)
    echo(f"\nWrote {markdown}" + (f" and {figure.name} beside it" if figure else ""))


def measure(specs, workers: int, rounds: int, echo) -> None:
    from compare.run.machine import cores
    from compare.sweep import SweepError
    from compare.sweep.speed import cores_busy, measure_speedup, speedup

    if workers == 1:
        raise click.BadParameter("the speed-up of 1 worker over 1 worker is 1; give --workers 2 or more",
                                 param_hint="'--workers'")
    echo(f"timing {len(specs)} runs on 1 worker and on {workers} ({cores()} cores), {rounds} round(s):")
    try:
        timings = measure_speedup(specs, workers, rounds, echo=echo)
    except SweepError as error:
        raise click.ClickException(str(error)) from None
    echo(f"speed-up: {speedup(timings, workers):.2f}x on {workers} workers")
    busy, possible = cores_busy(timings, workers), min(workers, cores())
    if busy < 0.9 * possible:
        echo(f"note: the {workers} workers kept only {busy:.2f} cores busy of the {possible} they could: the machine "
             f"gave them no more (other programs, or a CPU quota); measure on a quiet machine")

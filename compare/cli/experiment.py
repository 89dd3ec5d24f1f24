"""`compare experiment`: an experiment of Nielsen's book with the book's settings, the book's
figure beside ours, the table and figure written into docs/NIELSEN.md (compare.experiment)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from compare.cli.options import EXIT_CODES, parse_impls

DEFAULT_DOC = Path(__file__).resolve().parents[2] / "docs" / "NIELSEN.md"  # the project's, wherever it is started


def names_help() -> str:
    from compare.experiment.book import EXPERIMENTS

    return ", ".join(EXPERIMENTS)


@click.command(epilog=EXIT_CODES)
@click.argument("names", nargs=-1, metavar="[NAME]... | all")
@click.option("--list", "listing", is_flag=True, help="List the experiments, their runs and the book's figures.")
@click.option("--impl", "impl_text", default="numpy", show_default=True, metavar="NAME",
              help="The implementation that trains every run (numpy is the fastest on a CPU; torch, tensor, or "
                   "scratch and autograd for the patient).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="The data, as for `compare run` (Nielsen's mnist.pkl.gz, say). Default: the bundled MNIST.")
@click.option("--reports-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports"),
              show_default=True, help="The runs go to REPORTS_DIR/experiments/NAME/IMPL/RUN; run the command "
                                      "again to finish an interrupted experiment.")
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="Runs at once on this machine (worker processes). Default: one per core.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run on the Dask cluster of this scheduler instead (pip install 'mnist-three-ways[cluster]').")
@click.option("--doc", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_DOC,
              help="The document whose block of the experiment is written (its figure in nielsen/ beside it). "
                   "Default: the project's docs/NIELSEN.md.")
@click.option("--no-doc", is_flag=True, help="Print the table only; write no document or figure.")
@click.option("--force", is_flag=True, help="Replace the experiment's block in --doc even when it was edited by hand.")
def experiment(names, listing, impl_text, data_dir, reports_dir, workers, scheduler, doc, no_doc, force):
    """Run an experiment of Nielsen's book (chapters 1 and 3) with the book's settings and print,
    for each row, the book's figure and ours. Its table and figure go into docs/NIELSEN.md,
    replacing that experiment's block and nothing else. Runs already finished (an earlier call,
    or one Ctrl-C stopped) are kept and not run again."""
    from compare.experiment.book import EXPERIMENTS

    if listing:
        if names:
            raise click.UsageError("--list takes no experiment names")
        list_experiments(EXPERIMENTS)
        return
    if not names:
        raise click.UsageError(f"name an experiment ({names_help()}, or all), or give --list")
    chosen = list(EXPERIMENTS) if names == ("all",) else list(dict.fromkeys(names))
    unknown = [name for name in chosen if name not in EXPERIMENTS]
    if unknown:
        raise click.BadParameter(f"no experiment {unknown[0]!r}; the experiments are {names_help()}",
                                 param_hint="'NAME'")
    impls = parse_impls(impl_text)
    if len(impls) != 1:
        raise click.BadParameter("an experiment's runs are trained by one implementation; give one",
                                 param_hint="'--impl'")
    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers is for this machine; with --scheduler the cluster's workers run the runs")
    from compare.run.machine import cores

    workers = workers or cores()
    extra = ("--data-dir", str(data_dir)) if data_dir is not None else ()
    if not no_doc:
        check_doc(doc, chosen, force)
    failed = False
    for name in chosen:
        failed |= not run_one(EXPERIMENTS[name], impls[0], reports_dir, extra, workers, scheduler,
                              None if no_doc else doc, force)
    sys.exit(1 if failed else 0)


def list_experiments(experiments) -> None:
    for experiment in experiments.values():
        click.echo(f"{experiment.name}\n  {experiment.title} ({experiment.chapter})")
        click.echo(f"  the book: {experiment.settings}")
        for row in experiment.rows:
            book = "a figure" if row.book is None else f"{row.book:.2f}%"
            click.echo(f"    {row.label}: {book} ({row.reading.what})")
        click.echo(f"  {len(experiment.runs)} run{'s' if len(experiment.runs) > 1 else ''}: "
                   + ", ".join(f"{run.name} ({epochs_of(run.args)} epochs)" for run in experiment.runs))


def epochs_of(args: tuple[str, ...]) -> str:
    return args[args.index("--epochs") + 1] if "--epochs" in args else "1"


def check_doc(doc: Path, names: list[str], force: bool) -> None:
    """Before any run: every block to write can be written (a hand-edited one only with --force)."""
    from compare.experiment.document import FIGURES, DocumentError, check_document
    from compare.run.outputs import OutputError, check_directory

    try:
        for name in names:
            check_document(doc, name, force)
        check_directory(doc.parent / FIGURES, "--doc")
    except DocumentError as error:
        raise click.BadParameter(str(error), param_hint="'--doc'") from None
    except OutputError as error:
        raise click.BadParameter(error.message, param_hint="'--doc'") from None


def run_one(experiment, impl: str, reports_dir: Path, extra: tuple[str, ...], workers: int, scheduler: str | None,
            doc: Path | None, force: bool) -> bool:
    """Run one experiment, print its table, write its block; False when a run failed."""
    from compare.experiment.conduct import ExperimentFailed, conduct, root_of
    from compare.sweep import SweepError, SweepInterrupted

    runs = len(experiment.runs)
    click.echo(f"{experiment.name}: {experiment.title} ({runs} run{'s' if runs > 1 else ''} by {impl} into "
               f"{root_of(reports_dir, experiment, impl)})")
    start, counter = time.perf_counter(), iter(range(1, runs + 1))

    def progress(result) -> None:
        state = ("finished before, kept" if result.status == "skipped" else
                 f"FAILED: {result.reason}" if result.status == "failed" else f"done in {result.seconds:.0f} s")
        click.echo(f"  [{next(counter)}/{runs}] {result.name}: {state} ({time.perf_counter() - start:.0f} s in)", err=True)

    try:
        conducted = conduct(experiment, impl, reports_dir, extra, workers, scheduler, on_result=progress)
    except SweepError as error:
        if error.option == "--out":
            raise click.BadParameter(str(error), param_hint="'--reports-dir'") from None
        raise click.ClickException(str(error)) from None
    except SweepInterrupted as stopped:
        done = [result.name for result in stopped.results if result.finished]
        click.echo(f"\ninterrupted: {len(done)} of {runs} runs of {experiment.name} finished and are kept; the same "
                   f"command runs the other {runs - len(done)}", err=True)
        sys.exit(130)
    except ExperimentFailed as error:
        click.echo(f"error: {experiment.name}: {error}", err=True)
        return False
    for line in table_lines(conducted):
        click.echo(line)
    if doc is not None:
        write_doc(conducted, doc, force)
    return True


def table_lines(conducted) -> list[str]:
    from compare.blocks import Table, to_text

    rows = [[m.row.label, "a figure" if m.row.book is None else f"{m.row.book:.2f}%", f"{m.ours:.2f}%",
             "" if m.difference is None else f"{m.difference:+.2f}", m.row.reading.what] for m in conducted.rows]
    return ["  " + line for line in to_text(Table(["", "the book", "ours", "difference", "ours, read as"], rows))]


def write_doc(conducted, doc: Path, force: bool) -> None:
    from compare.experiment.document import FIGURES, DocumentError, write_block
    from compare.experiment.figures import draw
    from compare.wording import shown_path

    figure = draw(conducted.experiment, conducted.documents, doc.parent / FIGURES / f"{conducted.experiment.name}.png")
    try:
        how = write_block(doc, conducted, figure, force)
    except DocumentError as error:  # edited while the runs ran
        raise click.BadParameter(str(error), param_hint="'--doc'") from None
    click.echo(f"  {how} the block of {conducted.experiment.name} in {shown_path(doc)} (figure: {shown_path(figure)})")

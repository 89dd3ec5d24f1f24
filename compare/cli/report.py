"""`compare report`: a report made again from saved results, one run's or several side by side."""

from __future__ import annotations

from pathlib import Path

import click

from compare.cli.options import EXIT_CODES


@click.command(epilog=EXIT_CODES)
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for the report. Default: beside a single results file, else reports/compare-TIMESTAMP.")
@click.option("--force", is_flag=True, help="Replace a report already in --out (one made from other results).")
def report(results, out_dir, force):
    """Rebuild a report from saved results, one run's or several side by side.

    RESULTS are results.json files or the run folders that hold them; several go
    side by side (e.g. float32 against float64, or two machines). One run's
    page.html is made again too, from the model.npz its run kept beside
    results.json."""
    import shutil
    import tempfile
    from datetime import datetime

    from compare.report.document import PAGE, figures_shown, write_report
    from compare.report.folder import write_page
    from compare.report.results import ResultsError, load_results
    from compare.run.outputs import check_files_in, could_not_write, move_in, reserve_files, same_file
    from shared.checkpoint import CheckpointError

    results = [results_in(path) for path in results]
    try:
        documents = [load_results(path) for path in results]
    except ResultsError as error:
        raise click.ClickException(str(error)) from None
    if out_dir is None:
        out_dir = results[0].parent if len(results) == 1 else Path("reports") / datetime.now().strftime("compare-%Y%m%d-%H%M%S")
    # Rebuilding a run's own report in place is what this is for; another run's is kept.
    in_place = len(results) == 1 and same_file(out_dir, results[0].parent)
    check_files_in(out_dir, ("report.md", "report.html", "results.json", PAGE), "--out", force=force or in_place)
    # The report is built in a folder inside --out, then moved in as a whole: interrupted or on a
    # full disk, --out keeps the report it had, never half of it beside half of this one.
    release = reserve_files([out_dir / "report.md"], "--out")  # one report at a time into --out
    build, page, moved = None, None, False
    try:
        for stale in out_dir.glob(".report.new-*"):  # built by a report killed before its move
            shutil.rmtree(stale, ignore_errors=True)
        build = Path(tempfile.mkdtemp(dir=out_dir, prefix=".report.new-"))
        if len(documents) == 1:
            try:
                page = write_page(documents[0], results[0].parent, build)
            except CheckpointError as error:  # the report does not need it: say so, and go on
                click.echo(f"warning: {error}: {PAGE} is not made again", err=True)
        written = [path.name for path in write_report(documents, build, progress=True)]
        # the earlier report's figures that this one does not show go with it, and so does another
        # run's page when this report has none
        stale = figures_shown(out_dir / "report.md") - set(written) | ({PAGE} if page is None and not in_place else set())
        moved = True
        move_in(build, out_dir, stale)
    except OSError as error:
        if build is not None and error.filename and Path(error.filename).parent == build:
            error.filename = str(out_dir / Path(error.filename).name)  # the file it was building, by its place
        raise could_not_write(error, "" if moved else f"; {out_dir} was not changed") from None
    finally:
        if build is not None:
            shutil.rmtree(build, ignore_errors=True)
        release()
    made = f" and {out_dir / PAGE}" if page else ""
    click.echo(f"Wrote {out_dir / written[1]} and {out_dir / written[0]} with {len(written) - 2} figures{made}")


def results_in(path: Path) -> Path:
    """A results file as given, or the one in a run's folder (as `compare page RUN` takes it)."""
    if not path.is_dir():
        return path
    if not (path / "results.json").is_file():
        raise click.BadParameter(f"{path} is a folder without a results.json: name a run's folder or its results file",
                                 param_hint="'RESULTS'")
    return path / "results.json"

"""`compare report`: a report made again from saved results, one run's or several side by side."""

from __future__ import annotations

from pathlib import Path

import click

from compare.cli.options import EXIT_CODES


@click.command(epilog=EXIT_CODES)
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for the report. Default: beside a single results file, else reports/compare-TIMESTAMP.")
@click.option("--force", is_flag=True, help="Replace a report already in --out (one made from other results).")
def report(results, out_dir, force):
    """Rebuild a report from saved results.json files; several go side by side
    (e.g. float32 against float64, or two machines). One run's page.html is made
    again too, from the model.npz its run kept beside results.json."""
    from datetime import datetime

    from compare.report.document import PAGE, write_report
    from compare.report.folder import write_page
    from compare.report.results import ResultsError, load_results
    from compare.run.outputs import check_files_in, could_not_write, same_file
    from shared.checkpoint import CheckpointError

    try:
        documents = [load_results(path) for path in results]
    except ResultsError as error:
        raise click.ClickException(str(error)) from None
    if out_dir is None:
        out_dir = results[0].parent if len(results) == 1 else Path("reports") / datetime.now().strftime("compare-%Y%m%d-%H%M%S")
    # Rebuilding a run's own report in place is what this is for; another run's is kept.
    in_place = len(results) == 1 and same_file(out_dir, results[0].parent)
    check_files_in(out_dir, ("report.md", "report.html", "results.json", PAGE), "--out", force=force or in_place)
    page = None
    try:
        if len(documents) == 1:
            try:
                page = write_page(documents[0], results[0].parent, out_dir)
            except CheckpointError as error:  # the report does not need it: say so, and go on
                click.echo(f"warning: {error}: {PAGE} is not made again", err=True)
        written = write_report(documents, out_dir, progress=True)
    except OSError as error:
        made = [name for name in (PAGE, "report.md", "report.html") if (out_dir / name).exists()]
        kept = f"; {out_dir} holds {', '.join(made)} (each whole, perhaps from before)" if made else ""
        raise could_not_write(error, kept) from None
    made = f" and {page}" if page else ""
    click.echo(f"Wrote {written[1]} and {written[0]} with {len(written) - 2} figures{made}")

"""`compare bench`: the benchmark (compare.benchmark), its files, and what it found."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from bench import BASELINES
from compare.cli.options import EXIT_CODES, parse_impls
from compare.cli.preflight import check_threads, load_data
from impls import NAMES
from shared import config as cfg

@click.command(epilog=EXIT_CODES)
@click.option("--quick", is_flag=True, help="Short timings and no pure-Python runs on the two larger configs (for CI).")
@click.option("--accuracy", is_flag=True, help="Also train the accuracy targets (preset best, scratch's first epoch): minutes.")
@click.option("--threads", default="auto", show_default=True, callback=check_threads,
              help="BLAS and torch threads for every runner: a number, or auto = per config what "
                   "`compare run --threads auto` would pick.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for bench.json, bench.md and matmul-peak.json (the last quiet run's peaks, to tell a "
                   "busy machine). Default: reports/bench-TIMESTAMP, the peaks in reports/.")
@click.option("--markdown", "markdown_copy", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the Markdown table here (e.g. docs/BENCHMARKS.md).")
@click.option("--force", is_flag=True, help="Replace bench.json and bench.md in --out, and an existing --markdown file.")
@click.option("--impl", "impl_text", default=None, metavar="NAMES",
              help="Measure only these: implementations (" + ", ".join(NAMES) + "), baselines (" + ", ".join(BASELINES)
                   + "), a learner's path/to/file.py[:Class] or module:Class or plugin name (loading a file or module "
                     "runs its code), a comma list of them, or all (the implementations). Default: every "
                     "implementation and every installed baseline.")
@click.option("--threads-study", "study", is_flag=True,
              help="Also measure 1 thread against all cores for numpy and torch on each config, quiet and with "
                   "one CPU-burning process per core (about 2 minutes).")
def bench(quick, accuracy, threads, out_dir, markdown_copy, force, impl_text, study):
    """Measure training throughput of every implementation and baseline, and the targets.

    Each implementation and baseline trains on the same in-memory batches, interleaved,
    median of 9 repeats with min and max; thread counts the same for all and reported.
    A learner's implementation after --impl is measured the same way, under its own name.
    """
    from datetime import datetime

    from compare.benchmark.markdown import to_markdown
    from compare.benchmark.plan import Plan
    from compare.benchmark.suite import run_bench, save
    from compare.benchmark.targets import PeaksError, read_quiet_peaks, remember_quiet_peaks
    from compare.run.outputs import OutputError, check_file, check_files_in, could_not_write
    from shared.atomic import atomic_write_text

    runners = parse_runners(impl_text) if impl_text is not None else None
    # The last quiet run's peaks, to tell a busy machine: kept in --out, or in reports/ beside the benches.
    peaks_path = (out_dir or Path("reports")) / "matmul-peak.json"
    out_dir = out_dir or Path("reports") / datetime.now().strftime("bench-%Y%m%d-%H%M%S")
    check_files_in(out_dir, ("bench.json", "bench.md"), "--out", force)  # before minutes of measuring
    if os.path.lexists(peaks_path) and not peaks_path.is_file():
        raise OutputError(f"{peaks_path} is not a regular file (compare bench keeps its quiet matmul peaks there); "
                          f"remove it", "--out")
    try:
        quiet_peaks = read_quiet_peaks(peaks_path)
    except PeaksError as error:
        raise click.ClickException(f"{error}; remove it, and the next quiet bench writes it again") from None
    if markdown_copy is not None:
        check_file(markdown_copy, "--markdown", force=force)
    dataset = load_data(None, cfg.Config())
    plan = Plan.quick() if quick else Plan()
    document = run_bench(dataset, plan, threads, accuracy, echo=click.echo,
                         command=" ".join(["compare", *sys.argv[1:]]), quiet_peaks=quiet_peaks, study=study,
                         runners=runners)
    try:
        save(document, out_dir / "bench.json", out_dir / "bench.md")
        remember_quiet_peaks(peaks_path, document)
        if markdown_copy is not None:
            atomic_write_text(markdown_copy, to_markdown(document) + "\n")
    except OSError as error:  # minutes of measuring are not lost: the whole table goes to the terminal
        click.echo("\n" + to_markdown(document, on_terminal=True))
        raise could_not_write(error, "; the whole table is printed above") from None
    click.echo("\n" + to_markdown(document, on_terminal=True).split("## Training throughput")[0].strip())
    click.echo(f"\nWrote {out_dir / 'bench.json'} and {out_dir / 'bench.md'}")
    if document["reliability"]["unreliable"]:
        click.echo("warning: the machine was busy during the benchmark (" + "; ".join(document["reliability"]["reasons"])
                   + "): its figures are marked unreliable", err=True)


def parse_runners(text: str) -> list[str]:
    """--impl's names in the order given: baselines by name, the rest as every command's --impl
    takes them (a learner's spec is loaded here). A baseline whose package is missing is a usage error."""
    from bench import installed

    names: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if part in BASELINES:
            if not installed(BASELINES[part]):
                package = BASELINES[part].needs or "torch"
                raise click.BadParameter(f"the baseline {part} needs {package}, which is not installed"
                                         + (f" (pip install '.[{package}]')" if package == "jax" else ""),
                                         param_hint="'--impl'")
            names.append(part)
        elif part:
            names += parse_impls(part)
    if not names:
        raise click.BadParameter(f"no implementation named in {text!r}", param_hint="'--impl'")
    return list(dict.fromkeys(names))

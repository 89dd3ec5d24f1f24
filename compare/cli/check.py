"""`compare check TARGET` and `compare exercise DIR`: a learner's implementation judged
against the numpy reference, and the starting file to fill in (compare/check/ does the work)."""

from __future__ import annotations

import sys

import click

from compare.check.exercise import STYLES

CHECK_EXIT = "Exit codes: 0 passed, 1 diagnosed (the problems are listed), 2 could not load."


@click.command("check", epilog=CHECK_EXIT)
@click.argument("target")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the networks it is checked on.")
def check_command(target, seed):
    """Check an implementation against the numpy reference, equation by equation.

    TARGET is path/to/file.py[:Class], module:Class, or a plug-in or registry name.
    Loading a file or module runs its code: check only code you trust."""
    from compare.check.judge import check

    verdict = check(target, seed=seed)
    click.echo(verdict.text())
    sys.exit(verdict.exit_code)


@click.command("exercise")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--style", type=click.Choice(list(STYLES)), default="scratch", show_default=True,
              help="; ".join(f"{name}: {what}" for name, what in STYLES.items()))
def exercise_command(directory, style):
    """Write DIRECTORY/my_mlp.py: an MLP complete but for the four equations of backpropagation
    (BP1-BP4), each a TODO. DIRECTORY is created if missing; an existing file is never
    overwritten. Then fill in the TODOs and run `compare check DIRECTORY/my_mlp.py`."""
    from compare.check.exercise import ExerciseError, write_exercise

    try:
        path = write_exercise(directory, style=style)
    except ExerciseError as error:  # a place refused is a usage error (2), as for every output; a failed write 1
        if error.refused:
            raise click.BadParameter(str(error), param_hint="'DIRECTORY'") from None
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {path}: fill in the four TODOs (BP1-BP4), then run `compare check {path}`")

"""`compare`: train the implementations side by side and check that they agree.

One module per command family, the options they share (options.py) and the checks made
before any work starts (preflight.py) apart. A new command is a module here and a line in
COMMANDS. Only click and the NumPy-free config are imported at start-up; NumPy, torch and
the implementations load inside the command that needs them, so `compare --help` is fast.
"""

from __future__ import annotations

import os
import sys

import click

from compare.cli.bench import bench
from compare.cli.check import check_command, exercise_command
from compare.cli.data import data
from compare.cli.experiment import experiment
from compare.cli.gradcheck import gradcheck
from compare.cli.models import evaluate_command, page_command, predict
from compare.cli.options import EXIT_CODES
from compare.cli.presets import presets
from compare.cli.report import report
from compare.cli.run import run
from compare.cli.sweep import sweep

# In the order `compare --help` lists them.
COMMANDS = (run, sweep, experiment, gradcheck, report, bench, evaluate_command, predict, page_command, check_command, exercise_command,
            data, presets)


class ReaderGone:
    """Standard output that goes quiet when its reader has gone (`compare run ... | head -1`):
    the command finishes its work and keeps its files, and only stops printing."""

    def __init__(self, stream):
        self.stream, self.gone = stream, False

    def write(self, text):
        if not self.gone:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self.go_quiet()
        return len(text)

    def flush(self):
        if not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self.go_quiet()

    def go_quiet(self):
        """What is left in the stream's buffer, and all that follows, goes nowhere (also at exit)."""
        self.gone = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no file descriptor (a test's stream): nothing to flush
            pass

    def __getattr__(self, name):
        return getattr(self.stream, name)


class InterruptibleGroup(click.Group):
    """Ctrl-C in any command ends with one line and exit code 130 (click's own handling
    would say "Aborted!" and exit 1)."""

    def list_commands(self, ctx):
        return list(self.commands)  # as added: the order of COMMANDS, not the alphabet's

    def invoke(self, ctx):
        import signal

        for stream in (sys.stdout, sys.stderr):  # a name the terminal cannot show is escaped, not a traceback
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="backslashreplace")
        if sys.stdout is not None and not isinstance(sys.stdout, ReaderGone):
            sys.stdout = ReaderGone(sys.stdout)

        try:
            if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # from here on, Ctrl-C unwinds (and saves)
                signal.signal(signal.SIGINT, signal.default_int_handler)
        except ValueError:  # not the main thread (an embedding program): its handlers stay as they are
            pass
        from impls import learners_scope
        from shared.call_limit import CallTimedOut

        try:
            with learners_scope():  # the files named after --impl are this command's only
                return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(130)
        except OSError as error:  # a place that fails under the command (a full disk, a file gone): one line
            from compare.run.outputs import reason

            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"Error: {where}{reason(error)}", err=True)
            sys.exit(1)
        except CallTimedOut as error:  # a learner's method (after --impl) that hangs: named, in one line
            click.echo(f"\nerror: {error} (stopped: an endless loop?)", err=True)
            sys.exit(1)
        except Exception as error:
            say_learner_failed(error)
            raise


def say_learner_failed(error: Exception) -> None:
    """A learner's method (after --impl) that raised: named in one line, with the learner's own
    traceback, exit 1. (impls.plugins is imported here, not before the command: a Ctrl-C at
    start-up must find the handler above already in place.)"""
    from impls.plugins import LearnerCallError

    if isinstance(error, LearnerCallError):
        click.echo(f"\nerror: {error} (`compare check` on its file says what is missing or wrong)", err=True)
        click.echo(error.traceback.rstrip("\n"), err=True)
        sys.exit(1)


@click.group(cls=InterruptibleGroup, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """One multilayer perceptron for MNIST, written five ways (pure Python by hand, pure
    Python on a scalar autograd engine, NumPy by hand, NumPy on a tensor autograd engine,
    PyTorch), trained side by side and checked to compute the same gradients."""


for command in COMMANDS:
    main.add_command(command)

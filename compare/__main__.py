"""`python -m compare`: the same as the `compare` command, for when another program
named compare (ImageMagick has one) comes first on the PATH.

Both start here (pyproject's script is `compare.__main__:entry`), so that Ctrl-C while the
modules are still loading, before any command has started, ends with one line and exit 130
instead of a KeyboardInterrupt traceback from inside an import. Nothing has been written by
then, so leaving at once is safe; the command group puts Python's own handler back before a
command runs, and from then on Ctrl-C is handled there (compare.cli.InterruptibleGroup).
"""

import os
import sys
import _signal  # the C module: `signal` itself takes milliseconds to import (it builds enums)


def leave_at_once(signum, frame):
    os.write(2, b"\ninterrupted\n")
    os._exit(130)


def entry() -> None:
    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:  # not when SIGINT is ignored (nohup, &)
        _signal.signal(_signal.SIGINT, leave_at_once)
    from compare.cli import main

    try:
        main(prog_name="compare")
    except SystemExit as done:
        if done.code != 130:
            raise
        # Interrupted, said, cleaned up: leave with 130 now. Python itself reported such runs
        # as killed by SIGINT (exit -2) once in a while, after the KeyboardInterrupt had been
        # handled (seen in CI, not reproduced on demand); its shutdown is skipped.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


if __name__ == "__main__":
    entry()

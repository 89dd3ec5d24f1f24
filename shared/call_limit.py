"""A time limit on one call into code we did not write (a learner's implementation).

    with time_limit(10, "MyMLP.train_step"):
        model.train_step(x, y, lr)

raises CallTimedOut("MyMLP.train_step did not return within 10 s") when the block runs
longer. How: a SIGALRM timer (signal.setitimer), whose handler raises in the main thread
at the next bytecode the interpreter runs there. What that cannot stop, said plainly:

- a single long call into C that does not return to Python (one huge NumPy product, a
  C extension's own loop): the exception comes when it returns;
- code that catches the exception with a bare `except:` (CallTimedOut derives from
  BaseException, like KeyboardInterrupt, so `except Exception:` lets it through);
- anything off the main thread, or where there is no setitimer (Windows): signals are
  delivered to the main thread only, so there the block runs without a limit.

An outer limit that is still running is kept: an inner limit never extends it, and once
the inner block ends the outer timer goes on with the time it had left.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import Iterator


class CallTimedOut(BaseException):
    """A call ran past its time limit. A BaseException, so that a learner's
    `except Exception:` around a loop does not swallow it."""

    def __init__(self, what: str, seconds: float):
        self.what, self.seconds = what, seconds
        super().__init__(f"{what} did not return within {seconds:g} s")


def limits_available() -> bool:
    """Whether time_limit can interrupt here (the main thread of a POSIX process)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Raise CallTimedOut(what, seconds) if the block runs longer than `seconds`
    (None or 0: no limit). See the module's docstring for what it cannot stop."""
    if not seconds or not limits_available():
        yield
        return
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if outer_delay and outer_delay <= seconds:
        yield  # an outer limit ends sooner: it stays in charge
        return

    def on_alarm(signum, frame):
        raise CallTimedOut(what, seconds)

    started = time.monotonic()
    outer_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_delay:
            left = max(outer_delay - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, outer_interval)

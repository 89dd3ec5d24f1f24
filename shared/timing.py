"""The one way time is measured, for every implementation alike."""

from __future__ import annotations

import time


class Stopwatch:
    """Accumulates wall-clock seconds over the `with` blocks it times.

    perf_counter is monotonic and the finest clock Python has. Work on a GPU is
    asynchronous: the torch implementation returns the loss as a Python float, which
    waits for the device, so a timed block ends only when its work is done.
    """

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self) -> "Stopwatch":
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds += time.perf_counter() - self._start

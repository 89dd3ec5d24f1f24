"""One run of a sweep, in a worker (a loky process here, or a Dask worker elsewhere).

The run is `compare run` itself, in a process of its own: exactly what the command line
does, its threads limited before NumPy or torch load, and a crash or a run out of memory is
that run's failure, not the worker's. It writes into a scratch folder on the worker's
machine; its files come back as bytes, so a cluster needs no shared file system.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

RESULTS = "results.json"
SCRATCH = ".partial-"  # a run's scratch folder, and a finished run's folder before it is renamed into place
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS")


@dataclass
class Finished:
    """What a worker sends back: the run's files (path in its folder -> bytes) when it finished."""
    name: str
    ok: bool
    reason: str
    seconds: float  # wall-clock
    cpu_seconds: float  # of the run's process
    files: dict[str, bytes] = field(default_factory=dict)


def run_one(name: str, args: tuple[str, ...], threads: int | None, cwd: str | None,
            scratch_in: str | None = None) -> Finished:
    """`compare run ARGS --name NAME` in a scratch folder, made in `scratch_in` (the sweep's own
    folder, here: what a killed run leaves is removed by the next sweep into it) or the worker's
    temporary directory. threads: BLAS and torch threads (None: the run's own choice, `--threads
    auto`, unless ARGS give --threads)."""
    env = dict(os.environ)
    command = [sys.executable, "-m", "compare", "run", *args]
    if threads is not None:
        env.update({variable: str(threads) for variable in THREAD_VARIABLES})
        if not given(args, "--threads"):
            command += ["--threads", str(threads)]
    if cwd is not None and not os.path.isdir(cwd):  # a cluster's worker, elsewhere: its own working directory
        cwd = None
    scratch = tempfile.mkdtemp(prefix=SCRATCH if scratch_in else "compare-sweep-", dir=scratch_in)
    start = time.perf_counter()
    try:
        code, errors, cpu = run_process([*command, "--name", name, "--reports-dir", scratch, "--quiet"], cwd, env,
                                        Path(scratch) / "stderr.txt")
        seconds = time.perf_counter() - start
        folder = Path(scratch) / name
        # Exit 1 with a whole results.json: the run finished and a check failed (it says which).
        if code in (0, 1) and complete(folder / RESULTS):
            files = {path.relative_to(folder).as_posix(): path.read_bytes()
                     for path in sorted(folder.rglob("*")) if path.is_file() and not path.name.startswith(".")}
            note = "" if code == 0 else last_line(errors) or "a check failed"
            return Finished(name, True, note, seconds, cpu, files)
        reason = last_line(errors) or f"compare run ended with exit code {code}"
        return Finished(name, False, reason, seconds, cpu)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_in_loky_worker(*args) -> Finished:
    """run_one in a loky worker process. A terminal's Ctrl-C reaches the whole process group: the
    run, a child of this worker, stops on it by itself and the sweep stops its workers, so the
    worker only waits for its run (a KeyboardInterrupt in loky's own loop prints a traceback)."""
    signal.signal(signal.SIGINT, lambda signum, frame: None)  # a handler, not SIG_IGN: the run's is reset
    return run_one(*args)


def run_process(command: list[str], cwd: str | None, env: dict, errors: Path) -> tuple[int, str, float]:
    """Run `command` to its end: its exit code, what it printed on standard error, and the CPU
    seconds it used (its own, from the kernel: a measure of the cores a worker really got)."""
    with open(errors, "w+b") as stderr:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=stderr)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C or the worker stopped: the run goes with it
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        stderr.seek(0)
        return process.returncode, stderr.read().decode("utf-8", "replace"), usage.ru_utime + usage.ru_stime


def given(args: tuple[str, ...], option: str) -> bool:
    return any(arg == option or arg.startswith(option + "=") for arg in args)


def complete(results: Path) -> bool:
    """A whole run: results.json from compare run, not one an interruption cut short."""
    import json

    try:
        document = json.loads(results.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(document, dict) and "schema_version" in document and not document.get("interrupted")


def last_line(text: str) -> str:
    """The run's own error: the last line it printed (click's `Error: ...`, compare's `error: ...`)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1]
    for prefix in ("Error: ", "error: "):
        if line.startswith(prefix):
            return line[len(prefix):]
    return line

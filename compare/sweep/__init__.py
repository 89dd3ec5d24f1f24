"""Many `compare run`s at once: on all cores of this machine, or on a Dask cluster.

The library (what `compare sweep` and `compare experiment` are made of):

    from compare.sweep import RunSpec, run_all

    specs = [RunSpec("lr=0.25", ("--impl", "numpy", "--lr", "0.25", "--epochs", "3")),
             RunSpec("lr=2.5", ("--impl", "numpy", "--lr", "2.5", "--epochs", "3"))]
    results = run_all(specs, Path("sweeps/lr"), workers=2)          # worker processes (loky)
    results = run_all(specs, Path("sweeps/lr"), scheduler="tcp://10.0.0.5:8786")  # a Dask cluster

`RunSpec(name, args)`: one run, `args` the options of `compare run` as typed on the command
line (never --name, --reports-dir, --save, --resume, --json, --quiet or --force: the sweep
owns where each run goes). `run_all(specs, root, workers=1, scheduler=None, on_result=None,
connect_timeout=10.0)` runs each as `compare run` in a process of its own and keeps its folder
as ROOT/NAME, exactly what `compare run --name NAME --reports-dir ROOT` makes (results.json, the
report, the page). It returns one `RunResult(name, status, path, reason, seconds, cpu_seconds)`
per spec, in the specs' order: status "done" (ran now), "skipped" (finished by an earlier call:
resumable) or "failed" (`reason`, one line: the run's own error, e.g. a diverged training; the
next call runs it again). `on_result(result)` is called as each finishes (progress). A folder
appears under ROOT only whole: a run writes into a scratch folder and is moved in when it has
finished, so Ctrl-C (SweepInterrupted, a KeyboardInterrupt holding the results so far and the
names left) keeps every finished run and leaves no half of another. What cannot start is a
SweepError before anything is written: one line, and the option at fault (`--out`, `--scheduler`).

The table and figure of `compare sweep`, for any list of results:

    from compare.sweep.table import entries, varying, console_lines, write_markdown
    from compare.sweep.figure import draw
    rows = entries(results, varying(specs))   # varying: each run's values of the options that differ
    figure = draw(rows, root)                 # ROOT/sweep.png
    write_markdown(rows, root, command, figure)  # ROOT/sweep.md

ROOT keeps sweep.json, the options each run was made with: a later call with the same name
and other options is refused (SweepError, one line) rather than mixing two sweeps in one table;
a ROOT that holds anything else than a sweep is refused too.

Threads: each run gets its share of the cores (cores // workers, at least 1) for BLAS and
torch (`--threads` and the BLAS variables), so workers do not fight over cores; one worker alone
leaves the run its own choice (`--threads auto`); on a cluster, one thread each (start Dask workers
with one thread each and as many as there are cores: `dask worker ADDRESS --nworkers N
--nthreads 1`). A cluster's workers need this project installed, and they send each run's
files back to this machine, so no shared file system is needed.

Modules: runs.py (run_all, the manifest), worker.py (one run, in a worker), grid.py (a grid of
options into specs), table.py (the combined table), figure.py (the curves of every run),
speed.py (one worker against several: the speed-up).
"""

from compare.sweep.runs import RunResult, RunSpec, SweepError, SweepInterrupted, run_all

__all__ = ["RunResult", "RunSpec", "SweepError", "SweepInterrupted", "run_all"]

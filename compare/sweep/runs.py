"""run_all: each RunSpec as `compare run` in a worker, each kept whole in ROOT/NAME, the
finished ones skipped when called again (see the package's docstring)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from compare.run.outputs import OutputError, check_directory, interrupts_deferred, lock_problem, try_lock_file
from compare.sweep.worker import RESULTS, SCRATCH, Finished, complete, run_in_loky_worker, run_one
from shared.atomic import atomic_write_text, current_umask

MANIFEST = "sweep.json"  # the options each run of ROOT was made with
LOCK = ".compare-sweep.lock"
OWNED = ("--name", "--reports-dir", "--save", "--resume", "--json", "--quiet", "-q", "--force")
MANIFEST_VERSION = 1


class SweepError(Exception):
    """A sweep that cannot start (its place, its specs, the cluster): one line to show, and the
    option at fault (`--out` for the place, `--scheduler` for the cluster), if one is."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class RunSpec:
    """One run: its folder's name and the options of `compare run`, as on the command line."""
    name: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class RunResult:
    name: str
    status: str  # "done" (ran now), "skipped" (finished before) or "failed"
    path: Path  # ROOT/NAME; holds results.json unless failed
    reason: str = ""  # failed: why, in one line; done: a check that failed, if one did
    seconds: float | None = None  # wall-clock time of the run (None when skipped)
    cpu_seconds: float | None = None  # CPU time the run's process used (None when skipped)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "skipped")


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: `results` are the runs finished (and kept) before it."""

    def __init__(self, results: list[RunResult], left: list[str]):
        super().__init__()
        self.results, self.left = results, left


def run_all(specs, root: Path, workers: int = 1, scheduler: str | None = None,
            on_result: Callable[[RunResult], None] | None = None, connect_timeout: float = 10.0) -> list[RunResult]:
    """Run each spec not finished yet in ROOT; see the package's docstring."""
    specs = [RunSpec(spec.name, tuple(spec.args)) for spec in specs]
    check_specs(specs)
    if workers < 1:
        raise SweepError(f"workers: give 1 or more, not {workers}")
    root = Path(root)
    client = connect(scheduler, connect_timeout) if scheduler is not None else None  # before ROOT is touched
    try:
        lock = claim(root)
    except BaseException:
        if client is not None:
            client.close()
        raise
    try:
        runs = read_manifest(root)
        done = plan(specs, root, runs)
        runs.update({spec.name: list(spec.args) for spec in specs})
        write_manifest(root, runs)
        results = {}
        for spec in specs:
            if spec.name in done:
                results[spec.name] = RunResult(spec.name, "skipped", root / spec.name)
                if on_result:
                    on_result(results[spec.name])
        todo = [spec for spec in specs if spec.name not in done]
        try:
            for finished in execute(todo, workers, client, root):
                results[finished.name] = keep(finished, root)
                if on_result:
                    on_result(results[finished.name])
        except KeyboardInterrupt:
            kept = [results[spec.name] for spec in specs if spec.name in results]
            raise SweepInterrupted(kept, [spec.name for spec in specs if spec.name not in results]) from None
        return [results[spec.name] for spec in specs]
    finally:
        if client is not None:
            client.close()
        remove_scratch(root)
        (root / LOCK).unlink(missing_ok=True)
        os.close(lock)


def check_specs(specs: list[RunSpec]) -> None:
    seen = set()
    for spec in specs:
        name = spec.name
        if (not name.strip() or name.startswith(".") or "/" in name or "\\" in name or "\x00" in name
                or name in (MANIFEST, "sweep.md", "sweep.png")):
            raise SweepError(f"{name!r} cannot be the name of a run's folder")
        if name in seen:
            raise SweepError(f"two runs are named {name!r}")
        seen.add(name)
        owned = [arg.split("=")[0] for arg in spec.args if arg.split("=")[0] in OWNED]
        if owned:
            raise SweepError(f"run {name}: {owned[0]} is the sweep's to set (each run goes to ROOT/NAME)")


def claim(root: Path) -> int:
    """ROOT as a sweep's place, locked against a second sweep into it: a new or empty folder, or
    one holding a sweep. Leftovers of a run interrupted while being moved in are removed."""
    try:
        check_directory(root, "--out")
    except OutputError as error:
        raise SweepError(error.message, "--out") from None
    if root.is_dir() and not (root / MANIFEST).exists() and any(root.iterdir()):
        raise SweepError(f"{root} is not empty and is not a sweep (it has no {MANIFEST}); choose another place",
                         "--out")
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = try_lock_file(root / LOCK)
    except OSError as error:
        raise SweepError(f"{root}: {lock_problem(error)}", "--out") from None
    if handle is None:
        raise SweepError(f"{root} is being written by another compare sweep right now", "--out")
    remove_scratch(root)
    return handle


def remove_scratch(root: Path) -> None:
    """What runs stopped by Ctrl-C (their workers killed) or by a crash left in their scratch folders."""
    for leftover in root.glob(SCRATCH + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


def read_manifest(root: Path) -> dict[str, list[str]]:
    path = root / MANIFEST
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text())
        runs = document["runs"]
        if not (isinstance(runs, dict) and all(isinstance(args, list) for args in runs.values())):
            raise ValueError("runs is not a table of options")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise SweepError(f"{path}: not a sweep's record ({error}); choose another place", "--out") from None
    return runs


def write_manifest(root: Path, runs: dict[str, list[str]]) -> None:
    lines = ",\n".join(f"  {json.dumps(name)}: {json.dumps(args)}" for name, args in runs.items())
    atomic_write_text(root / MANIFEST, f'{{"schema_version": {MANIFEST_VERSION}, "runs": {{\n{lines}\n}}}}\n')


def plan(specs: list[RunSpec], root: Path, runs: dict[str, list[str]]) -> set[str]:
    """The names finished already; refused: a name made before with other options, and a folder
    that holds no finished run (the user's, or a run's remains: not ours to replace)."""
    done = set()
    for spec in specs:
        folder = root / spec.name
        if spec.name in runs and runs[spec.name] != list(spec.args):
            raise SweepError(f"{folder} was made with other options ({changes(runs[spec.name], spec.args)}); "
                             f"choose another place for this sweep", "--out")
        if os.path.lexists(folder):
            if spec.name not in runs or not complete(folder / RESULTS):
                raise SweepError(f"{folder} exists and holds no finished run of this sweep; remove it or choose "
                                 f"another place", "--out")
            done.add(spec.name)
    return done


def options_of(args) -> dict[str, str]:
    """`--lr 0.1 --epochs=3` -> {"lr": "0.1", "epochs": "3"} (every option of compare run takes a value)."""
    options, args = {}, list(args)
    while args:
        arg = args.pop(0)
        if arg.startswith("--"):
            key, equals, value = arg[2:].partition("=")
            options[key] = value if equals else (args.pop(0) if args else "")
    return options


def changes(before, now) -> str:
    """`--epochs 3 then, 5 now`: the options that differ between two runs' arguments."""
    before, now = options_of(before), options_of(now)
    keys = [key for key in dict.fromkeys([*before, *now]) if before.get(key) != now.get(key)]
    if not keys:  # the same options in another order
        return "the same options in another order"
    return "; ".join(f"--{key} {before.get(key, '(not given)')} then, {now.get(key, '(not given)')} now"
                     for key in keys)


def execute(todo: list[RunSpec], workers: int, client, root: Path) -> Iterator[Finished]:
    """Each run's Finished, in the order they finish: on the Dask cluster of `client`, or here."""
    if not todo:
        return
    cwd = os.getcwd()
    if client is not None:
        yield from on_cluster(todo, client, cwd)
        return
    from joblib import Parallel, delayed

    threads = threads_per_run(workers)
    with warnings.catch_warnings():  # on Ctrl-C joblib warns that the runs under way were cancelled: we say so
        warnings.filterwarnings("ignore", message=".*tasks which were still being processed", category=UserWarning)
        n_jobs = min(workers, len(todo))  # joblib runs one job at a time here, in this process
        task = run_in_loky_worker if n_jobs > 1 else run_one
        yield from Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(
            delayed(task)(spec.name, spec.args, threads, cwd, str(root.resolve())) for spec in todo)


def threads_per_run(workers: int) -> int | None:
    """BLAS and torch threads for each of `workers` runs at once: a share of the cores, or None
    for one worker alone (the run's own choice, as `compare run` makes it)."""
    from compare.run.machine import cores

    share = max(1, cores() // workers)
    return None if share >= cores() else share


def connect(scheduler: str, timeout: float):
    """A client of the Dask scheduler at `scheduler`, within `timeout` seconds, or a SweepError."""
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("Dask's distributed is not installed: pip install 'mnist-three-ways[cluster]'",
                         "--scheduler") from None
    try:
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except Exception as error:  # refused, timed out, a bad address: all one line
        raise SweepError(f"cannot reach the Dask scheduler at {scheduler} ({first_line(error)})",
                         "--scheduler") from None


def on_cluster(todo: list[RunSpec], client, cwd: str) -> Iterator[Finished]:
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    names = {}
    try:
        for spec in todo:  # one BLAS thread each: a cluster's workers are one per core
            future = client.submit(run_one, spec.name, spec.args, 1, cwd, key=f"compare-run-{token}-{spec.name}",
                                   pure=False)
            names[future] = spec.name
        for future in as_completed(list(names), loop=client.loop):
            try:
                yield future.result()
            except Exception as error:  # the worker died, or could not run the task at all
                yield Finished(names[future], False, f"on the cluster: {first_line(error)}", 0.0, 0.0)
    finally:
        client.cancel(list(names))  # a run under way finishes on its worker; its files are not kept


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def keep(finished: Finished, root: Path) -> RunResult:
    """Move a finished run into ROOT/NAME whole (a scratch folder renamed), or say why it failed."""
    folder = root / finished.name
    if not finished.ok:
        return RunResult(finished.name, "failed", folder, finished.reason, finished.seconds, finished.cpu_seconds)
    with interrupts_deferred():  # the folder appears whole or not at all
        scratch = Path(tempfile.mkdtemp(dir=root, prefix=SCRATCH))
        try:
            os.chmod(scratch, 0o777 & ~current_umask())
            for relative, data in finished.files.items():
                path = scratch / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            os.rename(scratch, folder)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
    return RunResult(finished.name, "done", folder, finished.reason, finished.seconds, finished.cpu_seconds)

"""Claiming output places before any work starts, so no result is lost at the end.

A run's directory is claimed atomically: an exclusive flock on a lock file inside it, held
for the life of the run (the kernel releases it when the process ends, even by kill -9). Two runs started together with no --name get different
directories (the timestamp, then -2, -3, ...); two with the same --name never write into one
directory: the second is refused while the first runs, and --force replaces only a finished
run. Files named on the command line (--save, --json, --show) are checked to be creatable
in a place that exists or can be made, and an existing file is replaced only with --force.
"""

from __future__ import annotations

import errno
import glob
import os
import shutil
import signal
import stat
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

LOCK = ".compare-run.lock"  # present while a run writes into its directory
RESULTS_LIMIT = 64 << 20  # compare.report.results.MAX_RESULTS_BYTES (this wing does not import the report's)
TEMPORARY_EXTRA = len(".") + len(".") + 8 + len(".tmp")  # shared.atomic's mkstemp name: .NAME.XXXXXXXX.tmp


class OutputError(click.BadParameter):
    """An output place that cannot be used; shown as one line naming the option."""

    def __init__(self, message: str, option: str):
        super().__init__(message, param_hint=f"'{option}'")


def reason(error: OSError) -> str:
    if error.errno == errno.ENAMETOOLONG:
        return "the name is too long for the file system"
    return error.strerror or str(error)


def could_not_write(error: OSError, kept: str = "") -> click.ClickException:
    """A file that could not be written (a full disk, a quota, a read-only place) as one line,
    exit 1, with what was kept: `kept` begins "; ..." when anything was."""
    return click.ClickException(f"could not write {error.filename or 'a file'} ({reason(error)}){kept}")


def nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def check_directory(directory: Path, option: str, shown: Path | None = None) -> None:
    """`directory` exists as a writable directory, or can be created (nothing is created here).
    `shown`: the path the user gave, named in the message (a file's, when checking its directory)."""
    directory = Path(directory)
    shown = directory if shown is None else shown
    try:
        name_max = os.pathconf(nearest_existing(directory), "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    for part in Path(os.path.abspath(directory)).parts:
        if len(os.fsencode(part)) > name_max:
            raise OutputError(f"{shown}: a name in it is longer than the {name_max} characters the file system "
                              f"allows", option)
    existing = nearest_existing(directory)
    if not existing.is_dir():
        if existing == Path(os.path.abspath(shown)):
            raise OutputError(f"{shown} is a file, not a directory", option)
        raise OutputError(f"{shown} is under {existing}, which is a file", option)
    try:  # the only sure test of permission (root, read-only mounts, /proc): make a file and remove it
        handle, probe = tempfile.mkstemp(dir=existing, prefix=".compare-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise OutputError(f"{shown}: cannot write in {existing} ({reason(error)})", option) from None


def check_file(path: Path, option: str, force: bool = False, may_replace: Path | None = None,
               inputs: tuple[Path, ...] = ()) -> None:
    """`path` can be written: its directory exists or can be made, it is not a directory, and an
    existing file is replaced only with --force (or when it is `may_replace`, the run's own input).
    `inputs`: the files the command reads, never replaced, not even with --force."""
    path = Path(path)
    check_name_length(path, option)  # first: a name too long makes even is_dir() fail
    if path.is_dir():
        raise OutputError(f"{path} is a directory; give a file name", option)
    for source in inputs:
        if same_file(path, source):
            what = "a file" if str(path) == str(source) else f"{source},"
            raise OutputError(f"{path} is {what} which this command reads; choose another file", option)
    check_directory(path.parent, option, shown=path)
    if path.exists() and not path.is_file():
        raise OutputError(f"{path} is not a regular file (a device, FIFO or socket); compare replaces only "
                          f"regular files, not even with --force", option)
    if path.exists() or path.is_symlink():
        if may_replace is not None and may_replace.exists() and same_file(path, may_replace):
            return
        if not force:
            why = " and is not the file this run resumes from" if may_replace is not None else ""
            raise OutputError(f"{path} already exists{why}; choose another name, or add --force to replace it", option)


def check_name_length(path: Path, option: str) -> None:
    """Every name on the way to the file fits in the file system, and so does the file's
    temporary name (shared.atomic writes .NAME.XXXXXXXX.tmp first, then renames it)."""
    try:
        name_max = os.pathconf(nearest_existing(path.parent), "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    for part in Path(os.path.abspath(path.parent)).parts:
        if len(os.fsencode(part)) > name_max:
            raise OutputError(f"{part[:40]}...: a name in {option}'s path is longer than the {name_max} characters "
                              f"the file system allows", option)
    if len(os.fsencode(path.name)) + TEMPORARY_EXTRA > name_max:
        raise OutputError(f"{path.name[:40]}...: longer than the {name_max - TEMPORARY_EXTRA} characters compare "
                          f"allows in a file name ({name_max} in the file system, less its temporary name's "
                          f"{TEMPORARY_EXTRA})", option)


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class RunDirectory:
    """A claimed reports/NAME directory. The run writes into `build`: the directory itself, or,
    when it replaces a finished run (--force), a new directory beside it that finish() puts in
    the old one's place as a whole, so that no report of one run ever stands beside the results of
    another, however the run ends (Ctrl-C, a full disk, kill -9). release() when done."""

    def __init__(self, name: str, path: Path, created: bool, lock_handle: int, replacing: bool = False):
        self.name, self.path, self.created, self.lock_handle = name, path, created, lock_handle
        self.build = path
        if replacing:
            for stale in path.parent.glob(f".{glob.escape(name)}.new-*"):  # built by a run killed before its swap
                shutil.rmtree(stale, ignore_errors=True)  # (only the holder of NAME's lock builds beside it)
            self.build = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{name}.new-"))
            os.chmod(self.build, stat.S_IMODE(os.stat(path).st_mode))  # mkdtemp's are private

    @property
    def lock(self) -> Path:
        return self.path / LOCK

    def finish(self, ours: set[str]) -> bool:
        """Once the run has written what it could: a run built beside the one it replaces takes that
        run's place when it holds its results (the old directory's files that are not in `ours`,
        the names the old run itself wrote, are the user's: they are carried over), and is removed
        otherwise. Whether `path` now holds this run's files."""
        if self.build == self.path:
            return True
        with interrupts_deferred():
            if not (self.build / "results.json").exists():
                shutil.rmtree(self.build, ignore_errors=True)
                self.build = self.path
                return False
            for entry in self.path.iterdir():
                if entry.name not in ours | {LOCK} and not os.path.lexists(self.build / entry.name):
                    os.rename(entry, self.build / entry.name)
            old = self.build
            if not exchange(self.build, self.path):  # no atomic exchange here: two renames
                old = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=f".{self.name}.old-"))
                os.rename(self.path, old / self.name)
                os.rename(self.build, self.path)
            self.build = self.path
            shutil.rmtree(old, ignore_errors=True)
        return True

    def release(self) -> None:
        if self.lock_handle is not None:
            self.lock.unlink(missing_ok=True)  # before closing: a waiting run then sees a new file
            os.close(self.lock_handle)
            self.lock_handle = None

    def abandon(self) -> None:
        """Nothing was written: give the place back as it was."""
        if self.build != self.path:
            shutil.rmtree(self.build, ignore_errors=True)
            self.build = self.path
        self.release()
        if self.created:
            try:
                self.path.rmdir()  # only when empty
            except OSError:
                pass


def exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux's renameat2 with RENAME_EXCHANGE); False where
    the system or the file system cannot."""
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(error, os.strerror(error), str(b))


def try_lock(directory: Path) -> int | None:
    """Hold the directory's lock: an exclusive flock on its lock file, kept while the run lives
    (the kernel lets go when the process ends, however it ends, so no lock is ever stale).
    None when another run holds it."""
    return try_lock_file(directory / LOCK)


def reserve_files(paths, option: str):
    """Hold a lock beside each file this run will write (.NAME.lock) until the returned
    release() is called: a second run aiming at the same file is refused, instead of one
    run's model silently replacing the other's. (If the process dies first, the kernel lets
    go of the lock; only the empty lock file stays.)"""
    held, made = [], []

    def release():
        for lock, handle in held:
            lock.unlink(missing_ok=True)
            os.close(handle)
        held.clear()
        for directory in reversed(made):  # made for a file never written (a refusal after this): taken back
            try:
                directory.rmdir()  # only when empty
            except OSError:
                pass
        made.clear()

    for path in paths:
        lock = Path(path).parent / f".{Path(path).name}.lock"
        try:
            missing = [p for p in [lock.parent, *lock.parent.parents] if not p.exists()]
            lock.parent.mkdir(parents=True, exist_ok=True)
            made.extend(reversed(missing))
            handle = try_lock_file(lock)
        except OSError as error:
            release()
            raise OutputError(f"{lock}: {lock_problem(error)}", option) from None
        if handle is None:
            release()
            raise OutputError(f"{path} is being written by another compare run right now; choose another name", option)
        held.append((lock, handle))
    return release


def open_regular(path: Path) -> int:
    """Open (or make) `path` for writing only as a regular file of its own: a symbolic link or a
    FIFO planted there is never followed, so no one can point our writes at another file."""
    handle = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise OSError(errno.EINVAL, f"{path} is not a regular file")
    return handle


def try_lock_file(lock: Path) -> int | None:
    """An exclusive flock on `lock` (made if missing), or None when another process holds it."""
    import fcntl

    for _ in range(10):
        handle = open_regular(lock)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            return None
        try:  # the holder before may have removed the file between our open and our lock
            current = os.fstat(handle).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            current = False
        if current:
            os.ftruncate(handle, 0)
            os.write(handle, f"{os.getpid()}\n".encode())
            return handle
        os.close(handle)
    return None


def lock_problem(error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.EINVAL):
        return ("something that is not a regular file (a symbolic link?) stands where compare keeps "
                "its lock; remove it if it is not yours")
    return reason(error)


def holds_anything(directory: Path) -> bool:
    """Anything but locks: a run's own, and those of the --save files it writes there (.NAME.lock)."""
    return directory.is_dir() and any(p.name != LOCK and not (p.name.startswith(".") and p.name.endswith(".lock"))
                                      for p in directory.iterdir())


def holds_a_run(directory: Path) -> bool:
    """A finished run of this tool: its results.json is a JSON object with a schema_version (what
    every `compare run` writes). Anything else in the directory is the user's, not ours to replace."""
    import json

    from shared.files import read_regular

    try:  # a FIFO there would wait for a writer: only a regular file is read, and no more than a results file is
        document = json.loads(read_regular(directory / "results.json", RESULTS_LIMIT))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(document, dict) and "schema_version" in document


def claim_run_directory(reports_dir: Path, name: str | None, force: bool) -> RunDirectory:
    """Claim REPORTS_DIR/NAME (NAME: --name, else a timestamp made unique with -2, -3, ...)."""
    if name is not None and (not name.strip() or "/" in name or "\\" in name or name in (".", "..")
                             or "\x00" in name):
        raise OutputError(f"{name!r} cannot be a directory name", "--name")
    check_directory(reports_dir, "--reports-dir")
    if name is not None:
        check_directory(reports_dir / name, "--name")
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{reports_dir}: {reason(error)}", "--reports-dir") from None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidates = [name] if name is not None else [stamp] + [f"{stamp}-{n}" for n in range(2, 1000)]
    for candidate in candidates:
        directory = reports_dir / candidate
        try:
            directory.mkdir()
            created = True
        except FileExistsError:
            created = False
            if not directory.is_dir():
                if name is None:
                    continue
                raise OutputError(f"{directory} exists and is not a directory", "--name") from None
        except OSError as error:
            raise OutputError(f"{directory}: {reason(error)}", "--name" if name else "--reports-dir") from None
        try:
            handle = try_lock(directory)
        except BaseException as error:  # Ctrl-C between making the directory and locking it: leave nothing behind
            if created:
                (directory / LOCK).unlink(missing_ok=True)
                directory.rmdir()
            if isinstance(error, OSError):  # e.g. a symbolic link planted where the lock goes
                raise OutputError(f"{directory / LOCK}: {lock_problem(error)}",
                                  "--name" if name else "--reports-dir") from None
            raise
        if handle is None:
            if name is None:
                continue
            raise OutputError(f"{directory} is being written by another compare run right now; "
                              f"choose another --name", "--name")
        if not created and holds_anything(directory):
            run = holds_a_run(directory)
            if not run or not force:
                RunDirectory(candidate, directory, False, handle).release()
                if name is None:
                    continue
                if not run:  # never written into, not even with --force: the files there are the user's
                    raise OutputError(f"{directory} is not empty and is not a run of compare (it has no results.json "
                                      f"from one); choose another --name", "--name")
                raise OutputError(f"{directory} already holds a run; choose another --name or add --force to "
                                  f"overwrite it", "--name")
        try:
            return RunDirectory(candidate, directory, created, handle, replacing=not created and holds_anything(directory))
        except OSError as error:
            RunDirectory(candidate, directory, created, handle).release()
            raise OutputError(f"{directory}: cannot build the new run beside it ({reason(error)})", "--name") from None
    raise OutputError(f"no free run directory under {reports_dir} for {stamp}", "--reports-dir")


def check_files_in(directory: Path, names: tuple[str, ...], option: str, force: bool) -> None:
    """The files a command writes into `directory` under fixed names: none of them replaces
    an earlier one without --force (the directory itself may exist)."""
    check_directory(directory, option)
    for name in names:
        if (Path(directory) / name).exists() and not force:
            raise OutputError(f"{directory} already holds {name} from an earlier run; choose another directory, "
                              "or add --force to replace it", option)


def move_in(build: Path, directory: Path, stale=()) -> None:
    """Every file built in `build` takes its place in `directory`, each by one atomic rename, and
    the `stale` names there go, with Ctrl-C deferred until all is done: what was built beside a
    directory replaces its files as a whole, never leaving half the old beside half the new."""
    with interrupts_deferred():
        for entry in sorted(build.iterdir()):
            os.replace(entry, directory / entry.name)
        for name in stale:
            (directory / name).unlink(missing_ok=True)


@contextmanager
def interrupts_deferred():
    """Ctrl-C during the block takes effect when it ends: a file written and what the run
    will say of it change together (a Ctrl-C between saving epoch 2 and recording it once
    made the run say epoch 1 was saved). A handler swap, not a signal mask: a mask holds
    only in this thread, and BLAS or torch threads would take the signal instead."""
    received = []
    try:
        previous = signal.getsignal(signal.SIGINT)
        if previous is signal.SIG_IGN or previous is None:
            yield
            return
        signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    except ValueError:  # not the main thread: nothing to defer with
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt

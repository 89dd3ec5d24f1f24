"""Nothing the user made is lost: run directories claimed atomically, checkpoints never written
over another model, every output place checked before any work, one-line errors, Ctrl-C at once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from compare.cli import main
from compare.run.outputs import LOCK, OutputError, claim_run_directory
from shared.checkpoint import load_checkpoint
from conftest import one_error_line

TINY = ["--impl", "numpy", "--sizes", "784,8,10", "--train-limit", "300", "--test-limit", "200", "--epochs", "1"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def invoke(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)


def compare_process(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "compare", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# -- run directories ---------------------------------------------------------------------------
def test_two_runs_started_together_get_their_own_directories(tmp_path):
    processes = [compare_process("run", *TINY, "--seed", str(seed), "-q", cwd=tmp_path) for seed in (1, 2)]
    outcomes = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outcomes
    directories = sorted(d for d in (tmp_path / "reports").iterdir())
    assert len(directories) == 2, directories
    seeds = sorted(json.loads((d / "results.json").read_text())["config"]["seed"] for d in directories)
    assert seeds == [1, 2]  # both results survived
    assert not any((d / LOCK).exists() for d in directories)


def test_the_same_name_twice_at_once_never_interleaves(tmp_path):
    processes = [compare_process("run", *TINY, "--seed", str(seed), "--name", "same", "-q", cwd=tmp_path)
                 for seed in (1, 2)]
    outcomes = [p.communicate(timeout=300) for p in processes]
    codes = sorted(p.returncode for p in processes)
    assert codes == [0, 2], outcomes
    refused = outcomes[[p.returncode for p in processes].index(2)][1]
    assert "--name" in refused and ("another compare run" in refused or "already holds a run" in refused), refused
    winner = [p.returncode for p in processes].index(0) + 1
    assert json.loads((tmp_path / "reports" / "same" / "results.json").read_text())["config"]["seed"] == winner


def test_claiming_is_exclusive_and_timestamps_get_a_suffix(tmp_path):
    first = claim_run_directory(tmp_path, None, False)
    second = claim_run_directory(tmp_path, None, False)  # same second: a suffix, not the same place
    assert first.path != second.path and first.path.is_dir() and second.path.is_dir()
    named = claim_run_directory(tmp_path, "mine", False)
    with pytest.raises(OutputError, match="being written by another compare run"):
        claim_run_directory(tmp_path, "mine", True)  # not even --force takes a directory in use
    (named.path / "results.json").write_text('{"schema_version": 1}')
    named.release()
    with pytest.raises(OutputError, match="already holds a run"):
        claim_run_directory(tmp_path, "mine", False)
    assert claim_run_directory(tmp_path, "mine", True).path == named.path


@pytest.mark.parametrize("contents", [{"notes.txt": "mine"}, {"results.json": '{"mine": true}', "report.md": "mine"}])
def test_a_directory_of_the_users_own_files_is_not_called_a_run_and_never_written(tmp_path, contents):
    directory = tmp_path / "reports" / "mine"
    directory.mkdir(parents=True)
    for name, text in contents.items():
        (directory / name).write_text(text)
    for force in ([], ["--force"]):  # --force replaces only a run of compare
        result = invoke("run", *TINY, "--name", "mine", "--reports-dir", str(tmp_path / "reports"), *force)
        one_error_line(result, 2, "--name", "is not empty and is not a run of compare")
        assert "already holds a run" not in result.output
    assert sorted(p.name for p in directory.iterdir()) == sorted(contents)
    assert all((directory / name).read_text() == text for name, text in contents.items())


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    directory = tmp_path / "old"
    directory.mkdir()
    (directory / LOCK).write_text("12345\n")  # its run was killed: the file stayed, its flock did not
    assert claim_run_directory(tmp_path, "old", False).path == directory


def test_claims_race_from_many_threads_and_one_wins(tmp_path):
    """Many claims of one name at the same moment: exactly one gets it (the lock's content is
    never read half-written, which once let a second run in)."""
    import threading

    barrier, winners, refused = threading.Barrier(8), [], []

    def claim():
        barrier.wait()
        try:
            winners.append(claim_run_directory(tmp_path, "same", False))
        except OutputError:
            refused.append(1)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(refused) == 7


def test_a_run_that_fails_leaves_no_empty_directory(tmp_path):
    result = invoke("run", "--impl", "numpy", "--sizes", "784,8,10", "--train-limit", "300", "--activation", "relu",
                    "--lr", "1e6", "--name", "boom")
    assert result.exit_code == 1
    assert not (tmp_path / "reports" / "boom").exists()


# -- checkpoints: never over another model, never a claim of a save that did not happen ---------
def test_save_over_an_unrelated_model_is_refused_unless_force(tmp_path):
    assert invoke("run", *TINY, "--save", "old.npz", "-q").exit_code == 0
    before = (tmp_path / "old.npz").read_bytes()
    result = invoke("run", *TINY, "--seed", "5", "--save", "old.npz")
    one_error_line(result, 2, "--save", "old.npz already exists", "--force")
    assert (tmp_path / "old.npz").read_bytes() == before
    assert not (tmp_path / "reports").exists() or len(list((tmp_path / "reports").iterdir())) == 1
    assert invoke("run", *TINY, "--seed", "5", "--save", "old.npz", "--force", "-q").exit_code == 0
    assert (tmp_path / "old.npz").read_bytes() != before


def test_save_over_the_file_resumed_from_is_allowed(tmp_path):
    assert invoke("run", *TINY, "--save", "m.npz", "-q").exit_code == 0
    assert invoke("run", "--resume", "m.npz", "--epochs", "1", "--save", "m.npz", "-q").exit_code == 0
    assert load_checkpoint(tmp_path / "m.npz").epoch == 2


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("extra", [[], ["--loss", "mse", "--lr", "3"]])
def test_a_diverging_resume_never_saves_over_the_good_model(tmp_path, extra):
    """The issue's case: --resume good.npz --lr 1e6 --save good.npz overwrote a 67% model with 11.6%."""
    assert invoke("run", "--impl", "numpy", "--train-limit", "2000", "--test-limit", "500", "--epochs", "1",
                  "--save", "good.npz", "-q", *extra).exit_code == 0
    before = (tmp_path / "good.npz").read_bytes()
    assert load_checkpoint(tmp_path / "good.npz").test_accuracy > 0.6
    result = invoke("run", "--resume", "good.npz", "--lr", "1e6", "--save", "good.npz", "--epochs", "1")
    line = one_error_line(result, 1, "training diverged", "lower learning rate than 1e+06")
    assert "good.npz is unchanged" in line
    assert (tmp_path / "good.npz").read_bytes() == before


# -- every output place is checked before any work --------------------------------------------
def test_reports_dir_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("mine")
    started = time.monotonic()
    result = invoke("run", *TINY, "--reports-dir", "afile/reports")
    one_error_line(result, 2, "--reports-dir", "which is a file")
    assert "Gradient check" not in result.output and time.monotonic() - started < 20
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_name_too_long_for_the_file_system():
    result = invoke("run", *TINY, "--name", "n" * 300)
    one_error_line(result, 2, "--name", "longer than the")
    assert "Gradient check" not in result.output


def test_save_under_a_file_or_into_a_directory(tmp_path):
    (tmp_path / "afile").write_text("mine")
    one_error_line(invoke("run", *TINY, "--save", "afile/m.npz"), 2, "--save", "which is a file")
    (tmp_path / "adir").mkdir()
    one_error_line(invoke("run", *TINY, "--save", "adir"), 2, "--save")


def test_gradcheck_json_into_an_unwritable_place(tmp_path):
    (tmp_path / "afile").write_text("mine")
    one_error_line(invoke("gradcheck", "--impl", "numpy", "--json", "afile/g.json"), 2, "--json", "which is a file")
    one_error_line(invoke("gradcheck", "--impl", "numpy", "--json", "/proc/g.json"), 2, "--json", "cannot write")


def test_report_out_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("mine")
    results = ROOT / "docs" / "report" / "results.json"
    one_error_line(invoke("report", str(results), "--out", "afile/r"), 2, "--out", "which is a file")


def test_download_dest_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("mine")
    one_error_line(invoke("data", "download", "--dest", "afile/mnist", "--mirror", "http://127.0.0.1:9/"), 2,
                   "--dest", "which is a file")


def test_predict_show_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("mine")
    digit = ROOT / "docs" / "examples" / "seven.png"
    one_error_line(invoke("predict", str(ROOT / "models" / "mnist-mlp.npz"), str(digit), "--show", "afile/p.png"), 2,
                   "--show", "which is a file")


# -- absurd sizes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes,impl", [("784,100000000,10", "numpy"), ("784,1000000,10", "torch")])
def test_absurd_sizes_are_refused_before_allocating(sizes, impl):
    result = invoke("run", "--impl", impl, "--sizes", sizes)
    one_error_line(result, 2, "--sizes", "parameters", "of memory, more than the")
    result = invoke("gradcheck", "--impl", impl, "--sizes", sizes)
    one_error_line(result, 2, "--sizes", "of memory")


# -- Ctrl-C at once ----------------------------------------------------------------------------------
INTERRUPT_AT_IMPORT = """
import os, runpy, signal, sys
MODULE = sys.argv[1]
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == MODULE:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C exactly while this module is being imported
        return None
sys.meta_path.insert(0, Interrupt())
sys.argv = ["compare", *sys.argv[2:]]
runpy.run_module("compare", run_name="__main__", alter_sys=True)
"""


def said(stderr: str) -> list[str]:
    """What a command said on stderr, less its progress lines ("checking gradients (5 checks) ...")."""
    return [line for line in stderr.splitlines() if line.strip() and not line.endswith(" ...")]


@pytest.mark.parametrize("module", ["click", "compare.cli.options", "numpy", "impls.numpy_mlp"])
def test_ctrl_c_while_modules_load_is_one_line_and_130(tmp_path, module):
    """click and compare.cli.options load before any command runs, numpy and the implementation
    inside `run` (the first ~150 ms, where a KeyboardInterrupt traceback used to come out)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", INTERRUPT_AT_IMPORT, module, "run", *TINY], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 130, result.stderr
    # numpy_mlp loads during the gradient check, which says so ("interrupted during the gradient check, ...")
    [line] = said(result.stderr)
    assert line == "interrupted" or line.startswith("interrupted during the gradient check"), result.stderr


@pytest.mark.parametrize("delay", [0.15, 0.3, 0.6])
def test_ctrl_c_soon_after_start_is_one_line_and_130(tmp_path, delay):
    # After Python's own start-up (site-packages), which no program can handle: timed now, as
    # a loaded machine can stretch it past the delay.
    clock = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    startup = time.perf_counter() - clock
    process = compare_process("run", *TINY, cwd=tmp_path)
    time.sleep(startup + delay)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert process.returncode == 130, (process.returncode, stderr)
    assert len(said(stderr)) == 1, stderr
    left = list((tmp_path / "reports").rglob("*")) if (tmp_path / "reports").exists() else []
    if left:  # a fast machine finished training: the results are kept, and the line says where
        [results] = (tmp_path / "reports").glob("*/results.json")
        assert said(stderr)[0].startswith("interrupted while writing the report; the results are in"), stderr
        assert json.loads(results.read_text())["implementations"]


def test_ctrl_c_before_the_first_save_claims_no_save(tmp_path):
    """The issue's case: Ctrl-C before epoch 1 printed "the last completed epoch is saved in X.npz"
    while X.npz was an older, unrelated model (replaced here with --force, so allowed to be)."""
    assert invoke("run", *TINY, "--save", "old.npz", "-q").exit_code == 0
    before = (tmp_path / "old.npz").read_bytes()
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "compare", "run", "--impl", "scratch", "--sizes", "784,12,10",
                                "--train-limit", "30000", "--epochs", "1", "--save", "old.npz", "--force"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("[scratch]"):
            break
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    [line] = said(stderr)  # during the time estimate or the first epoch, depending on the machine's speed
    assert line.startswith("interrupted") and "scratch" in line and line.endswith("; nothing was saved in old.npz")
    assert (tmp_path / "old.npz").read_bytes() == before
    assert not list((tmp_path / "reports").iterdir())[1:]  # the first run's report only: nothing half-made


def interrupt_the_gradient_check(monkeypatch):
    import compare.check.gradients
    import compare.run.comparison

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(compare.run.comparison, "check_on_training_images", interrupted)
    monkeypatch.setattr(compare.check.gradients, "check_on_training_images", interrupted)


def test_ctrl_c_during_the_gradient_check_says_nothing_was_saved(tmp_path, monkeypatch):
    """It printed only "interrupted"; now where, and that --save and the report were not written."""
    interrupt_the_gradient_check(monkeypatch)
    result = invoke("run", *TINY, "--save", "m.npz", "--reports-dir", tmp_path / "reports")
    assert result.exit_code == 130 and "Traceback" not in result.output, result.output
    [line] = said(result.stderr)
    assert line == "interrupted during the gradient check, before any training; nothing was saved in m.npz", line
    assert not (tmp_path / "m.npz").exists() and not list((tmp_path / "reports").iterdir())
    (tmp_path / "old.json").write_text("mine")
    for json_path, words in (("g.json", "; nothing was written to g.json"), ("old.json", "; old.json is unchanged")):
        result = invoke("gradcheck", "--impl", "numpy", "--json", json_path, "--force")
        assert result.exit_code == 130, result.output
        assert said(result.stderr) == [f"interrupted during the gradient check{words}"], result.output
    assert not (tmp_path / "g.json").exists() and (tmp_path / "old.json").read_text() == "mine"


# -- found by a stranger's test of the merged round ------------------------------------------
def test_a_picture_or_table_never_replaces_a_file_without_force(tmp_path):
    from PIL import Image

    photo = tmp_path / "seven.png"
    Image.new("L", (60, 60), 255).save(photo)
    Image.new("L", (60, 60), 255).save(tmp_path / "other.png")
    before = photo.read_bytes()
    model = Path(__file__).parents[1] / "models" / "mnist-mlp.npz"
    for show, force in ((photo, []), (photo, ["--force"])):  # an image being read: never, even with --force
        result = invoke("predict", model, photo, "--show", show, *force)
        assert result.exit_code == 2 and "which this command reads" in result.output
    assert photo.read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    result = invoke("predict", model, tmp_path / "other.png", "--show", notes)
    assert result.exit_code == 2 and "already exists; choose another name, or add --force" in result.output
    result = invoke("gradcheck", "--impl", "numpy", "--samples", "2", "--json", notes)
    assert result.exit_code == 2 and "already exists" in result.output
    assert notes.read_text() == "mine"


def test_page_out_under_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    model = Path(__file__).parents[1] / "models" / "3b1b.npz"
    result = invoke("page", model, "--out", tmp_path / "afile" / "x.html")
    assert result.exit_code == 2 and "which is a file" in result.output and "Traceback" not in result.output


def test_more_threads_than_cores_are_refused():
    result = invoke("run", *TINY, "--threads", str((os.cpu_count() or 1) + 1))
    assert result.exit_code == 2 and "--threads" in result.output


def test_two_runs_never_write_one_checkpoint(tmp_path):
    """The first run holds its --save file from start to end; a second run aiming at it is
    refused at once (even with --force), and the first run's model is the one saved."""
    slow = compare_process("run", "--impl", "scratch", "--sizes", "784,8,10", "--train-limit", "3000",
                           "--test-limit", "200", "--epochs", "1", "-q", "--save", "model.npz", cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".model.npz.lock")) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = compare_process("run", *TINY, "-q", "--save", "model.npz", "--force", cwd=tmp_path)
    _, stderr = second.communicate(timeout=120)
    assert second.returncode == 2 and "being written by another compare run" in stderr, stderr
    assert slow.wait(timeout=300) == 0
    assert load_checkpoint(tmp_path / "model.npz").impl == "scratch"
    assert not list(tmp_path.glob(".model.npz.lock"))  # the lock goes with the run


def test_eval_and_predict_take_one_implementation():
    model = Path(__file__).parents[1] / "models" / "3b1b.npz"
    for command in (["eval", model], ["predict", model, model]):
        result = invoke(*command, "--impl", "numpy,torch")
        assert result.exit_code == 2 and "give one implementation" in result.output


# -- from the stranger's test of 2026-11-28: outputs that were replaced without a word ------------
def test_a_command_never_writes_over_the_model_it_reads(tmp_path):
    import shutil

    model = tmp_path / "m.npz"
    shutil.copy(ROOT / "models" / "mnist-mlp.npz", model)
    before = model.read_bytes()
    digit = ROOT / "docs" / "examples" / "seven.png"
    one_error_line(invoke("page", str(model), "--out", str(model), "--force"), 2, "--out", "which this command reads")
    one_error_line(invoke("predict", str(model), str(digit), "--show", str(model), "--force"), 2, "--show",
                   "which this command reads")
    assert model.read_bytes() == before


def test_bench_replaces_its_outputs_and_a_markdown_file_only_with_force(tmp_path):
    (tmp_path / "notes.md").write_text("mine")
    one_error_line(invoke("bench", "--quick", "--markdown", "notes.md"), 2, "--markdown", "already exists", "--force")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "bench.json").write_text("{}")
    one_error_line(invoke("bench", "--quick", "--out", "b"), 2, "--out", "already holds bench.json", "--force")
    assert (tmp_path / "notes.md").read_text() == "mine" and (tmp_path / "b" / "bench.json").read_text() == "{}"


def test_report_keeps_another_runs_report_unless_force(tmp_path):
    import shutil

    for name in ("r1", "r2"):
        shutil.copytree(ROOT / "docs" / "report", tmp_path / name)
    theirs = (tmp_path / "r2" / "report.md").read_text()
    one_error_line(invoke("report", "r1/results.json", "--out", "r2"), 2, "--out", "already holds report.md")
    assert (tmp_path / "r2" / "report.md").read_text() == theirs
    rebuilt = invoke("report", "r1/results.json")  # a run's own report, rebuilt in place: allowed
    assert rebuilt.exit_code == 0, rebuilt.output
    rebuilt = invoke("report", "r1")  # its folder, as `compare page r1` takes it
    assert rebuilt.exit_code == 0, rebuilt.output
    (tmp_path / "empty").mkdir()
    one_error_line(invoke("report", "empty"), 2, "empty is a folder without a results.json")


def test_eval_names_what_it_takes_and_predict_show_writes_only_png(tmp_path):
    model = str(ROOT / "models" / "mnist-mlp.npz")
    result = invoke("eval", model, "--impl", "bogus")
    one_error_line(result, 2, "--impl", "unknown implementation bogus: choose one of scratch, autograd, numpy, tensor, torch")
    assert "comma list" not in result.output  # it used to suggest what it then refused
    one_error_line(invoke("eval", model, "--impl", "numpy,torch"), 2, "--impl", "give one implementation")
    digit = str(ROOT / "docs" / "examples" / "seven.png")
    one_error_line(invoke("predict", model, digit, "--show", "out.jpg"), 2, "--show", "writes a PNG image")
    assert not (tmp_path / "out.jpg").exists()


def test_ctrl_c_while_a_checkpoint_is_saved_waits_for_the_save_and_its_record():
    from compare.run.outputs import interrupts_deferred

    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the signal has arrived; the block goes on
            done.append("saved")
            done.append("recorded")
    assert done == ["saved", "recorded"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_a_replaced_report_takes_its_figures_and_nothing_else(tmp_path):
    import shutil

    shutil.copytree(ROOT / "docs" / "report", tmp_path / "r1")
    results = "r1/results.json"
    assert invoke("report", results, results, "--out", "both").exit_code == 0  # two runs side by side
    (tmp_path / "both" / "mine.png").write_bytes(b"not a figure of the report")
    before = {p.name for p in (tmp_path / "both").glob("*.png")}
    assert invoke("report", results, "--out", "both", "--force").exit_code == 0
    after = {p.name for p in (tmp_path / "both").glob("*.png")}
    shown = {line.split("](")[1].rstrip(")") for line in (tmp_path / "both" / "report.md").read_text().splitlines()
             if line.startswith("![")}
    assert after == shown | {"mine.png"} and before != after


def test_ctrl_c_between_the_gradient_check_and_training_says_where_and_what_was_saved(tmp_path, monkeypatch):
    import compare.run.comparison

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(compare.run.comparison, "format_agreement", interrupted)  # Ctrl-C right after the gradient check
    result = invoke("run", *TINY, "--save", "m.npz")
    assert result.exit_code == 130, result.output
    assert "interrupted before numpy's training; nothing was saved in m.npz" in result.output
    assert not (tmp_path / "m.npz").exists() and not list((tmp_path / "reports").glob("*/results.json"))


def test_ctrl_c_between_the_model_and_the_results_leaves_nothing(tmp_path, monkeypatch):
    """model.npz is written before results.json: a Ctrl-C between the two once left a run folder
    holding only model.npz, a fragment no command reads (CI caught it at random)."""
    import compare.report.folder as folder

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(folder, "save_results", interrupted)
    result = invoke("run", *TINY, "--name", "cut", "-q")
    assert result.exit_code == 130, result.output
    # and it says the training is lost, with what it found (it said only "interrupted while writing the report")
    assert "interrupted while writing the report before its results: nothing of the run was kept; it found: numpy " \
           in result.output and "% after 1 epoch" in result.output
    assert not (tmp_path / "reports" / "cut").exists()


def test_an_interrupted_first_epoch_leaves_results_its_report_reads(tmp_path):
    """Ctrl-C in scratch's first epoch after numpy's: scratch has drift points but no completed
    epoch; the results named it in "drift" only, and `compare report` refused them."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "compare", "run", "--impl", "numpy,scratch", "--sizes", "784,12,10",
                                "--train-limit", "30000", "--test-limit", "200", "--name", "cut short", "--save", "m.npz"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("[scratch]"):  # numpy has finished its epoch
            break
    time.sleep(3.0)  # scratch's probe, then its first epoch: its drift marks passing (about 15 s in all)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    results = tmp_path / "reports" / "cut short" / "results.json"
    document = json.loads(results.read_text())
    assert [impl["name"] for impl in document["implementations"]] == ["numpy"] and document["drift"] is None
    # whose epoch is saved is said: numpy's, not scratch's, which was interrupted
    assert "numpy's last completed epoch (1) is saved in" in stderr and "nothing was saved in" in stderr, stderr[-400:]
    assert invoke("report", results, "--out", tmp_path / "again").exit_code == 0


def test_ctrl_c_while_drawing_gives_a_command_that_pastes(tmp_path, monkeypatch):
    """The hint after Ctrl-C named `compare report reports/two words/results.json`, which a shell
    splits in two: the path is quoted."""
    import shlex

    import compare.report.folder as folder

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    drawing = folder.write_report
    monkeypatch.setattr(folder, "write_report", interrupted)
    result = invoke("run", *TINY, "--name", "two words", "-q")
    assert result.exit_code == 130, result.output
    [command] = re.findall(r"`(compare report [^`]*)`", result.output)
    assert shlex.split(command)[2:] == [str(Path("reports") / "two words" / "results.json")]
    monkeypatch.setattr(folder, "write_report", drawing)
    again = invoke(*shlex.split(command)[1:])  # as pasted
    assert again.exit_code == 0, again.output

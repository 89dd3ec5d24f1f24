"""Checkpoints: portable across implementations, resumable, safe to load, kept on Ctrl-C."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from conftest import available_impls
from click.testing import CliRunner

from compare.cli import main
from impls import build
from shared.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from shared.config import Config
from shared.params import init_params
from shared.training import prepare, train

SMALL = ["--sizes", "784,12,10", "--train-limit", "500", "--test-limit", "300"]


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("trainer", ["scratch", "autograd", "numpy", "tensor", "torch"])
def test_a_model_saved_by_one_implementation_predicts_the_same_in_all(trainer, tmp_path, mnist):
    if trainer not in available_impls():
        pytest.skip("torch is not installed")
    config = Config(sizes=(784, 12, 10), epochs=1, train_limit=300, test_limit=200)
    model = build(trainer, config, init_params(config.sizes))
    run = train(model, prepare(mnist, config), config)
    path = tmp_path / f"{trainer}.npz"
    save_checkpoint(path, Checkpoint(model.parameters(), config, trainer, 1, run.history[-1].test_accuracy))
    loaded = load_checkpoint(path)
    assert loaded.impl == trainer and loaded.epoch == 1 and loaded.config == config
    x = prepare(mnist, config).x_test
    reference = model.predict_proba(x)
    for name in available_impls():
        probabilities = build(name, loaded.config, loaded.params).predict_proba(x)
        np.testing.assert_array_equal(probabilities.argmax(1), reference.argmax(1))
        np.testing.assert_allclose(probabilities, reference, rtol=0, atol=1e-12)


def test_run_saves_and_eval_reports_the_same_accuracy(tmp_path):
    result = invoke("run", "--impl", "numpy", *SMALL, "--epochs", "2", "--save", "model.npz", "--json", "-")
    assert result.exit_code == 0
    accuracy = json.loads(result.output)["implementations"][0]["final"]["test_accuracy"]
    checkpoint = load_checkpoint(tmp_path / "model.npz")
    assert checkpoint.epoch == 2 and checkpoint.test_accuracy == accuracy
    for impl in available_impls():
        result = invoke("eval", "model.npz", "--impl", impl)
        assert result.exit_code == 0, result.output
        assert "trained by numpy for 2 epochs" in result.output and f"evaluated by {impl}" in result.output


def test_eval_and_page_need_only_the_test_files(tmp_path):
    """A --data-dir with only t10k-*: eval and page read the test set; nothing asks for training files."""
    from conftest import write_dataset

    directory = write_dataset(tmp_path / "data", train_count=20, test_count=10, classes=3, side=28)
    for path in directory.glob("train-*"):
        path.unlink()
    config = Config(sizes=(784, 5, 3))
    save_checkpoint(tmp_path / "m.npz", Checkpoint(init_params(config.sizes), config, "numpy", 1, 0.5))
    result = invoke("eval", "m.npz", "--data-dir", str(directory))
    assert result.exit_code == 0, result.output
    assert "on 10 data test images" in result.output
    page = invoke("page", "m.npz", "--data-dir", str(directory))
    assert page.exit_code == 0 and (tmp_path / "m.html").is_file(), page.output
    missing = invoke("eval", "m.npz", "--data-dir", str(tmp_path))  # no test files either: named
    assert missing.exit_code == 1 and "t10k-images-idx3-ubyte.gz: file not found" in missing.output


def test_several_implementations_save_one_file_each(tmp_path):
    result = invoke("run", "--impl", "scratch,numpy", *SMALL, "--epochs", "1", "--save", "m.npz", "-q")
    assert result.exit_code == 0
    assert load_checkpoint(tmp_path / "m-scratch.npz").impl == "scratch"
    assert load_checkpoint(tmp_path / "m-numpy.npz").impl == "numpy"


def test_resume_continues_the_epoch_count_and_lowers_the_loss(tmp_path):
    first = json.loads(invoke("run", "--impl", "numpy", *SMALL, "--epochs", "2", "--save", "a.npz", "--json", "-").output)
    result = invoke("run", "--resume", "a.npz", "--epochs", "2", "--save", "b.npz", "--json", "-", "--name", "resumed")
    assert result.exit_code == 0, result.output
    second = json.loads(result.output)
    assert second["implementations"][0]["name"] == "numpy"  # the checkpoint's implementation by default
    # the checkpoint's epochs come along, marked, so the curves are whole (issue 22.6)
    assert [(e["epoch"], e.get("before_resume", False)) for e in second["implementations"][0]["epochs"]] == \
        [(1, True), (2, True), (3, False), (4, False)]
    assert second["config"]["sizes"] == [784, 12, 10]
    assert second["initial_parameters"]["resumed_from"] == "a.npz"
    before = first["implementations"][0]["epochs"][-1]["train_loss"]
    assert second["implementations"][0]["epochs"][-1]["train_loss"] < before
    assert load_checkpoint(tmp_path / "b.npz").epoch == 4


def test_a_checkpoint_trained_on_cuda_resumes_with_a_cpu_implementation(tmp_path):
    """Its device comes along in its config; only --device cuda typed for CPU-only
    implementations is refused, not the checkpoint's own."""
    assert invoke("run", "--impl", "numpy", *SMALL, "--epochs", "1", "--save", "a.npz", "-q").exit_code == 0
    saved = load_checkpoint(tmp_path / "a.npz")
    save_checkpoint(tmp_path / "gpu.npz", Checkpoint(saved.params, saved.config.with_changes(device="cuda"), "numpy",
                                                    saved.epoch, saved.test_accuracy, saved.created, saved.history))
    assert invoke("run", "--resume", "gpu.npz", "--impl", "numpy", "--epochs", "1", "--name", "cpu", "-q").exit_code == 0
    typed = invoke("run", "--resume", "gpu.npz", "--impl", "numpy", "--device", "cuda", "--epochs", "1", "-q")
    assert typed.exit_code == 2 and "numpy computes on the CPU only" in typed.output


def test_resuming_a_run_with_momentum_says_the_velocity_starts_from_zero(tmp_path):
    """A checkpoint holds parameters, not the momentum's velocity: the resumed epochs are not
    those of one run straight through, and the run says so (before, it said nothing)."""
    assert invoke("run", "--impl", "numpy", *SMALL, "--epochs", "1", "--momentum", "0.9", "--save", "m.npz", "-q").exit_code == 0
    result = invoke("run", "--resume", "m.npz", "--epochs", "1", "--name", "again")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("note: momentum starts again from zero: m.npz holds the parameters, not their velocity")
    plain = invoke("run", "--impl", "numpy", *SMALL, "--epochs", "1", "--save", "p.npz", "-q")
    assert plain.exit_code == 0
    assert "momentum" not in invoke("run", "--resume", "p.npz", "--epochs", "1", "--name", "plain").output


def test_a_resumed_run_keeps_the_whole_history_and_says_which_epochs_it_trained(tmp_path):
    """Issue 22.6: after `--resume my.npz --epochs 2` the curves showed epochs 2-3 only, and the
    header said "training 2 epochs" and then "After 3 epochs"."""
    first = json.loads(invoke("run", "--impl", "numpy", *SMALL, "--epochs", "1", "--save", "a.npz", "--json", "-").output)
    saved = load_checkpoint(tmp_path / "a.npz")
    assert [r["epoch"] for r in saved.history] == [1] and len(saved.history[0]["loss_curve"]) >= 40
    result = invoke("run", "--resume", "a.npz", "--epochs", "2", "--save", "b.npz", "--name", "r",
                    "--reports-dir", "reports")
    assert result.exit_code == 0, result.output
    assert "training  epochs 2-3 (resumed after epoch 1) of mini-batch SGD" in result.output
    assert "After 3 epochs (1 before resuming, 2 in this run) on 500 images" in result.output
    document = json.loads((tmp_path / "reports" / "r" / "results.json").read_text())
    epochs = document["implementations"][0]["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert {k: v for k, v in epochs[0].items() if k != "before_resume"} == first["implementations"][0]["epochs"][0]
    assert document["implementations"][0]["final"]["train_seconds_per_epoch"] == pytest.approx(
        (epochs[1]["train_seconds"] + epochs[2]["train_seconds"]) / 2)  # the speeds are this run's
    report = (tmp_path / "reports" / "r" / "report.md").read_text()
    assert "**Training** epochs 2-3 (resumed after epoch 1) of mini-batch SGD" in report
    assert "| numpy | 1 (before resuming) |" in report
    assert [r["epoch"] for r in load_checkpoint(tmp_path / "b.npz").history] == [1, 2, 3]  # carried on again


def test_a_checkpoint_from_before_histories_loads_without_one(good_checkpoint, tmp_path):
    def old(arrays):
        metadata = json.loads(str(arrays["metadata"]))
        del metadata["history"]
        arrays["metadata"] = np.array(json.dumps(metadata))

    assert load_checkpoint(tamper(good_checkpoint, tmp_path, old)).history == ()


@pytest.mark.parametrize("history, words", [
    ("not a list", "its history must be a list of at most 3 epochs"),
    ([{"epoch": 1}], "its history's record 0 must hold epoch, train_loss"),
    ([{"epoch": 2, "train_loss": 0.3, "test_loss": 0.2, "test_accuracy": 0.9, "train_seconds": 1, "eval_seconds": 0.1,
       "train_samples": 500, "loss_curve": [[1.0, 0.3]]}] * 2, "record 1 is of epoch 2: epochs must be numbered in order"),
    ([{"epoch": 1, "train_loss": float("nan"), "test_loss": 0.2, "test_accuracy": 0.9, "train_seconds": 1,
       "eval_seconds": 0.1, "train_samples": 500, "loss_curve": []}], "record 0 holds a value that is not a finite"),
])
def test_a_damaged_history_is_refused_in_one_line(good_checkpoint, tmp_path, history, words):
    def damage(arrays):
        metadata = json.loads(str(arrays["metadata"]))
        metadata["history"] = history
        arrays["metadata"] = np.array(json.dumps(metadata))

    assert_one_line_error(tamper(good_checkpoint, tmp_path, damage), words)


def test_resume_refuses_another_network(tmp_path):
    invoke("run", "--impl", "numpy", *SMALL, "--epochs", "1", "--save", "a.npz", "-q")
    result = invoke("run", "--resume", "a.npz", "--sizes", "784,20,10")
    assert result.exit_code == 2 and "holds a network with sizes 784,12,10" in result.output


def write_npz(path, **arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def good_checkpoint(tmp_path):
    config = Config(sizes=(784, 6, 10))
    path = tmp_path / "good.npz"
    save_checkpoint(path, Checkpoint(init_params(config.sizes), config, "numpy", 3, 0.5))
    return path


def tamper(good, tmp_path, change) -> str:
    with np.load(good, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    change(arrays)
    path = tmp_path / "bad.npz"
    write_npz(path, **arrays)
    return path


def assert_one_line_error(path, *words):
    for command in (["eval", str(path)], ["predict", str(path), "x.png"], ["run", "--resume", str(path)]):
        result = invoke(*command)
        assert result.exit_code == 1, (command, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: "), lines
        for word in words:
            assert word in lines[0], lines[0]


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("these are my notes")
    assert_one_line_error(path, "not a checkpoint")


def test_missing_checkpoint(tmp_path):
    assert_one_line_error(tmp_path / "nowhere.npz", "file not found")


def test_truncated_checkpoint(good_checkpoint, tmp_path):
    path = tmp_path / "cut.npz"
    path.write_bytes(good_checkpoint.read_bytes()[: good_checkpoint.stat().st_size // 2])
    assert_one_line_error(path, "not a checkpoint (.npz) or truncated")


def test_checkpoint_for_other_layer_sizes(good_checkpoint, tmp_path):
    path = tamper(good_checkpoint, tmp_path, lambda a: a.update(W1=np.zeros((6, 100)), b1=np.zeros(6)))
    assert_one_line_error(path, "layer 1: W has shape (6, 100), expected (6, 784)")


def test_checkpoint_holding_nan(good_checkpoint, tmp_path):
    def poison(arrays):
        arrays["W2"] = arrays["W2"].copy()
        arrays["W2"][0, 0] = np.nan

    assert_one_line_error(tamper(good_checkpoint, tmp_path, poison), "layer 2: W holds NaN")


def test_a_pickle_inside_is_never_loaded(good_checkpoint, tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tamper(good_checkpoint, tmp_path, lambda a: a.update(W1=np.array([Exploit()], dtype=object)))
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


def test_foreign_npz_and_bad_metadata(tmp_path, good_checkpoint):
    foreign = tmp_path / "foreign.npz"
    write_npz(foreign, weights=np.zeros(3))
    assert_one_line_error(foreign, "no metadata")
    wrong = tamper(good_checkpoint, tmp_path, lambda a: a.update(metadata=np.array(json.dumps({"format": "x"}))))
    assert_one_line_error(wrong, "not a checkpoint of this project")
    assert zipfile.is_zipfile(good_checkpoint)


def test_ctrl_c_keeps_the_last_completed_epoch(tmp_path):
    """A real interrupt (SIGINT, as Ctrl-C sends) after the first epoch was saved."""
    path = tmp_path / "interrupted.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "compare", "run", "--impl", "scratch", "--sizes", "784,12,10", "--train-limit", "1500",
         "--test-limit", "200", "--epochs", "50", "--save", str(path), "--reports-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not path.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert path.exists(), process.communicate()
    time.sleep(0.3)  # into the next epoch
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    # stderr also carries the progress lines ("checking gradients ..."); the interrupt is said once
    lines = [line for line in stderr.splitlines() if "interrupted" in line]
    assert len(lines) == 1 and lines[0].startswith("interrupted during scratch's epoch"), stderr
    checkpoint = load_checkpoint(path)  # valid, not half-written
    assert 1 <= checkpoint.epoch < 50
    assert f"the last completed epoch ({checkpoint.epoch}) is saved in {path}" in lines[0]
    # The completed epochs are not lost: their report is written, marked as interrupted.
    [directory] = [d for d in tmp_path.iterdir() if d.is_dir()]
    document = json.loads((directory / "results.json").read_text())
    assert document["interrupted"].startswith("interrupted during scratch's epoch")
    assert [e["epoch"] for e in document["implementations"][0]["epochs"]] == list(range(1, checkpoint.epoch + 1))
    assert "**Interrupted**" in (directory / "report.md").read_text()
    assert f"the report of the completed epochs is in {directory}" in lines[0]
    assert not (directory / ".compare-run.lock").exists()
    assert not list(tmp_path.glob(".interrupted.npz.*"))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverging_run_leaves_the_last_good_checkpoint_valid(tmp_path):
    assert invoke("run", "--impl", "numpy", "--sizes", "784,30,10", "--train-limit", "500", "--test-limit", "300",
                  "--epochs", "1", "--activation", "relu", "--init", "he", "--lr", "0.1", "--save", "good.npz",
                  "-q").exit_code == 0
    before = (tmp_path / "good.npz").read_bytes()
    result = invoke("run", "--resume", "good.npz", "--lr", "1e150", "--save", "good.npz", "--name", "boom")
    assert result.exit_code == 1
    assert "the loss became nan at epoch 2" in result.output and "lower learning rate" in result.output
    assert (tmp_path / "good.npz").read_bytes() == before
    assert load_checkpoint(tmp_path / "good.npz").epoch == 1


# -- issue 9: hostile checkpoints are one-line errors ------------------------------------------------
def with_metadata(good, tmp_path, **changes):
    def change(arrays):
        metadata = json.loads(str(arrays["metadata"]))
        metadata.update(changes)
        arrays["metadata"] = np.array(json.dumps(metadata))
    return tamper(good, tmp_path, change)


@pytest.mark.parametrize("config,words", [
    ([784, 6, 10], "its config is invalid: expected an object"),
    (None, "its config is invalid: expected an object"),
    ("784-6-10", "its config is invalid: expected an object"),
    ({"sizes": "784,6,10"}, "sizes must be a list"),
    ({"sizes": [784, 6, 10], "lr": "fast"}, "its config is invalid"),
    ({"sizes": [784, 6, 10], "colour": "red"}, "unknown field 'colour'"),
])
def test_metadata_config_of_the_wrong_type(good_checkpoint, tmp_path, config, words):
    assert_one_line_error(with_metadata(good_checkpoint, tmp_path, config=config), words)


@pytest.mark.parametrize("epoch", [True, 10**30, -1, 2.5, "3"])
def test_epoch_must_be_a_sane_whole_number(good_checkpoint, tmp_path, epoch):
    assert_one_line_error(with_metadata(good_checkpoint, tmp_path, epoch=epoch), "epoch must be a whole number")


def test_metadata_nested_very_deep(good_checkpoint, tmp_path):
    deep = "[" * 100000 + "]" * 100000
    path = tamper(good_checkpoint, tmp_path, lambda a: a.update(metadata=np.array(deep)))
    assert_one_line_error(path, "nested too deeply")


@pytest.mark.parametrize("dtype", ["int64", "bool", "U5", "datetime64[s]", "complex128", [("a", "f8"), ("b", "i4")]])
def test_weights_that_are_not_floats_are_refused(good_checkpoint, tmp_path, dtype):
    path = tamper(good_checkpoint, tmp_path, lambda a: a.update(W1=np.zeros((6, 784), dtype=dtype)))
    assert_one_line_error(path, "W1 holds", "float16, float32 or float64")


def test_float32_and_float16_weights_load(good_checkpoint, tmp_path):
    path = tamper(good_checkpoint, tmp_path, lambda a: a.update(W1=a["W1"].astype(np.float16),
                                                                W2=a["W2"].astype(np.float32)))
    assert load_checkpoint(path).params[0][0].dtype == np.float64


def test_a_zip_bomb_member_is_never_inflated(good_checkpoint, tmp_path):
    """An unused member of 300 MB of zeros (a few hundred KB compressed): np.load inflated it."""
    import tracemalloc

    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(good_checkpoint) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            bomb.writestr(info.filename, source.read(info))
        with bomb.open("junk.npy", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(300):
                member.write(block)
    assert path.stat().st_size < 2_000_000
    tracemalloc.start()
    checkpoint = load_checkpoint(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert checkpoint.epoch == 3 and peak < 20_000_000, peak


def test_a_member_declaring_more_than_its_header_needs_is_refused_unread(good_checkpoint, tmp_path):
    path = tmp_path / "padded.npz"
    with zipfile.ZipFile(good_checkpoint) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as padded:
        for info in source.infolist():
            data = source.read(info)
            padded.writestr(info.filename, data + bytes(10_000_000) if info.filename == "W1.npy" else data)
    assert_one_line_error(path, "W1 declares", "more than the")


def test_a_member_cut_short_is_called_truncated(good_checkpoint, tmp_path):
    with np.load(good_checkpoint, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, arrays["W1"])
    cut = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    path = tmp_path / "cut-member.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            if name != "W1":
                member = io.BytesIO()
                np.lib.format.write_array(member, array)
                archive.writestr(f"{name}.npy", member.getvalue())
        archive.writestr("W1.npy", cut)
    assert_one_line_error(path, "W1 is truncated")


def test_a_checkpoint_declaring_absurd_layer_sizes(good_checkpoint, tmp_path):
    config = Config(sizes=(784, 6, 10)).to_dict() | {"sizes": [784, 100_000_000, 10]}
    assert_one_line_error(with_metadata(good_checkpoint, tmp_path, config=config), "more than this machine's memory")


def test_resuming_the_name_given_to_save_of_several_implementations_names_their_files(tmp_path):
    """--save m.npz with two implementations writes m-numpy.npz and m-tensor.npz; --resume m.npz
    then says so, not only 'file not found'."""
    result = invoke("run", "--impl", "numpy,tensor", *SMALL, "--epochs", "1", "--save", "m.npz", "-q")
    assert result.exit_code == 0, result.output
    result = invoke("run", "--resume", "m.npz", "--epochs", "2", "-q")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "file not found" in lines[0], result.output
    assert "resume from one of m-numpy.npz, m-tensor.npz" in lines[0], result.output

"""The command line as a user meets it: help, the two commands, and every bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from compare.cli import main

TINY = ["--sizes", "784,8,10", "--train-limit", "300", "--test-limit", "200", "--epochs", "1"]


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    """Runs write reports/ into the working directory: keep it out of the repository."""
    monkeypatch.chdir(tmp_path)


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_lists_commands_and_exit_codes():
    result = invoke("--help")
    assert result.exit_code == 0
    for word in ("run", "gradcheck", "Exit codes", "130"):
        assert word in result.output


def test_python_dash_m_compare_works():
    result = subprocess.run([sys.executable, "-m", "compare", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "gradcheck" in result.stdout


def test_run_prints_epochs_summary_and_agreement():
    pytest.importorskip("torch")
    result = invoke("run", "--impl", "all", *TINY)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "checksums verified" in out and ": PASS" in out
    from impls import NAMES

    for name in NAMES:
        assert f"[{name}]" in out
    assert out.count("  epoch  1  loss") == len(NAMES)
    assert "fastest" in out and "x slower" in out
    assert "s of training, timed once, are too short to compare: `compare bench` times the steps alone" in out
    assert out.count("same test prediction for 100.00% of images") == len(NAMES) * (len(NAMES) - 1) // 2


def test_run_accepts_a_comma_list_and_float32():
    result = invoke("run", "--impl", "numpy,scratch", "--dtype", "float32", *TINY)
    assert result.exit_code == 0, result.output
    assert "[numpy]" in result.output and "[scratch]" in result.output and "[torch]" not in result.output
    assert "float32" in result.output and "Python floats" in result.output


def test_gradcheck_table_and_json(tmp_path):
    path = tmp_path / "out" / "agreement.json"
    result = invoke("gradcheck", "--impl", "scratch,numpy", "--sizes", "784,12,10", "--activation", "tanh",
                    "--loss", "mse", "--json", str(path))
    assert result.exit_code == 0, result.output
    assert "scratch~numpy" in result.output and "PASS" in result.output
    document = json.loads(path.read_text())
    assert document["passed"] is True
    assert [t["name"] for t in document["tensors"]] == ["W1", "b1", "W2", "b2"]
    assert document["tolerances"] == {"pairs": 1e-10, "finite_differences": 1e-6}
    assert document["config"]["dtype"] == "float64"


def test_gradcheck_json_to_stdout():
    result = invoke("gradcheck", "--impl", "numpy", "--sizes", "784,5,10", "--json", "-")
    assert result.exit_code == 0
    assert json.loads(result.output)["impls"] == ["numpy"]


def test_gradcheck_fails_with_exit_1_on_a_wrong_gradient(monkeypatch):
    import impls.numpy_mlp as numpy_mlp

    sigmoid, _ = numpy_mlp.ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(numpy_mlp.ACTIVATIONS, "sigmoid", (sigmoid, lambda a: a))
    result = invoke("gradcheck", "--impl", "scratch,numpy", "--sizes", "784,6,10")
    assert result.exit_code == 1
    assert "FAIL" in result.output


@pytest.mark.parametrize(
    "args,option,words",
    [
        (["--impl", "fortran"], "--impl", "unknown implementation fortran"),
        (["--lr", "0"], "--lr", "positive"),
        (["--lr", "-0.5"], "--lr", "positive"),
        (["--lr", "inf"], "--lr", "finite"),
        (["--batch-size", "0"], "--batch-size", "positive"),
        (["--batch-size", "301"], "--batch-size", "larger than the 300 training images"),
        (["--epochs", "0"], "--epochs", "positive"),
        (["--seed", "-3"], "--seed", "non-negative"),
        (["--sizes", "100,10"], "--sizes", "784 pixels"),
        (["--sizes", "784,30,3"], "--sizes", "10 classes"),
        (["--sizes", "784,x,10"], "--sizes", "whole numbers"),
        (["--sizes", "784,0,10"], "--sizes", "positive"),
        (["--train-limit", "0"], "--train-limit", "positive"),
        (["--train-limit", "70000"], "--train-limit", "more than the 60,000"),
        (["--dtype", "float16"], "--dtype", "float16"),
        (["--activation", "softsign"], "--activation", "softsign"),
        (["--device", "tpu"], "--device", "tpu"),
    ],
)
def test_bad_values_are_usage_errors_naming_the_option(args, option, words):
    full = ["run", "--impl", "numpy", "--train-limit", "300", *args]
    result = invoke(*full)
    assert result.exit_code == 2, result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.output
    assert option in error_lines[0] and words in error_lines[0], error_lines[0]
    assert "Traceback" not in result.output


def test_cuda_without_a_device_is_a_usage_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    result = invoke("run", "--impl", "torch", "--device", "cuda", *TINY)
    assert result.exit_code == 2 and "no CUDA device" in result.output


def test_cuda_for_implementations_on_the_cpu_only_is_a_usage_error():
    result = invoke("run", "--impl", "numpy,tensor", "--device", "cuda", *TINY)
    assert result.exit_code == 2 and "but numpy, tensor compute on the CPU only" in result.output
    assert "Traceback" not in result.output


def test_bad_data_dir_is_a_one_line_error(tmp_path):
    result = invoke("run", "--impl", "numpy", "--data-dir", str(tmp_path / "missing"))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: {tmp_path / 'missing'}: data directory not found"]


def test_corrupt_data_file_is_named(tmp_path):
    from conftest import write_dataset

    directory = write_dataset(tmp_path / "d")
    (directory / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip, not idx")
    result = invoke("gradcheck", "--data-dir", str(directory), "--sizes", "16,4,3")
    assert result.exit_code == 1
    assert "train-labels-idx1-ubyte.gz: wrong magic number" in result.output


def test_another_dataset_directory_trains(tmp_path):
    from conftest import write_dataset

    directory = write_dataset(tmp_path / "three-classes", train_count=60, test_count=30)
    result = invoke("run", "--impl", "scratch,numpy", "--data-dir", str(directory), "--sizes", "16,5,3",
                    "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert "unverified" in result.output and "60 training and 30 test images" in result.output


def test_a_five_class_dataset_trains_without_sizes_and_its_model_is_judged_by_its_own_data(tmp_path):
    """Issue 22.5: `run --data-dir` sizes the output layer from the labels when --sizes is not
    given; `eval` and `page` of that model without --data-dir say what is wrong in terms of
    --data-dir (they have no --sizes), and work with it."""
    from conftest import write_dataset
    from shared.checkpoint import load_checkpoint

    five = write_dataset(tmp_path / "five", train_count=200, test_count=50, classes=5, side=28)
    result = invoke("run", "--impl", "numpy", "--data-dir", str(five), "--save", "five.npz", "--reports-dir", "r")
    assert result.exit_code == 0, result.output
    assert "network   784-30-5," in result.output
    assert load_checkpoint(tmp_path / "five.npz").config.sizes == (784, 30, 5)
    for command in (["eval", "five.npz"], ["page", "five.npz", "--out", "five.html"]):
        result = invoke(*command)
        assert result.exit_code == 2, result.output
        [error] = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert "--sizes" not in error
        assert ("'--data-dir': five.npz's network answers 5 classes, but the labels of the bundled MNIST have 10: "
                "give --data-dir the dataset it was trained on") in error
        result = invoke(*command, "--data-dir", str(five))
        assert result.exit_code == 0, result.output
    # the page names the dataset its digits come from, not MNIST
    page = (tmp_path / "five.html").read_text()
    assert "pick a real five test digit" in page and '"dataset":"five"' in page
    assert "right on 50 five test images" in page
    # a typed --sizes is still the user's: checked, not changed
    result = invoke("run", "--impl", "numpy", "--data-dir", str(five), "--sizes", "784,30,10", "--reports-dir", "r")
    assert result.exit_code == 2 and "'--sizes': the last layer has 10 neurons but the labels have 5 classes" in result.output


def test_a_dataset_of_small_images_takes_its_input_size_too(tmp_path):
    from conftest import write_dataset

    tiny = write_dataset(tmp_path / "tiny", train_count=60, test_count=30, classes=3, side=4)
    result = invoke("gradcheck", "--impl", "numpy", "--data-dir", str(tiny))
    assert result.exit_code == 0, result.output
    assert "16-30-3" in result.output

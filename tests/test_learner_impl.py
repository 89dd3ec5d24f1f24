"""A learner's implementation named after --impl (a file, module:Class, a plugin), trained,
checked and reported beside the built-ins under its own name; its import failures and hanging
calls end in a message, not in our traceback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import impls
from compare.cli import main

TINY = ["--sizes", "784,8,10", "--train-limit", "300", "--test-limit", "200", "--epochs", "1"]


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def invoke(*args):
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_run_trains_a_learner_file_beside_numpy_and_reports_both(tmp_path, learner):
    result = invoke("run", "--impl", f"numpy,{learner}", "--reports-dir", str(tmp_path / "r"), *TINY)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "[numpy]" in out and "[my_mlp]" in out and f"({learner}:MyMLP)" in out
    assert "numpy vs my_mlp: largest parameter difference" in out and ": PASS" in out
    (results,) = (tmp_path / "r").glob("*/results.json")
    text = results.read_text()
    assert '"my_mlp"' in text and '"numpy"' in text
    assert (results.parent / "report.html").exists() and (results.parent / "curves.png").exists()
    assert "my_mlp" not in impls.REGISTRY  # the learner's record lasted the command only


def test_gradcheck_and_eval_take_a_learner_file(tmp_path, learner):
    result = invoke("gradcheck", "--impl", f"{learner}:MyMLP,numpy", "--sizes", "784,8,10")
    assert result.exit_code == 0, result.output
    assert "my_mlp~numpy" in result.output or "numpy~my_mlp" in result.output
    assert invoke("run", "--impl", "numpy", "--save", "m.npz", "--reports-dir", str(tmp_path / "r"), *TINY).exit_code == 0
    result = invoke("eval", "m.npz", "--impl", str(learner))
    assert result.exit_code == 0, result.output
    assert "evaluated by my_mlp" in result.output


def test_an_import_failure_is_the_learners_traceback_under_one_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("x = 1\nraise RuntimeError('oops in my file')\n")
    result = CliRunner().invoke(main, ["run", "--impl", f"numpy,{path}", *TINY])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("error: ") and str(path) in lines[0]
    assert "RuntimeError: oops in my file" in result.output and 'broken.py", line 2' in result.output
    assert "impls/plugins.py" not in result.output and "compare/cli" not in result.output


def test_an_unknown_spec_is_one_usage_line():
    result = invoke("run", "--impl", "numpy,no/such/file.py", *TINY)
    assert result.exit_code == 2
    assert "no/such/file.py" in result.output and "Traceback" not in result.output


def test_a_hanging_call_is_stopped_with_a_message_naming_the_method(tmp_path, learner, monkeypatch):
    monkeypatch.setattr(impls, "LEARNER_CALL_LIMIT", 1.0)
    text = learner.read_text().replace("    def train_step(self", "    def train_step(self, *a, **k):\n        while True:\n            pass\n\n    def old_train_step(self", 1)
    assert "old_train_step" in text
    learner.write_text(text)
    result = invoke("run", "--impl", str(learner), "--reports-dir", str(tmp_path / "r"), *TINY)
    assert result.exit_code != 0
    assert "MyMLP.train_step did not return within" in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("style", ["numpy", "scratch"])
def test_an_unfilled_exercise_in_a_run_is_one_line_and_the_learners_traceback(tmp_path, style):
    """`compare run --impl numpy,ex/my_mlp.py` before the TODOs are filled (the README's third
    step, taken early): the method and what it raised in one line, the traceback from the
    learner's own code only, no report folder, exit 1."""
    from compare.check.exercise import write_exercise

    path = write_exercise(tmp_path / "ex", style)
    result = invoke("run", "--impl", f"numpy,{path}", "--reports-dir", str(tmp_path / "r"), *TINY)
    assert result.exit_code == 1, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert "MyMLP.loss_and_gradients raised NotImplementedError: BP1" in line and "compare check" in line, line
    assert 'my_mlp.py", line' in result.output and "in output_error" in result.output
    assert "click" not in result.output and "compare/" not in result.output and "impls/plugins.py" not in result.output
    assert not list((tmp_path / "r").glob("*/results.json"))

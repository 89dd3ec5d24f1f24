"""`compare check` and `compare exercise` from the command line: exit codes, messages, the
skeleton's four TODOs, the solutions passing, each broken variant named, never a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from compare.check.exercise import FILE_NAME, STYLES
from compare.cli import main
from exercise_fills import VARIANTS, solution


def invoke(*args):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.parametrize("style", STYLES)
def test_exercise_then_check_reports_the_four_todos_one_line_each(tmp_path, style):
    directory = tmp_path / "new" / "ex"  # created, parents too
    result = invoke("exercise", str(directory), "--style", style)
    path = directory / FILE_NAME
    assert result.exit_code == 0 and path.exists()
    assert f"wrote {path}" in result.output
    result = invoke("check", str(path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{path}:MyMLP: diagnosed, 4 problems"
    assert [line.split(":")[0] for line in lines[1:5]] == [f"  - BP{n} not implemented" for n in (1, 2, 3, 4)]


def test_exercise_refuses_to_clobber_and_unknown_styles(tmp_path):
    path = tmp_path / FILE_NAME
    path.write_text("my work")
    result = invoke("exercise", str(tmp_path))
    assert result.exit_code == 2  # as every other output place refused; it was exit 1 and "error:"
    assert result.output.splitlines()[-1] == (f"Error: Invalid value for 'DIRECTORY': {path} already exists: nothing was "
                                              "written (move it away, or choose another directory)")
    assert path.read_text() == "my work"
    result = invoke("exercise", str(tmp_path / "x"), "--style", "torch")
    assert result.exit_code == 2 and not (tmp_path / "x").exists()


@pytest.mark.parametrize("style", STYLES)
def test_the_filled_in_solution_passes_with_exit_0(tmp_path, style):
    path = tmp_path / FILE_NAME
    path.write_text(solution(style))
    result = invoke("check", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"{path}:MyMLP: passed"


def test_a_builtin_by_name_passes():
    assert invoke("check", "numpy").exit_code == 0


@pytest.mark.parametrize("target, says", [
    ("no/such/file.py", "no/such/file.py"),
    ("no_such_module_xyz:Thing", "no_such_module_xyz"),
])
def test_what_cannot_be_loaded_exits_2_in_one_line(target, says):
    result = invoke("check", target)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[0] == f"{target}: could not load"
    assert says in result.output.splitlines()[1]


def test_the_exercise_folder_itself_points_to_its_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("exercise", "ex").exit_code == 0
    result = invoke("check", "ex")  # it said "unknown implementation 'ex'"
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[1].endswith(f"ex is not a file: name a .py file, e.g. ex/{FILE_NAME}"), \
        result.output


def test_an_import_error_shows_the_learners_traceback_framed_not_ours(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import numpy\nraise RuntimeError('oops in my file')\n")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == f"{path}: could not load"
    assert "oops in my file" in result.output
    assert "compare/check" not in result.output  # the learner's frames only


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_each_broken_variant_is_diagnosed_by_name_via_the_cli(tmp_path, variant):
    path = tmp_path / FILE_NAME
    path.write_text(variant.source())
    result = invoke("check", str(path))
    assert result.exit_code == 1, result.output
    summaries = [line[4:] for line in result.output.splitlines() if line.startswith("  - ")]
    assert any(variant.says in s and (variant.mistake is None or variant.mistake in s) for s in summaries), result.output


def test_help_warns_that_loading_runs_code():
    result = invoke("check", "--help")
    assert "runs its code" in result.output and "0 passed, 1 diagnosed" in result.output

"""The exercise: the skeleton's four TODOs, the reference solutions, and the broken variants,
each of which the check must diagnose by name (tests/exercise_fills.py holds them)."""

from __future__ import annotations

import os

import pytest

from compare.check.exercise import FILE_NAME, STYLES, ExerciseError, template, write_exercise
from compare.check.judge import check
from compare.check.verdict import DIAGNOSED, PASSED
from exercise_fills import VARIANTS, solution

BOOK = 'chapter 2, "The four fundamental equations behind backpropagation"'


@pytest.mark.parametrize("style", STYLES)
def test_the_template_cites_the_book_and_marks_each_equation(style):
    text = template(style)
    assert BOOK in " ".join(text.replace("#", " ").split())  # the book's section, across line breaks
    for equation in ("BP1", "BP2", "BP3", "BP4"):
        assert text.count(f"# TODO ({equation})") == 1
        assert text.count(f'raise NotImplementedError("{equation},') == 1
    compile(text, f"{style}.py", "exec")


@pytest.mark.parametrize("style", STYLES)
def test_the_skeleton_reports_the_four_todos_one_line_each(tmp_path, style):
    path = write_exercise(tmp_path / "ex", style=style)
    assert path == tmp_path / "ex" / FILE_NAME
    verdict = check(str(path))
    assert verdict.outcome == DIAGNOSED and verdict.exit_code == 1
    assert [(f.kind, f.summary.split(":")[0]) for f in verdict.findings] == [
        ("not implemented", f"BP{n} not implemented") for n in (1, 2, 3, 4)]
    lines = verdict.text().splitlines()
    assert lines[0] == f"{path}:MyMLP: diagnosed, 4 problems"
    assert lines[1].startswith("  - BP1 not implemented: δᴸ = ∂C/∂aᴸ ⊙ σ′(zᴸ) (the TODO at my_mlp.py:")
    assert lines[1].endswith(" in output_error)")
    assert [line.split(" (the TODO")[0] for line in lines[2:5]] == [
        "  - BP2 not implemented: δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ)",
        "  - BP3 not implemented: ∂C/∂bˡ = δˡ",
        "  - BP4 not implemented: ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ",
    ]
    assert "Traceback" not in verdict.text()


def test_the_skeleton_names_itself_as_the_learner_types_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = write_exercise("ex").read_text()
    assert "    compare check ex/my_mlp.py\n" in text and "`compare run --impl numpy,ex/my_mlp.py`" in text
    assert "{MY_MLP}" not in text


@pytest.mark.parametrize("style, mistake", [
    ("numpy", "return A_prev.T @ delta / len(delta)"),  # (inputs, outputs): transposed
    ("scratch", "return [[dj * ak for dj in delta] for ak in a_prev]"),  # rows and columns swapped
])
def test_a_weight_gradient_of_the_wrong_shape_is_named_bp4(tmp_path, style, mistake):
    """A teacher's pass: a swapped BP4 was reported as a shape only, blaming loss_and_gradients."""
    solved = solution(style)
    right = {"numpy": "return delta.T @ A_prev / len(delta)", "scratch": "return [[dj * ak for ak in a_prev] for dj in delta]"}
    path = tmp_path / "my_mlp.py"
    path.write_text(solved.replace(right[style], mistake, 1))
    verdict = check(str(path))
    assert verdict.outcome == DIAGNOSED
    assert "BP4" in verdict.text() and "∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ" in verdict.text(), verdict.text()


def test_writing_never_clobbers(tmp_path):
    path = write_exercise(tmp_path)
    path.write_text("my work")
    with pytest.raises(ExerciseError, match=f"^{path} already exists: nothing was written"):
        write_exercise(tmp_path, style="numpy")
    assert path.read_text() == "my work"
    assert os.listdir(tmp_path) == [FILE_NAME]  # no temporary file left behind


def test_writing_refuses_a_file_for_a_directory_and_an_unknown_style(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ExerciseError, match="is not a directory"):
        write_exercise(tmp_path / "taken")
    with pytest.raises(ExerciseError, match="style must be one of scratch, numpy; got 'torch'"):
        write_exercise(tmp_path / "new", style="torch")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("style", STYLES)
def test_the_filled_in_solution_passes(tmp_path, style):
    path = tmp_path / "my_mlp.py"
    path.write_text(solution(style))
    verdict = check(str(path))
    assert verdict.outcome == PASSED, verdict.text()


def test_the_variants_cover_the_mistakes_the_issue_lists():
    assert len(VARIANTS) >= 10
    broken = {(v.kind, v.says) for v in VARIANTS}
    for equation in ("BP2", "BP3", "BP4"):  # each broken at the output and at a hidden layer
        assert any(kind == equation and ("output" in says) for kind, says in broken), equation
        assert any(kind == equation and ("hidden" in says or "BP2 is wrong" == says) for kind, says in broken), equation
    mistakes = {v.mistake for v in VARIANTS}
    assert {"σ′ left out", "sign error", "sum instead of mean", "transposed weights"} <= mistakes
    assert any(v.kind == "BP1" for v in VARIANTS) and any(v.kind == "update" for v in VARIANTS)
    assert {v.style for v in VARIANTS} == set(STYLES)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_each_broken_variant_is_diagnosed_by_name(tmp_path, variant):
    path = tmp_path / "my_mlp.py"
    path.write_text(variant.source())
    verdict = check(str(path))
    assert verdict.outcome == DIAGNOSED, verdict.text()
    matching = [f for f in verdict.findings if f.kind == variant.kind and f.mistake == variant.mistake]
    assert matching, verdict.text()
    assert any(variant.says in f.summary for f in matching), verdict.text()
    # Nothing else is blamed: only the kinds the variant allows beside its own.
    assert {f.kind for f in verdict.findings} <= {variant.kind} | variant.also, verdict.text()

"""The lessons read like the math: the four equations named where they happen, and the
README's equation table quoting today's code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EQUATIONS = ("(BP1)", "(BP2)", "(BP3)", "(BP4)")


def squeeze(text: str) -> str:
    return " ".join(text.split())


def equation_table() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The four equations, five ways", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


@pytest.mark.parametrize("path", ["impls/scratch_mlp.py", "impls/numpy_mlp.py"])
def test_the_hand_written_implementations_name_the_four_equations_in_their_code(path):
    text = (ROOT / path).read_text()
    code = text.split('"""', 2)[2]  # after the module docstring, which states them
    for name in EQUATIONS:
        assert name in code, f"{path} does not mark {name} where it computes it"


def test_the_readmes_equation_table_quotes_the_code_it_names():
    header, _, *rows = equation_table()
    assert [row[0].split()[0] for row in rows] == list(EQUATIONS)
    # Each column's files: the one its header links, and the autograd column's model too.
    files = [re.findall(r"\]\((impls/[\w/]+\.py)\)", cell) for cell in header]
    models = {"impls/autograd_engine.py": "impls/autograd_mlp.py", "impls/tensor_engine.py": "impls/tensor_mlp.py"}
    files = [paths + [models[paths[0]]] if paths and paths[0] in models else paths for paths in files]
    assert sum(bool(paths) for paths in files) == 5
    quoted = 0
    for row in rows:
        assert len(row) == len(header), row
        for cell, paths in zip(row, files):
            code = squeeze(" ".join((ROOT / path).read_text() for path in paths))
            for span in re.findall(r"`([^`]+)`", cell) if paths else ():
                assert squeeze(span) in code, f"the README quotes `{span}`, which is not in {' or '.join(paths)}"
                quoted += 1
    assert quoted >= 15

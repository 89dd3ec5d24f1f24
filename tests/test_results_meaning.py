"""`compare report` reads results.json files that pass the schema but say impossible things:
each is refused with one line that says where (issue 9), instead of a traceback, "nan%", a
division by zero or minutes spent drawing a 3000-class confusion matrix."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from compare.cli import main
from compare.report.results import load_results, schema_problem

GOOD = Path(__file__).resolve().parent.parent / "docs" / "report" / "results.json"


@pytest.fixture(scope="module")
def good():
    return json.loads(GOOD.read_text())


def set_path(document, path, value):
    *parents, last = path
    for key in parents:
        document = document[key]
    document[last] = value


def big_confusion(document):
    document["config"]["sizes"][-1] = 3000
    document["visuals"]["confusion"] = [[0] * 3000 for _ in range(3000)]


CASES = {
    "speed 0": (lambda d: set_path(d, ["implementations", 0, "final", "samples_per_second"], 0), "is 0"),
    "speed Infinity": (lambda d: set_path(d, ["implementations", 0, "final", "samples_per_second"], float("inf")),
                       "samples_per_second is inf"),
    "NaN accuracy": (lambda d: set_path(d, ["implementations", 1, "final", "test_accuracy"], float("nan")),
                     "implementations/1/final/test_accuracy is nan"),
    "image shape": (lambda d: set_path(d, ["visuals", "image_shape"], [20, 20]), "does not fit the network's 784 inputs"),
    "unknown impl in gradients": (lambda d: d["gradients"]["tensors"][0]["finite_differences"].update(fortran=1e-9),
                                  "name 'fortran'"),
    "unknown pair in gradients": (lambda d: d["gradients"]["tensors"][0]["pairs"].update({"numpy~cobol": 1e-16}),
                                  "'numpy~cobol'"),
    "blas without keys": (lambda d: d["environment"]["blas"].append({}), "environment/blas/1 lacks internal_api"),
    "3000 classes": (big_confusion, "at most 256"),
    "confusion of the wrong size": (lambda d: d["visuals"]["confusion"].pop(), "is not 10x10"),
    "visuals of an impl not run": (lambda d: set_path(d, ["visuals", "impl"], "fortran"), "visuals/impl"),
    "one impl twice": (lambda d: d["implementations"].append(copy.deepcopy(d["implementations"][2])),
                       "implementations/5/name is 'numpy' again (also implementations/2)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_results_file_that_says_impossible_things_is_refused(good, tmp_path, case):
    change, words = CASES[case]
    document = copy.deepcopy(good)
    change(document)
    if case != "3000 classes":
        assert schema_problem(document) is None  # the schema alone lets it through
    path = tmp_path / "results.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(main, ["report", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: not a valid results file: "), lines
    assert words in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_the_shipped_results_are_meaningful():
    assert load_results(GOOD)["name"]

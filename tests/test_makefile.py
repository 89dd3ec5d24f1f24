"""The Makefile passes ARGS through as they are (issue 22, 2.13)."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_dry_run(target, args):
    """The commands `make TARGET ARGS=...` would run, without building the venv."""
    out = subprocess.run(["make", "-n", "-o", ".venv/.installed", target, f"ARGS={args}"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "compare" in line]


@pytest.mark.parametrize("args", ["--impl numpy", "--resume /tmp/my.npz --epochs 2", "--preset 3b1b"])
def test_make_run_leaves_the_choice_of_implementations_to_args(args):
    # `--impl all` in the Makefile made `make run ARGS="--impl numpy"` run all four, and
    # overrode the implementations a preset or a resumed checkpoint chooses.
    (line,) = make_dry_run("run", args)
    assert line.split() == [".venv/bin/compare", "run", *args.split()]


def test_make_run_alone_runs_them_all():
    (line,) = make_dry_run("run", "")
    assert line.split() == [".venv/bin/compare", "run"]  # --impl's default is all


def test_readme_save_examples_do_not_write_into_the_repository_root():
    # The save example once wrote my.npz beside README.md (issue 22, 2.13).
    import re

    readme = (ROOT / "README.md").read_text()
    paths = re.findall(r"--(?:save|resume) (\S+)", readme)
    assert paths
    for path in paths:
        assert "/" in path, f"README example writes {path} into the repository root"


def test_readme_says_how_many_implementations_make_run_trains():
    """`make run` trains every implementation (--impl all): Start here's `make run` step and the
    --impl row of the options say how many, and name each, as a newcomer reads them first."""
    import re

    from impls import NAMES

    readme = (ROOT / "README.md").read_text()
    words = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
    start_here = readme.split("## Start here", 1)[1].split("\n## ", 1)[0]
    (step,) = [item for item in re.split(r"\n(?=\d\. )", start_here) if item.startswith("1. **Run it: `make run`")]
    assert f"all {words[len(NAMES)]}" in " ".join(step.split()), step
    (row,) = [line for line in readme.splitlines() if line.startswith("| `--impl` |")]
    assert set(re.findall(r"`(\w+)`", row)) >= set(NAMES), row

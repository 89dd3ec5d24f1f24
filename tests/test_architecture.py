"""The layout's promises: the scratch loop is pure Python, imports flow
compare -> impls -> shared, compare's wings import one another only one way, and heavy
libraries load only when used."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_scratch_imports_no_numpy_or_torch():
    imports = imported_modules(ROOT / "impls" / "scratch_mlp.py")
    assert top_level(imports) <= {"__future__", "itertools", "math", "operator", "shared"}, imports
    # And from shared, only the interface helpers: the math itself stays here.
    assert {name for name in imports if name.startswith("shared")} <= {"shared.config", "shared.model", "shared.params"}


def test_autograd_is_pure_python_and_its_engine_knows_nothing_of_networks():
    engine = imported_modules(ROOT / "impls" / "autograd_engine.py")
    assert top_level(engine) <= {"__future__", "math", "operator"}, engine
    mlp = imported_modules(ROOT / "impls" / "autograd_mlp.py")
    assert top_level(mlp) <= {"__future__", "math", "operator", "impls", "shared"}, mlp
    assert {name for name in mlp if name.startswith(("shared", "impls"))} <= {
        "impls.autograd_engine", "shared.config", "shared.model", "shared.params"}


@pytest.mark.parametrize(
    "package,forbidden", [("shared", {"impls", "bench", "compare"}), ("impls", {"bench", "compare"}), ("bench", {"impls", "compare"})]
)
def test_imports_flow_one_way(package, forbidden):
    for path in (ROOT / package).rglob("*.py"):
        assert not top_level(imported_modules(path)) & forbidden, path


# compare/'s wings and the wings each may import (docs/ARCHITECTURE.md draws them). The modules at
# compare/'s top level (blocks, wording, progress) are shared by the wings and import none of them.
WINGS = {
    "cli": {"run", "check", "report", "benchmark", "sweep", "experiment"},  # the commands: each wires the wings it needs
    "run": {"check"},  # the comparison runs the gradient check first
    "benchmark": {"run"},  # the machine's facts and thread choice are the run's
    "sweep": {"run", "report"},  # many runs at once: their output places, threads, and the combined report
    "experiment": {"sweep", "report"},  # the book's experiments: run as a sweep, read and drawn as reports are
    "report": set(),  # reads results documents, nothing of the run that made them
    "check": set(),
}


def wing_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "compare" and len(parts) > 1 and parts[1] in WINGS else None


@pytest.mark.parametrize("wing", list(WINGS))
def test_compare_wings_import_only_the_wings_they_may(wing):
    for path in (ROOT / "compare" / wing).rglob("*.py"):
        used = {wing_of(name) for name in imported_modules(path)} - {None, wing}
        assert used <= WINGS[wing], f"{path.relative_to(ROOT)} imports the wing(s) {used - WINGS[wing]}"


def test_compare_top_level_modules_import_no_wing():
    for path in (ROOT / "compare").glob("*.py"):
        wings = {wing_of(name) for name in imported_modules(path)} - {None}
        assert wings <= ({"cli"} if path.name == "__main__.py" else set()), path


def test_compare_holds_only_wings_and_a_few_shared_modules():
    folders = {p.name for p in (ROOT / "compare").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(WINGS)
    assert {p.stem for p in (ROOT / "compare").glob("*.py")} == {"__init__", "__main__", "blocks", "wording", "progress"}
    for wing in WINGS:
        assert (ROOT / "compare" / wing / "__init__.py").read_text().startswith('"""'), wing


def test_no_module_shadows_a_library():
    names = {path.stem for path in ROOT.rglob("*.py") if ".venv" not in path.parts}
    assert not names & {"numpy", "torch", "click", "matplotlib", "math", "random"}


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in ('numpy', 'torch', 'matplotlib') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    return set(result.stdout.split())


def test_the_cli_loads_no_heavy_library_for_help():
    assert loaded_after("import compare.cli") == set()


def test_numpy_scratch_and_autograd_never_load_torch():
    code = (
        "from impls import build\nfrom shared.config import Config\nfrom shared.params import init_params\n"
        "c = Config(sizes=(4, 3, 2)); p = init_params(c.sizes)\nbuild('scratch', c, p); build('numpy', c, p)\n"
        "build('autograd', c, p)"
    )
    assert loaded_after(code) == {"numpy"}


def test_registry_names_every_implementation_module():
    from impls import REGISTRY

    modules = {path.stem for path in (ROOT / "impls").glob("*_mlp.py")}
    assert {impl.module.split(".")[1] for impl in REGISTRY.values()} == modules
    for name, impl in REGISTRY.items():
        if impl.uses_torch:
            pytest.importorskip("torch")
        assert impl.load().name == name


def test_every_implementation_satisfies_the_protocol():
    from impls import IMPLEMENTATIONS
    from shared.config import Config
    from shared.model import MLP
    from shared.params import init_params

    config = Config(sizes=(4, 3, 2))
    for impl in IMPLEMENTATIONS:
        if impl.uses_torch:
            pytest.importorskip("torch")
        assert isinstance(impl.build(config, init_params(config.sizes)), MLP)


def test_the_registry_is_the_one_list_of_implementations():
    """What the harness knows of an implementation is in its record: no other module of compare/
    names an implementation to decide how to treat it (the benchmark's targets, and the threads
    study's torch-on-a-busy-machine target, name the implementations they hold to a goal, which
    is what a target is)."""
    import re

    for path in (ROOT / "compare").rglob("*.py"):
        if path.relative_to(ROOT).as_posix() in ("compare/benchmark/targets.py", "compare/benchmark/threads_study.py"):
            continue
        text = path.read_text()
        assert not re.search(r"""(==|!=|\bin)\s*\(?["'](scratch|autograd|numpy|torch)["']""", text), path
        assert not re.search(r"""["'](scratch|autograd|numpy|torch)["']\s*(==|!=|in\b)(?!\s*sys\.modules)""", text), path
    from impls import IMPLEMENTATIONS

    for impl in IMPLEMENTATIONS:
        assert impl.bytes_per_parameter > 0 and impl.colour and impl.description

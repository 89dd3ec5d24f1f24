"""The layout's promises: the scratch loop is pure Python, imports flow
compare -> impls -> shared, and heavy libraries load only when used."""

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
    from impls import REGISTRY, implementation_class

    modules = {path.stem for path in (ROOT / "impls").glob("*_mlp.py")}
    assert {module.split(".")[1] for module, _, _ in REGISTRY.values()} == modules
    for name in REGISTRY:
        if name == "torch":
            pytest.importorskip("torch")
        assert implementation_class(name).name == name


def test_every_implementation_satisfies_the_protocol():
    from impls import NAMES, build
    from shared.config import Config
    from shared.model import MLP
    from shared.params import init_params

    config = Config(sizes=(4, 3, 2))
    for name in NAMES:
        if name == "torch":
            pytest.importorskip("torch")
        assert isinstance(build(name, config, init_params(config.sizes)), MLP)

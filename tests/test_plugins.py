"""Loading implementations from outside the registry (impls/plugins.py) and bounding their calls
(shared/call_limit.py)."""

from __future__ import annotations

import signal
import sys
import textwrap
import time

import numpy as np
import pytest

from impls.plugins import (ENTRY_POINT_GROUP, PluginError, PluginImportError, bounded, installed_plugins, is_plugin_spec,
                           load_implementation)
from shared.call_limit import CallTimedOut, time_limit
from shared.config import Config
from shared.model import MLP, TakesTrainingSet
from shared.params import init_params

SUBCLASS = """
from impls.numpy_mlp import NumpyMLP


class {name}(NumpyMLP):
    {doc}
"""


def write(path, text: str):
    path.write_text(textwrap.dedent(text))
    return path


def test_a_file_with_one_class_is_taken_whole_and_named_after_its_stem(tmp_path):
    # NumpyMLP is imported into the file, not defined there: only Mine counts, and its
    # inherited name "numpy" is a built-in's, so the file's stem names it.
    path = write(tmp_path / "my_mlp.py", SUBCLASS.format(name="Mine", doc='"""Mine, vectorized."""'))
    loaded = load_implementation(str(path))
    assert loaded.cls.__name__ == "Mine" and loaded.name == "my_mlp"
    assert loaded.description == "Mine, vectorized." and loaded.python_floats is True
    assert loaded.origin == f"{path}:Mine"
    config = Config(sizes=(4, 3, 2))
    assert isinstance(loaded.build(config, init_params(config.sizes)), MLP)


def test_the_class_name_attribute_and_python_floats_are_honoured(tmp_path):
    path = write(tmp_path / "fast.py", SUBCLASS.format(name="Fast", doc='name = "fastest"\n    python_floats = False'))
    loaded = load_implementation(f"{path}:Fast")
    assert loaded.name == "fastest" and loaded.python_floats is False
    assert loaded.description == f"loaded from {path}:Fast"  # the docstring is NumpyMLP's: not its own


def test_several_classes_ask_for_a_name_and_a_named_one_is_taken(tmp_path):
    path = write(tmp_path / "two.py", SUBCLASS.format(name="A", doc="pass") + SUBCLASS.format(name="B", doc="pass"))
    with pytest.raises(PluginError, match=r"several classes that offer the Protocol \(A, B\): name one, as .*two.py:A"):
        load_implementation(str(path))
    assert load_implementation(f"{path}:B").cls.__name__ == "B"
    with pytest.raises(PluginError, match=r"has no class C \(classes there that offer the Protocol: A, B\)"):
        load_implementation(f"{path}:C")


def test_an_unfinished_class_is_still_taken_so_that_the_check_can_say_what_it_lacks(tmp_path):
    path = write(tmp_path / "half.py", """
        class Half:
            def predict_proba(self, x):
                return x
    """)
    assert load_implementation(str(path)).cls.__name__ == "Half"
    empty = write(tmp_path / "empty.py", "x = 1\n")
    with pytest.raises(PluginError, match="defines no class with the Protocol's methods"):
        load_implementation(str(empty))


def test_an_import_error_shows_the_learners_traceback_under_one_line(tmp_path):
    path = write(tmp_path / "broken.py", """
        def helper():
            return undefined_name

        VALUE = helper()
    """)
    with pytest.raises(PluginImportError) as caught:
        load_implementation(str(path))
    assert str(caught.value) == f"{path} failed to import (the traceback is from your code):"
    text = caught.value.traceback
    assert text.startswith("Traceback (most recent call last):\n")
    assert f'File "{path}", line 5, in <module>' in text and "in helper" in text
    assert text.rstrip().endswith("NameError: name 'undefined_name' is not defined")
    assert "importlib" not in text and "plugins.py" not in text  # the loader's own frames are left out
    assert not any(name.startswith("mnist_plugin_broken") for name in sys.modules)


def test_a_syntax_error_points_at_the_line(tmp_path):
    path = write(tmp_path / "syntax.py", "def f(:\n    pass\n")
    with pytest.raises(PluginImportError) as caught:
        load_implementation(str(path))
    assert f'File "{path}", line 1' in caught.value.traceback and "SyntaxError" in caught.value.traceback


def test_an_import_that_hangs_is_stopped(tmp_path):
    path = write(tmp_path / "hangs.py", "while True:\n    pass\n")
    started = time.monotonic()
    with pytest.raises(PluginError, match=r"importing .*hangs.py did not finish within 0.5 s: does it train"):
        load_implementation(str(path), import_limit=0.5)
    assert time.monotonic() - started < 5


def test_an_edited_file_is_read_again(tmp_path):
    path = write(tmp_path / "edited.py", SUBCLASS.format(name="First", doc="pass"))
    assert load_implementation(str(path)).cls.__name__ == "First"
    write(path, SUBCLASS.format(name="Second", doc="pass"))
    assert load_implementation(str(path)).cls.__name__ == "Second"


def test_a_helper_beside_the_file_can_be_imported(tmp_path):
    write(tmp_path / "helper_for_mine.py", "SCALE = 2\n")
    path = write(tmp_path / "uses_helper.py", "import helper_for_mine\n" + SUBCLASS.format(name="Mine", doc="pass"))
    assert load_implementation(str(path)).cls.__name__ == "Mine"
    assert str(tmp_path) not in sys.path  # only while it is imported


@pytest.mark.parametrize("spec,message", [
    ("missing/nowhere.py", "no such file: missing/nowhere.py"),
    ("nowhere", "unknown implementation 'nowhere': not one of scratch, autograd, numpy, tensor, torch, a .py file, a module:Class"),
    ("no_such_module_here:Thing", "no module named 'no_such_module_here'"),
    ("impls.numpy_mlp:Nothing", "module impls.numpy_mlp has no class Nothing"),
])
def test_specs_that_name_nothing_get_one_line(spec, message):
    with pytest.raises(PluginError) as caught:
        load_implementation(spec)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_directory_is_not_a_file(tmp_path):
    with pytest.raises(PluginError, match="is not a file: name a .py file"):
        load_implementation(f"{tmp_path}/")


def test_module_and_class():
    loaded = load_implementation("impls.scratch_mlp:ScratchMLP")
    assert loaded.name == "scratchmlp"  # "scratch" is the built-in's
    assert loaded.origin == "impls.scratch_mlp:ScratchMLP"


def test_is_plugin_spec_tells_paths_and_modules_from_registry_names():
    assert is_plugin_spec("ex/my_mlp.py") and is_plugin_spec("my_mlp.py:MyMLP") and is_plugin_spec("pkg.mod:Cls")
    assert not is_plugin_spec("numpy") and not is_plugin_spec("all")


def test_an_installed_plugin_is_found_through_its_entry_point(tmp_path, monkeypatch):
    """A distribution on sys.path declaring the entry point, as `pip install` would leave it."""
    package = tmp_path / "learner_plugin_pkg"
    package.mkdir()
    write(package / "__init__.py", SUBCLASS.format(name="Theirs", doc='"""A plugin."""\n    name = "theirs"'))
    info = tmp_path / "learner_plugin-1.0.dist-info"
    info.mkdir()
    write(info / "METADATA", "Metadata-Version: 2.1\nName: learner-plugin\nVersion: 1.0\n")
    write(info / "entry_points.txt", f"[{ENTRY_POINT_GROUP}]\ntheirs = learner_plugin_pkg:Theirs\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "theirs" in installed_plugins()
    assert is_plugin_spec("theirs")
    loaded = load_implementation("theirs")
    assert loaded.cls.__name__ == "Theirs" and loaded.name == "theirs" and loaded.description == "A plugin."
    assert loaded.origin == "plugin theirs (from learner-plugin 1.0)"


# -- time limits -------------------------------------------------------------------------------
def test_a_time_limit_stops_a_loop_and_names_the_call():
    started = time.monotonic()
    with pytest.raises(CallTimedOut, match=r"^MyMLP.train_step did not return within 0.2 s$"):
        with time_limit(0.2, "MyMLP.train_step"):
            while True:
                pass
    assert time.monotonic() - started < 2
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_except_exception_does_not_swallow_it():
    with pytest.raises(CallTimedOut):
        with time_limit(0.2, "loop"):
            while True:
                try:
                    time.sleep(0.01)
                except Exception:  # a learner's catch-all
                    pass


def test_an_inner_limit_neither_extends_nor_cancels_an_outer_one():
    with pytest.raises(CallTimedOut, match="outer"):
        with time_limit(0.3, "outer"):
            with time_limit(5, "inner"):  # longer than the outer: the outer stays in charge
                pass
            with time_limit(0.05, "short"):
                pass
            while True:
                pass


def test_no_limit_runs_unbounded():
    with time_limit(None, "x"):
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_bounded_limits_each_method_and_keeps_what_the_class_offers():
    from impls.numpy_mlp import NumpyMLP

    class Hangs(NumpyMLP):
        def predict_proba(self, x):
            while True:
                pass

    config = Config(sizes=(4, 3, 2))
    model = bounded(Hangs, 0.2)(config, init_params(config.sizes))
    assert isinstance(model, Hangs) and isinstance(model, TakesTrainingSet) and type(model).__name__ == "Hangs"
    loss, _ = model.loss_and_gradients(np.zeros((2, 4)), np.array([0, 1]))
    assert np.isfinite(loss)
    with pytest.raises(CallTimedOut, match="^Hangs.predict_proba did not return within 0.2 s$"):
        model.predict_proba(np.zeros((2, 4)))

    class Plain:
        def __init__(self, config, params):
            pass

        def parameters(self):
            return []

    assert not hasattr(bounded(Plain, 1), "train_step_at")

"""Implementations from outside the registry: a learner's file, a module, an installed plugin.

Three ways to name one (a "spec"):

    path/to/my_mlp.py            the one class in the file that offers the Protocol's methods
    path/to/my_mlp.py:MyMLP      that class
    some.module:MyMLP            an importable module and a class in it
    NAME                         a plugin installed by a distribution that declares, in its
                                 pyproject.toml,
                                     [project.entry-points."mnist_three_ways.implementations"]
                                     NAME = "some.module:MyMLP"

The entry-point group is named after this project's distribution, mnist-three-ways (in the
normalized form entry-point groups use). load_implementation returns what the harness needs to
use the class like a built-in: the class, a name, a one-line description and whether it
computes with Python floats (float64 whatever config.dtype says; assumed unless the class
sets `python_floats = False`).

Loading a file or a module runs its code, as `python my_mlp.py` would (but not what is under
`if __name__ == "__main__":`): that is expected for a learner's own file, and why a spec is
never taken from anywhere but the person running the command. An import that fails shows
the learner's own traceback, without the loader's frames, under one line saying which file
failed; an import that does not finish within IMPORT_LIMIT seconds is stopped.
`bounded` gives a class whose every call is limited the same way (shared.call_limit says how,
and what such a limit cannot stop).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from shared.call_limit import CallTimedOut, time_limit

ENTRY_POINT_GROUP = "mnist_three_ways.implementations"
PROTOCOL_METHODS = ("loss_and_gradients", "train_step", "predict_proba", "parameters")
OPTIONAL_METHODS = ("load_training_set", "train_step_at")  # shared.model.TakesTrainingSet
IMPORT_LIMIT = 30.0  # seconds; a file that trains a network at import time gets this far


class PluginError(ValueError):
    """A spec that names nothing loadable; the message is one line."""


class PluginImportError(PluginError):
    """The learner's code raised while it was imported. str() is the one framing line;
    `traceback` is the learner's traceback, with the loader's own frames left out."""

    def __init__(self, message: str, traceback_text: str):
        super().__init__(message)
        self.traceback = traceback_text


class LearnerCallError(Exception):
    """One of the learner's methods raised while a command used it (an exercise's TODO not yet
    filled in, a bug). str() is one line naming the method and what it raised; `traceback` is
    the learner's traceback, with the loader's own frames left out."""

    def __init__(self, message: str, traceback_text: str):
        super().__init__(message)
        self.traceback = traceback_text


@dataclass(frozen=True)
class LoadedImplementation:
    """An implementation from outside the registry, ready to be built like a built-in."""

    name: str  # how reports call it: the class's `name`, else the file's stem or the plugin's name
    cls: type
    description: str  # one line: the class docstring's first line, else where it came from
    python_floats: bool  # computes in float64 whatever config.dtype says
    origin: str  # what was loaded, for messages: "ex/my_mlp.py:MyMLP", "plugin fast (from pkg 1.0)"

    def build(self, config, params, call_limit: float | None = None):
        """An instance started from `params`; with call_limit, each call bounded to that many seconds."""
        cls = bounded(self.cls, call_limit) if call_limit else self.cls
        return cls(config, params)


def offers_protocol(cls: type) -> bool:
    return all(callable(getattr(cls, method, None)) for method in PROTOCOL_METHODS)


def missing_methods(cls: type) -> list[str]:
    return [method for method in PROTOCOL_METHODS if not callable(getattr(cls, method, None))]


def is_plugin_spec(text: str) -> bool:
    """Whether `text` names a file, a module:Class or an installed plugin rather than a registry name."""
    text = text.strip()
    return text.endswith(".py") or ".py:" in text or ":" in text or "/" in text or text in installed_plugins()


def installed_plugins() -> dict[str, importlib.metadata.EntryPoint]:
    """The plugins installed in this environment, by name."""
    return {entry.name: entry for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_implementation(spec: str, import_limit: float | None = IMPORT_LIMIT) -> LoadedImplementation:
    """A file, module:Class or installed plugin -> LoadedImplementation (see the module's docstring).
    Raises PluginError (PluginImportError when the learner's code raised) with a one-line message."""
    spec = spec.strip()
    where, _, class_name = spec.rpartition(":")
    if not where or not re.fullmatch(r"[A-Za-z_]\w*", class_name):
        where, class_name = spec, ""  # no class named (a ':' in a directory name stays in the path)
    # A folder is a path too (`compare exercise ex` writes ex/my_mlp.py; `compare check ex` names the folder)
    if where.endswith(".py") or "/" in where or Path(where).is_file() or (not class_name and Path(where).is_dir()):
        return load_file(Path(where), class_name or None, import_limit)
    if class_name:
        return load_module_class(where, class_name, import_limit)
    plugins = installed_plugins()
    if spec in plugins:
        return load_entry_point(plugins[spec], import_limit)
    raise PluginError(
        f"unknown implementation {spec!r}: not one of {', '.join(built_in_names())}, a .py file, a module:Class"
        + (f", nor an installed plugin ({', '.join(sorted(plugins))})" if plugins else ", nor an installed plugin (none is)")
    )


def load_file(path: Path, class_name: str | None = None, import_limit: float | None = IMPORT_LIMIT) -> LoadedImplementation:
    """Run the file as a module of its own and take its class."""
    shown = str(path)
    if not path.exists():
        raise PluginError(f"no such file: {shown}")
    if not path.is_file():
        raise PluginError(f"{shown} is not a file: name a .py file, e.g. {shown.rstrip('/')}/my_mlp.py")
    resolved = path.resolve()
    # A module name of its own per file, so that two my_mlp.py in different folders never meet
    # in sys.modules; registered there because dataclasses and pickle look modules up by name.
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    module_name = "mnist_plugin_" + re.sub(r"\W", "_", path.stem) + f"_{digest}"
    module_spec = importlib.util.spec_from_file_location(module_name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise PluginError(f"{shown} cannot be loaded as Python source")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module  # replaced at every load: an edited file is read again
    folder = str(resolved.parent)
    sys.path.insert(0, folder)  # as `python my_mlp.py` would, so that it can import a helper beside it
    try:
        with time_limit(import_limit, f"importing {shown}"):
            module_spec.loader.exec_module(module)
    except CallTimedOut:
        del sys.modules[module_name]
        raise PluginError(
            f"importing {shown} did not finish within {import_limit:g} s: does it train or wait for input "
            f"when imported? Put that under `if __name__ == \"__main__\":`"
        ) from None
    except BaseException as error:
        del sys.modules[module_name]
        if isinstance(error, KeyboardInterrupt):
            raise
        raise PluginImportError(f"{shown} failed to import (the traceback is from your code):",
                                learner_traceback(error)) from None
    finally:
        sys.path.remove(folder)
    cls = pick_class(module, class_name, shown)
    stem = path.stem
    return describe(cls, fallback_name=stem, origin=f"{shown}:{cls.__name__}")


def load_module_class(module_name: str, class_name: str, import_limit: float | None = IMPORT_LIMIT) -> LoadedImplementation:
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", module_name):
        raise PluginError(f"{module_name!r} is neither a .py file nor a module name (module:ClassName)")
    module = import_module_framed(module_name, import_limit, f"module {module_name}")
    cls = pick_class(module, class_name, f"module {module_name}")
    return describe(cls, fallback_name=class_name.lower(), origin=f"{module_name}:{class_name}")


def load_entry_point(entry: importlib.metadata.EntryPoint, import_limit: float | None = IMPORT_LIMIT) -> LoadedImplementation:
    dist = getattr(entry, "dist", None)
    source = f" (from {dist.name} {dist.version})" if dist is not None else ""
    what = f"plugin {entry.name}{source}"
    module = import_module_framed(entry.module, import_limit, what)
    cls = pick_class(module, entry.attr or None, what)
    return describe(cls, fallback_name=entry.name, origin=what)


def import_module_framed(module_name: str, import_limit: float | None, what: str):
    try:
        with time_limit(import_limit, f"importing {what}"):
            return importlib.import_module(module_name)
    except CallTimedOut:
        raise PluginError(f"importing {what} did not finish within {import_limit:g} s") from None
    except ModuleNotFoundError as error:
        if error.name == module_name or module_name.startswith(f"{error.name}."):
            raise PluginError(f"no module named {module_name!r} (is it installed, or on PYTHONPATH?)") from None
        raise PluginImportError(f"{what} failed to import (the traceback is from its code):", learner_traceback(error)) from None
    except Exception as error:
        raise PluginImportError(f"{what} failed to import (the traceback is from its code):", learner_traceback(error)) from None


def pick_class(module, class_name: str | None, shown: str) -> type:
    """The named class, or the one class defined in the module that offers the Protocol."""
    defined = [obj for obj in vars(module).values()
               if inspect.isclass(obj) and obj.__module__ == module.__name__ and not getattr(obj, "_is_protocol", False)]
    offering = [cls for cls in defined if offers_protocol(cls)]
    if class_name is not None:
        cls = getattr(module, class_name, None)
        if not inspect.isclass(cls):
            choices = ", ".join(c.__name__ for c in offering) or "none"
            raise PluginError(f"{shown} has no class {class_name} (classes there that offer the Protocol: {choices})")
        return cls  # one that lacks methods is still taken: the check names what it lacks
    if len(offering) == 1:
        return offering[0]
    if len(offering) > 1:
        names = ", ".join(cls.__name__ for cls in offering)
        raise PluginError(f"{shown} has several classes that offer the Protocol ({names}): name one, as {shown}:{offering[0].__name__}")
    partial = [cls for cls in defined if len(missing_methods(cls)) < len(PROTOCOL_METHODS)]
    if len(partial) == 1:
        return partial[0]  # the learner's class, unfinished: the check says what it lacks
    raise PluginError(f"{shown} defines no class with the Protocol's methods ({', '.join(PROTOCOL_METHODS)})")


def describe(cls: type, fallback_name: str, origin: str) -> LoadedImplementation:
    """The class's own `name` unless it is missing or a built-in's (a subclass of NumpyMLP
    inherits "numpy"), in which case the file's stem or the plugin's name."""
    own = getattr(cls, "name", None)
    name = own.strip() if isinstance(own, str) and own.strip() and own.strip() not in built_in_names() else fallback_name
    doc = inspect.getdoc(cls)
    if doc and cls.__doc__ is None:
        doc = None  # inherited: it describes the parent, not this class
    description = doc.strip().splitlines()[0] if doc else f"loaded from {origin}"
    python_floats = getattr(cls, "python_floats", True)
    return LoadedImplementation(name=name, cls=cls, description=description,
                                python_floats=bool(python_floats), origin=origin)


def learner_traceback(error: BaseException) -> str:
    """The traceback of an error raised in the learner's code, from its first frame outside this
    loader and importlib (a SyntaxError keeps no frame: its message shows the line)."""
    report = traceback.TracebackException.from_exception(error)
    frames = list(report.stack)
    keep = 0
    while keep < len(frames) and is_loader_frame(frames[keep].filename):
        keep += 1
    report.stack = traceback.StackSummary.from_list(frames[keep:])
    return "".join(report.format())


def is_loader_frame(filename: str) -> bool:
    """This module's frames and importlib's (frozen, or its files, importlib/metadata/ too)."""
    return (filename == __file__ or filename.startswith("<frozen importlib")
            or "importlib" in Path(filename).parts[-3:-1])


def built_in_names() -> tuple[str, ...]:
    from impls import NAMES  # here, not at the top: the registry may come to import this module

    return NAMES


# -- calls bounded in time --------------------------------------------------------------
def bounded(cls: type, seconds: float, label: str | None = None) -> type:
    """A subclass of `cls` whose constructor and Protocol methods each raise
    shared.call_limit.CallTimedOut ("MyMLP.train_step did not return within 60 s") when
    one call runs longer than `seconds`, and LearnerCallError when the learner's code raises.
    The methods it lacks stay lacking, so isinstance(instance, TakesTrainingSet) answers as
    for cls."""
    label = label or cls.__name__

    def limit(method_name: str):
        original = getattr(cls, method_name)

        @functools.wraps(original)
        def limited(self, *args, **kwargs):
            try:
                with time_limit(seconds, f"{label}.{method_name}"):
                    return original(self, *args, **kwargs)
            except LearnerCallError:
                raise  # from one of its methods that this one called: named there
            except Exception as error:  # CallTimedOut, a BaseException, goes by
                said = str(error).strip()
                what = f"{type(error).__name__}: {said.splitlines()[0]}" if said else type(error).__name__
                raise LearnerCallError(f"{label}.{method_name} raised {what}", learner_traceback(error)) from error

        return limited

    names = [name for name in ("__init__", *PROTOCOL_METHODS, *OPTIONAL_METHODS) if callable(getattr(cls, name, None))]
    namespace = {name: limit(name) for name in names}
    namespace.update(__module__=cls.__module__, __qualname__=cls.__qualname__, __doc__=cls.__doc__)
    return type(cls.__name__, (cls,), namespace)

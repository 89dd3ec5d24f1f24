"""Calling a learner's code: bounded in time, and its failures turned into one-line facts.

Every call the check makes into the implementation goes through `call` (or `build`), so an
exception is never a traceback on the learner's screen but a LearnerFailed saying which
method, what it raised, and where in their file; the traceback is kept for whoever wants it
(the HTML verdict folds it away).
"""

from __future__ import annotations

import ast
import inspect
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

from shared.call_limit import CallTimedOut, time_limit

CALL_LIMIT = 10.0  # seconds per call; the check's networks are tiny, a correct call takes milliseconds
NOT_IMPLEMENTED, CRASHED, TIMED_OUT = "not implemented", "crashed", "timed out"


class LearnerFailed(Exception):
    """A call into the learner's code did not return a value."""

    def __init__(self, kind: str, method: str, message: str, location: str = "", traceback_text: str = ""):
        self.kind, self.method, self.message = kind, method, message
        self.location, self.traceback = location, traceback_text
        super().__init__(self.line())

    def line(self) -> str:
        where = f" at {self.location}" if self.location else ""
        if self.kind == TIMED_OUT:
            return f"{self.method} did not return within its limit ({self.message}): an endless loop?"
        if self.kind == NOT_IMPLEMENTED:
            return f"{self.method} is not implemented ({self.message}){where}"
        return f"{self.method} raised {self.message}{where}"


def source_file(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(cls)
    except (TypeError, OSError):
        return None


def call(owner, method: str, *args, limit: float | None = CALL_LIMIT, label: str | None = None):
    """getattr(owner, method)(*args), bounded by `limit` seconds; raises LearnerFailed."""
    cls = owner if inspect.isclass(owner) else type(owner)
    shown = f"{label or cls.__name__}.{method}" if method != "__init__" else f"{label or cls.__name__}(config, params)"
    function = cls if method == "__init__" else getattr(owner, method)
    try:
        with time_limit(limit, shown):
            return function(*args)
    except CallTimedOut as error:
        raise LearnerFailed(TIMED_OUT, shown, f"{error.seconds:g} s") from None
    except Exception as error:
        kind = NOT_IMPLEMENTED if isinstance(error, NotImplementedError) else CRASHED
        location, text = where_raised(error, source_file(cls))
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        if kind == CRASHED:
            message = f"{type(error).__name__}: {message}" if message else type(error).__name__
        raise LearnerFailed(kind, shown, message or "NotImplementedError", location, text) from None


def where_raised(error: BaseException, learner_file: str | None) -> tuple[str, str]:
    """('my_mlp.py:57 in output_error: `return [a - y ...]`', the traceback from the learner's call on)."""
    frames = traceback.extract_tb(error.__traceback__)
    frames = [frame for frame in frames if frame.filename != __file__ and not frame.filename.endswith("contextlib.py")]
    text = "".join(traceback.format_list(frames)) + "".join(traceback.format_exception_only(type(error), error))
    theirs = [frame for frame in frames if learner_file and frame.filename == learner_file] or frames
    if not theirs:
        return "", text
    frame = theirs[-1]
    line = f" `{frame.line.strip()}`" if frame.line else ""
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}:{line}", text


@dataclass(frozen=True)
class Stub:
    """A `raise NotImplementedError("...")` left in the learner's class: a TODO not yet done."""

    equation: str | None  # "BP1".."BP4" when the message names one
    message: str
    location: str  # "my_mlp.py:57 in output_error"
    line: int


def unfinished_stubs(cls: type) -> list[Stub]:
    """Every `raise NotImplementedError(...)` in the class's methods, in the order of its source.
    A call stops at the first one it meets; the source shows them all, so that a skeleton's four
    TODOs are reported as four lines."""
    path = source_file(cls)
    if path is None:
        return []
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return []
    stubs = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ClassDef) and node.name == cls.__name__):
            continue
        for function in node.body:
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for statement in ast.walk(function):
                if isinstance(statement, ast.Raise) and raises_not_implemented(statement):
                    message = raised_message(statement)
                    found = re.search(r"\bBP([1-4])\b", message)
                    stubs.append(Stub(equation=f"BP{found.group(1)}" if found else None, message=message,
                                      location=f"{Path(path).name}:{statement.lineno} in {function.name}",
                                      line=statement.lineno))
    return sorted(stubs, key=lambda stub: stub.line)


def raises_not_implemented(statement: ast.Raise) -> bool:
    exc = statement.exc
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def raised_message(statement: ast.Raise) -> str:
    exc = statement.exc
    if isinstance(exc, ast.Call) and exc.args and isinstance(exc.args[0], ast.Constant) and isinstance(exc.args[0].value, str):
        return exc.args[0].value.strip()
    return ""

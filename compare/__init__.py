"""The compare harness: orchestrates the implementations and reports; holds no math."""

import sys
import types
from importlib import import_module


class _Check:
    """check(target) judges an implementation of the Protocol against the numpy one and
    returns a Verdict (compare.check.judge.check says more). Loaded when first called, so
    that `import compare` stays free of NumPy.

    `compare.check` is also the subpackage compare/check/: its modules stay reachable as
    attributes of this function (compare.check.judge, ...) and by import as usual."""

    def __call__(self, target, **options):
        return import_module("compare.check.judge").check(target, **options)

    def __getattr__(self, name):
        return getattr(import_module("compare.check"), name)

    def __repr__(self) -> str:
        return "<function compare.check(target, *, seed=0, call_limit=10.0)>"


check = _Check()


class _Harness(types.ModuleType):
    # Python binds a subpackage onto its parent as it loads it, which would make
    # `from compare import check` the package compare/check/ once anything imported it.
    # The property keeps the name on the function; the package lives on in sys.modules.
    check = property(lambda self: check, lambda self, package: None)


sys.modules[__name__].__class__ = _Harness

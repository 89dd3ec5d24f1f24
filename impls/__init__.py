"""The registry of implementations: one record per implementation, everything the harness
needs to know of it.

Adding an implementation is one module in this folder (a class behind shared.model.MLP)
and one Implementation record below. Modules are imported only when asked for, so using
`scratch`, `autograd` or `numpy` never loads torch, and `compare --help` loads neither.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the registry itself loads nothing heavy: the command line reads it before NumPy
    from shared.config import Config
    from shared.model import MLP
    from shared.params import Params


@dataclass(frozen=True)
class Implementation:
    """What the harness knows of one implementation. The defaults suit a learner's class
    loaded from a file: NumPy-like floats, a generous memory estimate, no torch, a colour
    picked for it in the figures."""

    name: str  # as typed after --impl, and the class's `name`
    module: str  # where the class lives, imported only when it is used
    cls: str
    description: str  # one line, printed before its training and kept in the report
    # Computes with Python floats (float64) whatever the config's dtype says.
    python_floats: bool = False
    # Bytes of memory per network parameter while it trains (the memory check before a run):
    # its own copy, gradients and momentum, plus the float64 copies the loop makes (the
    # initial parameters, the gradient check, the per-epoch checks and checkpoints).
    # A float32 run of one that does not compute with Python floats needs a quarter less.
    bytes_per_parameter: int = 4 * 32
    # Computes with torch: its threads are torch's as well as BLAS's, and --device applies.
    uses_torch: bool = False
    # Its look in every figure; None: the next colour of the palette no implementation holds.
    colour: str | None = None
    linestyle: str = "-"

    def load(self) -> type:
        return getattr(import_module(self.module), self.cls)

    def build(self, config: Config, params: Params) -> MLP:
        return self.load()(config, params)


IMPLEMENTATIONS = (
    # Lists of Python floats: 32 bytes a number (the float and its pointer), for W, its
    # velocity and the step's sums, and the loop's 4 float64 copies.
    Implementation("scratch", "impls.scratch_mlp", "ScratchMLP", "pure Python: lists, loops and the math module",
                   python_floats=True, bytes_per_parameter=3 * 32 + 4 * 8, colour="#E69F00", linestyle="-"),
    # A Value object per parameter (about 64 bytes) with its data and grad floats (24 each),
    # the velocity, the lists that hold them: measured 210 bytes on 784-500-10 with momentum.
    Implementation("autograd", "impls.autograd_mlp", "AutogradMLP",
                   "pure Python: a scalar autograd engine, loss.backward()",
                   python_floats=True, bytes_per_parameter=7 * 32, colour="#CC79A7", linestyle="-."),
    Implementation("numpy", "impls.numpy_mlp", "NumpyMLP", "NumPy, vectorized over the batch",
                   bytes_per_parameter=3 * 8 + 4 * 8, colour="#0072B2", linestyle="--"),  # measured ~45 B
    # Like numpy: its own W, gradient and velocity, plus the batch graph's arrays.
    Implementation("tensor", "impls.tensor_mlp", "TensorMLP", "NumPy: our own tensor autograd engine, loss.backward()",
                   bytes_per_parameter=4 * 8 + 4 * 8, colour="#D55E00", linestyle="-"),
    Implementation("torch", "impls.torch_mlp", "TorchMLP", "PyTorch: torch.nn layers, gradients by autograd",
                   bytes_per_parameter=4 * 8 + 4 * 8, uses_torch=True, colour="#009E73", linestyle=":"),  # ~55 B
)
REGISTRY = {impl.name: impl for impl in IMPLEMENTATIONS}
NAMES = tuple(REGISTRY)


# A learner's call that hangs (an endless loop in train_step) is stopped after this long, with a
# message naming the method; a correct call on MNIST takes well under a second.
LEARNER_CALL_LIMIT = 120.0


@dataclass(frozen=True)
class LearnerImplementation(Implementation):
    """A class loaded from a spec (a file, module:Class, a plugin) for one command: used under
    its own name like a built-in, each of its calls bounded by LEARNER_CALL_LIMIT."""

    loaded: type | None = None

    def load(self) -> type:
        from impls.plugins import bounded

        return bounded(self.loaded, LEARNER_CALL_LIMIT)


@contextmanager
def learners_scope():
    """The learners' records that parse_impl_names adds to REGISTRY last as long as this block
    (one command), so that no command sees another's."""
    before = dict(REGISTRY)
    try:
        yield
    finally:
        REGISTRY.clear()
        REGISTRY.update(before)


def add_learner(spec: str) -> str:
    """Load a spec and give it a registry record for the current command; returns its name.
    Raises impls.plugins.PluginError (one line; PluginImportError carries the traceback)."""
    from impls.plugins import PluginError, load_implementation

    loaded = load_implementation(spec)
    record = REGISTRY.get(loaded.name)
    if record is not None and not (isinstance(record, LearnerImplementation) and record.loaded is loaded.cls):
        raise PluginError(f"{spec} is called {loaded.name!r}, a name already taken: set another `name` on its class")
    REGISTRY[loaded.name] = LearnerImplementation(
        loaded.name, loaded.cls.__module__, loaded.cls.__name__, f"{loaded.description} ({loaded.origin})",
        python_floats=loaded.python_floats, loaded=loaded.cls)
    return loaded.name


def parse_impl_names(text: str) -> list[str]:
    """'all', one name, a spec (path/to/file.py[:Class], module:Class, a plugin's name), or a
    comma list of them -> registry names, in the order given; specs are loaded (their code runs)
    and registered for the current command (see learners_scope)."""
    from impls.plugins import is_plugin_spec

    if text.strip() == "all":
        return list(NAMES)
    names = [part.strip() for part in text.split(",") if part.strip()]
    names = [add_learner(name) if name not in REGISTRY and is_plugin_spec(name) else name for name in names]
    unknown = [name for name in names if name not in REGISTRY]
    if unknown or not names:
        raise ValueError(
            f"unknown implementation {', '.join(unknown) or repr(text)}: "
            f"choose from {', '.join(NAMES)}, a file.py[:Class], a module:Class, a comma list, or all"
        )
    return list(dict.fromkeys(names))


def implementation(name: str) -> Implementation:
    if name not in REGISTRY:
        raise ValueError(f"unknown implementation {name!r}: choose from {', '.join(NAMES)}")
    return REGISTRY[name]


def build(name: str, config: Config, params: Params) -> MLP:
    """An implementation by registry name, started from the given parameters."""
    return implementation(name).build(config, params)

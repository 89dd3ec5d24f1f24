"""The registry of implementations: name -> where its class lives.

Modules are imported only when asked for, so using `scratch`, `autograd` or `numpy`
never loads torch, and `compare --help` loads neither.
"""

from __future__ import annotations

from importlib import import_module

from shared.config import Config
from shared.model import MLP
from shared.params import Params

REGISTRY = {
    "scratch": ("impls.scratch_mlp", "ScratchMLP", "pure Python: lists, loops and the math module"),
    "autograd": ("impls.autograd_mlp", "AutogradMLP", "pure Python: a scalar autograd engine, loss.backward()"),
    "numpy": ("impls.numpy_mlp", "NumpyMLP", "NumPy, vectorized over the batch"),
    "torch": ("impls.torch_mlp", "TorchMLP", "PyTorch: torch.nn layers, gradients by autograd"),
}
NAMES = tuple(REGISTRY)
# Implementations that compute with Python floats (float64) whatever the config's dtype says.
PYTHON_FLOATS = ("scratch", "autograd")


def parse_impl_names(text: str) -> list[str]:
    """'all', one name, or a comma list -> registry names, in the order given."""
    if text.strip() == "all":
        return list(NAMES)
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in REGISTRY]
    if unknown or not names:
        raise ValueError(
            f"unknown implementation {', '.join(unknown) or repr(text)}: "
            f"choose from {', '.join(NAMES)}, a comma list, or all"
        )
    return list(dict.fromkeys(names))


def implementation_class(name: str) -> type:
    if name not in REGISTRY:
        raise ValueError(f"unknown implementation {name!r}: choose from {', '.join(NAMES)}")
    module, cls, _ = REGISTRY[name]
    return getattr(import_module(module), cls)


def build(name: str, config: Config, params: Params) -> MLP:
    """An implementation by registry name, started from the given parameters."""
    return implementation_class(name)(config, params)

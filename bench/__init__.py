"""Baselines that `compare bench` measures the implementations against.

Each is written the way people commonly write it, from the same equations, and offers
the same interface as the implementations (so the tests can check that it computes
the right gradients, and a speed ratio to it means something):

- textbook: pure Python, a nested index loop per neuron, as a beginner following
  3Blue1Brown writes it;
- per_sample_numpy: NumPy, one sample at a time inside each mini-batch, column vectors,
  written the way Nielsen's network.py writes it (and measured at least as fast as it);
- idiomatic_torch: the usual PyTorch loop (nn.Sequential, optimizer, zero_grad,
  backward, step) over tensors prepared up front;
- micrograd_style: a scalar autograd engine in micrograd's design (an object and a
  closure per operation, a recursive sort on every backward call), the baseline for the
  autograd implementation;
- jax_step: the same network in JAX, the peer an engineer would pick: jax.jit of one
  training step (jax-jit), and a whole epoch as one compiled lax.scan (jax-scan); measured
  only where jax is installed (the optional extra `jax`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class Baseline:
    """What the benchmark knows of a baseline (as impls.Implementation is for an implementation)."""

    module: str
    cls: str
    description: str
    label: str  # its column in the benchmark's tables
    python_floats: bool = False  # pure Python: measured in float64 only
    uses_torch: bool = False  # needs torch installed
    needs: str | None = None  # a package it needs beyond the project's own (an optional extra)


BASELINES = {
    "textbook": Baseline("bench.textbook", "TextbookMLP",
                         "pure Python, nested index loops per neuron (the textbook way)", "textbook",
                         python_floats=True),
    "per-sample-numpy": Baseline("bench.per_sample_numpy", "PerSampleNumpyMLP",
                                 "NumPy, one sample at a time (Nielsen's network.py)", "per-sample NumPy"),
    "idiomatic-torch": Baseline("bench.idiomatic_torch", "IdiomaticTorchMLP", "a plain PyTorch training loop",
                                "idiomatic torch", uses_torch=True),
    "micrograd-style": Baseline("bench.micrograd_style", "MicrogradStyleMLP", "scalar autograd in micrograd's design",
                                "micrograd-style", python_floats=True),
    "jax-jit": Baseline("bench.jax_step", "JaxJitMLP", "JAX: jax.jit of one training step, called per mini-batch",
                        "JAX jit per step", needs="jax"),
    "jax-scan": Baseline("bench.jax_step", "JaxScanMLP", "JAX: an epoch of training steps as one compiled lax.scan",
                         "JAX lax.scan per epoch", needs="jax"),
}


def installed(baseline: Baseline) -> bool:
    """Whether what the baseline needs beyond the project's own packages is installed."""
    from importlib.util import find_spec

    return all(find_spec(package) is not None
               for package in (baseline.needs, "torch" if baseline.uses_torch else None) if package)


def baseline_class(name: str) -> type:
    baseline = BASELINES[name]
    return getattr(import_module(baseline.module), baseline.cls)

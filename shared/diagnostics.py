"""Diagnostics of a trained network, computed from the neutral parameters alone, so they
mean the same whichever implementation trained it."""

from __future__ import annotations

import numpy as np

from shared.config import Config
from shared.params import Params

SATURATED = 0.99  # a sigmoid output above 0.99 or below 0.01 (|tanh| above 0.99) is on a flat end
WARN_ABOVE = 0.9  # warn when more than this share of hidden outputs is saturated
DEAD_ABOVE = 0.5  # warn when more than this share of ReLU units gives 0 for every probe image
FLAT_ENDS = {"sigmoid": "near 0 or 1", "tanh": "near -1 or 1"}
SMALL_INITS = ("nielsen", "xavier")  # initial weights scaled by 1/sqrt(n_in): the cure for saturation


def hidden_outputs(params: Params, x: np.ndarray, activation: str) -> list[np.ndarray]:
    """Each hidden layer's outputs on x. (A small forward pass of its own: the
    implementations expose only their outputs, and this must not depend on which one.)"""
    a, layers = x, []
    for W, b in params[:-1]:
        z = a @ W.T + b
        if activation == "sigmoid":
            a = 0.5 + 0.5 * np.tanh(0.5 * z)
        elif activation == "tanh":
            a = np.tanh(z)
        else:
            a = np.maximum(z, 0.0)
        layers.append(a)
    return layers


def saturation(params: Params, x: np.ndarray, activation: str) -> float | None:
    """The share of hidden-unit outputs on x that sit on a flat end of their activation,
    where its derivative, and so every gradient through the unit, nearly vanishes.

    None for ReLU, which has no such ends (see dead_units).
    """
    if activation not in FLAT_ENDS or len(params) < 2:
        return None
    saturated, total = 0, 0
    for a in hidden_outputs(params, x, activation):
        flat = (a > SATURATED) | (a < 1 - SATURATED) if activation == "sigmoid" else np.abs(a) > SATURATED
        saturated += int(flat.sum())
        total += flat.size
    return saturated / total


def dead_units(params: Params, x: np.ndarray) -> float | None:
    """The share of ReLU hidden units whose output is 0 for every image of x: their
    gradient is 0 too, so they never learn again. None for a network without hidden layers."""
    if len(params) < 2:
        return None
    layers = hidden_outputs(params, x, "relu")
    dead = sum(int((a <= 0).all(axis=0).sum()) for a in layers)
    return dead / sum(a.shape[1] for a in layers)


def saturation_warning(share: float | None, epoch: int, impl: str, config: Config) -> str | None:
    """The warning for saturated sigmoid/tanh units, with advice that fits the run's config."""
    if share is None or share <= WARN_ABOVE:
        return None
    advice = [f"a lower learning rate than {config.lr:g}"]
    if config.init not in SMALL_INITS:
        advice.append(f"--init nielsen or xavier (smaller initial weights than {config.init}'s)")
    advice.append("--activation relu")
    return (f"warning: after epoch {epoch}, {share:.0%} of {impl}'s hidden units are saturated (output "
            f"{FLAT_ENDS[config.activation]}), so their gradients vanish and learning stalls; try "
            + ", ".join(advice[:-1]) + f" or {advice[-1]}")


def dead_unit_warning(share: float | None, epoch: int, impl: str, config: Config) -> str | None:
    """The warning for ReLU units that output 0 for every image, with advice that fits the config."""
    if share is None or share <= DEAD_ABOVE:
        return None
    advice = [f"a lower learning rate than {config.lr:g}"]
    if config.init != "he":
        advice.append("--init he")
    return (f"warning: after epoch {epoch}, {share:.0%} of {impl}'s hidden ReLU units are dead (output 0 for "
            f"every probe image), so they no longer learn; try " + " or ".join(advice))


def health_warnings(params: Params, x: np.ndarray, config: Config, epoch: int, impl: str) -> list[str]:
    """Every warning about the hidden units after an epoch: saturated or dead."""
    if config.activation == "relu":
        found = dead_unit_warning(dead_units(params, x), epoch, impl, config)
    else:
        found = saturation_warning(saturation(params, x, config.activation), epoch, impl, config)
    return [found] if found else []

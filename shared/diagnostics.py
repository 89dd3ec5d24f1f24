"""Diagnostics of a trained network, computed from the neutral parameters alone, so they
mean the same whichever implementation trained it."""

from __future__ import annotations

import numpy as np

from shared.params import Params

SATURATED = 0.99  # a sigmoid output above 0.99 or below 0.01 (|tanh| above 0.99) is on a flat end
WARN_ABOVE = 0.9  # warn when more than this share of hidden outputs is saturated


def saturation(params: Params, x: np.ndarray, activation: str) -> float | None:
    """The share of hidden-unit outputs on x that sit on a flat end of their activation,
    where its derivative, and so every gradient through the unit, nearly vanishes.

    None for ReLU, which has no such ends. (A small forward pass of its own: the
    implementations expose only their outputs, and this must not depend on which one.)
    """
    if activation not in ("sigmoid", "tanh") or len(params) < 2:
        return None
    a, saturated, total = x, 0, 0
    for W, b in params[:-1]:
        z = a @ W.T + b
        if activation == "sigmoid":
            a = 0.5 + 0.5 * np.tanh(0.5 * z)
            flat = (a > SATURATED) | (a < 1 - SATURATED)
        else:
            a = np.tanh(z)
            flat = np.abs(a) > SATURATED
        saturated += int(flat.sum())
        total += flat.size
    return saturated / total


def saturation_warning(share: float | None, epoch: int, impl: str) -> str | None:
    if share is None or share <= WARN_ABOVE:
        return None
    return (f"warning: after epoch {epoch}, {share:.0%} of {impl}'s hidden units are saturated (output near 0 "
            f"or 1), so their gradients vanish and learning stalls; try a lower learning rate, --init nielsen "
            f"or xavier (smaller initial weights), or --activation relu")

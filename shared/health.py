"""The health of a network's hidden units, from one forward pass on the probe images.

After every epoch the shared loop runs the network once more, from the neutral parameters
and in float64, so that what it finds means the same whichever implementation trained:
how many sigmoid or tanh outputs sit on a flat end (where the derivative, and every
gradient through the unit, nearly vanishes), how many ReLU units are dead (0 for every
probe image), whether a whole layer has stopped depending on the input, and whether the
outputs still do. shared.divergence stops a run on the last two; the warnings below
speak of the first two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.config import Config
from shared.params import Params

FLAT_END = 0.99  # a sigmoid above 0.99 or below 0.01, a tanh beyond +-0.99, is on a flat end
CONSTANT_OUTPUT = 1e-9  # outputs that vary by less than this across the probe ignore the input
SATURATED_ABOVE = 0.9  # warn when more than this share of hidden outputs is on a flat end
DEAD_ABOVE = 0.5  # warn when more than this share of ReLU units gives 0 for every probe image
FLAT_ENDS = {"sigmoid": "near 0 or 1", "tanh": "near -1 or 1"}
SMALL_INITS = ("nielsen", "xavier")  # initial weights scaled by 1/sqrt(n_in): the cure for saturation


@dataclass(frozen=True)
class Health:
    """What one probe found."""

    activation: str
    images: int  # probe images
    saturated: float | None  # share of hidden outputs on a flat end; None for ReLU or no hidden layer
    dead: float | None  # share of ReLU hidden units at 0 for every image; None otherwise
    stuck_layer: int | None  # the first hidden layer (1-based) whose units are all dead or stuck on a flat end
    outputs_finite: bool
    outputs_constant: bool  # the same outputs for every probe image
    # Whether "the same answer for every image" can mean anything: two different probe images at
    # least, and more than one class (one class has only one answer, and one image only one output).
    varied: bool = True

    def problem(self) -> str | None:
        """How the network stopped depending on its input, or None: every image then gets
        the same answer (what shared.divergence calls diverged)."""
        if not self.varied:
            return None if self.outputs_finite else "the outputs are NaN or infinite"
        if self.stuck_layer is not None:
            how = ("is dead (ReLU output 0 for all" if self.activation == "relu"
                   else f"is stuck on a flat end of its {self.activation} for all")
            paren = ")" if self.activation == "relu" else ""
            return (f"every unit of hidden layer {self.stuck_layer} {how} {self.images:,} probe images{paren}, "
                    f"so every image gets the same answer")
        if not self.outputs_finite:
            return "the outputs are NaN or infinite"
        if self.outputs_constant:
            return f"the outputs are the same for all {self.images:,} probe images: the network ignores its input"
        return None


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "sigmoid":
        return 0.5 + 0.5 * np.tanh(0.5 * z)  # never overflows
    if activation == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0.0)


def on_flat_end(a: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """(near the top end, near the bottom end) of a sigmoid or tanh, entry by entry."""
    return a > FLAT_END, a < (1 - FLAT_END if activation == "sigmoid" else -FLAT_END)


def probe(params: Params, x: np.ndarray, activation: str, loss: str) -> Health:
    """One forward pass of the network `params` on the images x, and what it says."""
    a = np.asarray(x, dtype=np.float64)
    flat, total, dead, units, stuck = 0, 0, 0, 0, None
    with np.errstate(all="ignore"):  # a blown-up network is what this is here to find
        for index, (W, b) in enumerate(params[:-1], start=1):
            a = activate(a @ W.T + b, activation)
            if activation == "relu":
                silent = (a <= 0).all(axis=0)  # units at 0 for every image
                dead, units = dead + int(silent.sum()), units + a.shape[1]
                layer_stuck = not np.any(a > 0)
            else:
                high, low = on_flat_end(a, activation)
                flat, total = flat + int((high | low).sum()), total + a.size
                layer_stuck = bool(np.all(high.all(axis=0) | low.all(axis=0)))
            if layer_stuck and stuck is None:
                stuck = index
        W, b = params[-1]
        z = a @ W.T + b
        if loss == "cross-entropy":
            z = z - z.max(axis=1, keepdims=True)
            out = np.exp(z)
            out /= out.sum(axis=1, keepdims=True)
        else:
            out = activate(z, "sigmoid")
    finite = bool(np.all(np.isfinite(out)))
    hidden = len(params) > 1
    return Health(
        activation=activation,
        images=len(x),
        saturated=flat / total if hidden and activation in FLAT_ENDS else None,
        dead=dead / units if hidden and activation == "relu" else None,
        stuck_layer=stuck,
        outputs_finite=finite,
        outputs_constant=finite and float(np.max(out.max(axis=0) - out.min(axis=0))) < CONSTANT_OUTPUT,
        varied=len(x) > 1 and bool(np.any(np.asarray(x) != np.asarray(x)[:1])) and out.shape[1] > 1,
    )


def saturation_warning(share: float | None, epoch: int, impl: str, config: Config) -> str | None:
    """The warning for saturated sigmoid/tanh units, with advice that fits the run's config."""
    if share is None or share <= SATURATED_ABOVE:
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


def health_warnings(health: Health, config: Config, epoch: int, impl: str) -> list[str]:
    """Every warning about the hidden units after an epoch: saturated or dead."""
    found = (dead_unit_warning(health.dead, epoch, impl, config) if config.activation == "relu"
             else saturation_warning(health.saturated, epoch, impl, config))
    return [found] if found else []

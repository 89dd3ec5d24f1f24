"""Gradient agreement: the implementations against each other and against finite differences.

Always in float64: float32 rounding (about 1e-7) would drown the 1e-10 agreement this
checks. From identical parameters and the same batch, every pair of implementations
must agree to PAIR_TOLERANCE, and each must agree with central finite differences of
its own loss to FD_TOLERANCE, per weight matrix and per bias vector.

With an L2 penalty (weight decay, or the book's lambda as weight decay lambda / n) the cost is
C = C0 + (weight_decay / 2) sum w^2, and the implementations add its part of the gradient in
their SGD step, not in loss_and_gradients. So the gradient checked is then the one each
implementation's own step takes, (theta - theta after one step) / lr, against the other
implementations' and against finite differences of its C0 plus the penalty: a step that
decays by anything but weight_decay * w fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Callable

import numpy as np

from compare.blocks import Table, to_text
from impls import build
from shared.config import Config
from shared.params import Params, copy_params, relative_error

PAIR_TOLERANCE = 1e-10
FD_TOLERANCE = 1e-6
FD_STEP = 1e-5  # the usual step: truncation error ~h^2, rounding ~1e-16/h, both ~1e-10
STEP_LR = 1.0  # the step the regularized gradient is read from: (theta - theta') / lr loses ~1e-16 / |g|


@dataclass
class TensorAgreement:
    """One weight matrix or bias vector."""

    name: str  # "W1", "b1", ... numbered from the first layer of weights
    shape: tuple[int, ...]
    pairs: dict[str, float] = field(default_factory=dict)  # "scratch~numpy" -> relative error
    finite_differences: dict[str, float] = field(default_factory=dict)  # "numpy" -> relative error
    coordinates: int = 0  # entries checked by finite differences, per implementation
    kinks_skipped: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "pairs": self.pairs,
            "finite_differences": self.finite_differences,
            "coordinates": self.coordinates,
            "kinks_skipped": self.kinks_skipped,
        }


@dataclass
class GradientAgreement:
    config: Config
    impls: list[str]
    batch_size: int
    losses: dict[str, float]
    tensors: list[TensorAgreement]

    @property
    def worst_pair(self) -> float:
        return max((e for t in self.tensors for e in t.pairs.values()), default=0.0)

    @property
    def worst_finite_difference(self) -> float:
        return max((e for t in self.tensors for e in t.finite_differences.values()), default=0.0)

    @property
    def passed(self) -> bool:
        return self.worst_pair <= PAIR_TOLERANCE and self.worst_finite_difference <= FD_TOLERANCE

    def to_dict(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "impls": self.impls,
            "batch_size": self.batch_size,
            "relative_error": "max|a - b| / max(max|a|, max|b|, 1e-12) per parameter (each W and b)",
            "tolerances": {"pairs": PAIR_TOLERANCE, "finite_differences": FD_TOLERANCE},
            "fd_step": FD_STEP,
            "losses": self.losses,
            "tensors": [t.to_dict() for t in self.tensors],
            "worst_pair": self.worst_pair if len(self.impls) > 1 else None,  # no pairs: no number
            "worst_finite_difference": self.worst_finite_difference,
            "passed": self.passed,
        }


def tensor_names(params: Params) -> list[tuple[int, int, str]]:
    """(layer, 0 for W or 1 for b, name) for every tensor, W1 being the first layer's weights."""
    return [(l, i, f"{'Wb'[i]}{l + 1}") for l in range(len(params)) for i in (0, 1)]


def pick_coordinates(gradient: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Flat indices to check: the largest gradients (where a wrong formula shows most)
    and as many chosen at random."""
    flat = np.abs(gradient).ravel()
    if flat.size <= count:
        return np.arange(flat.size)
    largest = np.argsort(flat)[::-1][: count // 2]
    rest = np.setdiff1d(np.arange(flat.size), largest)
    return np.concatenate([largest, rng.choice(rest, count - len(largest), replace=False)])


def losses_around(loss_at, params: Params, layer: int, which: int, index: int, step: float) -> tuple[float, float]:
    """C(theta + h) and C(theta - h), moving one entry of one tensor by h."""
    tensor = params[layer][which].reshape(-1)  # a view: writes go into params
    original = tensor[index]
    tensor[index] = original + step
    plus = loss_at(params)
    tensor[index] = original - step
    minus = loss_at(params)
    tensor[index] = original
    return plus, minus


def crosses_kink(loss_at, params, where, base, plus, minus, scale) -> bool:
    """Whether a ReLU kink lies within the step, where the loss is not differentiable
    and a central difference is wrong by design (such entries are left out, and counted).

    The second difference C(+h) - 2C + C(-h) of a smooth loss shrinks as h^2, so
    halving h divides it by 4; a kink in between makes it shrink only as h.
    """
    half_plus, half_minus = losses_around(loss_at, params, *where, FD_STEP / 2)
    second = plus - 2 * base + minus
    half_second = half_plus - 2 * base + half_minus
    return abs(second - 4 * half_second) > FD_STEP * FD_TOLERANCE * scale


def penalty(params: Params, weight_decay: float) -> float:
    """(weight_decay / 2) sum w^2 over the weights, not the biases."""
    return 0.5 * weight_decay * sum(float(np.vdot(W, W)) for W, _ in params) if weight_decay else 0.0


def loss_and_step_gradients(name: str, config: Config, params: Params, x, y) -> tuple[float, Params]:
    """The regularized cost C0 + penalty, and its gradient as the implementation's own first SGD step
    takes it (a first step: momentum has no velocity yet, so the step is lr times the gradient)."""
    model = build(name, config, params)
    loss = model.train_step(x, y, STEP_LR)
    after = model.parameters()
    gradients = [((W - W2) / STEP_LR, (b - b2) / STEP_LR) for (W, b), (W2, b2) in zip(params, after)]
    return loss + penalty(params, config.weight_decay), gradients


def check_gradients(
    config: Config,
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    impls: list[str],
    coordinates: int = 10,
    seed: int = 0,
    on_step: Callable[[str], None] | None = None,
) -> GradientAgreement:
    """Compare the gradients of `impls` on one batch, all started from `params`.
    on_step is called after each of step_count(params, impls) steps, with what was done."""
    config = config.with_changes(dtype="float64")
    step = on_step or (lambda note: None)
    results = {}
    for name in impls:
        if config.weight_decay:
            results[name] = loss_and_step_gradients(name, config, params, x, y)
        else:
            results[name] = build(name, config, params).loss_and_gradients(x, y)
        step(f"{name} gradients")
    tensors = [
        TensorAgreement(name=name, shape=params[l][i].shape) for l, i, name in tensor_names(params)
    ]

    for a, b in combinations(impls, 2):
        for tensor, (l, i, _) in zip(tensors, tensor_names(params)):
            tensor.pairs[f"{a}~{b}"] = relative_error(results[a][1][l][i], results[b][1][l][i])

    for name in impls:
        rng = np.random.default_rng(seed)
        work = copy_params(params)

        def loss_at(p: Params, name=name) -> float:
            return build(name, config, p).loss_and_gradients(x, y)[0] + penalty(p, config.weight_decay)

        for tensor, (l, i, _) in zip(tensors, tensor_names(params)):
            gradient = results[name][1][l][i].ravel()
            picked = pick_coordinates(gradient, coordinates, rng)
            numeric, analytic, kinks = [], [], 0
            scale = max(float(np.max(np.abs(gradient))), 1e-12)
            for index in picked:
                plus, minus = losses_around(loss_at, work, l, i, index, FD_STEP)
                if config.activation == "relu" and crosses_kink(
                    loss_at, work, (l, i, index), base=results[name][0], plus=plus, minus=minus, scale=scale
                ):
                    kinks += 1
                    continue
                estimate = (plus - minus) / (2 * FD_STEP)
                numeric.append(estimate)
                analytic.append(gradient[index])
            tensor.coordinates = len(picked)
            tensor.kinks_skipped[name] = kinks
            # Scaled by the whole analytic tensor, as relative_error is for pairs.
            scale = max(float(np.max(np.abs(gradient), initial=0.0)), float(np.max(np.abs(numeric), initial=0.0)), 1e-12)
            difference = float(np.max(np.abs(np.subtract(numeric, analytic)), initial=0.0))
            tensor.finite_differences[name] = difference / scale
            step(f"{name} {tensor.name} finite differences")

    return GradientAgreement(
        config=config,
        impls=list(impls),
        batch_size=len(x),
        losses={name: results[name][0] for name in impls},
        tensors=tensors,
    )


def step_count(params: Params, impls: list[str]) -> int:
    """How many times check_gradients calls on_step: each implementation's gradients, then
    its finite differences per tensor."""
    return len(impls) * (1 + 2 * len(params))


def checks_progress(description: str, params: Params, impls: list[str], enabled: bool):
    """The progress of check_on_training_images, counted in "checks" (step_count of them)."""
    from compare.progress import Progress

    return Progress(description, step_count(params, impls), unit="check", enabled=enabled)


def check_on_training_images(
    config: Config, params: Params, dataset, impls: list[str], samples: int, coordinates: int,
    on_step: Callable[[str], None] | None = None,
) -> GradientAgreement:
    """check_gradients on the dataset's first `samples` training images (as many as there are)."""
    from shared.data import scale_pixels

    count = min(samples, len(dataset.train_labels))
    x = scale_pixels(dataset.train_images[:count], "float64")
    y = dataset.train_labels[:count].astype(np.int64)
    return check_gradients(config, params, x, y, impls, coordinates=coordinates, seed=config.seed, on_step=on_step)


def format_agreement(result: GradientAgreement) -> str:
    """The agreement as a plain-text table: a row per comparison (each pair of implementations,
    then each against finite differences), a column per weight matrix and bias vector, so that
    five implementations' 15 comparisons stay as narrow as a terminal."""
    pair_names = list(result.tensors[0].pairs) if result.tensors else []
    rows = [[pair] + [f"{tensor.pairs[pair]:.1e}" for tensor in result.tensors] for pair in pair_names]
    rows += [[f"{name}~fd"] + [f"{tensor.finite_differences[name]:.1e}" for tensor in result.tensors]
             for name in result.impls]
    headers = ["compared"] + [f"{tensor.name} {'x'.join(map(str, tensor.shape))}" for tensor in result.tensors]
    lines = to_text(Table(headers, rows), left=1)
    kinks = sum(sum(t.kinks_skipped.values()) for t in result.tensors)
    losses = ", ".join(f"{name} {loss:.12f}" for name, loss in result.losses.items())
    verdict = "PASS" if result.passed else "FAIL"
    pairs = (f"worst pair {result.worst_pair:.1e} (tolerance {PAIR_TOLERANCE:.0e})" if pair_names
             else "no pairs to compare (one implementation)")
    summary = [
        f"loss on the batch: {losses}",
        f"{pairs}, worst against finite differences {result.worst_finite_difference:.1e} "
        f"(tolerance {FD_TOLERANCE:.0e}): {verdict}",
    ]
    if kinks:
        summary.append(f"{kinks} finite-difference entries skipped: a ReLU kink lay within the step")
    config = result.config
    if config.weight_decay:
        term = (f"(lambda / 2n) sum w^2, lambda {config.l2:g} and n {round(config.l2 / config.weight_decay):,} "
                f"(weight decay {config.weight_decay:.3g})" if config.l2 else f"({config.weight_decay:g} / 2) sum w^2")
        summary.append(f"with the L2 term: C = C0 + {term}, its gradient read from each implementation's own SGD step")
    return "\n".join(lines + summary)

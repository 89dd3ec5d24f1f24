"""The neutral parameter format and the seeded initializers that create it.

Parameters are a list with one (W, b) pair per layer of weights, NumPy float64:
W has shape (out, in) as in nn.Linear and Nielsen's book, so that z = W a + b, and
b has shape (out,). Gradients use the same format. Every implementation is built
from this format and hands its parameters back in it, which is what lets them all
start from identical weights and be compared number for number.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

Layer = tuple[np.ndarray, np.ndarray]
Params = list[Layer]


def init_params(sizes: Sequence[int], init: str = "nielsen", seed: int = 0) -> Params:
    """Seeded initial weights and biases.

    nielsen: W ~ N(0, 1/n_in) (standard deviation 1/sqrt(n_in)), b ~ N(0, 1), the
             "default_weight_initializer" of Nielsen's chapter 3; keeps sigmoid
             inputs small enough not to saturate.
    nielsen-large: W ~ N(0, 1), b ~ N(0, 1), chapter 1's network.py: with 784 inputs
             z has a standard deviation of about 10, so many sigmoids start saturated.
    xavier:  W ~ N(0, 2/(n_in + n_out)) (Glorot), b = 0; suits sigmoid and tanh.
    he:      W ~ N(0, 2/n_in), b = 0; suits ReLU, which zeroes half its inputs.
    """
    rng = np.random.default_rng(seed)
    params: Params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if init == "nielsen":
            W = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
            b = rng.standard_normal(n_out)
        elif init == "nielsen-large":
            W = rng.standard_normal((n_out, n_in))
            b = rng.standard_normal(n_out)
        elif init == "xavier":
            W = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / (n_in + n_out))
            b = np.zeros(n_out)
        elif init == "he":
            W = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)
            b = np.zeros(n_out)
        else:
            raise ValueError(f"init must be one of nielsen, nielsen-large, xavier, he; got {init!r}")
        params.append((W, b))
    return params


def parameter_count(sizes: Sequence[int]) -> int:
    """Weights and biases of a network with these layer sizes: n_out * n_in + n_out per layer."""
    return sum(n_out * n_in + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def check_params(params: Params, sizes: Sequence[int]) -> None:
    """Raise ValueError unless params are float64 (W, b) pairs of the given layer sizes."""
    if not isinstance(params, (list, tuple)) or len(params) != len(sizes) - 1:
        count = len(params) if isinstance(params, (list, tuple)) else type(params).__name__
        raise ValueError(f"expected {len(sizes) - 1} (W, b) layers for sizes {tuple(sizes)}; got {count}")
    for index, (layer, n_in, n_out) in enumerate(zip(params, sizes[:-1], sizes[1:]), start=1):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            raise ValueError(f"layer {index}: expected a (W, b) pair")
        W, b = layer
        for name, array, shape in (("W", W, (n_out, n_in)), ("b", b, (n_out,))):
            if not isinstance(array, np.ndarray) or array.dtype != np.float64:
                raise ValueError(f"layer {index}: {name} must be a float64 NumPy array")
            if array.shape != shape:
                raise ValueError(f"layer {index}: {name} has shape {array.shape}, expected {shape}")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"layer {index}: {name} holds NaN or infinite values")


def copy_params(params: Params) -> Params:
    return [(W.copy(), b.copy()) for W, b in params]


def params_from_lists(weights: list, biases: list) -> Params:
    """Plain nested lists (as the scratch implementation keeps them) -> neutral format."""
    return [
        (np.array(W, dtype=np.float64), np.array(b, dtype=np.float64))
        for W, b in zip(weights, biases)
    ]


def max_abs_difference(a: Params, b: Params) -> float:
    return max(float(np.max(np.abs(x - y))) for la, lb in zip(a, b) for x, y in zip(la, lb))


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max|a - b| / max(max|a|, max|b|, 1e-12): one number per weight matrix or bias vector.

    Scaled by the largest entry rather than entry by entry, so that entries that are
    zero in both (weights of MNIST's always-blank border pixels) cannot blow it up.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1e-12)
    return float(np.max(np.abs(a - b))) / scale

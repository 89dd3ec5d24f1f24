"""The referee's own copy of the equations, and the mistakes learners make in them.

Notation (Nielsen's, layers counted from the input): a⁰ = x; for l = 1 .. L,
zˡ = Wˡ aˡ⁻¹ + bˡ and aˡ = σ(zˡ), the output layer L taking softmax (cross-entropy) or
the sigmoid (quadratic cost); δˡ = ∂C/∂zˡ. (Nielsen's book numbers the input layer 1, so
his W² is W¹ here, as W1 is the first weight matrix everywhere in this project.)

    (BP1)  δᴸ = ∂C/∂aᴸ ⊙ σ′(zᴸ)
    (BP2)  δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ)
    (BP3)  ∂C/∂bˡ = δˡ
    (BP4)  ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ, that is ∂C/∂Wˡⱼₖ = δˡⱼ aˡ⁻¹ₖ

`trace` computes every zˡ, aˡ and δˡ of a batch (one row per sample) from these equations;
the check holds its gradients to impls.numpy_mlp's, so the two references cannot drift
apart. The *_mistakes functions say what a learner's quantity would be after each classic
mistake, so that a wrong number can be given a name ("σ′(zˡ) left out"), not only an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from impls.numpy_mlp import ACTIVATIONS
from shared.config import ACTIVATIONS as ACTIVATION_NAMES, Config
from shared.params import Params, relative_error

TOLERANCE = 1e-7  # relative error below which two float64 results agree ("good" in teaching's scale)

SUPERSCRIPT = str.maketrans("0123456789+-l()L", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ˡ⁽⁾ᴸ")
SUBSCRIPT = str.maketrans("jk", "ⱼₖ")


def up(text) -> str:
    """'l+1' -> 'ˡ⁺¹', 3 -> '³': the superscripts of Nielsen's notation."""
    return str(text).translate(SUPERSCRIPT)


# -- the equations, written out -----------------------------------------------------------
def bp1_text(loss: str, L: int | str = "L") -> str:
    if loss == "cross-entropy":
        return f"(BP1) δ{up(L)} = a{up(L)} − y (softmax with cross-entropy: ∂C/∂a ⊙ σ′ reduces to a − y)"
    return f"(BP1) δ{up(L)} = ∂C/∂a{up(L)} ⊙ σ′(z{up(L)}) = (a{up(L)} − y) ⊙ σ′(z{up(L)})"


def bp2_text(l: int | str = "l") -> str:
    after = f"{l}+1" if isinstance(l, str) else l + 1
    return f"(BP2) δ{up(l)} = ((W{up(after)})ᵀ δ{up(after)}) ⊙ σ′(z{up(l)})"


def bp3_text(l: int | str = "l") -> str:
    return f"(BP3) ∂C/∂b{up(l)} = δ{up(l)}"


def bp4_text(l: int | str = "l") -> str:
    before = f"{l}-1" if isinstance(l, str) else l - 1
    return f"(BP4) ∂C/∂W{up(l)} = δ{up(l)} (a{up(before)})ᵀ, i.e. ∂C/∂W{up(l)}ⱼₖ = δ{up(l)}ⱼ a{up(before)}ₖ"


def forward_text(l: int, L: int, loss: str) -> str:
    if l == L:
        out = "softmax" if loss == "cross-entropy" else "σ"
        return f"z{up(l)} = W{up(l)} a{up(l - 1)} + b{up(l)}, a{up(l)} = {out}(z{up(l)})"
    return f"z{up(l)} = W{up(l)} a{up(l - 1)} + b{up(l)}, a{up(l)} = σ(z{up(l)})"


def cost_text(loss: str) -> str:
    if loss == "cross-entropy":
        return "C = −(1/n) Σₓ ln aᴸ_y(x): the mean over the batch of −ln (the softmax probability of the right class)"
    return "C = (1/n) Σₓ ½ ‖aᴸ(x) − y(x)‖²: the mean over the batch of half the squared error"


BATCH_TEXT = "∂C/∂θ = (1/n) Σₓ ∂Cₓ/∂θ: the gradient of the mean over the batch, the mean of the per-sample gradients"
UPDATE_TEXT = "θ → θ − η ∂C/∂θ: one step of gradient descent, η the learning rate"


# -- the reference ------------------------------------------------------------------------------
def sigma(activation: str, z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return ACTIVATIONS[activation][0](np.array(z, dtype=np.float64))  # a new array: z is kept


def sigma_prime(activation: str, z: np.ndarray) -> np.ndarray:
    """σ′(z); impls.numpy_mlp writes it in terms of a = σ(z)."""
    return np.asarray(ACTIVATIONS[activation][1](sigma(activation, z)), dtype=np.float64)


def output_activation(loss: str, z: np.ndarray) -> np.ndarray:
    if loss == "cross-entropy":
        shifted = np.exp(z - z.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return sigma("sigmoid", z)


def cost(loss: str, z_L: np.ndarray, a_L: np.ndarray, Y: np.ndarray) -> float:
    if loss == "cross-entropy":  # −ln softmax(z)_y from z itself, which never takes ln 0
        top = z_L.max(axis=1, keepdims=True)
        log_total = np.log(np.exp(z_L - top).sum(axis=1)) + top[:, 0]
        return float(np.mean(log_total - (z_L * Y).sum(axis=1)))
    return float(0.5 * np.sum((a_L - Y) ** 2) / len(Y))


def bp1(loss: str, a_L: np.ndarray, Y: np.ndarray, z_L: np.ndarray) -> np.ndarray:
    if loss == "cross-entropy":
        return a_L - Y
    return (a_L - Y) * sigma_prime("sigmoid", z_L)


def bp2(activation: str, W_next: np.ndarray, delta_next: np.ndarray, z: np.ndarray) -> np.ndarray:
    # A row per sample: (Wˡ⁺¹)ᵀ δˡ⁺¹ for each is the row δˡ⁺¹ Wˡ⁺¹.
    return (delta_next @ W_next) * sigma_prime(activation, z)


@dataclass
class Trace:
    """Every quantity of the four equations on one batch, lists indexed by layer as in the
    book: W[l], b[l], z[l], delta[l] for l = 1..L (index 0 unused), a[l] for l = 0..L."""

    config: Config
    W: list
    b: list
    Y: np.ndarray  # one-hot targets, a row per sample
    z: list
    a: list
    delta: list
    loss: float

    @property
    def L(self) -> int:
        return len(self.W) - 1

    @property
    def n(self) -> int:
        return len(self.Y)

    def gradients(self) -> Params:
        """(BP3) and (BP4), averaged over the batch: the neutral format, W1 first."""
        return [((self.delta[l].T @ self.a[l - 1]) / self.n, self.delta[l].mean(axis=0)) for l in range(1, self.L + 1)]


def forward(config: Config, W: list, b: list, x: np.ndarray, mistake=None) -> tuple[list, list]:
    """z[1..L] and a[0..L]; `mistake(l, W_l, b_l, a_prev)` -> (z, a) or None replaces layer l's step."""
    z, a = [None], [np.asarray(x, dtype=np.float64)]
    L = len(W) - 1
    for l in range(1, L + 1):
        changed = mistake(l, W[l], b[l], a[l - 1]) if mistake else None
        if changed is None:
            z_l = a[l - 1] @ W[l].T + b[l]
            a_l = output_activation(config.loss, z_l) if l == L else sigma(config.activation, z_l)
        else:
            z_l, a_l = changed
        z.append(z_l)
        a.append(a_l)
    return z, a


def trace(config: Config, params: Params, x: np.ndarray, y: np.ndarray) -> Trace:
    W = [None] + [np.asarray(W_l, dtype=np.float64) for W_l, _ in params]
    b = [None] + [np.asarray(b_l, dtype=np.float64) for _, b_l in params]
    Y = np.eye(config.sizes[-1])[np.asarray(y)]
    z, a = forward(config, W, b, x)
    L = len(W) - 1
    delta = [None] * (L + 1)
    delta[L] = bp1(config.loss, a[L], Y, z[L])
    for l in range(L - 1, 0, -1):
        delta[l] = bp2(config.activation, W[l + 1], delta[l + 1], z[l])
    return Trace(config=config, W=W, b=b, Y=Y, z=z, a=a, delta=delta, loss=cost(config.loss, z[L], a[L], Y))


# -- what each classic mistake would give ------------------------------------------------------
@dataclass(frozen=True, eq=False)  # eq=False: `predicted` is an array, compared by name only
class Mistake:
    name: str  # short, stable, what the tests look for: "sign error", "σ′ left out", ...
    explanation: str  # the mistake in the equation's own terms
    predicted: object  # what the learner's quantity would be after it (an array or a float)


def distinct(right, mistakes: list[Mistake]) -> list[Mistake]:
    """Only the mistakes whose result differs from the right one: an indistinguishable one
    (σ′ = 1 for every active ReLU unit, say) cannot be named from these numbers."""
    return [m for m in mistakes if relative_error(m.predicted, right) > TOLERANCE]


def name_mistake(observed, right, mistakes: list[Mistake]) -> Mistake | None:
    """The first mistake whose prediction the observed quantity matches."""
    observed = np.asarray(observed, dtype=np.float64)
    for mistake in distinct(right, mistakes):
        predicted = np.asarray(mistake.predicted, dtype=np.float64)
        if predicted.shape == observed.shape and relative_error(observed, predicted) <= TOLERANCE:
            return mistake
    return None


def square(matrix: np.ndarray) -> bool:
    return matrix.shape[0] == matrix.shape[1]


def sigma_prime_of_a(activation: str, a: np.ndarray) -> np.ndarray:
    """σ′ evaluated at aˡ instead of zˡ: `sigmoid_prime(activation)` where the book has
    `sigmoid_prime(z)`, the most common slip when a is kept and z is not."""
    return sigma_prime(activation, a)


def cost_mistakes(t: Trace) -> list[Mistake]:
    a, Y = t.a[t.L], t.Y
    if t.config.loss == "cross-entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            binary = float(-np.mean(np.sum(Y * np.log(a) + (1 - Y) * np.log(1 - a), axis=1)))
        return [
            Mistake("sign error", "C = +(1/n) Σ ln aᴸ_y: the minus sign of −ln a is missing", -t.loss),
            Mistake("binary cross-entropy", "C = −Σⱼ [yⱼ ln aⱼ + (1 − yⱼ) ln(1 − aⱼ)]: the cross-entropy of sigmoid "
                    "outputs (Nielsen ch. 3, eq. 63), not the log-likelihood of softmax outputs (eq. 80)", binary),
        ]
    squared = np.sum((a - Y) ** 2, axis=1)
    return [
        Mistake("½ left out", "C = ‖aᴸ − y‖² without the ½ (whose derivative gives BP1's aᴸ − y)", float(np.mean(squared))),
        Mistake("averaged over the outputs", "C = ½ (1/m) Σⱼ (aⱼ − yⱼ)²: averaged over the m output neurons, which the "
                "cost sums over", float(np.mean(squared) / 2 / a.shape[1])),
    ]


def forward_mistakes(t: Trace, l: int) -> list[Mistake]:
    """The output probabilities after each mistake in layer l's step alone."""
    config, L = t.config, t.L
    x = t.a[0]

    def at_layer(change):
        def mistake(layer, W_l, b_l, a_prev):
            return change(W_l, b_l, a_prev) if layer == l else None
        return forward(config, t.W, t.b, x, mistake)[1][L]

    def activate(z_l):
        return output_activation(config.loss, z_l) if l == L else sigma(config.activation, z_l)

    mistakes = []
    W_l = t.W[l]
    shown, before = ("L", "L-1") if l == L else (l, l - 1)
    if square(W_l):
        mistakes.append(Mistake("transposed weights", f"z{up(shown)} = (W{up(shown)})ᵀ a{up(before)} + b{up(shown)}: W{up(shown)} used transposed",
                                at_layer(lambda W, b, a: (a @ W + b, activate(a @ W + b)))))
    mistakes.append(Mistake("bias left out", f"z{up(shown)} = W{up(shown)} a{up(before)}: b{up(shown)} is not added",
                            at_layer(lambda W, b, a: (a @ W.T, activate(a @ W.T)))))
    if l < L:
        mistakes.append(Mistake("σ left out", f"a{up(shown)} = z{up(shown)}: the activation function is not applied",
                                at_layer(lambda W, b, a: (a @ W.T + b, a @ W.T + b))))
        for other in ACTIVATION_NAMES:
            if other != config.activation:
                mistakes.append(Mistake(f"{other} instead of {config.activation}", f"a{up(shown)} = {other}(z{up(shown)}), "
                                        f"where the config asks for {config.activation}",
                                        at_layer(lambda W, b, a, other=other: (a @ W.T + b, sigma(other, a @ W.T + b)))))
    else:
        if config.loss == "cross-entropy":
            wrong, takes = "σ", "softmax"
            wrong_output = lambda z_L: sigma("sigmoid", z_L)  # noqa: E731
        else:
            wrong, takes = "softmax", "σ"
            wrong_output = lambda z_L: output_activation("cross-entropy", z_L)  # noqa: E731
        mistakes.append(Mistake("wrong output activation", f"aᴸ = {wrong}(zᴸ): the {config.loss} cost takes "
                                f"{takes} outputs", at_layer(lambda W, b, a: (a @ W.T + b, wrong_output(a @ W.T + b)))))
        mistakes.append(Mistake("no output activation", "aᴸ = zᴸ: the output activation is not applied",
                                at_layer(lambda W, b, a: (a @ W.T + b, a @ W.T + b))))
    return mistakes


def bp1_mistakes(t: Trace) -> list[Mistake]:
    a, Y = t.a[t.L], t.Y
    right = t.delta[t.L]
    L = "L"  # the output layer, whichever number it has in this network
    mistakes = [Mistake("sign error", f"δ{up(L)} = y − a{up(L)}: the opposite sign", -right)]
    if t.config.loss == "mse":
        mistakes += [
            Mistake("σ′ left out", f"δ{up(L)} = a{up(L)} − y: the factor σ′(z{up(L)}) is left out", a - Y),
            Mistake("σ′ of a, not z", f"δ{up(L)} = (a{up(L)} − y) ⊙ σ′(a{up(L)}): σ′ taken of a{up(L)} instead of z{up(L)}",
                    (a - Y) * sigma_prime_of_a("sigmoid", a)),
            Mistake("a instead of σ′", f"δ{up(L)} = (a{up(L)} − y) ⊙ a{up(L)}: σ′(z) = a(1 − a) written as a", (a - Y) * a),
        ]
    else:
        mistakes.append(Mistake("extra σ′", f"δ{up(L)} = (a{up(L)} − y) ⊙ a{up(L)}(1 − a{up(L)}): with softmax and "
                                "cross-entropy there is no σ′ factor (Nielsen ch. 3, eq. 84: δᴸ = aᴸ − y)",
                                (a - Y) * a * (1 - a)))
    return mistakes


def bp2_mistakes(t: Trace, l: int, delta_next: np.ndarray) -> list[Mistake]:
    """δˡ after each mistake, given δˡ⁺¹ as the learner computed it. Out of the output layer
    the layers are named L − 1 and L, as networks of every depth share that step."""
    activation, W_next, z, a = t.config.activation, t.W[l + 1], t.z[l], t.a[l]
    back = delta_next @ W_next  # ((Wˡ⁺¹)ᵀ δˡ⁺¹) for each sample
    sp = sigma_prime(activation, z)
    shown, nxt = (l, l + 1) if l + 1 < t.L else ("L-1", "L")
    mistakes = [
        Mistake("sign error", f"δ{up(shown)} = −((W{up(nxt)})ᵀ δ{up(nxt)}) ⊙ σ′(z{up(shown)}): the opposite sign", -back * sp),
        Mistake("σ′ left out", f"δ{up(shown)} = (W{up(nxt)})ᵀ δ{up(nxt)}: the factor σ′(z{up(shown)}) is left out", back),
        Mistake("σ′ of a, not z", f"δ{up(shown)} = ((W{up(nxt)})ᵀ δ{up(nxt)}) ⊙ σ′(a{up(shown)}): σ′ taken of a{up(shown)} instead of z{up(shown)}",
                back * sigma_prime_of_a(activation, a)),
    ]
    if activation == "sigmoid":
        mistakes.append(Mistake("a instead of σ′", f"δ{up(shown)} = ((W{up(nxt)})ᵀ δ{up(nxt)}) ⊙ a{up(shown)}: σ′(z) = a(1 − a) written as a",
                                back * a))
    if square(W_next):
        mistakes.append(Mistake("transposed weights", f"δ{up(shown)} = (W{up(nxt)} δ{up(nxt)}) ⊙ σ′(z{up(shown)}): W{up(nxt)} not transposed",
                                (delta_next @ W_next.T) * sp))
    if t.W[l].shape == W_next.shape:
        mistakes.append(Mistake("wrong layer's weights", f"δ{up(shown)} = ((W{up(shown)})ᵀ δ{up(nxt)}) ⊙ σ′(z{up(shown)}): W{up(shown)} where "
                                f"W{up(nxt)} belongs (the weights into this layer, not out of it)", (delta_next @ t.W[l]) * sp))
    return mistakes


def bp3_mistakes(t: Trace, l: int, delta: np.ndarray) -> list[Mistake]:
    shown = "L" if l == t.L else l
    return [Mistake("sign error", f"∂C/∂b{up(shown)} = −δ{up(shown)}: the opposite sign", -delta.mean(axis=0))]


def bp4_mistakes(t: Trace, l: int, delta: np.ndarray) -> list[Mistake]:
    """∂C/∂Wˡ after each mistake, given δˡ as the learner computed it (one sample's, or the batch's mean)."""
    a_prev = t.a[l - 1]
    n = len(delta)
    right = delta.T @ a_prev / n
    shown, before = ("L", "L-1") if l == t.L else (l, l - 1)
    mistakes = [Mistake("sign error", f"∂C/∂W{up(shown)} = −δ{up(shown)} (a{up(before)})ᵀ: the opposite sign", -right)]
    if square(right):
        mistakes.append(Mistake("transposed weights", f"∂C/∂W{up(shown)} = a{up(before)} (δ{up(shown)})ᵀ: the gradient transposed, "
                                f"(inputs, outputs) where W{up(shown)} is (outputs, inputs)", right.T))
    if l >= 2:
        mistakes.append(Mistake("z instead of a", f"∂C/∂W{up(shown)} = δ{up(shown)} (z{up(before)})ᵀ: the weighted input z{up(before)} "
                                f"where the activation a{up(before)} = σ(z{up(before)}) belongs", delta.T @ t.z[l - 1] / n))
    if t.a[l].shape == a_prev.shape:
        mistakes.append(Mistake("wrong layer's activations", f"∂C/∂W{up(shown)} = δ{up(shown)} (a{up(shown)})ᵀ: the layer's own "
                                f"activation where its input a{up(before)} belongs", delta.T @ t.a[l] / n))
    return mistakes

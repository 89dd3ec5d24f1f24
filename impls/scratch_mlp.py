"""The scratch loop: a multilayer perceptron in pure Python, lists, loops and `math`.

No NumPy or torch in here (a test checks the imports): the arrays that come in are
turned into lists at the door, and what goes out is turned back by shared helpers.

Notation follows Nielsen's book: for layer l, z^l = W^l a^(l-1) + b^l and
a^l = sigma(z^l); delta^l = dC/dz^l. Backpropagation is four equations:

    (BP1)  delta^L = dC/da^L * sigma'(z^L)          output error
    (BP2)  delta^l = (W^(l+1)^T delta^(l+1)) * sigma'(z^l)   error moves back a layer
    (BP3)  dC/db^l = delta^l
    (BP4)  dC/dW^l_jk = delta^l_j * a^(l-1)_k

Speed without hiding the math: MNIST images are mostly blank, so the input layer
works on the (pixel index, value) pairs of the non-zero pixels only. Skipping a zero
term changes nothing in the sums (x * 0 adds 0), so results match the other two
implementations to rounding.
"""

from __future__ import annotations

import math
from itertools import compress
from operator import mul

from shared.config import Config
from shared.model import check_batch, check_model_inputs, outputs_from_lists
from shared.params import Params, params_from_lists


# Each activation comes with its derivative written in terms of its own output a,
# which is what the forward pass keeps: sigma'(z) = a (1 - a) for the sigmoid.
def sigmoid(z: float) -> float:
    # Two forms so that exp never overflows: exp(-z) for z >= 0, exp(z) below.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def sigmoid_prime(a: float) -> float:
    return a * (1.0 - a)


def tanh_prime(a: float) -> float:
    return 1.0 - a * a


def relu(z: float) -> float:
    return z if z > 0.0 else 0.0


def relu_prime(a: float) -> float:
    return 1.0 if a > 0.0 else 0.0


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (math.tanh, tanh_prime),
    "relu": (relu, relu_prime),
}


def softmax(z: list[float]) -> list[float]:
    top = max(z)  # subtracting the largest keeps exp from overflowing
    exps = [math.exp(zj - top) for zj in z]
    total = sum(exps)
    return [e / total for e in exps]


def log_sum_exp(z: list[float]) -> float:
    top = max(z)
    return top + math.log(sum(math.exp(zj - top) for zj in z))


def nonzero_pixels(row: list[float]) -> tuple[list[int], list[float]]:
    """The indices and values of the non-zero entries of one input image (0.0 is false:
    compress and filter keep the others, without a Python loop over all 784 pixels)."""
    return list(compress(range(len(row)), row)), list(filter(None, row))


class ScratchMLP:
    name = "scratch"

    def __init__(self, config: Config, params: Params):
        check_model_inputs(config, params)
        self.config = config
        self.sigma, self.sigma_prime = ACTIVATIONS[config.activation]
        self.softmax_output = config.loss == "cross-entropy"
        # W[l][j] is the row of weights into neuron j of layer l+1.
        self.W = [W.tolist() for W, _ in params]
        self.b = [b.tolist() for _, b in params]
        # Momentum's velocities, one per parameter, created at the first step that needs them.
        self.velocity_W: list | None = None
        self.velocity_b: list | None = None

    # -- forward ------------------------------------------------------------------
    def feedforward(self, x: tuple[list[int], list[float]]) -> tuple[list[list[float]], list[float]]:
        """Activations of every hidden layer (input excluded) and the output layer's z."""
        W, b, sigma = self.W, self.b, self.sigma
        # Input layer: only the non-zero pixels contribute to z = W a + b, so each
        # neuron sums row[k] * x_k over the non-zero k alone.
        indices, values = x
        z = [bj + sum(map(mul, map(row.__getitem__, indices), values)) for row, bj in zip(W[0], b[0])]
        activations = []
        for W_l, b_l in zip(W[1:], b[1:]):
            a = [sigma(zj) for zj in z]
            activations.append(a)
            z = [bj + sum(map(mul, row, a)) for row, bj in zip(W_l, b_l)]
        return activations, z

    def output(self, z: list[float]) -> list[float]:
        return softmax(z) if self.softmax_output else [sigmoid(zj) for zj in z]

    def sample_loss(self, z: list[float], a: list[float], label: int) -> float:
        if self.softmax_output:
            return log_sum_exp(z) - z[label]  # -log softmax(z)_label, without log(0)
        return 0.5 * sum((aj - (j == label)) ** 2 for j, aj in enumerate(a))

    # -- backward -----------------------------------------------------------------
    def backprop(self, x, label, grad_W, grad_b, columns) -> float:
        """Add this sample's gradients to grad_W, grad_b; return its loss. columns[l]
        holds the columns of W[l] (its transpose), which BP2 sums over."""
        hidden, z = self.feedforward(x)
        a = self.output(z)
        loss = self.sample_loss(z, a, label)

        # (BP1) Output error. Softmax with cross-entropy simplifies to a - y; the
        # quadratic cost on sigmoid outputs gives (a - y) * sigma'(z) = (a - y) a (1 - a).
        y = [float(j == label) for j in range(len(a))]
        if self.softmax_output:
            delta = [aj - yj for aj, yj in zip(a, y)]
        else:
            delta = [(aj - yj) * aj * (1.0 - aj) for aj, yj in zip(a, y)]

        for l in range(len(self.W) - 1, -1, -1):
            # (BP3) dC/db = delta and (BP4) dC/dW_jk = delta_j * a_k, where a is the
            # previous layer's activation (the non-zero pixels for the first layer).
            previous = hidden[l - 1] if l > 0 else None
            for j, dj in enumerate(delta):
                grad_b[l][j] += dj
                if dj == 0.0:  # a silent ReLU unit: nothing to add
                    continue
                row = grad_W[l][j]
                if previous is None:
                    for k, v in zip(*x):
                        row[k] += dj * v
                else:
                    for k, ak in enumerate(previous):
                        row[k] += dj * ak
            if l > 0:
                # (BP2) delta^(l-1) = (W^l transposed delta^l) * sigma'(z^(l-1)).
                sigma_prime = self.sigma_prime
                delta = [
                    sum(map(mul, column, delta)) * sigma_prime(ak)
                    for column, ak in zip(columns[l], previous)
                ]
        return loss

    def summed_gradients(self, x, y) -> tuple[float, list, list]:
        """Loss and gradients summed over the batch, as lists."""
        check_batch(self.config, x, y)
        grad_W = [[[0.0] * len(row) for row in W] for W in self.W]
        grad_b = [[0.0] * len(b) for b in self.b]
        # W is fixed during the batch: its transposes for BP2 are made once, not per image.
        # (The first layer's is never needed: no error is sent back to the pixels.)
        columns = [None] + [list(zip(*W)) for W in self.W[1:]]
        total = 0.0
        for row, label in zip(x.tolist(), y.tolist()):
            total += self.backprop(nonzero_pixels(row), label, grad_W, grad_b, columns)
        return total, grad_W, grad_b

    # -- the interface ---------------------------------------------------------------
    # The loss is the mean over the batch, so its gradient is the sum divided by n.
    def loss_and_gradients(self, x, y) -> tuple[float, Params]:
        total, grad_W, grad_b = self.summed_gradients(x, y)
        n = len(x)
        mean_W = [[[g / n for g in row] for row in gW] for gW in grad_W]
        mean_b = [[g / n for g in gb] for gb in grad_b]
        return total / n, params_from_lists(mean_W, mean_b)

    def train_step(self, x, y, lr: float) -> float:
        total, grad_W, grad_b = self.summed_gradients(x, y)
        n = len(x)
        momentum, decay = self.config.momentum, self.config.weight_decay
        if momentum == 0 and decay == 0:
            # Plain SGD: theta -= lr * (sum / n), with lr / n folded into one factor.
            step = lr / n
            for W, b, gW, gb in zip(self.W, self.b, grad_W, grad_b):
                for row, grow in zip(W, gW):
                    row[:] = [w - step * g for w, g in zip(row, grow)]
                b[:] = [bj - step * g for bj, g in zip(b, gb)]
            return total / n
        if self.velocity_W is None:
            self.velocity_W = [[[0.0] * len(row) for row in W] for W in self.W]
            self.velocity_b = [[0.0] * len(b) for b in self.b]
        for W, b, gW, gb, vW, vb in zip(self.W, self.b, grad_W, grad_b, self.velocity_W, self.velocity_b):
            for row, grow, vrow in zip(W, gW, vW):
                # g = mean gradient + weight decay * w;  v = momentum * v + g;  w -= lr * v
                vrow[:] = [momentum * v + g / n + decay * w for v, g, w in zip(vrow, grow, row)]
                row[:] = [w - lr * v for w, v in zip(row, vrow)]
            vb[:] = [momentum * v + g / n for v, g in zip(vb, gb)]  # no decay on biases
            b[:] = [bj - lr * v for bj, v in zip(b, vb)]
        return total / n

    def predict_proba(self, x):
        check_batch(self.config, x)
        rows = [self.output(self.feedforward(nonzero_pixels(row))[1]) for row in x.tolist()]
        return outputs_from_lists(rows)

    def parameters(self) -> Params:
        return params_from_lists(self.W, self.b)

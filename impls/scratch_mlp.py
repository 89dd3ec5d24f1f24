"""The scratch loop: a multilayer perceptron in pure Python, lists, loops and `math`.

No NumPy or torch in here (a test checks the imports): the arrays that come in are
turned into lists at the door, and what goes out is turned back by shared helpers.

Notation follows Nielsen's book: for layer l, z^l = W^l a^(l-1) + b^l and
a^l = sigma(z^l); delta^l = dC/dz^l. Backpropagation is four equations:

    (BP1)  delta^L = dC/da^L * sigma'(z^L)          output error
    (BP2)  delta^l = (W^(l+1)^T delta^(l+1)) * sigma'(z^l)   error moves back a layer
    (BP3)  dC/db^l = delta^l
    (BP4)  dC/dW^l_jk = delta^l_j * a^(l-1)_k

MNIST images are mostly blank, so the input layer works on the (pixel index, value)
pairs of the non-zero pixels only: x * 0 adds nothing to a sum, so results match the
other implementations to rounding. The training set is turned into those pairs once.
A batch runs in two passes: BP1 and BP2 for every sample with W fixed, then BP3 and BP4
for every sample, added up.
"""

from __future__ import annotations

import math
from operator import mul

from shared.config import Config
from shared.model import check_batch, check_model_inputs, gatherer, nonzero_batch, nonzero_entries, outputs_from_lists
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
        # neuron sums row[k] * x_k over the non-zero k alone, the weights gathered at C speed.
        indices, values = x
        gather = gatherer(indices)
        z = [bj + sum(map(mul, gather(row), values)) for row, bj in zip(W[0], b[0])]
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

    # -- backward ------------------------------------------------------------------
    def backprop(self, x, label, columns) -> tuple[float, list, list]:
        """One sample's loss, its hidden activations and its error delta^l at every layer.
        columns[l] holds the columns of W[l] (its transpose), which BP2 sums over."""
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
        deltas = [delta]
        sigma_prime = self.sigma_prime
        for l in range(len(self.W) - 1, 0, -1):
            # (BP2) delta^(l-1) = (W^l transposed delta^l) * sigma'(z^(l-1)).
            delta = [sum(map(mul, column, delta)) * sigma_prime(ak) for column, ak in zip(columns[l], hidden[l - 1])]
            deltas.append(delta)
        deltas.reverse()
        return loss, hidden, deltas

    def batch_errors(self, batch) -> tuple[float, list]:
        """Summed loss and every sample's (pixels, hidden activations, deltas), all with this
        batch's W."""
        # W is fixed during the batch: its transposes for BP2 are made once, not per image.
        # (The first layer's is never needed: no error is sent back to the pixels.)
        columns = [None] + [list(zip(*W)) for W in self.W[1:]]
        total, errors = 0.0, []
        for x, label in batch:
            loss, hidden, deltas = self.backprop(x, label, columns)
            total += loss
            errors.append((x, hidden, deltas))
        return total, errors

    def add_gradients(self, errors, into_W, into_b, scale: float) -> None:
        """Add scale times each sample's gradients to into_W and into_b."""
        for (indices, values), hidden, deltas in errors:
            for b, delta in zip(into_b, deltas):
                b[:] = [bj + scale * dj for bj, dj in zip(b, delta)]  # (BP3) dC/db_j = delta_j
            # (BP4) dC/dW_jk = delta_j a_k, a the layer's input. The first layer's input is
            # the image, and only its non-zero pixels add anything.
            for row, dj in zip(into_W[0], deltas[0]):
                if dj != 0.0:  # a silent ReLU unit adds nothing either
                    c = scale * dj
                    for k, v in zip(indices, values):
                        row[k] += c * v
            for W, delta, a in zip(into_W[1:], deltas[1:], hidden):
                for row, dj in zip(W, delta):
                    c = scale * dj
                    row[:] = [w + c * ak for w, ak in zip(row, a)]

    def summed_gradients(self, batch) -> tuple[float, list, list]:
        """Loss and gradients summed over the batch, as lists shaped like W and b."""
        total, errors = self.batch_errors(batch)
        grad_W = [[[0.0] * len(row) for row in W] for W in self.W]
        grad_b = [[0.0] * len(b) for b in self.b]
        self.add_gradients(errors, grad_W, grad_b, 1.0)
        return total, grad_W, grad_b

    # -- the interface ---------------------------------------------------------------
    # The loss is the mean over the batch, so its gradient is the sum divided by n.
    def loss_and_gradients(self, x, y) -> tuple[float, Params]:
        total, grad_W, grad_b = self.summed_gradients(nonzero_batch(self.config, x, y))
        n = len(x)
        mean_W = [[[g / n for g in row] for row in gW] for gW in grad_W]
        mean_b = [[g / n for g in gb] for gb in grad_b]
        return total / n, params_from_lists(mean_W, mean_b)

    def train_step(self, x, y, lr: float) -> float:
        return self.step(nonzero_batch(self.config, x, y), lr)

    def step(self, batch, lr: float) -> float:
        """One step of torch.optim.SGD's: g = the mean gradient, plus weight_decay * W for the
        weights; with momentum v = momentum * v + g, else v = g; theta -= lr * v."""
        momentum, decay = self.config.momentum, self.config.weight_decay
        n = len(batch)  # the gradient of the mean is the sum over n
        if momentum == 0 and decay == 0:
            # Speed: -lr/n times the gradients added straight into W and b, instead of filled
            # into lists of zeros and walked again (10-20% of a step on the small networks).
            total, errors = self.batch_errors(batch)
            self.add_gradients(errors, self.W, self.b, -lr / n)
            return total / n
        total, grad_W, grad_b = self.summed_gradients(batch)
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

    # -- the optional part (shared.model.TakesTrainingSet) -------------------------------
    def load_training_set(self, x, y) -> None:
        """Keep the training images as their non-zero pixels, converted once instead of at
        every step."""
        self.training_set = nonzero_batch(self.config, x, y)

    def train_step_at(self, indices, lr: float) -> float:
        return self.step([self.training_set[i] for i in indices.tolist()], lr)

    def predict_proba(self, x):
        check_batch(self.config, x)
        rows = [self.output(self.feedforward(pixels)[1]) for pixels in nonzero_entries(x)]
        return outputs_from_lists(rows)

    def parameters(self) -> Params:
        return params_from_lists(self.W, self.b)

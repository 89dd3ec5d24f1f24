"""NumPy one sample at a time: the structure of Nielsen's network.py.

Each sample is a column vector; backprop runs per sample and the gradients are summed
over the mini-batch in a Python loop before the update. Written here from the book's
equations (not copied), as the baseline for the vectorized implementation.
"""

from __future__ import annotations

import numpy as np

from shared.config import Config


def sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(a.dtype)),
}


class PerSampleNumpyMLP:
    name = "per-sample-numpy"

    def __init__(self, config: Config, params):
        self.config = config
        dtype = np.dtype(config.dtype)
        self.weights = [W.astype(dtype) for W, _ in params]
        self.biases = [b.astype(dtype).reshape(-1, 1) for _, b in params]
        self.sigma, self.sigma_prime = ACTIVATIONS[config.activation]

    def output(self, z):
        if self.config.loss == "cross-entropy":
            e = np.exp(z - z.max())
            return e / e.sum()
        return sigmoid(z)

    def backprop(self, x, label):
        """(loss, nabla_b, nabla_w) for one sample, x a column vector."""
        activation, activations = x, [x]
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            activation = self.sigma(W @ activation + b)
            activations.append(activation)
        z = self.weights[-1] @ activation + self.biases[-1]
        a = self.output(z)
        y = np.zeros_like(a)
        y[label] = 1
        if self.config.loss == "cross-entropy":
            loss = -np.log(max(a[label, 0], 1e-300))
            delta = a - y
        else:
            loss = 0.5 * np.sum((a - y) ** 2)
            delta = (a - y) * a * (1 - a)
        nabla_b = [None] * len(self.weights)
        nabla_w = [None] * len(self.weights)
        for l in range(len(self.weights) - 1, -1, -1):
            nabla_b[l] = delta
            nabla_w[l] = delta @ activations[l].T
            if l > 0:
                delta = (self.weights[l].T @ delta) * self.sigma_prime(activations[l])
        return float(loss), nabla_b, nabla_w

    def gradients(self, x, y):
        nabla_b = [np.zeros_like(b) for b in self.biases]
        nabla_w = [np.zeros_like(W) for W in self.weights]
        total = 0.0
        for sample, label in zip(x, y):
            loss, delta_b, delta_w = self.backprop(sample.reshape(-1, 1).astype(self.weights[0].dtype), label)
            total += loss
            nabla_b = [nb + db for nb, db in zip(nabla_b, delta_b)]
            nabla_w = [nw + dw for nw, dw in zip(nabla_w, delta_w)]
        n = len(x)
        return total / n, [nw / n for nw in nabla_w], [nb / n for nb in nabla_b]

    def loss_and_gradients(self, x, y):
        loss, nabla_w, nabla_b = self.gradients(x, y)
        return loss, [(gw.astype(np.float64), gb.ravel().astype(np.float64)) for gw, gb in zip(nabla_w, nabla_b)]

    def train_step(self, x, y, lr):
        loss, nabla_w, nabla_b = self.gradients(x, y)
        self.weights = [W - lr * nw for W, nw in zip(self.weights, nabla_w)]
        self.biases = [b - lr * nb for b, nb in zip(self.biases, nabla_b)]
        return loss

    def predict_proba(self, x):
        return np.stack([self.output(self.forward_logits(s.reshape(-1, 1))).ravel() for s in x]).astype(np.float64)

    def forward_logits(self, a):
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            a = self.sigma(W @ a + b)
        return self.weights[-1] @ a + self.biases[-1]

    def parameters(self):
        return [(W.astype(np.float64), b.ravel().astype(np.float64)) for W, b in zip(self.weights, self.biases)]

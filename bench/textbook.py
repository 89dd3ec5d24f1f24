"""The textbook pure-Python network: every neuron a loop over every input by index.

What it stands for: a first implementation after 3Blue1Brown's videos, and the
baseline the scratch implementation is measured against. Correct, and slow: no
skipping of blank pixels, an index lookup for every weight, one sample at a time.
Not slower than it needs to be, though: the activation function is picked once (not
by name per neuron), the softmax's sum is taken once, and the mean's 1/n is folded
into the update instead of a separate pass over every weight.
"""

from __future__ import annotations

import math

from shared.config import Config
from shared.model import outputs_from_lists
from shared.params import params_from_lists


def activate(name: str, z: float) -> float:
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    if name == "tanh":
        return math.tanh(z)
    return z if z > 0 else 0.0


def derivative(name: str, a: float) -> float:
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    return 1.0 if a > 0 else 0.0


class TextbookMLP:
    name = "textbook"

    def __init__(self, config: Config, params):
        self.config = config
        self.W = [W.tolist() for W, _ in params]
        self.b = [b.tolist() for _, b in params]
        name = config.activation
        self.sigma = lambda z: activate(name, z)
        self.sigma_prime = lambda a: derivative(name, a)

    def forward(self, x):
        """Every layer's activations, input first, and the output layer's z."""
        sigma = self.sigma
        activations = [x]
        L = len(self.W)
        for l in range(L):
            W, b, a = self.W[l], self.b[l], activations[-1]
            z = []
            for j in range(len(W)):
                total = b[j]
                for k in range(len(a)):
                    total += W[j][k] * a[k]
                z.append(total)
            if l == L - 1:
                return activations, z
            activations.append([sigma(zj) for zj in z])

    def outputs(self, z):
        if self.config.loss == "cross-entropy":
            top = max(z)
            exps = [math.exp(zj - top) for zj in z]
            total = sum(exps)
            return [e / total for e in exps]
        return [activate("sigmoid", zj) for zj in z]

    def backprop(self, x, label, grad_W, grad_b):
        activations, z = self.forward(x)
        a = self.outputs(z)
        y = [1.0 if j == label else 0.0 for j in range(len(a))]
        if self.config.loss == "cross-entropy":
            loss = -math.log(max(a[label], 1e-300))
            delta = [a[j] - y[j] for j in range(len(a))]
        else:
            loss = 0.5 * sum((a[j] - y[j]) ** 2 for j in range(len(a)))
            delta = [(a[j] - y[j]) * a[j] * (1.0 - a[j]) for j in range(len(a))]
        for l in range(len(self.W) - 1, -1, -1):
            previous = activations[l]
            for j in range(len(delta)):
                grad_b[l][j] += delta[j]
                for k in range(len(previous)):
                    grad_W[l][j][k] += delta[j] * previous[k]
            if l > 0:
                new_delta = []
                for k in range(len(previous)):
                    total = 0.0
                    for j in range(len(delta)):
                        total += self.W[l][j][k] * delta[j]
                    new_delta.append(total * self.sigma_prime(previous[k]))
                delta = new_delta
        return loss

    def summed_gradients(self, x, y):
        grad_W = [[[0.0 for _ in row] for row in W] for W in self.W]
        grad_b = [[0.0 for _ in b] for b in self.b]
        total = 0.0
        for row, label in zip(x.tolist(), y.tolist()):
            total += self.backprop(row, label, grad_W, grad_b)
        return total, grad_W, grad_b

    def loss_and_gradients(self, x, y):
        total, grad_W, grad_b = self.summed_gradients(x, y)
        n = len(x)
        mean_W = [[[g / n for g in row] for row in gW] for gW in grad_W]
        return total / n, params_from_lists(mean_W, [[g / n for g in gb] for gb in grad_b])

    def train_step(self, x, y, lr):
        total, grad_W, grad_b = self.summed_gradients(x, y)
        step = lr / len(x)  # the gradient of the mean is the sum over n
        for l in range(len(self.W)):
            for j in range(len(self.W[l])):
                self.b[l][j] -= step * grad_b[l][j]
                for k in range(len(self.W[l][j])):
                    self.W[l][j][k] -= step * grad_W[l][j][k]
        return total / len(x)

    def predict_proba(self, x):
        return outputs_from_lists([self.outputs(self.forward(row)[1]) for row in x.tolist()])

    def parameters(self):
        return params_from_lists(self.W, self.b)

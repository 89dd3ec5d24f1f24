"""The shortest correct vectorized NumPy MLP: what a competent NumPy user writes.

What it stands for: the training step of a NumPy-from-scratch tutorial done right, one
matrix product per layer over the whole mini-batch (samples as rows), forward, backward
and update in one function, and nothing else: no input checks, no momentum, no buffers
kept between steps, the textbook sigmoid 1 / (1 + exp(-z)). The numpy implementation
is held to being no slower than this (its checks and options must cost nothing that
shows), on every benchmark config, float32 and float64.
"""

from __future__ import annotations

import numpy as np

from shared.config import Config

ACTIVATIONS = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a**2),
    "relu": (lambda z: np.maximum(z, 0), lambda a: a > 0),
}


class MinimalNumpyMLP:
    name = "minimal-numpy"

    def __init__(self, config: Config, params):
        self.config = config
        self.W = [W.astype(config.dtype) for W, _ in params]
        self.b = [b.astype(config.dtype) for _, b in params]
        self.sigma, self.sigma_prime = ACTIVATIONS[config.activation]

    def forward(self, x):
        activations = [x]
        for W, b in zip(self.W[:-1], self.b[:-1]):
            activations.append(self.sigma(activations[-1] @ W.T + b))
        z = activations[-1] @ self.W[-1].T + self.b[-1]
        if self.config.loss == "cross-entropy":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return activations, e / e.sum(axis=1, keepdims=True)
        return activations, 1 / (1 + np.exp(-z))

    def backward(self, x, y):
        """Loss and gradients, of the batch mean."""
        n = len(x)
        activations, out = self.forward(x)
        target = np.eye(out.shape[1], dtype=out.dtype)[y]
        if self.config.loss == "cross-entropy":
            loss = -np.log(out[np.arange(n), y]).mean()
            delta = (out - target) / n
        else:
            loss = 0.5 * ((out - target) ** 2).sum() / n
            delta = (out - target) * out * (1 - out) / n
        grads = []
        for l in reversed(range(len(self.W))):
            grads.append((delta.T @ activations[l], delta.sum(axis=0)))
            if l > 0:
                delta = (delta @ self.W[l]) * self.sigma_prime(activations[l])
        return float(loss), grads[::-1]

    def train_step(self, x, y, lr):
        loss, grads = self.backward(x, y)
        for W, b, (gW, gb) in zip(self.W, self.b, grads):
            W -= lr * gW
            b -= lr * gb
        return loss

    def loss_and_gradients(self, x, y):
        loss, grads = self.backward(x.astype(self.config.dtype), y)
        return loss, [(gW.astype(np.float64), gb.astype(np.float64)) for gW, gb in grads]

    def predict_proba(self, x):
        return self.forward(x.astype(self.config.dtype))[1].astype(np.float64)

    def parameters(self):
        return [(W.astype(np.float64), b.astype(np.float64)) for W, b in zip(self.W, self.b)]

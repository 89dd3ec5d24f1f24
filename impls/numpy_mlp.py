"""The vectorized NumPy implementation: the same four equations, a whole batch at once.

A batch is a matrix with one sample per row, so a layer is Z = A W^T + b and the
per-sample sums of the scratch loop become matrix products. No Python loop runs
over samples; the only loop is over layers. Computes in float64 or float32.
"""

from __future__ import annotations

import numpy as np

from shared.config import Config
from shared.model import check_batch, check_model_inputs
from shared.params import Params


def sigmoid(z):
    # 1 / (1 + e^-z) written as (1 + tanh(z / 2)) / 2: the same function, but tanh
    # never overflows (e^-z does for z < -709), and it is one pass over the array.
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def relu(z):
    return np.maximum(z, 0)


# sigma'(z), written in terms of the activation a = sigma(z) that the forward pass keeps.
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "relu": (relu, lambda a: a > 0),  # a boolean mask: multiplying by it is the derivative
}


def log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class NumpyMLP:
    name = "numpy"

    def __init__(self, config: Config, params: Params):
        check_model_inputs(config, params)
        self.config = config
        self.dtype = np.dtype(config.dtype)
        self.sigma, self.sigma_prime = ACTIVATIONS[config.activation]
        self.softmax_output = config.loss == "cross-entropy"
        self.W = [W.astype(self.dtype) for W, _ in params]
        self.b = [b.astype(self.dtype) for _, b in params]
        self.eye = np.eye(config.sizes[-1], dtype=self.dtype)  # rows are one-hot targets
        self.velocity = None  # momentum's (vW, vb) per layer, made at the first step

    def feedforward(self, x):
        """Activations of every layer (input first) and the output layer's Z."""
        activations = [np.asarray(x, dtype=self.dtype)]
        for W, b in zip(self.W[:-1], self.b[:-1]):
            activations.append(self.sigma(activations[-1] @ W.T + b))
        return activations, activations[-1] @ self.W[-1].T + self.b[-1]

    def output(self, z):
        return np.exp(log_softmax(z)) if self.softmax_output else sigmoid(z)

    def gradients(self, x, y):
        """Batch-mean loss and gradients, in this implementation's dtype."""
        check_batch(self.config, x, y)
        n = len(x)
        activations, z = self.feedforward(x)
        target = self.eye[y]
        if self.softmax_output:
            log_p = log_softmax(z)
            loss = -log_p[np.arange(n), y].mean()
            delta = np.exp(log_p) - target  # (BP1) softmax + cross-entropy: a - y
        else:
            a = sigmoid(z)
            error = a - target
            loss = 0.5 * np.vdot(error, error) / n
            delta = error * a * (1 - a)  # (BP1) (a - y) * sigma'(z)
        # Dividing delta^L by n once makes every gradient below that of the batch mean.
        delta /= n
        grads = [None] * len(self.W)
        for l in range(len(self.W) - 1, -1, -1):
            # (BP3) dC/db = delta summed over the batch; (BP4) dC/dW = delta^T a^(l-1).
            grads[l] = (delta.T @ activations[l], delta.sum(axis=0))
            if l > 0:
                # (BP2) delta^(l-1) = (delta^l W^l) * sigma'(z^(l-1)), row per sample.
                delta = (delta @ self.W[l]) * self.sigma_prime(activations[l])
        return float(loss), grads

    # -- the interface ---------------------------------------------------------------
    def loss_and_gradients(self, x, y) -> tuple[float, Params]:
        loss, grads = self.gradients(x, y)
        return loss, [(gW.astype(np.float64), gb.astype(np.float64)) for gW, gb in grads]

    def train_step(self, x, y, lr: float) -> float:
        loss, grads = self.gradients(x, y)
        momentum, decay = self.config.momentum, self.config.weight_decay
        if decay:
            for W, (gW, _) in zip(self.W, grads):
                gW += decay * W  # L2 on the weights, not the biases
        if momentum:
            if self.velocity is None:
                self.velocity = [(np.zeros_like(W), np.zeros_like(b)) for W, b in zip(self.W, self.b)]
            for (vW, vb), (gW, gb) in zip(self.velocity, grads):
                vW *= momentum
                vW += gW  # v = momentum * v + g
                vb *= momentum
                vb += gb
            grads = self.velocity
        for W, b, (gW, gb) in zip(self.W, self.b, grads):
            W -= lr * gW  # in place: no new arrays for the parameters
            b -= lr * gb
        return loss

    def predict_proba(self, x):
        check_batch(self.config, x)
        return self.output(self.feedforward(x)[1]).astype(np.float64, copy=False)

    def parameters(self) -> Params:
        return [(W.astype(np.float64), b.astype(np.float64)) for W, b in zip(self.W, self.b)]

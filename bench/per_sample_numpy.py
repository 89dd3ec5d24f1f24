"""NumPy one sample at a time, written the way Nielsen's network.py writes it.

What it stands for: the program of chapters 1-2 of "Neural Networks and Deep Learning"
(src/network.py), the code most people who learned backpropagation from the book have
run. Written here from the book's description, not copied, with the same operations:

- each sample is a column vector (784, 1) and its target a one-hot column (10, 1), made
  once when the data is loaded (`prepare_batch`, outside the timed steps, as the book's
  mnist_loader does);
- the sigmoid is 1 / (1 + exp(-z)) and its derivative sigmoid(z) * (1 - sigmoid(z)),
  computed from z (the book keeps the list `zs` for that);
- backprop runs per sample and returns fresh nabla_b, nabla_w lists; the mini-batch sums
  them with list comprehensions `nb + dnb` and the update makes new arrays
  `w - (eta / len(mini_batch)) * nw`.

Beyond the book, to run every config of the benchmark: tanh and ReLU hidden layers
(derivatives also computed from z), softmax outputs for cross-entropy (chapter 3:
delta = a - y), float32 as well as float64, and the batch's loss, which train_step must
return: computed once per batch from the outputs the backward pass already has, not
per sample, so the baseline pays next to nothing for it. In the bench it trains at
least as fast as network.py itself (measured; see docs/NOTES.md).
"""

from __future__ import annotations

import numpy as np

from shared.config import Config


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def tanh_prime(z):
    return 1 - np.tanh(z) ** 2


def relu(z):
    return np.maximum(z, 0)


def relu_prime(z):
    return (z > 0).astype(z.dtype)


ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_prime), "tanh": (np.tanh, tanh_prime), "relu": (relu, relu_prime)}


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


class PerSampleNumpyMLP:
    name = "per-sample-numpy"

    def __init__(self, config: Config, params):
        self.config = config
        self.dtype = np.dtype(config.dtype)
        self.num_layers = len(config.sizes)
        self.weights = [W.astype(self.dtype) for W, _ in params]
        self.biases = [b.astype(self.dtype).reshape(-1, 1) for _, b in params]
        self.sigma, self.sigma_prime = ACTIVATIONS[config.activation]
        self.cross_entropy = config.loss == "cross-entropy"

    def prepare_batch(self, x, y):
        """The book's training data: a list of (x column, one-hot y column) pairs."""
        eye = np.eye(self.config.sizes[-1], dtype=self.dtype)
        return [(sample.astype(self.dtype).reshape(-1, 1), eye[:, [label]]) for sample, label in zip(x, y)], None

    def output(self, z):
        return softmax(z) if self.cross_entropy else sigmoid(z)

    def backprop(self, x, y):
        """(nabla_b, nabla_w, output activation) of one sample's cost."""
        nabla_b = [np.zeros(b.shape, self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, self.dtype) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases[:-1], self.weights[:-1]):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = self.sigma(z)
            activations.append(activation)
        z = np.dot(self.weights[-1], activation) + self.biases[-1]
        zs.append(z)
        activations.append(self.output(z))
        if self.cross_entropy:
            delta = activations[-1] - y  # softmax with cross-entropy: a - y
        else:
            delta = (activations[-1] - y) * sigmoid_prime(zs[-1])  # quadratic cost
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            sp = self.sigma_prime(zs[-l])
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w, activations[-1]

    def summed_gradients(self, mini_batch):
        nabla_b = [np.zeros(b.shape, self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, self.dtype) for w in self.weights]
        outputs = []
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w, output = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
            outputs.append(output)
        return nabla_b, nabla_w, self.batch_loss(outputs, [y for _, y in mini_batch])

    def batch_loss(self, outputs, targets) -> float:
        a, y = np.hstack(outputs), np.hstack(targets)
        if self.cross_entropy:
            return float(-np.log(np.maximum((a * y).sum(axis=0), 1e-300)).mean())
        return float(0.5 * np.sum((a - y) ** 2) / a.shape[1])

    def update_mini_batch(self, mini_batch, eta) -> float:
        nabla_b, nabla_w, loss = self.summed_gradients(mini_batch)
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]
        return loss

    # -- the interface the benchmark and the tests use --------------------------------
    def train_step(self, mini_batch, _unused, lr):
        return self.update_mini_batch(mini_batch, lr)

    def loss_and_gradients(self, x, y):
        mini_batch, _ = self.prepare_batch(x, y)
        nabla_b, nabla_w, loss = self.summed_gradients(mini_batch)
        n = len(mini_batch)
        return loss, [((nw / n).astype(np.float64), (nb / n).ravel().astype(np.float64))
                      for nw, nb in zip(nabla_w, nabla_b)]

    def predict_proba(self, x):
        rows = []
        for sample in x:
            a = sample.astype(self.dtype).reshape(-1, 1)
            for b, w in zip(self.biases[:-1], self.weights[:-1]):
                a = self.sigma(np.dot(w, a) + b)
            rows.append(self.output(np.dot(self.weights[-1], a) + self.biases[-1]).ravel())
        return np.array(rows, dtype=np.float64)

    def parameters(self):
        return [(W.astype(np.float64), b.ravel().astype(np.float64)) for W, b in zip(self.weights, self.biases)]
